// The check report: per relocation and per program, the outcomes with the kernels that share
// each one (indices into the top-level `kernels`), so a report over many kernels stays small.
// Per program and kernel, the load verdict (src/check/load) with the CO-RE reasons fed in as
// its `core` check. Schema (version 2) documented in docs/check.md.
import type { CheckObject, Decision } from './decide.js';
import type { KernelOutcome } from './analyze.js';
import { describeKernels, kernelGroups } from './kernel-runs.js';
import type { KernelRef } from './kernels.js';
import type { KernelFacts } from './load/kernel.js';
import type { ObjectFacts, ProgramFacts } from './load/program.js';
import { outcomeReasons, programVerdict, type Check, type Reason, type ProgramVerdict } from './load/verdict.js';

export { collapseRun, describeKernels } from './kernel-runs.js';

export const CHECK_REPORT_SCHEMA = 'btfgen-check';
/** 2: program outcomes carry the load verdict (loads/fails/unknown) and every check's reasons. */
export const CHECK_REPORT_VERSION = 2;

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

export type ReasonCheck = Check;

/**
 * Why a program fails (or cannot be judged) on some kernels. `name` is the kernel's own name for
 * the thing (BPF_MAP_TYPE_RINGBUF, BPF_FUNC_ringbuf_output, vfs_read) or, for `core`, the
 * relocation's C-like path.
 */
export type ProgramReason = Reason;

export type ProgramLoadVerdict = ProgramVerdict['verdict'];

export interface ProgramOutcomeGroup {
  /** loads: every check passed; fails: some check failed (all listed); unknown: some check cannot be answered. */
  verdict: ProgramLoadVerdict;
  /** fails: every failing reason; unknown: the unanswered checks; plus needs-kernel-btf. */
  reasons: ProgramReason[];
  /** Constants could not be followed through the whole program: every branch was assumed taken. */
  approximate?: boolean;
  kernels: number[];
}

export interface ReportProgram {
  name: string;
  section: string;
  /** enum bpf_prog_type name libbpf 1.1 gives the section (absent when it does not recognise it). */
  type?: string;
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
    /**
     * Kernels where some program fails (a check failed: unguarded poison, relocation error,
     * missing program type, helper...; programs that need kernel BTF only with --strict), or
     * whose BTF is unreadable.
     */
    failingKernels: number;
    unreadableKernels: number;
  };
}

/** The load facts of `obj`'s main programs, in report (and KernelOutcome.programs) order. */
export function programFacts(obj: CheckObject, facts: ObjectFacts | undefined): (ProgramFacts | undefined)[] {
  const byName = new Map((facts?.programs ?? []).map((p) => [p.name, p]));
  return obj.code.programs.filter((p) => !p.subprog).map((p) => byName.get(p.name));
}

/**
 * Per main program of `obj` (KernelOutcome.programs order), its load verdict on one kernel: the
 * CO-RE outcome's unguarded poisons and errors as `core` reasons, plus the load checks when
 * the program's facts and the kernel's are given (else CO-RE alone). Plain data: a worker
 * holding the kernel's BTF can compute it and post it to ReportBuilder.add(). Without --strict.
 */
export function loadVerdicts(
  obj: CheckObject,
  facts: readonly (ProgramFacts | undefined)[],
  out: KernelOutcome,
  kernel: KernelFacts | undefined,
): ProgramVerdict[] {
  return out.programs.map((p, pi) => {
    const core: ProgramReason[] = p.because.map((i) => {
      const d = out.decisions[i];
      const c = obj.relos[i]!;
      return { check: 'core', name: c.path, relocation: i, detail: `relo #${c.index} ${c.kind}: ${d?.verdict}${d?.message ? ` (${d.message})` : ''}` };
    });
    const f = facts[pi];
    if (f && kernel) return programVerdict(f, kernel, { core });
    return { verdict: core.length ? 'fails' : 'loads', failures: core, unknowns: [], needsKernelBtf: undefined }; // CO-RE alone
  });
}

/** Collects one kernel at a time; `finish()` gives the report. */
export class ReportBuilder {
  private readonly kernels: ReportKernel[] = [];
  private readonly objects: ReportObject[];
  private readonly reloGroups: Map<string, RelocationOutcome>[][];
  private readonly progGroups: Map<string, ProgramOutcomeGroup>[][];
  private readonly failing = new Set<number>();
  /** Per object and report program: the load facts (undefined: the load checks are off). */
  private readonly progFacts: (ProgramFacts | undefined)[][];

  /**
   * `facts[i]` are the load facts of `objs[i]` (src/check/load); without them only the `core`
   * check runs. `strict`: needs-kernel-btf counts as a failure.
   */
  constructor(
    private readonly objs: readonly CheckObject[],
    facts: readonly ObjectFacts[] | undefined = undefined,
    private readonly strict = false,
  ) {
    this.progFacts = objs.map((o, oi) => programFacts(o, facts?.[oi]));
    this.objects = objs.map((o, oi) => ({
      file: o.file,
      programs: o.code.programs
        .filter((p) => !p.subprog)
        .map((p, pi) => {
          const t = this.progFacts[oi]![pi]?.secDef?.progType;
          return { name: p.name, section: p.section, ...(t ? { type: t } : {}), outcomes: [] };
        }),
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

  /**
   * One object on one kernel: its CO-RE outcome and, when the load checks are on, the kernel's
   * facts (read once per kernel from the BTF the CO-RE decisions used) or the verdicts
   * loadVerdicts() already computed where that BTF was (pack's workers: plain data).
   */
  add(ki: number, oi: number, out: KernelOutcome, load?: KernelFacts | readonly ProgramVerdict[]): void {
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
    const verdicts = Array.isArray(load) ? (load as readonly ProgramVerdict[]) : loadVerdicts(this.objs[oi]!, this.progFacts[oi]!, out, load as KernelFacts | undefined);
    const pg = this.progGroups[oi]!;
    out.programs.forEach((p, pi) => {
      let v = verdicts[pi]!;
      // --strict: needs-kernel-btf is a failure (programVerdict's `strict`, applied here so
      // that verdicts computed elsewhere need not know the option).
      if (this.strict && v.needsKernelBtf && !v.failures.includes(v.needsKernelBtf)) {
        v = { ...v, verdict: 'fails', failures: [...v.failures, v.needsKernelBtf] };
      }
      const counted = this.strict || !v.needsKernelBtf;
      if (v.verdict === 'fails' && counted) this.failing.add(ki);
      const reasons = outcomeReasons(v);
      const key = JSON.stringify([v.verdict, reasons, p.approximate ? 1 : 0]);
      let g = pg[pi]!.get(key);
      if (!g) pg[pi]!.set(key, (g = { verdict: v.verdict, reasons, ...(p.approximate ? { approximate: true } : {}), kernels: [] }));
      g.kernels.push(ki);
    });
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

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** A relocation outcome other than ok; `guarded`: a poison no program reaches (an expected miss). */
export interface FailedRelocation {
  file: string;
  rel: ReportRelocation;
  outcome: RelocationOutcome;
  guarded: boolean;
}

/** Every relocation outcome that is not ok, in report order (the text and HTML reports list the same ones). */
export function failedRelocations(r: CheckReport): FailedRelocation[] {
  const out: FailedRelocation[] = [];
  for (const o of r.objects) {
    for (const rel of o.relocations) {
      for (const outcome of rel.outcomes) {
        if (outcome.verdict === 'ok') continue;
        out.push({ file: o.file, rel, outcome, guarded: outcome.verdict === 'poison' && outcome.guarded === true });
      }
    }
  }
  return out;
}

/** Does this program need the running kernel's BTF to attach (needs-kernel-btf on its kernels)? */
export function programNeedsKernelBtf(p: ReportProgram): boolean {
  return p.outcomes.some((o) => o.reasons.some((r) => r.check === 'needs-kernel-btf'));
}

/**
 * The text report: the program x kernel-group matrix (load verdicts, CO-RE included), the
 * programs that need kernel BTF apart, the reasons of the other checks, failing relocations,
 * expected misses.
 */
export function formatText(r: CheckReport): string {
  const lines: string[] = [];
  const groups = kernelGroups(r.kernels);
  lines.push(
    `btfgen check: ${r.summary.objects} object${r.summary.objects === 1 ? '' : 's'}, ${r.summary.relocations} CO-RE relocations, ${r.summary.kernels} kernels`,
  );
  lines.push('');
  const cellOf = (p: ReportProgram, ks: readonly number[]): string => {
    const set = new Set(ks);
    let fail = 0;
    let unknown = 0;
    for (const o of p.outcomes) {
      const n = o.kernels.filter((k) => set.has(k)).length;
      if (o.verdict === 'fails') fail += n;
      else if (o.verdict === 'unknown') unknown += n;
    }
    const parts: string[] = [];
    if (fail) parts.push(`${fail}/${ks.length} kernels fail`);
    if (unknown) parts.push(`${unknown}/${ks.length} unknown`);
    return parts.length ? parts.join(', ') : 'ok';
  };
  const table = (which: (p: ReportProgram) => boolean): string[] => {
    const rows: string[][] = [['program', ...groups.map((g) => g.key)]];
    for (const o of r.objects) {
      const ps = o.programs.filter(which);
      if (!ps.length && o.programs.length) continue;
      rows.push([o.file, ...groups.map(() => '')]);
      if (o.programs.length === 0) rows.push(['  (no programs)', ...groups.map(() => '')]);
      for (const p of ps) rows.push([`  ${p.name}`, ...groups.map((g) => cellOf(p, g.kernels))]);
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
    return rows.map((row) => row.map((cell, c) => pad(cell, widths[c]!)).join('  ').trimEnd());
  };
  lines.push(...table((p) => !programNeedsKernelBtf(p)));
  if (r.objects.some((o) => o.programs.some(programNeedsKernelBtf))) {
    lines.push(
      '',
      "Programs that need kernel BTF (fentry, fexit, tp_btf, lsm, iter, struct_ops...: a host that needs an archive BTF has no /sys/kernel/btf/vmlinux, so they cannot load there; not counted in the exit status unless --strict):",
      ...table(programNeedsKernelBtf),
    );
  }

  // The reasons of the checks other than core (the failing relocations below give core's).
  const why: string[] = [];
  const unknowns: string[] = [];
  for (const o of r.objects) {
    for (const p of o.programs) {
      const byReason = new Map<string, { verdict: string; reason: ProgramReason; kernels: number[] }>();
      for (const oc of p.outcomes) {
        if (oc.verdict === 'loads') continue;
        for (const reason of oc.reasons) {
          if (reason.check === 'core' || reason.check === 'needs-kernel-btf') continue;
          const key = `${oc.verdict}|${reason.check}|${reason.name}|${reason.detail ?? ''}`;
          let e = byReason.get(key);
          if (!e) byReason.set(key, (e = { verdict: oc.verdict, reason, kernels: [] }));
          e.kernels.push(...oc.kernels);
        }
      }
      for (const e of byReason.values()) {
        const n = `${e.kernels.length} kernel${e.kernels.length === 1 ? '' : 's'}`;
        const block = [`  ${o.file}: prog '${p.name}' (${p.section}): ${e.reason.check} ${e.reason.name}${e.reason.detail ? ` (${e.reason.detail})` : ''} on ${n}:`];
        for (const d of describeKernels(r.kernels, e.kernels)) block.push(`    ${d}`);
        (e.verdict === 'fails' ? why : unknowns).push(...block);
      }
    }
  }
  if (why.length) lines.push('', 'Load failures (program type, attach type, helpers, map types, attach points, typed ksyms and kfuncs):', ...why);
  if (unknowns.length) lines.push('', "Unknown (this kernel's BTF cannot answer the check):", ...unknowns);

  const failing: string[] = [];
  const guarded: string[] = [];
  for (const { file, rel, outcome: oc, guarded: expected } of failedRelocations(r)) {
    const head = `${file}: prog '${rel.program}' relo #${rel.index} insn #${rel.insn}: ${rel.kind} ${rel.path} (${rel.type}, access ${rel.access})`;
    const n = `${oc.kernels.length} kernel${oc.kernels.length === 1 ? '' : 's'}`;
    const block = [`  ${head}`];
    if (oc.verdict === 'error') block.push(`    error (libbpf: ${oc.message ?? 'failed'}) on ${n}:`);
    else if (oc.message) block.push(`    poison (libbpf: ${oc.message}) on ${n}:`);
    else block.push(`    poison (no candidate matched) on ${n}:`);
    for (const d of describeKernels(r.kernels, oc.kernels)) block.push(`      ${d}`);
    (expected ? guarded : failing).push(...block);
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
