// The incremental pack cache, under `$BTFHUB_CACHE/pack-cache/` by default:
//
//   v1/results/<k[0..2]>/<k>.btf   minimized BTF of one kernel for one object set
//   v1/results/<k[0..2]>/<k>.err   the (deterministic) error it failed with
//   v1/outputs/<m>.<tar|tar.gz>    a complete output, keyed by everything that went into it
//   v1/stat-index.json             kernel path -> (dev, ino, size, mtime, ctime) -> sha256
//
// k = sha256(btfgen VERSION, header length, engine, CO-RE fingerprint of the objects, sha256
// of the kernel file's bytes). m = sha256 of the output's manifest (every member name and its
// k, the --json bytes, layout, format, mtime).
//
// The stat index saves reading and hashing every kernel file on a warm run. It is trusted only
// when device, inode, size, mtime and ctime (nanoseconds) all match, the test git uses for its
// index. ctime cannot be set from user space, so rewriting a file in place is always noticed,
// even when the writer restores mtime; a file whose timestamps were within 2 s of the moment it
// was hashed is not recorded at all (the "racy git" case: a write in the same clock tick).
//
// Every file is written to a temporary name and renamed: readers never see a partial entry,
// and concurrent packs sharing the cache at worst both compute the same entry.
import { createHash } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, type BigIntStats } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, unlink, utimes, writeFile, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { VERSION } from '../version.js';

export const CACHE_LAYOUT = 'v1';
const RACY_MS = 2000n;

export interface StatEntry {
  stat: string;
  sha256: string;
}

/** `dev:ino:size:mtimeNs:ctimeNs` of a bigint stat. */
export function statKey(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** True when the file changed too close to `hashedAtMs` for its stat to be trusted later. */
export function isRacy(st: BigIntStats, hashedAtMs: number): boolean {
  const t = BigInt(Math.floor(hashedAtMs)) * 1_000_000n;
  const margin = RACY_MS * 1_000_000n;
  return st.mtimeNs + margin >= t || st.ctimeNs + margin >= t;
}

/** Key prefix shared by every kernel of one pack: what besides the kernel decides the result. */
export function resultKeyPrefix(fingerprint: string, headerLen: number, engine: string): string {
  return `btfgen-pack-result\0${VERSION}\0hdr${headerLen}\0${engine}\0${fingerprint}\0`;
}

export function resultKey(prefix: string, kernelSha256: string): string {
  return createHash('sha256').update(prefix).update(kernelSha256).digest('hex');
}

/** The directory every cache temp file is written in (same filesystem: rename works). */
export function cacheTempDir(root: string): string {
  return path.join(root, CACHE_LAYOUT, 'tmp');
}

const madeDirs = new Set<string>();
async function ensureDir(dir: string): Promise<void> {
  if (madeDirs.has(dir)) return;
  await mkdir(dir, { recursive: true });
  madeDirs.add(dir);
}

/**
 * Writes `file` through a temp file in `tmpDir` named `<name>.tmp-<pid>-<hex>` and a rename:
 * readers never see a partial file, and a killed writer's leftover is found in one directory
 * (leftovers.ts).
 */
export async function writeAtomic(file: string, data: Uint8Array | string, tmpDir: string): Promise<void> {
  await ensureDir(path.dirname(file));
  await ensureDir(tmpDir);
  const tmp = path.join(tmpDir, `${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Where results live: a persistent cache directory or a throw-away spool (with --no-cache). */
export class ResultStore {
  readonly resultsDir: string;
  constructor(
    readonly root: string,
    /** False for the spool: no failures are stored, nothing survives the run. */
    readonly persistent: boolean,
    /**
     * The run's distinct objects' names, in the order their fingerprints entered the key. A
     * stored failure names its objects by position, so that a later run with the same objects
     * under other paths reads its own names in the message.
     */
    private readonly objectNames: readonly string[] = [],
  ) {
    this.resultsDir = path.join(root, CACHE_LAYOUT, 'results');
  }
  resultPath(key: string): string {
    return path.join(this.resultsDir, key.slice(0, 2), `${key}.btf`);
  }
  errorPath(key: string): string {
    return path.join(this.resultsDir, key.slice(0, 2), `${key}.err`);
  }
  /**
   * 'ok', 'failed' (with the stored message) or undefined when absent. Synchronous, as read():
   * pack's scan looks up every kernel before any work starts, and a promise round trip per
   * lookup cost more than the stat (a fully cached re-pack of 85 kernels waited 13 ms on them).
   */
  lookup(key: string): { status: 'ok'; size: number } | { status: 'failed'; message: string } | undefined {
    const st = quietly(() => statSync(this.resultPath(key), { throwIfNoEntry: false }));
    if (st?.isFile()) return { status: 'ok', size: st.size };
    if (!this.persistent) return undefined;
    const err = quietly(() => readFileSync(this.errorPath(key), 'utf8'));
    if (err !== undefined) {
      try {
        const parsed = JSON.parse(err) as { message?: unknown };
        if (typeof parsed.message === 'string') return { status: 'failed', message: namedObjects(parsed.message, this.objectNames) };
      } catch {
        // a corrupt entry is ignored (and overwritten on the next failure)
      }
    }
    return undefined;
  }
  /** A stored result. Synchronous: the archive writer reads member after member, one small
   * file each, where a promise round trip per file cost more than the read. */
  read(key: string): Uint8Array {
    return new Uint8Array(readFileSync(this.resultPath(key)));
  }
  async write(key: string, data: Uint8Array): Promise<void> {
    await writeAtomic(this.resultPath(key), data, cacheTempDir(this.root));
  }
  async writeFailure(key: string, message: string): Promise<void> {
    if (!this.persistent) return;
    const stored = neutralObjects(message, this.objectNames);
    await writeAtomic(this.errorPath(key), JSON.stringify({ message: stored, version: VERSION }) + '\n', cacheTempDir(this.root));
  }
}

/** NUL cannot occur in a path: `\0<i>\0` stands for the i-th object's name in a stored failure. */
const objectMark = (i: number): string => `\0${i}\0`;

/** `message` with each object name replaced by its position mark (longest names first: one may contain another). */
function neutralObjects(message: string, names: readonly string[]): string {
  const order = names.map((_, i) => i).sort((a, b) => names[b]!.length - names[a]!.length);
  for (const i of order) if (names[i]) message = message.split(names[i]!).join(objectMark(i));
  return message;
}

function namedObjects(message: string, names: readonly string[]): string {
  return message.replace(/\0(\d+)\0/g, (mark, i: string) => names[Number(i)] ?? mark);
}

/** Kernel path -> content hash, trusted while the file's stat is unchanged. */
export class StatIndex {
  private entries = new Map<string, StatEntry>();
  private dirty = false;
  constructor(private readonly file: string) {}

  async load(): Promise<void> {
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as { version?: unknown; entries?: unknown };
      if (parsed.version !== 1 || typeof parsed.entries !== 'object' || parsed.entries === null) return;
      for (const [p, e] of Object.entries(parsed.entries as Record<string, unknown>)) {
        const v = e as Partial<StatEntry>;
        if (typeof v?.stat === 'string' && typeof v.sha256 === 'string' && /^[0-9a-f]{64}$/.test(v.sha256)) {
          this.entries.set(p, { stat: v.stat, sha256: v.sha256 });
        }
      }
    } catch {
      // missing or corrupt: start empty
    }
  }
  /** The recorded hash of `file` when its stat still matches. */
  get(file: string, st: BigIntStats): string | undefined {
    const e = this.entries.get(file);
    return e && e.stat === statKey(st) ? e.sha256 : undefined;
  }
  set(file: string, st: BigIntStats, sha256: string, hashedAtMs: number): void {
    if (isRacy(st, hashedAtMs)) {
      if (this.entries.delete(file)) this.dirty = true;
      return;
    }
    const key = statKey(st);
    const prev = this.entries.get(file);
    if (prev && prev.stat === key && prev.sha256 === sha256) return;
    this.entries.set(file, { stat: key, sha256 });
    this.dirty = true;
  }
  async save(): Promise<void> {
    if (!this.dirty) return;
    // Re-read and merge so that two packs over different archives keep each other's entries.
    const mine = this.entries;
    this.entries = new Map();
    await this.load();
    for (const [k, v] of mine) this.entries.set(k, v);
    const obj: Record<string, StatEntry> = {};
    for (const k of [...this.entries.keys()].sort()) obj[k] = this.entries.get(k)!;
    await writeAtomic(this.file, JSON.stringify({ version: 1, entries: obj }), path.join(path.dirname(this.file), 'tmp'));
    this.dirty = false;
  }
}

/** Complete outputs keyed by their manifest: a warm re-run copies one file. */
export class OutputCache {
  constructor(
    private readonly dir: string,
    private readonly keep = 4,
  ) {}
  private file(manifest: string, ext: string): string {
    return path.join(this.dir, `${manifest}.${ext}`);
  }
  /** Copies the cached output to `dest` when present; true on a hit. */
  async copyTo(manifest: string, ext: string, dest: string): Promise<boolean> {
    const f = this.file(manifest, ext);
    try {
      await copyFile(f, dest);
    } catch {
      return false;
    }
    const now = new Date();
    await utimes(f, now, now).catch(() => undefined);
    return true;
  }
  async store(manifest: string, ext: string, source: string): Promise<void> {
    const f = this.file(manifest, ext);
    await mkdir(this.dir, { recursive: true });
    const tmpDir = path.join(path.dirname(this.dir), 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, `${path.basename(f)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await copyFile(source, tmp);
      await rename(tmp, f);
    } catch {
      await rm(tmp, { force: true });
      return;
    }
    await this.prune();
  }
  /** Keeps the `keep` most recently used outputs. */
  private async prune(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const files: { f: string; t: number }[] = [];
    for (const n of names) {
      if (n.includes('.tmp-')) continue;
      const f = path.join(this.dir, n);
      const st = await stat(f).catch(() => undefined);
      if (st?.isFile()) files.push({ f, t: st.mtimeMs });
    }
    files.sort((a, b) => b.t - a.t);
    for (const { f } of files.slice(this.keep)) await unlink(f).catch(() => undefined);
  }
}

/** The cache directory layout rooted at `root`. */
export function cachePaths(root: string): { stats: string; outputs: string } {
  return {
    stats: path.join(root, CACHE_LAYOUT, 'stat-index.json'),
    outputs: path.join(root, CACHE_LAYOUT, 'outputs'),
  };
}

/** `read()`'s value, or undefined when it throws (a cache lookup's trouble is a miss). */
function quietly<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
