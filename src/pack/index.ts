// pack: every kernel of a btfhub-archive minimized for a set of CO-RE objects, in parallel, into
// one reproducible tar.gz (the output `btfgen btfgen` / btfhub's btfgen.sh produced). The story
// of a run, one stage a module:
//
//   options.ts         normalize + validate the options
//   objects.ts         read the objects once: validate, drop exact repeats, fingerprint
//   kernels.ts         the kernel source: walk + filters (src/archive), each kernel's BTF
//   output.ts          member names (checked before any work), later the archive writer
//   results.ts         the result cache: one scan (stat index, then stored results)
//   minimize-stage.ts  the kernels left, sized and run on the pool with the thread plan (plan.ts)
//   pool.ts            the minimizing pool (worker.ts: read, hash, decompress, minimize, store)
//   report.ts          --report: check's report from the workers' outcomes
//   output.ts          the archive writer (sorted tar(.gz) in a temp file, renamed; the output cache)
//   summary.ts         packed and failed kernels; the PackResult
//
// Failure policy: a kernel that fails is never packed (not even in full). By default any failure
// fails the pack (every failing kernel is listed, nothing is written); with `skipFailed` the
// others are packed and the failures are returned.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { makeDirs, removeStaleTemps } from '../fsutil.js';
import { BtfgenError, UsageError } from '../errors.js';
import type { CheckReport } from '../check/report.js';
import type { Env } from '../archive/paths.js';
import { resolveArchivePaths } from '../archive/paths.js';
import { resultKeyPrefix } from './cache.js';
import type { Decompressor } from './decompress.js';
import { openKernelSource } from './kernels.js';
import { minimizeAll, startEarlyPool, workerInit } from './minimize-stage.js';
import { loadObjects, readJson } from './objects.js';
import { defaultJobs, normalizeOptions, type PackSettings } from './options.js';
import { memberItems, writePackOutput } from './output.js';
import { AbortError, type WorkerPool } from './pool.js';
import type { CheckPayload } from './protocol.js';
import { buildReport } from './report.js';
import { openResults } from './results.js';
import { addWork, packResult, settle } from './summary.js';
import type { KernelFailure, PackOptions, PackProgress, PackResult } from './types.js';

export type { Layout, OutputFormat } from './output.js';
export type { Decompressor, DecompressorChoice } from './decompress.js';
export type { Engine } from './minimizer.js';
export { AbortError } from './pool.js';
export { memberName } from './output.js';
export { coreFingerprint } from './fingerprint.js';
export { openKernelSource, decodeKernel, type KernelSource, type KernelSourceOptions, type KernelBtf, type KernelEntry } from './kernels.js';

export type { KernelFailure, PackedMember, PackGroup, PackObject, PackOptions, PackProgress, PackResult } from './types.js';

/** Some kernels failed (default policy): nothing was written. */
export class PackError extends BtfgenError {
  constructor(
    message: string,
    readonly failures: KernelFailure[],
    /** With `report`: the check report, made all the same. */
    readonly report?: CheckReport,
  ) {
    super(message);
  }
}

/** Resolves defaults the CLI also shows: archive, cache and pack-cache directories. */
export function resolvePackPaths(
  options: Pick<PackOptions, 'archive' | 'cache' | 'cacheDir'>,
  env: Env = process.env,
  cwd: string = process.cwd(),
): { archive: string; cache: string; cacheDir: string } {
  return resolveArchivePaths(options, env, cwd);
}

/**
 * Minimizes every kernel of an archive for `objects` and writes one reproducible tar.gz.
 * @throws PackError when kernels failed (unless skipFailed), UsageError for bad options,
 * ArchiveError for a missing/empty archive, the object's error for an unusable object,
 * AbortError when `signal` fires.
 */
export async function pack(options: PackOptions): Promise<PackResult> {
  const started = performance.now();
  const early = startEarlyPool(options.jobs ?? defaultJobs(), options.decompressor);
  try {
    return await run(normalizeOptions(options), options, early, started);
  } finally {
    early?.close();
  }
}

async function run(s: PackSettings, options: PackOptions, early: WorkerPool | undefined, started: number): Promise<PackResult> {
  const signal = options.signal;
  const checkAbort = (): void => {
    if (signal?.aborted) throw new AbortError();
  };
  if ((await stat(s.output).catch(() => undefined))?.isDirectory()) throw new UsageError(`output ${s.output} is a directory`);

  const objects = loadObjects(options.objects, s.cwd, s.report || s.verify);
  const outcomes = new Map<number, CheckPayload>();
  const json = s.json !== undefined ? await readJson(s.json, s.cwd) : undefined;

  const source = await openKernelSource({ archive: s.archive, distros: s.distros, arches: s.arches, decompressor: s.decompressor });
  const { items, warnings } = memberItems(source.kernels, s.layout);
  const ids = new Map(items.map((it, i) => [it, i]));

  await makeDirs(path.dirname(s.output)); // EROFS, not mkdir -p's ENOENT, on a read-only file system
  await removeStaleTemps(s.output);
  checkAbort();

  const keyPrefix = resultKeyPrefix(objects.fingerprint, s.headerLen, s.engine);
  const results = await openResults(s, keyPrefix, objects.distinct.map((o) => o.name));
  const work = { readMs: 0, decompressMs: 0, minimizeMs: 0, threads: 0, kernelCacheHits: 0 };
  const progress = (phase: PackProgress['phase'], kernel?: string): void => {
    if (!options.onProgress) return;
    const c = results.counts;
    const p: PackProgress = { phase, total: items.length, done: c.done, minimized: c.minimized, cached: c.cached, failed: c.failed, elapsedMs: performance.now() - started };
    if (kernel !== undefined) p.kernel = kernel;
    options.onProgress(p);
  };

  try {
    progress('scan');
    const todo = await results.scan(items);
    checkAbort();
    progress('minimize');
    let decompressor: Decompressor | undefined;
    if (todo.length) {
      const init = workerInit(s, {
        objects: objects.distinct,
        checkObjects: objects.checked?.map((x) => x.o),
        store: results.store,
        keyPrefix,
        decompressor: await source.decompressor(),
        started,
      });
      decompressor = await minimizeAll(s, todo, ids, early, init, (r) => {
        const it = items[r.id]!;
        if (r.check?.outcomes) outcomes.set(r.id, r.check);
        addWork(work, r);
        results.record(it, r);
        if ((r.status === 'minimized' || r.status === 'cached') && r.member !== undefined) warnings.push(`${it.entry.relPath}: member '${r.member}' is not named ${it.entry.release}.btf`);
        progress('minimize', it.entry.relPath);
      }, signal, work);
    }
    await results.save();
    checkAbort();

    const { ok, failures } = settle(items);
    const report = s.report ? buildReport(objects.checked!, source.kernels, items, ids, outcomes) : undefined;
    const n = `${items.length} kernel${items.length === 1 ? '' : 's'}`;
    if (failures.length && !s.skipFailed) throw new PackError(`${failures.length} of ${n} failed; nothing was written (--skip-failed packs the others)`, failures, report);
    if (ok.length === 0) throw new PackError(`all ${n} failed; nothing was written`, failures, report);

    progress('write');
    const written = await writePackOutput({
      output: s.output,
      members: ok.map((it) => ({ name: it.name, key: it.outcome.key, load: async () => results.store.read(it.outcome.key) })),
      json,
      format: s.format,
      level: s.gzipLevel,
      env: s.env,
      outputCache: s.useCache ? results.outputCache : undefined,
      ...(signal ? { signal } : {}),
    });
    const result = packResult(s, {
      items, ok, failures, counts: results.counts, written, json: json !== undefined, decompressor,
      objects: { given: objects.given, distinct: objects.distinct.length }, warnings, work, report, started,
    });
    progress('done');
    return result;
  } finally {
    await results.close();
  }
}
