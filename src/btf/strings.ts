// String tables: a reader over raw bytes (btf__str_by_offset) and an interning builder
// (libbpf's strset: "" at offset 0, each string once, first-use order).
import { Buffer } from 'node:buffer';
import { BtfError } from '../errors.js';

/** The index of the first element of ascending `sorted` that is >= `value` (its length when none). */
export function lowerBound(sorted: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Decodes NUL-terminated latin1 strings from a byte range, caching by offset. */
export class StringTable {
  private readonly buf: Buffer;
  private readonly cache = new Map<number, string>();
  constructor(
    bytes: Uint8Array,
    /** Absolute offset of the section in `bytes`. */
    readonly start: number,
    /** Section length in bytes. */
    readonly length: number,
  ) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** True when `off` (relative to this table) is inside the section (libbpf accepts mid-string offsets). */
  has(off: number): boolean {
    return off >>> 0 < this.length;
  }

  /** The string at `off`; the caller guarantees `has(off)`. Bytes are decoded as latin1 (names are bytes). */
  get(off: number): string {
    let s = this.cache.get(off);
    if (s !== undefined) return s;
    const abs = this.start + off;
    let end = this.buf.indexOf(0, abs);
    const limit = this.start + this.length;
    if (end < 0 || end > limit) end = limit;
    s = this.buf.toString('latin1', abs, end);
    this.cache.set(off, s);
    return s;
  }

  /** Raw bytes of the string at `off` without the terminator (no copy). */
  bytes(off: number): Uint8Array {
    const abs = this.start + off;
    let end = this.buf.indexOf(0, abs);
    const limit = this.start + this.length;
    if (end < 0 || end > limit) end = limit;
    return this.buf.subarray(abs, end);
  }
}

/** Interning string-set builder mirroring libbpf's strset: offset 0 is "". */
export class StringSetBuilder {
  private readonly index = new Map<string, number>();
  private chunks: Buffer[] = [];
  private size = 1;

  /**
   * An empty set, or one seeded with an existing string section (libbpf's strset__new over
   * existing data): its bytes are kept as they are, each string indexed at its first offset,
   * so re-interning the source's strings reproduces the same offsets.
   */
  constructor(seed?: Uint8Array) {
    if (seed && seed.length > 0) {
      if (seed[0] !== 0 || seed[seed.length - 1] !== 0)
        throw new BtfError('seed string section must start and end with a NUL byte');
      const b = Buffer.from(seed); // copy: the builder owns its bytes
      let p = 0;
      while (p < b.length) {
        let e = b.indexOf(0, p);
        if (e < 0) e = b.length;
        const s = b.toString('latin1', p, e);
        if (!this.index.has(s)) this.index.set(s, p);
        p = e + 1;
      }
      this.chunks.push(b);
      this.size = b.length;
    } else {
      this.index.set('', 0);
      this.chunks.push(Buffer.alloc(1));
    }
  }

  /** Adds `s` (latin1) if new and returns its offset (btf__add_str). */
  add(s: string): number {
    const hit = this.index.get(s);
    if (hit !== undefined) return hit;
    const off = this.size;
    const b = Buffer.allocUnsafe(s.length + 1);
    b.write(s, 0, 'latin1');
    b[s.length] = 0;
    this.chunks.push(b);
    this.size += b.length;
    this.index.set(s, off);
    return off;
  }

  /** Offset of `s` if present. */
  find(s: string): number | undefined {
    return this.index.get(s);
  }

  get length(): number {
    return this.size;
  }

  toBytes(): Uint8Array {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.size)];
    return this.chunks[0]!;
  }
}
