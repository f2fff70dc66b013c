// One object on one kernel: libbpf's decisions (decide.ts), then which poisons the verifier
// reaches in each program (guard.ts), then a CO-RE verdict per program.
import type { PreparedTarget } from '../minimize/index.js';
import { decideObject, type CheckObject, type Decision, type ObjectDecisions } from './decide.js';
import { reachablePoisons } from './guard.js';

export type CoreVerdict = 'loads-core' | 'fails-core';

export interface ProgramOutcome {
  /** Program (symbol) name. */
  readonly program: string;
  readonly section: string;
  readonly verdict: CoreVerdict;
  /** Indices (into CheckObject.relos) of the relocations responsible for `fails-core`. */
  readonly because: readonly number[];
  /** The constants could not be followed through the whole program: every branch was taken. */
  readonly approximate?: boolean;
}

export interface KernelOutcome {
  /** Per CheckObject.relos: the decision (undefined for records libbpf skips). */
  readonly decisions: readonly (Decision | undefined)[];
  /**
   * Per CheckObject.relos, for poisons: true when no program reaches the poisoned instruction
   * (an expected miss), false when some program does.
   */
  readonly guarded: readonly (boolean | undefined)[];
  /** Main programs (not .text subprograms), in ELF order. */
  readonly programs: readonly ProgramOutcome[];
}

/**
 * The guard analysis depends on the patched instructions only, which the decisions determine:
 * kernels with the same decisions for an object share it (most kernels of a distro release do).
 */
const memo = new WeakMap<CheckObject, Map<string, Omit<KernelOutcome, 'decisions'>>>();

function signature(ds: readonly (Decision | undefined)[]): string {
  let s = '';
  for (const d of ds) s += d ? `${d.verdict[0]}${d.value ?? ''}/${d.memSize ?? ''}|` : '-|';
  return s;
}

export function analyzeObject(obj: CheckObject, target: PreparedTarget): KernelOutcome {
  const od = decideObject(obj, target);
  let m = memo.get(obj);
  if (!m) memo.set(obj, (m = new Map()));
  const sig = signature(od.decisions);
  const hit = m.get(sig);
  if (hit) return { decisions: od.decisions, ...hit };
  const rest = guardAnalysis(obj, od);
  m.set(sig, rest);
  return { decisions: od.decisions, ...rest };
}

function guardAnalysis(obj: CheckObject, od: ObjectDecisions): Omit<KernelOutcome, 'decisions'> {
  const errors: number[] = [];
  const poisonAt = new Map<string, number[]>();
  od.decisions.forEach((d, i) => {
    if (!d) return;
    if (d.verdict === 'error') errors.push(i);
    if (d.verdict === 'poison') {
      const c = obj.relos[i]!;
      const k = `${c.sectionIndex}:${c.secInsn}`;
      const l = poisonAt.get(k);
      if (l) l.push(i);
      else poisonAt.set(k, [i]);
    }
  });
  const guarded: (boolean | undefined)[] = od.decisions.map((d) => (d?.verdict === 'poison' ? true : undefined));
  const programs: ProgramOutcome[] = [];
  for (const p of obj.code.programs) {
    if (p.subprog) continue;
    let because: number[] = [];
    let approximate = false;
    if (poisonAt.size) {
      const r = reachablePoisons(obj.code, od.insns, p);
      approximate = r.approximate;
      for (const k of r.poisons) {
        for (const i of poisonAt.get(k) ?? []) {
          because.push(i);
          guarded[i] = false;
        }
      }
    }
    // libbpf fails the whole object load on any relocation error
    because = [...errors, ...because].sort((a, b) => a - b);
    programs.push({
      program: p.name,
      section: p.section,
      verdict: because.length ? 'fails-core' : 'loads-core',
      because,
      ...(approximate ? { approximate } : {}),
    });
  }
  return { guarded, programs };
}
