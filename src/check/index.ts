// `btfgen check`: for every kernel of an archive, the decision libbpf 1.1 takes on each CO-RE
// relocation of the given objects, whether a poison is guarded, and per program whether it
// loads there (src/check/load: program type, attach type, helpers, map types, attach points,
// with the CO-RE verdict as the `core` check). The kernels are read, decompressed and analyzed in pack's worker pool (the same
// threads, xz lanes and kernel reading, mode `check`); the main thread only builds the report.
// Without a built worker script (or with `pool: false`), one after the other here.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KERNEL_BTF_MAX } from '../archive/xz.js';
import { BtfgenError, UsageError } from '../errors.js';
import { prepareTarget, rootKeys } from '../minimize/index.js';
import { resolveDecompressor } from '../pack/decompress.js';
import { estimateKernelSize } from '../pack/kernels.js';
import type { ObjectBytes } from '../pack/minimizer.js';
import { defaultJobs, kernelCacheSettings } from '../pack/options.js';
import { HEAVY_BYTES, threadPlan } from '../pack/plan.js';
import { startPool, workerScript, type PoolTask } from '../pack/pool.js';
import { PROTOCOL, type WorkerInit } from '../pack/protocol.js';
import type { KernelOutcome } from './analyze.js';
import { prepareCheckObject, type CheckObject } from './decide.js';
import { kernelSource, type KernelRef, type KernelSource, type KernelSourceOptions } from './kernels.js';
import { ReportBuilder, type CheckReport } from './report.js';
import { checkKernel, loadInputs } from './verify.js';
import type { ProgramVerdict } from './load/verdict.js';

export { analyzeObject, type KernelOutcome, type ProgramOutcome, type CoreVerdict } from './analyze.js';
export { decideObject, prepareCheckObject, type CheckObject, type CheckRelo, type Decision, type Verdict } from './decide.js';
export { formatText, reportFails, describeKernels, collapseRun, programNeedsKernelBtf, CHECK_REPORT_SCHEMA, CHECK_REPORT_VERSION } from './report.js';
export type { CheckReport, ReportObject, ReportRelocation, ReportKernel, RelocationOutcome, ReportProgram, ProgramOutcomeGroup, ProgramReason } from './report.js';
export { renderHtml } from './html/index.js';
export { compareKernelDecisions, checkKernel, type DecisionDifference, type KernelCheck } from './verify.js';
export { ReportBuilder, loadVerdicts, programFacts } from './report.js';
export { readObjectFacts, attachFuncNames } from './load/index.js';
export { kernelSource, type KernelRef, type KernelSource } from './kernels.js';

export type CheckInput = string | { name: string; bytes: Uint8Array };

export interface CheckProgress {
  total: number;
  done: number;
  kernel?: string;
  elapsedMs: number;
}

export interface CheckOptions extends KernelSourceOptions {
  objects: readonly CheckInput[];
  /** Parallel jobs, as pack's --jobs (default: the number of CPUs). Sequential path: kernels decompressed ahead of the analysis (default: twice the number of CPUs). */
  jobs?: number;
  /** false: every kernel analyzed on this thread, none in pack's worker pool (tests compare the two). */
  pool?: boolean;
  /** Count programs that need kernel BTF (fentry, tp_btf, lsm...) as failing (`--strict`). */
  strict?: boolean;
  /**
   * Run the load checks (program type, helpers, maps, attach points) beside CO-RE; default
   * true. Off: the program verdicts come from CO-RE alone (for the benchmark's comparison).
   */
  loadChecks?: boolean;
  onProgress?: (p: CheckProgress) => void;
  signal?: AbortSignal;
}

/** Reads and prepares the objects (an unusable object is an error naming it). */
export async function loadCheckObjects(inputs: readonly CheckInput[], cwd = process.cwd()): Promise<CheckObject[]> {
  return (await readCheckObjects(inputs, cwd)).map((x) => x.object);
}

async function readCheckObjects(inputs: readonly CheckInput[], cwd = process.cwd()): Promise<{ object: CheckObject; bytes: ObjectBytes }[]> {
  if (inputs.length === 0) throw new UsageError('no object given');
  const out: { object: CheckObject; bytes: ObjectBytes }[] = [];
  for (const i of inputs) {
    let name: string;
    let bytes: Uint8Array;
    if (typeof i === 'string') {
      name = i;
      try {
        bytes = new Uint8Array(await readFile(path.resolve(cwd, i)));
      } catch (e) {
        throw new BtfgenError(`${i}: cannot read object (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    } else ({ name, bytes } = i);
    out.push({ object: prepareCheckObject(bytes, name), bytes: { name, bytes } });
  }
  return out;
}

export async function check(options: CheckOptions): Promise<CheckReport> {
  const started = performance.now();
  const read = await readCheckObjects(options.objects, options.cwd);
  const objects = read.map((x) => x.object);
  const inputs = read.map((x) => x.bytes);
  const load = options.loadChecks === false ? undefined : loadInputs(objects, inputs);
  const source = await kernelSource(options);
  const builder = new ReportBuilder(objects, load?.facts, options.strict ?? false);
  let onPool = options.pool !== false;
  if (onPool) {
    try {
      workerScript();
    } catch {
      onPool = false; // running from sources without a build: the sequential path
    }
  }
  if (onPool) {
    await checkOnPool(inputs, load !== undefined, source, builder, options, started);
    return builder.finish();
  }
  const kernels = source.kernels;
  const roots = rootKeys(objects.map((o) => o.prepared));
  // Kernels read and decompressed ahead of the one being analyzed (on libuv's thread pool),
  // `jobs` at a time; each holds its BTF in memory until analyzed.
  const READ_AHEAD = Math.max(1, options.jobs ?? 2 * (os.availableParallelism?.() ?? os.cpus().length));
  const readKernel = (k: KernelRef) => source.read(k).then((b) => ({ b }), (e: unknown) => ({ e }));
  const ahead: Promise<{ b: Uint8Array } | { e: unknown }>[] = [];
  for (let i = 0; i < Math.min(READ_AHEAD, kernels.length); i++) ahead.push(readKernel(kernels[i]!));
  for (let i = 0; i < kernels.length; i++) {
    if (options.signal?.aborted) throw new BtfgenError('interrupted');
    const k = kernels[i]!;
    const got = await ahead.shift()!;
    if (i + READ_AHEAD < kernels.length) ahead.push(readKernel(kernels[i + READ_AHEAD]!));
    const ki = builder.addKernel(k);
    if ('e' in got) {
      if (!(got.e instanceof BtfgenError)) throw got.e;
      builder.kernelError(ki, got.e.message);
    } else {
      try {
        const target = prepareTarget(got.b, { name: k.key, roots }); // every object's root types found in the parse
        // The load checks read the same parsed BTF: one read and parse per kernel.
        const kc = checkKernel(objects, target, { report: true, ...(load ? { load: load.load } : {}) });
        kc.outcomes!.forEach((o, oi) => builder.add(ki, oi, o, kc.load?.[oi]));
      } catch (e) {
        if (!(e instanceof BtfgenError)) throw e;
        builder.kernelError(ki, e.message);
      }
    }
    options.onProgress?.({ total: kernels.length, done: i + 1, kernel: k.key, elapsedMs: performance.now() - started });
  }
  return builder.finish();
}

/**
 * The kernels on pack's pool (mode `check`): each worker reads, decompresses and analyzes its
 * kernels and sends the outcomes (structured clones); the report takes them in archive order.
 */
async function checkOnPool(inputs: ObjectBytes[], load: boolean, source: KernelSource, builder: ReportBuilder, options: CheckOptions, started: number): Promise<void> {
  const kernels = source.kernels;
  const decompressor = await resolveDecompressor('auto');
  const format = (k: KernelRef): 'btf' | 'btf.tar.xz' => (k.path.endsWith('.btf.tar.xz') ? 'btf.tar.xz' : 'btf');
  const mostlyXz = kernels.filter((k) => format(k) === 'btf.tar.xz').length * 2 >= kernels.length;
  const plan = threadPlan(options.jobs ?? defaultJobs(), mostlyXz, decompressor === 'xz');
  const tasks: (PoolTask & { size: number })[] = kernels.map((k, id) => {
    const size = estimateKernelSize({ path: k.path, format: format(k) });
    const label = path.relative(source.archive, k.path);
    return { id, path: k.path, format: format(k), label, release: k.release, heavy: size >= HEAVY_BYTES, size };
  });
  tasks.sort((a, b) => b.size - a.size || a.id - b.id); // the slowest kernels must not come last
  const cache = kernelCacheSettings(options, options.env ?? process.env, options.cwd ?? process.cwd());
  const init: WorkerInit = {
    protocol: PROTOCOL,
    objects: [],
    headerLen: 24,
    engine: 'btfgen',
    decompressor,
    storeRoot: os.tmpdir(), // no result store in mode `check`
    storePersistent: false,
    keyPrefix: '',
    maxMemberSize: KERNEL_BTF_MAX,
    lanes: plan.lanes,
    laneDepth: plan.depth,
    hooks: {},
    mode: 'check',
    ...(cache ? { kernelCache: { ...cache, since: Date.now() } } : {}),
    check: { objects: inputs, report: true, verify: false, load },
  };
  const got = new Map<number, { outcomes: KernelOutcome[]; load?: ProgramVerdict[][] } | string>();
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const pool = startPool(Math.min(plan.workers, kernels.length));
  try {
    await pool.run(
      tasks,
      plan.workers,
      init,
      (r) => {
        const t = byId.get(r.id)!;
        if (r.status === 'checked') got.set(r.id, { outcomes: r.check.outcomes ?? [], ...(r.check.load ? { load: r.check.load } : {}) });
        else if (r.status === 'failed') got.set(r.id, r.message.startsWith(`${t.label}: `) ? r.message : `${t.label}: ${r.message}`);
        options.onProgress?.({ total: kernels.length, done: got.size, kernel: kernels[r.id]!.key, elapsedMs: performance.now() - started });
      },
      options.signal,
      plan.lanes > 1 ? plan.maxWorkers : plan.workers,
    );
  } finally {
    pool.close();
  }
  kernels.forEach((k, i) => {
    const ki = builder.addKernel(k);
    const g = got.get(i);
    if (g === undefined) builder.kernelError(ki, `${k.key}: not read`);
    else if (typeof g === 'string') builder.kernelError(ki, g);
    else g.outcomes.forEach((o, oi) => builder.add(ki, oi, o, g.load?.[oi]));
  });
}
