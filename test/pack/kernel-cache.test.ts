// The kernel cache as a stage of pack's kernel source: a re-pack after the objects changed reads
// every .btf.tar.xz kernel from the cache (result.work.kernelCacheHits) and writes the very bytes
// a pack without the cache writes; xz fills the entries itself, with one lane or several; a damaged entry is a miss, decompressed again and replaced;
// two packs filling one cache at once (two processes) both succeed alike; --no-kernel-cache
// writes nothing; the flags' usage errors exit 2.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as PackApi from '../../src/pack/index.js';
import type * as KcacheApi from '../../src/kcache/index.js';
import { assertDistFresh, BIN, data, DIST, EXAMPLE_OBJECT, missing, REPO_ROOT } from '../helpers/env.js';
import { readTarGz } from '../helpers/tar.js';
import { unpackBtfTarXz } from '../helpers/data.js';
import { buildArchive, cleanupTemps, tempDir, traceObjects } from './helpers.js';

assertDistFresh();
const { pack } = (await import(pathToFileURL(join(DIST, 'pack/index.js')).href)) as typeof PackApi;
const { kernelCacheStats } = (await import(pathToFileURL(join(DIST, 'kcache/index.js')).href)) as typeof KcacheApi;
afterAll(cleanupTemps);

const DEMO = data.demoArchive.path;
const XZ_KERNELS = ['debian/10/x86_64/4.19.0-17-cloud-amd64.btf.tar.xz', 'ubuntu/20.04/x86_64/5.4.0-29-generic.btf.tar.xz', 'debian/10/x86_64/4.19.0-22-cloud-amd64.btf.tar.xz'];
const RAW_KERNEL = 'ubuntu/20.04/x86_64/5.4.0-33-generic.btf';

/** Object sets: each pack after the first sees "changed objects" (a result cache miss). */
const objectSets = (): string[][] => {
  const t = traceObjects();
  return [[EXAMPLE_OBJECT], [EXAMPLE_OBJECT, t[0]!], [EXAMPLE_OBJECT, t[1]!], [t[0]!, t[1]!]];
};

function entryFiles(dir: string): string[] {
  const root = join(dir, 'v1');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((s) => readdirSync(join(root, s)).map((n) => join(root, s, n)));
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Bytes this process has written so far (/proc/self/io wchar; its worker threads included), or undefined off Linux. */
function writtenBytes(): number | undefined {
  try {
    return Number(/^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
  } catch {
    return undefined;
  }
}

const noDemo = missing(data.demoArchive);
describe.skipIf(!!noDemo)(`kernel cache in pack${noDemo ? ` (skipped: ${noDemo})` : ''}`, () => {
  let ARCH = '';
  beforeAll(async () => {
    ARCH = join(tempDir('btfgen-kc-archive-'), 'archive');
    buildArchive(ARCH, [
      ...XZ_KERNELS.map((rel) => ({ rel, copy: join(DEMO, rel) })),
      // a raw .btf kernel (unpacked by tar + xz): read as is, never cached
      { rel: RAW_KERNEL, copy: await unpackBtfTarXz(join(DEMO, RAW_KERNEL + '.tar.xz')) },
    ]);
  });

  // --jobs 1: one kernel at a time, through one xz lane; --jobs 2: a thread with several lanes
  it.each([1, 2])('a re-pack after the objects changed reads every .btf.tar.xz kernel from the cache and writes the same bytes as a pack without it (--jobs %i)', async (jobs) => {
    const root = tempDir();
    const kc = join(root, 'kc');
    const [a, b] = objectSets();
    const written = writtenBytes();
    const cold = await pack({ objects: a!, output: join(root, 'a.tar.gz'), archive: ARCH, cacheDir: join(root, 'rc'), kernelCache: kc, jobs, env: { HOME: root } });
    const wrote = written === undefined ? undefined : writtenBytes()! - written;
    expect(cold.counts).toMatchObject({ total: 4, minimized: 4, failed: 0 });
    expect(cold.work.kernelCacheHits).toBe(0);
    expect(cold.kernelCache).toBe(kc);
    // one entry per .btf.tar.xz kernel, none for the raw .btf; no temporary file left
    expect(await kernelCacheStats(kc)).toMatchObject({ entries: XZ_KERNELS.length, temps: 0 });
    // each entry, past its 64-byte header, is the kernel file as the system's xz decompresses it
    let tarBytes = 0;
    for (const rel of XZ_KERNELS) {
      const id = createHash('sha256').update(readFileSync(join(ARCH, rel))).digest('hex');
      const entry = readFileSync(join(kc, 'v1', id.slice(0, 2), `${id}.kbtf`));
      const tar = execFileSync('xz', ['-dc', join(ARCH, rel)], { maxBuffer: 1 << 30 });
      expect(Buffer.compare(entry.subarray(64), tar), rel).toBe(0);
      tarBytes += tar.length;
    }
    // each entry written once, from the tar in memory (xz writes a scratch file in /dev/shm, or
    // a pipe): this process wrote every tar's bytes, and not twice
    if (wrote !== undefined) {
      expect(wrote).toBeGreaterThanOrEqual(tarBytes);
      expect(wrote).toBeLessThan(tarBytes * 1.25);
    }

    const warm = await pack({ objects: b!, output: join(root, 'b.tar.gz'), archive: ARCH, cacheDir: join(root, 'rc'), kernelCache: kc, jobs, env: { HOME: root } });
    expect(warm.counts).toMatchObject({ total: 4, minimized: 4, cached: 0, failed: 0 });
    expect(warm.work.kernelCacheHits).toBe(XZ_KERNELS.length);

    const ref = await pack({ objects: b!, output: join(root, 'ref.tar.gz'), archive: ARCH, cacheDir: join(root, 'rc2'), kernelCache: false, jobs: 2, env: { HOME: root } });
    expect(ref.work.kernelCacheHits).toBe(0);
    expect(ref.kernelCache).toBeUndefined();
    expect(Buffer.compare(readFileSync(warm.output), readFileSync(ref.output))).toBe(0);
    expect(readTarGz(warm.output).filter((e) => e.type === '0').length).toBe(4);
  });

  it('a damaged entry is a miss: the kernel is decompressed again, packed right and stored again', async () => {
    const root = tempDir();
    const kc = join(root, 'kc');
    const [a, b, c] = objectSets();
    const opts = (objects: string[], out: string, cacheDir: string, kernelCache: string | false): PackApi.PackOptions => ({ objects, output: join(root, out), archive: ARCH, cacheDir: join(root, cacheDir), kernelCache, jobs: 2, env: { HOME: root } });
    await pack(opts(a!, 'a.tar.gz', 'rc', kc));
    const files = entryFiles(kc).sort();
    expect(files.length).toBe(XZ_KERNELS.length);
    const size1 = readFileSync(files[1]!).length;
    // one byte of the BTF flipped in the middle of one entry, another entry cut short
    const flipped = readFileSync(files[0]!);
    flipped[flipped.length >> 1] ^= 0x40;
    writeFileSync(files[0]!, flipped);
    writeFileSync(files[1]!, readFileSync(files[1]!).subarray(0, 1000));
    const r = await pack(opts(b!, 'b.tar.gz', 'rc', kc));
    expect(r.counts).toMatchObject({ minimized: 4, failed: 0 });
    expect(r.work.kernelCacheHits).toBe(XZ_KERNELS.length - 2);
    const ref = await pack(opts(b!, 'ref.tar.gz', 'rc2', false));
    expect(Buffer.compare(readFileSync(r.output), readFileSync(ref.output))).toBe(0);
    // the two were stored again, whole: the next pack hits every kernel
    expect(entryFiles(kc).sort()).toEqual(files);
    expect(readFileSync(files[1]!).length).toBe(size1);
    expect(Buffer.compare(readFileSync(files[0]!), flipped)).not.toBe(0);
    const again = await pack(opts(c!, 'c.tar.gz', 'rc', kc));
    expect(again.work.kernelCacheHits).toBe(XZ_KERNELS.length);
    const ref2 = await pack(opts(c!, 'ref2.tar.gz', 'rc2', false));
    expect(Buffer.compare(readFileSync(again.output), readFileSync(ref2.output))).toBe(0);
  });

  it('two pack processes filling one kernel cache at once both succeed with identical outputs; --no-kernel-cache writes nothing', async () => {
    const root = tempDir();
    const kc = join(root, 'kc');
    const objs = objectSets()[3]!;
    const args = (out: string, rc: string): string[] => ['pack', ...objs, '--archive', ARCH, '-o', join(root, out), '--cache-dir', join(root, rc), '--kernel-cache', kc, '-j', '2', '-q'];
    const [p, q] = await Promise.all([run(args('p.tar.gz', 'rc-p')), run(args('q.tar.gz', 'rc-q'))]);
    expect(p.code, p.stderr).toBe(0);
    expect(q.code, q.stderr).toBe(0);
    expect(Buffer.compare(readFileSync(join(root, 'p.tar.gz')), readFileSync(join(root, 'q.tar.gz')))).toBe(0);
    expect(await kernelCacheStats(kc)).toMatchObject({ entries: XZ_KERNELS.length, temps: 0 });

    // --no-kernel-cache: neither the named directory nor the default one is written
    const off = join(root, 'off');
    const n = await run([...args('n.tar.gz', 'rc-n').filter((x) => x !== kc && x !== '--kernel-cache'), '--kernel-cache', off, '--no-kernel-cache'], { HOME: root, BTFHUB_CACHE: join(root, 'bc') });
    expect(n.code, n.stderr).toBe(0);
    expect(existsSync(off)).toBe(false);
    expect(existsSync(join(root, 'bc', 'kernel-cache'))).toBe(false);
    expect(Buffer.compare(readFileSync(join(root, 'n.tar.gz')), readFileSync(join(root, 'p.tar.gz')))).toBe(0);
    // and the default is $BTFHUB_CACHE/kernel-cache
    const d = await run([...args('d.tar.gz', 'rc-d').filter((x) => x !== kc && x !== '--kernel-cache')], { HOME: root, BTFHUB_CACHE: join(root, 'bc') });
    expect(d.code, d.stderr).toBe(0);
    expect(await kernelCacheStats(join(root, 'bc', 'kernel-cache'))).toMatchObject({ entries: XZ_KERNELS.length });
    // the summary says how many kernels came from the kernel cache (none: nothing said)
    const e = await run([...args('e.tar.gz', 'rc-e').filter((x) => x !== kc && x !== '--kernel-cache' && x !== '-q')], { HOME: root, BTFHUB_CACHE: join(root, 'bc') });
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/^Packed 4 of 4 kernels \(4 minimized, 0 from cache; 3 read from the kernel cache\) in /);
    const f = await run([...args('f.tar.gz', 'rc-f').filter((x) => x !== '-q'), '--no-kernel-cache']);
    expect(f.stdout).toMatch(/^Packed 4 of 4 kernels \(4 minimized, 0 from cache\) in /);
  });

  it.each([1, 2])('a kernel xz cannot decompress fails as without the cache and leaves neither entry nor temporary file (--jobs %i)', async (jobs) => {
    const root = tempDir();
    const arch = join(root, 'archive');
    const good = readFileSync(join(DEMO, XZ_KERNELS[0]!));
    const corrupt = Buffer.from(good);
    corrupt[corrupt.length >> 1] ^= 0xff;
    buildArchive(arch, [
      { rel: XZ_KERNELS[0]!, copy: join(DEMO, XZ_KERNELS[0]!) },
      { rel: 'debian/10/x86_64/4.19.0-90-corrupt.btf.tar.xz', data: corrupt },
      { rel: 'debian/10/x86_64/4.19.0-91-truncated.btf.tar.xz', data: good.subarray(0, good.length >> 1) },
    ]);
    const kc = join(root, 'kc');
    const opts = (out: string, cacheDir: string, kernelCache: string | false): PackApi.PackOptions => ({ objects: [EXAMPLE_OBJECT], output: join(root, out), archive: arch, cacheDir: join(root, cacheDir), kernelCache, jobs, skipFailed: true, env: { HOME: root } });
    const withCache = await pack(opts('a.tar.gz', 'rc1', kc));
    const without = await pack(opts('b.tar.gz', 'rc2', false));
    expect(withCache.counts).toMatchObject({ total: 3, minimized: 1, failed: 2 });
    expect(withCache.failures).toEqual(without.failures);
    expect(Buffer.compare(readFileSync(withCache.output), readFileSync(without.output))).toBe(0);
    expect(await kernelCacheStats(kc)).toMatchObject({ entries: 1, temps: 0 });
  });

  it('a bad --kernel-cache-size is a usage error (exit 2, one line) for pack and check', async () => {
    const root = tempDir();
    for (const cmd of ['pack', 'check']) {
      for (const size of ['lots', '-1G', '1.5X']) {
        const r = await run([cmd, EXAMPLE_OBJECT, '--archive', ARCH, '-o', join(root, 'x.out'), '--kernel-cache-size', size]);
        expect(r.code, `${cmd} ${size}: ${r.stderr}`).toBe(2);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toContain('--kernel-cache-size');
      }
    }
    expect(existsSync(join(root, 'x.out'))).toBe(false);
  });
});
