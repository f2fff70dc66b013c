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
