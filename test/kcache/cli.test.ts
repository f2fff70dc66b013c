// `btfgen cache` as a user meets it: what the caches hold after a real pack, clearing one or
// both, usage errors, and --help that says what the caches are.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { open } from '../../src/kcache/index.js';
import { BIN, EXAMPLE_ARCHIVE, EXAMPLE_OBJECT, isBuilt } from '../helpers/env.js';

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
function tempHome(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'btfgen-cache-cli-'));
  temps.push(d);
  return d;
}
const run = (home: string, ...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    cwd: home,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
  });
const idOf = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Kernel files of the example archive, counted by walking it here. */
function exampleKernels(): number {
  let n = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.btf.tar.xz')) n++;
    }
  };
  walk(EXAMPLE_ARCHIVE);
  return n;
}

/** Each example kernel file decompressed by the system's `xz -dc`: its size in bytes. */
function exampleTarSizes(): number[] {
  const out: number[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.name.endsWith('.btf.tar.xz')) {
        const r = spawnSync('xz', ['-dc', f], { maxBuffer: 1 << 30 });
        expect(r.status, String(r.stderr)).toBe(0);
        out.push(r.stdout.length);
      }
    }
  };
  walk(EXAMPLE_ARCHIVE);
  return out;
}

const built = isBuilt('cli/cache.js');
describe.skipIf(!built)(`btfgen cache${built ? '' : ' (skipped: dist/ not built: run npm run build)'}`, () => {
  it('--help says what each cache holds, where, and how to clear them', () => {
    const r = run(tempHome(), 'cache', '--help');
    expect(r.status).toBe(0);
    for (const s of ['Usage: btfgen cache', 'result cache', 'kernel cache', 'clear', '--kernels', '--results', '$BTFHUB_CACHE/kernel-cache', '$BTFHUB_CACHE/pack-cache']) {
      expect(r.stdout).toContain(s);
    }
  });

  it('shows the result cache a pack filled (one result per kernel) and the kernel cache entries', () => {
    const home = tempHome();
    const packed = run(home, 'pack', EXAMPLE_OBJECT, '--archive', EXAMPLE_ARCHIVE, '-o', path.join(home, 'out.tar.gz'), '-q');
    expect(packed.status, packed.stderr).toBe(0);
    const r = run(home, 'cache', '--json');
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { results: Record<string, unknown>; kernels: Record<string, unknown> };
    expect(s.results.dir).toBe(path.join(home, '.cache/eunomia/btfhub/pack-cache'));
    expect(s.results.results).toBe(exampleKernels());
    expect(s.results.outputs).toBe(1);
    // the pack kept every kernel it decompressed: one entry each, the tar as `xz -dc` extracts it
    // plus a 64-byte header
    const bytes = exampleTarSizes().reduce((n, size) => n + 64 + size, 0);
    expect(s.kernels).toEqual({ dir: path.join(home, '.cache/eunomia/btfhub/kernel-cache'), entries: exampleKernels(), bytes, temps: 0 });
    const text = run(home, 'cache');
    expect(text.stdout).toContain(`result cache  ${path.join(home, '.cache/eunomia/btfhub/pack-cache')}`);
    expect(text.stdout).toContain(`${exampleKernels()} minimized kernels, 0 remembered failures, 1 complete output`);
    expect(text.stdout).toContain('kernel cache  ');
    expect(text.stdout).toContain(`${exampleKernels()} decompressed kernels: `);
    // --no-kernel-cache: nothing is kept
    const off = tempHome();
    expect(run(off, 'pack', EXAMPLE_OBJECT, '--archive', EXAMPLE_ARCHIVE, '-o', path.join(off, 'out.tar.gz'), '-q', '--no-kernel-cache').status).toBe(0);
    expect(JSON.parse(run(off, 'cache', '--json').stdout).kernels).toMatchObject({ entries: 0, bytes: 0, temps: 0 });
    expect(existsSync(path.join(off, '.cache/eunomia/btfhub/kernel-cache'))).toBe(false);
  });

  it('clear --kernels empties the kernel cache only; clear empties both; --cache-dir and --kernel-cache are honoured', async () => {
    const home = tempHome();
    const results = path.join(home, 'rc');
    const kernels = path.join(home, 'kc');
    // a result cache as pack lays it out, and three kernel cache entries
    const key = idOf('result');
    mkdirSync(path.join(results, 'v1/results', key.slice(0, 2)), { recursive: true });
    writeFileSync(path.join(results, 'v1/results', key.slice(0, 2), `${key}.btf`), Buffer.alloc(1000));
    writeFileSync(path.join(results, 'v1/results', key.slice(0, 2), `${idOf('f')}.err`), '{"message":"x"}\n');
    writeFileSync(path.join(results, 'keep-me'), 'not the cache');
    const kc = open({ dir: kernels });
    for (const k of ['a', 'b', 'c']) await kc.put(idOf(k), new Uint8Array(2048));
    const where = ['--cache-dir', results, '--kernel-cache', kernels];

    let s = JSON.parse(run(home, 'cache', '--json', ...where).stdout);
    expect(s.results).toMatchObject({ dir: results, results: 1, failures: 1, outputs: 0 });
    expect(s.kernels).toMatchObject({ dir: kernels, entries: 3, temps: 0 });
    expect(s.kernels.bytes).toBeGreaterThan(3 * 2048);

    const k = run(home, 'cache', 'clear', '--kernels', ...where);
    expect(k.status, k.stderr).toBe(0);
    expect(k.stdout).toMatch(/^cleared kernel cache .*kc: 3 kernels, /);
    s = JSON.parse(run(home, 'cache', '--json', ...where).stdout);
    expect(s.kernels.entries).toBe(0);
    expect(s.results.results).toBe(1);

    const all = run(home, 'cache', 'clear', ...where);
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout).toContain('cleared result cache');
    expect(all.stdout).toContain('2 entries');
    s = JSON.parse(run(home, 'cache', '--json', ...where).stdout);
    expect(s.results).toMatchObject({ results: 0, failures: 0, outputs: 0, bytes: 0 });
    // a directory the user named stays, with what else they keep in it
    expect(statSync(results).isDirectory()).toBe(true);
    expect(readdirSync(results)).toEqual(['keep-me']);
  });

  it('BTFHUB_CACHE and --cache move both caches', () => {
    const home = tempHome();
    const r = spawnSync(process.execPath, [BIN, 'cache', '--json'], { encoding: 'utf8', cwd: home, env: { PATH: process.env.PATH, HOME: home, BTFHUB_CACHE: '/x/bc' } });
    const s = JSON.parse(r.stdout);
    expect([s.results.dir, s.kernels.dir]).toEqual(['/x/bc/pack-cache', '/x/bc/kernel-cache']);
    const f = JSON.parse(run(home, 'cache', '--json', '--cache', 'mine').stdout);
    expect([f.results.dir, f.kernels.dir]).toEqual([path.join(home, 'mine/pack-cache'), path.join(home, 'mine/kernel-cache')]);
  });

  it('usage errors exit 2 with one line', () => {
    const home = tempHome();
    for (const args of [['cache', 'purge'], ['cache', '--kernels'], ['cache', 'show', '--results']]) {
      const r = run(home, ...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')[0]).toMatch(/^Error: cache: /);
    }
  });
});
