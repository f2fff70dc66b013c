// A BTF writer: append types, intern strings, serialize. Mirrors libbpf's btf_new_empty,
// btf__add_str, btf__add_type (copy + re-intern strings), btf__add_struct/union,
// btf__add_field and btf_get_raw_data. Output is always little-endian (host order).
import { BtfError } from '../errors.js';
import type { Btf } from './btf.js';
import { BTF_MAGIC, Kind } from './kinds.js';
import { StringSetBuilder } from './strings.js';

export type HeaderLen = 24 | 32;

export interface BtfBuilderOptions {
  /** Seed the string section with these bytes (e.g. a source BTF's), kept verbatim. */
  strings?: Uint8Array;
}

export class BtfBuilder {
  readonly strings: StringSetBuilder;
  private words = new Uint32Array(1024);
  private len = 0; // words used
  /** Word index of each added type, by new ID - 1. */
  private offs: number[] = [];
  /** Word index of the struct/union currently receiving fields, or -1. */
  private composite = -1;

  constructor(options: BtfBuilderOptions = {}) {
    this.strings = new StringSetBuilder(options.strings);
  }

  /** Number of types added; the next type gets ID `count + 1`. */
  get count(): number {
    return this.offs.length;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.words.length) return;
    let cap = this.words.length * 2;
    while (cap < this.len + n) cap *= 2;
    const w = new Uint32Array(cap);
    w.set(this.words.subarray(0, this.len));
    this.words = w;
  }

  /** Appends one 3-word record head or member (no rest arguments: cheap in cold code too). */
  private push3(a: number, b: number, c: number): void {
    this.ensure(3);
    const w = this.words;
    w[this.len++] = a >>> 0;
    w[this.len++] = b >>> 0;
    w[this.len++] = c >>> 0;
  }

  private begin(): number {
    this.composite = -1;
    this.offs.push(this.len);
    return this.offs.length;
  }

  /** btf__add_str(). */
  addStr(s: string): number {
    return this.strings.add(s);
  }

  /** Appends a raw record given as host-endian words (no string/ID rewriting). Returns the new ID. */
  addRawRecord(record: ArrayLike<number>): number {
    const id = this.begin();
    this.ensure(record.length);
    for (let i = 0; i < record.length; i++) this.words[this.len++] = record[i]! >>> 0;
    return id;
  }

  /**
   * btf__add_type(): copies the record of `srcId` from `src` and re-interns every string it
   * names (type name, then member/enumerator/param names, in record order). Type IDs are copied
   * as they are; remap them afterwards with `remapTypeIds`.
   */
  addTypeCopy(src: Btf, srcId: number): number {
    const rec = src.record(srcId);
    if (rec.length < 3) throw new BtfError(`cannot copy type [${srcId}]: it is void`);
    const id = this.begin();
    const start = this.len;
    this.ensure(rec.length);
    this.words.set(rec, start);
    this.len += rec.length;
    const w = this.words;
    const kind = (w[start + 1]! >>> 24) & 0x7f;
    const vlen = w[start + 1]! & 0xffffff;
    w[start] = this.internFrom(src, w[start]!);
    switch (kind) {
      case Kind.STRUCT:
      case Kind.UNION:
      case Kind.ENUM64:
        for (let i = 0, p = start + 3; i < vlen; i++, p += 3) w[p] = this.internFrom(src, w[p]!);
        break;
      case Kind.ENUM:
      case Kind.FUNC_PROTO:
        for (let i = 0, p = start + 3; i < vlen; i++, p += 2) w[p] = this.internFrom(src, w[p]!);
        break;
      default:
        break;
    }
    return id;
  }

  private internFrom(src: Btf, off: number): number {
    return off === 0 ? 0 : this.strings.add(src.str(off));
  }

  /** btf__add_struct() / btf__add_union(): empty composite with a kept size; add fields next. */
  addComposite(kind: Kind.STRUCT | Kind.UNION, name: string, size: number): number {
    const nameOff = name ? this.strings.add(name) : 0;
    const id = this.begin();
    this.composite = this.len;
    this.push3(nameOff, (kind << 24) >>> 0, size);
    return id;
  }

  /**
   * btf__add_field(): appends a member to the last composite and updates its vlen/kflag.
   * Throws like libbpf when a non-bitfield member is not byte-aligned or a union member has
   * a non-zero offset.
   */
  addField(name: string, type: number, bitOffset: number, bitfieldSize: number): void {
    const c = this.composite;
    if (c < 0) throw new BtfError('btf__add_field: no struct/union to add a field to');
    const info = this.words[c + 1]!;
    const isUnion = ((info >>> 24) & 0x7f) === Kind.UNION;
    // libbpf's "best-effort bit field offset/size enforcement".
    const isBitfield = bitfieldSize !== 0 || bitOffset % 8 !== 0;
    if (isBitfield && bitfieldSize === 0)
      throw new BtfError(`field '${name}': non-bitfield member at bit offset ${bitOffset} is not byte-aligned`);
    if (isBitfield && (bitfieldSize > 255 || bitOffset > 0xffffff))
      throw new BtfError(`field '${name}': bit offset ${bitOffset} or bitfield size ${bitfieldSize} out of range`);
    if (isUnion && bitOffset !== 0)
      throw new BtfError(`field '${name}': union member at non-zero bit offset ${bitOffset}`);
    const nameOff = name ? this.strings.add(name) : 0;
    this.push3(nameOff, type, ((bitfieldSize << 24) | bitOffset) >>> 0);
    let newInfo = ((info & 0xff000000) | ((info & 0xffffff) + 1)) >>> 0;
    if (isBitfield) newInfo = (newInfo | 0x80000000) >>> 0;
    this.words[c + 1] = newInfo;
  }

  /** Host-endian words of the record of new type `id` (a live view; valid until the next add). */
  record(id: number): Uint32Array {
    const start = this.offs[id - 1]!;
    const end = id < this.offs.length ? this.offs[id]! : this.len;
    return this.words.subarray(start, end);
  }

  /**
   * Rewrites every type-ID field (btf_field_iter BTF_FIELD_ITER_IDS) of every added type
   * through `map(oldId)`.
   */
  remapTypeIds(map: (id: number) => number): void {
    const w = this.words;
    for (let t = 0; t < this.offs.length; t++) {
      const p = this.offs[t]!;
      const kind = (w[p + 1]! >>> 24) & 0x7f;
      const vlen = w[p + 1]! & 0xffffff;
      switch (kind) {
        case Kind.PTR:
        case Kind.TYPEDEF:
        case Kind.VOLATILE:
        case Kind.CONST:
        case Kind.RESTRICT:
        case Kind.FUNC:
        case Kind.VAR:
        case Kind.DECL_TAG:
        case Kind.TYPE_TAG:
        case Kind.FWD:
          w[p + 2] = map(w[p + 2]!);
          break;
        case Kind.ARRAY:
          w[p + 3] = map(w[p + 3]!);
          w[p + 4] = map(w[p + 4]!);
          break;
        case Kind.STRUCT:
        case Kind.UNION:
          for (let i = 0, q = p + 4; i < vlen; i++, q += 3) w[q] = map(w[q]!);
          break;
        case Kind.FUNC_PROTO:
          w[p + 2] = map(w[p + 2]!);
          for (let i = 0, q = p + 4; i < vlen; i++, q += 2) w[q] = map(w[q]!);
          break;
        case Kind.DATASEC:
          for (let i = 0, q = p + 3; i < vlen; i++, q += 3) w[q] = map(w[q]!);
          break;
        default:
          break;
      }
    }
  }

  /** btf_get_raw_data(): header | types | strings, little-endian, str_off = type_len. */
  serialize(hdrLen: HeaderLen = 24): Uint8Array {
    const typeLen = this.len * 4;
    const strs = this.strings.toBytes();
    const out = new Uint8Array(hdrLen + typeLen + strs.length);
    const dv = new DataView(out.buffer);
    dv.setUint16(0, BTF_MAGIC, true);
    dv.setUint8(2, 1);
    dv.setUint8(3, 0);
    dv.setUint32(4, hdrLen, true);
    dv.setUint32(8, 0, true);
    dv.setUint32(12, typeLen, true);
    dv.setUint32(16, typeLen, true);
    dv.setUint32(20, strs.length, true);
    // 32-byte header: layout_off = layout_len = 0 (already zero).
    out.set(new Uint8Array(this.words.buffer, 0, typeLen), hdrLen);
    out.set(strs, hdrLen + typeLen);
    return out;
  }
}
