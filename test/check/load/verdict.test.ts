// Verdict rules on hand-made facts: an absent enum reads unknown, an unrecognised section fails,
// CO-RE reasons from the relocation check fail the program, BPF_XDP is not required.
import { describe, expect, it } from 'vitest';
import type { KernelFacts } from '../../../src/check/load/kernel.js';
import type { ProgramFacts } from '../../../src/check/load/program.js';
import { attachTarget, findSecDef } from '../../../src/check/load/sections.js';
import { groupOutcomes, programVerdict } from '../../../src/check/load/verdict.js';

function en(pairs: [string, number][]) {
  return { byName: new Map(pairs), byValue: new Map(pairs.map(([n, v]) => [v, n] as [number, string])) };
}
function funcs(names: string[]): KernelFacts['funcs'] {
  const set = new Set(names);
  return { size: set.size, has: (n) => set.has(n), names: () => set.values() };
}
const kernel = (over: Partial<KernelFacts> = {}): KernelFacts => ({
  progTypes: en([['BPF_PROG_TYPE_KPROBE', 2], ['BPF_PROG_TYPE_XDP', 6]]),
  attachTypes: en([['BPF_CGROUP_INET_INGRESS', 0]]),
  mapTypes: en([['BPF_MAP_TYPE_HASH', 1]]),
  helpers: en([['BPF_FUNC_map_lookup_elem', 1]]),
  funcs: funcs(['vfs_read']),
  tracepointStructs: new Set(),
  btfTraceTypedefs: new Set(),
  ...over,
});
const program = (section: string, over: Partial<ProgramFacts> = {}): ProgramFacts => ({
  name: 'p',
  section,
  autoload: true,
  secDef: findSecDef(section),
  target: attachTarget(section),
  helpers: [1],
  maps: [{ name: 'm', type: 1, source: '.maps' }],
  typedKsyms: [],
  ...over,
});

describe('programVerdict', () => {
  it('loads when every check passes', () => {
    expect(programVerdict(program('kprobe/vfs_read'), kernel())).toEqual({ verdict: 'loads', failures: [], unknowns: [], needsKernelBtf: undefined });
  });
  it('an enum absent from the kernel BTF reads unknown, not missing', () => {
    const v = programVerdict(program('kprobe/vfs_read'), kernel({ helpers: undefined, mapTypes: undefined }));
    expect(v.verdict).toBe('unknown');
    expect(v.unknowns.map((r) => `${r.check}:${r.name}`)).toEqual(['helper:BPF_FUNC_map_lookup_elem', 'map-type:BPF_MAP_TYPE_HASH']);
  });
  it('fails lists every reason; a section libbpf does not know is a prog-type failure', () => {
    const v = programVerdict(program('kprobe/nope', { helpers: [1, 130], maps: [{ name: 'rb', type: 27, source: '.maps' }] }), kernel());
    expect(v.verdict).toBe('fails');
    expect(v.failures.map((r) => `${r.check}:${r.name}`)).toEqual(['helper:BPF_FUNC_ringbuf_output', 'map-type:BPF_MAP_TYPE_RINGBUF', 'attach-point:nope']);
    const u = programVerdict(program('mysec'), kernel());
    expect(u.failures).toEqual([{ check: 'prog-type', name: 'mysec', detail: "libbpf 1.1 does not recognise section 'mysec'" }]);
  });
  it('CO-RE reasons from the relocation check make the program fail, first', () => {
    const core = [{ check: 'core' as const, name: 'task_struct->loginuid', detail: 'relo #0: poison' }];
    const v = programVerdict(program('kprobe/vfs_read'), kernel(), { core });
    expect(v.verdict).toBe('fails');
    expect(v.failures).toEqual(core);
  });
  it('xdp does not need BPF_XDP (5.9), sk_reuseport not BPF_SK_REUSEPORT_SELECT (5.14): older kernels ignore them', () => {
    expect(programVerdict(program('xdp'), kernel()).verdict).toBe('loads');
    expect(programVerdict(program('xdp/devmap'), kernel()).failures.map((r) => r.name)).toEqual(['BPF_XDP_DEVMAP']);
    const reuseport = kernel({ progTypes: en([['BPF_PROG_TYPE_SK_REUSEPORT', 21]]) });
    expect(programVerdict(program('sk_reuseport'), reuseport).verdict).toBe('loads');
    expect(programVerdict(program('sk_reuseport/migrate'), reuseport).failures.map((r) => r.name)).toEqual(['BPF_SK_REUSEPORT_SELECT_OR_MIGRATE']);
  });
  it('groups identical outcomes, keeping kernel indices', () => {
    const vs = [kernel(), kernel({ helpers: undefined }), kernel()].map((k) => programVerdict(program('kprobe/vfs_read'), k));
    expect(groupOutcomes(vs, (i) => i + 10).map((o) => [o.verdict, o.kernels])).toEqual([['loads', [10, 12]], ['unknown', [11]]]);
  });
});
