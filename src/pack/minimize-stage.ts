// The minimizing stage: the pool started early, what every worker is told (WorkerInit), and the
// kernels the result cache could not answer, sized and run on the pool (pool.ts, worker.ts) with
// the thread plan (plan.ts).
import { KERNEL_BTF_MAX } from '../archive/xz.js';
import { open as openKernelCache } from '../kcache/index.js';
import type { ResultStore } from './cache.js';
import type { Decompressor, DecompressorChoice } from './decompress.js';
import { estimateKernelSize } from './kernels.js';
import type { ObjectBytes } from './minimizer.js';
import type { PackSettings } from './options.js';
import { HEAVY_BYTES, threadPlan } from './plan.js';
import { startPool, type PoolTask, type WorkerPool } from './pool.js';
import { PROTOCOL, type ResultMessage, type WorkerInit } from './protocol.js';
import type { Item } from './results.js';

/**
 * The worker threads, started first: booting one and loading the minimizer overlaps reading the
 * objects and walking the archive (when every kernel comes from the cache they stop unused).
 * Undefined for jobs pack will refuse, or without a built worker script (decided, and reported,
 * if a kernel needs one).
 */
export function startEarlyPool(jobs: number, decompressor: DecompressorChoice | undefined): WorkerPool | undefined {
  if (!Number.isInteger(jobs) || jobs < 1) return undefined;
  try {
    // planned as for an archive of .btf.tar.xz (btfhub's); the pool adds workers if need be
    return startPool(threadPlan(jobs, true, decompressor !== 'lzma').workers);
  } catch {
    return undefined;
  }
}

/** What every worker is told: the objects, the result store and key, the caches and checks. */
export function workerInit(
  s: PackSettings,
  o: {
    objects: ObjectBytes[];
    /** --report / --verify: every object given. */
    checkObjects: ObjectBytes[] | undefined;
    store: ResultStore;
    keyPrefix: string;
    decompressor: Decompressor;
    started: number;
  },
): Omit<WorkerInit, 'lanes' | 'laneDepth'> {
  return {
    protocol: PROTOCOL,
    objects: o.objects,
    headerLen: s.headerLen,
    engine: s.engine,
    decompressor: o.decompressor,
    storeRoot: o.store.root,
    storePersistent: o.store.persistent,
    keyPrefix: o.keyPrefix,
    maxMemberSize: KERNEL_BTF_MAX,
    ...(s.kernelCache ? { kernelCache: { ...s.kernelCache, since: Date.now() - (performance.now() - o.started) } } : {}),
    hooks: s.hooks,
    ...(o.checkObjects ? { check: { objects: o.checkObjects, report: s.report, verify: s.verify, load: s.report } } : {}),
  };
}

/**
 * Runs the kernels left after the scan on the pool (the early one, else one started now),
 * biggest first (the slowest kernels must not come last). Returns the decompressor used.
 */
export async function minimizeAll(
  s: PackSettings,
  todo: readonly Item[],
  ids: ReadonlyMap<Item, number>,
  early: WorkerPool | undefined,
  init: Omit<WorkerInit, 'lanes' | 'laneDepth'>,
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
    work.threads = await pool.run(tasks, plan.workers, { ...init, lanes: plan.lanes, laneDepth: plan.depth }, onResult, signal, plan.lanes > 1 ? plan.maxWorkers : plan.workers);
  } finally {
    pool.close();
  }
  return init.decompressor;
}
