// What a kernel offers BPF programs, read from its BTF: the members of enum bpf_prog_type,
// bpf_attach_type, bpf_map_type and bpf_func_id (the kernel's own list of what it supports,
// backports included), its FUNC names (kprobe/fentry targets), `struct trace_event_raw_<event>`
// (tracepoints declared with TRACE_EVENT) and `btf_trace_<event>` typedefs (every tracepoint,
// Linux 5.5+). One pass over the types.
import type { Btf } from '../../btf/btf.js';
import { Kind } from '../../btf/kinds.js';

/** The members of one enum: both directions. */
export interface EnumFacts {
  byName: ReadonlyMap<string, number>;
  /** value -> the kernel's name for it (the first non-alias member with that value). */
  byValue: ReadonlyMap<number, string>;
}

export interface KernelFacts {
  /** undefined when this kernel's BTF has no (non-empty) enum of that name: "unknown". */
  progTypes: EnumFacts | undefined;
  attachTypes: EnumFacts | undefined;
  mapTypes: EnumFacts | undefined;
  helpers: EnumFacts | undefined;
  /** FUNC names; empty when the BTF has no FUNC at all (then attach points read unknown). */
  funcs: ReadonlySet<string>;
  /** <event> of every `struct trace_event_raw_<event>`. */
  tracepointStructs: ReadonlySet<string>;
  /** <event> of every `btf_trace_<event>` typedef; empty before Linux 5.5. */
  btfTraceTypedefs: ReadonlySet<string>;
}

const ENUMS = {
  bpf_prog_type: 'progTypes',
  bpf_attach_type: 'attachTypes',
  bpf_map_type: 'mapTypes',
  bpf_func_id: 'helpers',
} as const;
type EnumKey = (typeof ENUMS)[keyof typeof ENUMS];

const TP_STRUCT = 'trace_event_raw_';
const TP_TYPEDEF = 'btf_trace_';

export function readKernelFacts(btf: Btf): KernelFacts {
  const enums: Partial<Record<EnumKey, { byName: Map<string, number>; byValue: Map<number, string> }>> = {};
  const funcs = new Set<string>();
  const tracepointStructs = new Set<string>();
  const btfTraceTypedefs = new Set<string>();
  for (let id = 1; id < btf.typeCount; id++) {
    const kind = btf.kind(id);
    if (kind === Kind.FUNC) {
      funcs.add(btf.name(id));
    } else if (kind === Kind.STRUCT) {
      const name = btf.name(id);
      if (name.startsWith(TP_STRUCT)) tracepointStructs.add(name.slice(TP_STRUCT.length));
    } else if (kind === Kind.TYPEDEF) {
      const name = btf.name(id);
      if (name.startsWith(TP_TYPEDEF)) btfTraceTypedefs.add(name.slice(TP_TYPEDEF.length));
    } else if ((kind === Kind.ENUM || kind === Kind.ENUM64) && btf.vlen(id) > 0) {
      const key = (ENUMS as Record<string, EnumKey>)[btf.name(id)];
      if (!key) continue;
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
    funcs,
    tracepointStructs,
    btfTraceTypedefs,
  };
}
