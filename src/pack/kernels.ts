// The kernel source: which kernels of an archive a run works on (the walk and the
// distro/arch filters), and each one's full kernel BTF (`.btf` as is, `.btf.tar.xz` through
// an xz decompressor and the in-memory tar reader). pack's workers read kernels through
// decodeKernel() too (or their xz lanes, see worker.ts); `btfgen check` uses openKernelSource().
//
// The kernel cache (src/kcache, docs/kernel-cache.md) is one stage of this source: once a
// kernel file's sha256 is known, cachedKernel() answers from the cache, and keepKernel()
// stores what was decompressed. read() (check) and pack's workers both go through these two.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { describeFilter, listKernelsWith, parseKernelFilter, type KernelEntry, type KernelFilter } from '../archive/index.js';
import { KERNEL_BTF_MAX, xzUncompressedSize } from '../archive/xz.js';
import { ArchiveError } from '../errors.js';
import type { KernelCache } from '../kcache/index.js';
import { extractKernelBtf, resolveDecompressor, type Decompressor, type DecompressorChoice } from './decompress.js';
import { readKernelTar } from './tar-read.js';

export type { KernelEntry } from '../archive/index.js';

export interface KernelSourceOptions {
  /** Archive directory (absolute or relative to the process's cwd). */
  archive: string;
  /** `ID` or `ID/VERSION` terms (commas allowed); empty: every distro. */
  distros?: readonly string[];
  /** Arch directory names (`arm64` also matches `aarch64`); empty: every arch. */
  arches?: readonly string[];
  /** `auto` (default): the `xz` command when installed, else @napi-rs/lzma. */
  decompressor?: DecompressorChoice;
  /** Read kernels from, and keep them in, this kernel cache (open()'d by the caller). */
  kernelCache?: KernelCache;
}

/** One kernel's BTF and what it came from. */
export interface KernelBtf {
  /** The full (decompressed) kernel BTF. */
  btf: Uint8Array;
  /** The file decompressed (the tar `btf` is a member of): what the kernel cache keeps. */
  tar?: Uint8Array;
  /** The tar member's name when it is not `<release>.btf` (a warning for pack). */
  oddMember?: string;
  /** The BTF came from the kernel cache (no decompression). */
  cached?: boolean;
}

export interface KernelSource {
  archive: string;
  filter: KernelFilter;
  /**
   * The selected kernels, sorted by relPath bytewise. An entry with `problem` set is named like
   * a kernel file but cannot be read (a dangling link, a directory): a failing kernel.
   */
  kernels: KernelEntry[];
  /** The decompressor `read` uses (resolved once). */
  decompressor(): Promise<Decompressor>;
  /** The kernel's full BTF. Throws ArchiveError (or BtfgenError) with the kernel's relPath. */
  read(kernel: KernelEntry): Promise<KernelBtf>;
}

/**
 * Walks `options.archive` with the filters.
 * @throws ArchiveError when the archive is missing or holds no selected kernel; UsageError for
 * a malformed filter term.
 */
export async function openKernelSource(options: KernelSourceOptions): Promise<KernelSource> {
  const filter = parseKernelFilter({ distros: options.distros ?? [], arches: options.arches ?? [] });
  const kernels = await listKernelsWith(options.archive, filter, { problems: true });
  if (kernels.length === 0) {
    const what = filter.distros.length || filter.arches.length ? ` matching ${describeFilter(filter)}` : '';
    throw new ArchiveError(`no kernels${what} in ${options.archive}`);
  }
  let resolved: Promise<Decompressor> | undefined;
  const decompressor = (): Promise<Decompressor> => (resolved ??= resolveDecompressor(options.decompressor ?? 'auto'));
  return {
    archive: options.archive,
    filter,
    kernels,
    decompressor,
    async read(kernel: KernelEntry): Promise<KernelBtf> {
      if (kernel.problem !== undefined) throw new ArchiveError(`${kernel.relPath}: ${kernel.problem}`);
      let file: Uint8Array;
      try {
        file = new Uint8Array(await readFile(kernel.path));
      } catch (err) {
        throw new ArchiveError(`${kernel.relPath}: cannot read: ${(err as Error).message}`);
      }
      const cache = options.kernelCache;
      if (!cache || kernel.format !== 'btf.tar.xz') return decodeKernel(file, kernel, await decompressor());
      const sha256 = createHash('sha256').update(file).digest('hex');
      const hit = await cachedKernel(cache, sha256, kernel);
      if (hit) return hit;
      const k = await decodeKernel(file, kernel, await decompressor());
      await keepKernel(cache, sha256, kernel, k); // stored before it is returned: a caller that is done has filled the cache
      return k;
    },
  };
}

/** The BTF of a kernel file's bytes. */
export async function decodeKernel(
  file: Uint8Array,
  kernel: Pick<KernelEntry, 'format' | 'relPath' | 'release'>,
  decompressor: Decompressor,
  options: { maxMemberSize?: number } = {},
): Promise<KernelBtf> {
  if (kernel.format === 'btf') return { btf: file };
  const x = await extractKernelBtf(file, decompressor, { label: kernel.relPath, maxMemberSize: options.maxMemberSize ?? KERNEL_BTF_MAX });
  return withMember({ btf: x.btf, tar: x.tar }, x.member, kernel.release);
}

/**
 * The kernel cache's copy of the kernel whose file has this sha256, or
 * undefined: a miss, the cache off, or a raw `.btf` (read as is, nothing to save). The entry is
 * the decompressed tar; its member is read as a decompression's would be (the same errors).
 */
export async function cachedKernel(
  cache: KernelCache | undefined,
  sha256: string,
  kernel: Pick<KernelEntry, 'format' | 'relPath' | 'release'>,
  options: {
    /** A buffer the caller reuses from kernel to kernel (the BTF is then a view of it). */
    alloc?: (size: number) => Uint8Array;
    maxMemberSize?: number;
  } = {},
): Promise<KernelBtf | undefined> {
  if (!cache || kernel.format !== 'btf.tar.xz') return undefined;
  const tar = await cache.get(sha256, options.alloc);
  if (!tar) return undefined;
  const k = kernelFromTar(tar, kernel, options.maxMemberSize);
  k.cached = true;
  return k;
}

/** The kernel whose file decompressed to `tar`: its BTF member, read with the usual errors and limit. */
export function kernelFromTar(tar: Uint8Array, kernel: Pick<KernelEntry, 'relPath' | 'release'>, maxMemberSize: number = KERNEL_BTF_MAX): KernelBtf {
  const m = readKernelTar(tar, { label: kernel.relPath, maxMemberSize });
  return withMember({ btf: m.data, tar }, m.name, kernel.release);
}

/**
 * Stores a decompressed kernel's tar in the kernel cache, in the background; resolves when it
 * is stored or skipped. The cache writes `k.tar` as it is: the caller must not reuse its
 * buffer before then.
 */
export async function keepKernel(cache: KernelCache | undefined, sha256: string, kernel: Pick<KernelEntry, 'format'>, k: KernelBtf): Promise<void> {
  if (!cache || kernel.format !== 'btf.tar.xz' || k.cached || !k.tar) return;
  await cache.put(sha256, k.tar);
}

/** Notes a tar member not named `<release>.btf` (a `./` prefix is fine). */
export function withMember(k: KernelBtf, member: string, release: string): KernelBtf {
  if (member.replace(/^(\.\/)+/, '') !== `${release}.btf`) k.oddMember = member;
  return k;
}

/**
 * A kernel's BTF size without reading it: the .xz index's uncompressed size, else a guess from
 * the file size (synchronous: a few system calls, while the workers boot).
 */
export function estimateKernelSize(kernel: Pick<KernelEntry, 'path' | 'format'>): number {
  let fd: number | undefined;
  try {
    fd = openSync(kernel.path, 'r');
    const size = fstatSync(fd).size;
    if (kernel.format === 'btf') return size;
    const n = Math.min(size, 4096);
    const tail = new Uint8Array(n);
    readSync(fd, tail, 0, n, size - n);
    return xzUncompressedSize(tail) ?? size * 8;
  } catch {
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
