// Candidate search: libbpf's bpf_core_essential_name_len() and bpf_core_add_cands() (libbpf.c),
// with a per-target essential-name index instead of one linear scan per local root type.
// The index keeps target IDs in ascending order, so lookups return exactly the list libbpf's
// scan `for (i = targ_start_id; i < n; i++)` would build.
import type { Btf } from '../btf/btf.js';
import { Kind } from '../btf/kinds.js';

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

function latin1Bytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

/** Layers of a (possibly split) BTF from the base upwards. */
function layers(btf: Btf): Btf[] {
  const out: Btf[] = [];
  for (let b: Btf | undefined = btf; b; b = b.base) out.unshift(b);
  return out;
}

const EMPTY = new Int32Array(0);

/**
 * Essential-name index of one target BTF. Built incrementally: `ensure(names)` indexes the
 * names not yet known with one pass over the string section and one over the type section,
 * so a set of objects costs one scan per target whatever the number of root types.
 * Lists hold every named type with that essential name, of any kind, in ascending ID order;
 * `candidates()` applies the kind filter.
 */
export class CandidateIndex {
  private readonly lists = new Map<string, Int32Array>();
  /** Set when every essential name of the target has been indexed. */
  private complete = false;

  constructor(readonly target: Btf) {}

  /** Indexes `names` (essential names) that are not indexed yet. */
  ensure(names: Iterable<string>): void {
    if (this.complete) return;
    const missing: string[] = [];
    for (const n of names) if (n !== '' && !this.lists.has(n)) missing.push(n);
    if (missing.length === 0) return;
    const found = this.scan(new Set(missing));
    for (const n of missing) {
      const l = found.get(n);
      this.lists.set(n, l ? Int32Array.from(l) : EMPTY);
    }
  }

  /** Indexes every essential name of the target (used when names are not known ahead). */
  ensureAll(): void {
    if (this.complete) return;
    const acc = new Map<string, number[]>();
    const t = this.target;
    for (let id = 1; id < t.typeCount; id++) {
      const off = t.nameOff(id);
      if (off === 0 || !t.validStr(off)) continue;
      const name = t.str(off);
      if (name === '') continue;
      const ess = essentialName(name);
      let l = acc.get(ess);
      if (!l) acc.set(ess, (l = []));
      l.push(id);
    }
    for (const [k, v] of acc) if (!this.lists.has(k)) this.lists.set(k, Int32Array.from(v));
    this.complete = true;
  }

  /** All target IDs (any kind) whose essential name is `essName`, ascending. */
  idsFor(essName: string): Int32Array {
    let l = this.lists.get(essName);
    if (l === undefined) {
      this.ensure([essName]);
      l = this.lists.get(essName) ?? EMPTY;
    }
    return l;
  }

  /**
   * bpf_core_add_cands(local, essent_len, targ_btf, "vmlinux", 1, cands): the target IDs that
   * are kind-compatible with the (unskipped) local root kind and carry the same essential name,
   * ascending. Returns a fresh array the caller may prune in place.
   */
  candidates(localKind: number, essName: string): number[] {
    if (essName === '') return [];
    const ids = this.idsFor(essName);
    const t = this.target;
    const out: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (kindCoreCompat(t.kind(id), localKind)) out.push(id);
    }
    return out;
  }

  /** One pass over strings and types collecting the IDs of every wanted essential name. */
  private scan(wanted: Set<string>): Map<string, number[]> {
    // Hash the wanted names (FNV-1a over latin1 bytes); verify bytes on a hash hit.
    const byHash = new Map<number, { name: string; bytes: Uint8Array }[]>();
    for (const name of wanted) {
      const bytes = latin1Bytes(name);
      const h = fnv1a(bytes, 0, bytes.length);
      let l = byHash.get(h);
      if (!l) byHash.set(h, (l = []));
      l.push({ name, bytes });
    }
    const out = new Map<string, number[]>();
    const push = (name: string, id: number) => {
      let l = out.get(name);
      if (!l) out.set(name, (l = []));
      l.push(id);
    };

    for (const layer of layers(this.target)) {
      const raw = layer.raw;
      const strStart = layer.header.hdrLen + layer.header.strOff;
      const strLen = layer.header.strLen;
      const strEnd = strStart + strLen;
      // Pass 1: every string that starts right after a NUL (or at 0): essential-name hash.
      // hit[rel] = 1 + index into `names` for strings whose essential name is wanted.
      const names: string[] = [];
      const hitIdx = new Map<number, number>();
      const hitMask = new Uint8Array(strLen + 1);
      let s = strStart;
      while (s < strEnd) {
        // Forward: hash and find the NUL; note whether a run of 3+ underscores occurs.
        let h = 0x811c9dc5;
        let run = 0;
        let maybeFlavor = false;
        let e = s;
        for (; e < strEnd; e++) {
          const c = raw[e]!;
          if (c === 0) break;
          h = Math.imul(h ^ c, 0x01000193);
          if (c === 0x5f) {
            if (++run >= 3) maybeFlavor = true;
          } else run = 0;
        }
        if (e > s) {
          let ess = e - s;
          if (maybeFlavor) {
            ess = essentialLenBytes(raw, s, e);
            if (ess !== e - s) h = fnv1a(raw, s, s + ess);
          }
          const cands = byHash.get(h >>> 0);
          if (cands) {
            for (const c of cands) {
              if (c.bytes.length !== ess) continue;
              let eq = true;
              for (let k = 0; k < ess; k++) {
                if (raw[s + k] !== c.bytes[k]) {
                  eq = false;
                  break;
                }
              }
              if (eq) {
                const rel = s - strStart;
                hitMask[rel] = 1;
                hitIdx.set(rel, names.length);
                names.push(c.name);
                break;
              }
            }
          }
        }
        s = e + 1;
      }
      // Pass 2: the types of this layer, in ascending ID order.
      const words = layer.words;
      const offs = layer.offsets;
      const startStr = layer.startStrOff;
      for (let i = 0; i < layer.count; i++) {
        const nameOff = words[offs[i]!]!;
        if (nameOff === 0) continue;
        const id = layer.startId + i;
        if (nameOff < startStr) {
          // A split type named by a base string: resolve it directly (rare).
          this.slowCheck(id, nameOff, wanted, push);
          continue;
        }
        const rel = nameOff - startStr;
        if (rel >= strLen) continue; // invalid offset: libbpf's btf__name_by_offset gives NULL
        if (hitMask[rel]) {
          push(names[hitIdx.get(rel)!]!, id);
        } else if (rel > 0 && raw[strStart + rel - 1] !== 0) {
          // An offset into the middle of a string (legal in BTF): check the suffix directly.
          this.slowCheck(id, nameOff, wanted, push);
        }
      }
    }
    return out;
  }

  private slowCheck(id: number, nameOff: number, wanted: Set<string>, push: (n: string, id: number) => void): void {
    const t = this.target;
    if (!t.validStr(nameOff)) return;
    const name = t.str(nameOff);
    if (name === '') return;
    const ess = essentialName(name);
    if (wanted.has(ess)) push(ess, id);
  }
}
