// ELF section name -> program type and expected attach type, as libbpf 1.1 decides it: its
// section_defs[] table (src/libbpf.c, SEC_DEF entries in table order), find_sec_def() (first
// matching entry wins) and sec_def_matches(). Also what the section says about the attach
// target (attach_kprobe(), attach_tp(), attach_raw_tp(), attach_trace(), attach_lsm(),
// attach_iter() parse it), and whether the program needs the kernel's BTF to load.

/** sec_def_flags of libbpf 1.1 (the bpf_sec_def cookie). */
export const SEC_NONE = 0;
/** expected_attach_type is dropped when the kernel does not support expected_attach_type at all. */
export const SEC_EXP_ATTACH_OPT = 1;
/** Legacy: reported by libbpf_attach_type_by_name() only. */
export const SEC_ATTACHABLE = 2;
export const SEC_ATTACHABLE_OPT = SEC_ATTACHABLE | SEC_EXP_ATTACH_OPT;
/** The attach target is a BTF id (kernel BTF, or another BPF program's for freplace). */
export const SEC_ATTACH_BTF = 4;
export const SEC_SLEEPABLE = 8;
export const SEC_XDP_FRAGS = 16;

/** How libbpf reads the attach target out of the section name (its attach_fn). */
export type TargetKind =
  | 'kprobe' // attach_kprobe: kprobe/<func>[+<offset>]
  | 'ksyscall' // attach_ksyscall: ksyscall/<syscall>
  | 'kprobe-multi' // attach_kprobe_multi: a glob over kernel functions
  | 'tracepoint' // attach_tp: tracepoint/<category>/<name>
  | 'raw-tracepoint' // attach_raw_tp: raw_tp/<name>
  | 'btf-func' // attach_trace (fentry/fexit/fmod_ret): a kernel FUNC by BTF name
  | 'btf-tracepoint' // tp_btf/<name>: the btf_trace_<name> typedef
  | 'lsm' // attach_lsm: the bpf_lsm_<hook> FUNC
  | 'iter' // attach_iter: the bpf_iter_<name> FUNC
  | 'none'; // user space (uprobe, usdt), another BPF program (freplace), or no target

export interface SecDef {
  /** libbpf's pattern: "kprobe+" (exact or "kprobe/..."), "xdp/devmap" (exact), "tc" (exact). */
  readonly sec: string;
  /** enum bpf_prog_type name. */
  readonly progType: string;
  /** enum bpf_attach_type name libbpf passes as expected_attach_type, or null for none (0). */
  readonly attachType: string | null;
  readonly flags: number;
  readonly target: TargetKind;
}

const P = 'BPF_PROG_TYPE_';
function def(sec: string, type: string, attach: string | null, flags: number, target: TargetKind = 'none'): SecDef {
  return { sec, progType: P + type, attachType: attach, flags, target };
}

/** libbpf 1.1's section_defs[], in its order (order matters: the first match wins). */
export const SECTION_DEFS: readonly SecDef[] = [
  def('socket', 'SOCKET_FILTER', null, SEC_NONE),
  def('sk_reuseport/migrate', 'SK_REUSEPORT', 'BPF_SK_REUSEPORT_SELECT_OR_MIGRATE', SEC_ATTACHABLE),
  def('sk_reuseport', 'SK_REUSEPORT', 'BPF_SK_REUSEPORT_SELECT', SEC_ATTACHABLE),
  def('kprobe+', 'KPROBE', null, SEC_NONE, 'kprobe'),
  def('uprobe+', 'KPROBE', null, SEC_NONE),
  def('uprobe.s+', 'KPROBE', null, SEC_SLEEPABLE),
  def('kretprobe+', 'KPROBE', null, SEC_NONE, 'kprobe'),
  def('uretprobe+', 'KPROBE', null, SEC_NONE),
  def('uretprobe.s+', 'KPROBE', null, SEC_SLEEPABLE),
  def('kprobe.multi+', 'KPROBE', 'BPF_TRACE_KPROBE_MULTI', SEC_NONE, 'kprobe-multi'),
  def('kretprobe.multi+', 'KPROBE', 'BPF_TRACE_KPROBE_MULTI', SEC_NONE, 'kprobe-multi'),
  def('ksyscall+', 'KPROBE', null, SEC_NONE, 'ksyscall'),
  def('kretsyscall+', 'KPROBE', null, SEC_NONE, 'ksyscall'),
  def('usdt+', 'KPROBE', null, SEC_NONE),
  def('tc', 'SCHED_CLS', null, SEC_NONE),
  def('classifier', 'SCHED_CLS', null, SEC_NONE),
  def('action', 'SCHED_ACT', null, SEC_NONE),
  def('tracepoint+', 'TRACEPOINT', null, SEC_NONE, 'tracepoint'),
  def('tp+', 'TRACEPOINT', null, SEC_NONE, 'tracepoint'),
  def('raw_tracepoint+', 'RAW_TRACEPOINT', null, SEC_NONE, 'raw-tracepoint'),
  def('raw_tp+', 'RAW_TRACEPOINT', null, SEC_NONE, 'raw-tracepoint'),
  def('raw_tracepoint.w+', 'RAW_TRACEPOINT_WRITABLE', null, SEC_NONE, 'raw-tracepoint'),
  def('raw_tp.w+', 'RAW_TRACEPOINT_WRITABLE', null, SEC_NONE, 'raw-tracepoint'),
  def('tp_btf+', 'TRACING', 'BPF_TRACE_RAW_TP', SEC_ATTACH_BTF, 'btf-tracepoint'),
  def('fentry+', 'TRACING', 'BPF_TRACE_FENTRY', SEC_ATTACH_BTF, 'btf-func'),
  def('fmod_ret+', 'TRACING', 'BPF_MODIFY_RETURN', SEC_ATTACH_BTF, 'btf-func'),
  def('fexit+', 'TRACING', 'BPF_TRACE_FEXIT', SEC_ATTACH_BTF, 'btf-func'),
  def('fentry.s+', 'TRACING', 'BPF_TRACE_FENTRY', SEC_ATTACH_BTF | SEC_SLEEPABLE, 'btf-func'),
  def('fmod_ret.s+', 'TRACING', 'BPF_MODIFY_RETURN', SEC_ATTACH_BTF | SEC_SLEEPABLE, 'btf-func'),
  def('fexit.s+', 'TRACING', 'BPF_TRACE_FEXIT', SEC_ATTACH_BTF | SEC_SLEEPABLE, 'btf-func'),
  def('freplace+', 'EXT', null, SEC_ATTACH_BTF),
  def('lsm+', 'LSM', 'BPF_LSM_MAC', SEC_ATTACH_BTF, 'lsm'),
  def('lsm.s+', 'LSM', 'BPF_LSM_MAC', SEC_ATTACH_BTF | SEC_SLEEPABLE, 'lsm'),
  def('lsm_cgroup+', 'LSM', 'BPF_LSM_CGROUP', SEC_ATTACH_BTF, 'lsm'),
  def('iter+', 'TRACING', 'BPF_TRACE_ITER', SEC_ATTACH_BTF, 'iter'),
  def('iter.s+', 'TRACING', 'BPF_TRACE_ITER', SEC_ATTACH_BTF | SEC_SLEEPABLE, 'iter'),
  def('syscall', 'SYSCALL', null, SEC_SLEEPABLE),
  def('xdp.frags/devmap', 'XDP', 'BPF_XDP_DEVMAP', SEC_XDP_FRAGS),
  def('xdp/devmap', 'XDP', 'BPF_XDP_DEVMAP', SEC_ATTACHABLE),
  def('xdp.frags/cpumap', 'XDP', 'BPF_XDP_CPUMAP', SEC_XDP_FRAGS),
  def('xdp/cpumap', 'XDP', 'BPF_XDP_CPUMAP', SEC_ATTACHABLE),
  def('xdp.frags', 'XDP', 'BPF_XDP', SEC_XDP_FRAGS),
  def('xdp', 'XDP', 'BPF_XDP', SEC_ATTACHABLE_OPT),
  def('perf_event', 'PERF_EVENT', null, SEC_NONE),
  def('lwt_in', 'LWT_IN', null, SEC_NONE),
  def('lwt_out', 'LWT_OUT', null, SEC_NONE),
  def('lwt_xmit', 'LWT_XMIT', null, SEC_NONE),
  def('lwt_seg6local', 'LWT_SEG6LOCAL', null, SEC_NONE),
  def('sockops', 'SOCK_OPS', 'BPF_CGROUP_SOCK_OPS', SEC_ATTACHABLE_OPT),
  def('sk_skb/stream_parser', 'SK_SKB', 'BPF_SK_SKB_STREAM_PARSER', SEC_ATTACHABLE_OPT),
  def('sk_skb/stream_verdict', 'SK_SKB', 'BPF_SK_SKB_STREAM_VERDICT', SEC_ATTACHABLE_OPT),
  def('sk_skb', 'SK_SKB', null, SEC_NONE),
  def('sk_msg', 'SK_MSG', 'BPF_SK_MSG_VERDICT', SEC_ATTACHABLE_OPT),
  def('lirc_mode2', 'LIRC_MODE2', 'BPF_LIRC_MODE2', SEC_ATTACHABLE_OPT),
  def('flow_dissector', 'FLOW_DISSECTOR', 'BPF_FLOW_DISSECTOR', SEC_ATTACHABLE_OPT),
  def('cgroup_skb/ingress', 'CGROUP_SKB', 'BPF_CGROUP_INET_INGRESS', SEC_ATTACHABLE_OPT),
  def('cgroup_skb/egress', 'CGROUP_SKB', 'BPF_CGROUP_INET_EGRESS', SEC_ATTACHABLE_OPT),
  def('cgroup/skb', 'CGROUP_SKB', null, SEC_NONE),
  def('cgroup/sock_create', 'CGROUP_SOCK', 'BPF_CGROUP_INET_SOCK_CREATE', SEC_ATTACHABLE),
  def('cgroup/sock_release', 'CGROUP_SOCK', 'BPF_CGROUP_INET_SOCK_RELEASE', SEC_ATTACHABLE),
  def('cgroup/sock', 'CGROUP_SOCK', 'BPF_CGROUP_INET_SOCK_CREATE', SEC_ATTACHABLE_OPT),
  def('cgroup/post_bind4', 'CGROUP_SOCK', 'BPF_CGROUP_INET4_POST_BIND', SEC_ATTACHABLE),
  def('cgroup/post_bind6', 'CGROUP_SOCK', 'BPF_CGROUP_INET6_POST_BIND', SEC_ATTACHABLE),
  def('cgroup/bind4', 'CGROUP_SOCK_ADDR', 'BPF_CGROUP_INET4_BIND', SEC_ATTACHABLE),
  def('cgroup/bind6', 'CGROUP_SOCK_ADDR', 'BPF_CGROUP_INET6_BIND', SEC_ATTACHABLE),
  def('cgroup/connect4', 'CGROUP_SOCK_ADDR', 'BPF_CGROUP_INET4_CONNECT', SEC_ATTACHABLE),
  def('cgroup/connect6', 'CGROUP_SOCK_ADDR', 'BPF_CGROUP_INET6_CONNECT', SEC_ATTACHABLE),
  def('cgroup/sendmsg4', 'CGROUP_SOCK_ADDR', 'BPF_CGROUP_UDP4_SENDMSG', SEC_ATTACHABLE),
  def('cgroup/sendmsg6', 'CGROUP_SOCK_ADDR', 'BPF_CGROUP_UDP6_SENDMSG', SEC_ATTACHABLE),
  def('cgroup/recvmsg4', 'CGROUP_SOCK_ADDR', 'BPF_CGROUP_UDP4_RECVMSG', SEC_ATTACHABLE),
  def('cgroup/recvmsg6', 'CGROUP_SOCK_ADDR', 'BPF_CGROUP_UDP6_RECVMSG', SEC_ATTACHABLE),
  def('cgroup/getpeername4', 'CGROUP_SOCK_ADDR', 'BPF_CGROUP_INET4_GETPEERNAME', SEC_ATTACHABLE),
  def('cgroup/getpeername6', 'CGROUP_SOCK_ADDR', 'BPF_CGROUP_INET6_GETPEERNAME', SEC_ATTACHABLE),
  def('cgroup/getsockname4', 'CGROUP_SOCK_ADDR', 'BPF_CGROUP_INET4_GETSOCKNAME', SEC_ATTACHABLE),
  def('cgroup/getsockname6', 'CGROUP_SOCK_ADDR', 'BPF_CGROUP_INET6_GETSOCKNAME', SEC_ATTACHABLE),
  def('cgroup/sysctl', 'CGROUP_SYSCTL', 'BPF_CGROUP_SYSCTL', SEC_ATTACHABLE),
  def('cgroup/getsockopt', 'CGROUP_SOCKOPT', 'BPF_CGROUP_GETSOCKOPT', SEC_ATTACHABLE),
  def('cgroup/setsockopt', 'CGROUP_SOCKOPT', 'BPF_CGROUP_SETSOCKOPT', SEC_ATTACHABLE),
  def('cgroup/dev', 'CGROUP_DEVICE', 'BPF_CGROUP_DEVICE', SEC_ATTACHABLE_OPT),
  def('struct_ops+', 'STRUCT_OPS', null, SEC_NONE),
  def('sk_lookup', 'SK_LOOKUP', 'BPF_SK_LOOKUP', SEC_ATTACHABLE),
];

/**
 * sec_def_matches(): "type/" needs that prefix; "type+" is exactly "type" or "type/..."; any
 * other pattern must equal the section name.
 */
export function secDefMatches(pattern: string, secName: string): boolean {
  if (pattern.endsWith('/')) return secName.startsWith(pattern);
  if (pattern.endsWith('+')) {
    const p = pattern.slice(0, -1);
    if (!secName.startsWith(p)) return false;
    return secName.length === p.length || secName[p.length] === '/';
  }
  return secName === pattern;
}

/** find_sec_def(): the first section_defs[] entry matching, or undefined (libbpf: -ESRCH). */
export function findSecDef(secName: string): SecDef | undefined {
  return SECTION_DEFS.find((d) => secDefMatches(d.sec, secName));
}

/**
 * Program types that cannot load without the kernel's BTF (vmlinux BTF): libbpf resolves their
 * attach target as a BTF id in it (SEC_ATTACH_BTF: fentry, fexit, fmod_ret, tp_btf, lsm, iter;
 * libbpf_find_attach_btf_id()), or the struct_ops type (bpf_map__init_kern_struct_ops()).
 * freplace's target is another BPF program's BTF, not the kernel's.
 */
export function needsKernelBtf(d: SecDef): boolean {
  if (d.progType === 'BPF_PROG_TYPE_STRUCT_OPS') return true;
  return (d.flags & SEC_ATTACH_BTF) !== 0 && d.progType !== 'BPF_PROG_TYPE_EXT';
}

/** What a section names as its attach point, for the attach-point heuristic. */
export interface AttachTarget {
  kind: Exclude<TargetKind, 'none'>;
  /** Function, syscall, tracepoint or hook name (for 'kprobe-multi', the glob). */
  name: string;
  /** Tracepoint category ("sched" in tracepoint/sched/sched_switch). */
  category?: string;
}

/**
 * The attach target written after the section's "type/" prefix, parsed like libbpf's attach
 * functions: kprobe/<func>+<offset> (attach_kprobe), tp/<category>/<name> (attach_tp),
 * raw_tp/<name>, fentry/<func>, lsm/<hook>, iter/<name>. Undefined when the section names none
 * (bare "kprobe", uprobe, usdt, freplace, struct_ops...) or it cannot be parsed.
 */
export function attachTarget(secName: string, d: SecDef | undefined = findSecDef(secName)): AttachTarget | undefined {
  if (!d || d.target === 'none') return undefined;
  const slash = secName.indexOf('/');
  if (slash < 0) return undefined;
  const rest = secName.slice(slash + 1);
  if (!rest) return undefined;
  switch (d.target) {
    case 'kprobe': {
      // attach_kprobe: sscanf("%m[^+]+%li"): the function, then an optional offset.
      const name = rest.split('+')[0]!;
      return name ? { kind: 'kprobe', name } : undefined;
    }
    case 'tracepoint': {
      // attach_tp: "<category>/<name>"; anything else is -EINVAL at attach time.
      const i = rest.indexOf('/');
      if (i <= 0 || i === rest.length - 1) return undefined;
      return { kind: 'tracepoint', category: rest.slice(0, i), name: rest.slice(i + 1) };
    }
    default:
      return { kind: d.target, name: rest };
  }
}
