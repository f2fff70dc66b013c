// What a kernel offers BPF programs, read from its BTF: the members of enum bpf_prog_type,
// bpf_attach_type, bpf_map_type and bpf_func_id (the kernel's own list of what it supports,
// backports included), its FUNC names (kprobe/fentry targets), `struct trace_event_raw_<event>`
// (tracepoints declared with TRACE_EVENT) and `btf_trace_<event>` typedefs (every tracepoint,
// Linux 5.5+). One pass over the types.
import { Buffer } from 'node:buffer';
import type { Btf } from '../../btf/btf.js';
import { Kind } from '../../btf/kinds.js';
import { lowerBound } from '../../btf/strings.js';

/** The members of one enum: both directions. */
export interface EnumFacts {
  byName: ReadonlyMap<string, number>;
  /** value -> the kernel's name for it (the first non-alias member with that value). */
  byValue: ReadonlyMap<number, string>;
}

/** The kernel's FUNC names, answered without decoding all of them. */
export interface FuncIndex {
  /** Number of FUNC entries (0: this BTF records no functions, attach points read unknown). */
  readonly size: number;
  has(name: string): boolean;
  /** Every FUNC name (decodes them all: for tests and tools, not the check itself). */
  names(): IterableIterator<string>;
}

export interface KernelFacts {
  /** undefined when this kernel's BTF has no (non-empty) enum of that name: "unknown". */
  progTypes: EnumFacts | undefined;
  attachTypes: EnumFacts | undefined;
  mapTypes: EnumFacts | undefined;
  helpers: EnumFacts | undefined;
  funcs: FuncIndex;
  /** <event> of every `struct trace_event_raw_<event>`. */
  tracepointStructs: ReadonlySet<string>;
  /** <event> of every `btf_trace_<event>` typedef; empty before Linux 5.5. */
  btfTraceTypedefs: ReadonlySet<string>;
}

const ENUMS = new Map<string, EnumKey>([
  ['bpf_prog_type', 'progTypes'],
  ['bpf_attach_type', 'attachTypes'],
  ['bpf_map_type', 'mapTypes'],
  ['bpf_func_id', 'helpers'],
]);
type EnumKey = 'progTypes' | 'attachTypes' | 'mapTypes' | 'helpers';

const TP_STRUCT = 'trace_event_raw_';
const TP_TYPEDEF = 'btf_trace_';
const latin1 = (s: string) => Buffer.from(s, 'latin1');
const TP_STRUCT_B = latin1(TP_STRUCT);
const TP_TYPEDEF_B = latin1(TP_TYPEDEF);
const ENUM_NAMES_B = [...ENUMS.keys()].map(latin1);

/**
 * One pass over the types comparing name bytes in place: only the few names that matter are
 * decoded (a kernel has ~40k FUNC and ~10k STRUCT names; decoding them all costs more than
 * parsing the BTF).
 */
export function readKernelFacts(btf: Btf, options: { funcs?: Iterable<string> } = {}): KernelFacts {
  const enums: Partial<Record<EnumKey, { byName: Map<string, number>; byValue: Map<number, string> }>> = {};
  const tracepointStructs = new Set<string>();
  const btfTraceTypedefs = new Set<string>();
  // Names are compared in the string section's bytes (a base BTF's offsets are relative to it).
  const strs = btf.stringSectionBytes();
  const split = btf.base !== undefined;
  const nameIs = (off: number, want: Uint8Array, prefixOnly: boolean): boolean => {
    if (split) {
      const b = btf.validStr(off) ? btf.strBytes(off) : undefined;
      if (!b || b.length < want.length || (!prefixOnly && b.length !== want.length)) return false;
      for (let i = 0; i < want.length; i++) if (b[i] !== want[i]) return false;
      return true;
    }
    if (off + want.length >= strs.length) return false;
    for (let i = 0; i < want.length; i++) if (strs[off + i] !== want[i]) return false;
    return prefixOnly || strs[off + want.length] === 0;
  };
  // First bytes of the names looked for ('t'race_event_raw_, 'b'tf_trace_, 'b'pf_*): most
  // names are rejected on one byte. (A split BTF's offsets may point into its base: no shortcut.)
  const first = (off: number, c: number) => split || strs[off] === c;
  const T = 0x74;
  const B = 0x62;
  // The record heads straight from the type section's words (name_off, info), this BTF's own
  // types only: a kernel's vmlinux BTF is never split. FUNC name offsets go to a typed array
  // (a kernel has tens of thousands, non-deduplicated BTFs hundreds of thousands).
  const words = btf.words;
  const offsets = btf.offsets;
  const count = btf.count;
  const funcOffs = new Uint32Array(count);
  let nFuncs = 0;
  const want = split ? undefined : wantedFuncs(options.funcs);
  const found = new Set<string>();
  for (let i = 0; i < count; i++) {
    const w = offsets[i]!;
    const info = words[w + 1]!;
    const kind = (info >>> 24) & 0x7f;
    if (kind === Kind.FUNC) {
      const off = words[w]!;
      funcOffs[nFuncs++] = off;
      const cands = want && off + 1 < strs.length ? want.byFirstTwo.get(strs[off]! | (strs[off + 1]! << 8)) : undefined;
      if (cands) for (const [name, b] of cands) if (nameIs(off, b, false)) found.add(name);
    } else if (kind === Kind.STRUCT) {
      const off = words[w]!;
      if (first(off, T) && nameIs(off, TP_STRUCT_B, true)) tracepointStructs.add(btf.str(off).slice(TP_STRUCT.length));
    } else if (kind === Kind.TYPEDEF) {
      const off = words[w]!;
      if (first(off, B) && nameIs(off, TP_TYPEDEF_B, true)) btfTraceTypedefs.add(btf.str(off).slice(TP_TYPEDEF.length));
    } else if ((kind === Kind.ENUM || kind === Kind.ENUM64) && (info & 0xffffff) > 0) {
      const off = words[w]!;
      if (!first(off, B) || !ENUM_NAMES_B.some((n) => nameIs(off, n, false))) continue;
      const id = btf.startId + i;
      const key = ENUMS.get(btf.name(id))!;
      // A non-deduplicated BTF repeats the enum (one per compilation unit): take the union.
      const e = (enums[key] ??= { byName: new Map(), byValue: new Map() });
      for (let i = 0; i < btf.vlen(id); i++) {
        const name = btf.enumName(id, i);
        const value = Number(BigInt.asIntN(64, btf.enumValueU64(id, i)));
        e.byName.set(name, value);
        // __MAX_BPF_ATTACH_TYPE, __BPF_FUNC_MAX_ID...: sentinels, not features. The
        // *_DEPRECATED map types are aliases of the names older kernels use.
        if (name.startsWith('__') || name.endsWith('_DEPRECATED')) continue;
        if (!e.byValue.has(value)) e.byValue.set(value, name);
      }
    }
  }
  return {
    progTypes: enums.progTypes,
    attachTypes: enums.attachTypes,
    mapTypes: enums.mapTypes,
    helpers: enums.helpers,
    funcs: funcIndex(btf, funcOffs.subarray(0, nFuncs), want ? { names: want.names, found } : undefined),
    tracepointStructs,
    btfTraceTypedefs,
  };
}

/** Names looked up during the scan, by their first two bytes (most FUNCs are rejected on those). */
function wantedFuncs(names: Iterable<string> | undefined): { byFirstTwo: Map<number, [string, Uint8Array][]>; names: Set<string> } | undefined {
  if (!names) return undefined;
  const byFirstTwo = new Map<number, [string, Uint8Array][]>();
  const out = new Set<string>();
  for (const n of names) {
    if (n.length < 2 || out.has(n)) continue;
    const b = latin1(n);
    const k = b[0]! | (b[1]! << 8);
    let l = byFirstTwo.get(k);
    if (!l) byFirstTwo.set(k, (l = []));
    l.push([n, b]);
    out.add(n);
  }
  return { byFirstTwo, names: out };
}

/**
 * FUNC lookup by name: names given to readKernelFacts() were answered during its scan; for
 * others, find the name's occurrences in the string section ("\0name\0", a native search), then
 * binary-search the FUNC name offsets (sorted on the first such lookup). Split BTF (never a
 * kernel's vmlinux) falls back to decoding every FUNC name once.
 */
function funcIndex(btf: Btf, offs: Uint32Array, scanned?: { names: ReadonlySet<string>; found: ReadonlySet<string> }): FuncIndex {
  let sorted: Uint32Array | undefined;
  const cache = new Map<string, boolean>();
  const names = function* () {
    for (const o of offs) yield btf.str(o);
  };
  if (btf.base) {
    const all = new Set(names());
    return { size: offs.length, has: (n) => all.has(n), names: () => all.values() };
  }
  const sb = btf.stringSectionBytes();
  const strs = Buffer.from(sb.buffer, sb.byteOffset, sb.byteLength); // a view, not a copy
  const contains = (off: number): boolean => {
    sorted ??= offs.slice().sort();
    const i = lowerBound(sorted, off);
    return i < sorted.length && sorted[i] === off;
  };
  return {
    size: offs.length,
    names,
    has(name) {
      if (scanned?.names.has(name)) return scanned.found.has(name);
      let hit = cache.get(name);
      if (hit !== undefined) return hit;
      hit = false;
      if (name) {
        const needle = Buffer.from(`\0${name}\0`, 'latin1');
        for (let at = strs.indexOf(needle); at >= 0 && !hit; at = strs.indexOf(needle, at + 1)) hit = contains(at + 1);
      }
      cache.set(name, hit);
      return hit;
    },
  };
}
