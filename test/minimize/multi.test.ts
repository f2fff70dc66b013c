// Several objects in one run: the union of marks, per-object candidate caches, the pruning-order
// effect, and which failure wins (the first failing object in argument order, after the ones
// before it were recorded). Every case is compared with bpftool 7.1.
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BPF_FIXTURES_DIR, HAVE_BPFTOOL, HAVE_VMLINUX, NO_BPFTOOL, VMLINUX } from '../helpers/env.js';
import { bpftoolMinimize, compareOutcomes, defaultKernels, fixtureObjects, kernelFile, ourMinimize, targetObjects } from './helpers/differential.js';

if (!HAVE_BPFTOOL) console.warn(NO_BPFTOOL);

const fx = (n: string) => join(BPF_FIXTURES_DIR, n);
const PROBES = join(BPF_FIXTURES_DIR, 'targets/probes_target.o');

async function same(input: string, objs: string[]): Promise<{ status: number; diff?: string }> {
  const [ref, ours] = await Promise.all([bpftoolMinimize(input, objs), ourMinimize(input, objs)]);
  return { status: ref.status, diff: compareOutcomes(ours, ref) };
}

/** The objects that minimize successfully on their own against `input` (by our side). */
async function okObjects(input: string): Promise<string[]> {
  const out: string[] = [];
  for (const o of fixtureObjects()) if ((await ourMinimize(input, [o])).status === 0) out.push(o);
  return out;
}

describe.skipIf(!HAVE_BPFTOOL)('several objects at once vs bpftool 7.1', () => {
  it('pruning order: j_prune then j2_noprune, and the reverse, and each twice', async () => {
    for (const set of [
      ['j_prune.o', 'j2_noprune.o'],
      ['j2_noprune.o', 'j_prune.o'],
      ['j_prune.o', 'j_prune.o'],
      ['j2_noprune.o', 'j2_noprune.o', 'j_prune.o'],
      ['d2_noambig.o', 'j_prune.o', 'i_union.o', 'c_bits.o', 'c2_nobits.o', 'g_exists_withcb.o', 'h_match_withcb.o'],
    ]) {
      const r = await same(PROBES, set.map(fx));
      expect(r.diff, set.join(' ')).toBeUndefined();
      expect(r.status, set.join(' ')).toBe(0);
    }
  });

  it('the first failing object decides the error (order matters)', async () => {
    for (const set of [
      ['j_prune.o', 'd_ambig.o', 'l_nobtf.o'],
      ['j_prune.o', 'l_nobtf.o', 'd_ambig.o'],
      ['btf_noext.o', 'd_ambig.o'],
      ['d_ambig.o', 'btf_noext.o'],
      ['a_match_tag.o', 'b_exists_fwd.o'],
      ['fail_anon_root.o', 'd_ambig.o'],
      ['l_norelo.o', 'k_none.o', 'fail_spec_too_deep.o'],
      ['legacy_maps.o', 'j_prune.o'],
      ['obj_be.o', 'j_prune.o'],
    ]) {
      const objs = set.map(fx).filter((p) => fixtureObjects().includes(p));
      if (objs.length !== set.length) continue; // a fixture is missing
      const r = await same(PROBES, objs);
      expect(r.diff, set.join(' ')).toBeUndefined();
      expect(r.status, set.join(' ')).not.toBe(0);
    }
  });

  const targets = [...(HAVE_VMLINUX ? [VMLINUX] : []), ...targetObjects(), ...defaultKernels().filter((k) => !k.includes('4.18.0-147')).slice(0, 2)];
  for (const t of targets) {
    it(`every successful object at once, in order and reversed: ${basename(t)}`, async () => {
      const input = kernelFile(t);
      const ok = await okObjects(input);
      expect(ok.length).toBeGreaterThan(0);
      for (const set of [ok, [...ok].reverse()]) {
        const r = await same(input, set);
        expect(r.diff).toBeUndefined();
        expect(r.status).toBe(0);
      }
    }, 600_000);
  }
});
