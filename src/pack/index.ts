// pack: every kernel of a btfhub-archive minimized for a set of CO-RE objects, in parallel, into
// one reproducible tar.gz (the output `btfgen btfgen` / btfhub's btfgen.sh produced). The story
// of a run, one stage a module:
//
//   options.ts  normalize + validate the options
//   (here)      read the objects once: validate, drop exact repeats, fingerprint
//   kernels.ts  the kernel source: walk + filters (src/archive), each kernel's BTF
//   results.ts  the result cache: one scan (stat index, then stored results)
//   plan.ts     threads, xz lanes, heavy kernels
//   pool.ts     the minimizing pool (worker.ts: read, hash, decompress, minimize, store)
//   output.ts   the archive writer (sorted tar(.gz) in a temp file, renamed; the output cache)
//
// Failure policy: a kernel that fails is never packed (not even in full). By default any failure
// fails the pack (every failing kernel is listed, nothing is written); with `skipFailed` the
// others are packed and the failures are returned.
import { mkdir, readFile, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { makeDirs } from '../fsutil.js';
import path from 'node:path';
import { BtfgenError, UsageError } from '../errors.js';
import { KERNEL_BTF_MAX } from '../archive/xz.js';
import { kernelKey } from '../archive/index.js';
import { loadInputs } from '../check/verify.js';
import { prepareCheckObject, type CheckObject } from '../check/decide.js';
import { ReportBuilder, type CheckReport } from '../check/report.js';
import type { Env } from '../archive/paths.js';
import { resolveArchivePaths } from '../archive/paths.js';
import { open as openKernelCache } from '../kcache/index.js';
import { resultKeyPrefix } from './cache.js';
import type { Decompressor } from './decompress.js';
import { combineFingerprints, distinctObjects } from './fingerprint.js';
import { estimateKernelSize, openKernelSource } from './kernels.js';
import { removeStaleTemps } from './leftovers.js';
import { prepareObjects, type ObjectBytes } from './minimizer.js';
import { defaultJobs, normalizeOptions, type PackSettings } from './options.js';
import { memberName, sortByName, writePackOutput } from './output.js';
import { HEAVY_BYTES, threadPlan } from './plan.js';
import { AbortError, startPool, type PoolTask, type WorkerPool } from './pool.js';
import { PROTOCOL, type CheckPayload, type ResultMessage, type WorkerInit } from './protocol.js';
import { openResults, type Item } from './results.js';
import { checkUstarName } from './tar-write.js';
import type { KernelEntry } from './kernels.js';
import type { KernelFailure, PackGroup, PackObject, PackOptions, PackProgress, PackResult } from './types.js';

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
  // The worker threads start first: booting one and loading the minimizer overlaps reading the
  // objects and walking the archive. When every kernel comes from the cache they stop unused.
  const jobs = options.jobs ?? defaultJobs();
  let early: WorkerPool | undefined;
  if (Number.isInteger(jobs) && jobs >= 1) {
    try {
      // planned as for an archive of .btf.tar.xz (btfhub's); the pool adds workers if need be
      early = startPool(threadPlan(jobs, true, options.decompressor !== 'lzma').workers);
    } catch {
      early = undefined; // no built worker script: decided (and reported) if a kernel needs one
    }
  }
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
  const warnings: string[] = [];
  if ((await stat(s.output).catch(() => undefined))?.isDirectory()) throw new UsageError(`output ${s.output} is a directory`);

  const objects = loadObjects(options.objects, s.cwd);
  // --report / --verify: every object given (check's report names each), read by the checks
  // here first so that one they cannot use fails the run, not each kernel
  const checked = s.report || s.verify ? objects.all.map((o) => ({ o, c: prepareCheckObject(o.bytes, o.name) })) : undefined;
  const outcomes = new Map<number, CheckPayload>();
  const json = s.json !== undefined ? await readJson(s.json, s.cwd) : undefined;

  const source = await openKernelSource({ archive: s.archive, distros: s.distros, arches: s.arches, decompressor: s.decompressor });
  const items: Item[] = sortByName(source.kernels.map((entry) => ({ entry, name: memberName(s.layout, entry) })));
  const ids = new Map(items.map((it, i) => [it, i]));
  for (const it of items) checkUstarName(it.name);
  const longNames = items.filter((it) => Buffer.byteLength(it.name) > 99).length;
  if (longNames) {
    warnings.push(
      `${longNames} member name(s) are longer than 99 bytes: stored with a ustar prefix, which readers that only look at the 100-byte name field (bcc's btf_helpers.c) do not find`,
    );
  }

  await makeDirs(path.dirname(s.output)); // EROFS, not mkdir -p's ENOENT, on a read-only file system
  await removeStaleTemps(s.output);
  checkAbort();

  const keyPrefix = resultKeyPrefix(objects.fingerprint, s.headerLen, s.engine);
  const results = await openResults(s, keyPrefix);
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
      decompressor = await minimizeAll(s, todo, ids, early, {
        protocol: PROTOCOL,
        objects: objects.distinct,
        headerLen: s.headerLen,
        engine: s.engine,
        decompressor: await source.decompressor(),
        storeRoot: results.store.root,
        storePersistent: results.store.persistent,
        keyPrefix,
        maxMemberSize: KERNEL_BTF_MAX,
        ...(s.kernelCache ? { kernelCache: { ...s.kernelCache, since: Date.now() - (performance.now() - started) } } : {}),
        hooks: s.hooks,
        ...(checked ? { check: { objects: checked.map((x) => x.o), report: s.report, verify: s.verify, load: s.report } } : {}),
      }, (r) => {
        const it = items[r.id]!;
        if (r.check?.outcomes) outcomes.set(r.id, r.check);
        work.readMs += r.ms.read;
        work.decompressMs += r.ms.decompress;
        work.minimizeMs += r.ms.minimize;
        if ((r.status === 'minimized' || r.status === 'cached') && r.kernelCacheHit) work.kernelCacheHits++;
        results.record(it, r);
        if ((r.status === 'minimized' || r.status === 'cached') && r.member !== undefined) warnings.push(`${it.entry.relPath}: member '${r.member}' is not named ${it.entry.release}.btf`);
        progress('minimize', it.entry.relPath);
      }, signal, work);
    }
    await results.save();
    checkAbort();

    const failures: KernelFailure[] = [];
    const ok: (Item & { outcome: { kind: 'ok' } })[] = [];
    for (const it of items) {
      const o = it.outcome!;
      if (o.kind === 'failed') failures.push({ kernel: it.entry.relPath, path: it.entry.path, message: o.message, cached: o.cached });
      else ok.push(it as Item & { outcome: typeof o });
    }
    const report = s.report ? buildReport(checked!, source.kernels, items, ids, outcomes) : undefined;
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

    const result: PackResult = {
      output: s.output,
      size: written.size,
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
      failures,
      groups: groupsOf(ok),
      counts: { total: items.length, packed: ok.length, minimized: results.counts.minimized, cached: results.counts.cached, failed: results.counts.failed },
      json: json !== undefined,
      decompressor,
      engine: s.engine,
      jobs: s.jobs,
      cacheDir: s.useCache ? s.cacheDir : undefined,
      kernelCache: s.kernelCache?.dir,
      outputCached: written.cached,
      objects: { given: objects.given, distinct: objects.distinct.length },
      warnings,
      elapsedMs: 0,
      work,
    };
    if (report) result.report = report;
    result.elapsedMs = performance.now() - started;
    progress('done');
    return result;
  } finally {
    await results.close();
  }
}

/**
 * The objects, read and validated once here (an unusable object fails the pack, not each
 * kernel). A byte-identical copy is the same object (the first occurrence speaks for it, in
 * errors too); exact CO-RE repeats add nothing to the union and are minimized for once.
 */
function loadObjects(given: readonly PackObject[], cwd: string): { given: number; all: ObjectBytes[]; distinct: ObjectBytes[]; fingerprint: string } {
  const all: ObjectBytes[] = given.map((o) => {
    if (typeof o !== 'string') return { name: o.name, bytes: o.bytes };
    try {
      return { name: o, bytes: new Uint8Array(readFileSync(path.resolve(cwd, o))) }; // a few small files: sync
    } catch (err) {
      throw new UsageError(`${o}: cannot read BPF object (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  });
  const unique: ObjectBytes[] = [];
  for (const o of all) if (!unique.some((u) => u.bytes.length === o.bytes.length && Buffer.compare(u.bytes, o.bytes) === 0)) unique.push(o);
  prepareObjects(unique);
  const d = distinctObjects(unique);
  return { given: all.length, all, distinct: d.objects, fingerprint: combineFingerprints(d.fingerprints) };
}

async function readJson(file: string, cwd: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path.resolve(cwd, file)));
  } catch (err) {
    throw new UsageError(`${file}: cannot read JSON file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    JSON.parse(Buffer.from(bytes).toString('utf8').replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new UsageError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return bytes;
}

/**
 * Runs the kernels left after the scan on the pool (the early one, else one started now),
 * biggest first (the slowest kernels must not come last). Returns the decompressor used.
 */
async function minimizeAll(
  s: PackSettings,
  todo: readonly Item[],
  ids: ReadonlyMap<Item, number>,
  early: WorkerPool | undefined,
  init: Omit<WorkerInit, 'lanes'>,
  onResult: (r: ResultMessage) => void,
  signal: AbortSignal | undefined,
  work: { threads: number },
): Promise<Decompressor> {
  // Kernels the kernel cache holds need no xz: when they are most of the work, one minimizing
  // thread per job (no lanes)
  const kcache = init.kernelCache ? openKernelCache(init.kernelCache) : undefined;
  let toDecompress = 0;
  for (const it of todo) {
    if (it.entry.format === 'btf.tar.xz' && !(kcache && it.sha256 && (await kcache.has(it.sha256)))) toDecompress++;
  }
  const plan = threadPlan(s.jobs, toDecompress * 2 >= todo.length, init.decompressor === 'xz');
  // started before the kernels are sized: the threads boot meanwhile
  const pool = early ?? startPool(Math.min(plan.workers, todo.length));
  const tasks: (PoolTask & { size: number })[] = todo.map((it) => {
    const size = estimateKernelSize(it.entry);
    return { id: ids.get(it)!, path: it.entry.path, format: it.entry.format, label: it.entry.relPath, release: it.entry.release, heavy: size >= HEAVY_BYTES, size, ...(it.sha256 ? { sha256: it.sha256 } : {}) };
  });
  tasks.sort((a, b) => b.size - a.size || a.id - b.id);
  try {
    work.threads = await pool.run(tasks, plan.workers, { ...init, lanes: plan.lanes }, onResult, signal, plan.lanes > 1 ? plan.maxWorkers : plan.workers);
  } finally {
    pool.close();
  }
  return init.decompressor;
}

/**
 * `--report`: check's report (kernels in archive order, as `btfgen check` lists them) from the
 * outcomes the workers sent; a kernel without outcomes (its BTF could not be read) is reported
 * with its failure.
 */
function buildReport(
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
