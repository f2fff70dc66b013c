// A seeded generator of structured BPF objects for the random differential test: local copies of
// real kernel types (from a parsed kernel BTF), with random CO-RE-relevant mutations (dropped,
// renamed, retyped and reordered members, bitfields, struct<->union, enum<->enum64, flavors,
// modifiers, flexible and multi-dimensional arrays, nonexistent names, wrong kinds), and 1-30
// CO-RE records with random kinds and access strings valid (or occasionally invalid) for the
// LOCAL types. Everything is derived from (seed, case index) so a case can be regenerated.
import type { Btf } from '../../../src/btf/btf.js';
import { Kind, KIND_NAMES, ReloKind } from '../../../src/btf/kinds.js';
import { buildBtfExt, buildObject, TypeBuilder, type CoreReloSpec } from './synth.js';

// ------------------------------------------------------------------------------------------------
// PRNG

/** A small seeded PRNG (splitmix32). Never Math.random. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** A derived generator for (seed, index). */
  static forCase(seed: number, index: number): Rng {
    let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
    return new Rng(h ^ (h >>> 16));
  }
  u32(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad) >>> 0;
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97) >>> 0;
    return (z ^ (z >>> 15)) >>> 0;
  }
  float(): number {
    return this.u32() / 2 ** 32;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor(this.float() * n);
  }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  /** Picks a key by weight. */
  weighted<T extends string | number>(w: [T, number][]): T {
    let total = 0;
    for (const [, x] of w) total += x;
    let r = this.float() * total;
    for (const [k, x] of w) {
      if ((r -= x) < 0) return k;
    }
    return w[w.length - 1]![0];
  }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
}

// ------------------------------------------------------------------------------------------------
// A local BTF model (JS objects, serialized at the end; IDs can be reserved for cycles)

export interface LMember {
  name: string;
  type: number;
  bitOff: number;
  /** Bitfield size (kflag encoding); 0 for a plain member. */
  bits: number;
}

export type LType =
  | { kind: Kind.INT; name: string; size: number; enc: number; bits: number; off: number }
  | { kind: Kind.PTR | Kind.TYPEDEF | Kind.CONST | Kind.VOLATILE | Kind.RESTRICT | Kind.TYPE_TAG; name: string; type: number }
  | { kind: Kind.ARRAY; elem: number; index: number; nelems: number }
  | { kind: Kind.STRUCT | Kind.UNION; name: string; size: number; members: LMember[]; legacy?: boolean }
  | { kind: Kind.ENUM; name: string; size: number; values: { name: string; val: number }[]; signed: boolean }
  | { kind: Kind.ENUM64; name: string; size: number; values: { name: string; val: bigint }[]; signed: boolean }
  | { kind: Kind.FWD; name: string; union: boolean }
  | { kind: Kind.FUNC_PROTO; ret: number; params: { name: string; type: number }[] }
  | { kind: Kind.FUNC | Kind.VAR; name: string; type: number; linkage: number }
  | { kind: Kind.FLOAT; name: string; size: number };

const PLACEHOLDER = { kind: Kind.INT, name: '', size: 4, enc: 0, bits: 32, off: 0 } as const;

export class LocalBtf {
  readonly types: LType[] = [];
  private intIds = new Map<string, number>();

  add(t: LType): number {
    this.types.push(t);
    return this.types.length;
  }
  reserve(): number {
    this.types.push({ ...PLACEHOLDER });
    return this.types.length;
  }
  set(id: number, t: LType): void {
    this.types[id - 1] = t;
  }
  get(id: number): LType | undefined {
    return id > 0 ? this.types[id - 1] : undefined;
  }
  get count(): number {
    return this.types.length;
  }
  /** A shared INT by name (used as array index types). */
  intType(name = 'int', size = 4, signed = true): number {
    const key = `${name}/${size}/${signed}`;
    let id = this.intIds.get(key);
    if (!id) {
      id = this.add({ kind: Kind.INT, name, size, enc: signed ? 1 : 0, bits: size * 8, off: 0 });
      this.intIds.set(key, id);
    }
    return id;
  }
  /** skip_mods_and_typedefs() on the local model. */
  skip(id: number): number {
    for (let i = 0; i < 64; i++) {
      const t = this.get(id);
      if (!t) return id;
      if (t.kind === Kind.TYPEDEF || t.kind === Kind.CONST || t.kind === Kind.VOLATILE || t.kind === Kind.RESTRICT || t.kind === Kind.TYPE_TAG) {
        id = t.type;
        continue;
      }
      return id;
    }
    return id;
  }
  nameOf(id: number): string {
    const t = this.get(id);
    return t && 'name' in t ? t.name : '';
  }

  /** Serializes into a TypeBuilder; returns it (strings can still be added). */
  build(): TypeBuilder {
    const tb = new TypeBuilder();
    const s = (x: string) => (x ? tb.str(x) : 0);
    for (const t of this.types) {
      const rec: number[] = [];
      switch (t.kind) {
        case Kind.INT:
          rec.push(s(t.name), Kind.INT << 24, t.size, ((t.enc & 0xf) << 24) | ((t.off & 0xff) << 16) | (t.bits & 0xff));
          break;
        case Kind.PTR:
        case Kind.TYPEDEF:
        case Kind.CONST:
        case Kind.VOLATILE:
        case Kind.RESTRICT:
        case Kind.TYPE_TAG:
          rec.push(s(t.name), t.kind << 24, t.type);
          break;
        case Kind.ARRAY:
          rec.push(0, Kind.ARRAY << 24, 0, t.elem, t.index, t.nelems);
          break;
        case Kind.STRUCT:
        case Kind.UNION: {
          const kflag = !t.legacy && t.members.some((m) => m.bits !== 0 || m.bitOff % 8 !== 0);
          rec.push(s(t.name), ((kflag ? 0x80000000 : 0) | (t.kind << 24) | t.members.length) >>> 0, t.size);
          for (const m of t.members) rec.push(s(m.name), m.type, kflag ? ((m.bits << 24) | (m.bitOff & 0xffffff)) >>> 0 : m.bitOff);
          break;
        }
        case Kind.ENUM:
          rec.push(s(t.name), ((t.signed ? 0x80000000 : 0) | (Kind.ENUM << 24) | t.values.length) >>> 0, t.size);
          for (const v of t.values) rec.push(s(v.name), v.val >>> 0);
          break;
        case Kind.ENUM64:
          rec.push(s(t.name), ((t.signed ? 0x80000000 : 0) | (Kind.ENUM64 << 24) | t.values.length) >>> 0, t.size);
          for (const v of t.values) {
            const u = BigInt.asUintN(64, v.val);
            rec.push(s(v.name), Number(u & 0xffffffffn), Number(u >> 32n));
          }
          break;
        case Kind.FWD:
          rec.push(s(t.name), ((t.union ? 0x80000000 : 0) | (Kind.FWD << 24)) >>> 0, 0);
          break;
        case Kind.FUNC_PROTO:
          rec.push(0, (Kind.FUNC_PROTO << 24) | t.params.length, t.ret);
          for (const p of t.params) rec.push(s(p.name), p.type);
          break;
        case Kind.FUNC:
          rec.push(s(t.name), (Kind.FUNC << 24) | t.linkage, t.type);
          break;
        case Kind.VAR:
          rec.push(s(t.name), Kind.VAR << 24, t.type, t.linkage);
          break;
        case Kind.FLOAT:
          rec.push(s(t.name), Kind.FLOAT << 24, t.size);
          break;
      }
      tb.b.addRawRecord(rec);
    }
    return tb;
  }
}

// ------------------------------------------------------------------------------------------------
// Source (kernel) type index

export interface SourceIndex {
  btf: Btf;
  name: string;
  byKind: Map<number, number[]>;
  /** Named types whose (kind, name) occurs more than once: several candidates. */
  dups: number[];
  /** Named STRUCT/UNION with at least one anonymous member. */
  withAnon: number[];
  /** Named STRUCT/UNION with a bitfield member. */
  withBits: number[];
  /** Named STRUCT/UNION with an array member. */
  withArrays: number[];
}

export function indexSource(btf: Btf, name: string): SourceIndex {
  const byKind = new Map<number, number[]>();
  const seen = new Map<string, number[]>();
  const withAnon: number[] = [];
  const withBits: number[] = [];
  const withArrays: number[] = [];
  for (let id = 1; id < btf.typeCount; id++) {
    const k = btf.kind(id);
    if (!btf.validStr(btf.nameOff(id))) continue;
    const n = btf.name(id);
    if (!n) continue;
    let l = byKind.get(k);
    if (!l) byKind.set(k, (l = []));
    l.push(id);
    const key = `${k}:${n}`;
    const s = seen.get(key);
    if (s) s.push(id);
    else seen.set(key, [id]);
    if (k === Kind.STRUCT || k === Kind.UNION) {
      const vlen = btf.vlen(id);
      let anon = false;
      let bits = false;
      let arr = false;
      for (let i = 0; i < vlen; i++) {
        if (btf.memberNameOff(id, i) === 0) anon = true;
        if (btf.memberBitfieldSize(id, i) || btf.memberBitOffset(id, i) % 8) bits = true;
        if (btf.kind(btf.skipModsAndTypedefs(btf.memberType(id, i))) === Kind.ARRAY) arr = true;
      }
      if (anon) withAnon.push(id);
      if (bits) withBits.push(id);
      if (arr) withArrays.push(id);
    }
  }
  const dups: number[] = [];
  for (const ids of seen.values()) if (ids.length > 1) dups.push(...ids);
  dups.sort((a, b) => a - b);
  return { btf, name, byKind, dups, withAnon, withBits, withArrays };
}

// ------------------------------------------------------------------------------------------------
// Copying kernel types into the local model, with mutations

/** UTF-8 bytes as a latin1 string (BTF names are bytes; the builders write latin1). */
const utf8 = (x: string): string => Buffer.from(x, 'utf8').toString('latin1');
const FLAVORS = ['x', 'old', 'new', 'v2', 'rh', '1', 'b__c', utf8('ü'), '\xff'];
const MEMBER_SUFFIXES = ['_nx', utf8('_ü'), '___x'];

function flavored(rng: Rng, name: string): string {
  return `${name}___${rng.pick(FLAVORS)}`;
}

/** Name mutation for a root: same, flavor, odd underscores, nonexistent. */
function rootName(rng: Rng, name: string): string {
  return rng.weighted<string>([
    [name, 55],
    [flavored(rng, name), 30],
    [`${name}____x`, 2], // four underscores: no flavor
    [`${name}___`, 2], // trailing: no flavor
    [`${name}___a___b`, 2], // right-most flavor only: essential name is `${name}___a`
    [`btfgen_nx_${rng.int(1000)}`, 5],
    [`${name}_nx`, 4],
  ]);
}

export interface CopyOptions {
  /** Probability of each mutation site firing (0 = faithful copy). */
  mut: number;
  /** Maximum number of local types (soft). */
  budget: number;
}

const INT_NAMES = ['int', 'unsigned int', 'long int', 'long unsigned int', 'char', 'unsigned char', 'short int', 'long long int', 'long long unsigned int', '_Bool', 'u32', 'unsigned long'];

export class Copier {
  private memo = new Map<number, number>();
  constructor(
    readonly src: Btf,
    readonly lb: LocalBtf,
    readonly rng: Rng,
    readonly opt: CopyOptions,
  ) {}

  private m(f = 1): boolean {
    return this.rng.chance(this.opt.mut * f);
  }

  private srcName(id: number): string {
    return this.src.validStr(this.src.nameOff(id)) ? this.src.name(id) : '';
  }

  /** A cheap stand-in for a type past the depth/budget limit. */
  stub(id: number): number {
    const src = this.src;
    const sid = src.skipModsAndTypedefs(id);
    if (sid === 0) return 0;
    const k = src.kind(sid);
    const name = this.srcName(sid);
    const lb = this.lb;
    switch (k) {
      case Kind.STRUCT:
      case Kind.UNION:
        return this.rng.weighted<string>([
          ['empty', 6],
          ['fwd', name ? 2 : 0],
          ['int', 1],
        ]) === 'empty'
          ? lb.add({ kind: k, name, size: src.size(sid), members: [] })
          : name && this.rng.chance(0.7)
            ? lb.add({ kind: Kind.FWD, name, union: k === Kind.UNION })
            : lb.intType('int', 4, true);
      case Kind.PTR:
        return lb.add({ kind: Kind.PTR, name: '', type: 0 });
      case Kind.ARRAY:
        return lb.add({ kind: Kind.ARRAY, elem: lb.intType('char', 1, true), index: lb.intType(), nelems: src.arrayNelems(sid) });
      default:
        return this.copy(sid, 0);
    }
  }

  /** Copies source type `id` to the local model, recursing `depth` levels into members. */
  copy(id: number, depth: number): number {
    if (id === 0) return 0;
    const src = this.src;
    const lb = this.lb;
    const rng = this.rng;
    const memo = this.memo.get(id);
    if (memo !== undefined && rng.chance(0.85)) return memo;
    const k = src.kind(id);
    const name = this.srcName(id);
    const over = lb.count > this.opt.budget;
    switch (k) {
      case Kind.INT: {
        let size = src.size(id);
        let enc = src.intEncoding(id);
        let bits = src.intBits(id);
        let off = src.intOffset(id);
        let n = name;
        if (this.m(0.5)) size = rng.pick([1, 2, 4, 8]);
        if (this.m(0.5)) enc ^= 1;
        if (this.m(0.2)) n = rng.pick(INT_NAMES);
        if (this.m(0.05)) off = rng.pick([1, 4, 8]);
        bits = Math.min(bits, size * 8);
        if (this.m(0.05)) bits = rng.range(1, size * 8);
        const r = lb.add({ kind: Kind.INT, name: n, size, enc, bits, off });
        this.memo.set(id, r);
        return r;
      }
      case Kind.FLOAT:
        return lb.add({ kind: Kind.FLOAT, name, size: src.size(id) });
      case Kind.PTR: {
        let target = 0;
        const pointee = src.type(id);
        if (this.m(0.3)) return lb.add({ kind: Kind.PTR, name: '', type: 0 });
        if (this.m(0.1)) return lb.intType('long unsigned int', 8, false); // pointer -> integer
        if (pointee !== 0) {
          const pk = src.kind(src.skipModsAndTypedefs(pointee));
          if (depth > 0 && !over && rng.chance(0.6)) target = this.copy(pointee, depth - 1);
          else if (pk === Kind.STRUCT || pk === Kind.UNION) target = this.memo.get(src.skipModsAndTypedefs(pointee)) ?? this.stub(pointee);
          else if (pk === Kind.FUNC_PROTO) target = 0;
          else target = rng.chance(0.5) ? this.copy(pointee, 0) : 0;
        }
        if (this.m(0.05)) target = lb.add({ kind: Kind.TYPE_TAG, name: rng.pick(['rcu', 'user', 'percpu']), type: target });
        return lb.add({ kind: Kind.PTR, name: '', type: target });
      }
      case Kind.TYPEDEF:
      case Kind.CONST:
      case Kind.VOLATILE:
      case Kind.RESTRICT:
      case Kind.TYPE_TAG: {
        if (k !== Kind.TYPEDEF && this.m(0.3)) return this.copy(src.type(id), depth); // drop a modifier
        const r = lb.reserve();
        this.memo.set(id, r);
        let inner = this.copy(src.type(id), depth);
        if (this.m(0.1)) inner = lb.add({ kind: rng.pick([Kind.CONST, Kind.VOLATILE, Kind.RESTRICT] as const), name: '', type: inner });
        let n = name;
        if (k === Kind.TYPEDEF && this.m(0.1)) n = flavored(rng, name);
        lb.set(r, { kind: k, name: n, type: inner });
        return r;
      }
      case Kind.ARRAY: {
        const elemSrc = src.arrayElem(id);
        const elem = over ? this.stub(elemSrc) : this.copy(elemSrc, depth);
        let nelems = src.arrayNelems(id);
        if (this.m(0.5)) nelems = rng.pick([0, 1, nelems + 1, Math.max(0, nelems - 1), nelems * 2]);
        let r = lb.add({ kind: Kind.ARRAY, elem, index: lb.intType(), nelems });
        if (this.m(0.1)) r = lb.add({ kind: Kind.ARRAY, elem: r, index: lb.intType(), nelems: rng.range(1, 4) }); // extra dimension
        return r;
      }
      case Kind.STRUCT:
      case Kind.UNION:
        return this.copyComposite(id, depth, name);
      case Kind.ENUM:
      case Kind.ENUM64:
        return this.copyEnum(id, name);
      case Kind.FWD:
        return lb.add({ kind: Kind.FWD, name, union: src.kflag(id) });
      case Kind.FUNC_PROTO: {
        const r = lb.reserve();
        this.memo.set(id, r);
        const d = Math.max(0, depth - 1);
        const ret = depth > 0 && !over ? this.copy(src.type(id), d) : this.stub(src.type(id));
        const params: { name: string; type: number }[] = [];
        const vlen = Math.min(src.vlen(id), 6);
        for (let i = 0; i < vlen; i++) {
          const pt = src.paramType(id, i);
          params.push({ name: src.validStr(src.paramNameOff(id, i)) ? src.paramName(id, i) : '', type: depth > 0 && !over ? this.copy(pt, d) : this.stub(pt) });
        }
        if (this.m(0.2)) params.pop();
        lb.set(r, { kind: Kind.FUNC_PROTO, ret, params });
        return r;
      }
      case Kind.FUNC: {
        const proto = this.copy(src.type(id), depth);
        return lb.add({ kind: Kind.FUNC, name, type: proto, linkage: src.vlen(id) });
      }
      case Kind.VAR: {
        const t = this.copy(src.type(id), depth);
        return lb.add({ kind: Kind.VAR, name, type: t, linkage: src.varLinkage(id) });
      }
      default:
        // DATASEC / DECL_TAG: not useful locally
        return lb.intType();
    }
  }

  copyEnum(id: number, name: string, forceKind?: Kind.ENUM | Kind.ENUM64): number {
    const src = this.src;
    const rng = this.rng;
    const srcKind = src.kind(id);
    let kind: Kind.ENUM | Kind.ENUM64 = forceKind ?? (srcKind === Kind.ENUM64 ? Kind.ENUM64 : Kind.ENUM);
    if (!forceKind && this.m(0.3)) kind = kind === Kind.ENUM ? Kind.ENUM64 : Kind.ENUM;
    const vlen = src.vlen(id);
    let idx = Array.from({ length: vlen }, (_, i) => i);
    if (vlen > 12 || this.m(1)) idx = idx.filter(() => rng.chance(vlen > 12 ? 12 / vlen : 0.7));
    if (!idx.length && vlen && rng.chance(0.9)) idx = [rng.int(vlen)];
    if (this.m(0.3)) rng.shuffle(idx);
    let signed = src.kflag(id);
    if (this.m(0.3)) signed = !signed;
    let size = src.size(id);
    if (kind === Kind.ENUM64 && srcKind === Kind.ENUM && rng.chance(0.7)) size = 8;
    if (kind === Kind.ENUM && size === 8 && rng.chance(0.7)) size = 4;
    if (this.m(0.3)) size = rng.pick([1, 2, 4, 8]);
    const values = idx.map((i) => {
      let n = src.validStr(src.enumNameOff(id, i)) ? src.enumName(id, i) : '';
      let v = src.enumValueU64(id, i);
      if (this.m(0.5)) v = BigInt(rng.int(1000));
      if (this.m(0.15)) n = flavored(rng, n);
      else if (this.m(0.1)) n = `${n}_NX`;
      return { name: n, v };
    });
    if (this.m(0.3)) values.push({ name: `BTFGEN_NX_${rng.int(100)}`, v: BigInt(rng.int(10)) });
    if (kind === Kind.ENUM) {
      return this.lb.add({ kind, name, size, signed, values: values.map((x) => ({ name: x.name, val: Number(BigInt.asUintN(32, x.v)) })) });
    }
    return this.lb.add({ kind, name, size, signed, values: values.map((x) => ({ name: x.name, val: x.v })) });
  }

  copyComposite(id: number, depth: number, name: string, opts: { root?: boolean; maxMembers?: number } = {}): number {
    const src = this.src;
    const lb = this.lb;
    const rng = this.rng;
    const over = lb.count > this.opt.budget;
    const r = lb.reserve();
    if (!opts.root) this.memo.set(id, r);
    let kind: Kind.STRUCT | Kind.UNION = src.kind(id) === Kind.UNION ? Kind.UNION : Kind.STRUCT;
    const vlen = src.vlen(id);
    let size = src.size(id);
    if (this.m(0.2)) size = rng.pick([size + 8, Math.max(0, size - 8), size * 2, 1]);
    const swap = !opts.root && this.m(0.15);
    if (swap) kind = kind === Kind.STRUCT ? Kind.UNION : Kind.STRUCT;
    if (opts.root && this.m(0.05)) kind = kind === Kind.STRUCT ? Kind.UNION : Kind.STRUCT;
    // member subset
    let idx = Array.from({ length: vlen }, (_, i) => i);
    const max = opts.maxMembers ?? (depth > 1 ? 24 : 12);
    if (depth <= 0 || over) idx = idx.filter(() => rng.chance(0.15));
    else if (idx.length > max || rng.chance(0.5)) idx = idx.filter(() => rng.chance(Math.min(0.9, max / Math.max(1, vlen))));
    if (this.m(0.5)) rng.shuffle(idx);
    const members: LMember[] = [];
    for (const i of idx) {
      const mnameOk = src.validStr(src.memberNameOff(id, i));
      let mname = mnameOk ? src.memberName(id, i) : '';
      const mt = src.memberType(id, i);
      let bitOff = src.memberBitOffset(id, i);
      let bits = src.memberBitfieldSize(id, i);
      let type: number;
      const d = depth - 1;
      if (d < 0 || (over && rng.chance(0.8))) type = this.stub(mt);
      else type = this.mutateMemberType(mt, d, bits);
      if (this.m(0.15) && mname) mname = `${mname}${rng.pick(MEMBER_SUFFIXES)}`;
      else if (this.m(0.03) && mname) mname = '';
      if (this.m(0.05)) type = lb.add({ kind: rng.pick([Kind.CONST, Kind.VOLATILE] as const), name: '', type });
      else if (this.m(0.01)) type = 0; // a void member
      const mtSkip = lb.skip(type);
      const mtT = lb.get(mtSkip);
      if (mtT?.kind === Kind.INT && this.m(0.25)) {
        // turn into a bitfield / change the bitfield
        bits = rng.range(1, Math.min(64, mtT.size * 8));
        bitOff = bitOff + rng.pick([0, 0, 1, 3, 7]);
      } else if (bits && this.m(0.3)) {
        bits = rng.chance(0.3) ? 0 : rng.range(1, 64);
        if (bits === 0) bitOff -= bitOff % 8;
      }
      if (this.m(0.15)) bitOff = Math.max(0, bitOff + rng.pick([-64, -32, -8, 8, 32, 64]));
      if (kind === Kind.UNION) bitOff = 0;
      const fk = lb.get(lb.skip(type))?.kind;
      if ((bits || bitOff % 8) && fk !== Kind.INT && fk !== Kind.ENUM && fk !== Kind.ENUM64 && rng.chance(0.97)) {
        // libbpf 1.1 divides by the container size of a bitfield (SIGFPE when it is 0)
        bits = 0;
        bitOff -= bitOff % 8;
      }
      if (bits === 0 && bitOff % 8) bits = rng.range(1, 8);
      members.push({ name: mname, type, bitOff, bits });
    }
    if (this.m(0.1)) {
      // an extra member that does not exist in the kernel
      members.push({ name: `btfgen_nx_${rng.int(100)}`, type: lb.intType(), bitOff: kind === Kind.UNION ? 0 : size * 8, bits: 0 });
    }
    if (this.m(0.1) && kind === Kind.STRUCT) {
      // wrap a few members into an anonymous struct/union member
      const n = Math.min(members.length, rng.range(1, 3));
      if (n > 0) {
        const at = rng.int(members.length - n + 1);
        const inner = members.splice(at, n);
        const base = Math.min(...inner.map((x) => x.bitOff));
        const innerKind = rng.chance(0.5) ? Kind.UNION : Kind.STRUCT;
        const innerMembers = inner.map((x) => ({ ...x, bitOff: innerKind === Kind.UNION ? 0 : x.bitOff - (base - (base % 8)) }));
        for (const x of innerMembers) if (x.bits === 0 && x.bitOff % 8) x.bits = 1;
        const anon = lb.add({ kind: innerKind, name: '', size: 16, members: innerMembers });
        members.splice(at, 0, { name: '', type: anon, bitOff: base - (base % 8), bits: 0 });
      }
    }
    const legacy = kind === Kind.STRUCT && this.m(0.03);
    lb.set(r, { kind, name, size, members, ...(legacy ? { legacy } : {}) });
    return r;
  }

  /** A member type: usually a copy, sometimes changed in a way that matters to CO-RE. */
  mutateMemberType(mt: number, depth: number, bits: number): number {
    const src = this.src;
    const lb = this.lb;
    const rng = this.rng;
    if (!this.m(0.4)) return this.copy(mt, depth);
    const sk = src.skipModsAndTypedefs(mt);
    const k = src.kind(sk);
    const choice = rng.weighted<string>([
      ['int', 3],
      ['ptr', 2],
      ['array', 2],
      ['composite', 1],
      ['enum', k === Kind.ENUM || k === Kind.ENUM64 ? 3 : 0],
      ['typedef', 2],
      ['float', 0.3],
      ['fwd', 0.3],
    ]);
    switch (choice) {
      case 'int': {
        const size = bits ? rng.pick([1, 2, 4, 8]) : rng.pick([1, 2, 4, 8]);
        return lb.intType(rng.pick(INT_NAMES), size, rng.chance(0.5));
      }
      case 'ptr':
        return lb.add({ kind: Kind.PTR, name: '', type: rng.chance(0.5) ? 0 : lb.intType() });
      case 'array': {
        const elem = k === Kind.ARRAY ? this.copy(src.arrayElem(sk), depth) : this.copy(mt, depth);
        return lb.add({ kind: Kind.ARRAY, elem, index: lb.intType(), nelems: rng.pick([0, 1, 2, 4, 16]) });
      }
      case 'composite':
        if (k === Kind.STRUCT || k === Kind.UNION) return this.copyComposite(sk, depth, this.srcName(sk));
        return lb.add({ kind: rng.chance(0.5) ? Kind.STRUCT : Kind.UNION, name: '', size: 8, members: [{ name: 'btfgen_x', type: lb.intType(), bitOff: 0, bits: 0 }] });
      case 'enum':
        return this.copyEnum(sk, this.srcName(sk), rng.chance(0.5) ? Kind.ENUM : Kind.ENUM64);
      case 'typedef':
        return lb.add({ kind: Kind.TYPEDEF, name: `btfgen_td_${rng.int(50)}`, type: this.copy(mt, depth) });
      case 'float':
        return lb.add({ kind: Kind.FLOAT, name: 'double', size: 8 });
      default: {
        const n = this.srcName(sk);
        return lb.add({ kind: Kind.FWD, name: n || 'btfgen_fwd', union: k === Kind.UNION });
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Relocation records

export interface GenRelo {
  typeId: number;
  access: string;
  kind: number;
}

const FIELD_KINDS: [number, number][] = [
  [ReloKind.FIELD_BYTE_OFFSET, 5],
  [ReloKind.FIELD_BYTE_SIZE, 2],
  [ReloKind.FIELD_EXISTS, 3],
  [ReloKind.FIELD_SIGNED, 1],
  [ReloKind.FIELD_LSHIFT_U64, 1],
  [ReloKind.FIELD_RSHIFT_U64, 1],
];
const TYPE_KINDS: [number, number][] = [
  [ReloKind.TYPE_EXISTS, 3],
  [ReloKind.TYPE_SIZE, 2],
  [ReloKind.TYPE_ID_TARGET, 2],
  [ReloKind.TYPE_ID_LOCAL, 1],
  [ReloKind.TYPE_MATCHES, 3],
];

/** A field access string valid for the local type `root` (usually). */
function fieldAccess(lb: LocalBtf, rng: Rng, root: number): string {
  const parts: number[] = [rng.chance(0.85) ? 0 : rng.range(1, 3)];
  if (rng.chance(0.04)) return `${parts[0]}`; // the root itself (pointer-as-array access)
  let cur = root;
  let prevNamedLast = false; // previous accessor: a named member that is its container's last
  for (let step = 0; step < 12; step++) {
    const t = lb.get(lb.skip(cur));
    if (!t) break;
    if (step > 0 && rng.chance(0.3)) break;
    if (t.kind === Kind.STRUCT || t.kind === Kind.UNION) {
      if (t.members.length === 0) break;
      const i = rng.int(t.members.length);
      parts.push(i);
      const m = t.members[i]!;
      prevNamedLast = m.name !== '' && i === t.members.length - 1;
      cur = m.type;
    } else if (t.kind === Kind.ARRAY) {
      if (t.nelems === 0) {
        if (!prevNamedLast) break;
        parts.push(rng.int(8));
      } else parts.push(rng.int(Math.min(t.nelems, 64)));
      prevNamedLast = false;
      cur = t.elem;
    } else break;
  }
  return parts.join(':');
}

/** An access string that libbpf rejects (or that is odd) for `root`. */
function badFieldAccess(lb: LocalBtf, rng: Rng, root: number): string {
  const good = fieldAccess(lb, rng, root).split(':').map(Number);
  switch (rng.int(5)) {
    case 0: {
      // member index out of range at the end
      const t = lb.get(lb.skip(root));
      const n = t && (t.kind === Kind.STRUCT || t.kind === Kind.UNION) ? t.members.length : 3;
      return `0:${n + rng.int(3)}`;
    }
    case 1:
      return [...good, 0, 0, 0].join(':'); // index into a non-array (usually)
    case 2:
      return Array(65).fill('0').join(':'); // too long
    case 3:
      return [...good.slice(0, -1), (good[good.length - 1] ?? 0) + 1000].join(':');
    default:
      return rng.pick(['', ':0', '0:', 'a', '0::0']);
  }
}

function pickKind(rng: Rng, w: [number, number][]): number {
  return rng.weighted(w);
}

/** Whether the last accessor of a (valid) field access string is an array accessor. */
function endsInArray(lb: LocalBtf, root: number, access: string): boolean {
  const parts = access.split(':').map(Number);
  let cur = root;
  let named = false;
  for (let i = 0; i < parts.length; i++) {
    if (i === 0) {
      named = false;
      continue;
    }
    const t = lb.get(lb.skip(cur));
    if (!t) return false;
    if (t.kind === Kind.STRUCT || t.kind === Kind.UNION) {
      const m = t.members[parts[i]!];
      if (!m) return false;
      if (m.name) named = true;
      cur = m.type;
    } else if (t.kind === Kind.ARRAY) {
      named = false;
      cur = t.elem;
    } else return false;
  }
  return !named;
}

/**
 * Records for the local root `id`. `bad` is the probability of a deliberately invalid record
 * (bad access string, unknown kind, kind that does not fit the root).
 */
export function relosFor(lb: LocalBtf, rng: Rng, id: number, n: number, bad = 0): GenRelo[] {
  const out: GenRelo[] = [];
  const t = lb.get(id);
  const sk = lb.get(lb.skip(id));
  for (let k = 0; k < n; k++) {
    const isBad = rng.chance(bad);
    if (isBad && rng.chance(0.15)) {
      out.push({ typeId: id, access: rng.pick(['0', '0:0']), kind: rng.pick([13, 42, 255]) });
      continue;
    }
    if (sk && (sk.kind === Kind.ENUM || sk.kind === Kind.ENUM64) && rng.chance(0.6)) {
      const vlen = sk.values.length;
      const kind = rng.chance(0.5) ? ReloKind.ENUMVAL_EXISTS : ReloKind.ENUMVAL_VALUE;
      // enumval access strings are the enumerator index alone
      let access = `${rng.int(Math.max(1, vlen))}`;
      if (isBad) access = rng.pick([`${vlen}`, `${vlen + 5}`, '0:0', '0:0:0', `1:0`, '']);
      out.push({ typeId: id, access, kind });
      continue;
    }
    const fieldable = sk && (sk.kind === Kind.STRUCT || sk.kind === Kind.UNION || sk.kind === Kind.ARRAY || sk.kind === Kind.PTR || sk.kind === Kind.INT);
    if (fieldable && rng.chance(sk.kind === Kind.STRUCT || sk.kind === Kind.UNION ? 0.7 : 0.2)) {
      let kind = pickKind(rng, FIELD_KINDS);
      const access = isBad ? badFieldAccess(lb, rng, id) : fieldAccess(lb, rng, id);
      if (!isBad && endsInArray(lb, id, access) && kind >= ReloKind.FIELD_SIGNED && rng.chance(0.98)) {
        kind = rng.pick([ReloKind.FIELD_BYTE_OFFSET, ReloKind.FIELD_BYTE_SIZE, ReloKind.FIELD_EXISTS]);
      }
      out.push({ typeId: id, access, kind });
      continue;
    }
    if (t && isBad && rng.chance(0.5)) {
      // enumval kind on a non-enum / field kind on a non-composite
      out.push({ typeId: id, access: rng.pick(['0', '0:0']), kind: rng.pick([ReloKind.ENUMVAL_EXISTS, ReloKind.FIELD_BYTE_OFFSET]) });
      continue;
    }
    const kind = pickKind(rng, TYPE_KINDS);
    out.push({ typeId: id, access: isBad ? rng.pick(['1', '0:0', '']) : '0', kind });
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Whole cases

export interface GenObject {
  lb: LocalBtf;
  /** Source (kernel) type IDs the roots were copied from. */
  sources: number[];
  /** How the ELF is written: normal, ELF32, without .BTF.ext, or with a .BTF.ext without CO-RE. */
  shape: 'elf64' | 'elf32' | 'no-ext' | 'no-core';
  /** Blocks of records (one block per "ELF section"). */
  blocks: GenRelo[][];
  notes: string[];
}

export interface GenCase {
  objects: GenObject[];
  /** A synthesized target BTF (mutated copies of the roots' kernel types), when asked for. */
  target?: LocalBtf;
  /** Human-readable summary of the roots. */
  notes: string[];
}

const ROOT_KINDS: [string, number][] = [
  ['struct', 40],
  ['union', 6],
  ['enum', 12],
  ['enum64', 3],
  ['typedef', 12],
  ['int', 3],
  ['func', 1.5],
  ['var', 1],
  ['fwd', 1],
  ['dup', 12],
  ['anon', 4],
  ['bits', 6],
  ['arrays', 6],
];

function pickSource(src: SourceIndex, rng: Rng): number | undefined {
  const what = rng.weighted(ROOT_KINDS);
  const list = (k: number) => src.byKind.get(k) ?? [];
  let l: number[];
  switch (what) {
    case 'struct':
      l = list(Kind.STRUCT);
      break;
    case 'union':
      l = list(Kind.UNION);
      break;
    case 'enum':
      l = list(Kind.ENUM);
      break;
    case 'enum64':
      l = list(Kind.ENUM64);
      if (!l.length) l = list(Kind.ENUM);
      break;
    case 'typedef':
      l = list(Kind.TYPEDEF);
      break;
    case 'int':
      l = list(Kind.INT);
      break;
    case 'func':
      l = list(Kind.FUNC);
      break;
    case 'var':
      l = list(Kind.VAR);
      break;
    case 'fwd':
      l = list(Kind.FWD);
      if (!l.length) l = list(Kind.STRUCT);
      break;
    case 'dup':
      l = src.dups;
      break;
    case 'anon':
      l = src.withAnon;
      break;
    case 'bits':
      l = src.withBits;
      break;
    default:
      l = src.withArrays;
  }
  if (!l.length) l = list(Kind.STRUCT);
  return l.length ? rng.pick(l) : undefined;
}

/** A local root made from kernel type `sid` (possibly renamed, wrong-kinded). */
function makeRoot(src: Btf, c: Copier, lb: LocalBtf, rng: Rng, sid: number, depth: number, flavor?: string): number {
  const k = src.kind(sid);
  const base = src.name(sid);
  const name = flavor ?? rootName(rng, base);
  const wrong = rng.chance(0.03);
  if (wrong) {
    // a completely different kind with the kernel's name
    switch (rng.int(4)) {
      case 0:
        return lb.add({ kind: Kind.INT, name, size: 4, enc: 1, bits: 32, off: 0 });
      case 1:
        return lb.add({ kind: Kind.ENUM, name, size: 4, signed: false, values: [{ name: 'A', val: 0 }] });
      case 2:
        return lb.add({ kind: Kind.TYPEDEF, name, type: lb.intType() });
      default:
        return lb.add({ kind: Kind.STRUCT, name, size: 8, members: [{ name: 'a', type: lb.intType(), bitOff: 0, bits: 0 }] });
    }
  }
  switch (k) {
    case Kind.STRUCT:
    case Kind.UNION:
      return c.copyComposite(sid, depth, name, { root: true, maxMembers: rng.chance(0.2) ? 64 : 16 });
    case Kind.ENUM:
    case Kind.ENUM64:
      return c.copyEnum(sid, name, rng.chance(0.2) ? (k === Kind.ENUM ? Kind.ENUM64 : Kind.ENUM) : undefined);
    case Kind.TYPEDEF: {
      const inner = c.copy(src.type(sid), depth);
      let target = inner;
      if (rng.chance(0.1)) target = lb.add({ kind: Kind.CONST, name: '', type: inner });
      return lb.add({ kind: Kind.TYPEDEF, name, type: target });
    }
    case Kind.FWD:
      return lb.add({ kind: Kind.FWD, name, union: src.kflag(sid) });
    case Kind.INT: {
      const id = c.copy(sid, 0);
      const t = lb.get(id)!;
      if ('name' in t) (t as { name: string }).name = name;
      return id;
    }
    case Kind.FUNC: {
      const id = c.copy(sid, Math.min(depth, 1));
      const t = lb.get(id)!;
      if ('name' in t) (t as { name: string }).name = name;
      return id;
    }
    case Kind.VAR: {
      const id = c.copy(sid, Math.min(depth, 1));
      const t = lb.get(id)!;
      if ('name' in t) (t as { name: string }).name = name;
      return id;
    }
    default:
      return c.copy(sid, depth);
  }
}

function genObject(src: SourceIndex, rng: Rng, nRelos: number, broken = false): GenObject {
  const lb = new LocalBtf();
  const mut = rng.weighted<number>([
    [0, 3],
    [0.05, 3],
    [0.15, 3],
    [0.35, 1],
  ]);
  const copier = new Copier(src.btf, lb, rng, { mut, budget: rng.pick([40, 120, 300]) });
  const notes: string[] = [`mutation rate ${mut}`];
  const roots: number[] = [];
  const sources: number[] = [];
  const nRoots = rng.range(1, 4);
  for (let i = 0; i < nRoots; i++) {
    const sid = pickSource(src, rng);
    if (sid === undefined) continue;
    const depth = rng.range(0, 4);
    const id = makeRoot(src.btf, copier, lb, rng, sid, depth);
    roots.push(id);
    sources.push(sid);
    notes.push(`root [${id}] ${KIND_NAMES[lb.get(id)!.kind]} '${lb.nameOf(id)}' from ${src.name} [${sid}] ${src.btf.kindName(sid)} '${src.btf.name(sid)}' depth ${depth}`);
    if (rng.chance(0.15)) {
      // a second flavor of the same kernel type
      const id2 = makeRoot(src.btf, copier, lb, rng, sid, depth, flavored(rng, src.btf.name(sid)));
      roots.push(id2);
      notes.push(`root [${id2}] second flavor '${lb.nameOf(id2)}'`);
    }
  }
  if (rng.chance(0.04)) {
    // an anonymous root (libbpf: -EOPNOTSUPP unless TYPE_ID_LOCAL)
    const id = lb.add({ kind: Kind.STRUCT, name: '', size: 4, members: [{ name: 'a', type: lb.intType(), bitOff: 0, bits: 0 }] });
    roots.push(id);
    notes.push(`root [${id}] anonymous struct`);
  }
  if (!roots.length) roots.push(lb.add({ kind: Kind.STRUCT, name: 'btfgen_nx', size: 4, members: [{ name: 'a', type: lb.intType(), bitOff: 0, bits: 0 }] }));
  // other named local types can be relocation roots too
  const named: number[] = [];
  for (let id = 1; id <= lb.count; id++) if (lb.nameOf(id)) named.push(id);
  const relos: GenRelo[] = [];
  const bad = rng.chance(0.2) ? 0.04 : 0;
  notes.push(`bad-record rate ${bad}`);
  while (relos.length < nRelos) {
    const root = rng.chance(0.8) || !named.length ? rng.pick(roots) : rng.pick(named);
    relos.push(...relosFor(lb, rng, root, Math.min(nRelos - relos.length, rng.range(1, 6)), bad));
  }
  if (rng.chance(0.01)) relos.push({ typeId: lb.count + 5, access: '0', kind: ReloKind.TYPE_EXISTS }); // bad type ID
  // split into 1-3 blocks
  const blocks: GenRelo[][] = [];
  const nb = Math.min(relos.length, rng.chance(0.8) ? 1 : rng.range(2, 3));
  let at = 0;
  for (let b = 0; b < nb; b++) {
    const end = b === nb - 1 ? relos.length : at + Math.max(1, rng.int(relos.length - at - (nb - b - 1)));
    blocks.push(relos.slice(at, end));
    at = end;
  }
  const shape = rng.weighted<GenObject['shape']>([
    ['elf64', 95],
    ['elf32', 3],
    ['no-ext', broken ? 1 : 0],
    ['no-core', broken ? 1 : 0],
  ]);
  if (shape !== 'elf64') notes.push(`shape ${shape}`);
  return { lb, blocks, notes, shape, sources };
}

/**
 * A synthesized target: 1-3 mutated copies of each root's kernel type (same name, a flavor, or
 * a duplicate), in random order, plus a few unrelated types. Exercises target-side shapes real
 * kernels lack: several candidates (pruning, ambiguity), flavored target names, legacy
 * bitfields, INT bit offsets, type tags, FWDs.
 */
export function generateTarget(src: SourceIndex, rng: Rng, sources: number[]): LocalBtf {
  const lb = new LocalBtf();
  const copier = new Copier(src.btf, lb, rng, { mut: rng.pick([0, 0.05, 0.15, 0.3]), budget: 400 });
  const jobs: [number, string | undefined][] = [];
  for (const sid of sources) {
    const n = rng.range(1, 3);
    const name = src.btf.name(sid);
    for (let i = 0; i < n; i++) jobs.push([sid, i === 0 && rng.chance(0.7) ? name : rng.chance(0.6) ? flavored(rng, name) : rng.chance(0.5) ? name : undefined]);
  }
  for (let i = rng.int(3); i > 0; i--) {
    const sid = pickSource(src, rng);
    if (sid !== undefined) jobs.push([sid, undefined]);
  }
  rng.shuffle(jobs);
  if (rng.chance(0.5)) lb.intType('long int', 8, true);
  const roots: number[] = [];
  for (const [sid, name] of jobs) roots.push(makeRoot(src.btf, copier, lb, rng, sid, rng.range(1, 4), name));
  if (rng.chance(0.3)) addCopies(lb, rng, roots);
  return lb;
}

/**
 * A non-deduplicated kernel's look (one copy of every type per compilation unit): 6-12 more
 * copies of each root, each a deep clone (new type IDs all the way down, pointers included) of
 * an earlier one, a third of them with one twist somewhere in the clone: a pointer pointing
 * elsewhere, a member moved or renamed or made a bitfield, an INT resized or signed, an array
 * resized. Long candidate lists of mostly alike candidates (src/minimize/shapes.ts), some of
 * them ambiguous.
 */
function addCopies(lb: LocalBtf, rng: Rng, roots: number[]): void {
  for (const root of roots) {
    const copies = [root];
    for (let n = rng.range(6, 12); n > 0; n--) {
      const memo = new Map<number, number>();
      const fresh = cloneType(lb, rng.pick(copies), memo);
      if (rng.chance(0.33)) twist(lb, rng, [...memo.values()]);
      copies.push(fresh);
    }
  }
}

/** A deep copy of `id` with new IDs for every type it reaches (`memo`: old ID -> new). */
function cloneType(lb: LocalBtf, id: number, memo: Map<number, number>): number {
  const t = lb.get(id);
  if (!t) return id; // void, or an ID past the end
  const known = memo.get(id);
  if (known !== undefined) return known;
  const at = lb.reserve();
  memo.set(id, at);
  const c = (x: number) => cloneType(lb, x, memo);
  switch (t.kind) {
    case Kind.PTR:
    case Kind.TYPEDEF:
    case Kind.CONST:
    case Kind.VOLATILE:
    case Kind.RESTRICT:
    case Kind.TYPE_TAG:
    case Kind.FUNC:
    case Kind.VAR:
      lb.set(at, { ...t, type: c(t.type) });
      break;
    case Kind.ARRAY:
      lb.set(at, { ...t, elem: c(t.elem), index: c(t.index) });
      break;
    case Kind.STRUCT:
    case Kind.UNION:
      lb.set(at, { ...t, members: t.members.map((m) => ({ ...m, type: c(m.type) })) });
      break;
    case Kind.FUNC_PROTO:
      lb.set(at, { ...t, ret: c(t.ret), params: t.params.map((p) => ({ ...p, type: c(p.type) })) });
      break;
    case Kind.ENUM:
      lb.set(at, { ...t, values: t.values.map((v) => ({ ...v })) });
      break;
    case Kind.ENUM64:
      lb.set(at, { ...t, values: t.values.map((v) => ({ ...v })) });
      break;
    default:
      lb.set(at, { ...t });
  }
  return at;
}

/** One small change to one of `ids` (types of a fresh clone). */
function twist(lb: LocalBtf, rng: Rng, ids: number[]): void {
  for (let tries = 0; tries < 8; tries++) {
    const id = rng.pick(ids);
    const t = lb.get(id)!;
    switch (t.kind) {
      case Kind.PTR:
        t.type = rng.pick(ids); // invisible to field relocations, not to type-based ones
        return;
      case Kind.INT:
        if (rng.chance(0.5)) t.enc ^= 1;
        else t.size = t.bits = t.size === 4 ? 8 : 4;
        if (t.bits > t.size * 8) t.bits = t.size * 8;
        return;
      case Kind.ARRAY:
        t.nelems = rng.pick([0, 1, t.nelems + 1]);
        return;
      case Kind.STRUCT:
      case Kind.UNION: {
        if (!t.members.length) continue;
        const m = rng.pick(t.members);
        const what = rng.int(3);
        if (what === 0) m.bitOff += 8 * rng.range(1, 4);
        else if (what === 1) m.name = m.name ? `${m.name}_x` : 'x';
        else m.bits = rng.range(1, 7);
        return;
      }
      default:
        continue;
    }
  }
}

/** The case for (seed, index): 1 (sometimes 2-3) objects, and a synthesized target if asked. */
export function generateCase(src: SourceIndex, seed: number, index: number, opts: { target?: boolean } = {}): GenCase {
  const rng = Rng.forCase(seed, index);
  const nObj = rng.chance(0.85) ? 1 : rng.range(2, 3);
  const objects: GenObject[] = [];
  for (let i = 0; i < nObj; i++) objects.push(genObject(src, rng, rng.range(1, 30), nObj > 1 && rng.chance(0.1)));
  const out: GenCase = { objects, notes: objects.flatMap((o, i) => o.notes.map((n) => `obj${i}: ${n}`)) };
  if (opts.target) out.target = generateTarget(src, Rng.forCase(seed ^ 0x7467, index), objects.flatMap((o) => o.sources));
  return out;
}

/** Raw BTF bytes of a synthesized target. */
export function targetBytes(t: LocalBtf): Uint8Array {
  return t.build().bytes();
}

/** A listing of a synthesized target's named types. */
export function describeTarget(t: LocalBtf): string {
  const lines: string[] = [];
  for (let id = 1; id <= t.count; id++) {
    const x = t.get(id)!;
    if (!('name' in x) || !x.name) continue;
    const extra = x.kind === Kind.STRUCT || x.kind === Kind.UNION ? ` size ${x.size} {${x.members.map((m) => `${m.name || '(anon)'}:[${m.type}]@${m.bitOff}${m.bits ? `:${m.bits}` : ''}`).join(', ')}}${x.legacy ? ' legacy' : ''}` : '';
    lines.push(`  [${id}] ${KIND_NAMES[x.kind]} '${x.name}'${extra}`);
  }
  return lines.join('\n');
}

/** Serializes a generated object (optionally with only some of its records) to ELF bytes. */
export function objectBytes(o: GenObject, keep?: (blockIdx: number, reloIdx: number) => boolean): Uint8Array {
  const tb = o.lb.build();
  const sec = tb.str('kprobe/synth');
  const blocks: { secNameOff: number; records: CoreReloSpec[] }[] = [];
  o.blocks.forEach((b, bi) => {
    const records: CoreReloSpec[] = [];
    b.forEach((r, ri) => {
      if (keep && !keep(bi, ri)) return;
      records.push({ insnOff: ri * 8, typeId: r.typeId, accessStrOff: tb.str(r.access), kind: r.kind });
    });
    if (records.length) blocks.push({ secNameOff: sec, records });
  });
  const noCore = o.shape === 'no-core' || !blocks.length;
  const ext = buildBtfExt(noCore ? [] : blocks, noCore ? { secNameOff: sec, typeId: 0 } : undefined);
  return buildObject(tb.bytes(), o.shape === 'no-ext' ? null : ext, { bits: o.shape === 'elf32' ? 32 : 64 });
}

const RELO_NAMES = ['byte_off', 'byte_sz', 'field_exists', 'signed', 'lshift_u64', 'rshift_u64', 'local_type_id', 'target_type_id', 'type_exists', 'type_size', 'enumval_exists', 'enumval_value', 'type_matches'];

/** A text listing of an object's records (for reproducer notes). */
export function describeObject(o: GenObject, keep?: (blockIdx: number, reloIdx: number) => boolean): string {
  const lines: string[] = [...o.notes];
  o.blocks.forEach((b, bi) =>
    b.forEach((r, ri) => {
      if (keep && !keep(bi, ri)) return;
      const t = o.lb.get(r.typeId);
      lines.push(`  block ${bi} relo ${ri}: kind ${r.kind} (${RELO_NAMES[r.kind] ?? '?'}) type [${r.typeId}] ${t ? KIND_NAMES[t.kind] : '?'} '${o.lb.nameOf(r.typeId)}' access "${r.access}"`);
    }),
  );
  return lines.join('\n');
}
