// The .xz container as btfhub archives use it (`<release>.btf.tar.xz`): the magic, the size its
// index declares, and the cap on what a kernel's BTF may expand to. A leaf module: pack,
// minimize's input reader and the runtime-free CLI paths share it.
import { ArchiveError } from '../errors.js';

/**
 * Largest kernel BTF a member may expand to. Real kernels are below 100 MiB (the
 * non-deduplicated ones included); anything larger is a decompression bomb.
 */
export const KERNEL_BTF_MAX = 128 * 1024 * 1024;

/** Room for the tar headers and padding around a member of KERNEL_BTF_MAX bytes. */
export const TAR_SLACK = 1024 * 1024;

/** The error for a member over `max` bytes (`member`: its name, or the file's). */
export function bombError(member: string, label?: string, max: number = KERNEL_BTF_MAX): ArchiveError {
  const cap = max % (1 << 20) === 0 ? `${max / (1 << 20)} MiB` : `${max} bytes`;
  const what = `BTF member ${member} expands beyond ${cap}: not a kernel BTF`;
  return new ArchiveError(label !== undefined ? `${label}: ${what}` : what);
}

/** The member a btfhub `<release>.btf.tar.xz` holds, from the file's path or label. */
export function expectedMember(file: string): string {
  const base = file.slice(file.lastIndexOf('/') + 1);
  return base.endsWith('.tar.xz') ? base.slice(0, -'.tar.xz'.length) : base;
}

/** True for the magic of an .xz stream. */
export function isXz(bytes: Uint8Array): boolean {
  return bytes.length >= 6 && bytes[0] === 0xfd && bytes[1] === 0x37 && bytes[2] === 0x7a && bytes[3] === 0x58 && bytes[4] === 0x5a && bytes[5] === 0;
}

function readVarint(b: Uint8Array, pos: { i: number }): number {
  let v = 0;
  let mul = 1;
  for (let n = 0; n < 9; n++) {
    if (pos.i >= b.length) return -1;
    const x = b[pos.i++]!;
    v += (x & 0x7f) * mul;
    if (!(x & 0x80)) return v;
    mul *= 128;
  }
  return -1;
}

/**
 * The uncompressed size recorded in an .xz file's index (last stream only), from the file's
 * tail (its last 1 KiB suffice for single-block files); undefined when it cannot be read.
 * An index can lie: it is a hint and an early refusal, and the decoders cap their output too.
 */
export function xzUncompressedSize(tail: Uint8Array): number | undefined {
  const n = tail.length;
  if (n < 12 + 8 || tail[n - 2] !== 0x59 || tail[n - 1] !== 0x5a) return undefined; // "YZ"
  const dv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  const indexSize = (dv.getUint32(n - 8, true) + 1) * 4;
  const start = n - 12 - indexSize;
  if (start < 0) return undefined;
  const idx = tail.subarray(start, n - 12);
  if (idx[0] !== 0) return undefined;
  const pos = { i: 1 };
  const records = readVarint(idx, pos);
  if (records < 0 || records > 100_000) return undefined;
  let total = 0;
  for (let r = 0; r < records; r++) {
    const unpadded = readVarint(idx, pos);
    const size = readVarint(idx, pos);
    if (unpadded < 0 || size < 0) return undefined;
    total += size;
  }
  return total;
}

/** Bytes of the check field for each check type of the stream flags (xz file format, 2.1.1.2). */
function checkSize(type: number): number {
  return type === 0 ? 0 : 4 << Math.floor((type - 1) / 3);
}

const LZMA2 = 0x21;

/**
 * What an .xz file decodes to, in bytes, counted from the size of every LZMA2 chunk of every
 * block (xz file format 3.1, LZMA2 chunk headers) without decoding anything: a decoder must
 * produce exactly those bytes, so unlike the index (xzUncompressedSize) the count cannot lie.
 * Stops counting past `stopAbove`. Undefined when the blocks are not well formed: such a file
 * is refused before decoding (a decoder would fail on it, after producing what it could).
 */
export function xzDecodedSize(file: Uint8Array, stopAbove: number = Number.MAX_SAFE_INTEGER): number | undefined {
  let total = 0;
  let pos = 0;
  do {
    // a stream: header (magic, flags, CRC32), blocks, index, footer; then zero padding
    if (!isXz(file.subarray(pos)) || pos + 12 > file.length) return undefined;
    const streamStart = pos;
    const check = checkSize(file[pos + 7]! & 0x0f);
    pos += 12;
    for (;;) {
      if (pos >= file.length) return undefined;
      if (file[pos] === 0) break; // the index indicator: no more blocks
      const headerSize = (file[pos]! + 1) * 4;
      if (pos + headerSize > file.length) return undefined;
      const at = { i: pos + 2 };
      const flags = file[pos + 1]!;
      if (flags & 0x3c) return undefined;
      if (flags & 0x40 && readVarint(file, at) < 0) return undefined; // compressed size
      if (flags & 0x80 && readVarint(file, at) < 0) return undefined; // uncompressed size
      let last = -1;
      for (let f = 0; f <= (flags & 3); f++) {
        last = readVarint(file, at);
        const props = readVarint(file, at);
        if (last < 0 || props < 0) return undefined;
        at.i += props;
      }
      if (last !== LZMA2 || at.i > pos + headerSize - 4) return undefined;
      let q = pos + headerSize;
      for (;;) {
        if (q >= file.length) return undefined;
        const c = file[q]!;
        if (c === 0) {
          q++;
          break;
        }
        if (q + 3 > file.length) return undefined;
        if (c === 1 || c === 2) {
          // an uncompressed chunk
          const size = ((file[q + 1]! << 8) | file[q + 2]!) + 1;
          total += size;
          q += 3 + size;
        } else if (c >= 0x80) {
          if (q + 5 > file.length) return undefined;
          total += (((c & 0x1f) << 16) | (file[q + 1]! << 8) | file[q + 2]!) + 1;
          q += 5 + (c >= 0xc0 ? 1 : 0) + ((file[q + 3]! << 8) | file[q + 4]!) + 1;
        } else return undefined;
        if (total > stopAbove) return total;
      }
      // block padding to four bytes, then the check
      q += (4 - ((q - streamStart) % 4)) % 4;
      pos = q + check;
    }
    // the index: indicator, records (unpadded, uncompressed sizes), padding, CRC32; the footer
    const at = { i: pos + 1 };
    const records = readVarint(file, at);
    if (records < 0) return undefined;
    for (let r = 0; r < records; r++) if (readVarint(file, at) < 0 || readVarint(file, at) < 0) return undefined;
    at.i += (4 - ((at.i - pos) % 4)) % 4;
    pos = at.i + 4 + 12;
    if (pos > file.length) return undefined;
    while (pos + 4 <= file.length && file[pos] === 0 && file[pos + 1] === 0 && file[pos + 2] === 0 && file[pos + 3] === 0) pos += 4;
  } while (pos < file.length);
  return total;
}
