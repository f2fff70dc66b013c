// Parsed BTF: one validating pass builds a Uint32Array of record offsets; everything else is
// read lazily from the raw words. Mirrors libbpf's btf_parse_hdr / btf_parse_str_sec /
// btf_parse_type_sec / btf_sanity_check, and btf__type_by_id & friends for access.
import { BtfError } from '../errors.js';
import { BTF_MAGIC, Kind, KIND_ELEM_SIZE, KIND_INFO_SIZE, KIND_MAX, kindName, E2BIG, EINVAL } from './kinds.js';
import { StringTable } from './strings.js';

export interface BtfHeader {
  magic: number;
  version: number;
  flags: number;
  hdrLen: number;
  typeOff: number;
  typeLen: number;
  strOff: number;
  strLen: number;
  /** Only with hdrLen >= 32 (libbpf >= 1.8 "layout" extension). */
  layoutOff: number;
  layoutLen: number;
}

export interface ParseBtfOptions {
  /** Base BTF for split BTF (kernel modules): IDs and string offsets continue from it. */
  base?: Btf;
  /** Pointer size from the ELF class; raw BTF guesses it like libbpf's determine_ptr_size. */
  ptrSize?: 4 | 8;
  /** Skip the btf_sanity_check-style validation of names and referenced IDs. */
  noValidate?: boolean;
  /**
   * Applied in the pass that finds the records (see RecordSieve): the indexes of the records it
   * keeps are in Btf.sieved.
   */
  sieve?: RecordSieve;
}

/**
 * A test on type names that the parse applies in its own pass over the records: a candidate
 * search (CandidateIndex, src/minimize/candidates.ts) then needs no second pass over a large
 * type section. The parse's pass is bound by its chain of record lengths (each record's length
 * is in its own words), so the test mostly runs in the time that chain waits anyway.
 */
export interface RecordSieve {
  /** One bit per kind (kinds below 32): records of other kinds are not looked at. */
  readonly kinds: number;
  /**
   * Whether the name at raw[s] (non-empty, NUL-terminated within the string section) may be a
   * wanted one; false means it is certainly not.
   */
  mayWant(raw: Uint8Array, s: number): boolean;
}

/** What RecordSieve kept of a parse: its records' indexes within this BTF (id - startId), ascending. */
export interface Sieved {
  readonly sieve: RecordSieve;
  readonly indexes: Int32Array;
}

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Spellings libbpf's determine_ptr_size() accepts for `long`. */
const LONG_ALIASES = new Set([
  'long', 'long int', 'int long', 'unsigned long', 'long unsigned', 'unsigned long int',
  'unsigned int long', 'long unsigned int', 'long int unsigned', 'int unsigned long',
  'int long unsigned',
]);

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

export class Btf {
  /** The blob as given (possibly big-endian). */
  readonly raw: Uint8Array;
  readonly header: BtfHeader;
  readonly endian: 'little' | 'big';
  readonly base: Btf | undefined;
  /** First type ID of this BTF: 1 for base BTF, base.typeCount for split BTF. */
  readonly startId: number;
  /** First string offset of this BTF: 0 for base BTF, the base's total string length for split. */
  readonly startStrOff: number;
  /** Number of types stored in this BTF (void and base types not counted). */
  readonly count: number;
  /** btf__type_cnt(): startId + count, i.e. one past the highest valid ID. */
  readonly typeCount: number;
  /** The type section as host-endian (little-endian) 32-bit words. */
  readonly words: Uint32Array;
  /** Word index into `words` of each record, indexed by `id - startId`. */
  readonly offsets: Uint32Array;
  readonly strings: StringTable;
  /** Bytes of the layout section (hdrLen >= 32), empty when absent. */
  readonly layout: Uint8Array;
  /**
   * With ParseBtfOptions.sieve: the records of its kinds that are named by a string of this BTF
   * that the sieve may want, or by a base string (split BTF; a sieve sees only this BTF's
   * strings).
   */
  readonly sieved: Sieved | undefined;
  private ptrSz: number;

  constructor(bytes: Uint8Array, options: ParseBtfOptions = {}) {
    if (!HOST_LE) throw new BtfError('btfgen supports little-endian hosts only');
    this.raw = bytes;
    this.base = options.base;
    this.startId = this.base ? this.base.typeCount : 1;
    this.startStrOff = this.base ? this.base.totalStrLen : 0;
    this.ptrSz = options.ptrSize ?? (this.base ? this.base.ptrSz : 0);

    const size = bytes.byteLength;
    if (size < 24) throw new BtfError(`BTF header not found: ${size} bytes, a BTF header needs at least 24`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let le: boolean;
    if (dv.getUint16(0, true) === BTF_MAGIC) le = true;
    else if (dv.getUint16(0, false) === BTF_MAGIC) le = false;
    else throw new BtfError(`invalid BTF magic 0x${dv.getUint16(0, true).toString(16).padStart(4, '0')} (expected 0xeb9f)`);
    this.endian = le ? 'little' : 'big';
    const hdrLen = dv.getUint32(4, le);
    if (hdrLen < 24) throw new BtfError(`BTF header length ${hdrLen} is shorter than 24 bytes`);
    if (size < hdrLen) throw new BtfError(`BTF header length ${hdrLen} is larger than the data (${size} bytes)`);
    const h: BtfHeader = {
      magic: BTF_MAGIC,
      version: dv.getUint8(2),
      flags: dv.getUint8(3),
      hdrLen,
      typeOff: dv.getUint32(8, le),
      typeLen: dv.getUint32(12, le),
      strOff: dv.getUint32(16, le),
      strLen: dv.getUint32(20, le),
      layoutOff: hdrLen >= 32 ? dv.getUint32(24, le) : 0,
      layoutLen: hdrLen >= 32 ? dv.getUint32(28, le) : 0,
    };
    this.header = h;
    const metaLeft = size - hdrLen;
    if (h.strOff + h.strLen > metaLeft)
      throw new BtfError(
        `invalid BTF total size: strings at ${h.strOff}+${h.strLen} run past the end of the data (${metaLeft} bytes after the header)`,
      );
    if (h.typeOff + h.typeLen > h.strOff)
      throw new BtfError(
        `invalid BTF data sections layout: type data at ${h.typeOff}+${h.typeLen}, strings data at ${h.strOff}+${h.strLen}`,
      );
    if (h.typeOff % 4) throw new BtfError('BTF type section is not aligned to 4 bytes');
    if (h.layoutLen) {
      if (h.layoutOff % 4 || h.layoutLen % 4)
        throw new BtfError(`BTF layout section at ${h.layoutOff}+${h.layoutLen} is not 4-byte aligned`);
      if (h.layoutOff < h.typeOff + h.typeLen || h.layoutOff + h.layoutLen > h.strOff)
        throw new BtfError(`BTF layout section at ${h.layoutOff}+${h.layoutLen} is not between the type and string sections`);
    }
    // btf_parse_str_sec
    const strStart = hdrLen + h.strOff;
    if (!(this.base && h.strLen === 0)) {
      if (h.strLen === 0 || bytes[strStart + h.strLen - 1] !== 0)
        throw new BtfError('invalid BTF string section: it must be non-empty and end with a NUL byte');
      if (!this.base && bytes[strStart] !== 0)
        throw new BtfError('invalid BTF string section: the first string must be empty');
    }
    this.strings = new StringTable(bytes, strStart, h.strLen);
    this.layout = h.layoutLen
      ? bytes.subarray(hdrLen + h.layoutOff, hdrLen + h.layoutOff + h.layoutLen)
      : new Uint8Array(0);

    // Host-endian, 4-aligned words of the type section (copy only when needed).
    const typeStart = hdrLen + h.typeOff;
    const nWords = h.typeLen >>> 2;
    let words: Uint32Array;
    if (le && (bytes.byteOffset + typeStart) % 4 === 0) {
      words = new Uint32Array(bytes.buffer, bytes.byteOffset + typeStart, nWords);
    } else {
      words = new Uint32Array(nWords);
      new Uint8Array(words.buffer).set(bytes.subarray(typeStart, typeStart + nWords * 4));
    }
    this.words = words;

    // btf_parse_type_sec: one pass for record boundaries (byte-swapping big-endian records).
    const { offsets, n, w, kept, nKept } = recordOffsets(words, nWords, le, (kind, vlen, index) => {
      const ls = this.layoutSize(kind, vlen);
      if (ls < 0) throw new BtfError(`type [${this.startId + index}]: unknown BTF kind ${kind}`);
      return ls;
    }, this.startId, options.sieve, this.nameBytes());
    if (w * 4 !== h.typeLen) throw new BtfError('BTF types data is malformed: trailing bytes after the last type');
    this.sieved = options.sieve ? { sieve: options.sieve, indexes: kept.subarray(0, nKept) } : undefined;
    this.offsets = offsets.subarray(0, n);
    this.count = n;
    this.typeCount = this.startId + n;
    if (this.typeCount - 1 > 0x7fffffff) throw new BtfError('too many BTF types');
    if (!options.noValidate) this.sanityCheck();
  }

  /**
   * The records `sieve` keeps (indexes within this BTF, ascending): found by the parse when it
   * applied this sieve (ParseBtfOptions.sieve), else by a pass of their own over the records.
   */
  keptBy(sieve: RecordSieve): Int32Array {
    if (this.sieved?.sieve === sieve) return this.sieved.indexes;
    const names = this.nameBytes();
    const kept = new Int32Array(this.count);
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const w = this.offsets[i]!;
      const kind = (this.words[w + 1]! >>> 24) & 0x7f;
      if (kind < 32 && ((sieve.kinds >>> kind) & 1) !== 0 && sieves(sieve, this.words[w]!, names)) kept[n++] = i;
    }
    return kept.subarray(0, n);
  }

  private nameBytes(): NameBytes {
    return { raw: this.raw, start: this.header.hdrLen + this.header.strOff, len: this.header.strLen, startStr: this.startStrOff };
  }

  /** Bytes after the 12-byte head for a kind described only by the layout section, or -1. */
  private layoutSize(kind: number, vlen: number): number {
    const i = kind * 4;
    if (i + 4 > this.layout.length) return -1;
    const infoSz = this.layout[i]!;
    const elemSz = this.layout[i + 1]!;
    if (infoSz === 0 && elemSz === 0 && kind > KIND_MAX) return -1;
    const n = infoSz + vlen * elemSz;
    return n % 4 ? -1 : n;
  }

  /** Total logical string length (base included): the split BTF's startStrOff. */
  get totalStrLen(): number {
    return this.startStrOff + this.header.strLen;
  }

  // --- btf_sanity_check -------------------------------------------------------------------
  /**
   * Throws the BtfError btf_sanity_check would: the constructor runs this unless `noValidate`;
   * a reader that parsed without it (a prepared object) can run it later on the same parse.
   */
  sanityCheck(): void {
    const words = this.words;
    const cnt = this.typeCount;
    const checkStr = (off: number, what: string, id: number) => {
      if (!this.validStr(off)) throw new BtfError(`type [${id}]: invalid ${what} (string offset ${off})`);
    };
    const checkId = (ref: number, id: number) => {
      if (ref >>> 0 >= cnt) throw new BtfError(`type [${id}]: invalid referenced type ID ${ref >>> 0}`);
    };
    for (let i = 0; i < this.count; i++) {
      const id = this.startId + i;
      const w = this.offsets[i]!;
      const info = words[w + 1]!;
      const kind = (info >>> 24) & 0x7f;
      const vlen = info & 0xffffff;
      checkStr(words[w]!, 'type name', id);
      switch (kind) {
        case Kind.INT:
        case Kind.FWD:
        case Kind.FLOAT:
          break;
        case Kind.FUNC:
          checkId(words[w + 2]!, id);
          if (this.kind(words[w + 2]!) !== Kind.FUNC_PROTO)
            throw new BtfError(`type [${id}]: FUNC refers to type [${words[w + 2]}] which is not a FUNC_PROTO`);
          break;
        case Kind.PTR:
        case Kind.TYPEDEF:
        case Kind.VOLATILE:
        case Kind.CONST:
        case Kind.RESTRICT:
        case Kind.VAR:
        case Kind.DECL_TAG:
        case Kind.TYPE_TAG:
          checkId(words[w + 2]!, id);
          break;
        case Kind.ARRAY:
          checkId(words[w + 3]!, id);
          checkId(words[w + 4]!, id);
          break;
        case Kind.STRUCT:
        case Kind.UNION:
          for (let m = 0, p = w + 3; m < vlen; m++, p += 3) {
            checkStr(words[p]!, 'field name', id);
            checkId(words[p + 1]!, id);
          }
          break;
        case Kind.ENUM:
          for (let m = 0, p = w + 3; m < vlen; m++, p += 2) checkStr(words[p]!, 'enum name', id);
          break;
        case Kind.ENUM64:
          for (let m = 0, p = w + 3; m < vlen; m++, p += 3) checkStr(words[p]!, 'enum name', id);
          break;
        case Kind.FUNC_PROTO:
          checkId(words[w + 2]!, id);
          for (let m = 0, p = w + 3; m < vlen; m++, p += 2) {
            checkStr(words[p]!, 'param name', id);
            checkId(words[p + 1]!, id);
          }
          break;
        case Kind.DATASEC:
          for (let m = 0, p = w + 3; m < vlen; m++, p += 3) checkId(words[p]!, id);
          break;
        default:
          break; // kinds known only through the layout section
      }
    }
  }

  /** btf__str_by_offset() != NULL. */
  validStr(off: number): boolean {
    off >>>= 0;
    if (off < this.startStrOff && this.base) return this.base.validStr(off);
    return off - this.startStrOff < this.header.strLen;
  }

  /** btf__str_by_offset(); throws on an invalid offset. */
  str(off: number): string {
    if (off < this.startStrOff && this.base) return this.base.str(off);
    const rel = off - this.startStrOff;
    if (!this.strings.has(rel)) throw new BtfError(`invalid string offset ${off}`);
    return this.strings.get(rel);
  }

  /** Raw bytes of a string (no copy). */
  strBytes(off: number): Uint8Array {
    if (off < this.startStrOff && this.base) return this.base.strBytes(off);
    const rel = off - this.startStrOff;
    if (!this.strings.has(rel)) throw new BtfError(`invalid string offset ${off}`);
    return this.strings.bytes(rel);
  }

  // --- record access --------------------------------------------------------------------
  /** The Btf that stores `id` (this or a base) and the word index of its record; -1 for void. */
  locate(id: number): [Btf, number] {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    let b: Btf = this;
    while (id < b.startId) {
      if (!b.base) return [b, -1];
      b = b.base;
    }
    if (id >= b.typeCount) throw new BtfError(`type ID ${id} out of range (max ${b.typeCount - 1})`);
    return [b, b.offsets[id - b.startId]!];
  }

  private head(id: number, field: 0 | 1 | 2): number {
    if (id >= this.startId) {
      const i = id - this.startId;
      if (i >= this.count) throw new BtfError(`type ID ${id} out of range (max ${this.typeCount - 1})`);
      return this.words[this.offsets[i]! + field]!;
    }
    return this.base ? this.base.head(id, field) : 0;
  }

  /** Word at `idx` after the 12-byte head of `id`. */
  extra(id: number, idx: number): number {
    if (id >= this.startId) {
      const i = id - this.startId;
      if (i >= this.count) throw new BtfError(`type ID ${id} out of range (max ${this.typeCount - 1})`);
      return this.words[this.offsets[i]! + 3 + idx]!;
    }
    return this.base ? this.base.extra(id, idx) : 0;
  }

  /**
   * C's `*(__u32 *)(t + 1)` for any kind, as libbpf's btf_int_encoding() evaluates it where it
   * does not check the kind first (bpf_core_calc_field_relo's FIELD_SIGNED): the word after
   * the 12-byte head, which for a kind without data there is the next record's first word, or,
   * after the last type, the first bytes that follow the type section in the blob (libbpf
   * keeps the whole blob in one allocation; a big-endian blob's type section is swapped in
   * place, what follows it is not). 0 past the end of the blob.
   */
  wordAfterHead(id: number): number {
    if (id < this.startId) return this.base ? this.base.wordAfterHead(id) : 0;
    const i = id - this.startId;
    if (i >= this.count) throw new BtfError(`type ID ${id} out of range (max ${this.typeCount - 1})`);
    const w = this.offsets[i]! + 3;
    if (w < this.words.length) return this.words[w]!;
    const at = this.header.hdrLen + this.header.typeOff + w * 4;
    const r = this.raw;
    if (at + 4 > r.length) return 0;
    return (r[at]! | (r[at + 1]! << 8) | (r[at + 2]! << 16) | (r[at + 3]! << 24)) >>> 0;
  }

  nameOff(id: number): number {
    return this.head(id, 0);
  }
  info(id: number): number {
    return this.head(id, 1);
  }
  kind(id: number): Kind {
    return (this.head(id, 1) >>> 24) & 0x7f;
  }
  vlen(id: number): number {
    return this.head(id, 1) & 0xffffff;
  }
  kflag(id: number): boolean {
    return this.head(id, 1) >>> 31 === 1;
  }
  /** size_or_type: size for INT/STRUCT/UNION/ENUM/ENUM64/DATASEC/FLOAT, a type ID otherwise. */
  sizeOrType(id: number): number {
    return this.head(id, 2);
  }
  size(id: number): number {
    return this.head(id, 2);
  }
  /** Referenced type of PTR/TYPEDEF/CV/FUNC/VAR/DECL_TAG/TYPE_TAG, return type of FUNC_PROTO. */
  type(id: number): number {
    return this.head(id, 2);
  }
  name(id: number): string {
    return this.str(this.head(id, 0));
  }
  kindName(id: number): string {
    return kindName(this.kind(id));
  }

  // INT
  intEncoding(id: number): number {
    return (this.extra(id, 0) >>> 24) & 0x0f;
  }
  intOffset(id: number): number {
    return (this.extra(id, 0) >>> 16) & 0xff;
  }
  intBits(id: number): number {
    return this.extra(id, 0) & 0xff;
  }

  // ARRAY
  arrayElem(id: number): number {
    return this.extra(id, 0);
  }
  arrayIndex(id: number): number {
    return this.extra(id, 1);
  }
  arrayNelems(id: number): number {
    return this.extra(id, 2);
  }

  // STRUCT/UNION members
  memberNameOff(id: number, i: number): number {
    return this.extra(id, i * 3);
  }
  memberName(id: number, i: number): string {
    return this.str(this.extra(id, i * 3));
  }
  memberType(id: number, i: number): number {
    return this.extra(id, i * 3 + 1);
  }
  memberOffsetRaw(id: number, i: number): number {
    return this.extra(id, i * 3 + 2);
  }
  /** btf_member_bit_offset(). */
  memberBitOffset(id: number, i: number): number {
    const v = this.extra(id, i * 3 + 2);
    return this.kflag(id) ? v & 0xffffff : v;
  }
  /** btf_member_bitfield_size(). */
  memberBitfieldSize(id: number, i: number): number {
    return this.kflag(id) ? this.extra(id, i * 3 + 2) >>> 24 : 0;
  }

  // ENUM / ENUM64
  enumNameOff(id: number, i: number): number {
    return this.kind(id) === Kind.ENUM64 ? this.extra(id, i * 3) : this.extra(id, i * 2);
  }
  enumName(id: number, i: number): string {
    return this.str(this.enumNameOff(id, i));
  }
  /** Raw 32-bit value of an ENUM enumerator (reinterpret as signed with `| 0`). */
  enumVal(id: number, i: number): number {
    return this.extra(id, i * 2 + 1);
  }
  enum64Lo(id: number, i: number): number {
    return this.extra(id, i * 3 + 1);
  }
  enum64Hi(id: number, i: number): number {
    return this.extra(id, i * 3 + 2);
  }
  /** Value as libbpf's btf_enum64_value / (u64) of a signed ENUM: a u64 as bigint. */
  enumValueU64(id: number, i: number): bigint {
    if (this.kind(id) === Kind.ENUM64) {
      return (BigInt(this.enum64Hi(id, i)) << 32n) | BigInt(this.enum64Lo(id, i));
    }
    // relo_core.c: ENUM values are s32, sign-extended to u64.
    return BigInt.asUintN(64, BigInt(this.enumVal(id, i) | 0));
  }

  // FUNC_PROTO params
  paramNameOff(id: number, i: number): number {
    return this.extra(id, i * 2);
  }
  paramName(id: number, i: number): string {
    return this.str(this.extra(id, i * 2));
  }
  paramType(id: number, i: number): number {
    return this.extra(id, i * 2 + 1);
  }

  // VAR, DECL_TAG
  varLinkage(id: number): number {
    return this.extra(id, 0);
  }
  declTagComponentIdx(id: number): number {
    return this.extra(id, 0) | 0;
  }

  // DATASEC
  datasecVarType(id: number, i: number): number {
    return this.extra(id, i * 3);
  }
  datasecVarOffset(id: number, i: number): number {
    return this.extra(id, i * 3 + 1);
  }
  datasecVarSize(id: number, i: number): number {
    return this.extra(id, i * 3 + 2);
  }

  /** Record length in 32-bit words. */
  recordWords(id: number): number {
    const [b, w] = this.locate(id);
    if (w < 0) return 0;
    const i = id - b.startId;
    const next = i + 1 < b.count ? b.offsets[i + 1]! : b.words.length;
    return next - w;
  }

  /** Host-endian words of the record of `id` (a view, no copy). */
  record(id: number): Uint32Array {
    const [b, w] = this.locate(id);
    if (w < 0) return new Uint32Array(0);
    const i = id - b.startId;
    const next = i + 1 < b.count ? b.offsets[i + 1]! : b.words.length;
    return b.words.subarray(w, next);
  }

  /** The type section in host (little-endian) byte order. */
  typeSectionBytes(): Uint8Array {
    return new Uint8Array(this.words.buffer, this.words.byteOffset, this.words.byteLength);
  }
  /** The string section bytes. */
  stringSectionBytes(): Uint8Array {
    const s = this.header.hdrLen + this.header.strOff;
    return this.raw.subarray(s, s + this.header.strLen);
  }

  // --- libbpf helpers --------------------------------------------------------------------

  /** btf__pointer_size() with the sizeof(void *) fallback (8). */
  get ptrSize(): number {
    if (!this.ptrSz) this.ptrSz = this.determinePtrSize();
    return this.ptrSz < 0 ? 8 : this.ptrSz;
  }

  /** determine_ptr_size(): the size of the first 4/8-byte INT named like `long`. */
  private determinePtrSize(): number {
    if (this.base && this.base.ptrSz > 0) return this.base.ptrSz;
    for (let id = 1; id < this.typeCount; id++) {
      if (this.kind(id) !== Kind.INT) continue;
      const sz = this.size(id);
      if (sz !== 4 && sz !== 8) continue;
      const off = this.nameOff(id);
      if (this.validStr(off) && LONG_ALIASES.has(this.str(off))) return sz;
    }
    return -1;
  }

  /** btf_is_mod() || typedef: VOLATILE, CONST, RESTRICT, TYPE_TAG, TYPEDEF. */
  static isModOrTypedef(kind: number): boolean {
    return (
      kind === Kind.TYPEDEF ||
      kind === Kind.VOLATILE ||
      kind === Kind.CONST ||
      kind === Kind.RESTRICT ||
      kind === Kind.TYPE_TAG
    );
  }

  /** skip_mods_and_typedefs(): follows modifiers and typedefs; returns the final ID. */
  skipModsAndTypedefs(id: number): number {
    // Bounded so corrupt (cyclic) input cannot hang us; valid BTF never gets near this.
    for (let i = 0; i < 1_000_000; i++) {
      const k = this.kind(id);
      if (!Btf.isModOrTypedef(k)) return id;
      id = this.type(id);
    }
    throw new BtfError(`type [${id}]: modifier/typedef loop`);
  }

  /** btf__resolve_size(): size in bytes, or a negative errno (-EINVAL, -E2BIG) like libbpf. */
  resolveSize(id: number): number {
    let nelems = 1;
    let size = -1;
    for (let depth = 0; depth < 32 && size < 0; depth++) {
      const k = this.kind(id);
      switch (k) {
        case Kind.INT:
        case Kind.STRUCT:
        case Kind.UNION:
        case Kind.ENUM:
        case Kind.ENUM64:
        case Kind.DATASEC:
        case Kind.FLOAT:
          size = this.size(id);
          break;
        case Kind.PTR:
          size = this.ptrSize;
          break;
        case Kind.TYPEDEF:
        case Kind.VOLATILE:
        case Kind.CONST:
        case Kind.RESTRICT:
        case Kind.VAR:
        case Kind.DECL_TAG:
        case Kind.TYPE_TAG:
          id = this.type(id);
          break;
        case Kind.ARRAY: {
          const ne = this.arrayNelems(id);
          if (nelems && ne > Math.floor(0xffffffff / nelems)) return -E2BIG;
          nelems *= ne;
          id = this.arrayElem(id);
          break;
        }
        default:
          return -EINVAL;
      }
    }
    if (size < 0) return -EINVAL;
    if (nelems && size > Math.floor(0xffffffff / nelems)) return -E2BIG;
    return nelems * size;
  }
}

/** Parses raw BTF bytes (either endianness, 24- or 32-byte header, base or split). */
export function parseBtf(bytes: Uint8Array, options: ParseBtfOptions = {}): Btf {
  return new Btf(bytes, options);
}

/** True when `bytes` start with the BTF magic in either byte order (btf__parse's raw check). */
export function isRawBtf(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && ((bytes[0] === 0x9f && bytes[1] === 0xeb) || (bytes[0] === 0xeb && bytes[1] === 0x9f));
}

// Record sizes in words by kind: 3 + info words, and words per vlen element (libbpf's
// btf_type_size()); 0 marks a kind only the layout section can describe.
const REC_BASE = Int32Array.from({ length: 32 }, (_, k) => (k >= 1 && k <= KIND_MAX ? 3 + (KIND_INFO_SIZE[k]! >>> 2) : 0));
const REC_ELEM = Int32Array.from({ length: 32 }, (_, k) => (k >= 1 && k <= KIND_MAX ? KIND_ELEM_SIZE[k]! >>> 2 : 0));

/** The string section, for a RecordSieve's look at names. */
interface NameBytes {
  raw: Uint8Array;
  /** Where this BTF's string section starts in `raw`, and its length. */
  start: number;
  len: number;
  /** The first string offset of this BTF (split BTF: the base's strings come first). */
  startStr: number;
}

const NO_KEPT = new Int32Array(0);

/**
 * The word offset of every record of a type section, byte-swapping big-endian records in
 * place; with a sieve, also the indexes of the records it keeps (RecordSieve, Btf.sieved). A
 * small function of its own: it runs once per BTF over every type, and V8 optimizes a short
 * hot loop much sooner than one inside the long constructor.
 */
function recordOffsets(
  words: Uint32Array,
  nWords: number,
  le: boolean,
  otherKind: (kind: number, vlen: number, index: number) => number,
  startId: number,
  sieve: RecordSieve | undefined,
  names: NameBytes,
): { offsets: Uint32Array; n: number; w: number; kept: Int32Array; nKept: number } {
  let offsets = new Uint32Array(Math.max(16, Math.ceil(nWords / 3)));
  let n = 0;
  let w = 0;
  const kinds = sieve ? sieve.kinds : 0;
  let kept = sieve ? new Int32Array(256) : NO_KEPT;
  let nKept = 0;
  while (w + 3 <= nWords) {
    if (!le) {
      words[w] = bswap32(words[w]!);
      words[w + 1] = bswap32(words[w + 1]!);
      words[w + 2] = bswap32(words[w + 2]!);
    }
    const info = words[w + 1]!;
    const kind = (info >>> 24) & 0x7f;
    const vlen = info & 0xffffff;
    const base = kind < 32 ? REC_BASE[kind]! : 0;
    const recWords = base !== 0 ? base + vlen * REC_ELEM[kind]! : 3 + (otherKind(kind, vlen, n) >>> 2);
    if (w + recWords > nWords) throw new BtfError(`type [${startId + n}] is malformed: its record runs past the type section`);
    if (!le) for (let i = w + 3; i < w + recWords; i++) words[i] = bswap32(words[i]!);
    if (n === offsets.length) {
      const grown = new Uint32Array(offsets.length * 2);
      grown.set(offsets);
      offsets = grown;
    }
    // the kind test inline, as in keptBy(): most records end there, before a call
    if (kind < 32 && ((kinds >>> kind) & 1) !== 0 && sieves(sieve!, words[w]!, names)) {
      if (nKept === kept.length) {
        const grown = new Int32Array(kept.length * 2);
        grown.set(kept);
        kept = grown;
      }
      kept[nKept++] = n;
    }
    offsets[n++] = w;
    w += recWords;
  }
  return { offsets, n, w, kept, nKept };
}

/**
 * Whether a record named by `nameOff` passes `sieve`: a base string (split BTF) always does;
 * no name, an offset past the string section (libbpf's name is then NULL) or an empty name
 * never does (bpf_core_add_cands skips those).
 */
function sieves(sieve: RecordSieve, nameOff: number, names: NameBytes): boolean {
  if (nameOff === 0) return false;
  if (nameOff < names.startStr) return true;
  const rel = nameOff - names.startStr;
  if (rel >= names.len) return false;
  const s = names.start + rel;
  return names.raw[s] !== 0 && sieve.mayWant(names.raw, s);
}
