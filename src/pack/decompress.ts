// Reading a kernel's BTF out of its `.btf.tar.xz`, in memory: an xz decompressor, then the
// in-memory tar reader (tar-read.ts). Nothing is unpacked to disk (a kernel cache entry is
// written from the tar in memory, src/kcache). The paths, fastest first (docs/pack-internals.md;
// their measured cost in bench/README.md):
//   1. `xz` into a private tmpfs scratch file (XzLane, pack's workers; Linux with a tmpfs
//      /dev/shm);
//   2. `xz` through execa (extractKernelBtf): everywhere else, and whenever a lane fails (it
//      words the error);
//   3. @napi-rs/lzma in process (no `xz` command, or `--decompressor lzma`).
// A FIFO path (for Linux without a tmpfs /dev/shm) was measured and dropped: bench/README.md.
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants as fsc, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, statfsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArchiveError } from '../errors.js';
import { closeQuietly } from '../fsutil.js';
import { importExternal } from '../external.js';
import { bombError, expectedMember, isXz, KERNEL_BTF_MAX, TAR_SLACK, xzDecodedSize } from '../archive/xz.js';
import { readKernelTar, type TarReadOptions } from './tar-read.js';

export type Decompressor = 'xz' | 'lzma';
export type DecompressorChoice = Decompressor | 'auto';

let xzAvailable: Promise<boolean> | undefined;

/**
 * True when an executable `xz` is on PATH (checked once per process). A PATH lookup, not a
 * run of `xz --version`: a spawn on pack's critical path, before any kernel starts. An `xz` that is found but does not run fails each kernel with "could not run xz".
 */
export function hasXzCommand(): Promise<boolean> {
  xzAvailable ??= Promise.resolve(onPath('xz'));
  return xzAvailable;
}

function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const f = path.join(dir, cmd);
    try {
      accessSync(f, fsc.X_OK);
      if (statSync(f).isFile()) return true;
    } catch {
      // not here
    }
  }
  return false;
}

// execa is loaded on first use: a warm pack (every kernel cached) never spawns anything.
type ExecaModule = typeof import('execa');
let execaModule: Promise<ExecaModule> | undefined;
function loadExeca(): Promise<ExecaModule> {
  execaModule ??= importExternal<ExecaModule>('execa');
  return execaModule;
}

/** Resolves `auto`: the `xz` command when it runs, else @napi-rs/lzma. */
export async function resolveDecompressor(choice: DecompressorChoice = 'auto'): Promise<Decompressor> {
  if (choice === 'lzma') return 'lzma';
  const ok = await hasXzCommand();
  if (choice === 'xz' && !ok) throw new ArchiveError("the 'xz' command was requested but does not run (install xz-utils)");
  return ok ? 'xz' : 'lzma';
}

type LzmaModule = { xz: { decompress(input: Uint8Array): Promise<Uint8Array> } };
let lzmaModule: Promise<LzmaModule> | undefined;
function loadLzma(): Promise<LzmaModule> {
  lzmaModule ??= importExternal<LzmaModule>('@napi-rs/lzma');
  return lzmaModule;
}

function xzMessage(stderr: unknown): string {
  const s = typeof stderr === 'string' ? stderr : stderr instanceof Uint8Array ? Buffer.from(stderr).toString() : '';
  // "xz: (stdin): Compressed data is corrupt" -> "Compressed data is corrupt"
  const line = s.trim().split('\n').pop() ?? '';
  return line.replace(/^xz: \(stdin\): /, '').replace(/^xz: /, '') || 'xz failed';
}

/**
 * The kernel BTF inside a `.btf.tar.xz` file's bytes. `label` (the file's path) prefixes errors.
 * Throws ArchiveError for anything wrong with the archive itself.
 */
export async function extractKernelBtf(
  compressed: Uint8Array,
  decompressor: Decompressor,
  options: TarReadOptions & { label: string },
): Promise<{ btf: Uint8Array; member: string; tar: Uint8Array }> {
  if (!isXz(compressed)) throw new ArchiveError(`${options.label}: not an xz file`);
  const maxMember = options.maxMemberSize ?? KERNEL_BTF_MAX;
  const limit = maxMember + TAR_SLACK;
  const bomb = (): ArchiveError => bombError(expectedMember(options.label), options.label, maxMember);
  // What the file decodes to is known before decoding, from its LZMA2 chunk headers (the index
  // could lie): a bomb is refused here. The xz command paths also cap their output, and give
  // xz's own message for a file whose blocks are not well formed; @napi-rs/lzma has no output
  // limit, so it never sees such a file.
  const decoded = xzDecodedSize(compressed, limit);
  if (decoded !== undefined && decoded > limit) throw bomb();
  if (decoded === undefined && decompressor === 'lzma') throw new ArchiveError(`${options.label}: xz: the file's blocks are not well formed`);
  if (decompressor === 'xz') {
    // One blocking `xz -dc` per kernel (the caller is a worker thread with nothing else to do):
    // node collects the output in C++ and the member is a view of it: less CPU than streaming
    // the output through the tar reader chunk by chunk (bench/README.md).
    const { execaSync } = await loadExeca();
    const r = execaSync('xz', ['-dc'], {
      input: compressed,
      encoding: 'buffer',
      maxBuffer: limit,
      reject: false,
      stripFinalNewline: false,
    });
    if (r.failed) {
      if (r.isMaxBuffer) throw bomb();
      if (r.exitCode === undefined) throw new Error(`${options.label}: could not run xz: ${r.shortMessage}`);
      throw new ArchiveError(`${options.label}: xz: ${xzMessage(r.stderr)}`);
    }
    const tar = r.stdout as Uint8Array;
    const m = readKernelTar(tar, options);
    return { btf: m.data, member: m.name, tar };
  }
  const { xz } = await loadLzma();
  let tar: Uint8Array;
  try {
    tar = await xz.decompress(compressed);
  } catch (err) {
    throw new ArchiveError(`${options.label}: xz: ${(err as Error).message}`);
  }
  // checked above from the chunk headers; kept against a decoder that does not honour them
  if (tar.length > limit) throw bomb();
  const m = readKernelTar(tar, options);
  return { btf: m.data, member: m.name, tar };
}

// Forking the worker's process for every `xz` is not cheap either: node forks the whole
// process (hundreds of MB mapped) each time. So each lane starts one small shell once, which
// forks `xz` on request: it opens the input and the scratch file through /proc/<pid>/fd (our
// descriptors) and reports xz's exit status and the bytes xz wrote (xz's messages come on the
// same stream, before the status).
const STATUS = '@btfgen-xz-status ';
// A request is three lines: input path, output path, and a file size limit for xz in 512-byte
// blocks (`ulimit -f`; it bounds what xz may write into a scratch file, see XzLane). The output
// is opened without truncation and written from its start (`3<>`): a scratch file keeps its
// pages from kernel to kernel, and what is past xz's output is left from earlier ones. So xz
// must not seek (--no-sparse: holes would show that stale data), and the length comes from the
// descriptor's offset once xz is done (its `pos` in /proc/<shell>/fdinfo, read by a builtin).
const HELPER_SCRIPT = `while IFS= read -r in && IFS= read -r out && IFS= read -r lim; do { ( ulimit -f "$lim" && exec xz -dc --no-sparse <"$in" 2>&1 >&3 3>&- ); s=$?; n=; read -r _ n </proc/$$/fdinfo/3; echo "${STATUS}$s $n"; } 3<>"$out" || echo "${STATUS}255"; done`;

/** How a request ended: xz's exit status (-1: no status came), and the bytes it wrote (-1: unknown). */
interface XzEnd {
  status: number;
  size: number;
}
const NO_END: XzEnd = { status: -1, size: -1 };

interface Helper {
  child: ReturnType<typeof spawn>;
  partial: string;
  /** The requests sent and not yet answered, oldest first: the shell runs them in turn. */
  waiting: ((end: XzEnd) => void)[];
  dead: boolean;
}
/** Starts a helper shell (HELPER_SCRIPT); `down` runs when it goes away. */
function startHelper(down?: () => void): Helper | undefined {
  try {
    const child = spawn('sh', ['-c', HELPER_SCRIPT], { stdio: ['pipe', 'pipe', 'ignore'] });
    if (child.pid === undefined) return undefined;
    const h: Helper = { child, partial: '', waiting: [], dead: false };
    child.stdout!.setEncoding('latin1');
    child.stdout!.on('data', (d: string) => {
      const lines = (h.partial + d).split('\n');
      h.partial = lines.pop()!;
      // xz's messages come before each status; only the status line answers a request
      for (const line of lines) if (line.startsWith(STATUS)) answer(h, parseEnd(line.slice(STATUS.length)));
    });
    const gone = (): void => {
      h.dead = true;
      down?.();
      while (h.waiting.length) answer(h, NO_END);
    };
    child.on('error', gone);
    child.on('close', gone);
    child.stdin!.on('error', () => undefined);
    idle(h);
    return h;
  } catch {
    return undefined;
  }
}

/** The oldest request's answer (NO_END: the shell went away). */
function answer(h: Helper, end: XzEnd): void {
  const done = h.waiting.shift();
  if (h.waiting.length === 0) idle(h);
  done?.(end);
}

/** `<status> <bytes>` from the shell; a part that is not a number is -1. */
function parseEnd(text: string): XzEnd {
  const [status, size] = text.split(' ').map((w) => (/^\d+$/.test(w) ? Number(w) : -1));
  return { status: status ?? -1, size: size ?? -1 };
}

/** An idle helper does not keep the thread's event loop alive. */
function idle(h: Helper): void {
  h.child.unref();
  (h.child.stdout as unknown as { unref(): void }).unref();
  (h.child.stdin as unknown as { unref(): void }).unref();
}
function busy(h: Helper): void {
  h.child.ref();
  (h.child.stdout as unknown as { ref(): void }).ref();
  (h.child.stdin as unknown as { ref(): void }).ref();
}

// The fastest way out of xz is not a pipe at all. Writing into a pipe costs xz and us a context
// switch per 64 KiB and the kernel two copies with locking, and node reads a child's pipe
// through the event loop, a poll and a read per 8 KiB (bench/README.md). So where /dev/shm is a tmpfs, each XzLane
// keeps one scratch file there: created private (0600, O_EXCL), its name removed at once, so
// it lives in memory only and only while the descriptor is open; xz writes into it through
// /proc/<pid>/fd from its start, over what the last kernel left, and we read it in one call. It
// is not emptied between kernels: truncating it and having xz fault in fresh pages for the next
// kernel cost more CPU than the copies themselves (bench/README.md); one that a large kernel
// grew past SCRATCH_KEEP is emptied, so that a lane holds little memory. A file size limit
// (ulimit -f) stops a hostile stream at the member limit, as execa's maxBuffer does. Nothing
// reaches a disk.
const TMPFS_MAGIC = 0x01021994;
/** A scratch file longer than this is emptied when its tar is taken (most kernels' tars are 3-8 MB). */
const SCRATCH_KEEP = 16 * 2 ** 20;

/** True when scratch files can be made (Linux, /dev/shm a tmpfs). */
export function scratchAvailable(): boolean {
  if (process.platform !== 'linux' || process.env.BTFGEN_XZ_SCRATCH === '0') return false;
  try {
    return statfsSync('/dev/shm').type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}

/** A new private scratch file on /dev/shm (its name already removed), or undefined. */
function newScratchFd(): number | undefined {
  if (!scratchAvailable()) return undefined;
  let dir: string | undefined;
  try {
    dir = mkdtempSync('/dev/shm/btfgen-xz-');
    return openSync(path.join(dir, 'tar'), fsc.O_RDWR | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  } catch {
    return undefined;
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `xz -dc` of `inputFd` into file `fd` from its start (at most `limit` bytes) through
 * helper `h`, after the requests sent before it: how it ended.
 */
function xzInto(h: Helper, fd: number, inputFd: number, limit: number): Promise<XzEnd> {
  if (h.dead) return Promise.resolve(NO_END);
  return new Promise((resolve) => {
    if (h.waiting.push(resolve) === 1) busy(h);
    h.child.stdin!.write(`/proc/${process.pid}/fd/${inputFd}\n/proc/${process.pid}/fd/${fd}\n${Math.floor(limit / 512) + 1}\n`);
  });
}

/** The first `size` bytes of file `fd`, read into `into` when it is large enough. */
function readOutput(fd: number, size: number, into?: Uint8Array): Uint8Array | undefined {
  const buf = into && into.length >= size ? into.subarray(0, size) : new Uint8Array(size);
  let n = 0;
  while (n < size) {
    const got = readSync(fd, buf, n, size - n, n);
    if (got === 0) return undefined;
    n += got;
  }
  return buf;
}

function truncateScratch(fd: number): void {
  try {
    ftruncateSync(fd, 0);
  } catch {
    // nothing to give back
  }
}

let reusable: Uint8Array | undefined;

/**
 * A buffer of at least `size` bytes that this thread reuses from kernel to kernel (saves
 * faulting in and collecting a fresh one of up to tens of MB each time): what the previous
 * call handed out is overwritten.
 */
export function reusableBuffer(size: number): Uint8Array {
  // Grown with headroom so that a slightly larger kernel does not reallocate.
  if (!reusable || reusable.length < size) reusable = new Uint8Array(Math.ceil(size * 1.25));
  return reusable;
}

/** A tar a lane decompressed: the scratch file holding it (from offset 0) and its size (XzLane.take() reads it). */
export interface XzTar {
  fd: number;
  size: number;
}

/**
 * One decompression lane for pack's workers: a helper shell of its own, and `depth` scratch
 * files, so that several `xz` run at once for one thread while it minimizes what is already
 * out (see worker.ts). A lane takes up to `depth` decompressions at once: its shell runs them
 * one after the other, so the next xz starts the moment the last one ends, whatever the
 * thread is doing (a thread busy minimizing a large kernel cannot start one). decompress()
 * runs xz into a free scratch file; take() reads the result and frees its slot. Both give undefined
 * on any trouble: the caller then goes through extractKernelBtf(), whose streaming path has
 * the authoritative error message.
 */
export class XzLane {
  /** Scratch files not holding a tar nor being written. */
  private readonly free: number[];
  /** Decompressions asked for and not yet taken (or failed). */
  private used = 0;

  private constructor(
    private readonly scratch: readonly number[],
    private readonly helper: Helper,
  ) {
    this.free = [...scratch];
  }

  /** A lane taking `depth` decompressions at once, or undefined where scratch files or the helper shell are unavailable. */
  static open(depth = 1): XzLane | undefined {
    const fds: number[] = [];
    for (let i = 0; i < depth; i++) {
      const fd = newScratchFd();
      if (fd === undefined) break;
      fds.push(fd);
    }
    const h = fds.length === depth ? startHelper() : undefined;
    if (!h) {
      for (const fd of fds) closeSync(fd);
      return undefined;
    }
    return new XzLane(fds, h);
  }

  /**
   * `lane` while its helper shell runs, else a new lane in its place (the dead one closed), or
   * the dead one when none opens: its decompress() gives undefined, the streaming path.
   */
  static renew(lane: XzLane): XzLane {
    if (lane.alive) return lane;
    lane.close();
    return XzLane.open(lane.depth) ?? lane;
  }

  /** Decompressions it takes at once. */
  get depth(): number {
    return this.scratch.length;
  }

  /** Decompressions it can take now. */
  get room(): number {
    return this.depth - this.used;
  }

  /** xz's exit status in the decompress() that ended last (-1: none came): 153 (SIGXFSZ) when the size limit stopped it. */
  lastStatus = 0;

  get alive(): boolean {
    return !this.helper.dead;
  }

  /**
   * `xz -dc` of the file open as `inputFd` (read from offset 0) into a free scratch file of the
   * lane, after the lane's earlier decompressions: the tar. Only while room > 0.
   */
  async decompress(inputFd: number, maxMemberSize: number = KERNEL_BTF_MAX): Promise<XzTar | undefined> {
    if (this.room <= 0) throw new Error('XzLane: no room for another decompression');
    this.used++;
    const fd = this.free.pop()!;
    const limit = maxMemberSize + TAR_SLACK;
    const end = await xzInto(this.helper, fd, inputFd, limit);
    this.lastStatus = end.status;
    if (end.status !== 0 || end.size < 0 || end.size > limit) {
      this.release(fd, true); // what it holds is unknown: up to the limit
      return undefined;
    }
    return { fd, size: end.size };
  }

  /** The decompressed tar (into `into` when large enough); its slot of the lane is free again after. */
  take(tar: XzTar, into?: Uint8Array): Uint8Array | undefined {
    try {
      return readOutput(tar.fd, tar.size, into);
    } catch {
      return undefined;
    } finally {
      this.release(tar.fd, tar.size > SCRATCH_KEEP);
    }
  }

  /** Frees the slot of a tar that will not be taken. */
  drop(tar: XzTar): void {
    this.release(tar.fd, tar.size > SCRATCH_KEEP);
  }

  /** Frees a slot; its scratch file is emptied when `empty` (it holds a large or unknown output). */
  private release(fd: number, empty: boolean): void {
    this.used--;
    if (empty) truncateScratch(fd);
    this.free.push(fd);
  }

  private closed = false;

  /**
   * Ends the helper and closes the scratch files; once only (a descriptor number closed twice
   * may be another file's by then). The shell is killed, not left to read its input out: the
   * requests queued there name our descriptors by number, and once closed those may be other
   * files (a run aborted with kernels queued). An xz already running keeps the files it opened.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.helper.dead) this.helper.child.kill('SIGKILL');
    for (const fd of this.scratch) closeQuietly(fd);
  }
}
