// pack --verify's comparison (compareKernelDecisions): decisions on a kernel's full BTF vs a
// minimized BTF. The reference is libbpf itself: the harness relocates the object once with the
// full BTF and once with the minimized one (bpftool gen min_core_btf's output); the relocations
// whose logged decision differs (verdict or patched value; target_type_id values aside) must be
// exactly the ones we report.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareCheckObject } from '../../src/check/decide.js';
import { checkKernel, compareKernelDecisions } from '../../src/check/verify.js';
import { prepareTarget } from '../../src/minimize/index.js';
import { BPF_FIXTURES_DIR, HAVE_BPFTOOL, HAVE_VMLINUX, NO_BPFTOOL, VMLINUX } from '../helpers/env.js';
import { bpftoolMinimize, readBytes, tempFile } from '../minimize/helpers/differential.js';
import { buildHarness, harnessSkipReason, type LibbpfDecision, parseReloLog, runHarness } from './helpers.js';

const bin = buildHarness();
const why = !HAVE_BPFTOOL ? NO_BPFTOOL : !bin ? harnessSkipReason() : !HAVE_VMLINUX ? 'no /sys/kernel/btf/vmlinux' : '';

function differing(a: Map<string, LibbpfDecision>, b: Map<string, LibbpfDecision>, kinds: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, x] of a) {
    if (kinds.get(k) === 'target_type_id') continue;
    const y = b.get(k);
    if (!y || y.verdict !== x.verdict || y.value !== x.value || y.memSize !== x.memSize) out.push(k);
  }
  return out.sort();
}

describe.skipIf(why !== '')(`pack --verify comparison vs libbpf ${why ? `(skipped: ${why})` : ''}`, () => {
  const fx = (n: string) => join(BPF_FIXTURES_DIR, n);
  it.each([
    ['trace_sched.o', ['trace_sched.o']],
    ['trace_sched.o', ['trace_tcp.o']],
    ['trace_tcp.o', ['trace_vfs.o', 'trace_exec.o', 'reloc_types.o']],
  ])('objects minimized for %s, checked: %j', async (minFor, checked) => {
    const ref = await bpftoolMinimize(VMLINUX, [fx(minFor)]);
    expect(ref.status).toBe(0);
    const minPath = tempFile('min.btf');
    writeFileSync(minPath, ref.bytes!);
    const full = prepareTarget(readBytes(VMLINUX));
    const min = prepareTarget(ref.bytes!);
    const objs = checked.map((n) => prepareCheckObject(readBytes(fx(n)), n));
    const ours = compareKernelDecisions(objs, full, min).map((d) => `${d.object}:${d.program}#${d.index}`).sort();
    const expected: string[] = [];
    for (const o of objs) {
      const kinds = new Map(o.relos.map((c) => [`${c.program}#${c.index}`, c.kind]));
      const a = parseReloLog((await runHarness(bin!, fx(o.file), VMLINUX)).log);
      const b = parseReloLog((await runHarness(bin!, fx(o.file), minPath)).log);
      expected.push(...differing(a, b, kinds).map((k) => `${o.file}:${k}`));
    }
    expect(ours).toEqual(expected.sort());
    // pack's one call (report + verify, full decisions computed once) says the same
    const both = checkKernel(objs, full, { report: true, minimized: min });
    expect(both.differences!.map((d) => `${d.object}:${d.program}#${d.index}`).sort()).toEqual(ours);
    expect(both.outcomes).toHaveLength(objs.length);
    if (minFor === checked[0] && checked.length === 1) expect(ours).toEqual([]);
    else expect(ours.length).toBeGreaterThan(0);
  }, 120_000);
});
