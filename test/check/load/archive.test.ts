// Kernel facts and load verdicts on real archive kernels. Every expectation about a kernel comes
// from `bpftool btf dump file K format raw` text parsed here (helpers.ts bpftoolFacts), never
// from our BTF reader; program facts are checked against llvm-objdump/bpftool in program.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseBtf } from '../../../src/btf/btf.js';
import { readKernelFacts, type KernelFacts } from '../../../src/check/load/kernel.js';
import { readObjectFacts, type ProgramFacts } from '../../../src/check/load/program.js';
import { programVerdict, groupOutcomes, type Reason } from '../../../src/check/load/verdict.js';
import { attachTypeValue, helperName, mapTypeName, progTypeValue } from '../../../src/check/load/uapi.js';
import { data, HAVE_BPFTOOL, HAVE_CLANG, HAVE_GCC, missing, VMLINUX } from '../../helpers/env.js';
import { unpackBtfTarXz } from '../../helpers/data.js';
import { bpftoolFacts, compileFixture, type RawFacts } from './helpers.js';

const DEMO = data.demoArchive.path;
const EXTRA = data.extraArchive.path;
/** A spread of the demo archive (CentOS 8.0 and 8.1 with its 900k-type BTF, Debian 4.19 and 5.10, Ubuntu 5.4), a Kylin BTF without FUNC entries, and the host. */
const KERNELS: [string, string][] = [
  ['centos/8 4.18.0-80.el8', join(DEMO, 'centos/8/x86_64/4.18.0-80.el8.x86_64.btf.tar.xz')],
  ['centos/8 4.18.0-147.8.1.el8_1', join(DEMO, 'centos/8/x86_64/4.18.0-147.8.1.el8_1.x86_64.btf.tar.xz')],
  ['debian/10 4.19.0-17-amd64', join(DEMO, 'debian/10/x86_64/4.19.0-17-amd64.btf.tar.xz')],
  ['debian/10 5.10.0-0.deb10.17-amd64', join(DEMO, 'debian/10/x86_64/5.10.0-0.deb10.17-amd64.btf.tar.xz')],
  ['ubuntu/20.04 5.4.0-26-generic', join(DEMO, 'ubuntu/20.04/x86_64/5.4.0-26-generic.btf.tar.xz')],
  ['kylin/V10 4.19.90-52.22 (no FUNC)', join(EXTRA, 'kylin/V10/aarch64/4.19.90-52.22.v2207.ky10.aarch64.btf.tar.xz')],
];

const why = missing(data.demoArchive, data.extraArchive) || (!HAVE_BPFTOOL ? 'bpftool missing' : '') || (!HAVE_CLANG || !HAVE_GCC ? 'clang-19/gcc missing' : '');

interface Kernel {
  label: string;
  file: string;
  ours: KernelFacts;
  raw: RawFacts;
  bytes: Uint8Array;
}

const kernels: Kernel[] = [];
const programs = new Map<string, ProgramFacts>();

describe.skipIf(!!why)(why ? `load verdicts on archive kernels: skipped (${why})` : 'load verdicts on archive kernels', () => {
  beforeAll(async () => {
    const list: [string, string][] = [...KERNELS];
    list.push(['host ' + VMLINUX, VMLINUX]);
    for (const [label, src] of list) {
      const file = src.endsWith('.tar.xz') ? await unpackBtfTarXz(src) : src;
      const bytes = new Uint8Array(readFileSync(file));
      kernels.push({ label, file, ours: readKernelFacts(parseBtf(bytes)), raw: bpftoolFacts(file), bytes });
    }
    for (const fx of ['ringbuf', 'helpers', 'fentry', 'tracepoint', 'legacy', 'mapinmap']) {
      const obj = compileFixture(fx);
      for (const p of readObjectFacts(new Uint8Array(readFileSync(obj)), obj).programs) programs.set(p.name, p);
    }
  }, 600_000);

  it('kernel facts: the four enums, FUNC, trace_event_raw_ structs and btf_trace_ typedefs as bpftool dumps them', () => {
    for (const k of kernels) {
      for (const [e, key] of [['bpf_prog_type', 'progTypes'], ['bpf_attach_type', 'attachTypes'], ['bpf_map_type', 'mapTypes'], ['bpf_func_id', 'helpers']] as const) {
        const raw = k.raw.enums.get(e);
        expect([k.label, e, raw ? [...raw].sort() : undefined]).toEqual([k.label, e, k.ours[key] ? [...k.ours[key]!.byName].sort() : undefined]);
      }
      expect([k.label, k.ours.funcs.size]).toEqual([k.label, k.raw.funcs.size]);
      expect([...k.ours.funcs.names()].every((f) => k.raw.funcs.has(f))).toBe(true);
      // has(): a sample of present names, and absent ones (a prefix, a suffix, a type name).
      const sample = [...k.raw.funcs].filter((_, i) => i % 400 === 0);
      for (const f of sample) expect([k.label, f, k.ours.funcs.has(f)]).toEqual([k.label, f, true]);
      for (const f of [...sample.map((x) => x.slice(0, -1)), ...sample.map((x) => `${x}_`), 'task_struct', '', 'btfgen_nope'])
        expect([k.label, f, k.ours.funcs.has(f)]).toEqual([k.label, f, k.raw.funcs.has(f)]);
      const tp = [...k.raw.structs].filter((s) => s.startsWith('trace_event_raw_')).map((s) => s.slice(16)).sort();
      expect([k.label, [...k.ours.tracepointStructs].sort()]).toEqual([k.label, tp]);
      const td = [...k.raw.typedefs].filter((s) => s.startsWith('btf_trace_')).map((s) => s.slice(10)).sort();
      expect([k.label, [...k.ours.btfTraceTypedefs].sort()]).toEqual([k.label, td]);
    }
  });

  it('FUNC names given to readKernelFacts (as check passes its attach points) are answered by its scan as bpftool has them', () => {
    for (const k of kernels) {
      const sample = [...k.raw.funcs].filter((_, i) => i % 300 === 0);
      const asked = [...sample, ...sample.map((x) => x.slice(0, -1)), ...sample.map((x) => `${x}_`), 'task_struct', 'btfgen_nope', 'do_nanosleep', '__x64_sys_openat'];
      const ours = readKernelFacts(parseBtf(k.bytes), { funcs: asked });
      for (const f of asked) expect([k.label, f, ours.funcs.has(f)]).toEqual([k.label, f, k.raw.funcs.has(f)]);
      expect(ours.funcs.size).toBe(k.raw.funcs.size);
    }
  });

  /** Does the kernel (per bpftool) have this enum value? undefined when it lacks the enum. */
  const rawHas = (r: RawFacts, e: string, v: number | undefined): boolean | undefined => {
    const m = r.enums.get(e);
    if (!m) return undefined;
    return [...m].some(([n, x]) => x === v && !n.startsWith('__'));
  };

  /**
   * The documented rules (docs/check.md) applied to bpftool's facts: the checks expected to
   * fail and to read unknown, as "check:name" strings.
   */
  function expected(p: ProgramFacts, r: RawFacts): { fails: string[]; unknown: string[] } {
    const fails: string[] = [];
    const unknown: string[] = [];
    const put = (tag: string, ok: boolean | undefined) => (ok === undefined ? unknown.push(tag) : ok ? 0 : fails.push(tag));
    const d = p.secDef;
    if (!d) fails.push(`prog-type:${p.section}`);
    else {
      put(`prog-type:${d.progType}`, rawHas(r, 'bpf_prog_type', progTypeValue(d.progType)));
      if (d.attachType && d.attachType !== 'BPF_XDP' && d.attachType !== 'BPF_SK_REUSEPORT_SELECT') put(`attach-type:${d.attachType}`, rawHas(r, 'bpf_attach_type', attachTypeValue(d.attachType)));
    }
    for (const h of p.helpers) put(`helper:${helperName(h)}`, rawHas(r, 'bpf_func_id', h));
    for (const m of p.maps) {
      put(`map-type:${mapTypeName(m.type!)}`, rawHas(r, 'bpf_map_type', m.type));
      if (m.innerType !== undefined) put(`map-type:${mapTypeName(m.innerType)}`, rawHas(r, 'bpf_map_type', m.innerType));
    }
    const t = p.target;
    const funcs = r.funcs.size ? r.funcs : undefined;
    const typedefs = [...r.typedefs].some((n) => n.startsWith('btf_trace_'));
    if (t?.kind === 'kprobe' || t?.kind === 'btf-func') put(`attach-point:${t.name}`, funcs ? funcs.has(t.name) : undefined);
    if (t?.kind === 'tracepoint' && t.category === 'syscalls') {
      const sc = t.name.replace(/^sys_(enter|exit)_/, '');
      put(`attach-point:${t.category}/${t.name}`, funcs ? ['__x64_sys_', '__arm64_sys_', '__se_sys_', 'sys_'].some((x) => funcs.has(x + sc)) : undefined);
    } else if (t?.kind === 'tracepoint' || t?.kind === 'raw-tracepoint' || t?.kind === 'btf-tracepoint') {
      const shown = t.kind === 'tracepoint' ? `${t.category}/${t.name}` : t.name;
      put(`attach-point:${shown}`, typedefs ? r.typedefs.has(`btf_trace_${t.name}`) : r.structs.has(`trace_event_raw_${t.name}`) ? true : undefined);
    }
    return { fails: fails.sort(), unknown: unknown.sort() };
  }

  const tags = (rs: Reason[]) => rs.map((x) => `${x.check}:${x.name}`).sort();

  it('every fixture program on every kernel: verdict and reasons as bpftool facts and the documented rules give', () => {
    let compared = 0;
    const seen = new Set<string>();
    for (const k of kernels) {
      for (const p of programs.values()) {
        const v = programVerdict(p, k.ours);
        const e = expected(p, k.raw);
        const verdict = e.fails.length ? 'fails' : e.unknown.length ? 'unknown' : 'loads';
        expect([k.label, p.name, v.verdict, tags(v.failures), tags(v.unknowns)]).toEqual([k.label, p.name, verdict, e.fails, e.unknown]);
        seen.add(verdict);
        compared++;
      }
    }
    expect(compared).toBe(kernels.length * programs.size);
    // The fixtures and kernels exercise all three verdicts.
    expect([...seen].sort()).toEqual(['fails', 'loads', 'unknown']);
  });

  const kernel = (label: string) => kernels.find((k) => k.label.startsWith(label))!;
  const prog = (name: string) => programs.get(name)!;

  it('ring buffer: BPF_MAP_TYPE_RINGBUF (27) is absent on Debian 4.19, the CentOS 8 kernels say what bpftool says', () => {
    const deb419 = kernel('debian/10 4.19');
    expect(rawHas(deb419.raw, 'bpf_map_type', 27)).toBe(false);
    const v = programVerdict(prog('rb_output'), deb419.ours);
    expect(v.verdict).toBe('fails');
    expect(v.failures).toContainEqual({ check: 'map-type', name: 'BPF_MAP_TYPE_RINGBUF', detail: "map 'events': not in this kernel's enum bpf_map_type" });
    expect(v.failures).toContainEqual({ check: 'helper', name: 'BPF_FUNC_ringbuf_output', detail: "not in this kernel's enum bpf_func_id" });
    // The twin without the ring buffer loads there.
    expect(programVerdict(prog('hash_count'), deb419.ours).verdict).toBe('loads');
    for (const k of kernels.filter((x) => x.label.startsWith('centos/8'))) {
      const has = rawHas(k.raw, 'bpf_map_type', 27);
      const fails = programVerdict(prog('rb_output'), k.ours).failures.some((r) => r.name === 'BPF_MAP_TYPE_RINGBUF');
      expect([k.label, fails]).toEqual([k.label, !has]);
    }
    // A ring buffer as the inner map of a map-in-map fails the same way.
    expect(programVerdict(prog('lookup_outer'), deb419.ours).failures).toContainEqual({ check: 'map-type', name: 'BPF_MAP_TYPE_RINGBUF', detail: "inner map of 'outer': not in this kernel's enum bpf_map_type" });
    // Where the kernel has it, the name is the kernel's own (Debian 5.10).
    const ok = programVerdict(prog('rb_output'), kernel('debian/10 5.10').ours);
    expect(ok.verdict).toBe('loads');
  });

  it('fentry: needs-kernel-btf on every kernel, reported apart unless strict; a missing target is an attach-point failure', () => {
    for (const k of kernels) {
      const v = programVerdict(prog('fentry_sleep'), k.ours);
      expect(v.needsKernelBtf).toMatchObject({ check: 'needs-kernel-btf', name: 'BPF_TRACE_FENTRY' });
      expect(v.failures.some((r) => r.check === 'needs-kernel-btf')).toBe(false);
      const strict = programVerdict(prog('fentry_sleep'), k.ours, { strict: true });
      expect(strict.verdict).toBe('fails');
      expect(strict.failures).toContainEqual(v.needsKernelBtf);
    }
    const d510 = kernel('debian/10 5.10');
    expect(programVerdict(prog('fentry_sleep'), d510.ours).verdict).toBe('loads');
    expect(tags(programVerdict(prog('fentry_missing'), d510.ours).failures)).toEqual(['attach-point:btfgen_no_such_function']);
    // 4.19 has no BPF_PROG_TYPE_TRACING (Linux 5.5) nor BPF_TRACE_FENTRY.
    expect(tags(programVerdict(prog('fentry_sleep'), kernel('debian/10 4.19').ours).failures)).toEqual(['attach-type:BPF_TRACE_FENTRY', 'prog-type:BPF_PROG_TYPE_TRACING']);
  });

  it('helper newer than some kernels: bpf_ktime_get_boot_ns / bpf_probe_read_kernel (in a subprogram)', () => {
    const u54 = kernel('ubuntu/20.04 5.4');
    const f = tags(programVerdict(prog('new_helpers'), u54.ours).failures);
    expect(f).toEqual(['helper:BPF_FUNC_ktime_get_boot_ns', 'helper:BPF_FUNC_probe_read_kernel'].filter((t) => !rawHas(u54.raw, 'bpf_func_id', t.endsWith('boot_ns') ? 125 : 113)));
    expect(f.length).toBeGreaterThan(0);
    expect(programVerdict(prog('old_helpers'), u54.ours).verdict).toBe('loads');
    expect(programVerdict(prog('new_helpers'), kernel('debian/10 5.10').ours).verdict).toBe('loads');
  });

  it('tracepoint on some kernels only: net_dev_xmit_timeout', () => {
    const v = (label: string) => programVerdict(prog('tp_xmit_timeout'), kernel(label).ours);
    expect(v('ubuntu/20.04').verdict).toBe('loads');
    expect(v('debian/10 5.10').verdict).toBe('loads');
    // 4.19 has no btf_trace_ typedefs and no struct trace_event_raw_net_dev_xmit_timeout: unknown, not missing.
    expect(kernel('debian/10 4.19').raw.structs.has('trace_event_raw_net_dev_xmit_timeout')).toBe(false);
    expect(v('debian/10 4.19').verdict).toBe('unknown');
    expect(v('debian/10 4.19').unknowns[0]).toMatchObject({ check: 'attach-point', name: 'net/net_dev_xmit_timeout' });
    // A kernel whose BTF has btf_trace_ typedefs but not this one: a (heuristic) failure.
    const gone = programVerdict(prog('tp_disk_randomness'), kernel('debian/10 5.10').ours);
    expect(kernel('debian/10 5.10').raw.typedefs.has('btf_trace_add_disk_randomness')).toBe(false);
    expect(gone.verdict).toBe('fails');
    expect(gone.failures[0]!.detail).toMatch(/^heuristic: /);
  });

  it('a kernel BTF without FUNC entries reads attach points as unknown, never missing', () => {
    const ky = kernel('kylin');
    expect(ky.raw.funcs.size).toBe(0);
    const v = programVerdict(prog('fentry_missing'), ky.ours);
    expect(v.failures.some((r) => r.check === 'attach-point')).toBe(false);
    expect(v.unknowns.some((r) => r.check === 'attach-point')).toBe(true);
  });

  it('groups kernels with the same outcome (the json outcomes shape)', () => {
    const per = kernels.map((k) => programVerdict(prog('rb_output'), k.ours));
    const outcomes = groupOutcomes(per);
    expect(outcomes.flatMap((o) => o.kernels).sort((a, b) => a - b)).toEqual(kernels.map((_, i) => i));
    for (const o of outcomes) for (const i of o.kernels) expect(per[i]!.verdict).toBe(o.verdict);
  });
});
