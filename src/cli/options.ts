// Flags that several commands share, declared once: the kernels a command reads (pack, check)
// and the kernel cache's flags (pack, check), commander's repeatable-flag collector and the
// integer flag check.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { parseSize } from '../kcache/index.js';

/** Commander's collector for a repeatable flag. */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** The archive and the kernels of it a command reads (pack, check). */
export function addArchiveOptions(cmd: Command): Command {
  return cmd
    .option('--archive <dir>', 'archive directory (default: $BTFHUB_CACHE/btfhub-archive)')
    .option('--cache <dir>', 'btfhub cache directory holding btfhub-archive/ (default: $BTFHUB_CACHE, else ~/.cache/eunomia/btfhub)')
    .option('--distro <id[/version]>', 'only this distro or version (ubuntu, ubuntu/20.04); repeatable, comma lists allowed', collect)
    .option('--arch <arch>', 'only this arch directory (x86_64, arm64; arm64 also matches aarch64); repeatable', collect);
}

/** The kernel cache's flags, shared by pack and check (docs/kernel-cache.md). */
export function addKernelCacheOptions(cmd: Command): Command {
  return cmd
    .option('--kernel-cache <dir>', 'kernel cache directory: decompressed kernels kept between runs (default: $BTFHUB_CACHE/kernel-cache)')
    .option('--no-kernel-cache', 'neither read nor fill the kernel cache')
    .option('--kernel-cache-size <size>', 'kernel cache size limit: bytes, or with K, M, G, T (default: 4G); least recently used kernels are evicted');
}

/** PackOptions / CheckOptions fields from the kernel cache's flags. @throws UsageError */
export function kernelCacheFlags(flags: { kernelCache?: string | false; kernelCacheSize?: string }): { kernelCache?: string | false; kernelCacheSize?: number } {
  const out: { kernelCache?: string | false; kernelCacheSize?: number } = {};
  if (flags.kernelCache !== undefined) out.kernelCache = flags.kernelCache;
  if (flags.kernelCacheSize !== undefined) out.kernelCacheSize = parseSize(flags.kernelCacheSize, '--kernel-cache-size');
  return out;
}

export function parseIntFlag(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`invalid ${name} '${value}': expected an integer`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`invalid ${name} '${value}': expected ${min}..${max}`);
  return n;
}

