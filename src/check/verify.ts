// `pack --verify`'s comparison: every relocation's decision against the minimized BTF must be
// the one against the kernel's full BTF (same verdict, same patched value). target_type_id
// values are the target's own type IDs, renumbered by minimization: they are compared only on
// request.
import type { PreparedTarget } from '../minimize/index.js';
import { analyzeObject, type KernelOutcome } from './analyze.js';
import { decideObject, type CheckObject, type Decision } from './decide.js';
import { readKernelFacts } from './load/kernel.js';
import { readObjectFacts, type ObjectFacts, type ProgramFacts } from './load/program.js';
import { attachFuncNames, type ProgramVerdict } from './load/verdict.js';
import { loadVerdicts, programFacts } from './report.js';

/** What the load checks need of the objects: their facts (for ReportBuilder) and, per program, checkKernel's `load`. */
export interface LoadInputs {
  facts: ObjectFacts[];
  load: { facts: (ProgramFacts | undefined)[][]; funcs: string[] };
}

/**
 * Reads each object's load facts once (check's main thread, pack's report, each worker), from
 * the ELF and BTF its CheckObject already parsed.
 */
export function loadInputs(objects: readonly CheckObject[], inputs: readonly { name: string; bytes: Uint8Array }[]): LoadInputs {
  const facts = inputs.map((i, oi) => readObjectFacts(i.bytes, i.name, objects[oi]!.prepared));
  const perProgram = facts.map((f, oi) => programFacts(objects[oi]!, f));
  // Every attach-point FUNC name, answered in the kernel-facts scan itself.
  const funcs = [...new Set(facts.flatMap((f) => f.programs.flatMap(attachFuncNames)))];
  return { facts, load: { facts: perProgram, funcs } };
}

export interface DecisionDifference {
  object: string;
  program: string;
  section: string;
  /** `relo #N` within its section. */
  index: number;
  kind: string;
  path: string;
  full: Decision | undefined;
  minimized: Decision | undefined;
  /** One line: `prog 'p' relo #3 byte_off task_struct->pid: ok 1234 (full) != poison (minimized)`. */
  message: string;
}

function show(d: Decision | undefined): string {
  if (!d) return 'skipped';
  if (d.verdict === 'ok') return `ok ${d.value}${d.memSize !== undefined ? ` (mem size ${d.memSize})` : ''}`;
  return d.message ? `${d.verdict} (${d.message})` : d.verdict;
}

function same(a: Decision | undefined, b: Decision | undefined, valueMatters: boolean): boolean {
  if (!a || !b) return a === b;
  if (a.verdict !== b.verdict) return false;
  if (a.verdict !== 'ok') return true;
  return (!valueMatters || a.value === b.value) && a.memSize === b.memSize;
}

/**
 * Differences between the decisions of `objects` on a kernel's full and minimized BTF.
 * `fullDecisions` (per object, from analyzeObject() or decideObject() on `full`) saves
 * computing them again when the caller has them.
 */
export function compareKernelDecisions(
  objects: readonly CheckObject[],
  full: PreparedTarget,
  minimized: PreparedTarget,
  options: { compareTypeIds?: boolean; fullDecisions?: readonly (readonly (Decision | undefined)[])[] } = {},
): DecisionDifference[] {
  const out: DecisionDifference[] = [];
  for (const [oi, o] of objects.entries()) {
    const a = options.fullDecisions?.[oi] ?? decideObject(o, full).decisions;
    const b = decideObject(o, minimized).decisions;
    o.relos.forEach((c, i) => {
      const valueMatters = options.compareTypeIds === true || c.kind !== 'target_type_id';
      if (same(a[i], b[i], valueMatters)) return;
      out.push({
        object: o.file,
        program: c.program,
        section: c.section,
        index: c.index,
        kind: c.kind,
        path: c.path,
        full: a[i],
        minimized: b[i],
        message: `${o.file}: prog '${c.program}' relo #${c.index} ${c.kind} ${c.path}: ${show(a[i])} (full BTF) != ${show(b[i])} (minimized BTF)`,
      });
    });
  }
  return out;
}

/** What `pack --verify` / `pack --report` need from one kernel, in the worker that has its BTF. */
export interface KernelCheck {
  /** Per object (with `report`): the outcome for ReportBuilder.add(). */
  outcomes?: KernelOutcome[];
  /** Per object (with `report` and `load`): the load verdicts for ReportBuilder.add() (plain data). */
  load?: ProgramVerdict[][];
  /** With `minimized`: decisions that differ between the full and the minimized BTF. */
  differences?: DecisionDifference[];
}

/**
 * The one call pack's per-kernel job makes: the check outcomes on the full BTF (`report`),
 * and/or the comparison with the minimized BTF it just produced (`minimized`), computing the
 * full BTF's decisions once for both.
 */
export function checkKernel(
  objects: readonly CheckObject[],
  full: PreparedTarget,
  options: {
    report?: boolean;
    minimized?: PreparedTarget;
    /**
     * The load checks too (with `report`): per object, programFacts(object, readObjectFacts(...));
     * `funcs`: every attach-point FUNC name (attachFuncNames), answered in the kernel-facts scan.
     */
    load?: { facts: readonly (readonly (ProgramFacts | undefined)[])[]; funcs?: Iterable<string> };
  } = {},
): KernelCheck {
  const out: KernelCheck = {};
  let decisions: (readonly (Decision | undefined)[])[] | undefined;
  if (options.report) {
    const outcomes = objects.map((o) => analyzeObject(o, full));
    out.outcomes = outcomes;
    decisions = outcomes.map((x) => x.decisions);
    if (options.load) {
      const kernel = readKernelFacts(full.btf, options.load.funcs ? { funcs: options.load.funcs } : {});
      out.load = objects.map((o, oi) => loadVerdicts(o, options.load!.facts[oi] ?? [], outcomes[oi]!, kernel));
    }
  }
  if (options.minimized) {
    out.differences = compareKernelDecisions(objects, full, options.minimized, decisions ? { fullDecisions: decisions } : {});
  }
  return out;
}
