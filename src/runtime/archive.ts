// Reading an archive (path, bytes or stream; tar.gz or plain tar) as a stream of tar bytes, and
// streaming the best-ranked member for a host into a fresh 0600 file. Nothing is decompressed
// whole and nothing but that one file is ever written. Mirrors btfgen_lookup() in
// native/btf_helpers.c.
import { constants as fsConstants, createReadStream } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir as osTmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CorruptArchiveError, NoMatchingBtfError } from './errors.js';
import { candidateKeys, memberKey, nearestKernels, type HostIdentity } from './lookup.js';
import { TarReader } from './tar.js';

/** An archive: a file path (or file: URL), its bytes, or a stream / async iterable of bytes. */
export type ArchiveSource = string | URL | Uint8Array | AsyncIterable<Uint8Array>;

const READ_CHUNK = 64 * 1024;

/**
 * Largest member written out: a kernel's BTF is below 100 MiB, so anything larger is a bomb
 * (the same cap as btf_helpers.c and pack's reader).
 */
export const MEMBER_MAX = 128 * 1024 * 1024;

function rawChunks(source: ArchiveSource): AsyncIterable<Uint8Array> {
  if (typeof source === 'string' || source instanceof URL) {
    return createReadStream(source, { highWaterMark: READ_CHUNK });
  }
  if (source instanceof Uint8Array) {
    return (async function* () {
      yield source;
    })();
  }
  return source;
}

function isZlibError(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/** The archive's tar bytes: gunzipped (streaming) when it starts with the gzip magic. */
export async function* tarBytes(source: ArchiveSource): AsyncGenerator<Uint8Array, void, undefined> {
  const it = rawChunks(source)[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headLength = 0;
  let exhausted = false;
  let fed = 0;
  const rest = async function* (): AsyncGenerator<Uint8Array, void, undefined> {
    for (const h of head) {
      fed += h.length;
      yield h;
    }
    while (!exhausted) {
      const r = await it.next();
      if (r.done) exhausted = true;
      else {
        fed += r.value.length;
        yield r.value;
      }
    }
  };
  try {
    while (headLength < 2 && !exhausted) {
      const r = await it.next();
      if (r.done) exhausted = true;
      else if (r.value.length > 0) {
        head.push(r.value);
        headLength += r.value.length;
      }
    }
    const b0 = head[0]?.[0];
    const b1 = head[0] && head[0].length > 1 ? head[0][1] : head[1]?.[0];
    if (!(b0 === 0x1f && b1 === 0x8b)) {
      yield* rest();
      return;
    }
    const gunzip = createGunzip({ chunkSize: READ_CHUNK });
    const input = Readable.from(rest(), { objectMode: false });
    // Errors of either side surface through the iteration of gunzip below.
    pipeline(input, gunzip, () => {});
    try {
      for await (const chunk of gunzip) yield chunk as Buffer;
    } catch (err) {
      if (isZlibError(err)) throw new CorruptArchiveError(`corrupt or truncated gzip data (${err.message})`);
      throw err;
    }
    // RFC 1952 multi-member: zlib decodes a further member after a trailer and fails on a
    // broken one, but stops quietly at bytes starting with zero: what it did not consume is
    // trailing garbage (the rule btf_helpers.c follows too).
    try {
      if (gunzip.bytesWritten < fed) throw new CorruptArchiveError('corrupt gzip data: trailing garbage after gzip data');
    } finally {
      gunzip.destroy();
      input.destroy();
    }
  } finally {
    await it.return?.();
  }
}

/** Where the member goes: a fresh file under a directory, or a given path. */
export interface OutputTarget {
  /** Directory for a fresh `btfgen-<random>.btf` (default `os.tmpdir()`, which honours TMPDIR). */
  tmpdir?: string;
  /** Write here instead (created or truncated, mode 0600 when created, symlinks not followed). */
  extractTo?: string;
}

/** 16 hex digits. WebCrypto's global (no node:crypto import: it is only paid for when used). */
function randomName(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

class OutputFile {
  path: string | undefined;
  private fh: FileHandle | undefined;
  private position = 0;

  constructor(private readonly target: OutputTarget) {}

  /** Opens the file on first use; later calls empty it for a better-ranked member. */
  async begin(): Promise<void> {
    this.position = 0;
    if (this.fh) {
      await this.fh.truncate(0);
      return;
    }
    const { O_WRONLY, O_CREAT, O_EXCL, O_TRUNC, O_NOFOLLOW } = fsConstants;
    if (this.target.extractTo !== undefined) {
      this.fh = await open(this.target.extractTo, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o600);
      this.path = this.target.extractTo;
      return;
    }
    const dir = this.target.tmpdir ?? osTmpdir();
    for (let attempt = 0; ; attempt++) {
      const path = join(dir, `btfgen-${randomName()}.btf`);
      try {
        this.fh = await open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600);
        this.path = path;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 16) throw err;
      }
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesWritten } = await this.fh!.write(bytes, offset, bytes.length - offset, this.position);
      offset += bytesWritten;
      this.position += bytesWritten;
    }
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }

  /** Closes and removes whatever was written (on errors). */
  async discard(): Promise<void> {
    await this.close().catch(() => {});
    if (this.path !== undefined) await unlink(this.path).catch(() => {});
    this.path = undefined;
  }
}

export interface ExtractedMember {
  /** The file holding the member. */
  path: string;
  /** The member's key, `<ID>/<VERSION_ID>/<arch>/<release>.btf`. */
  key: string;
}

/**
 * Streams the archive once and writes the best member for `host` (see candidateKeys) to a
 * fresh 0600 file. Stops at the exact key (an archive given as bytes is still checked to its
 * end: gzip data after it must be valid); a better-ranked member found later replaces a
 * worse one in the same file; the first of equal members wins. Only regular files count:
 * links, devices, directories, absolute names and names with `..` are ignored, never written.
 * Throws NoMatchingBtfError (keys tried, nearest kernels) or CorruptArchiveError; on any
 * error nothing is left behind.
 */
export async function extractMember(
  source: ArchiveSource,
  host: HostIdentity,
  target: OutputTarget = {},
): Promise<ExtractedMember> {
  const candidates = candidateKeys(host).map((c) => c.key);
  const out = new OutputFile(target);
  const reader = new TarReader();
  const seen: string[] = [];
  let best = candidates.length;
  let bestKey = '';
  let current = -1;
  let currentKey = '';
  let done = false;
  try {
    // After the end-of-archive marker the rest is still read: gzip data damaged after it
    // (trailing garbage, a broken further member) makes the archive invalid. At the exact key
    // reading stops for a file or a stream (the rest unread); an archive given as bytes is
    // all there, and is checked to its end too (as btf_helpers.c, given the bytes, does).
    const whole = source instanceof Uint8Array;
    read: for await (const chunk of tarBytes(source)) {
      if (done) continue;
      for (const ev of reader.push(chunk)) {
        if (ev.kind === 'entry') {
          const key = ev.entry.type === 'file' ? memberKey(ev.entry.name) : undefined;
          if (key === undefined) continue;
          if (ev.entry.size > MEMBER_MAX) {
            throw new CorruptArchiveError(`BTF member ${ev.entry.name} expands beyond ${MEMBER_MAX >> 20} MiB: not a kernel BTF`);
          }
          seen.push(key);
          const rank = candidates.indexOf(key);
          if (rank >= 0 && rank < best) {
            await out.begin();
            current = rank;
            currentKey = key;
          }
        } else if (ev.kind === 'data') {
          if (current >= 0) await out.write(ev.bytes);
        } else if (ev.kind === 'entry-end') {
          if (current >= 0) {
            best = current;
            bestKey = currentKey;
            current = -1;
            if (best === 0) {
              done = true; // the exact key: nothing can beat it
              if (whole) break;
              break read;
            }
          }
        } else {
          done = true; // end-of-archive marker
          break;
        }
      }
    }
    if (!done) reader.finish();
    if (best === candidates.length) {
      throw new NoMatchingBtfError(host, candidates, nearestKernels(host, seen), seen.length);
    }
    await out.close();
    return { path: out.path!, key: bestKey };
  } catch (err) {
    await out.discard();
    throw err;
  }
}
