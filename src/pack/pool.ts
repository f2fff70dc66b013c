// A small worker-thread pool for pack: N workers, each holding as many tasks as it says it can
// work on at once (one, or its xz lanes plus one), tasks handed out in the order given (small
// ones first to a fresh worker). A worker that dies fails the kernels it held (they are
// reported, never packed) and is replaced; an init failure fails the whole run.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BtfgenError } from '../errors.js';
import { removeTempsOf } from '../kcache/index.js';
import { cacheTempDir } from './cache.js';
import { removeOwnCacheTemps } from './leftovers.js';
import { CrashTriage } from './triage.js';
import { PROTOCOL, type ResultMessage, type TaskMessage, type WorkerInit, type WorkerMessage } from './protocol.js';

/**
 * The compiled worker script. From dist/pack it sits next to this module; from the CLI bundle
 * (dist/cli-bundle, scripts/bundle-cli.mjs) it is ../pack/worker.js; when this module runs
 * from TypeScript sources (vitest), the built dist/pack/worker.js is used.
 */
export function workerScript(): URL {
  const dir = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(dir, 'worker.js'), path.join(dir, '../pack/worker.js'), path.resolve(dir, '../../dist/pack/worker.js')];
  for (const c of candidates) if (existsSync(c)) return pathToFileURL(c);
  throw new BtfgenError(`pack worker script not found (${candidates[0]}); run 'npm run build'`);
}

export interface PoolTask extends Omit<TaskMessage, 'type'> {
  /** A large kernel (tens of MB decompressed): at most half the workers hold one at a time while light tasks remain. */
  heavy?: boolean;
}

/** Light kernels a worker minimizes before its first heavy one (see take()). */
const WARM_UP = 4;

export class AbortError extends BtfgenError {
  override exitCode = 130;
  constructor(message = 'interrupted') {
    super(message);
  }
}

/** A worker that was started before its tasks were known (startPool). */
interface Early {
  worker: Worker;
  exited: boolean;
}

/**
 * Workers started ahead of their tasks: booting a thread and loading the minimizer
 * overlap the main thread's own set-up (sizing kernels, finding xz). They wait for
 * their init message; run() hands them out. close() ends any that run() did not take.
 */
export class WorkerPool {
  private early: Early[] = [];
  constructor(size: number) {
    const script = workerScript();
    for (let i = 0; i < size; i++) {
      const e: Early = { worker: new Worker(script), exited: false };
      e.worker.once('exit', () => (e.exited = true));
      e.worker.on('error', () => undefined); // seen again (as 'exit') by run(), or dropped
      this.early.push(e);
    }
  }
  /** A started worker that is still alive, if any is left. */
  take(): Worker | undefined {
    for (;;) {
      const e = this.early.shift();
      if (!e) return undefined;
      if (!e.exited) return e.worker;
    }
  }
  close(): void {
    for (const e of this.early.splice(0)) void e.worker.terminate();
  }
  /**
   * Runs every task on `size` workers (growing to `maxSize` when minimizing falls behind the
   * decompressions); `onResult` sees each result as it arrives. Resolves with the number of
   * workers started when all tasks are done; rejects on abort or when a worker cannot start.
   */
  run(tasks: readonly PoolTask[], size: number, init: WorkerInit, onResult: (r: ResultMessage) => void, signal?: AbortSignal, maxSize = size): Promise<number> {
    try {
      return runTasks(this, tasks, size, init, onResult, signal, maxSize);
    } finally {
      // Workers beyond what the tasks need
      this.close();
    }
  }
}

/** Starts `size` workers now, for a run() later. */
export function startPool(size: number): WorkerPool {
  return new WorkerPool(Math.max(1, size));
}

/**
 * Minimizing threads that `cores` cores need when minimizing a kernel costs `minimizeMs` and
 * decompressing it `xzCpuMs` of CPU: the threads must keep up with the decompressions,
 * W >= cores * M / (M + X). At least 1.
 */
export function minimizersNeeded(cores: number, minimizeMs: number, xzCpuMs: number): number {
  const total = minimizeMs + xzCpuMs;
  if (!(total > 0)) return 1;
  return Math.max(1, Math.ceil((cores * minimizeMs) / total - 1e-9));
}

function runTasks(
  pool: WorkerPool,
  tasks: readonly PoolTask[],
  size: number,
  init: WorkerInit,
  onResult: (r: ResultMessage) => void,
  signal?: AbortSignal,
  maxSize = size,
): Promise<number> {
  if (tasks.length === 0) return Promise.resolve(0);
  const script = workerScript();
  const n = Math.max(1, Math.min(size, tasks.length));
  // Two queues in the given order. A free worker takes a heavy task only while fewer than half
  // the jobs hold one, unless nothing light is left: peak memory is then about one heavy
  // kernel per two jobs, not one per job, with no loss of parallelism.
  const heavyQ = tasks.filter((t) => t.heavy);
  const lightQ = tasks.filter((t) => !t.heavy);
  // Workers with decompression lanes stand for several jobs each: one lane per job (plan.ts).
  const maxHeavy = Math.max(1, Math.floor(init.lanes > 1 ? (n * init.lanes) / 2 : n / 2));
  let heavyInFlight = 0;
  const handedTo = new Map<Worker, number>();
  const take = (w: Worker): PoolTask | undefined => {
    // A worker's first kernels run on cold code (interpreted until V8 tiers it up): a heavy
    // kernel minimized first costs several times what it costs warm. So each worker warms up on
    // a few light kernels before it takes a heavy one.
    const k = handedTo.get(w) ?? 0;
    handedTo.set(w, k + 1);
    if (k < WARM_UP) {
      const light = lightQ.shift();
      if (light) return light;
    }
    if (heavyQ.length && (heavyInFlight < maxHeavy || lightQ.length === 0)) return heavyQ.shift();
    return lightQ.shift() ?? heavyQ.shift();
  };
  let started = 0;
  return new Promise<number>((resolve, reject) => {
    let handed = 0;
    let done = 0;
    let settled = false;
    let respawns = 0;
    const live = new Set<Worker>();
    // Tasks each worker holds, by id; and how many it may hold (from its ready message).
    const current = new Map<Worker, Map<number, PoolTask>>();
    const limit = new Map<Worker, number>();
    const triage = new CrashTriage<PoolTask, Worker>();
    let sumMinimize = 0;
    let sumXz = 0;
    let samples = 0;

    const finish = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (!err) {
        for (const w of live) w.postMessage({ type: 'close' });
        return resolve(started);
      }
      // Stopped threads leave the kernel cache entries and results they were writing: removed once they are gone
      const stopped = Promise.all([...live].map((w) => w.terminate().catch(() => undefined)));
      void stopped
        .then(() => Promise.all([init.kernelCache ? removeTempsOf(init.kernelCache.dir) : undefined, removeOwnCacheTemps(cacheTempDir(init.storeRoot))]))
        .catch(() => undefined)
        .finally(() => reject(err));
    };
    const onAbort = (): void => finish(new AbortError());
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    const release = (w: Worker, id: number): void => {
      const held = current.get(w);
      const t = held?.get(id);
      if (!t) return;
      if (t.heavy) heavyInFlight--;
      held!.delete(id);
    };
    const hand = (w: Worker, held: Map<number, PoolTask>, t: PoolTask): void => {
      handed++;
      if (t.heavy) heavyInFlight++;
      held.set(t.id, t);
      const msg: TaskMessage = { type: 'task', id: t.id, path: t.path, format: t.format, label: t.label, release: t.release };
      if (t.sha256 !== undefined) msg.sha256 = t.sha256;
      w.postMessage(msg);
    };
    const feed = (w: Worker): void => {
      if (settled || triage.busy(w)) return;
      const held = current.get(w)!;
      if (held.size === 0) {
        const suspect = triage.nextFor(w);
        if (suspect) return hand(w, held, suspect);
      }
      while (held.size < (limit.get(w) ?? 1)) {
        const t = take(w);
        if (!t) return;
        hand(w, held, t);
      }
    };

    const spawn = (): void => {
      const w = pool.take() ?? new Worker(script);
      started++;
      live.add(w);
      current.set(w, new Map());
      w.postMessage({ type: 'init', init });
      let exited = false;
      const died = (why: string): void => {
        if (exited) return;
        exited = true;
        live.delete(w);
        if (settled) return;
        const held = [...(current.get(w)?.values() ?? [])];
        for (const t of held) release(w, t.id);
        const fail = triage.died(w, held);
        handed -= held.length - fail.length; // the suspects are handed out again
        for (const t of fail) {
          onResult({
            type: 'result',
            id: t.id,
            status: 'failed',
            message: `worker crashed: ${why}`,
            cached: false,
            ms: { read: 0, decompress: 0, minimize: 0 },
          });
          done++;
        }
        current.delete(w);
        if (done === tasks.length) return finish();
        for (const other of live) if (current.get(other)?.size === 0) feed(other);
        if (handed < tasks.length && respawns++ < tasks.length) spawn();
        else if (live.size === 0) finish(new BtfgenError(`pack workers crashed: ${why}`));
      };
      w.on('message', (msg: WorkerMessage) => {
        if (settled) return;
        if (msg.type === 'fatal') return finish(new BtfgenError(msg.message));
        if (msg.type === 'ready') {
          if (msg.protocol !== PROTOCOL) return finish(new BtfgenError('pack worker protocol mismatch (stale build?)'));
          // One task more than its lanes, so that a lane never waits for this thread's reply.
          limit.set(w, msg.capacity > 1 ? msg.capacity + 1 : 1);
          return feed(w);
        }
        release(w, msg.id);
        triage.answered(w);
        done++;
        onResult(msg);
        if (msg.status === 'minimized' || msg.status === 'checked') {
          // `check`'s analysis stands for minimizing: the thread's own work beside its lanes
          sumMinimize += msg.ms.minimize + (msg.ms.check ?? 0);
          sumXz += msg.ms.decompress;
          samples++;
          // Workers with lanes (one thread per several jobs) can fall behind when the objects
          // make minimizing dear: add threads, up to maxSize, while the measured share of
          // minimizing says they are needed. A lane's xz shares the cores with the other lanes,
          // so its wall time overstates its CPU time by lanes/cores.
          if (live.size < maxSize && handed < tasks.length && samples >= 8) {
            const lanes = Math.max(1, live.size * init.lanes);
            const xzCpu = sumXz * Math.min(1, maxSize / lanes);
            if (minimizersNeeded(maxSize, sumMinimize, xzCpu) > live.size) spawn();
          }
        }
        if (done === tasks.length) return finish();
        feed(w);
      });
      w.on('error', (err) => died(err instanceof Error ? err.message : String(err)));
      w.on('exit', (code) => died(`exited with code ${code}`));
    };
    for (let i = 0; i < n; i++) spawn();
  });
}
