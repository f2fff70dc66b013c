// A pack worker thread: parses the objects once, then for each kernel it is given reads the
// file, hashes it, answers from the result cache when it can, else decompresses (in memory),
// minimizes and stores the result. One kernel at a time per worker, so at most `--jobs`
// decompressed kernels exist at once.
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { BtfgenError } from '../errors.js';
import { ResultStore, resultKey } from './cache.js';
import { closeXzPipes, extractKernelBtf, prepareXzPipes } from './decompress.js';
import { createMinimizer, type KernelMinimizer } from './minimizer.js';
import { PROTOCOL, type ResultMessage, type TaskMessage, type WorkerInit, type WorkerMessage } from './protocol.js';

const port = parentPort!;
// Set by the init message: the pool starts workers before it knows their work (pool.ts).
let init: WorkerInit;
let store: ResultStore;

function post(msg: WorkerMessage): void {
  port.postMessage(msg);
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

async function runTask(m: KernelMinimizer, t: TaskMessage): Promise<ResultMessage> {
  const ms = { startedAt: performance.timeOrigin + performance.now(), read: 0, decompress: 0, minimize: 0 };
  let t0 = performance.now();
  let bytes: Uint8Array;
  // The file stays open until the kernel is done: `xz` reads the very bytes hashed from it.
  let file: FileHandle | undefined;
  try {
    file = await open(t.path, 'r');
    bytes = await readAll(file);
  } catch (err) {
    await file?.close().catch(() => undefined);
    return { type: 'result', id: t.id, status: 'failed', message: `cannot read: ${messageOf(err)}`, cached: false, ms };
  }
  try {
    return await decideAndRun(m, t, bytes, file, ms, t0);
  } finally {
    await file.close().catch(() => undefined);
  }
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

async function decideAndRun(m: KernelMinimizer, t: TaskMessage, input: Uint8Array, file: FileHandle, ms: ResultMessage['ms'], t0: number): Promise<ResultMessage> {
  let bytes = input;
  const hashedAt = Date.now();
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const key = resultKey(init.keyPrefix, sha256);
  ms.read = performance.now() - t0;

  const hit = await store.lookup(key);
  if (hit?.status === 'ok') return { type: 'result', id: t.id, status: 'cached', sha256, key, size: hit.size, hashedAt, ms };
  if (hit?.status === 'failed') {
    return { type: 'result', id: t.id, status: 'failed', sha256, key, hashedAt, message: hit.message, cached: true, ms };
  }

  try {
    t0 = performance.now();
    let btf = bytes;
    let member: string | undefined;
    if (t.format === 'btf.tar.xz') {
      const x = await extractKernelBtf(bytes, init.decompressor, { label: t.label, maxMemberSize: init.maxMemberSize, inputFd: file.fd, reuseBuffer: true });
      btf = x.btf;
      const release = path.basename(t.path).slice(0, -'.btf.tar.xz'.length);
      if (x.member.replace(/^(\.\/)+/, '') !== `${release}.btf`) member = x.member;
    }
    bytes = new Uint8Array(0); // let the compressed copy go before minimizing
    ms.decompress = performance.now() - t0;
    t0 = performance.now();
    const out = await m.run(btf, t.label);
    ms.minimize = performance.now() - t0;
    await store.write(key, out);
    const res: ResultMessage = { type: 'result', id: t.id, status: 'minimized', sha256, key, size: out.length, hashedAt, ms };
    if (member !== undefined) res.member = member;
    return res;
  } catch (err) {
    const message = messageOf(err);
    // Only failures that depend on the inputs alone are remembered; I/O trouble is retried.
    if (err instanceof BtfgenError) await store.writeFailure(key, message).catch(() => undefined);
    return { type: 'result', id: t.id, status: 'failed', sha256, key, hashedAt, message, cached: false, ms };
  }
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
  store = new ResultStore(init.storeRoot, init.storePersistent);
  if (init.decompressor === 'xz') prepareXzPipes();
  let minimizer: KernelMinimizer;
  try {
    minimizer = await createMinimizer(init.objects, { headerLen: init.headerLen, engine: init.engine });
  } catch (err) {
    post({ type: 'fatal', message: messageOf(err) });
    return;
  }
  // Tasks arrive one at a time (the pool sends the next after each result); a queue keeps
  // this correct should it ever send more.
  const queue: TaskMessage[] = [];
  let busy = false;
  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    while (queue.length) {
      const t = queue.shift()!;
      post(await runTask(minimizer, t));
    }
    busy = false;
  };
  port.on('message', (msg: TaskMessage | { type: 'close' }) => {
    if (msg.type === 'close') {
      closeXzPipes();
      void minimizer.close().finally(() => port.close());
      return;
    }
    queue.push(msg);
    void pump();
  });
  post({ type: 'ready', protocol: PROTOCOL });
}

// Also when the thread is ended otherwise (terminate(): an abort): its descriptors would stay.
process.on('exit', closeXzPipes);
void main();
