// Seeded, randomized, structured differential test: BPF objects synthesized from real kernel
// types with random CO-RE-relevant mutations and random CO-RE records (helpers/random-relos.ts)
// are minimized by bpftool 7.1 and by us against the running kernel (and a few archive kernels
// picked by the seed, and synthesized target BTFs made of mutated copies of the same kernel
// types); outcomes must be identical (same bytes, or the same exit status). Runs where bpftool
// dies of a signal (libbpf 1.1 undefined behaviour, e.g. SIGFPE on a 0-size bitfield type) or
// exceeds its time limit are listed, not compared; we must still not crash there.
//
//   BTFGEN_RANDOM_CASES=N   number of cases (default 300: ~490 bpftool runs, ~6 s on 2 cores once the archive kernels are extracted)
//   BTFGEN_RANDOM_SEED=S    seed (default 0x5eed0001; decimal or 0x-hex)
//   BTFGEN_RANDOM_ONLY=i    run only case i (reproduce a failure)
//   BTFGEN_RANDOM_OUT=dir   where mismatching objects are saved (default /tmp/btfgen-random-diff)
//   BTFGEN_RANDOM_KERNELS=a,b  archive kernels (path substrings) instead of the seed's picks
//   BTFGEN_RANDOM_ARCHIVE_P=p  share of cases also run on an archive kernel (default 0.35)
//   BTFGEN_RANDOM_SYNTH_P=p    share of cases also run on a synthesized target BTF (default 0.3)
//   BTFGEN_RANDOM_VERBOSE=1 log bpftool's outcome for every run
//
// On a mismatch the failing case is shrunk (records, then objects, greedily) and saved with a
// README.txt naming seed, case, kernel, both outcomes and the bpftool command to rerun.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARCHIVE_DEMO, ARCHIVE_EXTRA, envNumber, HAVE_ARCHIVE_DEMO, HAVE_BPFTOOL, HAVE_VMLINUX, NO_ARCHIVE_DEMO, NO_BPFTOOL, VMLINUX } from '../helpers/env.js';
import { listArchiveKernels } from '../helpers/data.js';
import { bpftoolMinimize, compareOutcomes, kernelFile, ourMinimizeOrCrash, ourTarget, type Outcome, pool, tempFile } from './helpers/differential.js';
import { describeObject, describeTarget, generateCase, targetBytes, indexSource, objectBytes, Rng, type GenCase, type SourceIndex } from './helpers/random-relos.js';

if (!HAVE_BPFTOOL) console.warn(NO_BPFTOOL);
if (HAVE_BPFTOOL && !HAVE_ARCHIVE_DEMO) console.warn(NO_ARCHIVE_DEMO);

const CASES = envNumber('BTFGEN_RANDOM_CASES', 300);
const SEED = envNumber('BTFGEN_RANDOM_SEED', 0x5eed0001) >>> 0;
const ONLY = process.env.BTFGEN_RANDOM_ONLY;
const VERBOSE = !!process.env.BTFGEN_RANDOM_VERBOSE;
/** Comma-separated substrings of archive kernel paths to use instead of the seed's picks. */
const KERNELS = process.env.BTFGEN_RANDOM_KERNELS;
/** Probability that a case also runs against one of the archive kernels. */
const ARCHIVE_P = envNumber('BTFGEN_RANDOM_ARCHIVE_P', 0.35);
/** Probability that a case also runs against a synthesized target BTF. */
const SYNTH_P = envNumber('BTFGEN_RANDOM_SYNTH_P', 0.3);
const OUT = process.env.BTFGEN_RANDOM_OUT ?? '/tmp/btfgen-random-diff';
/** bpftool wall-clock limit per run (TYPE_MATCHES walks are not memoized in bpftool). */
const BPFTOOL_TIMEOUT = 60_000;

/** Archive kernels for this seed: two from the demo archive, one from the extra one. */
function seedKernels(seed: number): string[] {
  if (!HAVE_ARCHIVE_DEMO) return [];
  if (KERNELS) {
    const all = [...listArchiveKernels(ARCHIVE_DEMO), ...(existsSync(ARCHIVE_EXTRA) ? listArchiveKernels(ARCHIVE_EXTRA) : [])];
    return KERNELS.split(',').map((k) => {
      const hit = all.find((p) => p.includes(k));
      if (!hit) throw new Error(`BTFGEN_RANDOM_KERNELS: no archive kernel matches ${k}`);
      return hit;
    });
  }
  const rng = Rng.forCase(seed ^ 0x4b45524e, 0);
  const demo = listArchiveKernels(ARCHIVE_DEMO);
  const big = demo.filter((k) => /centos\/8\/x86_64\/4\.18\.0-147/.test(k));
  const normal = demo.filter((k) => !big.includes(k));
  const extra = existsSync(ARCHIVE_EXTRA) ? listArchiveKernels(ARCHIVE_EXTRA) : [];
  const out = new Set<string>();
  if (normal.length) for (let i = 0; i < 2; i++) out.add(rng.pick(normal));
  if (extra.length) out.add(rng.pick(extra));
  if (big.length && rng.chance(0.05)) out.add(rng.pick(big)); // rarely: the 44 MB non-deduplicated one
  return [...out];
}

interface Job {
  index: number;
  kernel: string; // archive path or VMLINUX
  input: string; // raw BTF path for both tools
  gen: GenCase;
  paths: string[];
}

interface Mismatch {
  job: Job;
  diff: string;
  ours: Outcome;
  ref: Outcome;
}

function writeObjects(gen: GenCase, keep?: (o: number, b: number, r: number) => boolean, objKeep?: (o: number) => boolean): string[] {
  const out: string[] = [];
  gen.objects.forEach((o, oi) => {
    if (objKeep && !objKeep(oi)) return;
    const p = tempFile(`rand-${oi}.o`);
    writeFileSync(p, objectBytes(o, keep ? (b, r) => keep(oi, b, r) : undefined));
    out.push(p);
  });
  return out;
}

/** Greedy shrink: drop whole objects, then single records, while the outcomes still differ. */
async function shrink(m: Mismatch): Promise<{ keep: (o: number, b: number, r: number) => boolean; objKeep: (o: number) => boolean; ours: Outcome; ref: Outcome; diff: string }> {
  const gen = m.job.gen;
  const droppedObj = new Set<number>();
  const dropped = new Set<string>();
  const keep = (o: number, b: number, r: number) => !dropped.has(`${o}/${b}/${r}`);
  const objKeep = (o: number) => !droppedObj.has(o);
  let best = { ours: m.ours, ref: m.ref, diff: m.diff };
  let budget = 120;
  const attempt = async (): Promise<boolean> => {
    if (budget-- <= 0) return false;
    const paths = writeObjects(gen, keep, objKeep);
    if (!paths.length) return false;
    const [ref, ours] = [await bpftoolMinimize(m.job.input, paths, BPFTOOL_TIMEOUT), await ourMinimizeOrCrash(m.job.input, paths)];
    if (ref.timeout || ref.signal) return false;
    const diff = compareOutcomes(ours, ref);
    if (diff === undefined) return false;
    best = { ours, ref, diff };
    return true;
  };
  if (gen.objects.length > 1) {
    for (let o = 0; o < gen.objects.length; o++) {
      droppedObj.add(o);
      if (!(await attempt())) droppedObj.delete(o);
    }
  }
  for (let o = 0; o < gen.objects.length; o++) {
    if (droppedObj.has(o)) continue;
    const obj = gen.objects[o]!;
    for (let b = obj.blocks.length - 1; b >= 0; b--) {
      for (let r = obj.blocks[b]!.length - 1; r >= 0; r--) {
        const key = `${o}/${b}/${r}`;
        dropped.add(key);
        const total = gen.objects.reduce((n, ob, oi) => n + (droppedObj.has(oi) ? 0 : ob.blocks.reduce((x, bl, bi) => x + bl.filter((_, ri) => keep(oi, bi, ri)).length, 0)), 0);
        if (total === 0 || !(await attempt())) dropped.delete(key);
      }
    }
  }
  return { keep, objKeep, ...best };
}

async function saveMismatch(m: Mismatch): Promise<string> {
  const s = await shrink(m);
  const synth = m.job.kernel.startsWith('synthesized');
  const kb = synth ? 'synth-target' : basename(m.job.kernel).replace(/\.btf\.tar\.xz$/, '');
  const dir = join(OUT, `seed-${SEED}-case-${m.job.index}-${kb}`);
  mkdirSync(dir, { recursive: true });
  let input = m.job.input;
  if (synth) {
    input = join(dir, 'target.btf');
    writeFileSync(input, readFileSync(m.job.input));
  }
  const full: string[] = [];
  const min: string[] = [];
  m.job.gen.objects.forEach((o, oi) => {
    const fp = join(dir, `full-obj${oi}.o`);
    writeFileSync(fp, objectBytes(o));
    full.push(fp);
    if (!s.objKeep(oi)) return;
    const mp = join(dir, `min-obj${oi}.o`);
    writeFileSync(mp, objectBytes(o, (b, r) => s.keep(oi, b, r)));
    min.push(mp);
  });
  const text = [
    `seed ${SEED} (BTFGEN_RANDOM_SEED=${SEED} BTFGEN_RANDOM_ONLY=${m.job.index}), case ${m.job.index}`,
    `kernel: ${m.job.kernel}`,
    `raw input: ${m.job.input}`,
    `original: ${m.diff}`,
    `  bpftool: status ${m.ref.status} ${m.ref.message}`,
    `  ours:    status ${m.ours.status} ${m.ours.message}`,
    `shrunk: ${s.diff}`,
    `  bpftool: status ${s.ref.status} ${s.ref.message}`,
    `  ours:    status ${s.ours.status} ${s.ours.message}`,
    `rerun: bpftool gen min_core_btf ${input} /tmp/out.btf ${min.join(' ')}`,
    ...(synth && m.job.gen.target ? ['', 'synthesized target (named types):', describeTarget(m.job.gen.target)] : []),
    '',
    'shrunk objects:',
    ...m.job.gen.objects.flatMap((o, oi) => (s.objKeep(oi) ? [`obj${oi}:`, describeObject(o, (b, r) => s.keep(oi, b, r))] : [])),
    '',
    'full objects:',
    ...m.job.gen.objects.flatMap((o, oi) => [`obj${oi}:`, describeObject(o)]),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'README.txt'), text);
  return `seed ${SEED} case ${m.job.index} on ${m.job.kernel}: ${m.diff}\n  shrunk: ${s.diff}\n  bpftool: ${s.ref.status} ${s.ref.message.split('\n')[0]}\n  ours: ${s.ours.status} ${s.ours.message}\n  saved: ${dir}`;
}

describe.skipIf(!HAVE_BPFTOOL || !HAVE_VMLINUX)('random structured objects vs bpftool 7.1', () => {
  it(
    `${ONLY !== undefined ? `case ${ONLY}` : `${CASES} cases`} (seed ${SEED})`,
    async () => {
      const kernels = seedKernels(SEED);
      const sources = new Map<string, SourceIndex>();
      const source = async (kernel: string): Promise<SourceIndex> => {
        let s = sources.get(kernel);
        if (!s) {
          const input = kernel === VMLINUX ? VMLINUX : kernelFile(kernel);
          s = indexSource((await ourTarget(input)).btf, kernel === VMLINUX ? 'vmlinux' : basename(kernel).replace(/\.btf\.tar\.xz$/, ''));
          sources.set(kernel, s);
        }
        return s;
      };
      const indices = ONLY !== undefined ? [Number(ONLY)] : Array.from({ length: CASES }, (_, i) => i);
      const jobs: Job[] = [];
      for (const index of indices) {
        const pick = Rng.forCase(SEED ^ 0x7a6b, index);
        const archive = kernels.length && pick.chance(ARCHIVE_P) ? pick.pick(kernels) : undefined;
        const src = archive && pick.chance(0.4) ? await source(archive) : await source(VMLINUX);
        const gen = generateCase(src, SEED, index, { target: pick.chance(SYNTH_P) });
        const paths = writeObjects(gen);
        jobs.push({ index, kernel: VMLINUX, input: VMLINUX, gen, paths });
        if (archive) jobs.push({ index, kernel: archive, input: kernelFile(archive), gen, paths });
        if (gen.target) {
          const input = tempFile(`synth-target-${index}.btf`);
          writeFileSync(input, targetBytes(gen.target));
          jobs.push({ index, kernel: `synthesized target (from ${src.name})`, input, gen, paths });
        }
      }
      const mismatches: Mismatch[] = [];
      const timeouts: string[] = [];
      const crashes: string[] = [];
      const stats = { ok: 0, fail: 0 };
      await pool(jobs, 2, async (job) => {
        const ref = await bpftoolMinimize(job.input, job.paths, BPFTOOL_TIMEOUT);
        if (ref.timeout) {
          timeouts.push(`case ${job.index} on ${job.kernel}`);
          return;
        }
        const ours = await ourMinimizeOrCrash(job.input, job.paths);
        if (ref.signal) {
          // bpftool crashed (undefined behaviour in libbpf 1.1): nothing to match; we must not crash
          crashes.push(`case ${job.index} on ${basename(job.kernel)}: ${ref.message}; ours: ${ours.status} ${ours.message}`);
          if (ours.status < 0) mismatches.push({ job, diff: `we crashed: ${ours.message}`, ours, ref });
          return;
        }
        if (ref.status === 0) stats.ok++;
        else stats.fail++;
        if (VERBOSE) console.log(`case ${job.index} ${basename(job.kernel)}: bpftool ${ref.status} ${ref.status ? ref.message.split('\n').slice(0, 3).join(' | ') : `${ref.bytes!.length} bytes`}`);
        const diff = compareOutcomes(ours, ref);
        if (diff !== undefined) mismatches.push({ job, diff, ours, ref });
      });
      const reports: string[] = [];
      for (const m of mismatches.slice(0, 20)) reports.push(await saveMismatch(m));
      if (mismatches.length > 20) reports.push(`... and ${mismatches.length - 20} more mismatches`);
      console.log(
        `random-diff seed ${SEED}: ${jobs.length} runs (${indices.length} cases; archive kernels ${kernels.map((k) => basename(k)).join(', ') || 'none'}): ` +
          `${stats.ok} bpftool successes, ${stats.fail} bpftool failures, ${mismatches.length} mismatches, ${timeouts.length} bpftool timeouts, ${crashes.length} bpftool crashes`,
      );
      if (crashes.length) console.warn(`bpftool crashed (not compared):\n${crashes.join('\n')}`);
      if (timeouts.length) console.warn(`bpftool timed out (not compared): ${timeouts.join('; ')}`);
      expect(mismatches.length, `mismatches (seed ${SEED}):\n${reports.join('\n')}`).toBe(0);
      // the generator must exercise both outcomes
      if (indices.length >= 50) {
        expect(stats.ok).toBeGreaterThan(indices.length / 10);
        expect(stats.fail).toBeGreaterThan(0);
      }
    },
    Math.max(120_000, CASES * 3_000),
  );
});
