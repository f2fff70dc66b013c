// End to end: load each fixture program into the running kernel with libbpf (a tiny C loader),
// once with the kernel's full BTF and once with our minimized BTF as btf_custom_path; the CO-RE
// decisions (patched values / poisoning) and the per-program verifier outcomes must be the same.
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { minimize, prepareObject } from '../../src/minimize/index.js';
import { buildLoader, canLoadBpf, loaderSkipReason, runLoader, type LoaderResult } from '../helpers/loader.js';
import { HAVE_VMLINUX, VMLINUX } from '../helpers/env.js';
import { fixtureObjects, ourTarget, readBytes, tempFile } from './helpers/differential.js';

/**
 * The CO-RE decisions of a load in log order (a poisoned ldimm64 logs two lines for one
 * relocation, so compare sequences, not maps). target_type_id values are the target's own IDs and
 * legitimately differ between full and minimized BTF (spec §4.10): only their kind is kept.
 */
function decisions(r: LoaderResult): string[] {
  return r.relos.map((x) => `${x.prog} #${x.index} ${x.kind} ${x.kind === 'target_type_id' ? '' : x.outcome}`);
}

const CAN_LOAD = HAVE_VMLINUX && canLoadBpf();
if (!CAN_LOAD) console.warn('minimize e2e: loading BPF programs needs root and /sys/kernel/btf/vmlinux: skipped');

describe.skipIf(!CAN_LOAD)('libbpf load: full kernel BTF vs our minimized BTF (btf_custom_path)', () => {
  it('every fixture object that minimizes against the running kernel', async (ctx) => {
    const bin = await buildLoader();
    if (!bin) return ctx.skip(loaderSkipReason());
    const target = await ourTarget(VMLINUX);
    let loaded = 0;
    let compared = 0;
    const problems: string[] = [];
    for (const path of fixtureObjects()) {
      let min: Uint8Array;
      try {
        min = minimize(target, [prepareObject(readBytes(path), path)]);
      } catch {
        continue; // bpftool fails on it too (differential suite)
      }
      const btfPath = tempFile(`${basename(path)}.min.btf`);
      writeFileSync(btfPath, min);
      const [full, ours] = await Promise.all([runLoader(bin, path), runLoader(bin, path, btfPath)]);
      compared++;
      if (full.ok) loaded++;
      const a = decisions(full);
      const b = decisions(ours);
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        const i = a.findIndex((x, k) => x !== b[k]);
        problems.push(`${basename(path)}: CO-RE decision ${i}: ${a[i] ?? '(none)'} != ${b[i] ?? '(none)'}`);
      }
      if (JSON.stringify(full.perProgram) !== JSON.stringify(ours.perProgram)) {
        problems.push(`${basename(path)}: programs ${JSON.stringify(full.perProgram)} != ${JSON.stringify(ours.perProgram)}`);
      }
      if (full.ok !== ours.ok) problems.push(`${basename(path)}: load ${full.ok} != ${ours.ok}`);
    }
    console.log(`minimize e2e: ${compared} objects loaded with full and minimized BTF, ${loaded} load fully`);
    expect(problems).toEqual([]);
    expect(compared).toBeGreaterThan(0);
    expect(loaded).toBeGreaterThan(0);
  }, 300_000);
});
