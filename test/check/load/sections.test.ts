// Section name -> program type / expected attach type: differential against libbpf 1.1 itself
// (libbpf_prog_type_by_name() and libbpf_attach_type_by_name() of the installed libbpf).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attachTarget, findSecDef, needsKernelBtf, SEC_ATTACHABLE, SECTION_DEFS } from '../../../src/check/load/sections.js';
import { attachTypeValue, progTypeValue } from '../../../src/check/load/uapi.js';
import { HAVE_GCC, HAVE_LIBBPF_DEV } from '../../helpers/env.js';
import { LOAD_FIXTURES, run, tempDir } from './helpers.js';

/** Every libbpf 1.1 pattern, its variants, and names it must not recognise. */
function sectionNames(): string[] {
  const names = new Set<string>();
  for (const d of SECTION_DEFS) {
    const base = d.sec.replace(/\+$/, '');
    for (const s of [base, `${base}/`, `${base}/x`, `${base}/a/b`, `${base}x`, `${base}.s`, `${base}_`, `${base}+`, base.slice(0, -1)]) names.add(s);
  }
  for (const s of [
    '', '/', 'kprobe/do_sys_open+0x10', 'kretprobe/vfs_read', 'tracepoint/syscalls/sys_enter_openat', 'tp/sched/sched_switch',
    'raw_tp/sched_switch', 'tp_btf/sched_switch', 'fentry/vfs_read', 'fexit.s/x', 'lsm/file_open', 'lsm.s/bprm', 'iter/task',
    'struct_ops/tcp_ca_init', 'struct_ops.s/x', 'xdp/foo', 'xdp.frags/foo', 'xdp_devmap/x', 'tc/ingress', 'tcx/ingress',
    'netfilter', 'uprobe.multi/x', 'sk_skb/verdict', 'cgroup/connect_unix', 'cgroup/sock_create/x', 'socket/x', 'socket1',
    'license', 'maps', '.maps', '.text', 'ksyscall/openat', 'kprobe.multi/vfs_*', 'usdt/x', 'perf_event/x', 'syscall/x',
    'SEC', 'KPROBE/x', ' kprobe/x', 'kprobe /x', 'kprobe.s/x', 'kprobe.session/x', 'tracepoint.s/a/b', 'freplace/x',
  ]) names.add(s);
  return [...names].filter((n) => !n.includes('\n'));
}

describe.skipIf(!HAVE_GCC || !HAVE_LIBBPF_DEV)(
  HAVE_GCC && HAVE_LIBBPF_DEV ? 'section names: ours vs libbpf 1.1' : 'section names vs libbpf: skipped (needs gcc and libbpf-dev)',
  () => {
    it('maps every name exactly as libbpf_prog_type_by_name / libbpf_attach_type_by_name do', () => {
      const bin = join(tempDir(), 'sec_probe');
      run('gcc', ['-O2', '-o', bin, join(LOAD_FIXTURES, 'sec_probe.c'), '-lbpf']);
      const names = sectionNames();
      const out = run(bin, [], names.join('\n') + '\n').split('\n');
      expect(out[0]).toMatch(/^libbpf 1\.1$/);
      // One row per name, in order (the empty name gives an empty first field).
      const rows = out.slice(1, 1 + names.length);
      expect(rows.length).toBe(names.length);
      let recognised = 0;
      rows.forEach((row, i) => {
        const [name, pt, at] = row.split('\t') as [string, string, string];
        expect(name).toBe(names[i]);
        const [rc, progType, expAttach] = pt.split(' ').map(Number) as [number, number, number];
        const [rc2, attach] = at.split(' ').map(Number) as [number, number];
        const d = findSecDef(name);
        const ours = d
          ? `0 ${progTypeValue(d.progType)} ${d.attachType ? attachTypeValue(d.attachType) : 0}`
          : '-3 -1 -1'; // -ESRCH
        expect(`${name}: ${ours}`).toBe(`${name}: ${rc} ${progType} ${expAttach}`);
        const oursAttach = d && d.flags & SEC_ATTACHABLE ? `0 ${d.attachType ? attachTypeValue(d.attachType) : 0}` : '-22 -1';
        expect(`${name}: ${oursAttach}`).toBe(`${name}: ${rc2} ${attach}`);
        if (rc === 0) recognised++;
      });
      // The list exercises both outcomes in quantity.
      expect(recognised).toBeGreaterThan(150);
      expect(names.length - recognised).toBeGreaterThan(150);
    });
  },
);

describe('section facts', () => {
  it('needs kernel BTF: fentry/fexit/fmod_ret/tp_btf/lsm/iter/struct_ops, not kprobe/tracepoint/freplace', () => {
    const needs = (s: string) => needsKernelBtf(findSecDef(s)!);
    for (const s of ['fentry/x', 'fexit/x', 'fmod_ret/x', 'fentry.s/x', 'tp_btf/x', 'lsm/x', 'lsm.s/x', 'lsm_cgroup/x', 'iter/task', 'iter.s/x', 'struct_ops/x', 'struct_ops'])
      expect([s, needs(s)]).toEqual([s, true]);
    for (const s of ['kprobe/x', 'kretprobe/x', 'tracepoint/a/b', 'raw_tp/x', 'xdp', 'freplace/x', 'socket', 'uprobe/x', 'ksyscall/x'])
      expect([s, needs(s)]).toEqual([s, false]);
  });

  it('parses attach targets like libbpf attach_kprobe / attach_tp / attach_trace', () => {
    expect(attachTarget('kprobe/do_sys_open+0x10')).toEqual({ kind: 'kprobe', name: 'do_sys_open' });
    expect(attachTarget('kretprobe/vfs_read')).toEqual({ kind: 'kprobe', name: 'vfs_read' });
    expect(attachTarget('tp/sched/sched_switch')).toEqual({ kind: 'tracepoint', category: 'sched', name: 'sched_switch' });
    expect(attachTarget('tracepoint/syscalls/sys_enter_openat')).toEqual({ kind: 'tracepoint', category: 'syscalls', name: 'sys_enter_openat' });
    expect(attachTarget('raw_tp/sched_switch')).toEqual({ kind: 'raw-tracepoint', name: 'sched_switch' });
    expect(attachTarget('fentry/vfs_read')).toEqual({ kind: 'btf-func', name: 'vfs_read' });
    expect(attachTarget('tp_btf/sched_switch')).toEqual({ kind: 'btf-tracepoint', name: 'sched_switch' });
    expect(attachTarget('lsm/file_open')).toEqual({ kind: 'lsm', name: 'file_open' });
    expect(attachTarget('iter/task')).toEqual({ kind: 'iter', name: 'task' });
    expect(attachTarget('ksyscall/openat')).toEqual({ kind: 'ksyscall', name: 'openat' });
    for (const s of ['kprobe', 'tracepoint/nocat', 'uprobe/bin:f', 'xdp', 'freplace/x', 'struct_ops/x', 'unknown/x']) expect([s, attachTarget(s)]).toEqual([s, undefined]);
  });
});
