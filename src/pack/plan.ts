// The plan: how many minimizing threads and xz lanes a run uses, and which kernels are heavy.
import { scratchAvailable } from './decompress.js';

/** Kernels whose BTF is at least this large (the non-deduplicated ones) are scheduled as heavy. */
export const HEAVY_BYTES = 16 << 20;

/** Jobs one minimizing thread stands for when xz runs in lanes. */
const LANES_PER_WORKER = 4;

/**
 * Decompressions a lane takes at once (XzLane queues them in its helper shell): enough that
 * its xz keeps running while the thread minimizes a large kernel, the tars waiting in scratch
 * files or kernel cache entries (bench/README.md, "queued lanes").
 */
const LANE_DEPTH = 3;

export interface ThreadPlan {
  /** Minimizing threads to start with. */
  workers: number;
  /** xz lanes per thread (1: no lanes, a kernel at a time). */
  lanes: number;
  /** Decompressions each lane takes at once (1 without lanes). */
  depth: number;
  /** Threads the pool may grow to when minimizing turns out dear. */
  maxWorkers: number;
}

/**
 * Threads and decompression lanes for `jobs`-way parallelism. With the xz command and tmpfs
 * scratch files, xz runs in one lane per job (decompression is most of a btfhub kernel's CPU
 * time), each with LANE_DEPTH kernels queued, fed by one minimizing thread per
 * LANES_PER_WORKER jobs; otherwise (raw .btf kernels, @napi-rs/lzma, no tmpfs) one thread per
 * job, a kernel at a time each.
 */
export function threadPlan(jobs: number, mostlyXz: boolean, xz: boolean): ThreadPlan {
  if (!xz || jobs < 2 || !mostlyXz || !scratchAvailable()) return { workers: jobs, lanes: 1, depth: 1, maxWorkers: jobs };
  const workers = Math.ceil(jobs / LANES_PER_WORKER);
  // One xz per job: more running at once only share the same cores, each with its 8 MiB
  // dictionary evicting the others' from the caches (bench/README.md, "queued lanes").
  return { workers, lanes: Math.ceil(jobs / workers), depth: LANE_DEPTH, maxWorkers: jobs };
}
