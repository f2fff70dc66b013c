// The kernel cache (src/kcache): round trip, identity, damaged entries, the size bound with
// least-recently-used eviction, leftovers of dead writers, and two processes filling one cache.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { clearKernelCache, defaultKernelCacheDir, formatSize, kernelCacheStats, open, parseSize, removeTempsOf } from '../../src/kcache/index.js';
import { DIST, REPO_ROOT } from '../helpers/env.js';

const temps: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'btfgen-kcache-test-'));
  temps.push(d);
  return d;
}
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

const idOf = (s: string): string => createHash('sha256').update(s).digest('hex');
const entryFile = (dir: string, id: string): string => path.join(dir, 'v1', id.slice(0, 2), `${id}.kbtf`);
/** Every file below the cache's layout directory, relative names. */
function filesIn(dir: string): string[] {
  const root = path.join(dir, 'v1');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((s) => readdirSync(path.join(root, s)).map((n) => `${s}/${n}`));
}
function ago(file: string, seconds: number): void {
  const t = new Date(Date.now() - seconds * 1000);
  utimesSync(file, t, t);
}

describe('parseSize', () => {
  it('reads the sizes users write (binary units, any case, optional B/iB)', () => {
    expect(parseSize('2G')).toBe(2 * 1024 ** 3);
    expect(parseSize('500M')).toBe(500 * 1024 ** 2);
    expect(parseSize('1.5G')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('4k')).toBe(4096);
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseSize('2gb')).toBe(2 * 1024 ** 3);
    expect(parseSize('1T')).toBe(1024 ** 4);
    expect(parseSize('1048576')).toBe(1048576);
    expect(parseSize('0')).toBe(0);
    expect(parseSize(' 10M ')).toBe(10 * 1024 ** 2);
  });
  it('rejects anything else with a usage error naming the option', () => {
    for (const bad of ['', 'abc', '-1', '2X', '1e9', '2 G B', 'G', '1.2.3M', '99999999999T']) {
      let err: unknown;
      try {
        parseSize(bad, '--kernel-cache-size');
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(UsageError);
      expect((err as UsageError).exitCode).toBe(2);
      expect((err as Error).message).toContain(`--kernel-cache-size: '${bad}' is not a size`);
    }
  });
});

describe('formatSize', () => {
  it('prints bytes in binary units, as parseSize reads them', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(1023)).toBe('1023 B');
    expect(formatSize(1536)).toBe('1.5 KiB');
    expect(formatSize(500 * 1024 ** 2)).toBe('500 MiB');
    expect(formatSize(4 * 1024 ** 3)).toBe('4 GiB');
    expect(formatSize(12.25 * 1024 ** 3)).toBe('12.3 GiB');
  });
});

describe('kernel cache', () => {
  it('is an optimization: a cache it cannot write to or read from is a miss, never an error', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'not-a-dir');
    writeFileSync(file, 'x');
    const c = open({ dir: path.join(file, 'kc') });
    expect(await c.put(idOf('x'), new Uint8Array(10))).toBe(false);
    expect(await c.get(idOf('x'))).toBeUndefined();
    await c.flush();
  });

  it('defaults to $BTFHUB_CACHE/kernel-cache, then ~/.cache/eunomia/btfhub/kernel-cache', () => {
    expect(defaultKernelCacheDir(undefined, { BTFHUB_CACHE: '/x/c' }, '/')).toBe('/x/c/kernel-cache');
    expect(defaultKernelCacheDir(undefined, { HOME: '/home/u' }, '/')).toBe('/home/u/.cache/eunomia/btfhub/kernel-cache');
    expect(defaultKernelCacheDir('rel', { BTFHUB_CACHE: '/x/c' }, '/w')).toBe('/w/rel/kernel-cache');
  });

  it('gives back the bytes that were put, under the identity', async () => {
    const dir = tempDir();
    const c = open({ dir });
    const tar = new Uint8Array(randomBytes(100_000));
    const id = idOf('k1');
    expect(await c.get(id)).toBeUndefined();
    const stored = c.put(id, tar);
    const put = Buffer.from(tar);
    tar.fill(0); // the caller may reuse its buffer once put() returned, before it settles
    expect(await stored).toBe(true);
    const got = await c.get(id);
    expect(Buffer.from(got!).equals(put)).toBe(true);
    expect(Buffer.from(readFileSync(entryFile(dir, id))).subarray(-100_000).equals(put)).toBe(true);
    // a second cache object (another pack) reads it too; other identities miss
    expect((await open({ dir }).get(id))?.length).toBe(100_000);
    expect(await c.get(idOf('k2'))).toBeUndefined();
    expect(filesIn(dir)).toEqual([`${id.slice(0, 2)}/${id}.kbtf`]);
  });

  it('keeps an empty entry apart from a miss', async () => {
    const c = open({ dir: tempDir() });
    const id = idOf('empty');
    await c.put(id, new Uint8Array(0));
    expect(await c.get(id)).toEqual(new Uint8Array(0));
  });

  it('refuses identities that are not a sha256 in hex (no path can be made of one)', async () => {
    const c = open({ dir: tempDir() });
    await expect(c.get('../../etc/passwd')).rejects.toThrow(/sha256/);
    await expect(c.put('ABC', new Uint8Array(1))).rejects.toThrow(/sha256/);
  });

  it('treats a damaged, truncated or foreign entry as a miss and removes it', async () => {
    const dir = tempDir();
    const c = open({ dir });
    const damage: Record<string, (b: Buffer) => Buffer> = {
      'flipped tar byte': (b) => {
        b[b.length - 500]! ^= 0x40;
        return b;
      },
      truncated: (b) => b.subarray(0, b.length - 1),
      'one byte too many': (b) => Buffer.concat([b, Buffer.from([0])]),
      'other layout (magic)': (b) => {
        b[6] = 0x32;
        return b;
      },
      // btfgen before the tar codec stored the BTF and its member's name (codec 0)
      'older codec': (b) => {
        b[8] = 0;
        return b;
      },
      'header only': (b) => b.subarray(0, 40),
      empty: () => Buffer.alloc(0),
    };
    for (const [what, f] of Object.entries(damage)) {
      const id = idOf(what);
      await c.put(id, new Uint8Array(randomBytes(4096)));
      const file = entryFile(dir, id);
      writeFileSync(file, f(readFileSync(file)));
      expect(await c.get(id), what).toBeUndefined();
      expect(existsSync(file), what).toBe(false);
    }
    // an entry copied under another identity does not answer for it
    const a = idOf('a');
    const b = idOf('b');
    await c.put(a, new Uint8Array(randomBytes(64)));
    mkdirSync(path.dirname(entryFile(dir, b)), { recursive: true });
    writeFileSync(entryFile(dir, b), readFileSync(entryFile(dir, a)));
    expect(await c.get(b)).toBeUndefined();
    expect(await c.get(a)).toBeDefined();
  });

  it('evicts the least recently used entries, never one this process used, to stay within the limit', async () => {
    const dir = tempDir();
    const fill = open({ dir });
    const size = 10_000;
    const ids = ['e1', 'e2', 'e3', 'e4'].map(idOf);
    for (const id of ids.slice(0, 3)) await fill.put(id, new Uint8Array(size));
    const entry = statSync(entryFile(dir, ids[0]!)).size;
    // last uses: e1 oldest, then e2, then e3
    ago(entryFile(dir, ids[0]!), 300);
    ago(entryFile(dir, ids[1]!), 200);
    ago(entryFile(dir, ids[2]!), 100);
    // a later pack, with room for three entries: it reads e1, then stores e4
    const c = open({ dir, maxBytes: 3 * entry + Math.floor(entry / 2) });
    expect(await c.get(ids[0]!)).toBeDefined();
    expect(statSync(entryFile(dir, ids[0]!)).mtimeMs).toBeGreaterThan(Date.now() - 10_000); // the hit is its last use
    expect(await c.put(ids[3]!, new Uint8Array(size))).toBe(true);
    // e2 was the least recently used: gone; e1 (used now), e3 and e4 stay
    expect(existsSync(entryFile(dir, ids[1]!))).toBe(false);
    for (const i of [0, 2, 3]) expect(existsSync(entryFile(dir, ids[i]!)), `e${i + 1}`).toBe(true);
    expect((await kernelCacheStats(dir)).bytes).toBeLessThanOrEqual(3 * entry + Math.floor(entry / 2));
  });

  it('skips a put rather than evict what this process used (a pack bigger than the limit keeps its first kernels)', async () => {
    const dir = tempDir();
    const size = 10_000;
    const c = open({ dir, maxBytes: 2 * (size + 100) });
    const ids = ['s1', 's2', 's3', 's4'].map(idOf);
    const stored = [];
    for (const id of ids) stored.push(await c.put(id, new Uint8Array(size)));
    expect(stored).toEqual([true, true, false, false]);
    expect(existsSync(entryFile(dir, ids[0]!))).toBe(true);
    expect(existsSync(entryFile(dir, ids[1]!))).toBe(true);
    // the next pack over the same kernels: the same two hit (plain LRU would have kept the last two,
    // evicted by this pack again before it reached them)
    const next = open({ dir, maxBytes: 2 * (size + 100) });
    const hits = [];
    for (const id of ids) {
      const h = (await next.get(id)) !== undefined;
      hits.push(h);
      if (!h) await next.put(id, new Uint8Array(size));
    }
    expect(hits).toEqual([true, true, false, false]);
  });

  it('with a shared `since` (the threads of one pack) no opener evicts what another used in that pack', async () => {
    const dir = tempDir();
    const size = 10_000;
    const max = 2 * (size + 100);
    const since = Date.now() - 1000;
    const a = open({ dir, maxBytes: max, since });
    expect(await a.put(idOf('p1'), new Uint8Array(size))).toBe(true);
    expect(await a.put(idOf('p2'), new Uint8Array(size))).toBe(true);
    const b = open({ dir, maxBytes: max, since });
    expect(await b.put(idOf('p3'), new Uint8Array(size))).toBe(false);
    expect(filesIn(dir)).toHaveLength(2);
    // a later pack (its own `since`) may evict them: they are older than its start
    await new Promise((r) => setTimeout(r, 50));
    const later = open({ dir, maxBytes: max });
    expect(await later.put(idOf('p3'), new Uint8Array(size))).toBe(true);
    expect(existsSync(entryFile(dir, idOf('p3')))).toBe(true);
    expect(filesIn(dir)).toHaveLength(2);
  });

  it('skips an entry bigger than the whole limit, and stores nothing with a limit of 0', async () => {
    const dir = tempDir();
    expect(await open({ dir, maxBytes: 1000 }).put(idOf('big'), new Uint8Array(2000))).toBe(false);
    expect(await open({ dir, maxBytes: 0 }).put(idOf('small'), new Uint8Array(1))).toBe(false);
    expect(filesIn(dir)).toEqual([]);
  });

  it('removes temporary files of writers that are gone, and old ones; keeps a live writer\'s', async () => {
    const dir = tempDir();
    const id = idOf('t');
    const shard = path.join(dir, 'v1', id.slice(0, 2));
    mkdirSync(shard, { recursive: true });
    // a pid that no longer runs: a child that exited
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    const live = process.ppid; // the process that started this one is running
    writeFileSync(path.join(shard, `${id}.kbtf.tmp-${deadPid}-aaaaaaaa`), 'partial');
    writeFileSync(path.join(shard, `${id}.kbtf.tmp-${live}-bbbbbbbb`), 'in progress');
    writeFileSync(path.join(shard, `${id}.kbtf.tmp-${live}-cccccccc`), 'stuck');
    ago(path.join(shard, `${id}.kbtf.tmp-${live}-cccccccc`), 2 * 3600);
    expect((await kernelCacheStats(dir)).temps).toBe(3);
    // the scan a first put makes cleans up
    await open({ dir }).put(idOf('other'), new Uint8Array(10));
    expect(readdirSync(shard).sort()).toEqual([`${id}.kbtf.tmp-${live}-bbbbbbbb`]);
  });

  it("removeTempsOf removes this process's temporary entries only (a run whose threads were stopped mid-store)", async () => {
    const dir = tempDir();
    const id = idOf('s');
    const shard = path.join(dir, 'v1', id.slice(0, 2));
    mkdirSync(shard, { recursive: true });
    const other = process.ppid;
    const mine = `${id}.kbtf.tmp-${process.pid}-dddddddd`;
    const theirs = `${id}.kbtf.tmp-${other}-eeeeeeee`;
    writeFileSync(path.join(shard, mine), 'half');
    writeFileSync(path.join(shard, theirs), 'in progress');
    await open({ dir }).put(id, new Uint8Array(10));
    await removeTempsOf(dir);
    expect(readdirSync(shard).sort()).toEqual([`${id}.kbtf`, theirs].sort());
  });

  it('a put without room (not evicting what this process used) leaves no file, and the process stores no more', async () => {
    const dir = tempDir();
    const c = open({ dir, maxBytes: 10_000 });
    expect(await c.put(idOf('w'), new Uint8Array(randomBytes(3000)))).toBe(true);
    expect(await c.put(idOf('f'), new Uint8Array(8000))).toBe(false);
    expect(await c.put(idOf('g'), new Uint8Array(10))).toBe(false);
    expect(filesIn(dir)).toEqual([`${idOf('w').slice(0, 2)}/${idOf('w')}.kbtf`]);
    expect((await kernelCacheStats(dir)).temps).toBe(0);
  });

  it('clear removes the entries (and only its layout directory)', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'mine.txt'), 'kept');
    const c = open({ dir });
    for (const k of ['c1', 'c2']) await c.put(idOf(k), new Uint8Array(100));
    const before = await clearKernelCache(dir);
    expect(before.entries).toBe(2);
    expect(before.bytes).toBeGreaterThan(200);
    expect(readdirSync(dir)).toEqual(['mine.txt']);
    expect(await kernelCacheStats(dir)).toEqual({ dir, entries: 0, bytes: 0, temps: 0 });
  });
});

// Two processes (as two packs would) fill one cache at once, over the same kernels, with and
// without room for all of them. They run the built module (dist/), as pack's workers do.
const DIST_MODULE = path.join(DIST, 'kcache/index.js');
const distFresh =
  existsSync(DIST_MODULE) && statSync(DIST_MODULE).mtimeMs + 1000 >= statSync(path.join(REPO_ROOT, 'src/kcache/index.ts')).mtimeMs;
describe.skipIf(!distFresh)(`kernel cache shared by two processes${distFresh ? '' : ' (skipped: dist/kcache is missing or older than src/kcache: run npm run build)'}`, () => {
  const N = 24;
  const SIZE = 256 * 1024;
  /** Kernel i's BTF: SIZE bytes derived from i (so a reader can check what it got). */
  const script = `
    import { createHash } from 'node:crypto';
    const { open } = await import(${JSON.stringify(DIST_MODULE)});
    const [dir, max, order] = process.argv.slice(1);
    const c = open({ dir, maxBytes: Number(max) });
    const bytesOf = (i) => { const b = new Uint8Array(${SIZE}); let x = i + 1; for (let j = 0; j < b.length; j++) { x = (x * 1103515245 + 12345) >>> 0; b[j] = x >>> 24; } return b; };
    const ids = Array.from({ length: ${N} }, (_, i) => i);
    if (order === 'rev') ids.reverse();
    let bad = 0, hits = 0, stored = 0;
    for (let round = 0; round < 3; round++) {
      for (const i of ids) {
        const id = createHash('sha256').update('kernel' + i).digest('hex');
        const got = await c.get(id);
        if (got) {
          hits++;
          if (Buffer.compare(Buffer.from(got), Buffer.from(bytesOf(i))) !== 0) bad++;
        } else if (await c.put(id, bytesOf(i))) stored++;
      }
    }
    await c.flush();
    process.stdout.write(JSON.stringify({ bad, hits, stored }));
  `;
  const runTwo = (dir: string, max: number): Promise<{ bad: number; hits: number; stored: number }[]> =>
    Promise.all(
      ['fwd', 'rev'].map(
        (order) =>
          new Promise<{ bad: number; hits: number; stored: number }>((resolve, reject) => {
            const p = spawn(process.execPath, ['--input-type=module', '-e', script, dir, String(max), order], { stdio: ['ignore', 'pipe', 'pipe'] });
            let out = '';
            let err = '';
            p.stdout.on('data', (d) => (out += d));
            p.stderr.on('data', (d) => (err += d));
            p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}: ${err}`))));
          }),
      ),
    );

  it('with room for every kernel: both read only whole, right entries; no temporary file is left', async () => {
    const dir = tempDir();
    const res = await runTwo(dir, 1 << 30);
    for (const r of res) expect(r.bad).toBe(0);
    // after its first round each reads every kernel back (a rewrite by the other is a rename:
    // never a partial file, which would read as a miss)
    for (const r of res) expect(r.hits).toBeGreaterThanOrEqual(2 * N);
    const s = await kernelCacheStats(dir);
    expect(s.entries).toBe(N);
    expect(s.temps).toBe(0);
    const c = open({ dir });
    for (let i = 0; i < N; i++) expect((await c.get(idOf(`kernel${i}`)))?.length).toBe(SIZE);
  });

  it('with room for a third of them: no damaged read, and the cache ends within the limit plus what one pack wrote between scans', async () => {
    const dir = tempDir();
    const entry = SIZE + 64;
    const max = Math.floor((N / 3) * entry);
    const res = await runTwo(dir, max);
    for (const r of res) expect(r.bad).toBe(0);
    const s = await kernelCacheStats(dir);
    expect(s.temps).toBe(0);
    // each process checks the limit against its last scan: together they overshoot by at most one entry each
    expect(s.bytes).toBeLessThanOrEqual(max + 2 * entry);
    expect(s.entries).toBeGreaterThan(0);
    // what is there is intact
    const c = open({ dir });
    let intact = 0;
    for (let i = 0; i < N; i++) if (await c.get(idOf(`kernel${i}`))) intact++;
    expect(intact).toBe(s.entries);
  });
});
