// `pack --verify`'s comparison: every relocation's decision against the minimized BTF must be
// the one against the kernel's full BTF (same verdict, same patched value). target_type_id
// values are the target's own type IDs, renumbered by minimization: they are compared only on
// request.
import type { PreparedTarget } from '../minimize/index.js';
import { decideObject, type CheckObject, type Decision } from './decide.js';

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

/** Differences between the decisions of `objects` on a kernel's full and minimized BTF. */
export function compareKernelDecisions(
  objects: readonly CheckObject[],
  full: PreparedTarget,
  minimized: PreparedTarget,
  options: { compareTypeIds?: boolean } = {},
): DecisionDifference[] {
  const out: DecisionDifference[] = [];
  for (const o of objects) {
    const a = decideObject(o, full).decisions;
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
