// The check report: per relocation and per program, the outcomes with the kernels that share
// each one (indices into the top-level `kernels`), so a report over many kernels stays small.
// Schema (version 1) documented in docs/check.md.
import type { CheckObject, Decision } from './decide.js';
import type { CoreVerdict, KernelOutcome } from './analyze.js';
import type { KernelRef } from './kernels.js';

export const CHECK_REPORT_SCHEMA = 'btfgen-check';
export const CHECK_REPORT_VERSION = 1;

export interface ReportKernel {
  key: string;
  id: string;
  version: string;
  arch: string;
  release: string;
  /** Set when the kernel's BTF could not be read: it has no outcomes. */
  error?: string;
}

export interface RelocationOutcome {
  verdict: Decision['verdict'];
  value?: number | string;
  memSize?: number;
  /** Poisons only: true when no program reaches the poisoned instruction on these kernels. */
  guarded?: boolean;
  message?: string;
  kernels: number[];
}

export interface ReportRelocation {
  program: string;
  section: string;
  index: number;
  insn: number;
  kind: string;
  type: string;
  access: string;
  path: string;
  /** libbpf never relocates it: `eliminated` (dropped __weak copy) or `no-autoload` (SEC("?...")). */
  skipped?: string;
  outcomes: RelocationOutcome[];
}

/** Why a program fails on some kernels; issue #18's other checks add their own `check` values. */
export interface ProgramReason {
  check: 'core';
  /** The relocation's C-like path. */
  name: string;
  /** Index into the object's `relocations`. */
  relocation: number;
  detail?: string;
}

export interface ProgramOutcomeGroup {
  verdict: CoreVerdict;
  reasons: ProgramReason[];
  /** Constants could not be followed through the whole program: every branch was assumed taken. */
  approximate?: boolean;
  kernels: number[];
}

export interface ReportProgram {
  name: string;
  section: string;
  outcomes: ProgramOutcomeGroup[];
}

export interface ReportObject {
  file: string;
  programs: ReportProgram[];
  relocations: ReportRelocation[];
}

export interface CheckReport {
  schema: typeof CHECK_REPORT_SCHEMA;
  version: typeof CHECK_REPORT_VERSION;
  kernels: ReportKernel[];
  objects: ReportObject[];
  summary: {
    kernels: number;
    objects: number;
    relocations: number;
    /** Kernels where some program fails (unguarded poison or error), or whose BTF is unreadable. */
    failingKernels: number;
    unreadableKernels: number;
  };
}

/** Collects one kernel at a time; `finish()` gives the report. */
export class ReportBuilder {
  private readonly kernels: ReportKernel[] = [];
  private readonly objects: ReportObject[];
  private readonly reloGroups: Map<string, RelocationOutcome>[][];
  private readonly progGroups: Map<string, ProgramOutcomeGroup>[][];
  private readonly failing = new Set<number>();

  constructor(private readonly objs: readonly CheckObject[]) {
    this.objects = objs.map((o) => ({
      file: o.file,
      programs: o.code.programs.filter((p) => !p.subprog).map((p) => ({ name: p.name, section: p.section, outcomes: [] })),
      relocations: o.relos.map((c) => ({
        program: c.program,
        section: c.section,
        index: c.index,
        insn: c.insn,
        kind: c.kind,
        type: c.type,
        access: c.access,
        path: c.path,
        ...(c.skipped ? { skipped: c.skipped } : {}),
        outcomes: [],
      })),
    }));
    this.reloGroups = objs.map((o) => o.relos.map(() => new Map()));
    this.progGroups = this.objects.map((o) => o.programs.map(() => new Map()));
  }

  /** Registers a kernel; returns its index. */
  addKernel(k: KernelRef): number {
    this.kernels.push({ key: k.key, id: k.id, version: k.version, arch: k.arch, release: k.release });
    return this.kernels.length - 1;
  }

  kernelError(ki: number, message: string): void {
    this.kernels[ki]!.error = message;
    this.failing.add(ki);
  }

  add(ki: number, oi: number, out: KernelOutcome): void {
    const obj = this.objs[oi]!;
    const rg = this.reloGroups[oi]!;
    out.decisions.forEach((d, ri) => {
      if (!d) return;
      const o: RelocationOutcome = { verdict: d.verdict, kernels: [] };
      if (d.value !== undefined) o.value = d.value;
      if (d.memSize !== undefined) o.memSize = d.memSize;
      if (d.verdict === 'poison') o.guarded = out.guarded[ri] ?? true;
      if (d.message !== undefined) o.message = d.message;
      const key = `${o.verdict}|${o.value ?? ''}|${o.memSize ?? ''}|${o.guarded ?? ''}|${o.message ?? ''}`;
      let g = rg[ri]!.get(key);
      if (!g) rg[ri]!.set(key, (g = o));
      g.kernels.push(ki);
    });
    const pg = this.progGroups[oi]!;
    const progs = this.objects[oi]!.programs;
    for (const p of out.programs) {
      const pi = progs.findIndex((x) => x.name === p.program);
      if (pi < 0) continue;
      if (p.verdict === 'fails-core') this.failing.add(ki);
      const reasons: ProgramReason[] = p.because.map((i) => {
        const d = out.decisions[i];
        const c = obj.relos[i]!;
        return { check: 'core', name: c.path, relocation: i, detail: `relo #${c.index} ${c.kind}: ${d?.verdict}${d?.message ? ` (${d.message})` : ''}` };
      });
      const key = `${p.verdict}|${p.because.join(',')}|${p.approximate ? 1 : 0}`;
      let g = pg[pi]!.get(key);
      if (!g) pg[pi]!.set(key, (g = { verdict: p.verdict, reasons, ...(p.approximate ? { approximate: true } : {}), kernels: [] }));
      g.kernels.push(ki);
    }
  }

  finish(): CheckReport {
    this.objects.forEach((o, oi) => {
      o.relocations.forEach((r, ri) => (r.outcomes = [...this.reloGroups[oi]![ri]!.values()]));
      o.programs.forEach((p, pi) => (p.outcomes = [...this.progGroups[oi]![pi]!.values()]));
    });
    return {
      schema: CHECK_REPORT_SCHEMA,
      version: CHECK_REPORT_VERSION,
      kernels: this.kernels,
      objects: this.objects,
      summary: {
        kernels: this.kernels.length,
        objects: this.objects.length,
        relocations: this.objects.reduce((n, o) => n + o.relocations.length, 0),
        failingKernels: this.failing.size,
        unreadableKernels: this.kernels.filter((k) => k.error !== undefined).length,
      },
    };
  }
}

/** True when some selected kernel has an unguarded poison, an error or an unreadable BTF. */
export function reportFails(r: CheckReport): boolean {
  return r.summary.failingKernels > 0;
}

// ------------------------------------------------------------------------------------------
// Text

const collator = new Intl.Collator('en', { numeric: true });

function groupOf(k: ReportKernel): string {
  return `${k.id}/${k.version}/${k.arch}`;
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
 * Kernels as `ubuntu/20.04/x86_64 5.4.0-26..-42, 5.8.0-43`: per group, releases in version
 * order, runs of consecutive releases of that group collapsed.
 */
export function describeKernels(all: readonly ReportKernel[], indices: readonly number[]): string[] {
  const groups = new Map<string, ReportKernel[]>();
  all.forEach((k) => {
    const g = groupOf(k);
    let l = groups.get(g);
    if (!l) groups.set(g, (l = []));
    l.push(k);
  });
  const out: string[] = [];
  const member = new Set(indices.map((i) => all[i]!));
  for (const [g, ks] of [...groups].sort((x, y) => collator.compare(x[0], y[0]))) {
    const sorted = [...ks].sort((x, y) => collator.compare(x.release, y.release));
    if (!sorted.some((k) => member.has(k))) continue;
    if (sorted.every((k) => member.has(k))) {
      out.push(`${g} (all ${sorted.length})`);
      continue;
    }
    const parts: string[] = [];
    let run: ReportKernel[] = [];
    const flush = () => {
      if (run.length >= 3) parts.push(collapseRun(run[0]!.release, run[run.length - 1]!.release));
      else parts.push(...run.map((k) => k.release));
      run = [];
    };
    for (const k of sorted) {
      if (member.has(k)) run.push(k);
      else if (run.length) flush();
    }
    if (run.length) flush();
    out.push(`${g} ${parts.join(', ')}`);
  }
  return out;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** The text report: program x kernel-group matrix, failing relocations, expected misses. */
export function formatText(r: CheckReport): string {
  const lines: string[] = [];
  const groups = new Map<string, number[]>();
  r.kernels.forEach((k, i) => {
    if (k.error !== undefined) return;
    const g = groupOf(k);
    let l = groups.get(g);
    if (!l) groups.set(g, (l = []));
    l.push(i);
  });
  const gnames = [...groups.keys()].sort(collator.compare);
  lines.push(
    `btfgen check: ${r.summary.objects} object${r.summary.objects === 1 ? '' : 's'}, ${r.summary.relocations} CO-RE relocations, ${r.summary.kernels} kernels`,
  );
  lines.push('');
  const rows: string[][] = [['program', ...gnames]];
  for (const o of r.objects) {
    rows.push([o.file, ...gnames.map(() => '')]);
    if (o.programs.length === 0) rows.push(['  (no programs)', ...gnames.map(() => '')]);
    for (const p of o.programs) {
      const failing = new Set<number>();
      for (const g of p.outcomes) if (g.verdict === 'fails-core') for (const k of g.kernels) failing.add(k);
      rows.push([
        `  ${p.name}`,
        ...gnames.map((g) => {
          const ks = groups.get(g)!;
          const n = ks.filter((k) => failing.has(k)).length;
          return n === 0 ? 'ok' : `${n}/${ks.length} kernels fail`;
        }),
      ]);
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  for (const row of rows) lines.push(row.map((cell, c) => pad(cell, widths[c]!)).join('  ').trimEnd());

  const failing: string[] = [];
  const guarded: string[] = [];
  for (const o of r.objects) {
    for (const rel of o.relocations) {
      for (const oc of rel.outcomes) {
        if (oc.verdict === 'ok') continue;
        const head = `${o.file}: prog '${rel.program}' relo #${rel.index} insn #${rel.insn}: ${rel.kind} ${rel.path} (${rel.type}, access ${rel.access})`;
        const n = `${oc.kernels.length} kernel${oc.kernels.length === 1 ? '' : 's'}`;
        const block = [`  ${head}`];
        if (oc.verdict === 'error') block.push(`    error (libbpf: ${oc.message ?? 'failed'}) on ${n}:`);
        else if (oc.message) block.push(`    poison (libbpf: ${oc.message}) on ${n}:`);
        else block.push(`    poison (no candidate matched) on ${n}:`);
        for (const d of describeKernels(r.kernels, oc.kernels)) block.push(`      ${d}`);
        (oc.verdict === 'poison' && oc.guarded ? guarded : failing).push(...block);
      }
    }
  }
  const unreadable = r.kernels.filter((k) => k.error !== undefined);
  lines.push('');
  if (failing.length) {
    lines.push('Failing relocations (unguarded poisons and errors):', ...failing);
  } else {
    lines.push('No failing relocation: every program passes CO-RE relocation on every kernel.');
  }
  if (guarded.length) {
    lines.push('', 'Expected misses (poisoned, but guarded: no program reaches the instruction):', ...guarded);
  }
  if (unreadable.length) {
    lines.push('', 'Unreadable kernels:', ...unreadable.map((k) => `  ${k.key}: ${k.error}`));
  }
  return `${lines.join('\n')}\n`;
}
