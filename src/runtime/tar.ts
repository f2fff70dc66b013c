// A small streaming tar reader (ustar, GNU and pax): push bytes in, get entries and their data
// out as events, without buffering file contents. Only what a member lookup needs: names
// (ustar prefix+name, GNU 'L' longname, pax 'path'), sizes (octal, GNU base-256, pax 'size'),
// the type flag. Header checksums are verified. Mirrors the reader in native/btf_helpers.c;
// the header codec is src/tar/header.ts.
import { BLOCK, decodeHeader, isZeroBlock, META_MAX, parsePax } from '../tar/header.js';
import { CorruptArchiveError } from './errors.js';

export { META_MAX };

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
    if (isZeroBlock(h)) {
      this.state = 'end';
      events.push({ kind: 'end' });
      return;
    }
    const raw = decodeHeader(h);
    if (raw === undefined) throw new CorruptArchiveError('not a tar archive, or a corrupt one (bad header)');
    let size = raw.size;
    // A size that cannot be represented makes the archive invalid, never a guess from the
    // header's own field (the same rule as btf_helpers.c).
    if (this.paxSizeBad) throw new CorruptArchiveError('corrupt tar: bad size (a pax size above 2^53-1)');
    if (this.paxSize !== undefined) size = this.paxSize;
    this.remain = size;
    this.pad = (BLOCK - (size % BLOCK)) % BLOCK;
    const typeflag = raw.typeflag;

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

    const name = this.nextName ?? raw.name;
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
      this.nextName = cStringOf(meta);
    } else if (this.metaType === 'x') {
      const pax = parsePax(meta);
      if (pax.path !== undefined) this.nextName = pax.path;
      if (pax.size !== undefined) {
        if (Number.isNaN(pax.size)) this.paxSizeBad = true;
        else this.paxSize = pax.size;
      }
    } // 'K' (long link target) and 'g' (global pax) name no file
    this.meta = undefined;
    this.state = this.pad > 0 ? 'pad' : 'header';
  }
}

const utf8 = new TextDecoder('utf-8');
function cStringOf(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return utf8.decode(nul < 0 ? b : b.subarray(0, nul));
}
