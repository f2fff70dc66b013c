// Reading an archive (path, bytes or stream; tar.gz or plain tar) as a stream of tar bytes,
// never decompressed whole: the gzip layer of btfgen_lookup() in native/btf_helpers.c. The
// member for a host is chosen and written by select.ts.
import { createReadStream } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CorruptArchiveError } from './errors.js';

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

/** Most a gzip archive may inflate to: a packed archive of every upstream kernel is far below. */
export const INFLATE_MAX = 1024 * 1024 * 1024;

/** gunzip's output, capped at INFLATE_MAX, with zlib's errors as CorruptArchiveError. */
async function* inflated(gunzip: AsyncIterable<Buffer>): AsyncGenerator<Uint8Array, void, undefined> {
  let total = 0;
  try {
    for await (const chunk of gunzip) {
      total += chunk.length;
      if (total > INFLATE_MAX) throw new CorruptArchiveError('archive inflates to more than 1 GiB: not a BTF archive');
      yield chunk;
    }
  } catch (err) {
    if (isZlibError(err)) throw new CorruptArchiveError(`corrupt or truncated gzip data (${err.message})`);
    throw err;
  }
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
    const decoded = inflated(gunzip);
    let failed = false;
    try {
      for (;;) {
        const r = await decoded.next();
        if (r.done) break;
        yield r.value;
      }
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      try {
        // A consumer that stopped early (the exact key, the end-of-archive marker) still gets
        // an archive checked to the end of its gzip data, so that damage after the member
        // decides alike wherever it lies (the rule btf_helpers.c follows too).
        if (!failed) {
          while (!(await decoded.next()).done);
          // RFC 1952 multi-member: zlib decodes a further member after a trailer and fails on
          // a broken one, but stops quietly at bytes starting with zero: what it did not
          // consume is trailing garbage.
          if (gunzip.bytesWritten < fed) throw new CorruptArchiveError('corrupt gzip data: trailing garbage after gzip data');
        }
      } finally {
        gunzip.destroy();
        input.destroy();
      }
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
