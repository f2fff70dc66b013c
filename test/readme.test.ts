// The README is the front door: short, its two commands the ones CI and package.json run, and
// every link of it and of the pages it leads to (docs/*.md, CHANGELOG.md) pointing at a file
// and heading that exist. The pages' examples are kept true elsewhere: the runtime's loaders by
// test/native/readme.test.ts, the README's API block by test/package.test.ts (tsc), its
// example's output by test/pack/cli.test.ts.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './helpers/env.js';

const read = (rel: string) => readFileSync(path.join(REPO_ROOT, rel), 'utf8');
const readme = read('README.md');
const pages = ['README.md', 'CHANGELOG.md', ...readdirSync(path.join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Text outside fenced code blocks (links and headings inside code are not links or headings). */
const prose = (md: string) => md.replace(/^```[\s\S]*?^```/gm, '');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to '-', repeats numbered. */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(md).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

describe('README', () => {
  it('fits a front door (150-250 lines)', () => {
    const lines = readme.split('\n').length;
    expect(lines).toBeGreaterThanOrEqual(150);
    expect(lines).toBeLessThanOrEqual(250);
  });

  it('documents the test command that .ci/run runs, without sudo', () => {
    const ci = read('.ci/run');
    expect(readme).toContain('bash scripts/install-test-deps.sh && npm ci && npm run test:ci');
    expect(readme).not.toMatch(/^\s*sudo /m);
    for (const step of ['bash scripts/install-test-deps.sh', 'npm ci', 'npm run test:ci']) expect(ci).toContain(step);
    expect(ci).not.toMatch(/^npm install/m);
  });

  it('documents the example command that package.json runs', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(readme).toContain('npm ci && npm run example');
    expect(pkg.scripts.example).toContain('bin/btfgen pack examples/prog.bpf.o --archive examples/archive');
    // npm ci builds dist/ through prepare: the example needs no build of its own
    expect(pkg.scripts.prepare).toBe('npm run build');
  });

  it('links the docs index, which links every page under docs/', () => {
    expect(readme).toContain('(docs/README.md)');
    const index = read('docs/README.md');
    for (const page of pages.filter((p) => p.startsWith('docs/') && p !== 'docs/README.md')) {
      expect(index, `docs/README.md does not link ${page}`).toContain(`(${path.basename(page)})`);
    }
  });

  it.each(pages)('%s: every relative link points at a file and heading that exist', (page) => {
    const text = read(page);
    const broken: string[] = [];
    for (const m of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const rel = file ? path.normalize(path.join(path.dirname(page), file)) : page;
      if (!existsSync(path.join(REPO_ROOT, rel))) {
        broken.push(`${target}: no file ${rel}`);
        continue;
      }
      if (anchor && rel.endsWith('.md') && !anchors(read(rel)).has(anchor)) broken.push(`${target}: no heading #${anchor} in ${rel}`);
    }
    expect(broken).toEqual([]);
  });

  it('has no references to internal documents (section numbers, work sessions)', () => {
    for (const page of pages) expect(read(page), page).not.toMatch(/§|\bsession \d/);
  });
});
