// Reads the one kernel BTF member of a btfhub `<release>.btf.tar.xz`'s inner tar, in memory,
// never touching the disk: from the whole decompressed image (the member is then a view of it,
// not a copy) or incrementally, chunk by chunk.
//
// Accepted: ustar, GNU and v7 headers; PAX (`x`, `g`) and GNU long-name (`L`) headers; directory
// entries; a path prefix before the file name (`./`, `dir/`, `./dir/`). Exactly one regular member
// whose base name ends in `.btf` (normally `<release>.btf`).
// Rejected with an ArchiveError: links (hard or symbolic), devices, FIFOs, sparse or other special
// members, absolute names and names with a `..` component, more than one regular member, a
// member that is not `.btf`, truncated or corrupt headers, and members above `maxMemberSize`.
import { ArchiveError } from '../errors.js';
import { bombError, KERNEL_BTF_MAX } from '../archive/xz.js';
import { BLOCK, cString, decodeHeader, isZeroBlock, META_MAX, parsePax, type PaxFields } from '../tar/header.js';

export interface TarMember {
  /** Member name as stored (after PAX/GNU long-name overrides). */
  name: string;
  data: Uint8Array;
}

export interface TarReadOptions {
  /** Largest accepted member, in bytes (default KERNEL_BTF_MAX): a guard against bombs. */
  maxMemberSize?: number;
  /** Prefix for error messages, usually the archive file's path. */
  label?: string;
}


/**
 * Normalizes a member path: strips leading `./` components and trailing slashes. Throws for
 * absolute paths and `..` components (a link or file that would escape the archive directory).
 */
export function safeMemberPath(name: string, label: string): string {
  if (name.startsWith('/')) throw new ArchiveError(`${label}: member '${name}' has an absolute path`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new ArchiveError(`${label}: member '${name}' has a '..' component`);
  return parts.join('/');
}

const TYPE_NAMES: Record<string, string> = {
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '6': 'a FIFO',
  K: 'a GNU long link name',
  S: 'a GNU sparse file',
  V: 'a volume label',
  M: 'a multi-volume continuation',
};

type State = 'header' | 'data' | 'skip' | 'meta' | 'end';

/**
 * Incremental reader: `push()` decompressed chunks, then `finish()` returns the kernel member.
 * Only the member's bytes are buffered (allocated once at its declared size); everything else
 * is skipped as it streams by.
 */
export class KernelTarReader {
  private readonly label: string;
  private readonly maxMemberSize: number;
  private state: State = 'header';
  private header = new Uint8Array(BLOCK);
  private headerFill = 0;
  /** Bytes left in the current entry's data, then its padding. */
  private remaining = 0;
  private padding = 0;
  private member: TarMember | undefined;
  private memberFill = 0;
  private meta: Uint8Array | undefined;
  private metaFill = 0;
  private metaType = '';
  private pax: PaxFields = { malformed: false };
  private longName: string | undefined;
  private sawEnd = false;
  /** Whole-image mode (readKernelTar): the member is a view of the input, not a copy. */
  private borrow = false;

  constructor(options: TarReadOptions = {}) {
    this.label = options.label ?? 'tar';
    this.maxMemberSize = options.maxMemberSize ?? KERNEL_BTF_MAX;
  }

  push(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) {
      switch (this.state) {
        case 'end':
          return; // after the end-of-archive block, tar ignores the rest; so do we
        case 'header': {
          const n = Math.min(BLOCK - this.headerFill, chunk.length - off);
          this.header.set(chunk.subarray(off, off + n), this.headerFill);
          this.headerFill += n;
          off += n;
          if (this.headerFill === BLOCK) {
            this.headerFill = 0;
            this.onHeader();
          }
          break;
        }
        case 'data': {
          if (this.borrow && this.memberFill === 0 && this.member!.data.length === 0 && chunk.length - off >= this.remaining) {
            this.member!.data = chunk.subarray(off, off + this.remaining);
            off += this.remaining;
            this.memberFill = this.remaining;
            this.remaining = 0;
            this.afterData();
            break;
          }
          if (this.member!.data.length < this.memberFill + this.remaining) {
            const grown = new Uint8Array(this.memberFill + this.remaining);
            grown.set(this.member!.data.subarray(0, this.memberFill));
            this.member!.data = grown;
          }
          const n = Math.min(this.remaining, chunk.length - off);
          this.member!.data.set(chunk.subarray(off, off + n), this.memberFill);
          this.memberFill += n;
          this.remaining -= n;
          off += n;
          if (this.remaining === 0) this.afterData();
          break;
        }
        case 'meta': {
          const n = Math.min(this.remaining, chunk.length - off);
          this.meta!.set(chunk.subarray(off, off + n), this.metaFill);
          this.metaFill += n;
          this.remaining -= n;
          off += n;
          if (this.remaining === 0) this.onMeta();
          break;
        }
        case 'skip': {
          const n = Math.min(this.remaining + this.padding, chunk.length - off);
          const fromData = Math.min(n, this.remaining);
          this.remaining -= fromData;
          this.padding -= n - fromData;
          off += n;
          if (this.remaining === 0 && this.padding === 0) this.state = 'header';
          break;
        }
      }
    }
  }

  private afterData(): void {
    if (this.padding > 0) {
      this.state = 'skip';
    } else {
      this.state = 'header';
    }
  }

  private onHeader(): void {
    const h = this.header;
    if (isZeroBlock(h)) {
      this.sawEnd = true;
      this.state = 'end';
      return;
    }
    const raw = decodeHeader(h);
    if (raw === undefined) throw new ArchiveError(`${this.label}: not a tar archive or a corrupt tar header (bad checksum or size field)`);
    const size = raw.size;
    const type = raw.typeflag === '\0' ? '0' : raw.typeflag;
    if (type === 'x' || type === 'g' || type === 'L') {
      if (size > META_MAX) throw new ArchiveError(`${this.label}: oversized ${type === 'L' ? 'GNU long name' : 'PAX'} header (${size} bytes)`);
      this.metaType = type;
      this.meta = new Uint8Array(size);
      this.metaFill = 0;
      this.remaining = size;
      this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
      this.state = size > 0 ? 'meta' : 'header';
      if (size === 0) this.onMeta();
      return;
    }
    // Overrides from a preceding PAX header or GNU long name apply to this entry only.
    let name = raw.name;
    if (this.longName !== undefined) name = this.longName;
    if (this.pax.path !== undefined) name = this.pax.path;
    let entrySize = size;
    if (this.pax.size !== undefined) {
      if (Number.isNaN(this.pax.size)) throw new ArchiveError(`${this.label}: corrupt PAX size`);
      entrySize = this.pax.size;
    }
    this.pax = { malformed: false };
    this.longName = undefined;

    const special = TYPE_NAMES[type];
    if (special) throw new ArchiveError(`${this.label}: member '${name}' is ${special}; only a regular .btf file is accepted`);
    const path = safeMemberPath(name, this.label);
    const padding = (BLOCK - (entrySize % BLOCK)) % BLOCK;
    if (type === '5') {
      this.remaining = entrySize;
      this.padding = padding;
      this.state = entrySize + padding > 0 ? 'skip' : 'header';
      return;
    }
    if (type !== '0' && type !== '7') {
      throw new ArchiveError(`${this.label}: member '${name}' has unsupported type '${type}'; only a regular .btf file is accepted`);
    }
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (!base.endsWith('.btf')) {
      throw new ArchiveError(`${this.label}: unexpected member '${name}' (expected one <release>.btf file)`);
    }
    if (this.member) {
      throw new ArchiveError(`${this.label}: more than one member ('${this.member.name}', '${name}'); expected one <release>.btf file`);
    }
    if (entrySize > this.maxMemberSize) {
      throw bombError(name, this.label, this.maxMemberSize);
    }
    this.member = { name, data: this.borrow ? new Uint8Array(0) : new Uint8Array(entrySize) };
    this.memberFill = 0;
    this.remaining = entrySize;
    this.padding = padding;
    if (entrySize === 0) this.afterData();
    else this.state = 'data';
  }

  private onMeta(): void {
    const data = this.meta!;
    this.meta = undefined;
    if (this.metaType === 'x') {
      const pax = parsePax(data);
      if (pax.malformed) throw new ArchiveError(`${this.label}: malformed PAX header`);
      if (pax.path !== undefined) this.pax.path = pax.path;
      if (pax.size !== undefined) this.pax.size = pax.size;
    } else if (this.metaType === 'L') {
      this.longName = cString(data, 0, data.length);
    } // 'g': global PAX header; nothing we use
    this.state = this.padding > 0 ? 'skip' : 'header';
  }

  /** Whole-image mode: the next push() holds the entire archive, so the member may be a view of it. */
  lend(): void {
    this.borrow = true;
  }

  /** Ends the stream; returns the member or throws (no member, truncated data). */
  finish(): TarMember {
    if (
      this.state === 'data' ||
      this.state === 'meta' ||
      (this.state === 'skip' && this.remaining > 0) ||
      (this.state === 'header' && this.headerFill > 0)
    ) {
      throw new ArchiveError(`${this.label}: truncated tar archive`);
    }
    if (!this.member) {
      throw new ArchiveError(`${this.label}: no <release>.btf member in the archive${this.sawEnd ? '' : ' (empty tar)'}`);
    }
    return this.member;
  }
}

/** Reads the kernel member from a complete tar image; the member's data is a view of `tar`. */
export function readKernelTar(tar: Uint8Array, options: TarReadOptions = {}): TarMember {
  const r = new KernelTarReader(options);
  r.lend();
  r.push(tar);
  return r.finish();
}
