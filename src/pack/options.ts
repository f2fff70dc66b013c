// pack's options: defaults and validation in one place (normalize, then validate), before any
// work starts. Everything after reads `PackSettings`, never the raw options.
import os from 'node:os';
import path from 'node:path';
import { resolveArchivePaths, type Env } from '../archive/paths.js';
import { UsageError } from '../errors.js';
import { DEFAULT_KERNEL_CACHE_BYTES, defaultKernelCacheDir } from '../kcache/index.js';
import type { DecompressorChoice } from './decompress.js';
import type { PackOptions } from './types.js';
import type { Engine } from './minimizer.js';
import type { Layout, OutputFormat } from './output.js';
import { testHooks, type TestHooks } from './protocol.js';

export interface PackSettings {
  output: string;
  archive: string;
  cacheDir: string;
  useCache: boolean;
  /** The kernel cache (decompressed kernels between runs), or undefined when off. */
  kernelCache: KernelCacheSettings | undefined;
  layout: Layout;
  format: OutputFormat;
  headerLen: 24 | 32;
  engine: Engine;
  jobs: number;
  gzipLevel: number;
  decompressor: DecompressorChoice;
  distros: readonly string[];
  arches: readonly string[];
  skipFailed: boolean;
  /** --verify: each minimized BTF's CO-RE decisions checked against the full BTF's. */
  verify: boolean;
  /** --report: the check report of the same pass. */
  report: boolean;
  json: string | undefined;
  env: Env;
  cwd: string;
  hooks: TestHooks;
}

export interface KernelCacheSettings {
  dir: string;
  maxBytes: number;
}

/**
 * The kernel cache's options, as pack and check take them: `kernelCache` a directory, false
 * (off) or undefined (`$BTFHUB_CACHE/kernel-cache`); `kernelCacheSize` bytes (default
 * DEFAULT_KERNEL_CACHE_BYTES). @throws UsageError
 */
export function kernelCacheSettings(
  options: { cache?: string; kernelCache?: string | false; kernelCacheSize?: number },
  env: Env,
  cwd: string,
): KernelCacheSettings | undefined {
  const maxBytes = options.kernelCacheSize ?? DEFAULT_KERNEL_CACHE_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new UsageError(`invalid kernel cache size '${String(maxBytes)}': expected a number of bytes`);
  if (options.kernelCache === false) return undefined;
  if (options.kernelCache !== undefined && options.kernelCache.trim() === '') throw new UsageError('empty kernel cache directory');
  const dir = options.kernelCache !== undefined ? path.resolve(cwd, options.kernelCache) : defaultKernelCacheDir(options.cache, env, cwd);
  return { dir, maxBytes };
}

export function defaultJobs(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length || 1;
}

/** Defaults applied and every option checked. @throws UsageError */
export function normalizeOptions(options: PackOptions): PackSettings {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const s = {
    layout: options.layout ?? 'btfhub',
    format: options.format ?? 'tar.gz',
    headerLen: options.headerLen ?? 24,
    engine: options.engine ?? 'btfgen',
    jobs: options.jobs ?? defaultJobs(),
    gzipLevel: options.gzipLevel ?? 9,
  };
  if (s.layout !== 'btfhub' && s.layout !== 'bcc') throw new UsageError(`invalid layout '${String(s.layout)}': expected btfhub or bcc`);
  if (s.format !== 'tar.gz' && s.format !== 'tar') throw new UsageError(`invalid format '${String(s.format)}': expected tar.gz or tar`);
  if (s.headerLen !== 24 && s.headerLen !== 32) throw new UsageError(`invalid header length ${String(s.headerLen)}: expected 24 or 32`);
  if (!Number.isInteger(s.jobs) || s.jobs < 1) throw new UsageError(`invalid jobs '${String(s.jobs)}': expected a positive integer`);
  if (!Number.isInteger(s.gzipLevel) || s.gzipLevel < 0 || s.gzipLevel > 9) throw new UsageError(`invalid gzip level '${s.gzipLevel}': expected 0-9`);
  if (!options.output) throw new UsageError('no output file given');
  if (options.objects.length === 0) throw new UsageError('no BPF object given');
  const paths = resolveArchivePaths(options, env, cwd);
  return {
    ...s,
    output: path.resolve(cwd, options.output),
    archive: paths.archive,
    cacheDir: paths.cacheDir,
    useCache: options.useCache ?? true,
    kernelCache: kernelCacheSettings(options, env, cwd),
    decompressor: options.decompressor ?? 'auto',
    distros: options.distros ?? [],
    arches: options.arches ?? [],
    skipFailed: options.skipFailed ?? false,
    verify: options.verify ?? false,
    report: options.report ?? false,
    json: options.json,
    env,
    cwd,
    hooks: testHooks(process.env), // set by the test suites in the process, whatever `env` says
  };
}
