// Differential suite: every fixture object, alone, minimized by bpftool 7.1 (the oracle) and by
// us against the running kernel, the small selftest-style targets, the target objects used as
// kernels for each other, and archive kernels (a default subset; all with BTFGEN_FULL=1).
// Success must give the same bytes; failure the same exit status.
import { basename } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CILIUM_71, HAVE_ARCHIVE_DEMO, HAVE_BPFTOOL, HAVE_VMLINUX, NO_ARCHIVE_DEMO, NO_BPFTOOL, VMLINUX } from '../helpers/env.js';
import { bpftoolMinimize, compareOutcomes, defaultKernels, fixtureObjects, kernelFile, ourMinimize, pool, targetObjects } from './helpers/differential.js';
import { existsSync } from 'node:fs';

if (!HAVE_BPFTOOL) console.warn(NO_BPFTOOL);
if (!HAVE_ARCHIVE_DEMO) console.warn(NO_ARCHIVE_DEMO);

const objects = fixtureObjects();
/** Per-target budget: ~50 bpftool runs, up to ~1 s each on the 44 MB kernel under CI load. */
const LONG = 600_000;
const tally = { identical: 0, failedAlike: 0, pairs: 0 };

async function diffTarget(targetPath: string): Promise<string[]> {
  const input = kernelFile(targetPath);
  const results = await pool(objects, 2, async (obj) => {
    const [ref, ours] = await Promise.all([bpftoolMinimize(input, [obj]), ourMinimize(input, [obj])]);
    const d = compareOutcomes(ours, ref);
    tally.pairs++;
    if (!d) {
      if (ref.status === 0) tally.identical++;
      else tally.failedAlike++;
    }
    return d ? `${basename(obj)}: ${d}` : undefined;
  });
  return results.filter((x): x is string => x !== undefined);
}

describe.skipIf(!HAVE_BPFTOOL || objects.length === 0)('minimize vs bpftool 7.1, one object at a time', () => {
  afterAll(() => {
    console.log(
      `minimize differential: ${tally.pairs} (object, target) pairs; ${tally.identical} byte-identical, ` +
        `${tally.failedAlike} failing with bpftool's exit status`,
    );
  });

  it.skipIf(!HAVE_VMLINUX)('running kernel /sys/kernel/btf/vmlinux', async () => {
    expect(await diffTarget(VMLINUX)).toEqual([]);
  }, LONG);

  for (const t of targetObjects()) {
    it(`target object ${basename(t)}`, async () => {
      expect(await diffTarget(t)).toEqual([]);
    }, LONG);
  }

  it.skipIf(!existsSync(CILIUM_71))('7.1 kernel with a 32-byte header and a layout section (cilium testdata)', async () => {
    expect(await diffTarget(CILIUM_71)).toEqual([]);
  }, LONG);

  for (const k of defaultKernels()) {
    it(`archive kernel ${k.slice(k.indexOf('btfhub-archive'))}`, async () => {
      expect(await diffTarget(k)).toEqual([]);
    }, LONG);
  }
});
