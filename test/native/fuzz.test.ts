// Structure-aware fuzzing of the C helper's archive reader (native/test/fuzz_archive.c): valid
// ustar / GNU longname / pax archives, plain and gzip, each damaged in one header field, pax
// record, longname record or gzip framing, run through btfgen_lookup built with ASan, LSan and
// UBSan by gcc and by clang. Any memory error, leak, undefined behaviour, file left behind on
// an error or wrong output file fails the run. docs/reliability.md has the figures.
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cToolsMissing, make, NATIVE, SANITIZE_CFLAGS, SANITIZE_ENV, sanitizersMissing, tempDir } from './build.js';

const envNumber = (name: string, fallback: number): number => (process.env[name] ? Number(process.env[name]) : fallback);
const COUNT = envNumber('BTFGEN_FUZZ_COUNT', 20000);
const SEED = envNumber('BTFGEN_FUZZ_SEED', 1);
const cMissing = cToolsMissing();
const COMPILERS = ['gcc', 'clang-19'] as const;

function run(bin: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...SANITIZE_ENV } });
}

/** "class <name> <count>" lines of the fuzzer's summary. */
function classes(stdout: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of stdout.matchAll(/^class (.+?)\s+(\d+)$/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

describe.skipIf(cMissing !== undefined)(`the C archive reader under structure-aware fuzzing${cMissing ? ` (skipped: ${cMissing})` : ''}`, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('btfgen-fuzz-');
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const cc of COMPILERS) {
    const why = sanitizersMissing(cc);
    it.skipIf(why !== undefined)(`${COUNT} damaged archives, built by ${cc} with ASan, LSan and UBSan${why ? ` (skipped: ${why})` : ''}`, () => {
      const b = join(dir, cc);
      make(['-C', NATIVE, `CC=${cc}`, `BUILD=${b}`, `LIB=${join(b, 'lib.a')}`, `CFLAGS=${SANITIZE_CFLAGS}`, join(b, 'fuzz_archive')]);
      const r = run(join(b, 'fuzz_archive'), ['--seed', String(SEED), '--count', String(COUNT)]);
      expect(r.status, r.stdout.slice(-3000) + r.stderr.slice(0, 4000)).toBe(0);
      expect(r.stdout).toContain(`fuzz_archive: ${COUNT} cases, 0 failed`);
      // Every damaged structure is reached, the crash class of issue 13 (a pax length that
      // counts no more than its digits and the space) in about 1 case of 40.
      const seen = classes(r.stdout);
      expect(seen.size).toBe(19);
      for (const [name, n] of seen) expect(n, name).toBeGreaterThan(COUNT / 100);
      expect(seen.get('pax length <= digits+space')).toBeGreaterThan(COUNT / 60);
      // Every outcome occurs: extraction, corrupt archive, no kernel for this host.
      const m = r.stdout.match(/^outcomes: ok (\d+), EINVAL (\d+), other (\d+)$/m);
      expect(m, r.stdout).not.toBeNull();
      for (const n of m!.slice(1)) expect(Number(n)).toBeGreaterThan(COUNT / 20);
    });
  }

  // The fuzzer is able to find the crash of issue 13: built against btf_helpers.c with the fix
  // in parse_pax reverted, the same run stops at an ASan report in parse_pax.
  const gccWhy = sanitizersMissing('gcc');
  it.skipIf(gccWhy !== undefined)(`finds the parse_pax overflow when its fix is reverted${gccWhy ? ` (skipped: ${gccWhy})` : ''}`, async () => {
    const src = join(dir, 'reverted');
    await mkdir(join(src, 'test'), { recursive: true });
    for (const f of ['Makefile', 'btf_helpers.h', 'btf_helpers_internal.h', 'test/fuzz_archive.c', 'test/test_util.h']) await copyFile(join(NATIVE, f), join(src, f));
    const fixed = await readFile(join(NATIVE, 'btf_helpers.c'), 'utf8');
    const guard = '\t\tif (end < rec) {';
    expect(fixed, 'the fix this test reverts is in parse_pax').toContain(guard);
    await writeFile(join(src, 'btf_helpers.c'), fixed.replace(guard, '\t\tif (0 && end < rec) {'));
    const b = join(src, 'build');
    make(['-C', src, 'CC=gcc', `BUILD=${b}`, `LIB=${join(b, 'lib.a')}`, `CFLAGS=${SANITIZE_CFLAGS}`, join(b, 'fuzz_archive')]);
    const r = run(join(b, 'fuzz_archive'), ['--seed', String(SEED), '--count', String(COUNT)]);
    expect(r.status).toBe(86);
    expect(r.stderr).toMatch(/AddressSanitizer/);
    expect(r.stderr).toMatch(/parse_pax/);
  });

  // The inflate cap: a 1.1 MB gzip holding a 1.1 GiB member (not the host's) fails with EINVAL
  // once 1 GiB is inflated, and leaves nothing behind.
  it('stops a gzip bomb at 1 GiB inflated', () => {
    const b = join(dir, 'plain');
    make(['-C', NATIVE, `BUILD=${b}`, `LIB=${join(b, 'lib.a')}`, join(b, 'fuzz_archive')]);
    const r = spawnSync(join(b, 'fuzz_archive'), ['--bomb'], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^bomb: \d+-byte gzip of 1153434624 bytes: Invalid argument \(archive inflates to more than 1 GiB\)$/m);
  }, 120_000);
});
