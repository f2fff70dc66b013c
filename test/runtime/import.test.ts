// btfgen/runtime must stay light: node builtins, ../errors.js and the tar header codec (a leaf)
// only, and cheap to import.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/env.js';

const src = join(REPO_ROOT, 'src');

/** Every module reachable from src/runtime/index.ts, with the bare specifiers it imports. */
function importGraph(): { files: string[]; external: string[] } {
  const files = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/gm)) {
      const spec = (m[1] ?? m[2] ?? m[3])!;
      if (spec.startsWith('.')) visit(normalize(join(dirname(file), spec.replace(/\.js$/, '.ts'))));
      else external.add(spec);
    }
  };
  visit(join(src, 'runtime', 'index.ts'));
  return { files: [...files].map((f) => relative(src, f)).sort(), external: [...external].sort() };
}

describe('btfgen/runtime import cost', () => {
  it('imports only node builtins, its own modules, src/errors.ts and src/tar/header.ts', () => {
    const { files, external } = importGraph();
    expect(external.every((s) => s.startsWith('node:')), external.join(', ')).toBe(true);
    expect(files.every((f) => f.startsWith('runtime/') || f === 'errors.ts' || f === 'tar/header.ts'), files.join(', ')).toBe(true);
    // the codec is a leaf: it imports nothing
    expect(readFileSync(join(src, 'tar', 'header.ts'), 'utf8')).not.toMatch(/^\s*import\b/m);
    // Every runtime source file is reachable (nothing heavy hides in an unlisted module).
    const all = readdirSync(join(src, 'runtime')).filter((f) => f.endsWith('.ts'));
    expect(files.filter((f) => f.startsWith('runtime/')).length).toBe(all.length);
  });
  // Its import time is a benchmark, not a timed test: bench/runtime.mjs.
});
