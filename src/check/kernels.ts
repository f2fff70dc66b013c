// The one seam between `btfgen check` and the archive: which kernels (walk + distro/arch
// filters, as pack selects them) and their full BTF bytes (raw `.btf` as is, `.btf.tar.xz`
// decompressed as pack does). Kept to this file so that pack's shared "kernel source" can
// replace it without touching the rest of check.
import { readFile } from 'node:fs/promises';
import { describeFilter, kernelKey, listKernelsWith, parseKernelFilter, type KernelEntry } from '../archive/index.js';
import { ArchiveError } from '../errors.js';
import { extractKernelBtf } from '../pack/decompress.js';
import { resolvePackPaths } from '../pack/index.js';

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
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface KernelSource {
  /** Archive directory walked. */
  readonly archive: string;
  /** Selected kernels, sorted by archive path. */
  readonly kernels: readonly KernelRef[];
  /** The kernel's full BTF. Throws ArchiveError for an unreadable or malformed file. */
  read(k: KernelRef): Promise<Uint8Array>;
}

/** Walks the archive with pack's filters. Throws ArchiveError when nothing matches. */
export async function kernelSource(options: KernelSourceOptions): Promise<KernelSource> {
  const paths = resolvePackPaths(options, options.env ?? process.env, options.cwd ?? process.cwd());
  const filter = parseKernelFilter({ distros: options.distros ?? [], arches: options.arches ?? [] });
  const entries: KernelEntry[] = await listKernelsWith(paths.archive, filter);
  if (entries.length === 0) {
    const what = filter.distros.length || filter.arches.length ? ` matching ${describeFilter(filter)}` : '';
    throw new ArchiveError(`no kernels${what} in ${paths.archive}`);
  }
  const byKey = new Map(entries.map((e) => [kernelKey(e), e]));
  return {
    archive: paths.archive,
    kernels: entries.map((e) => ({ key: kernelKey(e), id: e.id, version: e.version, arch: e.arch, release: e.release, path: e.path })),
    async read(k: KernelRef): Promise<Uint8Array> {
      const e = byKey.get(k.key);
      if (!e) throw new ArchiveError(`${k.key}: not a kernel of ${paths.archive}`);
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await readFile(e.path));
      } catch (err) {
        throw new ArchiveError(`${e.relPath}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      if (e.format === 'btf') return bytes;
      // @napi-rs/lzma decompresses on libuv's thread pool: the next kernel is decompressed while
      // the current one is analyzed on the main thread (pack's `xz` paths block their thread).
      return (await extractKernelBtf(bytes, 'lzma', { label: e.relPath })).btf;
    },
  };
}
