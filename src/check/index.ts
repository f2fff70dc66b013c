// `btfgen check`: for every kernel of an archive, the decision libbpf 1.1 takes on each CO-RE
// relocation of the given objects, whether a poison is guarded, and per program whether it
// loads there (src/check/load: program type, attach type, helpers, map types, attach points,
// with the CO-RE verdict as the `core` check). Kernels are read one after the other (the next one is read and decompressed while
// the current one is analyzed).
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BtfgenError, UsageError } from '../errors.js';
import { prepareTarget } from '../minimize/index.js';
import { prepareCheckObject, type CheckObject } from './decide.js';
import { kernelSource, type KernelRef, type KernelSourceOptions } from './kernels.js';
import { readObjectFacts, type ObjectFacts } from './load/program.js';
import { attachFuncNames } from './load/verdict.js';
import { programFacts, ReportBuilder, type CheckReport } from './report.js';
import { checkKernel } from './verify.js';

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
  /** Kernels decompressed at once, ahead of the analysis (default: twice the number of CPUs, as pack runs xz). */
  jobs?: number;
  onProgress?: (p: CheckProgress) => void;
  signal?: AbortSignal;
  /** Count programs that need kernel BTF (fentry, tp_btf, lsm...) as failing (`--strict`). */
  strict?: boolean;
  /**
   * Run the load checks (program type, helpers, maps, attach points) beside CO-RE; default
   * true. Off: the program verdicts come from CO-RE alone (for the benchmark's comparison).
   */
  loadChecks?: boolean;
}

/** Reads and prepares the objects (an unusable object is an error naming it). */
export async function loadCheckObjects(inputs: readonly CheckInput[], cwd = process.cwd()): Promise<CheckObject[]> {
  return (await readCheckInputs(inputs, cwd, false)).objects;
}

/** The objects, prepared for the CO-RE decisions and (withFacts) the load checks. */
async function readCheckInputs(
  inputs: readonly CheckInput[],
  cwd: string,
  withFacts: boolean,
): Promise<{ objects: CheckObject[]; facts: ObjectFacts[] | undefined }> {
  if (inputs.length === 0) throw new UsageError('no object given');
  const out: CheckObject[] = [];
  const facts: ObjectFacts[] = [];
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
    out.push(prepareCheckObject(bytes, name));
    if (withFacts) facts.push(readObjectFacts(bytes, name));
  }
  return { objects: out, facts: withFacts ? facts : undefined };
}

export async function check(options: CheckOptions): Promise<CheckReport> {
  const started = performance.now();
  const load = options.loadChecks ?? true;
  const { objects, facts } = await readCheckInputs(options.objects, options.cwd ?? process.cwd(), load);
  const source = await kernelSource(options);
  const builder = new ReportBuilder(objects, facts, options.strict ?? false);
  const kernels = source.kernels;
  const roots = new Set<string>();
  for (const o of objects) for (const r of o.prepared.roots) roots.add(r);
  // Every attach-point FUNC name, answered in the kernel-facts scan itself.
  const funcs = new Set((facts ?? []).flatMap((f) => f.programs.flatMap(attachFuncNames)));
  const loadFacts = facts?.map((f, oi) => programFacts(objects[oi]!, f));
  // Kernels read and decompressed ahead of the one being analyzed (on libuv's thread pool),
  // `jobs` at a time; each holds its BTF in memory until analyzed.
  const READ_AHEAD = Math.max(1, options.jobs ?? 2 * (os.availableParallelism?.() ?? os.cpus().length));
  const read = (k: KernelRef) => source.read(k).then((b) => ({ b }), (e: unknown) => ({ e }));
  const ahead: Promise<{ b: Uint8Array } | { e: unknown }>[] = [];
  for (let i = 0; i < Math.min(READ_AHEAD, kernels.length); i++) ahead.push(read(kernels[i]!));
  for (let i = 0; i < kernels.length; i++) {
    if (options.signal?.aborted) throw new BtfgenError('interrupted');
    const k = kernels[i]!;
    const got = await ahead.shift()!;
    if (i + READ_AHEAD < kernels.length) ahead.push(read(kernels[i + READ_AHEAD]!));
    const ki = builder.addKernel(k);
    if ('e' in got) {
      if (!(got.e instanceof BtfgenError)) throw got.e;
      builder.kernelError(ki, got.e.message);
    } else {
      try {
        const target = prepareTarget(got.b, { name: k.key });
        target.index.ensure(roots); // one candidate scan for every object's root types
        // The load checks read the same parsed BTF: one read and parse per kernel.
        const kc = checkKernel(objects, target, { report: true, ...(loadFacts ? { load: { facts: loadFacts, funcs } } : {}) });
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
