// Candidate search: libbpf's bpf_core_essential_name_len() and bpf_core_add_cands() (libbpf.c),
// with a per-target essential-name index instead of one linear scan per local root type.
// The index keeps target IDs in ascending order, so lookups return exactly the list libbpf's
// scan `for (i = targ_start_id; i < n; i++)` would build.
import type { Btf, RecordSieve } from '../btf/btf.js';
import { Kind } from '../btf/kinds.js';
import { latin1 } from './names.js';

/** bpf_core_is_flavor_sep(): `X___Y` with X and Y not underscores, at byte `i`. */
function isFlavorSep(s: string, i: number): boolean {
  return (
    s.charCodeAt(i) !== 0x5f &&
    s.charCodeAt(i + 1) === 0x5f &&
    s.charCodeAt(i + 2) === 0x5f &&
    s.charCodeAt(i + 3) === 0x5f &&
    s.charCodeAt(i + 4) !== 0x5f
  );
}

/**
 * bpf_core_essential_name_len(): length of `name` without its right-most `___flavor` suffix.
 * `task_struct___old` -> 11, `a___b___c` -> 5, `foo____bar` -> 10 (no flavor), `` -> 0.
 */
export function essentialNameLen(name: string): number {
  const n = name.length;
  for (let i = n - 5; i >= 0; i--) if (isFlavorSep(name, i)) return i + 1;
  return n;
}

/** The essential name itself (the flavor-less prefix). */
export function essentialName(name: string): string {
  return name.slice(0, essentialNameLen(name));
}

/** Same as essentialNameLen() over raw bytes [s, e) (names are bytes; libbpf uses strlen). */
function essentialLenBytes(b: Uint8Array, s: number, e: number): number {
  for (let i = e - 5; i >= s; i--) {
    if (b[i] !== 0x5f && b[i + 1] === 0x5f && b[i + 2] === 0x5f && b[i + 3] === 0x5f && b[i + 4] !== 0x5f) {
      return i + 1 - s;
    }
  }
  return e - s;
}

/** btf_kind_core_compat(): same kind, or both enums (ENUM <-> ENUM64). */
export function kindCoreCompat(a: number, b: number): boolean {
  return a === b || ((a === Kind.ENUM || a === Kind.ENUM64) && (b === Kind.ENUM || b === Kind.ENUM64));
}

function fnv1a(b: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

/** The kind a candidate must have, up to btf_kind_core_compat (ENUM64 counts as ENUM). */
export function kindClass(kind: number): number {
  return kind === Kind.ENUM64 ? Kind.ENUM : kind;
}

/** Index key of a local root: its kind class and essential name. */
export function rootKey(localKind: number, essName: string): string {
  return `${kindClass(localKind)}:${essName}`;
}

function splitKey(key: string): [number, string] {
  const c = key.indexOf(':');
  return [Number(key.slice(0, c)), key.slice(c + 1)];
}

/** Layers of a (possibly split) BTF from the base upwards. */
function layers(btf: Btf): Btf[] {
  const out: Btf[] = [];
  for (let b: Btf | undefined = btf; b; b = b.base) out.unshift(b);
  return out;
}

interface Wanted {
  key: string;
  bytes: Uint8Array;
}

/**
 * The names a candidate search looks for (root keys, rootKey()), as a RecordSieve: the parse
 * of a target can apply it in its own pass over the records (prepareTarget's `roots`), else
 * CandidateIndex applies it in a pass of its own. A name passes when it may have a wanted
 * essential name: its first two bytes are those of a wanted name, its bytes at L-1 and L/2 are
 * those of a wanted name of length L, and its byte at L ends it (NUL) or starts a flavor suffix
 * ('_'). Most names are rejected on a few byte reads; collect() hashes and compares the rest.
 */
export class NameSieve implements RecordSieve {
  /** Kinds looked at: the wanted kind classes (ENUM64 with ENUM). */
  readonly kinds: number;
  /** Every wanted key. */
  readonly keys: ReadonlySet<string>;
  /** Per kind class: FNV-1a hash of the essential name -> wanted entries (bytes verified on a hit). */
  readonly byClass = new Map<number, Map<number, Wanted[]>>();
  /** First two bytes -> index into `shapes` of [count, (L, byte L-1, byte L/2)...], or -1. */
  private readonly prefixSlot = new Int32Array(65536).fill(-1);
  private readonly shapes: Int32Array;

  private constructor(keys: readonly string[]) {
    this.keys = new Set(keys);
    const shapes = new Map<number, Set<number>>();
    const addShape = (prefix: number, bytes: Uint8Array) => {
      let l = shapes.get(prefix);
      if (!l) shapes.set(prefix, (l = new Set()));
      const n = bytes.length;
      l.add(n * 65536 + bytes[n - 1]! * 256 + bytes[n >> 1]!);
    };
    let kinds = 0;
    for (const key of this.keys) {
      const [cls, name] = splitKey(key);
      if (name === '' || cls < 0 || cls > 31) continue;
      kinds |= 1 << cls;
      if (cls === Kind.ENUM) kinds |= 1 << Kind.ENUM64;
      const bytes = latin1(name);
      if (bytes.length >= 2) addShape((bytes[0]! << 8) | bytes[1]!, bytes);
      else for (let c = 0; c < 256; c++) addShape((bytes[0]! << 8) | c, bytes);
      const h = fnv1a(bytes, 0, bytes.length);
      let m = this.byClass.get(cls);
      if (!m) this.byClass.set(cls, (m = new Map()));
      let l = m.get(h);
      if (!l) m.set(h, (l = []));
      l.push({ key, bytes });
    }
    this.kinds = kinds;
    const flat: number[] = [];
    for (const [prefix, set] of shapes) {
      this.prefixSlot[prefix] = flat.length;
      flat.push(set.size);
      for (const v of set) flat.push(v >>> 16, (v >>> 8) & 0xff, v & 0xff);
    }
    this.shapes = Int32Array.from(flat);
  }

  private static last: { id: string; sieve: NameSieve } | undefined;

  /** The sieve for `keys` (made once for the same keys in a row: a pack asks per kernel). */
  static of(keys: Iterable<string>): NameSieve {
    const list = [...new Set(keys)].sort();
    const id = list.join('\n');
    if (NameSieve.last?.id !== id) NameSieve.last = { id, sieve: new NameSieve(list) };
    return NameSieve.last.sieve;
  }

  /** Whether every one of `keys` is wanted. */
  covers(keys: Iterable<string>): boolean {
    for (const k of keys) if (!this.keys.has(k)) return false;
    return true;
  }

  mayWant(raw: Uint8Array, s: number): boolean {
    const slot = this.prefixSlot[(raw[s]! << 8) | raw[s + 1]!]!;
    if (slot < 0) return false;
    const shapes = this.shapes;
    const end = slot + 1 + 3 * shapes[slot]!;
    for (let k = slot + 1; k < end; k += 3) {
      const len = shapes[k]!;
      const c = raw[s + len];
      if ((c === 0 || c === 0x5f) && raw[s + len - 1] === shapes[k + 1] && raw[s + (len >> 1)] === shapes[k + 2]) return true;
    }
    return false;
  }
}

const EMPTY = new Int32Array(0);

/**
 * Candidate index of one target BTF, keyed by (kind class, essential name) of local roots.
 * Built incrementally: `ensure(keys)` indexes the keys not yet known with one pass over the
 * types of the wanted kinds (names hashed straight from the string bytes), so a set of objects
 * costs one pass per target however many root types it has; none at all when the target's
 * parse already picked out the types that may carry them (prepareTarget's `roots`). Every list
 * is kind-filtered and in ascending ID order: exactly what libbpf's linear scan in
 * bpf_core_add_cands() collects.
 */
export class CandidateIndex {
  private readonly lists = new Map<string, Int32Array>();
  /** Set when every key of the target has been indexed. */
  private complete = false;

  constructor(readonly target: Btf) {}

  /**
   * Indexes `keys` (from rootKey()) that are not indexed yet, with every other key of the sieve
   * that finds them (the one the target's parse applied, when it wants them all).
   */
  ensure(keys: Iterable<string>): void {
    if (this.complete) return;
    const missing: string[] = [];
    for (const k of keys) if (!this.lists.has(k)) missing.push(k);
    if (missing.length === 0) return;
    const parsed = this.target.sieved?.sieve;
    const sieve = parsed instanceof NameSieve && parsed.covers(missing) ? parsed : NameSieve.of(missing);
    const found = this.scan(sieve);
    for (const k of sieve.keys) {
      if (this.lists.has(k)) continue;
      const l = found.get(k);
      this.lists.set(k, l ? Int32Array.from(l) : EMPTY);
    }
  }

  /** Indexes every named type of the target (when the roots are not known ahead). */
  ensureAll(): void {
    if (this.complete) return;
    const acc = new Map<string, number[]>();
    const t = this.target;
    for (let id = 1; id < t.typeCount; id++) {
      const off = t.nameOff(id);
      if (off === 0 || !t.validStr(off)) continue;
      const name = t.str(off);
      if (name === '') continue;
      const key = rootKey(t.kind(id), essentialName(name));
      let l = acc.get(key);
      if (!l) acc.set(key, (l = []));
      l.push(id);
    }
    for (const [k, v] of acc) if (!this.lists.has(k)) this.lists.set(k, Int32Array.from(v));
    this.complete = true;
  }

  /**
   * bpf_core_add_cands(local, essent_len, targ_btf, "vmlinux", 1, cands): the target IDs that
   * are kind-compatible with the (unskipped) local root kind and carry the same essential name,
   * ascending. Returns a fresh array the caller may prune in place.
   */
  candidates(localKind: number, essName: string): number[] {
    if (essName === '') return [];
    const key = rootKey(localKind, essName);
    let l = this.lists.get(key);
    if (l === undefined) {
      if (this.complete) return [];
      this.ensure([key]);
      l = this.lists.get(key) ?? EMPTY;
    }
    return Array.from(l);
  }

  /**
   * The IDs of every key of `sieve`: the records it keeps in each layer (found by the layer's
   * parse, or in a pass here), each name hashed up to its NUL (its essential part, past a
   * `___flavor`) and compared with the wanted names of its kind class.
   */
  private scan(sieve: NameSieve): Map<string, number[]> {
    const out = new Map<string, number[]>();
    if (sieve.kinds === 0) return out;
    for (const layer of layers(this.target)) {
      const kept = layer.keptBy(sieve);
      this.collect(layer, kept, sieve, out);
    }
    return out;
  }

  private collect(layer: Btf, kept: Int32Array, sieve: NameSieve, out: Map<string, number[]>): void {
    const raw = layer.raw;
    const strStart = layer.header.hdrLen + layer.header.strOff;
    const strEnd = strStart + layer.header.strLen;
    const words = layer.words;
    const offs = layer.offsets;
    const startStr = layer.startStrOff;
    // Per name offset and kind class, the list of the key it matched (null: none): a
    // non-deduplicated kernel names hundreds of copies of a struct by one string.
    const known = new Map<number, number[] | null>();
    for (let j = 0; j < kept.length; j++) {
      const i = kept[j]!;
      const w = offs[i]!;
      const kind = (words[w + 1]! >>> 24) & 0x7f;
      const nameOff = words[w]!;
      const id = layer.startId + i;
      if (nameOff < startStr) {
        // a split type named by a base string: resolved the slow way (rare)
        this.slowCheck(id, kind, nameOff, sieve.keys, out);
        continue;
      }
      const memo = nameOff * 32 + kindClass(kind);
      const hit = known.get(memo);
      if (hit !== undefined) {
        hit?.push(id);
        continue;
      }
      known.set(memo, null);
      const s = strStart + (nameOff - startStr);
      // hash the name up to its NUL, noting runs of 3+ underscores (possible flavor)
      let h = 0x811c9dc5;
      let run = 0;
      let flavor = false;
      let e = s;
      for (; e < strEnd; e++) {
        const c = raw[e]!;
        if (c === 0) break;
        h = Math.imul(h ^ c, 0x01000193);
        if (c === 0x5f) {
          if (++run >= 3) flavor = true;
        } else run = 0;
      }
      if (e === s) continue; // empty name: skipped by bpf_core_add_cands
      let ess = e - s;
      if (flavor) {
        ess = essentialLenBytes(raw, s, e);
        if (ess !== e - s) h = fnv1a(raw, s, s + ess);
      }
      const cands = sieve.byClass.get(kindClass(kind))?.get(h >>> 0);
      if (!cands) continue;
      for (const c of cands) {
        if (c.bytes.length === ess && sameBytes(raw, s, c.bytes)) {
          known.set(memo, push(out, c.key, id));
          break;
        }
      }
    }
  }

  private slowCheck(id: number, kind: number, nameOff: number, wanted: ReadonlySet<string>, out: Map<string, number[]>): void {
    const t = this.target;
    if (!t.validStr(nameOff)) return;
    const name = t.str(nameOff);
    if (name === '') return;
    const key = rootKey(kind, essentialName(name));
    if (wanted.has(key)) push(out, key, id);
  }
}

/** Adds `id` to the list of `key`; returns the list. */
function push(out: Map<string, number[]>, key: string, id: number): number[] {
  let l = out.get(key);
  if (!l) out.set(key, (l = []));
  l.push(id);
  return l;
}

/** Whether raw[s, s + b.length) holds b. */
function sameBytes(raw: Uint8Array, s: number, b: Uint8Array): boolean {
  for (let k = 0; k < b.length; k++) if (raw[s + k] !== b[k]) return false;
  return true;
}
