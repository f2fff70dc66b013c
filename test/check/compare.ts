// Compares `btfgen check`'s decisions for one object and kernel with libbpf's own debug log.
import type { CheckObject, ObjectDecisions } from '../../src/check/decide.js';
import { type LibbpfDecision } from './helpers.js';

export interface Comparison {
  /** Relocations whose decision both sides have (and agree or not). */
  compared: number;
  mismatches: string[];
  /** libbpf relocated nothing (it failed before bpf_object__relocate_core()). */
  notRelocated: boolean;
}

/**
 * Every decision up to libbpf's first failure (libbpf stops there): verdict, the patched value,
 * the new memory size, the instruction index. Relocations libbpf logged that we did not decide
 * (or the reverse) are mismatches.
 */
export function compareDecisions(obj: CheckObject, ours: ObjectDecisions, lib: Map<string, LibbpfDecision>): Comparison {
  const mismatches: string[] = [];
  let compared = 0;
  const seen = new Set<string>();
  const active = obj.relos.filter((_, i) => ours.decisions[i] !== undefined);
  if (lib.size === 0 && active.length > 0) return { compared: 0, mismatches, notRelocated: true };
  for (let i = 0; i < obj.relos.length; i++) {
    const c = obj.relos[i]!;
    const d = ours.decisions[i];
    if (!d) continue;
    const key = `${c.program}#${c.index}`;
    const l = lib.get(key);
    seen.add(key);
    const where = `${obj.file} ${key} (${c.kind} ${c.path})`;
    if (!l) {
      mismatches.push(`${where}: ours ${d.verdict}${d.message ? ` (${d.message})` : ''}, libbpf logged nothing`);
      if (ours.firstError >= 0 && i >= ours.firstError) break;
      continue;
    }
    compared++;
    if (l.verdict !== d.verdict) {
      mismatches.push(`${where}: ours ${d.verdict} ${d.value ?? ''} ${d.message ?? ''}, libbpf ${l.verdict} ${l.value ?? ''} ${l.messages.join(' | ')}`);
    } else if (d.verdict === 'ok') {
      if (String(d.value) !== l.value) mismatches.push(`${where}: ours value ${d.value}, libbpf ${l.value}`);
      if ((d.memSize ?? undefined) !== l.memSize) mismatches.push(`${where}: ours mem size ${d.memSize}, libbpf ${l.memSize}`);
      if (l.insn !== undefined && l.insn !== c.insn) mismatches.push(`${where}: ours insn #${c.insn}, libbpf insn #${l.insn}`);
    } else if (d.verdict === 'poison') {
      if (l.insn !== undefined && l.insn !== c.insn) mismatches.push(`${where}: ours insn #${c.insn}, libbpf insn #${l.insn}`);
    }
    if (d.verdict === 'error') break; // libbpf stops at its first failure
  }
  for (const k of lib.keys()) if (!seen.has(k)) mismatches.push(`${obj.file} ${k}: libbpf decided it, we did not`);
  return { compared, mismatches, notRelocated: false };
}
