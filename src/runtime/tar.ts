// A small streaming tar reader (ustar, GNU and pax): push bytes in, get entries and their data
// out as events, without buffering file contents. Only what a member lookup needs: names
// (ustar prefix+name, GNU 'L' longname, pax 'path'), sizes (octal, GNU base-256, pax 'size'),
// the type flag. Header checksums are verified. Mirrors the reader in native/btf_helpers.c.
import { CorruptArchiveError } from './errors.js';

const BLOCK = 512;
/** Largest GNU longname / pax record accepted (both readers agree on this). */
export const META_MAX = 1024 * 1024;

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  /** Full member name as stored (ustar prefix joined, or the longname / pax path). */
  name: string;
  type: TarEntryType;
  /** The raw typeflag character ('\0' for old-style regular files). */
  typeflag: string;
  size: number;
}

export type TarEvent =
  | { kind: 'entry'; entry: TarEntry }
  /** Bytes of the current entry: a view into the pushed chunk, valid until the next push. */
  | { kind: 'data'; bytes: Uint8Array }
  | { kind: 'entry-end' }
  /** The end-of-archive marker (a zero block); nothing after it is read. */
  | { kind: 'end' };

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

function cString(b: Uint8Array, start: number, length: number): string {
  const field = b.subarray(start, start + length);
  const nul = field.indexOf(0);
  return utf8.decode(nul < 0 ? field : field.subarray(0, nul));
}

/** Octal (leading spaces, NUL/space terminated) or GNU base-256; undefined when invalid. */
function parseNumber(b: Uint8Array, start: number, length: number): number | undefined {
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

function checksumOk(h: Uint8Array): boolean {
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

function entryType(flag: string): TarEntryType {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '5':
      return 'directory';
    case '2':
      return 'symlink';
    case '1':
      return 'hardlink';
    default:
      return 'other'; // devices, fifos, GNU sparse/volume/multivolume...
  }
}

type State = 'header' | 'data' | 'meta' | 'pad' | 'end';

export class TarReader {
  private state: State = 'header';
  private readonly header = new Uint8Array(BLOCK);
  private headerFill = 0;
  private remain = 0;
  private pad = 0;
  private fed = 0;
  private metaType = '';
  private meta: Uint8Array | undefined;
  private metaFill = 0;
  private nextName: string | undefined;
  private paxSize: number | undefined;
  /** A pax `size` record that no integer up to 2^53-1 can hold (the entry's size is unknown). */
  private paxSizeBad = false;

  /** True once the end-of-archive marker was read. */
  get ended(): boolean {
    return this.state === 'end';
  }

  /**
   * Parses a chunk lazily: events come as the chunk is read, so a consumer that stops early
   * never parses what follows. Iterate it to the end before pushing the next chunk. Data
   * events view into `chunk`.
   */
  *push(chunk: Uint8Array): Generator<TarEvent, void, undefined> {
    const events: TarEvent[] = [];
    this.fed += chunk.length;
    let pos = 0;
    while (pos < chunk.length && this.state !== 'end') {
      const avail = chunk.length - pos;
      switch (this.state) {
        case 'header': {
          const n = Math.min(BLOCK - this.headerFill, avail);
          this.header.set(chunk.subarray(pos, pos + n), this.headerFill);
          this.headerFill += n;
          pos += n;
          if (this.headerFill === BLOCK) {
            this.headerFill = 0;
            this.onHeader(events);
          }
          yield* events.splice(0);
          break;
        }
        case 'data': {
          const n = Math.min(this.remain, avail);
          const bytes = chunk.subarray(pos, pos + n);
          pos += n;
          this.remain -= n;
          yield { kind: 'data', bytes };
          if (this.remain === 0) {
            this.endEntry(events);
            yield* events.splice(0);
          }
          break;
        }
        case 'meta': {
          const n = Math.min(this.remain, avail);
          this.meta!.set(chunk.subarray(pos, pos + n), this.metaFill);
          this.metaFill += n;
          pos += n;
          this.remain -= n;
          if (this.remain === 0) this.endMeta();
          break;
        }
        case 'pad': {
          const n = Math.min(this.pad, avail);
          pos += n;
          this.pad -= n;
          if (this.pad === 0) this.state = 'header';
          break;
        }
      }
    }
  }

  /** Call at the end of input: throws when the archive stops in the middle of something. */
  finish(): void {
    if (this.state === 'end') return;
    if (this.fed === 0) throw new CorruptArchiveError('empty archive');
    if (this.state !== 'header' || this.headerFill !== 0) {
      throw new CorruptArchiveError(this.fed < BLOCK ? `not a tar archive (only ${this.fed} bytes)` : 'truncated tar archive');
    }
    // No end-of-archive marker after a complete member: accepted, as GNU tar does.
  }

  private onHeader(events: TarEvent[]): void {
    const h = this.header;
    if (h.every((b) => b === 0)) {
      this.state = 'end';
      events.push({ kind: 'end' });
      return;
    }
    let size = checksumOk(h) ? parseNumber(h, 124, 12) : undefined;
    if (size === undefined) throw new CorruptArchiveError('not a tar archive, or a corrupt one (bad header)');
    // A size that cannot be represented makes the archive invalid, never a guess from the
    // header's own field (the same rule as btf_helpers.c).
    if (this.paxSizeBad) throw new CorruptArchiveError('corrupt tar: bad size (a pax size above 2^53-1)');
    if (this.paxSize !== undefined) size = this.paxSize;
    this.remain = size;
    this.pad = (BLOCK - (size % BLOCK)) % BLOCK;
    const typeflag = String.fromCharCode(h[156]!);

    if (typeflag === 'L' || typeflag === 'K' || typeflag === 'x' || typeflag === 'g') {
      if (size > META_MAX) throw new CorruptArchiveError('corrupt tar: oversized name record');
      this.metaType = typeflag;
      this.meta = new Uint8Array(size);
      this.metaFill = 0;
      this.paxSize = undefined;
      if (size > 0) this.state = 'meta';
      else this.endMeta();
      return;
    }

    let name = this.nextName;
    if (name === undefined) {
      name = cString(h, 0, 100);
      const ustar = latin1.decode(h.subarray(257, 263)) === 'ustar\0';
      if (ustar && h[345] !== 0) name = `${cString(h, 345, 155)}/${name}`;
    }
    this.nextName = undefined;
    this.paxSize = undefined;
    this.paxSizeBad = false;
    events.push({ kind: 'entry', entry: { name, type: entryType(typeflag), typeflag, size } });
    if (size > 0) this.state = 'data';
    else this.endEntry(events);
  }

  private endEntry(events: TarEvent[]): void {
    events.push({ kind: 'entry-end' });
    this.state = this.pad > 0 ? 'pad' : 'header';
  }

  private endMeta(): void {
    const meta = this.meta!;
    if (this.metaType === 'L') {
      const nul = meta.indexOf(0);
      this.nextName = utf8.decode(nul < 0 ? meta : meta.subarray(0, nul));
    } else if (this.metaType === 'x') {
      this.parsePax(meta);
    } // 'K' (long link target) and 'g' (global pax) name no file
    this.meta = undefined;
    this.state = this.pad > 0 ? 'pad' : 'header';
  }

  /** pax records: "<len> <key>=<value>\n", len counting the whole record. */
  private parsePax(meta: Uint8Array): void {
    let pos = 0;
    while (pos < meta.length) {
      let i = pos;
      let len = 0;
      while (i < meta.length && meta[i]! >= 0x30 && meta[i]! <= 0x39 && len < META_MAX) len = len * 10 + (meta[i++]! - 0x30);
      if (i >= meta.length || meta[i] !== 0x20 || len === 0 || len > meta.length - pos) return;
      const record = meta.subarray(i + 1, pos + len - 1);
      if (meta[pos + len - 1] === 0x0a) {
        const eq = record.indexOf(0x3d);
        if (eq > 0) {
          const key = latin1.decode(record.subarray(0, eq));
          let raw = record.subarray(eq + 1);
          const nul = raw.indexOf(0);
          if (nul >= 0) raw = raw.subarray(0, nul); // as C strings (btf_helpers.c) read it
          const value = utf8.decode(raw);
          if (key === 'path') this.nextName = value;
          else if (key === 'size' && /^\d+$/.test(value)) {
            if (Number.isSafeInteger(Number(value))) this.paxSize = Number(value);
            else this.paxSizeBad = true;
          }
        }
      }
      pos += len;
    }
  }
}
