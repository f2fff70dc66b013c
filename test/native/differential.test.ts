// Differential test of the two archive readers: the same damaged archives (deterministic byte
// flips, truncations, insertions, zeroed and duplicated blocks of tar and tar.gz archives with
// every name encoding and hostile members) through the C helper (lookup_test --lookup) and the
// TypeScript runtime must give the same outcome: the same member, or the same error.
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractHostBtf, type HostIdentity } from '../../src/runtime/index.js';
import { concat, gzip, type NameStyle, tarEnd, tarMember } from '../helpers/tar.js';
import { cToolsMissing, make, NATIVE, SANITIZE_CFLAGS, SANITIZE_ENV, sanitizersMissing, tempDir } from './build.js';

const HOST: HostIdentity = { id: 'ol', versionId: '8.6', machine: 'aarch64', release: '5.4.17-2136.el8uek.aarch64' };
const A = './btfhub-archive/ol';
const R = HOST.release;
const COUNT = Number(process.env.BTFGEN_DIFF_COUNT ?? 400);
/** Structure-aware cases from native/test/fuzz_archive.c (host debian/12/x86_64/6.1.0-test). */
const FUZZ_COUNT = Number(process.env.BTFGEN_DIFF_FUZZ_COUNT ?? 1500);
const FUZZ_HOST: HostIdentity = { id: 'debian', versionId: '12', machine: 'x86_64', release: '6.1.0-test' };

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function baseArchives(): Uint8Array[] {
  const bases: Uint8Array[] = [];
  const styles: NameStyle[] = ['ustar', 'gnu', 'pax'];
  for (const style of styles) {
    const filler = (i: number): Uint8Array => Uint8Array.from({ length: 700 + i * 300 }, (_, j) => (j * 7 + i) & 0xff);
    const tar = concat([
      ...tarMember('./btfhub-archive/', '', '5', style),
      ...tarMember(`${A}/8/aarch64/${R}.btf`, filler(1), '0', style), // rank 2
      ...tarMember(`${A}/8.6/aarch64/${R}.btf`, '', '2', style), // symlink: ignored
      ...tarMember(`${A}/8.6/arm64/${R}.btf`, filler(2), '0', style), // rank 1
      ...tarMember(`../${A.slice(2)}/8.6/aarch64/${R}.btf`, 'hostile', '0', style),
      ...tarMember(`${A}/8.6/aarch64/${R}-${'x'.repeat(90)}.btf`, filler(3), '0', style),
      ...tarMember(`${A}/8.6/aarch64/${R}.btf`, filler(4), '0', style), // exact
      ...tarMember(`${A}/8/arm64/${R}.btf`, filler(5), '0', style),
      tarEnd(),
    ]);
    bases.push(tar, gzip(tar));
  }
  return bases;
}

function mutate(base: Uint8Array, rnd: () => number): Uint8Array {
  const at = (n: number): number => Math.floor(rnd() * n);
  const out = base.slice();
  switch (at(6)) {
    case 0: {
      const n = 1 + at(4);
      for (let i = 0; i < n; i++) out[at(out.length)] = at(256);
      return out;
    }
    case 1:
      return out.subarray(0, at(out.length));
    case 2: {
      const pos = at(out.length);
      return concat([out.subarray(0, pos), Uint8Array.from({ length: 1 + at(600) }, () => at(256)), out.subarray(pos)]);
    }
    case 3: {
      const block = at(Math.ceil(out.length / 512)) * 512;
      out.fill(0, block, block + 512);
      return out;
    }
    case 4: {
      const block = at(Math.ceil(out.length / 512)) * 512;
      return concat([out.subarray(0, block + 512), out.subarray(block, block + 512), out.subarray(block + 512)]);
    }
    default: {
      // a plausible header field damaged: size, typeflag, checksum-preserving name change
      const block = at(Math.ceil(out.length / 512)) * 512;
      out[block + 124 + at(12)] = '01234567 \0'.charCodeAt(at(10));
      return out;
    }
  }
}

/** The TypeScript reader's outcome in the C harness's words: "ok <key> <size>" or "error <code>". */
async function tsOutcome(archive: Uint8Array, host: HostIdentity, out: string): Promise<string> {
  try {
    const { path, key } = await extractHostBtf(archive, host, { tmpdir: out });
    const size = (await stat(path)).size;
    await rm(path);
    return `ok ${key} ${size}`;
  } catch (err) {
    const code = (err as { code?: string }).code;
    return `error ${code === 'ENOENT' || code === 'EINVAL' ? code : String(err)}`;
  }
}

const cMissing = cToolsMissing();
if (cMissing) console.warn(`skipping the differential reader test: ${cMissing}`);
const sanMissing = cMissing ?? sanitizersMissing();

describe.skipIf(cMissing !== undefined)('C and TypeScript archive readers agree', () => {
  let dir: string;
  let harness: string;
  /** The same harness built with ASan, LSan and UBSan (undefined where they are missing). */
  let sanitized: string | undefined;
  /** The archives of the first test and the plain C reader's answers. */
  let plain: { paths: string[]; out: string[] } | undefined;
  beforeAll(async () => {
    dir = await tempDir('btfgen-diff-readers-');
    make(['-C', NATIVE, `BUILD=${join(dir, 'build')}`, `LIB=${join(dir, 'build', 'lib.a')}`, join(dir, 'build', 'lookup_test')]);
    harness = join(dir, 'build', 'lookup_test');
    if (!sanMissing) {
      const b = join(dir, 'build-san');
      make(['-C', NATIVE, `BUILD=${b}`, `LIB=${join(b, 'lib.a')}`, `CFLAGS=${SANITIZE_CFLAGS}`, join(b, 'lookup_test')]);
      sanitized = join(b, 'lookup_test');
    }
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`on ${COUNT} damaged archives and the intact ones`, async () => {
    const rnd = prng(Number(process.env.BTFGEN_DIFF_SEED ?? 0xb7f6e));
    const bases = baseArchives();
    const archives = [...bases, ...Array.from({ length: COUNT }, () => mutate(bases[Math.floor(rnd() * bases.length)]!, rnd))];
    const files = join(dir, 'archives');
    await mkdir(files);
    const paths = await Promise.all(
      archives.map(async (a, i) => {
        const p = join(files, `${i}.bin`);
        await writeFile(p, a);
        return p;
      }),
    );
    const c = spawnSync(harness, ['--lookup', HOST.id, HOST.versionId, HOST.machine, HOST.release, ...paths], {
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(c.status, c.stdout + c.stderr).toBe(0);
    const cOut = c.stdout.trim().split('\n');
    expect(cOut).toHaveLength(archives.length);

    const out = join(dir, 'out');
    await mkdir(out);
    const mismatches: string[] = [];
    const outcomes = new Map<string, number>();
    for (let i = 0; i < archives.length; i++) {
      const ts = await tsOutcome(archives[i]!, HOST, out);
      outcomes.set(ts.split(' ').slice(0, 2).join(' '), (outcomes.get(ts.split(' ').slice(0, 2).join(' ')) ?? 0) + 1);
      if (ts !== cOut[i]) mismatches.push(`archive ${i}: C "${cOut[i]}", TS "${ts}"`);
    }
    expect(mismatches).toEqual([]);
    // The intact archives give the exact key; the damaged ones exercise every outcome.
    for (let i = 0; i < bases.length; i++) expect(cOut[i]).toMatch(new RegExp(`^ok ol/8\\.6/aarch64/`));
    expect([...outcomes.keys()].sort()).toEqual(
      expect.arrayContaining(['error EINVAL', 'error ENOENT', `ok ol/8.6/aarch64/${R}.btf`, `ok ol/8.6/arm64/${R}.btf`]),
    );
    plain = { paths, out: cOut };
  });

  // The archives of the structure-aware fuzzer (damaged header fields, pax records, GNU
  // longnames, gzip framing: see native/test/fuzz_archive.c), through both readers.
  it(`on ${FUZZ_COUNT} structure-aware damaged archives (native/test/fuzz_archive.c)`, async () => {
    const b = join(dir, 'build');
    make(['-C', NATIVE, `BUILD=${b}`, `LIB=${join(b, 'lib.a')}`, join(b, 'fuzz_archive')]);
    const files = join(dir, 'fuzz-archives');
    await mkdir(files);
    const gen = spawnSync(join(b, 'fuzz_archive'), ['--seed', '7', '--count', String(FUZZ_COUNT), '--dump', files], { encoding: 'utf8' });
    expect(gen.status, gen.stdout.slice(-2000)).toBe(0);
    const paths = (await readdir(files)).sort().map((f) => join(files, f));
    expect(paths).toHaveLength(FUZZ_COUNT);
    const c = spawnSync(harness, ['--lookup', FUZZ_HOST.id, FUZZ_HOST.versionId, FUZZ_HOST.machine, FUZZ_HOST.release, ...paths], {
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(c.status, c.stdout + c.stderr).toBe(0);
    const cOut = c.stdout.trim().split('\n');
    const out = join(dir, 'fuzz-out');
    await mkdir(out);
    const mismatches: string[] = [];
    for (let i = 0; i < paths.length; i++) {
      const ts = await tsOutcome(await readFile(paths[i]!), FUZZ_HOST, out);
      if (ts !== cOut[i]) mismatches.push(`${paths[i]}: C "${cOut[i]}", TS "${ts}"`);
    }
    expect(mismatches).toEqual([]);
  });

  // The same archives through the C reader built with ASan, LSan and UBSan: no memory error,
  // leak or undefined behaviour on any of them (exit 86 otherwise), and the same outcomes.
  it.skipIf(sanMissing !== undefined)(`the C reader under ASan, LSan and UBSan, on the same archives${sanMissing ? ` (skipped: ${sanMissing})` : ''}`, () => {
    expect(plain, 'the test above ran first').toBeDefined();
    const { paths, out: cOut } = plain!;
    const san = spawnSync(sanitized!, ['--lookup', HOST.id, HOST.versionId, HOST.machine, HOST.release, ...paths], {
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, ...SANITIZE_ENV },
    });
    expect(san.status, san.stderr.slice(0, 4000)).toBe(0);
    expect(san.stdout.trim().split('\n')).toEqual(cOut);
  });
});
