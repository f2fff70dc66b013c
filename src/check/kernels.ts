// The one seam between `btfgen check` and the archive: pack's kernel source (src/pack/kernels.ts:
// the walk, the distro/arch filters, decompression, and the kernel cache stage), adapted to the
// shape the rest of check reads.
import { kernelKey } from '../archive/index.js';
import { ArchiveError } from '../errors.js';
import { open as openKernelCache } from '../kcache/index.js';
import { kernelCacheSettings } from '../pack/options.js';
import { openKernelSource, resolvePackPaths, type KernelEntry } from '../pack/index.js';

export interface KernelRef {
  /** `id/version/arch/release`. */
  readonly key: string;
  readonly id: string;
  readonly version: string;
  readonly arch: string;
  readonly release: string;
  /** Absolute path of the kernel file. */
  readonly path: string;
}

export interface KernelSourceOptions {
  archive?: string;
  cache?: string;
  distros?: readonly string[];
  arches?: readonly string[];
  /** Kernel cache directory (default `<cache>/kernel-cache`); false: off. As pack's. */
  kernelCache?: string | false;
  /** The kernel cache's size limit in bytes (default 4 GiB). */
  kernelCacheSize?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface KernelSource {
  /** Archive directory walked. */
  readonly archive: string;
  /** Selected kernels, sorted by archive path (an unreadable entry too: its read() fails). */
  readonly kernels: readonly KernelRef[];
  /** The kernel's full BTF. Throws ArchiveError for an unreadable or malformed file. */
  read(k: KernelRef): Promise<Uint8Array>;
}

/** Walks the archive with pack's filters. Throws ArchiveError when nothing matches. */
export async function kernelSource(options: KernelSourceOptions): Promise<KernelSource> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const paths = resolvePackPaths(options, env, cwd);
  const kc = kernelCacheSettings(options, env, cwd);
  const source = await openKernelSource({
    archive: paths.archive,
    distros: options.distros ?? [],
    arches: options.arches ?? [],
    // @napi-rs/lzma decompresses on libuv's thread pool: the next kernels are decompressed while
    // the current one is analyzed on the main thread.
    decompressor: 'lzma',
    ...(kc ? { kernelCache: openKernelCache(kc) } : {}),
  });
  const byKey = new Map<string, KernelEntry>(source.kernels.map((e) => [kernelKey(e), e]));
  return {
    archive: source.archive,
    kernels: source.kernels.map((e) => ({ key: kernelKey(e), id: e.id, version: e.version, arch: e.arch, release: e.release, path: e.path })),
    async read(k: KernelRef): Promise<Uint8Array> {
      const e = byKey.get(k.key);
      if (!e) throw new ArchiveError(`${k.key}: not a kernel of ${source.archive}`);
      return (await source.read(e)).btf;
    },
  };
}
