// The plan: how many minimizing threads and xz lanes a run uses, and which kernels are heavy.
import { scratchAvailable } from './decompress.js';

/** Kernels whose BTF is at least this large (the non-deduplicated ones) are scheduled as heavy. */
export const HEAVY_BYTES = 16 << 20;

/** Jobs one minimizing thread stands for when xz runs in lanes. */
const LANES_PER_WORKER = 4;

export interface ThreadPlan {
  /** Minimizing threads to start with. */
  workers: number;
  /** xz lanes per thread (1: no lanes, a kernel at a time). */
  lanes: number;
  /** Threads the pool may grow to when minimizing turns out dear. */
  maxWorkers: number;
}

/**
 * Threads and decompression lanes for `jobs`-way parallelism. With the xz command and tmpfs
 * scratch files, xz runs in 2 x `jobs` lanes (decompression is most of a btfhub kernel's CPU
 * time) fed by one minimizing thread per LANES_PER_WORKER jobs; otherwise (raw .btf kernels,
 * @napi-rs/lzma, no tmpfs) one thread per job, a kernel at a time each.
 */
export function threadPlan(jobs: number, mostlyXz: boolean, xz: boolean): ThreadPlan {
  if (!xz || jobs < 2 || !mostlyXz || !scratchAvailable()) return { workers: jobs, lanes: 1, maxWorkers: jobs };
  const workers = Math.ceil(jobs / LANES_PER_WORKER);
  // Twice the lanes of the jobs a thread stands for: a lane whose xz has finished stays taken
  // until its thread, busy minimizing, reads it out (bench/README.md, pack internals).
  return { workers, lanes: 2 * Math.ceil(jobs / workers), maxWorkers: jobs };
}
