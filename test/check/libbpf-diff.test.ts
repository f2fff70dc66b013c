// Differential test of `btfgen check`'s decisions against libbpf 1.1 itself: for each object
// and kernel, libbpf (harness/relo-log.c, btf_custom_path = that kernel's BTF, debug log on)
// relocates and loads the object; every `prog 'X': relo #N:` decision it logs (patched value,
// poisoned instruction, failure) must be ours. Objects: test/fixtures/bpf/*.o. Kernels: the
// running kernel and a spread of ../shared/data archive kernels (BTFGEN_FULL=1: all of them),
// extracted with tar/xz, not our reader.
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decideObject, prepareCheckObject, type CheckObject } from '../../src/check/decide.js';
import { HAVE_VMLINUX, VMLINUX } from '../helpers/env.js';
import { defaultKernels, fixtureObjects, kernelFile, ourTarget, pool, readBytes } from '../minimize/helpers/differential.js';
import { compareDecisions } from './compare.js';
import { buildHarness, harnessSkipReason, parseReloLog, runHarness } from './helpers.js';

const bin = buildHarness();
// arm64 kernels too: libbpf relocates against any BTF given as btf_custom_path
const kernels = [...(HAVE_VMLINUX ? [VMLINUX] : []), ...defaultKernels()];

function objects(): CheckObject[] {
  const out: CheckObject[] = [];
  for (const f of fixtureObjects()) {
    try {
      out.push(prepareCheckObject(readBytes(f), basename(f)));
    } catch {
      // no .BTF/.BTF.ext, big-endian: libbpf has no CO-RE decision to compare
    }
  }
  return out;
}

describe.skipIf(!bin)(`check decisions vs libbpf 1.1 ${bin ? '' : `(skipped: ${harnessSkipReason()})`}`, () => {
  it.skipIf(kernels.length === 0)('every relocation of every fixture on every kernel', async () => {
    const objs = objects();
    const paths = new Map(fixtureObjects().map((f) => [basename(f), f]));
    let compared = 0;
    const verdicts: Record<string, number> = {};
    const notRelocated: string[] = [];
    const mismatches: string[] = [];
    for (const k of kernels) {
      const btfPath = kernelFile(k);
      const target = await ourTarget(k);
      await pool(objs, 2, async (o) => {
        const ours = decideObject(o, target);
        const run = await runHarness(bin!, paths.get(o.file)!, btfPath);
        const c = compareDecisions(o, ours, parseReloLog(run.log));
        for (const d of ours.decisions) if (d) verdicts[d.verdict] = (verdicts[d.verdict] ?? 0) + 1;
        compared += c.compared;
        if (c.notRelocated) notRelocated.push(`${o.file} on ${basename(k)}`);
        for (const m of c.mismatches) mismatches.push(`${basename(k)}: ${m}`);
      });
    }
    console.log(`check vs libbpf: ${compared} decisions compared over ${objs.length} objects x ${kernels.length} kernels; ${notRelocated.length} runs where libbpf relocated nothing; ours: ${JSON.stringify(verdicts)}`);
    expect(mismatches.slice(0, 40)).toEqual([]);
    expect(compared).toBeGreaterThan(objs.length * kernels.length);
    // the fixtures exercise all three verdicts
    expect(verdicts.poison).toBeGreaterThan(0);
    expect(verdicts.error).toBeGreaterThan(0);
  }, 60_000 + kernels.length * 120_000);
});
