// The README is assembled from docs/readme/*.md; it must be current, and its two front-door
// commands must be the ones CI runs.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('README', () => {
  it('is up to date with docs/readme/*.md', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-readme.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('documents the test command that .ci/run runs', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const ci = readFileSync(path.join(root, '.ci', 'run'), 'utf8');
    expect(readme).toContain('sudo bash scripts/install-test-deps.sh && npm install && npm run test:ci');
    expect(ci).toContain('bash scripts/install-test-deps.sh');
    expect(ci).toContain('npm run test:ci');
  });

  it('documents the example command that package.json runs', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(readme).toContain('npm install && npm run example');
    expect(pkg.scripts.example).toContain('bin/btfgen pack examples/prog.bpf.o --archive examples/archive');
  });
});
