// Kernel groups (distro/version/arch) and runs of releases collapsed, as both the text and the
// HTML report write them: `ubuntu/20.04/x86_64 5.4.0-26..-42`.
import type { ReportKernel } from './report.js';

// Made at the first comparison: building ICU's collator costs several milliseconds, and every
// pack loads this module whether or not it writes a report.
let collator: Intl.Collator | undefined;
export const compareNatural = (a: string, b: string): number => (collator ??= new Intl.Collator('en', { numeric: true })).compare(a, b);

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

/**
 * `a..b` with the prefix both share left out of b, and their shared suffix left out of both
 * when what differs is a number: `5.4.0-26-generic..5.4.0-42-generic` -> `5.4.0-26..-42`,
 * `4.19.0-17-amd64..4.19.0-24-rt-amd64` -> `4.19.0-17-amd64..-24-rt-amd64`.
 */
export function collapseRun(a: string, b: string): string {
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) p++;
  // cut the shared prefix after a '-' only ("5.10.1..5.11.0", never "5.10.1...11.0")
  while (p > 0 && a[p - 1] !== '-') p--;
  let s = 0;
  while (s < a.length - p && s < b.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  while (s > 0 && a[a.length - s] !== '-' && a[a.length - s] !== '.') s--;
  if (!/^\d+$/.test(a.slice(p, a.length - s)) || !/^\d+$/.test(b.slice(p, b.length - s))) s = 0;
  const sep = p > 0 ? '-' : '';
  return `${a.slice(0, a.length - s)}..${sep}${b.slice(p, b.length - s)}`;
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

/**
 * Kernels as `ubuntu/20.04/x86_64 5.4.0-26..-42, 5.8.0-43`: per group, releases in version
 * order, runs of consecutive releases of that group collapsed.
 */
export function describeKernels(all: readonly ReportKernel[], indices: readonly number[]): string[] {
  const members = new Set(indices);
  return kernelGroups(all)
    .filter((g) => g.kernels.some((k) => members.has(k)))
    .map((g) => {
      const run = describeRun(all, g, members);
      return run.startsWith('all ') ? `${g.key} (${run})` : `${g.key} ${run}`;
    });
}
