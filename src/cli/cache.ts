// `btfgen cache`: what pack's caches hold (the result cache and the kernel cache), and
// `btfgen cache clear` to empty them.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { formatSize } from '../kcache/index.js';
import {
  cacheLocations,
  clearKernelCache,
  clearResultCache,
  kernelCacheStats,
  resultCacheStats,
  type KernelCacheStats,
  type ResultCacheStats,
} from '../kcache/inventory.js';

interface CacheFlags {
  cache?: string;
  cacheDir?: string;
  kernelCache?: string;
  kernels?: boolean;
  results?: boolean;
  json?: boolean;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function describeResults(s: ResultCacheStats): string[] {
  return [
    `result cache  ${s.dir}`,
    `  ${plural(s.results, 'minimized kernel')}, ${plural(s.failures, 'remembered failure')}, ${plural(s.outputs, 'complete output')}: ${formatSize(s.bytes)}`,
  ];
}

function describeKernels(s: KernelCacheStats): string[] {
  const temps = s.temps ? ` (+${plural(s.temps, 'file')} being written or left over)` : '';
  return [`kernel cache  ${s.dir}`, `  ${plural(s.entries, 'decompressed kernel')}: ${formatSize(s.bytes)}${temps}`];
}

export function register(program: Command): void {
  program
    .command('cache')
    .description(
      "Show what pack's caches hold, or clear them. The result cache keeps each kernel minimized " +
        'for an object set and recent complete outputs (an unchanged re-pack copies one file); the ' +
        'kernel cache keeps kernels decompressed (a re-pack after the objects changed skips xz). ' +
        'Both are safe to clear at any time: the next pack refills them.',
    )
    .argument('[action]', 'show (default) or clear')
    .option('--cache <dir>', 'btfhub cache directory holding both caches (default: $BTFHUB_CACHE, else ~/.cache/eunomia/btfhub)')
    .option('--cache-dir <dir>', 'result cache directory, as given to pack (default: $BTFHUB_CACHE/pack-cache)')
    .option('--kernel-cache <dir>', 'kernel cache directory, as given to pack (default: $BTFHUB_CACHE/kernel-cache)')
    .option('--kernels', 'clear: only the kernel cache')
    .option('--results', 'clear: only the result cache')
    .option('--json', 'print what the caches hold as JSON')
    .addHelpText(
      'after',
      `
Environment:
  BTFHUB_CACHE, BTFHUB_CACHE_DIR   btfhub cache (results in $CACHE/pack-cache, kernels in $CACHE/kernel-cache)

Examples:
  btfgen cache                      # where the caches are, how many entries, how many bytes
  btfgen cache clear                # empty both
  btfgen cache clear --kernels      # only the decompressed kernels
  btfgen cache --cache-dir ./pc     # a result cache given to pack with --cache-dir ./pc`,
    )
    .action(async (action: string | undefined, flags: CacheFlags) => {
      const verb = action ?? 'show';
      if (verb !== 'show' && verb !== 'clear') throw new UsageError(`cache: unknown action '${verb}' (expected show or clear)`);
      if (verb === 'show' && (flags.kernels || flags.results)) throw new UsageError('cache: --kernels and --results go with clear');
      const where = cacheLocations({
        ...(flags.cache !== undefined ? { cache: flags.cache } : {}),
        ...(flags.cacheDir !== undefined ? { resultCache: flags.cacheDir } : {}),
        ...(flags.kernelCache !== undefined ? { kernelCache: flags.kernelCache } : {}),
      });
      const both = !flags.kernels && !flags.results;
      const doResults = both || flags.results === true;
      const doKernels = both || flags.kernels === true;
      const out = (lines: string[]): void => {
        for (const l of lines) process.stdout.write(`${l}\n`);
      };
      if (verb === 'show') {
        const results = await resultCacheStats(where.results);
        const kernels = await kernelCacheStats(where.kernels);
        if (flags.json) out([JSON.stringify({ results, kernels }, null, 2)]);
        else out([...describeResults(results), ...describeKernels(kernels)]);
        return;
      }
      const cleared: { results?: ResultCacheStats; kernels?: KernelCacheStats } = {};
      if (doResults) cleared.results = await clearResultCache(where.results);
      if (doKernels) cleared.kernels = await clearKernelCache(where.kernels);
      if (flags.json) return out([JSON.stringify({ cleared }, null, 2)]);
      if (cleared.results) {
        const r = cleared.results;
        out([`cleared result cache ${r.dir}: ${plural(r.results + r.failures + r.outputs, 'entry', 'entries')}, ${formatSize(r.bytes)}`]);
      }
      if (cleared.kernels) {
        const k = cleared.kernels;
        out([`cleared kernel cache ${k.dir}: ${plural(k.entries, 'kernel')}, ${formatSize(k.bytes)}`]);
      }
    });

}
