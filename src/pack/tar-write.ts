// A minimal deterministic ustar writer: what `tar --format=ustar --sort=name --mtime=@0
// --owner=0 --group=0 --numeric-owner --mode=0644` would produce for regular files, and nothing
// else (no directory entries, no PAX/GNU extension headers, no device numbers, no owner names).
//
// Readers of the output (bcc's btf_helpers.c, bpf-compatible-rs, eunomia's ecli, our runtime)
// look up file members by path; none needs directory entries, and bcc-style readers read only
// the 100-byte `name` field. Names that do not fit it are split into ustar `prefix`/`name`
// (standard ustar, understood by every tar), and reported by `ustarNameSplits()` so that the
// caller can warn; names that cannot be split are rejected.
import { ArchiveError } from '../errors.js';

export { BLOCK } from '../tar/header.js';
import { BLOCK } from '../tar/header.js';
/** GNU tar's default record size (blocking factor 20): archives are padded to a multiple of it. */
export const RECORD = 10240;

export interface TarFileEntry {
  /** Member path as stored, e.g. `./btfhub-archive/ubuntu/20.04/x86_64/5.4.0-26-generic.btf`. */
  name: string;
  data: Uint8Array;
}

export interface TarHeaderOptions {
  /** Seconds since the epoch (default 0). */
  mtime?: number;
  /** Permission bits (default 0o644). */
  mode?: number;
}

const enc = new TextEncoder();

/** Where `name` goes in a ustar header: `name` alone (<= 100 bytes) or split into prefix + name. */
export interface UstarName {
  name: Uint8Array;
  prefix: Uint8Array;
}

/**
 * Splits a member path into ustar `prefix` (<= 155 bytes) and `name` (<= 100 bytes) at a `/`.
 * Returns undefined when it cannot be stored in a plain ustar header.
 */
export function splitUstarName(path: string): UstarName | undefined {
  const bytes = enc.encode(path);
  if (bytes.includes(0)) return undefined;
  if (bytes.length <= 100) return { name: bytes, prefix: new Uint8Array(0) };
  // Longest name part that fits, i.e. the first slash after which at most 100 bytes remain.
  for (let i = Math.max(0, bytes.length - 101); i < bytes.length && i <= 155; i++) {
    if (bytes[i] !== 0x2f) continue;
    const prefix = bytes.subarray(0, i);
    const name = bytes.subarray(i + 1);
    if (prefix.length <= 155 && name.length >= 1 && name.length <= 100) return { name, prefix };
  }
  return undefined;
}

/** Throws ArchiveError when `path` cannot be a ustar member name. */
export function checkUstarName(path: string): UstarName {
  const split = splitUstarName(path);
  if (!split) {
    throw new ArchiveError(
      `member name '${path}' (${enc.encode(path).length} bytes) does not fit a ustar header ` +
        '(at most 100 bytes, or a 155-byte directory prefix plus a 100-byte name)',
    );
  }
  return split;
}

function writeOctal(buf: Uint8Array, off: number, len: number, value: number): void {
  // `len - 1` octal digits, zero-padded, then NUL (as GNU tar writes ustar numeric fields).
  const digits = value.toString(8);
  if (digits.length > len - 1) throw new ArchiveError(`tar field overflow: ${value} does not fit ${len - 1} octal digits`);
  const s = digits.padStart(len - 1, '0');
  for (let i = 0; i < s.length; i++) buf[off + i] = s.charCodeAt(i);
  buf[off + len - 1] = 0;
}

/** One 512-byte ustar header for a regular file of `size` bytes. */
export function ustarHeader(path: string, size: number, options: TarHeaderOptions = {}): Uint8Array {
  const { name, prefix } = checkUstarName(path);
  const h = new Uint8Array(BLOCK);
  h.set(name, 0);
  writeOctal(h, 100, 8, options.mode ?? 0o644);
  writeOctal(h, 108, 8, 0); // uid
  writeOctal(h, 116, 8, 0); // gid
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, options.mtime ?? 0);
  h[156] = 0x30; // typeflag '0': regular file
  h.set(enc.encode('ustar\u0000'), 257);
  h.set(enc.encode('00'), 263);
  // uname/gname stay empty (numeric owner), devmajor/devminor stay zero.
  h.set(prefix, 345);
  // Checksum: sum of all bytes with the checksum field read as 8 spaces; 6 octal digits, NUL, space.
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  const cs = sum.toString(8).padStart(6, '0');
  for (let i = 0; i < 6; i++) h[148 + i] = cs.charCodeAt(i);
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

/** Zero bytes that pad `size` to a whole number of blocks. */
export function blockPadding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The end-of-archive marker (two zero blocks) plus padding to a whole record, given the bytes written so far. */
export function trailerLength(written: number): number {
  const end = written + 2 * BLOCK;
  return 2 * BLOCK + ((RECORD - (end % RECORD)) % RECORD);
}

/**
 * Serializes complete entries to one tar image (for tests and small archives). The caller
 * decides the order; pack sorts members bytewise before writing.
 */
export function buildTar(entries: readonly TarFileEntry[], options: TarHeaderOptions = {}): Uint8Array {
  let total = 0;
  for (const e of entries) total += BLOCK + e.data.length + blockPadding(e.data.length);
  total += trailerLength(total);
  const out = new Uint8Array(total);
  let off = 0;
  for (const e of entries) {
    out.set(ustarHeader(e.name, e.data.length, options), off);
    off += BLOCK;
    out.set(e.data, off);
    off += e.data.length + blockPadding(e.data.length);
  }
  return out;
}

/** Incremental writer: feeds header/data/padding chunks to `sink` in order. */
export class TarStreamWriter {
  private written = 0;
  constructor(
    private readonly sink: (chunk: Uint8Array) => void | Promise<void>,
    private readonly options: TarHeaderOptions = {},
  ) {}

  /** Bytes of tar image written so far. */
  get size(): number {
    return this.written;
  }

  async addFile(name: string, data: Uint8Array): Promise<void> {
    const header = ustarHeader(name, data.length, this.options);
    const pad = blockPadding(data.length);
    await this.sink(header);
    if (data.length) await this.sink(data);
    if (pad) await this.sink(new Uint8Array(pad));
    this.written += BLOCK + data.length + pad;
  }

  async finish(): Promise<void> {
    const n = trailerLength(this.written);
    await this.sink(new Uint8Array(n));
    this.written += n;
  }
}
