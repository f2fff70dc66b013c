// Candidate search: libbpf's bpf_core_essential_name_len() and bpf_core_add_cands() (libbpf.c),
// with a per-target essential-name index instead of one linear scan per local root type.
// The index keeps target IDs in ascending order, so lookups return exactly the list libbpf's
// scan `for (i = targ_start_id; i < n; i++)` would build.
import type { Btf } from '../btf/btf.js';
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

/**
 * The hot loop of CandidateIndex.scan(): writes to `out` the indexes (within the layer) of the
 * types whose kind is in `mask` and whose name may have a wanted essential name (its first two
 * bytes have a slot in `prefixSlot`, and for one of the slot's shapes (L, byte L-1, byte L/2)
 * the name has those bytes and its byte at L ends it or is '_'); split types named by a base
 * string always pass. Returns how many.
 */
function prefilter(
  words: Uint32Array,
  offs: Uint32Array,
  n: number,
  mask: number,
  raw: Uint8Array,
  strStart: number,
  strLen: number,
  startStr: number,
  prefixSlot: Int32Array,
  shapes: Int32Array,
  out: Int32Array,
): number {
  let m = 0;
  for (let i = 0; i < n; i++) {
    const w = offs[i]!;
    const kind = (words[w + 1]! >>> 24) & 0x7f;
    if (kind > 31 || ((mask >>> kind) & 1) === 0) continue;
    const nameOff = words[w]!;
    if (nameOff === 0) continue;
    if (nameOff < startStr) {
      out[m++] = i;
      continue;
    }
    const rel = nameOff - startStr;
    if (rel >= strLen) continue; // invalid offset: libbpf's name is NULL, never a candidate
    const s = strStart + rel;
    const b0 = raw[s]!;
    if (b0 === 0) continue; // empty name: skipped by bpf_core_add_cands
    const slot = prefixSlot[(b0 << 8) | raw[s + 1]!]!;
    if (slot < 0) continue;
    const end = slot + 1 + 3 * shapes[slot]!;
    for (let k = slot + 1; k < end; k += 3) {
      const len = shapes[k]!;
      const c = raw[s + len];
      if ((c === 0 || c === 0x5f) && raw[s + len - 1] === shapes[k + 1] && raw[s + (len >> 1)] === shapes[k + 2]) {
        out[m++] = i;
        break;
      }
    }
  }
  return m;
}

const EMPTY = new Int32Array(0);

interface Wanted {
  key: string;
  bytes: Uint8Array;
}

/**
 * Candidate index of one target BTF, keyed by (kind class, essential name) of local roots.
 * Built incrementally: `ensure(keys)` indexes the keys not yet known with one pass over the
 * types of the wanted kinds (names hashed straight from the string bytes), so a set of objects
 * costs one pass per target however many root types it has. Every list is kind-filtered and in
 * ascending ID order: exactly what libbpf's linear scan in bpf_core_add_cands() collects.
 */
export class CandidateIndex {
  private readonly lists = new Map<string, Int32Array>();
  /** Set when every key of the target has been indexed. */
  private complete = false;

  constructor(readonly target: Btf) {}

  /** Indexes `keys` (from rootKey()) that are not indexed yet. */
  ensure(keys: Iterable<string>): void {
    if (this.complete) return;
    const missing: string[] = [];
    for (const k of keys) if (!this.lists.has(k)) missing.push(k);
    if (missing.length === 0) return;
    const found = this.scan(missing);
    for (const k of missing) {
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
   * One pass over the types of the wanted kinds collecting the IDs of every wanted key: a tight
   * prefilter over the type table (prefilter(), small so V8 optimizes it within a one-shot
   * run), then the few survivors hashed and compared.
   */
  private scan(keys: string[]): Map<string, number[]> {
    // per kind class: FNV-1a hash of the essential name -> wanted entries (bytes verified on a hit)
    const byClass = new Map<number, Map<number, Wanted[]>>();
    // First two bytes of the wanted names -> their shapes (length L, byte L-1, byte L/2). A
    // target name can only have a wanted essential name if its first two bytes match, its bytes
    // at L-1 and L/2 are those of a wanted name of that length and its byte at L ends the name
    // (NUL) or starts a flavor suffix ('_'): most names are rejected on a few byte reads.
    const shapes = new Map<number, Set<number>>();
    const addShape = (key: number, bytes: Uint8Array) => {
      let l = shapes.get(key);
      if (!l) shapes.set(key, (l = new Set()));
      const n = bytes.length;
      l.add(n * 65536 + bytes[n - 1]! * 256 + bytes[n >> 1]!);
    };
    let mask = 0;
    const slow = new Set<string>();
    for (const key of keys) {
      const [cls, name] = splitKey(key);
      if (name === '') continue;
      slow.add(key);
      if (cls < 0 || cls > 31) continue;
      mask |= 1 << cls;
      if (cls === Kind.ENUM) mask |= 1 << Kind.ENUM64;
      const bytes = latin1(name);
      if (bytes.length >= 2) addShape((bytes[0]! << 8) | bytes[1]!, bytes);
      else for (let c = 0; c < 256; c++) addShape((bytes[0]! << 8) | c, bytes);
      const h = fnv1a(bytes, 0, bytes.length);
      let m = byClass.get(cls);
      if (!m) byClass.set(cls, (m = new Map()));
      let l = m.get(h);
      if (!l) m.set(h, (l = []));
      l.push({ key, bytes });
    }
    const out = new Map<string, number[]>();
    const push = (key: string, id: number) => {
      let l = out.get(key);
      if (!l) out.set(key, (l = []));
      l.push(id);
    };
    if (mask === 0) return out;
    // prefix -> index into `flat` of [count, (L, byte L-1, byte L/2)...]
    const prefixSlot = new Int32Array(65536).fill(-1);
    const flat: number[] = [];
    for (const [key, set] of shapes) {
      prefixSlot[key] = flat.length;
      flat.push(set.size);
      for (const v of set) flat.push(v >>> 16, (v >>> 8) & 0xff, v & 0xff);
    }
    const flatShapes = Int32Array.from(flat);

    for (const layer of layers(this.target)) {
      const raw = layer.raw;
      const strStart = layer.header.hdrLen + layer.header.strOff;
      const strLen = layer.header.strLen;
      const strEnd = strStart + strLen;
      const words = layer.words;
      const offs = layer.offsets;
      const startStr = layer.startStrOff;
      const survivors = new Int32Array(layer.count);
      const nSurv = prefilter(words, offs, layer.count, mask, raw, strStart, strLen, startStr, prefixSlot, flatShapes, survivors);
      for (let j = 0; j < nSurv; j++) {
        const i = survivors[j]!;
        const w = offs[i]!;
        const kind = (words[w + 1]! >>> 24) & 0x7f;
        const nameOff = words[w]!;
        const id = layer.startId + i;
        if (nameOff < startStr) {
          // a split type named by a base string: resolve it the slow way (rare)
          this.slowCheck(id, kind, nameOff, slow, push);
          continue;
        }
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
        const cands = byClass.get(kindClass(kind))?.get(h >>> 0);
        if (!cands) continue;
        for (let ci = 0; ci < cands.length; ci++) {
          const c = cands[ci]!;
          if (c.bytes.length !== ess) continue;
          let eq = true;
          for (let k = 0; k < ess; k++) {
            if (raw[s + k] !== c.bytes[k]) {
              eq = false;
              break;
            }
          }
          if (eq) {
            push(c.key, id);
            break;
          }
        }
      }
    }
    return out;
  }

  private slowCheck(id: number, kind: number, nameOff: number, wanted: Set<string>, push: (k: string, id: number) => void): void {
    const t = this.target;
    if (!t.validStr(nameOff)) return;
    const name = t.str(nameOff);
    if (name === '') return;
    const key = rootKey(kind, essentialName(name));
    if (wanted.has(key)) push(key, id);
  }
}
