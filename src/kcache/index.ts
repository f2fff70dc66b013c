// The kernel cache: decompressed kernel BTF kept between packs, so that a re-pack after the
// eBPF program changed reads every kernel without running xz again. Layout, under
// `$BTFHUB_CACHE/kernel-cache/` by default:
//
//   v1/<id[0..2]>/<id>.kbtf          one kernel; id = the kernel identity (see below)
//   v1/<id[0..2]>/<id>.kbtf.tmp-<pid>-<hex>   an entry being written (renamed when complete)
//
// The identity of a kernel is the one the result cache keys it by: the sha256 (hex) of the
// archive file's bytes (src/pack/cache.ts: resultKey(prefix, kernelSha256); StatIndex saves
// hashing unchanged files). The cached bytes depend on nothing else, so any btfgen version and
// object set reads the same entries.
//
// An entry is a header and the archive file decompressed: the tar exactly as xz wrote it (the
// caller reads the BTF member out of it), stored as ENTRY_CODEC says (bench/README.md, "kernel
// cache", has the measurements), written from the tar in memory (put()). The header carries the
// identity, the lengths and a CRC-32 of the tar: a damaged or truncated entry, or one of another
// layout, is a miss and is removed.
//
// Bounded by maxBytes, least recently used first: a hit sets the entry's mtime. An entry used
// (read or stored, by any process) since the cache was opened, or since the time its opener
// gives, is never evicted to make room: a pack walks every kernel once, in the same order each
// time, so with an archive bigger than the limit plain LRU would evict each kernel just before
// the next pack needs it; keeping the first kernels that fit gives hits in proportion to the
// limit instead of none.
//
// Concurrent packs: entries are written to a temporary name and renamed, so a reader sees a
// whole entry or none; two packs that fill the same kernel both write it and the last rename
// wins (same bytes). An entry evicted while another pack reads it stays readable to that pack
// (the open descriptor keeps the inode). The size bound is kept per process from a scan of the
// directory, re-scanned before evicting and after every SCAN_SLACK of the limit stored; a pack
// that finds the cache full of entries it may not evict stops storing. Packs filling it at
// once so overshoot the limit by at most about SCAN_SLACK each. Temporary files of processes
// that no longer run (or older than an hour) are removed by the scan.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { open as openFile, readdir, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { resolveFetchConfig, type Env } from '../fetch/config.js';
import { closeQuietly, pidAlive } from '../fsutil.js';

export { formatSize, parseSize } from './size.js';

/** Directory below the cache root holding this layout's entries. */
export const KERNEL_CACHE_LAYOUT = 'v1';
/** Name of the kernel cache below the btfhub cache directory. */
export const KERNEL_CACHE_DIR = 'kernel-cache';
/** Default size limit (bench/README.md, "kernel cache", explains the choice). */
export const DEFAULT_KERNEL_CACHE_BYTES = 4 * 2 ** 30;

const MAGIC = Buffer.from('btfgkc1\n', 'latin1');
// A multiple of 4: the tar after it, and so its BTF member (at a multiple of 512 in the tar), stays
// 4-byte aligned in a buffer read from the entry, and Btf views the type section in place.
const HEADER = 64;
const ENTRY_EXT = '.kbtf';
const TMP_MARK = '.tmp-';
/** A temporary file this old is a leftover whoever wrote it. */
const STALE_TMP_MS = 60 * 60 * 1000;
/** Eviction frees room down to this share of the limit, so that the next puts need no scan. */
const LOW_WATER = 0.9;
/** Bytes per write(2) of an entry: larger writes cost ext4 more (bench/README.md). */
const WRITE_CHUNK = 256 * 1024;
/** Share of the limit a process stores between two scans of the directory. */
const SCAN_SLACK = 0.05;

/** What an entry holds (header byte 8). */
const enum Codec {
  /** The archive file decompressed (a tar), uncompressed. (0, the BTF and its member's name, is gone.) */
  Tar = 1,
}
const ENTRY_CODEC = Codec.Tar;

export interface KernelCacheOptions {
  /** Cache directory (its `v1/` holds the entries). */
  dir: string;
  /** Size limit in bytes (default DEFAULT_KERNEL_CACHE_BYTES). */
  maxBytes?: number;
  /**
   * Entries used at or after this time (ms since the epoch) are not evicted; default: now. A
   * pack whose worker threads each open the cache passes its start time, so that no thread
   * evicts what another one read or stored in the same pack.
   */
  since?: number;
}

export interface KernelCacheStats {
  dir: string;
  entries: number;
  /** Bytes of the entries on disk. */
  bytes: number;
  /** Temporary files (entries being written, or leftovers). */
  temps: number;
}

const IDENTITY = /^[0-9a-f]{64}$/;

/** The kernel cache under the btfhub cache: `$BTFHUB_CACHE/kernel-cache` (or `cache`'s). */
export function defaultKernelCacheDir(cache?: string, env: Env = process.env, cwd: string = process.cwd()): string {
  return path.join(resolveFetchConfig(cache !== undefined ? { cache } : {}, env, cwd).cache, KERNEL_CACHE_DIR);
}

/** Opens (without touching the disk) the kernel cache in `dir`. */
export function open(options: KernelCacheOptions): KernelCache {
  return new KernelCache(options.dir, options.maxBytes ?? DEFAULT_KERNEL_CACHE_BYTES, options.since ?? Date.now());
}

interface Indexed {
  size: number;
  usedAt: number;
}

export class KernelCache {
  private readonly root: string;
  /** identity -> size and last use, from the last scan plus this process's puts. */
  private index: Map<string, Indexed> | undefined;
  private total = 0;
  /** Bytes this process stored since its last scan (what other processes do not know of). */
  private sinceScan = 0;
  /** Stored bytes after which the next put re-scans: bounds what packs filling at once overshoot. */
  private readonly slack: number;
  /** Every entry was used since `since`: nothing can be evicted, later puts are skipped. */
  private full = false;
  /** Commits run one after the other (the index is this process's view of the limit). */
  private queue: Promise<unknown> = Promise.resolve();
  /** Identities used (hit or stored) by this process: they are not evicted. */
  private readonly used = new Set<string>();

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
    /** Entries used at or after this time are not evicted (KernelCacheOptions.since). */
    readonly since: number = Date.now(),
  ) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`kernel cache: bad size limit ${maxBytes}`);
    this.root = path.join(dir, KERNEL_CACHE_LAYOUT);
    this.slack = Math.floor(maxBytes * SCAN_SLACK);
  }

  private file(identity: string): string {
    return path.join(this.root, identity.slice(0, 2), identity + ENTRY_EXT);
  }

  /**
   * The cached tar of the kernel whose archive file has this identity, or undefined (absent,
   * damaged: then removed). Never throws for the cache's own trouble: a miss.
   */
  async get(identity: string, alloc?: (size: number) => Uint8Array): Promise<Uint8Array | undefined> {
    checkIdentity(identity);
    const file = this.file(identity);
    let data: Buffer;
    try {
      const fh = await openFile(file, 'r');
      try {
        const st = await fh.stat();
        // `alloc`: a buffer of at least `size` bytes the caller reuses (the tar returned is a view of it)
        const into = alloc?.(st.size);
        data = into ? Buffer.from(into.buffer, into.byteOffset, st.size) : Buffer.allocUnsafe(st.size);
        let n = 0;
        while (n < st.size) {
          const { bytesRead } = await fh.read(data, n, st.size - n, n);
          if (bytesRead === 0) break;
          n += bytesRead;
        }
        if (n !== st.size) data = data.subarray(0, n);
      } finally {
        await fh.close();
      }
    } catch {
      return undefined;
    }
    const tar = decodeEntry(data, identity);
    if (!tar) {
      await unlink(file).catch(() => undefined);
      return undefined;
    }
    this.used.add(identity);
    const now = new Date();
    await utimes(file, now, now).catch(() => undefined); // its last use, for LRU
    return tar;
  }

  /** Whether an entry is there (a stat: a later get() may still miss, when it is damaged or gone). */
  async has(identity: string): Promise<boolean> {
    checkIdentity(identity);
    return (await stat(this.file(identity)).catch(() => undefined))?.isFile() ?? false;
  }

  /**
   * Stores a kernel's tar (its archive file decompressed); resolves true when it was stored,
   * false when it was skipped (bigger than the limit, no room without evicting what this
   * process used, or the write failed: the cache is an optimization, a failed write is a
   * skipped one). Never rejects. The entry is written to a temporary file before this returns
   * (the caller may reuse the tar's buffer then), synchronously: a caller that goes on to hold
   * its thread (a worker minimizing the kernel) would otherwise hold the write back too; it is
   * renamed into place, after making room, in the background.
   */
  async put(identity: string, tar: Uint8Array): Promise<boolean> {
    checkIdentity(identity);
    const size = HEADER + tar.length;
    if (this.full || size > this.maxBytes) return false;
    const tmp = this.writeTemp(identity, tar); // before the first await: before put() returns
    if (!tmp) return false;
    const run = this.queue.then(() => this.store(identity, tmp, size)).catch(async () => {
      await unlink(tmp).catch(() => undefined);
      return false;
    });
    this.queue = run;
    return run;
  }

  /** Writes the entry (header, then the tar) to a new temporary file of the cache: its path, or undefined. */
  private writeTemp(identity: string, tar: Uint8Array): string | undefined {
    const file = this.file(identity);
    const tmp = `${file}${TMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
    let fd: number | undefined;
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      fd = openSync(tmp, 'wx', 0o644);
      writeAll(fd, entryHeader(identity, tar), 0);
      writeAll(fd, tar, HEADER);
      closeSync(fd);
      return tmp;
    } catch {
      if (fd !== undefined) closeQuietly(fd);
      removeQuietly(tmp);
      return undefined;
    }
  }

  /** Resolves when every put so far has finished. */
  async flush(): Promise<void> {
    await this.queue;
  }

  /** Makes room for the entry written to `tmp` (`size` bytes) and renames it into place. */
  private async store(identity: string, tmp: string, size: number): Promise<boolean> {
    const skip = async (stored: boolean): Promise<boolean> => {
      await unlink(tmp).catch(() => undefined);
      return stored;
    };
    if (this.full) return skip(false);
    let fresh = false;
    if (!this.index || this.sinceScan + size > this.slack) {
      await this.scan();
      fresh = true;
    }
    const prev = this.index!.get(identity);
    if (prev) {
      // stored since (by another pack, or an earlier put): nothing to do when it is whole
      const st = await stat(this.file(identity)).catch(() => undefined);
      if (st?.isFile() && st.size === size) {
        this.used.add(identity);
        return skip(true);
      }
      this.total -= prev.size;
      this.index!.delete(identity);
    }
    if (this.total + size > this.maxBytes) {
      if (!fresh) await this.scan(); // other packs may have filled or emptied it meanwhile
      if (this.total + size > this.maxBytes && !(await this.evict(size))) {
        this.full = true;
        return skip(false);
      }
    }
    await rename(tmp, this.file(identity));
    this.index!.set(identity, { size, usedAt: Date.now() });
    this.total += size;
    this.sinceScan += size;
    this.used.add(identity);
    return true;
  }

  /** Removes least recently used entries not used since `since` until `need` more bytes fit. */
  private async evict(need: number): Promise<boolean> {
    const target = Math.min(this.maxBytes - need, Math.floor(this.maxBytes * LOW_WATER));
    const victims = [...this.index!.entries()]
      .filter(([id, e]) => !this.used.has(id) && e.usedAt < this.since)
      .sort((a, b) => a[1].usedAt - b[1].usedAt);
    let freeable = 0;
    for (const [, e] of victims) freeable += e.size;
    if (this.total - freeable + need > this.maxBytes) return false;
    for (const [id, e] of victims) {
      if (this.total <= target) break;
      await unlink(this.file(id)).catch(() => undefined);
      this.index!.delete(id);
      this.total -= e.size;
    }
    return this.total + need <= this.maxBytes;
  }

  /** Reads the directory into the index; removes temporary files left by dead processes. */
  private async scan(): Promise<void> {
    const index = new Map<string, Indexed>();
    let total = 0;
    await walkEntries(this.root, async (name, file) => {
      if (name.includes(TMP_MARK)) {
        await removeIfLeftover(name, file);
        return;
      }
      if (!name.endsWith(ENTRY_EXT)) return;
      const id = name.slice(0, -ENTRY_EXT.length);
      if (!IDENTITY.test(id)) return;
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) return;
      index.set(id, { size: st.size, usedAt: st.mtimeMs });
      total += st.size;
    });
    this.index = index;
    this.total = total;
    this.sinceScan = 0;
  }
}

/**
 * Removes the temporary entries this process (`pid`) is writing in the kernel cache in `dir`:
 * for a run whose threads were stopped in the middle of a store (an abort).
 */
export async function removeTempsOf(dir: string, pid: number = process.pid): Promise<void> {
  const mark = `${ENTRY_EXT}${TMP_MARK}${pid}-`;
  await walkEntries(path.join(dir, KERNEL_CACHE_LAYOUT), async (name, file) => {
    if (name.includes(mark)) await unlink(file).catch(() => undefined);
  });
}

/** What `dir` holds (nothing is changed). */
export async function kernelCacheStats(dir: string): Promise<KernelCacheStats> {
  const s: KernelCacheStats = { dir, entries: 0, bytes: 0, temps: 0 };
  await walkEntries(path.join(dir, KERNEL_CACHE_LAYOUT), async (name, file) => {
    if (name.includes(TMP_MARK)) s.temps++;
    else if (name.endsWith(ENTRY_EXT)) {
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) return;
      s.entries++;
      s.bytes += st.size;
    }
  });
  return s;
}

/**
 * Removes every entry of the kernel cache in `dir` (its `v1/` layout directory; `dir` itself
 * and anything else in it stay). Returns what was there.
 */
export async function clearKernelCache(dir: string): Promise<KernelCacheStats> {
  const before = await kernelCacheStats(dir);
  await rm(path.join(dir, KERNEL_CACHE_LAYOUT), { recursive: true, force: true });
  return before;
}

function checkIdentity(identity: string): void {
  if (!IDENTITY.test(identity)) throw new TypeError(`kernel cache: identity must be a sha256 in hex, got '${identity}'`);
}

async function walkEntries(root: string, visit: (name: string, file: string) => Promise<void>): Promise<void> {
  const shards = await readdir(root).catch(() => [] as string[]);
  for (const shard of shards.sort()) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    const dir = path.join(root, shard);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.sort()) await visit(name, path.join(dir, name));
  }
}

/** Removes a temporary entry whose writer is gone (or that is too old to be in progress). */
async function removeIfLeftover(name: string, file: string): Promise<void> {
  const pid = Number(/\.tmp-(\d+)-/.exec(name)?.[1]);
  const st = await stat(file).catch(() => undefined);
  if (!st) return;
  const stale = Date.now() - st.mtimeMs > STALE_TMP_MS;
  if (stale || (pid !== process.pid && !pidAlive(pid))) await unlink(file).catch(() => undefined);
}

/** Writes all of `data` at `position` of file `fd`, WRITE_CHUNK bytes per call at most. */
function writeAll(fd: number, data: Uint8Array, position: number): void {
  let n = 0;
  while (n < data.length) n += writeSync(fd, data, n, Math.min(WRITE_CHUNK, data.length - n), position + n);
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // never made
  }
}

// Entry: header (64 bytes, little-endian), then the tar.
//   0  magic "btfgkc1\n"        8  codec (u8), 3 bytes zero
//  12  CRC-32 of the tar       16  tar length (u64)     24  stored length (u64)
//  32  identity (32 bytes, the sha256)
function entryHeader(identity: string, tar: Uint8Array): Buffer {
  const head = Buffer.alloc(HEADER);
  MAGIC.copy(head, 0);
  head[8] = ENTRY_CODEC; // Tar: stored as it is
  head.writeUInt32LE(crc32(tar), 12);
  head.writeBigUInt64LE(BigInt(tar.length), 16);
  head.writeBigUInt64LE(BigInt(tar.length), 24);
  head.write(identity, 32, 32, 'hex');
  return head;
}

function decodeEntry(data: Buffer, identity: string): Uint8Array | undefined {
  if (data.length < HEADER || !data.subarray(0, 8).equals(MAGIC)) return undefined;
  if (data[8] !== Codec.Tar || data.subarray(32, 64).toString('hex') !== identity) return undefined;
  const tarLen = data.readBigUInt64LE(16);
  const storedLen = data.readBigUInt64LE(24);
  if (BigInt(data.length) !== BigInt(HEADER) + storedLen || tarLen !== storedLen) return undefined;
  const tar = new Uint8Array(data.buffer, data.byteOffset + HEADER, data.length - HEADER);
  if (crc32(tar) !== data.readUInt32LE(12)) return undefined;
  return tar;
}
