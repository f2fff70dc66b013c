// What pack returns: each kernel's settled outcome split into packed and failed, and the
// PackResult (members, groups, counts, what the run used) once the archive is written.
import type { CheckReport } from '../check/report.js';
import type { Decompressor } from './decompress.js';
import type { PackSettings } from './options.js';
import type { ResultMessage } from './protocol.js';
import type { Item, Outcome, Results } from './results.js';
import type { KernelFailure, PackGroup, PackResult } from './types.js';

export type PackedItem = Item & { outcome: Extract<Outcome, { kind: 'ok' }> };

/** The kernels to pack and those that failed, in member order (every item has an outcome now). */
export function settle(items: readonly Item[]): { ok: PackedItem[]; failures: KernelFailure[] } {
  const failures: KernelFailure[] = [];
  const ok: PackedItem[] = [];
  for (const it of items) {
    const o = it.outcome!;
    if (o.kind === 'failed') failures.push({ kernel: it.entry.relPath, path: it.entry.path, message: o.message, cached: o.cached });
    else ok.push(it as PackedItem);
  }
  return { ok, failures };
}

/** Adds one pool result's worker time (and kernel cache hit) to the run's `work`. */
export function addWork(work: PackResult['work'], r: ResultMessage): void {
  work.readMs += r.ms.read;
  work.decompressMs += r.ms.decompress;
  work.minimizeMs += r.ms.minimize;
  if ((r.status === 'minimized' || r.status === 'cached') && r.kernelCacheHit) work.kernelCacheHits++;
}

/** The run as PackResult reports it (elapsedMs measured up to this call). */
export function packResult(
  s: PackSettings,
  run: {
    items: readonly Item[];
    ok: readonly PackedItem[];
    failures: KernelFailure[];
    counts: Results['counts'];
    written: { size: number; cached: boolean };
    json: boolean;
    decompressor: Decompressor | undefined;
    objects: { given: number; distinct: number };
    warnings: string[];
    work: PackResult['work'];
    report: CheckReport | undefined;
    started: number;
  },
): PackResult {
  const { ok, counts } = run;
  const result: PackResult = {
    output: s.output,
    size: run.written.size,
    format: s.format,
    layout: s.layout,
    archive: s.archive,
    members: ok.map((it) => ({
      name: it.name,
      kernel: it.entry.relPath,
      id: it.entry.id,
      version: it.entry.version,
      arch: it.entry.arch,
      release: it.entry.release,
      size: it.outcome.size,
      source: it.outcome.source,
    })),
    failures: run.failures,
    groups: groupsOf(ok),
    counts: { total: run.items.length, packed: ok.length, minimized: counts.minimized, cached: counts.cached, failed: counts.failed },
    json: run.json,
    decompressor: run.decompressor,
    engine: s.engine,
    jobs: s.jobs,
    cacheDir: s.useCache ? s.cacheDir : undefined,
    kernelCache: s.kernelCache?.dir,
    outputCached: run.written.cached,
    objects: run.objects,
    warnings: run.warnings,
    elapsedMs: 0,
    work: run.work,
  };
  if (run.report) result.report = run.report;
  result.elapsedMs = performance.now() - run.started;
  return result;
}

function groupsOf(ok: readonly Item[]): PackGroup[] {
  const groups = new Map<string, PackGroup>();
  for (const { entry: e } of ok) {
    const k = `${e.id}/${e.version}/${e.arch}`;
    const g = groups.get(k) ?? { id: e.id, version: e.version, arch: e.arch, kernels: 0 };
    g.kernels++;
    groups.set(k, g);
  }
  return [...groups.values()];
}
