// Kernel groups (distro/version/arch) and runs of releases collapsed as the text report writes
// them: `ubuntu/20.04/x86_64 5.4.0-26..-42`.
import type { ReportKernel } from './types.js';

const collator = new Intl.Collator('en', { numeric: true });
export const compareNatural = (a: string, b: string): number => collator.compare(a, b);

export function groupKey(k: ReportKernel): string {
  return `${k.id}/${k.version}/${k.arch}`;
}

export interface KernelGroup {
  key: string;
  id: string;
  arch: string;
  /** Kernel indices, releases in version order. */
  kernels: number[];
}

/** Readable kernels grouped by distro/version/arch, groups and releases in natural order. */
export function kernelGroups(all: readonly ReportKernel[]): KernelGroup[] {
  const groups = new Map<string, KernelGroup>();
  all.forEach((k, i) => {
    if (k.error !== undefined) return;
    const key = groupKey(k);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, id: k.id, arch: k.arch, kernels: [] }));
    g.kernels.push(i);
  });
  const out = [...groups.values()].sort((a, b) => compareNatural(a.key, b.key));
  for (const g of out) g.kernels.sort((a, b) => compareNatural(all[a]!.release, all[b]!.release));
  return out;
}

/** `5.4.0-26-generic`..`5.4.0-42-generic` -> `5.4.0-26..-42` (shared prefix up to a '-', shared suffix dropped). */
export function collapseRun(a: string, b: string): string {
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) p++;
  while (p > 0 && a[p - 1] !== '-') p--;
  let s = 0;
  while (s < a.length - p && s < b.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  while (s > 0 && a[a.length - s] !== '-' && a[a.length - s] !== '.') s--;
  return `${a.slice(0, a.length - s)}..${p > 0 ? '-' : ''}${b.slice(p, b.length - s)}`;
}

/**
 * The members of `group` that are in `members`, as releases with runs of three or more
 * consecutive releases collapsed; `all N` when every kernel of the group is a member.
 */
export function describeRun(all: readonly ReportKernel[], group: KernelGroup, members: ReadonlySet<number>): string {
  const inGroup = group.kernels.filter((i) => members.has(i));
  if (inGroup.length === group.kernels.length) return `all ${group.kernels.length}`;
  const parts: string[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length >= 3) parts.push(collapseRun(all[run[0]!]!.release, all[run[run.length - 1]!]!.release));
    else parts.push(...run.map((i) => all[i]!.release));
    run = [];
  };
  for (const i of group.kernels) {
    if (members.has(i)) run.push(i);
    else if (run.length) flush();
  }
  if (run.length) flush();
  return parts.join(', ');
}
