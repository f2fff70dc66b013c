// The output archive: member names for each layout, and the deterministic tar / tar.gz writer
// (sorted members, fixed mtime/owner/mode, gzip without a timestamp or file name), written to a
// temporary file next to the destination and renamed into place.
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Gzip } from 'fflate';
import type { KernelEntry } from '../archive/index.js';
import { compareBytes } from '../archive/index.js';
import { fileError, tempPathFor } from '../fsutil.js';
import { VERSION } from '../version.js';
import type { OutputCache } from './cache.js';
import type { Item } from './results.js';
import { checkUstarName, TarStreamWriter } from './tar-write.js';

export type Layout = 'btfhub' | 'bcc';
export type OutputFormat = 'tar.gz' | 'tar';

/** `./btfhub-archive/<ID>/<VERSION>/<arch>/<release>.btf` (btfhub) or without `btfhub-archive/` (bcc). */
export function memberName(layout: Layout, k: Pick<KernelEntry, 'id' | 'version' | 'arch' | 'release'>): string {
  const rel = `${k.id}/${k.version}/${k.arch}/${k.release}.btf`;
  return layout === 'bcc' ? `./${rel}` : `./btfhub-archive/${rel}`;
}

export const PACKAGE_JSON_MEMBER = './package.json';

/** Bytewise member order (what `tar --sort=name` does in the C locale). */
export function sortByName<T extends { name: string }>(items: T[]): T[] {
  return items.sort((a, b) => compareBytes(a.name, b.name));
}

/**
 * Every kernel with its member name, in member order. A name tar cannot hold fails here
 * (checkUstarName), before any work; one longer than 99 bytes gets a warning.
 */
export function memberItems(kernels: readonly KernelEntry[], layout: Layout): { items: Item[]; warnings: string[] } {
  const items: Item[] = sortByName(kernels.map((entry) => ({ entry, name: memberName(layout, entry) })));
  for (const it of items) checkUstarName(it.name);
  const longNames = items.filter((it) => Buffer.byteLength(it.name) > 99).length;
  const warnings = longNames
    ? [`${longNames} member name(s) are longer than 99 bytes: stored with a ustar prefix, which readers that only look at the 100-byte name field (bcc's btf_helpers.c) do not find`]
    : [];
  return { items, warnings };
}

/** Seconds for member mtimes: SOURCE_DATE_EPOCH when set to an integer, else 0. */
export function fixedMtime(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const v = env.SOURCE_DATE_EPOCH?.trim();
  if (v && /^\d{1,11}$/.test(v)) return Number(v);
  return 0;
}

/** Temp files being written by this process, removed on exit should it end mid-write. */
const liveTemps = new Set<string>();
let exitHook = false;
function trackTemp(file: string): void {
  liveTemps.add(file);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const f of liveTemps) {
      try {
        rmSync(f, { force: true });
      } catch {
        // nothing more to do at exit
      }
    }
  });
}

export interface ArchiveMember {
  name: string;
  /** Loads the member's bytes when its turn comes (members are streamed, not held). */
  load: () => Promise<Uint8Array>;
}

export interface WriteArchiveOptions {
  format: OutputFormat;
  mtime: number;
  /** gzip level 0-9 (default 9). */
  level?: number;
  signal?: AbortSignal;
}

const BLOCK = 1 << 18;

/** Buffered sequential writer over a file handle. */
class FileSink {
  private chunks: Uint8Array[] = [];
  private pending = 0;
  written = 0;
  constructor(private readonly fh: FileHandle) {}
  push(c: Uint8Array): void {
    this.chunks.push(c);
    this.pending += c.length;
  }
  async flushIfLarge(): Promise<void> {
    if (this.pending >= 1 << 20) await this.flush();
  }
  async flush(): Promise<void> {
    if (!this.pending) return;
    const buf = Buffer.concat(this.chunks, this.pending);
    this.chunks = [];
    this.pending = 0;
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, off, buf.length - off);
      off += bytesWritten;
    }
    this.written += buf.length;
  }
}

/**
 * Writes `members` (already sorted) as a tar or tar.gz to a temp file next to `output` and
 * renames it into place. Nothing is left at `output` or beside it when this throws.
 * Returns the size of the output file.
 */
export async function writeArchive(output: string, members: readonly ArchiveMember[], options: WriteArchiveOptions): Promise<number> {
  const tmp = tempPathFor(output);
  trackTemp(tmp);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx', 0o644);
    const sink = new FileSink(fh);
    let gz: Gzip | undefined;
    if (options.format === 'tar.gz') {
      // fflate: pure JS, so the bytes do not depend on the zlib build or the CPU's SIMD features.
      gz = new Gzip({ level: (options.level ?? 9) as 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9, mtime: 0 });
      gz.ondata = (chunk) => sink.push(chunk);
    }
    // The tar writer hands out small chunks (512-byte headers, padding); fflate's streaming
    // deflate pays per push, so they are gathered into blocks of BLOCK bytes first.
    let block = new Uint8Array(BLOCK);
    let fill = 0;
    const pushBlock = (final: boolean): void => {
      if (gz) gz.push(block.subarray(0, fill), final);
      else if (fill) sink.push(block.slice(0, fill));
      block = new Uint8Array(BLOCK);
      fill = 0;
    };
    const tar = new TarStreamWriter(
      async (chunk) => {
        for (let off = 0; off < chunk.length; ) {
          const n = Math.min(BLOCK - fill, chunk.length - off);
          block.set(chunk.subarray(off, off + n), fill);
          fill += n;
          off += n;
          if (fill === BLOCK) pushBlock(false);
        }
        await sink.flushIfLarge();
      },
      { mtime: options.mtime },
    );
    for (const m of members) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
      await tar.addFile(m.name, await m.load());
    }
    await tar.finish();
    pushBlock(true);
    await sink.flush();
    await fh.sync().catch(() => undefined);
    await fh.close();
    fh = undefined;
    await rename(tmp, output);
    liveTemps.delete(tmp);
    return sink.written;
  } catch (err) {
    if (fh) await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    liveTemps.delete(tmp);
    throw fileError(err, 'write', output, [tmp]); // write(2) errors name no file
  }
}

/** Copies a finished file into place atomically (temp + rename), e.g. from the output cache. */
export async function placeAtomically(output: string, fill: (tmp: string) => Promise<boolean>): Promise<boolean> {
  const tmp = tempPathFor(output);
  trackTemp(tmp);
  try {
    if (!(await fill(tmp))) {
      await rm(tmp, { force: true });
      return false;
    }
    await rename(tmp, output);
    return true;
  } catch (err) {
    await rm(tmp, { force: true });
    throw fileError(err, 'write', output, [tmp]);
  } finally {
    liveTemps.delete(tmp);
  }
}

/**
 * The output of a pack: the sorted members (and ./package.json) as a tar(.gz), copied from the
 * output cache when the very same archive was made before (keyed by a manifest of every member
 * name and result key, the format, level and mtime), else written and stored there.
 */
export async function writePackOutput(o: {
  output: string;
  members: (ArchiveMember & { key: string })[];
  json: Uint8Array | undefined;
  format: OutputFormat;
  level: number;
  env: Readonly<Record<string, string | undefined>>;
  outputCache: OutputCache | undefined;
  signal?: AbortSignal;
}): Promise<{ size: number; cached: boolean }> {
  const mtime = fixedMtime(o.env);
  const ext = o.format === 'tar.gz' ? 'tar.gz' : 'tar';
  const members: (ArchiveMember & { key: string })[] = [...o.members];
  if (o.json) {
    const j = o.json;
    members.push({ name: PACKAGE_JSON_MEMBER, key: createHash('sha256').update(j).digest('hex'), load: async () => j });
  }
  sortByName(members);
  const manifest = createHash('sha256');
  manifest.update(`btfgen-pack-output\0${VERSION}\0${o.format}\0${o.level}\0${mtime}\0`);
  for (const m of members) manifest.update(`${m.name}\0${m.key}\0`);
  const key = manifest.digest('hex');
  const cache = o.outputCache;
  if (cache && (await placeAtomically(o.output, (tmp) => cache.copyTo(key, ext, tmp)))) {
    return { size: Number((await stat(o.output)).size), cached: true };
  }
  const size = await writeArchive(o.output, members, { format: o.format, mtime, level: o.level, ...(o.signal ? { signal: o.signal } : {}) });
  if (cache) await cache.store(key, ext, o.output).catch(() => undefined);
  return { size, cached: false };
}
