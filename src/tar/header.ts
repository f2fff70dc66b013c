// One tar header codec (ustar, GNU, pax) for every reader: the runtime's streaming reader,
// pack's kernel member reader and minimize's input reader. A leaf on nothing but the
// language: the runtime imports it and must stay light. The rules mirror btf_helpers.c's
// reader, so that both runtimes accept the same archives.

export const BLOCK = 512;
/** Largest GNU longname / pax record block accepted (all readers, and btf_helpers.c). */
export const META_MAX = 1024 * 1024;

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/** A NUL-terminated field, UTF-8 decoded. */
export function cString(b: Uint8Array, start: number, length: number): string {
  const field = b.subarray(start, start + length);
  const nul = field.indexOf(0);
  return utf8.decode(nul < 0 ? field : field.subarray(0, nul));
}

/**
 * A numeric field: octal (leading spaces, NUL/space terminated) or GNU base-256 (first byte
 * 0x80, big-endian); undefined when invalid, negative or above 2^53-1.
 */
export function parseNumber(b: Uint8Array, start: number, length: number): number | undefined {
  const first = b[start]!;
  if (first & 0x80) {
    if (first !== 0x80) return undefined; // negative, or more than 64 bits
    let v = 0;
    for (let i = start + 1; i < start + length; i++) v = v * 256 + b[i]!;
    return Number.isSafeInteger(v) ? v : undefined;
  }
  let i = start;
  const end = start + length;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  for (; i < end && b[i]! >= 0x30 && b[i]! <= 0x37; i++) v = v * 8 + (b[i]! - 0x30);
  if (i < end && b[i] !== 0x20 && b[i] !== 0) return undefined;
  return Number.isSafeInteger(v) ? v : undefined;
}

/** The header checksum, as tar computes it (unsigned, or the historic signed sum). */
export function checksumOk(h: Uint8Array): boolean {
  const want = parseNumber(h, 148, 8);
  if (want === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
}

export function isZeroBlock(h: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

/** A header's own fields (before any pax / GNU longname override). */
export interface RawHeader {
  /** ustar prefix joined to the name. */
  name: string;
  size: number;
  /** The typeflag character ('\0' for old-style regular files). */
  typeflag: string;
}

/** Decodes a header block; undefined for a bad checksum or size field. */
export function decodeHeader(h: Uint8Array): RawHeader | undefined {
  const size = checksumOk(h) ? parseNumber(h, 124, 12) : undefined;
  if (size === undefined) return undefined;
  let name = cString(h, 0, 100);
  if (latin1.decode(h.subarray(257, 263)) === 'ustar\0' && h[345] !== 0) name = `${cString(h, 345, 155)}/${name}`;
  return { name, size, typeflag: String.fromCharCode(h[156]!) };
}

/** True for the "ustar" magic and a valid checksum (a tar archive's first block). */
export function looksLikeTar(b: Uint8Array): boolean {
  return b.length >= BLOCK && latin1.decode(b.subarray(257, 262)) === 'ustar' && checksumOk(b.subarray(0, BLOCK));
}

/** What a pax extended header says about the next entry. */
export interface PaxFields {
  path?: string;
  /** A decimal `size`; NaN when its digits exceed 2^53-1 (the archive is then invalid). */
  size?: number;
  /** A record that is not `<len> <key>=<value>\n` stopped the parse here. */
  malformed: boolean;
}

/**
 * pax records, `<len> <key>=<value>\n`, len counting the whole record. Parsing stops at the
 * first malformed record (as btf_helpers.c does); a value is cut at a NUL (as C strings read it).
 */
export function parsePax(meta: Uint8Array): PaxFields {
  const out: PaxFields = { malformed: false };
  let pos = 0;
  while (pos < meta.length) {
    let i = pos;
    let len = 0;
    while (i < meta.length && meta[i]! >= 0x30 && meta[i]! <= 0x39 && len < META_MAX) len = len * 10 + (meta[i++]! - 0x30);
    if (i >= meta.length || meta[i] !== 0x20 || len <= i - pos + 1 || len > meta.length - pos) {
      if (meta[pos] !== 0) out.malformed = true; // NUL padding ends the records quietly
      return out;
    }
    const record = meta.subarray(i + 1, pos + len - 1);
    if (meta[pos + len - 1] === 0x0a) {
      const eq = record.indexOf(0x3d);
      if (eq > 0) {
        const key = latin1.decode(record.subarray(0, eq));
        let raw = record.subarray(eq + 1);
        const nul = raw.indexOf(0);
        if (nul >= 0) raw = raw.subarray(0, nul);
        const value = utf8.decode(raw);
        if (key === 'path') out.path = value;
        else if (key === 'size' && /^\d+$/.test(value)) out.size = Number.isSafeInteger(Number(value)) ? Number(value) : NaN;
      }
    }
    pos += len;
  }
  return out;
}
