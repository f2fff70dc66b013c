// `pack --verify` and `pack --report` (issue 15 item 6), and `btfgen check` on pack's worker
// pool. The decisions themselves are compared with libbpf's in test/check (libbpf-diff,
// verify.test.ts); here: that pack runs those checks on every kernel it packs, that a damaged
// minimized BTF is caught and named, and that the by-product report is check's own.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as PackApi from '../../src/pack/index.js';
import type * as CheckApi from '../../src/check/index.js';
import { assertDistFresh, BIN, data, DIST, EXAMPLE_OBJECT, missing, REPO_ROOT } from '../helpers/env.js';
import { cleanupTemps, tempDir, traceObjects } from './helpers.js';

const api = (await import(pathToFileURL(join(DIST, 'pack/index.js')).href)) as typeof PackApi;
const checkApi = (await import(pathToFileURL(join(DIST, 'check/index.js')).href)) as typeof CheckApi;
const DEMO = data.demoArchive.path;
const GUARDS = join(REPO_ROOT, 'test/check/fixtures/guards.o');
const noDemo = missing(data.demoArchive);
// The first centos kernel of the demo archive (archive order).
const DAMAGED = 'centos/8/x86_64/4.18.0-147.0.3.el8_1.x86_64.btf.tar.xz';

beforeAll(() => assertDistFresh());
afterAll(() => cleanupTemps());

/** Runs `fn` with the damageMinimized test hook set (read by pack from process.env). */
async function withDamage<T>(label: string, fn: () => Promise<T>): Promise<T> {
  process.env.BTFGEN_TEST_DAMAGE_MINIMIZED = label;
  try {
    return await fn();
  } finally {
    delete process.env.BTFGEN_TEST_DAMAGE_MINIMIZED;
  }
}

describe.skipIf(!!noDemo)(`pack --verify ${noDemo ? `(${noDemo})` : ''}`, () => {
  it('a minimized BTF whose decisions differ fails its kernel, naming the kernel and the relocation', async () => {
    const out = join(tempDir(), 'o.tar.gz');
    const err = await withDamage(DAMAGED, () =>
      api.pack({ objects: [EXAMPLE_OBJECT], archive: DEMO, distros: ['centos'], output: out, useCache: false, verify: true }).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(err).toBeInstanceOf(api.PackError);
    const failures = (err as PackApi.PackError).failures;
    expect(failures.map((f) => f.kernel)).toEqual([DAMAGED]);
    // handle_exec reads task_struct->real_parent: on the full BTF libbpf patches an offset
    expect(failures[0]!.message).toMatch(/prog 'handle_exec' relo #\d+ byte_off task_struct->real_parent: ok \d+ \(full BTF\) != poison \(minimized BTF\)/);
  });

  it('without --verify the same damage is packed unnoticed (what --verify is there to catch)', async () => {
    const out = join(tempDir(), 'o.tar.gz');
    const r = await withDamage(DAMAGED, () => api.pack({ objects: [EXAMPLE_OBJECT], archive: DEMO, distros: ['centos'], output: out, useCache: false }));
    expect(r.counts.packed).toBe(7);
  });

  it('with --verify a result served from the result cache is verified too', async () => {
    const dir = tempDir();
    const o = { objects: [EXAMPLE_OBJECT], archive: DEMO, distros: ['centos'], output: join(dir, 'o.tar.gz'), cacheDir: join(dir, 'cache') };
    const first = await api.pack(o);
    expect(first.counts.minimized).toBe(7);
    const err = await withDamage(DAMAGED, () => api.pack({ ...o, verify: true }).then(() => undefined, (e: unknown) => e));
    expect(err).toBeInstanceOf(api.PackError);
    expect((err as PackApi.PackError).failures.map((f) => f.kernel)).toEqual([DAMAGED]);
    // a verify failure is not remembered as the kernel's result: the cache still serves it
    const again = await api.pack({ ...o, verify: true });
    expect(again.counts).toMatchObject({ packed: 7, cached: 7, failed: 0 });
  });

  it('all 85 demo kernels verify clean; --report of the same pass is byte-identical to btfgen check, on the pool and sequentially; the output is a plain pack\'s', async () => {
    const objects = [EXAMPLE_OBJECT, GUARDS, ...traceObjects().slice(0, 4)];
    const out = join(tempDir(), 'o.tar.gz');
    const r = await api.pack({ objects, archive: DEMO, output: out, useCache: false, verify: true, report: true });
    expect(r.counts).toMatchObject({ total: 85, packed: 85, failed: 0 });
    expect(r.report).toBeDefined();
    expect(r.report!.kernels).toHaveLength(85);
    const onPool = await checkApi.check({ objects, archive: DEMO });
    expect(JSON.stringify(r.report)).toBe(JSON.stringify(onPool));
    const sequential = await checkApi.check({ objects, archive: DEMO, pool: false });
    expect(JSON.stringify(onPool)).toBe(JSON.stringify(sequential));
    // the guard fixture's known misses are there (task_struct.__state is 5.14+: poison everywhere)
    expect(checkApi.reportFails(onPool)).toBe(true);
    // the checks share the minimizer's parse of each kernel: the packed bytes are a plain pack's
    const plain = join(tempDir(), 'plain.tar.gz');
    await api.pack({ objects, archive: DEMO, output: plain, useCache: false });
    expect(readFileSync(out).equals(readFileSync(plain))).toBe(true);
  }, 600_000);
});

describe.skipIf(!!noDemo)(`btfgen pack --report FILE (CLI) ${noDemo ? `(${noDemo})` : ''}`, () => {
  it('json and text reports equal `btfgen check` output on the same inputs', () => {
    const dir = tempDir();
    const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
    const common = ['--archive', DEMO, '--distro', 'centos'];
    for (const [ext, format] of [['json', 'json'], ['txt', 'text']] as const) {
      const report = join(dir, `r.${ext}`);
      const p = run(['pack', EXAMPLE_OBJECT, GUARDS, ...common, '--no-cache', '-q', '-o', join(dir, 'o.tar.gz'), '--report', report, '--verify']);
      expect(p.status, p.stderr).toBe(0);
      const c = run(['check', EXAMPLE_OBJECT, GUARDS, ...common, '--format', format, '--allow-missing', '-q']);
      expect(c.status, c.stderr).toBe(0);
      expect(readFileSync(report, 'utf8')).toBe(c.stdout);
    }
  }, 300_000);
});
