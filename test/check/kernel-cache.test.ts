// `btfgen check` reads kernels through pack's kernel source and its kernel cache stage: a
// check with the cache warm gives the same report as a cold one and as one with
// --no-kernel-cache, and does read the cache (an entry planted under a kernel's identity is what
// that kernel is checked against). Verdicts expected from bpftool's C dump of the kernels.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type * as KcacheApi from '../../src/kcache/index.js';
import { assertDistFresh, data, DIST, EXAMPLE_ARCHIVE, HAVE_BPFTOOL, missing, NO_BPFTOOL } from '../helpers/env.js';
import { exampleKernels, GUARDS, runCli, taskHas } from './helpers.js';

assertDistFresh();
const { kernelCacheStats, open } = (await import(pathToFileURL(join(DIST, 'kcache/index.js')).href)) as typeof KcacheApi;
const tmp = mkdtempSync(join(tmpdir(), 'btfgen-check-kc-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const run = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { ...process.env, HOME: tmp, ...env });

interface Report {
  kernels: { key: string }[];
  objects: { programs: { name: string; outcomes: { verdict: string; reasons: { check: string }[]; kernels: number[] }[] }[] }[];
}
// The CO-RE part of a program's verdict on a kernel (its load verdict also weighs helpers, map
// types...: the planted 4.19 BTF lacks some of those, whatever its relocations do).
const verdictOf = (r: Report, program: string, kernel: number): string => {
  const o = r.objects[0]!.programs.find((p) => p.name === program)!.outcomes.find((x) => x.kernels.includes(kernel))!;
  return o.reasons.some((x) => x.check === 'core') ? 'fails-core' : 'loads-core';
};

describe('btfgen check with the kernel cache', () => {
  it('a warm check gives the report of a cold one and of --no-kernel-cache; the cold one kept every kernel', async () => {
    const kc = join(tmp, 'kc');
    const args = ['check', GUARDS, '--archive', EXAMPLE_ARCHIVE, '--format', 'json', '--allow-missing'];
    const cold = await run([...args, '--kernel-cache', kc]);
    expect(cold.code, cold.stderr).toBe(0);
    expect(await kernelCacheStats(kc)).toMatchObject({ entries: exampleKernels().length, temps: 0 });
    const warm = await run([...args, '--kernel-cache', kc]);
    expect(warm.code, warm.stderr).toBe(0);
    expect(warm.stdout).toBe(cold.stdout);
    const off = await run([...args, '--no-kernel-cache'], { BTFHUB_CACHE: join(tmp, 'bc') });
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toBe(cold.stdout);
    expect(existsSync(join(tmp, 'bc'))).toBe(false);
  }, 120_000);

  const noDemo = missing(data.demoArchive);
  const oldKernel = join(data.demoArchive.path, 'debian/10/x86_64/4.19.0-17-cloud-amd64.btf.tar.xz');
  it.skipIf(!HAVE_BPFTOOL || !!noDemo)(
    `reads the cache: a kernel whose entry holds another kernel's BTF is checked against that BTF ${!HAVE_BPFTOOL ? NO_BPFTOOL : noDemo ? `(skipped: ${noDemo})` : ''}`,
    async () => {
      const kc = join(tmp, 'planted');
      const target = exampleKernels().find((k) => k.includes('x86_64'))!;
      // task_struct: 6.1 has __state, 4.19 only state (bpftool's dump says which)
      expect([taskHas(target, '__state'), taskHas(oldKernel, '__state'), taskHas(oldKernel, 'state')]).toEqual([true, false, true]);
      const id = createHash('sha256').update(readFileSync(target)).digest('hex');
      // the old kernel's file as the system's xz decompresses it: what an entry holds
      const planted = new Uint8Array(execFileSync('xz', ['-dc', oldKernel], { maxBuffer: 1 << 30 }));
      expect(await open({ dir: kc }).put(id, planted)).toBe(true);
      const r = await run(['check', GUARDS, '--archive', EXAMPLE_ARCHIVE, '--format', 'json', '--allow-missing', '--kernel-cache', kc]);
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as Report;
      const ki = j.kernels.findIndex((k) => target.endsWith(`${k.key}.btf.tar.xz`));
      expect(ki).toBeGreaterThanOrEqual(0);
      expect(verdictOf(j, 'state_unguarded', ki)).not.toBe('loads-core');
      expect(verdictOf(j, 'old_state_unguarded', ki)).toBe('loads-core');
      // the same kernel read from the archive
      const a = JSON.parse((await run(['check', GUARDS, '--archive', EXAMPLE_ARCHIVE, '--format', 'json', '--allow-missing', '--no-kernel-cache'])).stdout) as Report;
      expect(verdictOf(a, 'state_unguarded', ki)).toBe('loads-core');
      expect(verdictOf(a, 'old_state_unguarded', ki)).not.toBe('loads-core');
    },
    120_000,
  );
});
