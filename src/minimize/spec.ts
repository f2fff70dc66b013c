// CO-RE specs: libbpf's struct bpf_core_spec, bpf_core_parse_spec(), bpf_core_spec_match() and
// bpf_core_match_member() (relo_core.c), ported literally: fixed 64-entry arrays with explicit
// lengths, u32 bit offsets, and the same push/pop order in the anonymous-member recursion.
import { Btf } from '../btf/btf.js';
import { skipMods } from './fast.js';
import { Kind, ReloKind, E2BIG, EINVAL, isEnumvalReloKind, isFieldReloKind, isTypeReloKind, kindStr } from '../btf/kinds.js';
import { essentialNameLen } from './candidates.js';
import { essentialLenAt, essentialNamesEqual, latin1, nameEquals, nameIsEmpty } from './names.js';
import { fieldsAreCompat, typesAreCompat, typesMatch } from './compat.js';

/** BPF_CORE_SPEC_MAX_LEN. */
export const SPEC_MAX_LEN = 64;

/** struct bpf_core_accessor. `name` is null for array accessors. */
export interface Accessor {
  typeId: number;
  idx: number;
  name: string | null;
}

/** struct bpf_core_spec, with the accessors as parallel arrays (no per-accessor objects). */
export class CoreSpec {
  btf: Btf;
  rootTypeId = 0;
  reloKind = 0;
  /** High-level accessors (spec[]): type ID, index, name (null for array accessors). */
  // Plain arrays, filled as entries are pushed (at most SPEC_MAX_LEN): small on-heap arrays are
  // far cheaper to allocate than 64-entry typed arrays, and only entries below len / rawLen are
  // ever read. Values are stored already normalized (u32 IDs and indices, int raw entries).
  readonly accTypeId: number[] = [];
  readonly accIdx: number[] = [];
  readonly accName: (string | null)[] = [];
  /** latin1 bytes of accName (local specs only; used for byte-level name matching). */
  readonly accNameBytes: (Uint8Array | null)[] = [];
  len = 0;
  /** Low-level spec (one entry per access-string element, anonymous members included). */
  readonly rawSpec: number[] = [];
  rawLen = 0;
  /** u32, wrapping like the C field. */
  bitOffset = 0;

  constructor(btf: Btf) {
    this.btf = btf;
  }

  /**
   * memset(spec, 0) + spec->btf = btf. Entries past `len` / `rawLen` are never read (every
   * push writes all fields of its slot), so only the scalars are cleared.
   */
  reset(btf: Btf): void {
    this.btf = btf;
    this.rootTypeId = 0;
    this.reloKind = 0;
    this.len = 0;
    this.rawLen = 0;
    this.bitOffset = 0;
  }

  /** Struct assignment (`*dst = *src`), for the meaningful prefix. */
  copyFrom(o: CoreSpec): void {
    this.btf = o.btf;
    this.rootTypeId = o.rootTypeId;
    this.reloKind = o.reloKind;
    for (let i = 0; i < o.len; i++) {
      this.accTypeId[i] = o.accTypeId[i]!;
      this.accIdx[i] = o.accIdx[i]!;
      this.accName[i] = o.accName[i]!;
      this.accNameBytes[i] = o.accNameBytes[i]!;
    }
    this.len = o.len;
    for (let i = 0; i < o.rawLen; i++) this.rawSpec[i] = o.rawSpec[i]!;
    this.rawLen = o.rawLen;
    this.bitOffset = o.bitOffset;
  }

  clone(): CoreSpec {
    const c = new CoreSpec(this.btf);
    c.copyFrom(this);
    return c;
  }

  /** Accessor `i` as an object. */
  accessor(i: number): Accessor {
    return { typeId: this.accTypeId[i]!, idx: this.accIdx[i]!, name: this.accName[i] ?? null };
  }

  /** The low-level spec as a plain array. */
  raw(): number[] {
    return this.rawSpec.slice(0, this.rawLen);
  }
}

/** Low 32 bits of a * b * c for integer operands (C's wrapping u32 arithmetic). */
export function mulU32(a: number, b: number, c: number): number {
  return Math.imul(Math.imul(a | 0, b | 0), c | 0) >>> 0;
}

/** btf__name_by_offset(): the string, or null for an invalid offset. */
export function nameByOffset(btf: Btf, off: number): string | null {
  return btf.validStr(off) ? btf.str(off) : null;
}

/** is_flex_arr(): array with 0 elements that is the last member of the named accessor's struct. */
function isFlexArr(btf: Btf, spec: CoreSpec, i: number, nelems: number): boolean {
  if (i < 0 || spec.accName[i] === null || nelems > 0) return false;
  return spec.accIdx[i] === btf.vlen(spec.accTypeId[i]!) - 1;
}

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * sscanf(s + pos, "%d%n"): returns [value, charsConsumed] or null when no integer is there.
 * glibc converts with strtol (saturating at LONG_MIN/LONG_MAX) and stores the low 32 bits.
 */
function scanInt(s: string, pos: number): [number, number] | null {
  let p = pos;
  while (p < s.length && isSpace(s.charCodeAt(p))) p++;
  let neg = false;
  if (p < s.length && (s[p] === '+' || s[p] === '-')) {
    neg = s[p] === '-';
    p++;
  }
  const d0 = p;
  while (p < s.length && s.charCodeAt(p) >= 0x30 && s.charCodeAt(p) <= 0x39) p++;
  if (p === d0) return null;
  let v: bigint;
  if (p - d0 <= 15) {
    const n = Number(s.slice(d0, p));
    v = BigInt(neg ? -n : n);
  } else {
    v = BigInt(s.slice(d0, p));
    if (neg) v = -v;
    if (v > LONG_MAX) v = LONG_MAX;
    if (v < LONG_MIN) v = LONG_MIN;
  }
  return [Number(BigInt.asIntN(32, v)), p - pos];
}

export interface ReloInput {
  typeId: number;
  accessStrOff: number;
  kind: number;
}

/**
 * bpf_core_parse_spec(): fills `spec` from the relocation's access string. Returns 0 or a
 * negative errno. `warn` receives libbpf's pr_warn text when it would print one.
 *
 * Deviation (documented): a negative struct-member or enumerator index makes libbpf 1.1 read
 * out of bounds; we return -EINVAL there, as libbpf >= 1.8 does for every negative index.
 */
export function parseSpec(btf: Btf, relo: ReloInput, spec: CoreSpec, warn?: (msg: string) => void): number {
  const specStr = nameByOffset(btf, relo.accessStrOff);
  if (specStr === null || specStr === '' || specStr[0] === ':') return -EINVAL;

  spec.reset(btf);
  spec.rootTypeId = relo.typeId;
  spec.reloKind = relo.kind;

  if (isTypeReloKind(relo.kind)) {
    if (specStr !== '0') return -EINVAL;
    return 0;
  }

  // "0:1:2:3" -> raw_spec [0, 1, 2, 3]
  let p = 0;
  while (p < specStr.length) {
    if (specStr[p] === ':') ++p;
    const r = scanInt(specStr, p);
    if (r === null) return -EINVAL;
    if (spec.rawLen === SPEC_MAX_LEN) return -E2BIG;
    p += r[1];
    spec.rawSpec[spec.rawLen++] = r[0];
  }
  if (spec.rawLen === 0) return -EINVAL;

  if (relo.typeId >= btf.typeCount) return -EINVAL;
  let id = skipMods(btf, relo.typeId);
  let accessIdx = spec.rawSpec[0]!;
  spec.accTypeId[0] = id;
  spec.accIdx[0] = accessIdx >>> 0;
  spec.accName[0] = null;
  spec.accNameBytes[0] = null;
  spec.len++;

  if (isEnumvalReloKind(relo.kind)) {
    const k = btf.kind(id);
    if ((k !== Kind.ENUM && k !== Kind.ENUM64) || spec.rawLen > 1 || accessIdx < 0 || accessIdx >= btf.vlen(id))
      return -EINVAL;
    const en = nameByOffset(btf, btf.enumNameOff(id, accessIdx));
    spec.accName[0] = en;
    spec.accNameBytes[0] = en === null ? null : latin1(en);
    return 0;
  }

  if (!isFieldReloKind(relo.kind)) return -EINVAL;

  let sz = btf.resolveSize(id);
  if (sz < 0) return sz;
  spec.bitOffset = mulU32(accessIdx, sz, 8);

  for (let i = 1; i < spec.rawLen; i++) {
    id = skipMods(btf, id);
    const k = btf.kind(id);
    accessIdx = spec.rawSpec[i]!;

    if (k === Kind.STRUCT || k === Kind.UNION) {
      if (accessIdx < 0 || accessIdx >= btf.vlen(id)) return -EINVAL;
      spec.bitOffset = (spec.bitOffset + btf.memberBitOffset(id, accessIdx)) >>> 0;
      const mNameOff = btf.memberNameOff(id, accessIdx);
      if (mNameOff) {
        const name = nameByOffset(btf, mNameOff);
        if (name === null || name === '') return -EINVAL;
        spec.accTypeId[spec.len] = id;
        spec.accIdx[spec.len] = accessIdx;
        spec.accName[spec.len] = name;
        spec.accNameBytes[spec.len] = latin1(name);
        spec.len++;
      }
      id = btf.memberType(id, accessIdx);
    } else if (k === Kind.ARRAY) {
      const nelems = btf.arrayNelems(id);
      const elem = skipMods(btf, btf.arrayElem(id));
      const flex = isFlexArr(btf, spec, spec.len - 1, nelems);
      // C compares the int index with the u32 nelems as unsigned.
      if (!flex && accessIdx >>> 0 >= nelems) return -EINVAL;
      id = elem;
      spec.accTypeId[spec.len] = id;
      spec.accIdx[spec.len] = accessIdx >>> 0;
      spec.accName[spec.len] = null;
      spec.accNameBytes[spec.len] = null;
      spec.len++;
      sz = btf.resolveSize(id);
      if (sz < 0) return sz;
      spec.bitOffset = (spec.bitOffset + mulU32(accessIdx, sz, 8)) >>> 0;
    } else {
      const nm = nameByOffset(btf, btf.nameOff(relo.typeId));
      warn?.(
        `relo for [${relo.typeId}] ${nm ?? ''} (at idx ${i}) captures type [${id}] of unexpected kind ${kindStr(btf.kind(id))}`,
      );
      return -EINVAL;
    }
  }
  return 0;
}

/**
 * bpf_core_match_member(): finds the local named member in target composite `targId`,
 * recursing into anonymous members; maintains the target's raw spec and bit offset.
 * Returns [result, nextTargId] (1 found, 0 not found, < 0 error).
 */
function matchMember(
  localBtf: Btf,
  localAccType: number,
  localAccIdx: number,
  localName: Uint8Array,
  localNameStr: string,
  targBtf: Btf,
  targIdIn: number,
  spec: CoreSpec,
  next: { id: number },
): number {
  const targId = skipMods(targBtf, targIdIn);
  const tk = targBtf.kind(targId);
  if (tk !== Kind.STRUCT && tk !== Kind.UNION) return 0;

  const localMemberType = localBtf.memberType(localAccType, localAccIdx);
  const n = targBtf.vlen(targId);

  // Member by member, as libbpf does; but a composite met again (non-deduplicated kernels have
  // hundreds of copies of each struct, each visited by every relocation) gets a name index, and
  // runs of non-matching named members are skipped: they only push and pop (a net no-op) after
  // the raw_len == BPF_CORE_SPEC_MAX_LEN check, which is kept.
  const mi = memberIndex(targBtf, targId, n);
  if (mi) {
    const found = mi.named.get(localNameStr);
    const iN = found === undefined ? n : found;
    let prev = 0;
    const anon = mi.anon;
    for (let k = 0; k < anon.length; k++) {
      const a = anon[k]!;
      if (a >= iN) break;
      if (a > prev && spec.rawLen === SPEC_MAX_LEN) return -E2BIG;
      const r = matchOne(localBtf, localMemberType, localAccType, localAccIdx, localName, localNameStr, targBtf, targId, a, true, spec, next);
      if (r !== NOT_HERE) return r;
      prev = a + 1;
    }
    if (iN > prev && spec.rawLen === SPEC_MAX_LEN) return -E2BIG;
    if (iN < n) return matchOne(localBtf, localMemberType, localAccType, localAccIdx, localName, localNameStr, targBtf, targId, iN, false, spec, next);
    return 0;
  }
  if (!targBtf.base) {
    // base BTF: read member name offsets from the words and reject on the first byte
    const words = targBtf.words;
    const h = targBtf.header;
    const raw = targBtf.raw;
    const ss = h.hdrLen + h.strOff;
    const sl = h.strLen;
    const c0 = localName[0];
    for (let i = 0, p = targBtf.offsets[targId - 1]! + 3; i < n; i++, p += 3) {
      const off = words[p]!;
      let anonymous = true;
      if (off !== 0 && off < sl) {
        const b0 = raw[ss + off];
        if (b0 !== 0) {
          if (b0 !== c0 || !nameEquals(targBtf, off, localName)) {
            if (spec.rawLen === SPEC_MAX_LEN) return -E2BIG;
            continue;
          }
          anonymous = false;
        }
      }
      const r = matchOne(localBtf, localMemberType, localAccType, localAccIdx, localName, localNameStr, targBtf, targId, i, anonymous, spec, next);
      if (r !== NOT_HERE) return r;
    }
    return 0;
  }
  for (let i = 0; i < n; i++) {
    const targNameOff = targBtf.memberNameOff(targId, i);
    const anonymous = nameIsEmpty(targBtf, targNameOff);
    if (!anonymous && !nameEquals(targBtf, targNameOff, localName)) {
      // speculative push and pop of a non-matching member: only the depth check remains
      if (spec.rawLen === SPEC_MAX_LEN) return -E2BIG;
      continue;
    }
    const r = matchOne(localBtf, localMemberType, localAccType, localAccIdx, localName, localNameStr, targBtf, targId, i, anonymous, spec, next);
    if (r !== NOT_HERE) return r;
  }
  return 0;
}

/** matchOne(): this member was not the one (the loop goes on). */
const NOT_HERE = 0x7fffffff;

/**
 * One iteration of bpf_core_match_member()'s loop for member `i` that is anonymous or carries
 * the local name: push, recurse or compare, and pop when the loop goes on.
 */
function matchOne(
  localBtf: Btf,
  localMemberType: number,
  localAccType: number,
  localAccIdx: number,
  localName: Uint8Array,
  localNameStr: string,
  targBtf: Btf,
  targId: number,
  i: number,
  anonymous: boolean,
  spec: CoreSpec,
  next: { id: number },
): number {
  const bitOffset = targBtf.memberBitOffset(targId, i);
  if (spec.rawLen === SPEC_MAX_LEN) return -E2BIG;

  // speculate this member will be the good one
  spec.bitOffset = (spec.bitOffset + bitOffset) >>> 0;
  spec.rawSpec[spec.rawLen++] = i;

  const mType = targBtf.memberType(targId, i);
  if (anonymous) {
    // embedded struct/union, we need to go deeper
    const found = matchMember(localBtf, localAccType, localAccIdx, localName, localNameStr, targBtf, mType, spec, next);
    if (found) return found;
  } else {
    spec.accTypeId[spec.len] = targId;
    spec.accIdx[spec.len] = i;
    spec.accName[spec.len] = localNameStr;
    spec.accNameBytes[spec.len] = null;
    spec.len++;
    next.id = mType;
    const found = fieldsAreCompat(localBtf, localMemberType, targBtf, mType);
    if (!found) spec.len--; // pop accessor
    return found;
  }
  // member turned out not to be what we looked for
  spec.bitOffset = (spec.bitOffset - bitOffset) >>> 0;
  spec.rawLen--;
  return NOT_HERE;
}

interface MemberIndex {
  /** First member index of each member name. */
  named: Map<string, number>;
  /** Indices of anonymous members (empty or invalid name), ascending. */
  anon: number[];
}

/** Per target BTF: visit counts of composites, or their index once built. */
const memberIndexes = new WeakMap<Btf, Map<number, MemberIndex | number>>();
/**
 * Per target BTF: built indexes by a hash of their composite's member name offsets. An index
 * depends on those offsets alone, and a non-deduplicated kernel has hundreds of copies of each
 * struct with the very same ones: the copies share one index instead of building their own.
 */
const sharedIndexes = new WeakMap<Btf, Map<number, { offs: Uint32Array; mi: MemberIndex }[]>>();

function memberNameOffs(btf: Btf, id: number, n: number): Uint32Array {
  const offs = new Uint32Array(n);
  for (let i = 0; i < n; i++) offs[i] = btf.memberNameOff(id, i);
  return offs;
}

function hashOffs(offs: Uint32Array): number {
  let h = 0x811c9dc5 ^ offs.length;
  for (let i = 0; i < offs.length; i++) h = Math.imul(h ^ offs[i]!, 0x01000193);
  return h >>> 0;
}

function sameOffs(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Visits after which a composite with many members gets a name index. */
const INDEX_AFTER = 6;
const INDEX_MIN_MEMBERS = 24;

/** The member-name index of a large, often visited composite (undefined until then). */
function memberIndex(btf: Btf, id: number, n: number): MemberIndex | undefined {
  if (n < INDEX_MIN_MEMBERS) return undefined;
  let m = memberIndexes.get(btf);
  if (!m) memberIndexes.set(btf, (m = new Map()));
  const e = m.get(id);
  if (e === undefined || typeof e === 'number') {
    const visits = (e ?? 0) + 1;
    if (visits < INDEX_AFTER) {
      m.set(id, visits);
      return undefined;
    }
  } else return e;
  const offs = memberNameOffs(btf, id, n);
  const h = hashOffs(offs);
  let shared = sharedIndexes.get(btf);
  if (!shared) sharedIndexes.set(btf, (shared = new Map()));
  let bucket = shared.get(h);
  if (!bucket) shared.set(h, (bucket = []));
  for (const b of bucket) {
    if (sameOffs(b.offs, offs)) {
      m.set(id, b.mi);
      return b.mi;
    }
  }
  const named = new Map<string, number>();
  const anon: number[] = [];
  for (let i = 0; i < n; i++) {
    const off = btf.memberNameOff(id, i);
    if (nameIsEmpty(btf, off)) anon.push(i);
    else {
      const name = btf.str(off);
      if (!named.has(name)) named.set(name, i);
    }
  }
  const mi = { named, anon };
  m.set(id, mi);
  bucket.push({ offs, mi });
  return mi;
}

/** Name offset of the local enumerator a local enumval spec points at. */
function localEnumNameOff(local: CoreSpec): number {
  return local.btf.enumNameOff(local.accTypeId[0]!, local.accIdx[0]!);
}

/**
 * bpf_core_spec_match(): tries to match `local` against target type `targId`, filling `targ`.
 * Returns 1 (match), 0 (no match) or a negative errno.
 */
export function specMatch(local: CoreSpec, targBtf: Btf, targIdIn: number, targ: CoreSpec): number {
  targ.reset(targBtf);
  targ.rootTypeId = targIdIn;
  targ.reloKind = local.reloKind;
  let targId = targIdIn;

  if (isTypeReloKind(local.reloKind)) {
    if (local.reloKind === ReloKind.TYPE_MATCHES) return typesMatch(local.btf, local.rootTypeId, targBtf, targId);
    return typesAreCompat(local.btf, local.rootTypeId, targBtf, targId);
  }

  if (isEnumvalReloKind(local.reloKind)) {
    targId = skipMods(targBtf, targId);
    const k = targBtf.kind(targId);
    if (k !== Kind.ENUM && k !== Kind.ENUM64) return 0;
    const n = targBtf.vlen(targId);
    const localLen = essentialNameLen(local.accName[0] ?? '');
    for (let i = 0; i < n; i++) {
      const off = targBtf.enumNameOff(targId, i);
      // essential lengths equal and strncmp == 0 (an anonymous name never matches a named one)
      if (essentialLenAt(targBtf, off) !== localLen) continue;
      if (essentialNamesEqual(local.btf, localEnumNameOff(local), targBtf, off)) {
        targ.accTypeId[0] = targId;
        targ.accIdx[0] = i;
        targ.accName[0] = nameByOffset(targBtf, off) ?? '';
        targ.accNameBytes[0] = null;
        targ.len++;
        targ.rawSpec[targ.rawLen] = i;
        targ.rawLen++;
        return 1;
      }
    }
    return 0;
  }

  if (!isFieldReloKind(local.reloKind)) return -EINVAL;

  const next = { id: 0 };
  for (let i = 0; i < local.len; i++) {
    const localIdx = local.accIdx[i]!;
    targId = skipMods(targBtf, targId);

    if (local.accName[i] !== null) {
      next.id = targId;
      const lname = local.accName[i]!;
      const matched = matchMember(local.btf, local.accTypeId[i]!, localIdx, local.accNameBytes[i] ?? latin1(lname), lname, targBtf, targId, targ, next);
      if (matched <= 0) return matched;
      targId = next.id;
    } else {
      // for i=0, targ_id is already treated as array element type (because it's the original
      // struct), for others we should find array element type first
      if (i > 0) {
        if (targBtf.kind(targId) !== Kind.ARRAY) return 0;
        const nelems = targBtf.arrayNelems(targId);
        const flex = isFlexArr(targBtf, targ, i - 1, nelems);
        if (!flex && localIdx >= nelems) return 0;
        targId = skipMods(targBtf, targBtf.arrayElem(targId));
      }
      if (targ.rawLen === SPEC_MAX_LEN) return -E2BIG;
      targ.accTypeId[i] = targId;
      targ.accIdx[i] = localIdx;
      targ.accName[i] = null;
      targ.accNameBytes[i] = null;
      targ.len++;
      targ.rawSpec[targ.rawLen] = localIdx | 0;
      targ.rawLen++;

      const sz = targBtf.resolveSize(targId);
      if (sz < 0) return sz;
      // C: int sz, so the product wraps in 32 bits
      targ.bitOffset = (targ.bitOffset + mulU32(localIdx, sz, 8)) >>> 0;
    }
  }
  return 1;
}
