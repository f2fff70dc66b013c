// The warm re-pack after the objects changed, as a user's loop meets it: the result cache's stat
// index knows every archive file (an earlier pack hashed them), the kernel cache holds their
// BTF. Then no archive file is read at all (the process's read count, /proc/self/io, stays below
// the size of the archive files), the pack runs one minimizing thread per job instead of xz
// lanes, an entry found damaged makes its file read and decompressed after all, and every
// output is byte-identical to a pack without the kernel cache.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as PackApi from '../../src/pack/index.js';
import { assertDistFresh, data, DIST, EXAMPLE_OBJECT, missing } from '../helpers/env.js';
import { buildArchive, cleanupTemps, listFiles, tempDir, traceObjects } from './helpers.js';

assertDistFresh();
const { pack } = (await import(pathToFileURL(join(DIST, 'pack/index.js')).href)) as typeof PackApi;
afterAll(cleanupTemps);

const DEMO = data.demoArchive.path;
const XZ_KERNELS = ['debian/10/x86_64/4.19.0-17-cloud-amd64.btf.tar.xz', 'ubuntu/20.04/x86_64/5.4.0-29-generic.btf.tar.xz', 'debian/10/x86_64/4.19.0-22-cloud-amd64.btf.tar.xz', 'ubuntu/20.04/x86_64/5.4.0-33-generic.btf.tar.xz'];

/** Bytes this process has read through read(2) and friends so far (all its threads). */
function bytesRead(): number {
  const m = /^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  return Number(m![1]);
}

const noDemo = missing(data.demoArchive);
const noProcIo = (() => {
  try {
    bytesRead();
    return undefined;
  } catch {
    return '/proc/self/io is not readable';
  }
})();
const skip = noDemo ?? noProcIo;

describe.skipIf(!!skip)(`warm re-pack with the stat index and the kernel cache${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let ARCH = '';
  let xzBytes = 0;
  beforeAll(async () => {
    ARCH = join(tempDir('btfgen-kcw-archive-'), 'archive');
    buildArchive(ARCH, XZ_KERNELS.map((rel) => ({ rel, copy: join(DEMO, rel) })));
    xzBytes = XZ_KERNELS.reduce((n, rel) => n + statSync(join(ARCH, rel)).size, 0);
    // The stat index does not record a file changed within 2 s of its hashing ("racy git")
    await new Promise((r) => setTimeout(r, 2100));
  });

  const objectSets = (): string[][] => {
    const t = traceObjects();
    return [[EXAMPLE_OBJECT], [EXAMPLE_OBJECT, t[0]!], [EXAMPLE_OBJECT, t[1]!]];
  };
  const options = (root: string, objects: string[], out: string, kernelCache: string | false, cacheDir = 'rc'): PackApi.PackOptions => ({
    objects,
    output: join(root, out),
    archive: ARCH,
    cacheDir: join(root, cacheDir),
    kernelCache,
    jobs: 2,
    env: { HOME: root },
  });
  const entryBytes = (kc: string): number => listFiles(kc).reduce((n, f) => n + statSync(join(kc, f)).size, 0);

  it('reads no archive file, runs a minimizing thread per job, and writes the bytes of a pack without the kernel cache', async () => {
    const root = tempDir();
    const kc = join(root, 'kc');
    const [a, b] = objectSets();
    const cold = await pack(options(root, a!, 'a.tar.gz', kc));
    expect(cold.work.kernelCacheHits).toBe(0);
    const cached = entryBytes(kc);
    expect(cached).toBeGreaterThan(2 * xzBytes); // the entries hold the decompressed BTF

    const before = bytesRead();
    const warm = await pack(options(root, b!, 'b.tar.gz', kc));
    const read = bytesRead() - before;
    expect(warm.counts).toMatchObject({ total: XZ_KERNELS.length, minimized: XZ_KERNELS.length, cached: 0, failed: 0 });
    expect(warm.work.kernelCacheHits).toBe(XZ_KERNELS.length);
    // every entry read once; the archive files (xzBytes) not at all: what else the pack reads
    // (objects, cache lookups, modules) is far less than the archive files
    expect(read).toBeGreaterThanOrEqual(cached);
    expect(read).toBeLessThan(cached + xzBytes / 2);
    // no kernel to decompress: the plan is one minimizing thread per job
    expect(warm.work.threads).toBe(2);

    const ref = await pack(options(root, b!, 'ref.tar.gz', false, 'rc-ref'));
    expect(Buffer.compare(readFileSync(warm.output), readFileSync(ref.output))).toBe(0);
  });

  it('an entry damaged after its file was hashed: the file is read and decompressed after all, same bytes', async () => {
    const root = tempDir();
    const kc = join(root, 'kc');
    const [a, , c] = objectSets();
    await pack(options(root, a!, 'a.tar.gz', kc));
    const entries = listFiles(kc).sort();
    expect(entries.length).toBe(XZ_KERNELS.length);
    const victim = join(kc, entries[0]!);
    const flipped = readFileSync(victim);
    flipped[flipped.length >> 1] ^= 0x40;
    writeFileSync(victim, flipped);

    const r = await pack(options(root, c!, 'c.tar.gz', kc));
    expect(r.counts).toMatchObject({ minimized: XZ_KERNELS.length, failed: 0 });
    expect(r.work.kernelCacheHits).toBe(XZ_KERNELS.length - 1);
    const ref = await pack(options(root, c!, 'ref.tar.gz', false, 'rc-ref'));
    expect(Buffer.compare(readFileSync(r.output), readFileSync(ref.output))).toBe(0);
    // stored again, whole
    expect(Buffer.compare(readFileSync(victim), flipped)).not.toBe(0);
  });
});
