// Messages between pack's main thread (pool.ts) and its workers (worker.ts).
import type { Decompressor } from './decompress.js';
import type { KernelOutcome } from '../check/analyze.js';
import type { ProgramVerdict } from '../check/load/verdict.js';
import type { Engine, ObjectBytes } from './minimizer.js';

/** Bumped whenever a message shape changes (a stale dist/ worker is then refused). */
export const PROTOCOL = 8;

/**
 * CO-RE checks a worker runs on each kernel's full BTF (`btfgen check`, `pack --report`,
 * `pack --verify`). The objects are all those given (the report names each), not pack's
 * distinct ones.
 */
export interface CheckInit {
  objects: ObjectBytes[];
  /** `check` / `pack --report`: the outcomes of every object on the full BTF. */
  report: boolean;
  /** `pack --verify`: every decision on the minimized BTF must be the full BTF's. */
  verify: boolean;
  /** With `report`: the load checks too (program type, helpers, map types, attach points). */
  load?: boolean;
}

export interface WorkerInit {
  protocol: number;
  objects: ObjectBytes[];
  headerLen: 24 | 32;
  engine: Engine;
  decompressor: Decompressor;
  /** Result store root and whether it is the persistent cache (else a spool). */
  storeRoot: string;
  storePersistent: boolean;
  /** resultKeyPrefix(): everything but the kernel that decides a result. */
  keyPrefix: string;
  maxMemberSize: number;
  /** Decompression lanes to run at once (xz into tmpfs scratch files; see worker.ts). */
  lanes: number;
  /** Decompressions each lane takes at once (queued in its helper shell). */
  laneDepth: number;
  /**
   * The kernel cache (src/kcache) each worker opens, or undefined when off; `since`: the pack's
   * start, so that no thread evicts what another read or stored in the same pack.
   */
  kernelCache?: { dir: string; maxBytes: number; since: number };
  hooks: TestHooks;
  /** `check`: read and check each kernel, no minimizing, no result store. Default `pack`. */
  mode?: 'pack' | 'check';
  check?: CheckInit;
}

/**
 * Test hooks (test/pack), all in one object handed to the workers: none is set in a normal
 * run. Read from BTFGEN_TEST_WORKER_EXIT_ON and BTFGEN_TEST_MINIMIZE_DELAY_MS.
 */
export interface TestHooks {
  /** A worker exits (code 70) on the kernel whose label contains this: crash isolation. */
  exitOn?: string;
  /** Minimizing made dear by a fixed wait that holds the thread, as minimizing does: the pool's
   * thread growth, on a decision that does not hang on how loaded the machine is, and the xz
   * lanes' queues, which must run while their thread is held. */
  minimizeDelayMs?: number;
  /** `pack --verify`'s own test: the minimized BTF of the kernel whose label contains this
   * loses its type section before it is verified (and, unverified, would be stored). */
  damageMinimized?: string;
}

export function testHooks(env: Readonly<Record<string, string | undefined>>): TestHooks {
  const hooks: TestHooks = {};
  if (env.BTFGEN_TEST_WORKER_EXIT_ON) hooks.exitOn = env.BTFGEN_TEST_WORKER_EXIT_ON;
  const delay = Number(env.BTFGEN_TEST_MINIMIZE_DELAY_MS ?? 0);
  if (delay > 0) hooks.minimizeDelayMs = delay;
  if (env.BTFGEN_TEST_DAMAGE_MINIMIZED) hooks.damageMinimized = env.BTFGEN_TEST_DAMAGE_MINIMIZED;
  return hooks;
}

export interface TaskMessage {
  type: 'task';
  id: number;
  /** Absolute path of the kernel file. */
  path: string;
  format: 'btf' | 'btf.tar.xz';
  /** Archive-relative path, for messages. */
  label: string;
  /** The kernel's release (its member should be `<release>.btf`). */
  release: string;
  /**
   * The file's sha256 when the result cache's stat index vouches for it (the file is unchanged
   * since it was hashed): a kernel the kernel cache holds is then not read at all.
   */
  sha256?: string;
}

export interface TaskTimings {
  /** When the worker started the task (ms since the epoch, sub-ms precision). */
  startedAt?: number;
  read: number;
  decompress: number;
  minimize: number;
  /** The CO-RE checks (check, --report, --verify). */
  check?: number;
}

/** What the checks found on one kernel (structured-cloneable: sent to the main thread). */
export interface CheckPayload {
  /** Per object (CheckInit.objects order): the outcome for ReportBuilder.add(). */
  outcomes?: KernelOutcome[];
  /** Per object, with CheckInit.load: the load verdicts for ReportBuilder.add(). */
  load?: ProgramVerdict[][];
}

export type ResultMessage =
  | {
      type: 'result';
      id: number;
      /** mode `check`: the kernel was read and checked. */
      status: 'checked';
      check: CheckPayload;
      ms: TaskTimings;
    }
  | {
      type: 'result';
      id: number;
      status: 'minimized' | 'cached';
      sha256: string;
      key: string;
      size: number;
      hashedAt: number;
      ms: TaskTimings;
      /** Name of the member inside the .tar.xz when it is not `<release>.btf`. */
      member?: string;
      check?: CheckPayload;
      /** The kernel's BTF came from the kernel cache (not decompressed). */
      kernelCacheHit?: true;
    }
  | {
      type: 'result';
      id: number;
      status: 'failed';
      /** Absent when the file could not even be read. */
      sha256?: string;
      key?: string;
      hashedAt?: number;
      message: string;
      /** The failure was read from the cache, not computed now. */
      cached: boolean;
      ms: TaskTimings;
      /** The kernel was read but not packed (its minimization or its verification failed). */
      check?: CheckPayload;
    };

export type WorkerMessage = { type: 'ready'; protocol: number; /** Tasks it can work on at once. */ capacity: number } | { type: 'fatal'; message: string } | ResultMessage;
