// pack's public types: its options, progress reports and result.
import type { Env } from '../archive/paths.js';
import type { CheckReport } from '../check/report.js';
import type { Decompressor, DecompressorChoice } from './decompress.js';
import type { Engine } from './minimizer.js';
import type { Layout, OutputFormat } from './output.js';

/** An eBPF object: a file path, or bytes with a name for messages. */
export type PackObject = string | { name: string; bytes: Uint8Array };

export interface PackOptions {
  /** CO-RE objects; the output holds, per kernel, the union of what they need. */
  objects: readonly PackObject[];
  /** Output file (created or replaced atomically). */
  output: string;
  /** Archive directory; default `<cache>/btfhub-archive`. */
  archive?: string;
  /** btfhub cache directory (`$BTFHUB_CACHE`, `$BTFHUB_CACHE_DIR`, `~/.cache/eunomia/btfhub`). */
  cache?: string;
  /** `ID` or `ID/VERSION` terms (commas allowed); empty: every distro. */
  distros?: readonly string[];
  /** Arch directory names (`arm64` also matches `aarch64`); empty: every arch. */
  arches?: readonly string[];
  /** Worker threads; default: the number of CPUs. */
  jobs?: number;
  /** A file packed verbatim as `./package.json` (it must be valid JSON). */
  json?: string;
  /** Member paths: `btfhub` (`./btfhub-archive/<ID>/...`, default) or `bcc` (`./<ID>/...`). */
  layout?: Layout;
  /** `tar.gz` (default) or an uncompressed `tar`. */
  format?: OutputFormat;
  /** Pack the kernels that worked and report the others instead of failing. */
  skipFailed?: boolean;
  /**
   * Every relocation's libbpf decision on each minimized BTF must be the one on the kernel's
   * full BTF (verdict and value); a kernel where one differs fails, naming the relocation.
   */
  verify?: boolean;
  /** The `btfgen check` report of the objects on the same kernels, in `PackResult.report`. */
  report?: boolean;
  /** Use and fill the incremental result cache (default true). */
  useCache?: boolean;
  /** Result cache directory; default `<cache>/pack-cache`. */
  cacheDir?: string;
  /**
   * Kernel cache directory (decompressed kernels kept between runs, docs/kernel-cache.md);
   * default `<cache>/kernel-cache`; false: neither read nor fill it.
   */
  kernelCache?: string | false;
  /** The kernel cache's size limit in bytes (default 4 GiB, DEFAULT_KERNEL_CACHE_BYTES). */
  kernelCacheSize?: number;
  /** BTF header length of the members: 24 (bpftool <= 7.7, default) or 32. */
  headerLen?: 24 | 32;
  /** `auto` (default: the `xz` command when installed, else @napi-rs/lzma), `xz` or `lzma`. */
  decompressor?: DecompressorChoice;
  /** Minimizer: `btfgen` (default) or `bpftool` (differential testing only). */
  engine?: Engine;
  /** gzip level 0-9 (default 9). */
  gzipLevel?: number;
  signal?: AbortSignal;
  onProgress?: (p: PackProgress) => void;
  /** Environment for the cache defaults and SOURCE_DATE_EPOCH; default process.env. */
  env?: Env;
  /** Base for relative paths; default process.cwd(). */
  cwd?: string;
}

export interface PackProgress {
  phase: 'scan' | 'minimize' | 'write' | 'done';
  total: number;
  /** Kernels finished (minimized, cached or failed). */
  done: number;
  minimized: number;
  cached: number;
  failed: number;
  /** The kernel that just finished (archive-relative path). */
  kernel?: string;
  elapsedMs: number;
}

export interface PackedMember {
  name: string;
  /** Archive-relative path of the kernel file. */
  kernel: string;
  id: string;
  version: string;
  arch: string;
  release: string;
  size: number;
  source: 'minimized' | 'cached';
}

export interface KernelFailure {
  kernel: string;
  path: string;
  message: string;
  /** Read from the cache (the same inputs failed before). */
  cached: boolean;
}

export interface PackGroup {
  id: string;
  version: string;
  arch: string;
  kernels: number;
}

export interface PackResult {
  /** Absolute path of the written file. */
  output: string;
  /** Its size in bytes. */
  size: number;
  format: OutputFormat;
  layout: Layout;
  archive: string;
  members: PackedMember[];
  failures: KernelFailure[];
  /** Packed kernels per distro/version/arch, sorted. */
  groups: PackGroup[];
  counts: {
    /** Kernels selected by the walk and the filters. */
    total: number;
    packed: number;
    /** Kernels minimized by this run (0 on a warm re-run). */
    minimized: number;
    /** Kernels answered from the result cache. */
    cached: number;
    failed: number;
  };
  json: boolean;
  /** The decompressor used; undefined when no .btf.tar.xz had to be read (all cached). */
  decompressor: Decompressor | undefined;
  engine: Engine;
  jobs: number;
  /** The result cache directory, or undefined with useCache: false. */
  cacheDir: string | undefined;
  /** The whole output came from the output cache. */
  outputCached: boolean;
  /** Objects given, and those minimized for (exact CO-RE repeats dropped). */
  objects: { given: number; distinct: number };
  warnings: string[];
  /** With `report`: the `btfgen check` report of the objects on the selected kernels. */
  report?: CheckReport;
  elapsedMs: number;
  /**
   * Time the workers spent per step, summed over kernels (milliseconds), and the number of
   * minimizing threads that ran (0 when every kernel came from the cache), and the kernels
   * whose BTF came from the kernel cache instead of xz.
   */
  work: { readMs: number; decompressMs: number; minimizeMs: number; threads: number; kernelCacheHits: number };
  /** The kernel cache directory, or undefined when it is off. */
  kernelCache: string | undefined;
}
