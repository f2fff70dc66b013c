// A pack worker thread: parses the objects once, then for each kernel it is given reads the
// file, hashes it, answers from the result cache when it can, else takes the kernel's BTF from
// the kernel cache or decompresses it (a lane's xz into a scratch file, or in memory; the tar is
// then kept in the kernel cache, written while the kernel is minimized), minimizes and stores
// the result.
//
// xz runs in lanes (XzLane: `xz` into a private tmpfs scratch file). With several
// (init.lanes > 1), one thread keeps several `xz` running
// while it minimizes what is already out: on btfhub kernels xz is most of the CPU work, so one
// minimizing thread keeps two or more xz busy, and one thread instead of one per core pays V8's
// cold start (module loading, interpreted code before it is optimized) once. Each lane holds
// init.laneDepth kernels queued, so its xz runs on while the thread is busy. Otherwise one
// kernel at a time, through one lane where it opens.
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { BtfgenError } from '../errors.js';
import { open as openKernelCache, type KernelCache } from '../kcache/index.js';
import { ResultStore, resultKey } from './cache.js';
import { reusableBuffer, XzLane, type XzTar } from './decompress.js';
import { cachedKernel, decodeKernel, keepKernel, kernelFromTar, type KernelBtf, type KernelEntry } from './kernels.js';
import type { KernelMinimizer, ObjectParses } from './minimizer.js';
import { PROTOCOL, type CheckPayload, type ResultMessage, type TaskMessage, type WorkerInit, type WorkerMessage } from './protocol.js';

const port = parentPort!;
// Set by the init message: the pool starts workers before it knows their work (pool.ts).
let init: WorkerInit;
let store: ResultStore;
/** Decompressed kernels between runs (init.kernelCache), or undefined when off. */
let kcache: KernelCache | undefined;
/**
 * The last kernel being stored in the kernel cache: its BTF is a view of the thread's reusable
 * buffer, written as is, so the next kernel waits for it before taking the buffer (the write
 * runs while the kernel is minimized).
 */
let keeping: Promise<void> = Promise.resolve();
// Made at the first kernel that needs it (its xz is running meanwhile): the minimizer's
// modules and the objects' parsing stay off the path to the first decompressions.
let minimizer: Promise<KernelMinimizer> | undefined;
function getMinimizer(): Promise<KernelMinimizer> {
  minimizer ??= import('./minimizer.js').then(async (m) => m.createMinimizer(init.objects, { headerLen: init.headerLen, engine: init.engine }, await getParses()));
  return minimizer;
}

// Each object parsed once in this thread: the minimizer and the checks share the parse.
let parses: Promise<ObjectParses> | undefined;
function getParses(): Promise<ObjectParses> {
  parses ??= import('./minimizer.js').then((m) => new m.ObjectParses());
  return parses;
}

// The CO-RE checks' objects and modules (src/check), loaded at the first kernel that needs them.
type CheckModules = {
  objects: import('../check/decide.js').CheckObject[];
  checkKernel: typeof import('../check/verify.js').checkKernel;
  compareKernelDecisions: typeof import('../check/verify.js').compareKernelDecisions;
  /** With CheckInit.load: what checkKernel's load checks need of the objects (read once). */
  load?: import('../check/verify.js').LoadInputs['load'];
  prepareTarget: typeof import('../minimize/index.js').prepareTarget;
  /**
   * Root keys of the checked objects, and of the minimized ones in a pack (--report, --verify:
   * the minimizer reuses the checks' parse of the kernel).
   */
  roots: ReadonlySet<string>;
};
let checker: Promise<CheckModules> | undefined;
function getChecker(): Promise<CheckModules> {
  checker ??= (async () => {
    const [decide, verify, minimize, shared] = await Promise.all([
      import('../check/decide.js'),
      import('../check/verify.js'),
      import('../minimize/index.js'),
      getParses(),
    ]);
    const inputs = init.check?.objects ?? [];
    const objects = inputs.map((o) => decide.prepareCheckObject(o.bytes, o.name, shared.parse(o)));
    const load = init.check?.load ? verify.loadInputs(objects, inputs).load : undefined;
    const minimized = init.mode === 'check' ? [] : init.objects.map((o) => shared.parse(o));
    const roots = minimize.rootKeys([...objects.map((o) => o.prepared), ...minimized]);
    return { objects, checkKernel: verify.checkKernel, compareKernelDecisions: verify.compareKernelDecisions, prepareTarget: minimize.prepareTarget, roots, ...(load ? { load } : {}) };
  })();
  return checker;
}

/** A kernel's full BTF, prepared once for the report and the verification. */
interface FullKernel {
  c: CheckModules;
  target: import('../minimize/index.js').PreparedTarget;
  decisions?: (readonly (import('../check/decide.js').Decision | undefined)[])[];
}

/**
 * The per-kernel check step (`btfgen check`, `pack --report`): the outcome of every object on
 * the kernel's full BTF, as check's ReportBuilder takes it. Throws BtfgenError for a BTF the
 * checks cannot read.
 */
async function checkStep(btf: Uint8Array, label: string): Promise<{ full: FullKernel; payload: CheckPayload }> {
  const c = await getChecker();
  const target = c.prepareTarget(btf, { name: label, roots: c.roots }); // their candidates found in the parse
  const full: FullKernel = { c, target };
  if (!init.check?.report) return { full, payload: {} };
  const kc = c.checkKernel(c.objects, target, { report: true, ...(c.load ? { load: c.load } : {}) });
  const outcomes = kc.outcomes!;
  full.decisions = outcomes.map((x) => x.decisions);
  return { full, payload: { outcomes, ...(kc.load ? { load: kc.load } : {}) } };
}

/**
 * The verify step (`pack --verify`): every relocation's decision on the minimized BTF against
 * the full BTF's (verdict and value, as libbpf's bpf_core_calc_relo_insn() computes them);
 * undefined when all agree, else the error message naming the relocations.
 */
function verifyStep(full: FullKernel, minimized: Uint8Array, label: string): string | undefined {
  const { c } = full;
  let min: import('../minimize/index.js').PreparedTarget;
  try {
    min = c.prepareTarget(minimized, { name: `${label} (minimized)` });
  } catch (err) {
    return `verify: the minimized BTF cannot be read: ${messageOf(err)}`;
  }
  const diffs = c.compareKernelDecisions(c.objects, full.target, min, full.decisions ? { fullDecisions: full.decisions } : {});
  if (diffs.length === 0) return undefined;
  const shown = diffs.slice(0, 3).map((d) => d.message);
  const more = diffs.length > shown.length ? `; and ${diffs.length - shown.length} more` : '';
  return `verify: the minimized BTF changes ${diffs.length} CO-RE decision${diffs.length === 1 ? '' : 's'}: ${shown.join('; ')}${more}`;
}

/** The damageMinimized test hook: the BTF with its type section emptied (every type gone). */
function damageBtf(btf: Uint8Array): Uint8Array {
  const dv = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  const hdrLen = dv.getUint32(4, true);
  const strOff = dv.getUint32(16, true);
  const strLen = dv.getUint32(20, true);
  const out = new Uint8Array(hdrLen + strLen);
  out.set(btf.subarray(0, hdrLen));
  out.set(btf.subarray(hdrLen + strOff, hdrLen + strOff + strLen), hdrLen);
  const ov = new DataView(out.buffer);
  ov.setUint32(8, 0, true); // type_off
  ov.setUint32(12, 0, true); // type_len
  ov.setUint32(16, 0, true); // str_off
  return out;
}

function post(msg: WorkerMessage): void {
  port.postMessage(msg);
}

/**
 * Posts a result; when the thread has nothing else to do (its last result of the run, as far
 * as it knows), first waits for the kernel cache's stores: a pack that returned has filled the
 * cache. Otherwise the stores go on while the next kernels are minimized.
 */
async function postResult(msg: ResultMessage, idle: boolean): Promise<void> {
  if (idle) await kcache?.flush();
  post(msg);
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

type Timings = ResultMessage['ms'];

/** A kernel past its cache lookup, waiting to be minimized. */
interface Job {
  t: TaskMessage;
  ms: Timings;
  /**
   * Open until the kernel is done: `xz` reads it from there. Absent when the kernel cache
   * holds the kernel and its sha256 came with the task.
   */
  file?: FileHandle;
  /**
   * The file's bytes, when they were read: to hash them (no sha256 came with the task), or for
   * a raw `.btf` kernel. Empty otherwise: xz reads the file itself, and the streaming path
   * reads it when it is taken (fileBytes()).
   */
  bytes: Uint8Array;
  sha256: string;
  key: string;
  hashedAt: number;
  /** A result cache hit kept because the checks still need the kernel (--report, --verify). */
  hit?: { status: 'ok'; size: number } | { status: 'failed'; message: string };
  /** The lane that decompressed it, and its tar there (undefined: that failed; see finish()). */
  lane?: XzLane;
  tar?: XzTar;
  /** The kernel cache holds the kernel: no lane decompresses it, finish() reads the entry. */
  inCache?: boolean;
}

/**
 * Identifies the kernel (the sha256 of its file: from the task when the result cache's stat
 * index knows it, else read and hashed here) and looks the result up in the cache: a result
 * message when that settles it, else the job. A `.btf.tar.xz` kernel whose sha256 came with
 * the task is not read here: xz reads it (the file is only opened), or the kernel cache
 * answers for it (not even opened).
 */
async function start(t: TaskMessage): Promise<ResultMessage | Job> {
  const ms: Timings = { startedAt: performance.timeOrigin + performance.now(), read: 0, decompress: 0, minimize: 0 };
  const t0 = performance.now();
  let job: Job;
  if (t.sha256 !== undefined && (await inKernelCache(t, t.sha256))) {
    job = { t, ms, bytes: new Uint8Array(0), sha256: t.sha256, key: '', hashedAt: Date.now(), inCache: true };
  } else if (t.sha256 !== undefined && t.format === 'btf.tar.xz') {
    let file: FileHandle;
    try {
      file = await open(t.path, 'r');
    } catch (err) {
      return { type: 'result', id: t.id, status: 'failed', message: `cannot read: ${messageOf(err)}`, cached: false, ms };
    }
    job = { t, ms, file, bytes: new Uint8Array(0), sha256: t.sha256, key: '', hashedAt: Date.now() };
  } else {
    const read = await readKernelFile(t);
    if (!('bytes' in read)) return { type: 'result', id: t.id, status: 'failed', message: read.failed, cached: false, ms };
    job = { t, ms, ...read, key: '' };
    job.inCache = await inKernelCache(t, job.sha256);
  }
  ms.read = performance.now() - t0;
  if (init.mode === 'check') return job; // no result store
  job.key = resultKey(init.keyPrefix, job.sha256);
  const hit = store.lookup(job.key);
  // pack --report / --verify: a cached kernel is still read and checked (its stored result verified)
  if (hit && init.check) return { ...job, hit };
  if (!hit) return job;
  await job.file?.close().catch(() => undefined);
  const { sha256, key, hashedAt } = job;
  if (hit.status === 'ok') return { type: 'result', id: t.id, status: 'cached', sha256, key, size: hit.size, hashedAt, ms };
  return { type: 'result', id: t.id, status: 'failed', sha256, key, hashedAt, message: hit.message, cached: true, ms };
}

/** The kernel file, open (for xz) and read, with its sha256; or why it cannot be read. */
async function readKernelFile(t: TaskMessage): Promise<{ file: FileHandle; bytes: Uint8Array; sha256: string; hashedAt: number } | { failed: string }> {
  let file: FileHandle | undefined;
  try {
    file = await open(t.path, 'r');
    const bytes = await readAll(file);
    const hashedAt = Date.now();
    return { file, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), hashedAt };
  } catch (err) {
    await file?.close().catch(() => undefined);
    return { failed: `cannot read: ${messageOf(err)}` };
  }
}

/** Whether the kernel cache holds this kernel (then no xz lane decompresses it; finish() reads the entry). */
async function inKernelCache(t: TaskMessage, sha256: string): Promise<boolean> {
  return kcache !== undefined && t.format === 'btf.tar.xz' && (await kcache.has(sha256));
}

/**
 * The kernel cache stage (src/pack/kernels.ts): the entry read into the thread's reusable buffer
 * (one kernel at a time is minimized, as with a lane's tar), or undefined when it turned out
 * damaged or gone (then decompressed as a miss).
 */
async function fromKernelCache(job: Job, kernel: Pick<KernelEntry, 'format' | 'relPath' | 'release'>): Promise<KernelBtf | undefined> {
  const t0 = performance.now();
  const k = await cachedKernel(kcache, job.sha256, kernel, { alloc: reusableBuffer, maxMemberSize: init.maxMemberSize });
  job.ms.read += performance.now() - t0;
  return k;
}

/** The whole file, read with positioned reads (the descriptor's offset stays at 0 for xz). */
async function readAll(file: FileHandle): Promise<Uint8Array> {
  const { size } = await file.stat();
  let buf = new Uint8Array(size + 1); // the spare byte lets the read that sees EOF fit
  let n = 0;
  for (;;) {
    if (n === buf.length) {
      const bigger = new Uint8Array(Math.max(buf.length * 2, 1 << 16));
      bigger.set(buf);
      buf = bigger;
    }
    const { bytesRead } = await file.read(buf, n, buf.length - n, n);
    if (bytesRead === 0) break;
    n += bytesRead;
  }
  return n === buf.length ? buf : buf.subarray(0, n);
}

/** Decompresses (unless a lane did), minimizes and stores one job. */
async function finish(job: Job, beforeMinimize?: () => void): Promise<ResultMessage> {
  const { t, ms, sha256, key, hashedAt } = job;
  const hooks = init.hooks;
  let payload: CheckPayload | undefined;
  let checkError: string | undefined;
  if (hooks.exitOn && t.label.includes(hooks.exitOn)) process.exit(70);
  try {
    const kernel = { format: t.format, relPath: t.label, release: t.release };
    await keeping;
    const cached = job.inCache ? await fromKernelCache(job, kernel) : undefined;
    if (!cached && !job.file) await readAfterAll(job);
    let t0 = performance.now();
    let k: KernelBtf;
    if (cached) {
      k = cached;
    } else if (t.format === 'btf.tar.xz') {
      let tar: Uint8Array | undefined;
      if (job.lane && job.tar) {
        // one tar at a time is minimized: the thread's reusable buffer holds it
        const out = job.tar;
        job.tar = undefined;
        tar = job.lane.take(out, reusableBuffer(out.size));
      }
      beforeMinimize?.(); // the lane is free: its next xz runs while this kernel is minimized
      // No lane, or it failed: the streaming path (which also words any error).
      k = tar ? kernelFromTar(tar, kernel, init.maxMemberSize) : await decodeKernel(await fileBytes(job), kernel, init.decompressor, { maxMemberSize: init.maxMemberSize });
      ms.decompress += performance.now() - t0;
      // written from the reusable buffer while this kernel is minimized: the next finish() awaits it
      keeping = keepKernel(kcache, sha256, t, k);
    } else {
      beforeMinimize?.();
      k = await decodeKernel(job.bytes, kernel, init.decompressor);
    }
    const btf = k.btf;
    const member = k.oddMember;
    job.bytes = new Uint8Array(0); // let the compressed copy go before minimizing
    if (init.mode === 'check') return await checkOnly(t.id, btf, t.label, ms);
    let full: FullKernel | undefined;
    if (init.check) {
      t0 = performance.now();
      try {
        ({ full, payload } = await checkStep(btf, t.label));
      } catch (err) {
        if (!(err instanceof BtfgenError)) throw err;
        // The kernel's BTF is unreadable for the checks: the minimizer says why (below) or
        // packs it, in which case the verification cannot vouch for it.
        checkError = messageOf(err);
      }
      ms.check = performance.now() - t0;
    }
    if (job.hit?.status === 'failed') {
      return withCheck({ type: 'result', id: t.id, status: 'failed', sha256, key, hashedAt, message: job.hit.message, cached: true, ms }, payload);
    }
    t0 = performance.now();
    let out: Uint8Array;
    if (job.hit) out = store.read(key);
    else {
      let m: KernelMinimizer;
      try {
        m = await getMinimizer();
      } catch (err) {
        // objects the minimizer cannot use: every kernel would fail alike (pack checks them first)
        post({ type: 'fatal', message: messageOf(err) });
        throw err;
      }
      out = await m.run(btf, t.label, full?.target); // the checks' parse of the full BTF, reused
      // held, not awaited: minimizing holds the thread (its event loop too) for its whole length
      if (hooks.minimizeDelayMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, hooks.minimizeDelayMs);
      ms.minimize = performance.now() - t0;
    }
    if (hooks.damageMinimized && t.label.includes(hooks.damageMinimized)) out = damageBtf(out);
    if (init.check?.verify) {
      t0 = performance.now();
      const wrong = full ? verifyStep(full, out, t.label) : `verify: ${checkError ?? 'the full BTF could not be read'}`;
      ms.check = (ms.check ?? 0) + performance.now() - t0;
      // A wrong result is neither packed nor stored, and no failure is remembered: it is a
      // defect of the minimizer, not a property of the inputs.
      if (wrong) return withCheck({ type: 'result', id: t.id, status: 'failed', sha256, key, hashedAt, message: wrong, cached: false, ms }, payload);
    }
    if (!job.hit) await store.write(key, out);
    const res: ResultMessage = { type: 'result', id: t.id, status: job.hit ? 'cached' : 'minimized', sha256, key, size: out.length, hashedAt, ms };
    if (member !== undefined) res.member = member;
    if (k.cached) res.kernelCacheHit = true;
    return withCheck(res, payload);
  } catch (err) {
    const message = messageOf(err);
    // Only failures that depend on the inputs alone are remembered; I/O trouble is retried.
    if (err instanceof BtfgenError && init.mode !== 'check') await store.writeFailure(key, message).catch(() => undefined);
    if (init.mode === 'check') return { type: 'result', id: t.id, status: 'failed', message, cached: false, ms };
    return withCheck({ type: 'result', id: t.id, status: 'failed', sha256, key, hashedAt, message, cached: false, ms }, payload);
  } finally {
    if (job.tar) job.lane!.drop(job.tar); // never taken: the kernel failed before
    await job.file?.close().catch(() => undefined);
  }
}

/** The kernel file's bytes: those read by start(), else read now from the open file. */
async function fileBytes(job: Job): Promise<Uint8Array> {
  if (job.bytes.length === 0 && job.file) job.bytes = await readAll(job.file);
  return job.bytes;
}

/**
 * A kernel the kernel cache was to answer without its file being read, whose entry turned out
 * damaged or gone: read (and hashed again) now, to be decompressed.
 */
async function readAfterAll(job: Job): Promise<void> {
  const read = await readKernelFile(job.t);
  if (!('bytes' in read)) throw new Error(read.failed);
  Object.assign(job, read);
  if (init.mode !== 'check') job.key = resultKey(init.keyPrefix, job.sha256);
}

function withCheck<R extends ResultMessage>(r: R, payload: CheckPayload | undefined): R {
  if (payload && r.status !== 'checked') r.check = payload;
  return r;
}

/** mode `check`: the report step only. */
async function checkOnly(id: number, btf: Uint8Array, label: string, ms: Timings): Promise<ResultMessage> {
  const t0 = performance.now();
  try {
    const { payload } = await checkStep(btf, label);
    return { type: 'result', id, status: 'checked', check: payload, ms };
  } catch (err) {
    if (!(err instanceof BtfgenError)) throw err;
    return { type: 'result', id, status: 'failed', message: messageOf(err), cached: false, ms };
  } finally {
    ms.check = performance.now() - t0;
  }
}

/** A kernel to decompress (not in the kernel cache, and the file open for xz to read). */
function needsXz(job: Job): boolean {
  return job.t.format === 'btf.tar.xz' && !job.inCache && job.file !== undefined;
}

/**
 * Runs a job's xz in `lane` (into one of its scratch files). finish() takes the tar, or takes
 * the streaming path when this failed.
 */
async function decompressIn(lane: XzLane, job: Job): Promise<void> {
  const t0 = performance.now();
  job.lane = lane;
  const tar = lane.alive ? await lane.decompress(job.file!.fd, init.maxMemberSize) : undefined;
  if (tar) job.tar = tar;
  job.ms.decompress = performance.now() - t0;
}

/**
 * The pipeline: tasks wait for room in a lane; a lane's xz runs while earlier kernels are
 * minimized, and its next one starts as soon as it ends (XzLane queues them); decompressed
 * kernels are minimized one at a time in the order they came out.
 */
class Pipeline {
  private readonly waiting: TaskMessage[] = [];
  private readonly ready: Job[] = [];
  private draining = false;
  /** Per lane, its slots taken (a kernel being read or decompressed, or decompressed and not yet taken). */
  private readonly taken = new Map<XzLane, number>();

  /** `lanes`: this pipeline's own, closed by close(). */
  constructor(lanes: XzLane[]) {
    for (const l of lanes) this.taken.set(l, 0);
  }

  /** Kernels it works on at once: every slot of every lane. */
  get capacity(): number {
    let n = 0;
    for (const l of this.taken.keys()) n += l.depth;
    return n;
  }

  close(): void {
    for (const l of this.taken.keys()) l.close();
    this.taken.clear();
  }

  add(t: TaskMessage): void {
    this.waiting.push(t);
    this.pump();
  }

  private pump(): void {
    for (let lane = this.leastTaken(); this.waiting.length && lane; lane = this.leastTaken()) {
      this.taken.set(lane, this.taken.get(lane)! + 1);
      void this.decompress(this.waiting.shift()!, lane);
    }
  }

  /**
   * A lane with a free slot: an idle lane gets a kernel before one is queued behind another; a
   * dead lane (its kernels take the streaming path) only when no live one has room, so that it
   * empties and is replaced.
   */
  private leastTaken(): XzLane | undefined {
    let best: XzLane | undefined;
    const rank = (l: XzLane): number => this.taken.get(l)! + (l.alive ? 0 : l.depth);
    for (const [l, n] of this.taken) if (n < l.depth && (!best || rank(l) < rank(best))) best = l;
    return best;
  }

  private async decompress(t: TaskMessage, lane: XzLane): Promise<void> {
    const r = await start(t);
    if (!('t' in r)) {
      this.release(lane);
      await postResult(r, this.idle());
      return;
    }
    if (needsXz(r)) await decompressIn(lane, r);
    else this.release(lane);
    this.ready.push(r);
    void this.drain();
  }

  /** No kernel waiting, being read or decompressed, or ready to minimize. */
  private idle(): boolean {
    if (this.waiting.length || this.ready.length) return false;
    for (const n of this.taken.values()) if (n > 0) return false;
    return true;
  }

  /** A slot of `lane` is free again; a dead lane is replaced once nothing uses it. */
  private release(lane: XzLane): void {
    const n = this.taken.get(lane)! - 1;
    this.taken.set(lane, n);
    if (n === 0 && !lane.alive) {
      const live = XzLane.renew(lane);
      this.taken.delete(lane);
      this.taken.set(live, 0);
    }
    this.pump();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.ready.length) {
        const job = this.ready.shift()!;
        const lane = job.lane;
        let freed = !lane;
        const free = (): void => {
          if (!freed) this.release(lane!);
          freed = true;
        };
        let res: ResultMessage;
        try {
          res = await finish(job, free);
        } finally {
          free();
        }
        await postResult(res, this.idle());
      }
    } finally {
      this.draining = false;
    }
  }
}

/** One kernel at a time, decompressed in one lane (`lane`; none: the streaming path). */
class Sequential {
  private readonly queue: TaskMessage[] = [];
  private busy = false;
  constructor(private lane: XzLane | undefined) {}
  close(): void {
    this.lane?.close();
    this.lane = undefined;
  }
  add(t: TaskMessage): void {
    this.queue.push(t);
    void this.run();
  }
  private async run(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    while (this.queue.length) {
      const r = await start(this.queue.shift()!);
      if ('t' in r && this.lane && needsXz(r)) await decompressIn((this.lane = XzLane.renew(this.lane)), r);
      const res = 't' in r ? await finish(r) : r;
      await postResult(res, !this.queue.length);
    }
    this.busy = false;
  }
}

/** Set once by main(); closed at the close message or at exit. */
let runner: Pipeline | Sequential | undefined;

function closeAll(): void {
  runner?.close();
}

/** Up to `n` lanes of `depth` slots (fewer where they do not open). */
function openLanes(n: number, depth: number): XzLane[] {
  const lanes: XzLane[] = [];
  for (let i = 0; i < n; i++) {
    const l = XzLane.open(depth);
    if (!l) break;
    lanes.push(l);
  }
  return lanes;
}

async function main(): Promise<void> {
  init = await new Promise<WorkerInit>((resolve) => {
    const first = (msg: { type: string; init?: WorkerInit }): void => {
      if (msg.type !== 'init' || !msg.init) return;
      port.off('message', first);
      resolve(msg.init);
    };
    port.on('message', first);
  });
  if (init.protocol !== PROTOCOL) {
    post({ type: 'fatal', message: `pack worker protocol ${PROTOCOL} does not match the caller's ${init.protocol} (stale build?)` });
    return;
  }
  store = new ResultStore(init.storeRoot, init.storePersistent, init.objects.map((o) => o.name));
  if (init.kernelCache) kcache = openKernelCache(init.kernelCache);
  // With one lane, the pipeline would gain nothing over one kernel at a time.
  const lanes = init.decompressor === 'xz' ? openLanes(Math.max(1, init.lanes), Math.max(1, init.laneDepth)) : [];
  const r = lanes.length >= 2 ? new Pipeline(lanes) : new Sequential(lanes[0]);
  runner = r;
  port.on('message', (msg: TaskMessage | { type: 'close' }) => {
    if (msg.type === 'close') {
      closeAll();
      void (minimizer ?? Promise.resolve(undefined))
        .then((m) => m?.close())
        .then(() => kcache?.flush())
        .catch(() => undefined)
        .finally(() => port.close());
      return;
    }
    r.add(msg);
  });
  post({ type: 'ready', protocol: PROTOCOL, capacity: r instanceof Pipeline ? r.capacity : 1 });
}

// Also when the thread is ended otherwise (terminate(): an abort): its descriptors would stay.
process.on('exit', closeAll);
void main();
