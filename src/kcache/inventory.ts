// What btfgen's caches hold, and clearing them: the result cache (pack's minimized kernels and
// complete outputs, src/pack/cache.ts) and the kernel cache (decompressed kernels, ./index.ts).
// Only each cache's own layout directory is counted and removed: a directory a user named
// stays, with anything else they keep in it.
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Env } from '../fetch/config.js';
import { CACHE_LAYOUT, cachePaths } from '../pack/cache.js';
import { resolvePackPaths } from '../pack/index.js';
import { clearKernelCache, defaultKernelCacheDir, kernelCacheStats, type KernelCacheStats } from './index.js';

export interface ResultCacheStats {
  dir: string;
  /** Minimized kernels (one per kernel and object set). */
  results: number;
  /** Remembered failures (a kernel that failed for an object set). */
  failures: number;
  /** Complete outputs kept for warm re-runs. */
  outputs: number;
  /** Bytes of all of the above, the stat index and any temporary file. */
  bytes: number;
}

export interface CacheLocations {
  /** Result cache directory. */
  results: string;
  /** Kernel cache directory. */
  kernels: string;
}

export interface CacheLocationInput {
  /** btfhub cache directory (both caches live below it by default). */
  cache?: string;
  /** Result cache directory (pack's --cache-dir). */
  resultCache?: string;
  /** Kernel cache directory (pack's --kernel-cache). */
  kernelCache?: string;
}

/** Where the caches are, with pack's defaults: `$BTFHUB_CACHE/pack-cache` and `/kernel-cache`. */
export function cacheLocations(input: CacheLocationInput = {}, env: Env = process.env, cwd: string = process.cwd()): CacheLocations {
  const results = resolvePackPaths(
    { ...(input.cache !== undefined ? { cache: input.cache } : {}), ...(input.resultCache !== undefined ? { cacheDir: input.resultCache } : {}) },
    env,
    cwd,
  ).cacheDir;
  const kernels = input.kernelCache !== undefined ? path.resolve(cwd, input.kernelCache) : defaultKernelCacheDir(input.cache, env, cwd);
  return { results, kernels };
}

/** What the result cache in `dir` holds (nothing is changed). */
export async function resultCacheStats(dir: string): Promise<ResultCacheStats> {
  const s: ResultCacheStats = { dir, results: 0, failures: 0, outputs: 0, bytes: 0 };
  const size = async (f: string): Promise<number> => {
    const st = await stat(f).catch(() => undefined);
    return st?.isFile() ? st.size : 0;
  };
  const layout = path.join(dir, CACHE_LAYOUT);
  const results = path.join(layout, 'results');
  for (const shard of await readdir(results).catch(() => [] as string[])) {
    for (const name of await readdir(path.join(results, shard)).catch(() => [] as string[])) {
      s.bytes += await size(path.join(results, shard, name));
      if (name.includes('.tmp-')) continue;
      if (name.endsWith('.btf')) s.results++;
      else if (name.endsWith('.err')) s.failures++;
    }
  }
  const { outputs, stats } = cachePaths(dir);
  for (const name of await readdir(outputs).catch(() => [] as string[])) {
    s.bytes += await size(path.join(outputs, name));
    if (!name.includes('.tmp-')) s.outputs++;
  }
  s.bytes += await size(stats);
  return s;
}

/** Removes the result cache's layout directory in `dir`; returns what was there. */
export async function clearResultCache(dir: string): Promise<ResultCacheStats> {
  const before = await resultCacheStats(dir);
  await rm(path.join(dir, CACHE_LAYOUT), { recursive: true, force: true });
  return before;
}

export { clearKernelCache, kernelCacheStats, type KernelCacheStats };
