// Will a program load on a kernel? Program facts (program.ts) against kernel facts (kernel.ts),
// plus, optionally, the CO-RE reasons the relocation check found for that program and kernel.
// Enum checks are exact (the kernel's enum lists what it supports); attach points are a
// heuristic over what kernel BTF happens to record, and read "unknown" where it records nothing.
import type { KernelFacts } from './kernel.js';
import type { ProgramFacts } from './program.js';
import { needsKernelBtf } from './sections.js';
import { helperName, mapTypeName, progTypeValue, attachTypeValue } from './uapi.js';

export type Check = 'core' | 'prog-type' | 'attach-type' | 'helper' | 'map-type' | 'attach-point' | 'ksym' | 'needs-kernel-btf';
export type Verdict = 'loads' | 'fails' | 'unknown';

export interface Reason {
  check: Check;
  /** The kernel's own name for it: BPF_MAP_TYPE_RINGBUF, BPF_FUNC_ringbuf_output, vfs_read. */
  name: string;
  detail?: string;
  /** core only: index into the object's relocations (the relocation check's reason). */
  relocation?: number;
}

export interface ProgramVerdict {
  verdict: Verdict;
  /** Why it fails (empty unless verdict is 'fails'). */
  failures: Reason[];
  /** Checks this kernel's BTF cannot answer (they make the verdict 'unknown' when nothing fails). */
  unknowns: Reason[];
  /**
   * Set when the program needs kernel BTF (fentry, tp_btf, lsm, iter, struct_ops...): a host
   * that needs an archive BTF has no /sys/kernel/btf/vmlinux. Reported apart; it fails the
   * program only with `strict`.
   */
  needsKernelBtf: Reason | undefined;
}

export interface VerdictOptions {
  /** The CO-RE reasons for this program on this kernel (unguarded poisons, errors). */
  core?: readonly Reason[];
  /** Count needs-kernel-btf as a failure (`--strict`). */
  strict?: boolean;
}

/**
 * Attach types libbpf 1.1 passes that a kernel may lack while still loading and attaching the
 * program as intended: they are younger than their program type, and older kernels do not
 * check expected_attach_type for it (bpf_prog_load_check_attach()). BPF_XDP (5.9): XDP is
 * attached through netlink before it; BPF_SK_REUSEPORT_SELECT (5.14): plain sk_reuseport
 * programs work since 4.19.
 */
const OPTIONAL_ATTACH_TYPES = new Set(['BPF_XDP', 'BPF_SK_REUSEPORT_SELECT']);

const KSYM_DETAIL = "libbpf resolves typed ksyms and kfuncs in the running kernel's BTF, which a host that needs an archive BTF lacks: the whole object fails to load";

/** The verdict for one program on one kernel. */
export function programVerdict(p: ProgramFacts, k: KernelFacts, options: VerdictOptions = {}): ProgramVerdict {
  const failures: Reason[] = [...(options.core ?? [])];
  const unknowns: Reason[] = [];
  const note = (r: Reason, ok: boolean | undefined) => {
    if (ok === undefined) unknowns.push(r);
    else if (!ok) failures.push(r);
  };
  const d = p.secDef;
  let nkb: Reason | undefined;
  if (!d) {
    // bpf_object_load_prog(): "missing BPF prog type, check ELF section name" (-EINVAL).
    failures.push({ check: 'prog-type', name: p.section, detail: `libbpf 1.1 does not recognise section '${p.section}'` });
  } else {
    note(enumCheck('prog-type', d.progType, progTypeValue(d.progType), k.progTypes, 'bpf_prog_type'), has(k.progTypes, progTypeValue(d.progType)));
    if (d.attachType && !OPTIONAL_ATTACH_TYPES.has(d.attachType)) {
      const v = attachTypeValue(d.attachType);
      note(enumCheck('attach-type', d.attachType, v, k.attachTypes, 'bpf_attach_type'), has(k.attachTypes, v));
    }
    if (needsKernelBtf(d)) {
      nkb = {
        check: 'needs-kernel-btf',
        name: d.attachType ?? d.progType,
        detail: `'${p.section}' resolves its target in the running kernel's BTF: a host that needs an archive BTF has none`,
      };
    }
  }
  for (const id of p.helpers) {
    note(enumCheck('helper', helperName(id), id, k.helpers, 'bpf_func_id'), has(k.helpers, id));
  }
  for (const m of p.maps) {
    for (const [type, what] of [[m.type, `map '${m.name}'`], [m.innerType, `inner map of '${m.name}'`]] as const) {
      if (type === undefined) continue;
      const r = enumCheck('map-type', mapTypeName(type), type, k.mapTypes, 'bpf_map_type');
      r.detail = `${what}${r.detail ? `: ${r.detail}` : ''}`;
      note(r, has(k.mapTypes, type));
    }
  }
  const ap = attachPoint(p, k);
  if (ap) note(ap.reason, ap.ok);
  // obj_needs_vmlinux_btf(): a typed ksym or kfunc anywhere in the object makes libbpf load the
  // running kernel's BTF before any program, and fail the whole object without it.
  for (const name of p.typedKsyms) {
    failures.push({ check: 'ksym', name, detail: KSYM_DETAIL });
  }
  if (nkb && options.strict) failures.push(nkb);
  const verdict: Verdict = failures.length ? 'fails' : unknowns.length ? 'unknown' : 'loads';
  return { verdict, failures, unknowns, needsKernelBtf: nkb };
}

function has(e: KernelFacts['helpers'], value: number | undefined): boolean | undefined {
  if (!e) return undefined;
  return value !== undefined && e.byValue.has(value);
}

/** A reason named as the kernel names the value where it has it, else by its uapi name. */
function enumCheck(check: Check, uapiName: string, value: number | undefined, e: KernelFacts['helpers'], enumName: string): Reason {
  if (!e) return { check, name: uapiName, detail: `this kernel's BTF has no enum ${enumName}` };
  const own = value !== undefined ? e.byValue.get(value) : undefined;
  if (own) return { check, name: own };
  return { check, name: uapiName, detail: `not in this kernel's enum ${enumName}` };
}

/** Syscall entry points as kernels name them (x86_64, arm64, s390x, i386 wrappers; pre-4.17). */
function syscallFuncs(name: string): string[] {
  return ['__x64_sys_', '__arm64_sys_', '__s390x_sys_', '__ia32_sys_', '__se_sys_', '__do_sys_', 'sys_'].map((p) => p + name);
}

/**
 * The attach-point heuristic (labelled so in every reason's detail): present -> ok (true);
 * absent while the kernel's BTF has that kind of data -> missing (false); kernel BTF without
 * that kind of data -> unknown (undefined). Functions and tracepoints of modules are not in
 * vmlinux BTF, so a miss is a heuristic finding, never exact.
 */
export function attachPoint(p: ProgramFacts, k: KernelFacts): { reason: Reason; ok: boolean | undefined } | undefined {
  const t = p.target;
  if (!t) return undefined;
  const H = 'heuristic: ';
  const func = (fn: string, what: string) => {
    if (k.funcs.size === 0) return { reason: { check: 'attach-point' as const, name: fn, detail: `${H}this kernel's BTF has no FUNC entries` }, ok: undefined };
    const ok = k.funcs.has(fn);
    return { reason: { check: 'attach-point' as const, name: fn, detail: `${H}${what} ${ok ? 'is' : 'is not'} a FUNC in this kernel's BTF` }, ok };
  };
  const syscall = (sc: string, shown: string) => {
    if (k.funcs.size === 0) return { reason: { check: 'attach-point' as const, name: shown, detail: `${H}this kernel's BTF has no FUNC entries` }, ok: undefined };
    const ok = syscallFuncs(sc).some((f) => k.funcs.has(f));
    return { reason: { check: 'attach-point' as const, name: shown, detail: `${H}syscall ${sc} ${ok ? 'has' : 'has no'} entry FUNC (__x64_sys_${sc}, sys_${sc}...) in this kernel's BTF` }, ok };
  };
  const tracepoint = (ev: string, shown: string) => {
    const r = (detail: string, ok: boolean | undefined) => ({ reason: { check: 'attach-point' as const, name: shown, detail: H + detail }, ok });
    if (k.btfTraceTypedefs.size > 0) {
      const ok = k.btfTraceTypedefs.has(ev);
      return r(`typedef btf_trace_${ev} ${ok ? 'is' : 'is not'} in this kernel's BTF`, ok);
    }
    if (k.tracepointStructs.has(ev)) return r(`struct trace_event_raw_${ev} is in this kernel's BTF`, true);
    // Before Linux 5.5 there are no btf_trace_ typedefs, and an event declared with
    // DEFINE_EVENT shares its class's struct: an absent struct proves nothing.
    return r(`no btf_trace_ typedefs in this kernel's BTF and no struct trace_event_raw_${ev} (DEFINE_EVENT events share their class's struct)`, undefined);
  };
  switch (t.kind) {
    case 'kprobe':
      return func(t.name, 'kprobe target');
    case 'btf-func':
      return func(t.name, 'fentry/fexit target');
    case 'kprobe-multi':
      return /[*?]/.test(t.name) ? undefined : func(t.name, 'kprobe.multi target');
    case 'ksyscall':
      return syscall(t.name, t.name);
    case 'lsm':
      return func(`bpf_lsm_${t.name}`, 'LSM hook');
    case 'iter':
      return func(`bpf_iter_${t.name}`, 'BPF iterator');
    case 'tracepoint': {
      const shown = `${t.category}/${t.name}`;
      // syscalls/sys_enter_<name>: ftrace syscall events, present when the syscall is.
      const m = t.category === 'syscalls' ? /^sys_(?:enter|exit)_(.+)$/.exec(t.name) : null;
      return m ? syscall(m[1]!, shown) : tracepoint(t.name, shown);
    }
    case 'raw-tracepoint':
    case 'btf-tracepoint':
      return tracepoint(t.name, t.name);
  }
}

/**
 * The FUNC names attachPoint() may look up for this program, in any kernel (so that
 * readKernelFacts() answers them in its one scan): attachPoint() itself run against a kernel
 * that has FUNC data but none of the names, recording what it asks.
 */
export function attachFuncNames(p: ProgramFacts): string[] {
  const asked: string[] = [];
  const recorder: KernelFacts = {
    progTypes: undefined,
    attachTypes: undefined,
    mapTypes: undefined,
    helpers: undefined,
    funcs: { size: 1, has: (n) => (asked.push(n), false), names: () => [].values() },
    tracepointStructs: new Set(),
    btfTraceTypedefs: new Set(),
  };
  attachPoint(p, recorder);
  return asked;
}

/** The reasons one outcome lists: its failures, or its unknowns; plus needs-kernel-btf. */
export function outcomeReasons(v: ProgramVerdict): Reason[] {
  const main = v.verdict === 'fails' ? v.failures : v.verdict === 'unknown' ? v.unknowns : [];
  return v.needsKernelBtf && !main.includes(v.needsKernelBtf) ? [...main, v.needsKernelBtf] : main;
}

export interface Outcome {
  verdict: Verdict;
  reasons: Reason[];
  /** Indices into the report's kernels. */
  kernels: number[];
}

/** Kernels with the same verdict and reasons share one outcome (the report's json shape). */
export function groupOutcomes(perKernel: readonly ProgramVerdict[], kernelIndex: (i: number) => number = (i) => i): Outcome[] {
  const byKey = new Map<string, Outcome>();
  perKernel.forEach((v, i) => {
    const reasons = outcomeReasons(v);
    const key = JSON.stringify([v.verdict, reasons]);
    let o = byKey.get(key);
    if (!o) byKey.set(key, (o = { verdict: v.verdict, reasons, kernels: [] }));
    o.kernels.push(kernelIndex(i));
  });
  return [...byKey.values()];
}
