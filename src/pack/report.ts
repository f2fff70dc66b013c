// pack --report: `btfgen check`'s report of the objects on the packed kernels, made from the
// outcomes pack's workers computed on each kernel's full BTF (the same pass that minimized it).
import { kernelKey } from '../archive/index.js';
import type { CheckObject } from '../check/decide.js';
import { ReportBuilder, type CheckReport } from '../check/report.js';
import { loadInputs } from '../check/verify.js';
import type { KernelEntry } from './kernels.js';
import type { ObjectBytes } from './minimizer.js';
import type { CheckPayload } from './protocol.js';
import type { Item } from './results.js';

/**
 * Check's report (kernels in archive order, as `btfgen check` lists them) from the outcomes
 * the workers sent; a kernel without outcomes (its BTF could not be read) is reported with its
 * failure.
 */
export function buildReport(
  checked: readonly { o: ObjectBytes; c: CheckObject }[],
  kernels: readonly KernelEntry[],
  items: readonly Item[],
  ids: ReadonlyMap<Item, number>,
  outcomes: ReadonlyMap<number, CheckPayload>,
): CheckReport {
  const objects = checked.map((x) => x.c);
  // the objects' load facts, as btfgen check reads them (the verdicts came from the workers)
  const { facts } = loadInputs(objects, checked.map((x) => x.o));
  const builder = new ReportBuilder(objects, facts);
  const byEntry = new Map(items.map((it) => [it.entry, it]));
  for (const e of kernels) {
    const ki = builder.addKernel({ key: kernelKey(e), id: e.id, version: e.version, arch: e.arch, release: e.release, path: e.path });
    const it = byEntry.get(e)!;
    const got = outcomes.get(ids.get(it)!);
    if (got) got.outcomes!.forEach((o, oi) => builder.add(ki, oi, o, got.load?.[oi]));
    else builder.kernelError(ki, `${e.relPath}: ${it.outcome?.kind === 'failed' ? it.outcome.message : 'not read'}`);
  }
  return builder.finish();
}
