// Seeded, randomized differential test on REAL compiler output: random eBPF C programs using
// libbpf's CO-RE macros on random kernel types (and local ___flavor copies of them) are generated
// (helpers/random-c.ts), compiled by clang-19 against a vmlinux.h dumped from the running kernel,
// and minimized by bpftool 7.1 and by us against the running kernel and a few archive kernels
// picked by the seed (sometimes several objects per run). Outcomes must be identical: the same
// bytes when bpftool succeeds, the same exit status when it fails. The sibling random-diff test
// synthesizes .BTF.ext records; this one covers the relocation shapes clang really emits.
//
//   BTFGEN_RANDOMC_OBJECTS=N   number of objects (default 60: ~1200 relocations, ~110 bpftool runs,
//                              ~10 s on 2 cores, most of it clang with a precompiled vmlinux.h)
//   BTFGEN_RANDOMC_SEED=S      seed (default 0xc0de0001; decimal or 0x-hex)
//   BTFGEN_RANDOMC_ONLY=i      run only object i (reproduce a failure)
//   BTFGEN_RANDOMC_OUT=dir     where mismatches are saved (default /tmp/btfgen-random-c)
//   BTFGEN_RANDOMC_KERNELS=a,b archive kernels (path substrings) instead of the seed's picks
//   BTFGEN_RANDOMC_ARCHIVE_P=p share of objects also run on an archive kernel (default 0.6)
//   BTFGEN_RANDOMC_VERBOSE=1   log every run's outcome
//   BTFGEN_RANDOMC_KEEP=dir    keep every generated .c/.o in dir
//
// Lines clang rejects (a generated construct it does not accept) are dropped and the object is
// recompiled; the counts are logged; a compile failure never fails the test. On a mismatch the
// C program is shrunk line by line (recompiling each time) and saved with both outcomes, the
// objects and a README under BTFGEN_RANDOMC_OUT/seed-S-obj-i/.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareObject } from '../../src/minimize/index.js';
import { ARCHIVE_DEMO, ARCHIVE_EXTRA, envNumber, HAVE_ARCHIVE_DEMO, HAVE_BPFTOOL, HAVE_CLANG, HAVE_VMLINUX, NO_ARCHIVE_DEMO, NO_BPFTOOL, NO_CLANG, VMLINUX } from '../helpers/env.js';
import { listArchiveKernels } from '../helpers/data.js';
import { bpftoolMinimize, compareOutcomes, kernelFile, ourMinimizeOrCrash, ourTarget, type Outcome, pool, tempDir } from './helpers/differential.js';
import { generateProgram, indexKernel, parseHeader, renderProgram, Rng, type GenProgram, type KernelIndex } from './helpers/random-c.js';

if (!HAVE_BPFTOOL) console.warn(NO_BPFTOOL);
if (!HAVE_CLANG) console.warn(NO_CLANG);
if (HAVE_BPFTOOL && HAVE_CLANG && !HAVE_ARCHIVE_DEMO) console.warn(NO_ARCHIVE_DEMO);

const OBJECTS = envNumber('BTFGEN_RANDOMC_OBJECTS', 60);
const SEED = envNumber('BTFGEN_RANDOMC_SEED', 0xc0de0001) >>> 0;
const ONLY = process.env.BTFGEN_RANDOMC_ONLY;
const VERBOSE = !!process.env.BTFGEN_RANDOMC_VERBOSE;
const KERNELS = process.env.BTFGEN_RANDOMC_KERNELS;
const ARCHIVE_P = envNumber('BTFGEN_RANDOMC_ARCHIVE_P', 0.6);
const OUT = process.env.BTFGEN_RANDOMC_OUT ?? '/tmp/btfgen-random-c';
const KEEP = process.env.BTFGEN_RANDOMC_KEEP;
const BPFTOOL_TIMEOUT = 60_000;
const CFLAGS = ['-g', '-O2', '-target', 'bpf', '-mcpu=v3', '-D__TARGET_ARCH_x86', '-w'];

function run(cmd: string, args: string[], timeout = 120_000): Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout, killSignal: 'SIGKILL' });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString('latin1')));
    p.on('error', reject);
    p.on('close', (status, signal) => resolve({ status, signal, stderr: err }));
  });
}

/** Archive kernels for this seed: two from the demo archive, one from the extra one, rarely the 44 MB CentOS. */
function seedKernels(seed: number): string[] {
  if (!HAVE_ARCHIVE_DEMO) return [];
  const demo = listArchiveKernels(ARCHIVE_DEMO);
  const extra = existsSync(ARCHIVE_EXTRA) ? listArchiveKernels(ARCHIVE_EXTRA) : [];
  if (KERNELS) {
    return KERNELS.split(',').map((k) => {
      const hit = [...demo, ...extra].find((p) => p.includes(k));
      if (!hit) throw new Error(`BTFGEN_RANDOMC_KERNELS: no archive kernel matches ${k}`);
      return hit;
    });
  }
  const rng = Rng.forCase(seed ^ 0x6b65726e, 0);
  const big = demo.filter((k) => /centos\/8\/x86_64\/4\.18\.0-147/.test(k));
  const normal = demo.filter((k) => !big.includes(k));
  const out = new Set<string>();
  if (normal.length) for (let i = 0; i < 2; i++) out.add(rng.pick(normal));
  if (extra.length) out.add(rng.pick(extra));
  if (big.length && rng.chance(0.05)) out.add(rng.pick(big));
  return [...out];
}

// ------------------------------------------------------------------------------------------------
// Compiling

interface Env {
  dir: string;
  header: string;
  pch?: string;
  ix: KernelIndex;
}

let envPromise: Promise<Env> | undefined;
function setup(): Promise<Env> {
  envPromise ??= (async () => {
    const dir = join(tempDir(), 'random-c');
    mkdirSync(dir, { recursive: true });
    const header = join(dir, 'vmlinux.h');
    const r = await new Promise<string>((resolve, reject) => {
      const p = spawn('bpftool', ['btf', 'dump', 'file', VMLINUX, 'format', 'c'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      p.stdout.on('data', (d: Buffer) => chunks.push(d));
      p.on('error', reject);
      p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks).toString('latin1')) : reject(new Error(`bpftool btf dump failed: ${code}`))));
    });
    writeFileSync(header, r);
    // a precompiled header cuts each compile from ~0.5 s to ~0.1 s; plain includes if it fails
    const pch = join(dir, 'vmlinux.h.pch');
    const pr = await run('clang-19', [...CFLAGS, '-x', 'c-header', header, '-o', pch]);
    const ix = indexKernel((await ourTarget(VMLINUX)).btf, parseHeader(r));
    return { dir, header, ...(pr.status === 0 ? { pch } : {}), ix };
  })();
  return envPromise;
}

interface Compiled {
  obj?: string;
  /** Line indexes dropped because clang rejected them. */
  dropped: Set<number>;
  /** Tags of the dropped lines. */
  rejected: string[];
  error?: string;
}

/** Compiles (dropping rejected lines, up to 8 rounds); returns the object or an error. */
async function compileProgram(env: Env, prog: GenProgram, name: string, drop: ReadonlySet<number> = new Set()): Promise<Compiled> {
  const dropped = new Set(drop);
  const rejected: string[] = [];
  const src = join(env.dir, `${name}.c`);
  const obj = join(env.dir, `${name}.o`);
  for (let round = 0; round < 8; round++) {
    writeFileSync(src, renderProgram(prog, dropped));
    const args = [...CFLAGS, '-I', env.dir, ...(env.pch ? ['-include-pch', env.pch] : []), '-c', src, '-o', obj];
    const r = await run('clang-19', args);
    if (r.status === 0) {
      const s = await run('llvm-strip-19', ['-g', obj]);
      if (s.status !== 0) return { dropped, rejected, error: `llvm-strip-19: ${s.stderr}` };
      return { obj, dropped, rejected };
    }
    const lines = new Set<number>();
    const re = new RegExp(`${src.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):\\d+:`, 'g');
    for (const m of r.stderr.matchAll(re)) lines.add(Number(m[1]) - 1);
    let progress = false;
    for (const l of lines) {
      const line = prog.lines[l];
      if (line?.droppable && !dropped.has(l)) {
        dropped.add(l);
        rejected.push(line.tag);
        progress = true;
      }
    }
    if (!progress && /error in backend/.test(r.stderr)) {
      // a backend error without a location: find one culprit line by a prefix search
      const isStmt = (i: number) => prog.lines[i]!.droppable && !dropped.has(i) && !/^(member|enumerator|typedef)/.test(prog.lines[i]!.tag);
      const cands = prog.lines.map((_, i) => i).filter(isStmt);
      const passes = async (k: number): Promise<boolean> => {
        writeFileSync(src, renderProgram(prog, new Set([...dropped, ...cands.slice(0, k)])));
        const t = await run('clang-19', args);
        return t.status === 0 || !t.stderr.includes(firstLine(r.stderr));
      };
      if (cands.length && (await passes(cands.length))) {
        let lo = 0; // fails with lo dropped
        let hi = cands.length; // passes with hi dropped
        while (hi - lo > 1) {
          const mid = (lo + hi) >> 1;
          if (await passes(mid)) hi = mid;
          else lo = mid;
        }
        const l = cands[hi - 1]!;
        dropped.add(l);
        rejected.push(`${prog.lines[l]!.tag} (backend: ${firstLine(r.stderr).replace(/^.*error in backend: /, '')})`);
        progress = true;
      }
    }
    if (!progress) return { dropped, rejected, error: r.stderr.trim().split('\n').slice(0, 6).join('\n') };
  }
  return { dropped, rejected, error: 'too many rounds of rejected lines' };
}

function firstLine(stderr: string): string {
  return stderr.split('\n').find((l) => /error/.test(l)) ?? stderr.split('\n')[0] ?? '';
}

// ------------------------------------------------------------------------------------------------
// Runs, shrinking, saving

interface Obj {
  index: number;
  prog: GenProgram;
  compiled: Compiled;
  path: string;
}

interface Job {
  objs: Obj[];
  kernel: string; // VMLINUX or archive path
  input: string;
}

interface Mismatch {
  job: Job;
  diff: string;
  ours: Outcome;
  ref: Outcome;
}

const short = (k: string) => (k === VMLINUX ? 'vmlinux' : basename(k).replace(/\.btf\.tar\.xz$/, ''));

/** Greedy line-dropping shrink of every object of a mismatching job (recompiles each attempt). */
async function shrink(env: Env, m: Mismatch): Promise<{ drops: Set<number>[]; paths: string[]; ours: Outcome; ref: Outcome; diff: string }> {
  const drops = m.job.objs.map((o) => new Set(o.compiled.dropped));
  let paths = m.job.objs.map((o) => o.path);
  let best = { ours: m.ours, ref: m.ref, diff: m.diff, paths };
  let budget = 400;
  let seq = 0;
  const attempt = async (oi: number, cand: Set<number>): Promise<boolean> => {
    if (budget-- <= 0) return false;
    const o = m.job.objs[oi]!;
    const c = await compileProgram(env, o.prog, `shrink-${o.index}-${seq++}`, cand);
    if (!c.obj || c.dropped.size !== cand.size) return false; // must compile as is
    const ps = [...best.paths];
    ps[oi] = c.obj;
    const ref = await bpftoolMinimize(m.job.input, ps, BPFTOOL_TIMEOUT);
    if (ref.timeout || ref.signal) return false;
    const ours = await ourMinimizeOrCrash(m.job.input, ps);
    const diff = compareOutcomes(ours, ref);
    if (diff === undefined) return false;
    best = { ours, ref, diff, paths: ps };
    return true;
  };
  for (let oi = 0; oi < m.job.objs.length; oi++) {
    const lines = m.job.objs[oi]!.prog.lines;
    const idx = () => lines.map((l, i) => i).filter((i) => lines[i]!.droppable && !drops[oi]!.has(i));
    // chunks first (statements are usually independent), then single lines, last to first
    for (let size = Math.max(1, idx().length >> 1); size >= 1; size >>= 1) {
      let cur = idx();
      for (let s = cur.length - size; s > -size; s -= size) {
        const chunk = cur.slice(Math.max(0, s), s + size);
        if (!chunk.length) continue;
        const cand = new Set([...drops[oi]!, ...chunk]);
        if (await attempt(oi, cand)) {
          drops[oi] = cand;
          cur = idx();
        }
      }
    }
  }
  paths = best.paths;
  return { drops, paths, ours: best.ours, ref: best.ref, diff: best.diff };
}

async function saveMismatch(env: Env, m: Mismatch): Promise<string> {
  const s = await shrink(env, m);
  const first = m.job.objs[0]!;
  const dir = join(OUT, `seed-${SEED}-obj-${first.index}-${short(m.job.kernel)}`);
  mkdirSync(dir, { recursive: true });
  copyFileSync(env.header, join(dir, 'vmlinux.h'));
  const minObjs: string[] = [];
  m.job.objs.forEach((o, oi) => {
    writeFileSync(join(dir, `full-obj${o.index}.c`), renderProgram(o.prog, o.compiled.dropped));
    copyFileSync(o.path, join(dir, `full-obj${o.index}.o`));
    writeFileSync(join(dir, `min-obj${o.index}.c`), renderProgram(o.prog, s.drops[oi]));
    copyFileSync(s.paths[oi]!, join(dir, `min-obj${o.index}.o`));
    minObjs.push(join(dir, `min-obj${o.index}.o`));
  });
  const input = m.job.input;
  const text = [
    `seed ${SEED} (BTFGEN_RANDOMC_SEED=${SEED} BTFGEN_RANDOMC_ONLY=${first.index}), objects ${m.job.objs.map((o) => o.index).join(', ')}`,
    `kernel: ${m.job.kernel}`,
    `raw input: ${input}`,
    `original: ${m.diff}`,
    `  bpftool: status ${m.ref.status} ${m.ref.message}`,
    `  ours:    status ${m.ours.status} ${m.ours.message}`,
    `shrunk: ${s.diff}`,
    `  bpftool: status ${s.ref.status} ${s.ref.message}`,
    `  ours:    status ${s.ours.status} ${s.ours.message}`,
    `rerun:   bpftool gen min_core_btf ${input} /tmp/out.btf ${minObjs.join(' ')}`,
    `ours:    node bin/btfgen minimize ${input} /tmp/ours.btf ${minObjs.join(' ')} && cmp /tmp/out.btf /tmp/ours.btf`,
    `compile: clang-19 ${CFLAGS.join(' ')} -I ${dir} -c min-objN.c -o min-objN.o && llvm-strip-19 -g min-objN.o`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'README.txt'), text);
  return `seed ${SEED} objects ${m.job.objs.map((o) => o.index).join(',')} on ${m.job.kernel}: ${m.diff}\n  shrunk: ${s.diff}\n  bpftool: ${s.ref.status} ${s.ref.message.split('\n')[0]}\n  ours: ${s.ours.status} ${s.ours.message.split('\n')[0]}\n  saved: ${dir}`;
}

// ------------------------------------------------------------------------------------------------

describe.skipIf(!HAVE_BPFTOOL || !HAVE_CLANG || !HAVE_VMLINUX)('random clang-compiled CO-RE objects vs bpftool 7.1', () => {
  it(
    `${ONLY !== undefined ? `object ${ONLY}` : `${OBJECTS} objects`} (seed ${SEED})`,
    async () => {
      const t0 = Date.now();
      const env = await setup();
      const kernels = seedKernels(SEED);
      const indices = ONLY !== undefined ? [Number(ONLY)] : Array.from({ length: OBJECTS }, (_, i) => i);
      // generate and compile
      const rejected = new Map<string, number>();
      const failedCompiles: string[] = [];
      const kinds = new Array<number>(13).fill(0);
      let relos = 0;
      const objs = (
        await pool(indices, 2, async (index): Promise<Obj | undefined> => {
          const prog = generateProgram(env.ix, SEED, index);
          const compiled = await compileProgram(env, prog, `obj-${index}`);
          for (const t of compiled.rejected) rejected.set(t, (rejected.get(t) ?? 0) + 1);
          if (KEEP) {
            mkdirSync(KEEP, { recursive: true });
            writeFileSync(join(KEEP, `seed-${SEED}-obj-${index}.c`), renderProgram(prog, compiled.dropped));
            if (compiled.obj) copyFileSync(compiled.obj, join(KEEP, `seed-${SEED}-obj-${index}.o`));
          }
          if (!compiled.obj) {
            failedCompiles.push(`object ${index}: ${compiled.error}`);
            return undefined;
          }
          try {
            for (const r of prepareObject(new Uint8Array(readFileSync(compiled.obj)), compiled.obj).relos) {
              relos++;
              if (r.kind >= 0 && r.kind < kinds.length) kinds[r.kind]!++;
            }
          } catch {
            // our parser's failure is compared below like anything else
          }
          return { index, prog, compiled, path: compiled.obj };
        })
      ).filter((o): o is Obj => !!o);
      const tCompiled = Date.now();
      // jobs: every object on the running kernel; some on an archive kernel; some multi-object runs
      const jobs: Job[] = [];
      for (let i = 0; i < objs.length; i++) {
        const o = objs[i]!;
        const pick = Rng.forCase(SEED ^ 0x6a6f62, o.index);
        jobs.push({ objs: [o], kernel: VMLINUX, input: VMLINUX });
        if (kernels.length && pick.chance(ARCHIVE_P)) {
          const k = pick.pick(kernels);
          jobs.push({ objs: [o], kernel: k, input: kernelFile(k) });
        }
        if (i > 0 && pick.chance(0.2)) {
          const other = objs[pick.int(i)]!;
          const group = pick.chance(0.5) ? [other, o] : [o, other];
          if (pick.chance(0.3) && i > 1) group.push(objs[pick.int(i)]!);
          const k = kernels.length && pick.chance(0.4) ? pick.pick(kernels) : VMLINUX;
          jobs.push({ objs: group, kernel: k, input: k === VMLINUX ? VMLINUX : kernelFile(k) });
        }
      }
      const mismatches: Mismatch[] = [];
      const timeouts: string[] = [];
      const crashes: string[] = [];
      const stats = { ok: 0, fail: 0 };
      const usedKernels = new Set<string>();
      await pool(jobs, 2, async (job) => {
        usedKernels.add(job.kernel);
        const paths = job.objs.map((o) => o.path);
        const ref = await bpftoolMinimize(job.input, paths, BPFTOOL_TIMEOUT);
        const what = `objects ${job.objs.map((o) => o.index).join(',')} on ${short(job.kernel)}`;
        if (ref.timeout) {
          timeouts.push(what);
          return;
        }
        const ours = await ourMinimizeOrCrash(job.input, paths);
        if (ref.signal) {
          crashes.push(`${what}: ${ref.message}; ours: ${ours.status} ${ours.message}`);
          if (ours.status < 0) mismatches.push({ job, diff: `we crashed: ${ours.message}`, ours, ref });
          return;
        }
        if (ref.status === 0) stats.ok++;
        else stats.fail++;
        if (VERBOSE) console.log(`${what}: bpftool ${ref.status} ${ref.status ? ref.message.split('\n').slice(-2).join(' | ') : `${ref.bytes!.length} bytes`}`);
        const diff = compareOutcomes(ours, ref);
        if (diff !== undefined) mismatches.push({ job, diff, ours, ref });
      });
      const reports: string[] = [];
      for (const m of mismatches.slice(0, 10)) reports.push(await saveMismatch(env, m));
      if (mismatches.length > 10) reports.push(`... and ${mismatches.length - 10} more mismatches`);
      const kindNames = ['off', 'sz', 'exists', 'signed', 'lshift', 'rshift', 'id_local', 'id_target', 'type_exists', 'type_size', 'enum_exists', 'enum_value', 'type_matches'];
      console.log(
        `random-c seed ${SEED}: ${objs.length}/${indices.length} objects compiled (${relos} relocations: ${kindNames.map((n, i) => `${n} ${kinds[i]}`).join(', ')}); ` +
          `${jobs.length} bpftool runs on ${usedKernels.size} kernels (${[...usedKernels].map(short).join(', ')}): ` +
          `${stats.ok} successes, ${stats.fail} failures, ${mismatches.length} mismatches, ${timeouts.length} timeouts, ${crashes.length} bpftool crashes; ` +
          `clang-rejected lines: ${[...rejected].map(([t, n]) => `${t} ${n}`).join(', ') || 'none'}; ` +
          `compile ${((tCompiled - t0) / 1000).toFixed(1)} s, runs ${((Date.now() - tCompiled) / 1000).toFixed(1)} s`,
      );
      if (failedCompiles.length) console.warn(`objects clang rejected entirely (skipped):\n${failedCompiles.join('\n')}`);
      if (crashes.length) console.warn(`bpftool crashed (not compared):\n${crashes.join('\n')}`);
      if (timeouts.length) console.warn(`bpftool timed out (not compared): ${timeouts.join('; ')}`);
      expect(mismatches.length, `mismatches (seed ${SEED}):\n${reports.join('\n')}`).toBe(0);
      if (indices.length >= 20) {
        // the generator must compile and exercise both outcomes
        expect(objs.length).toBeGreaterThan(indices.length / 2);
        expect(stats.ok).toBeGreaterThan(0);
        expect(stats.fail).toBeGreaterThan(0);
      }
    },
    Math.max(180_000, OBJECTS * 6_000),
  );
});
