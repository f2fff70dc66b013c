// The one walk over a btfhub-archive directory: `<ID>/<VERSION>/<arch>/<release>.btf.tar.xz` or
// `<release>.btf`. Used by `fetch` (merged view) and `pack` (what to minimize).
//
// What is NOT a kernel, and so never listed:
// - symlinked directories at any level (codename aliases such as `ubuntu/focal -> 20.04`): a
//   kernel is listed once, under its real VERSION directory;
// - files at the wrong depth (`LICENSE`, `README.md`, a flattened `debian/buster` file holding
//   `10`), dot entries (`.git`, `.github`), and files without a `.btf`/`.btf.tar.xz` suffix.
// Kernel files may themselves be symlinks or hardlinks to regular files (the merged view of
// `btfgen fetch` is made of links). An entry named like a kernel file that cannot be one (a
// dangling or looping link, a directory) is skipped, or listed with `problem` set when the
// caller asks (pack: such a kernel fails, it is never silently dropped).
import { readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { ArchiveError } from '../errors.js';
import { archMatches, distroMatches, parseKernelFilter, type KernelFilter, type KernelFilterInput } from './filter.js';

export type KernelFormat = 'btf.tar.xz' | 'btf';

/** One kernel of an archive directory. */
export interface KernelEntry {
  /** os-release ID directory, e.g. `ubuntu`. */
  id: string;
  /** VERSION_ID directory, e.g. `20.04` (`8` for rhel/ol). */
  version: string;
  /** Arch directory as found on disk: `x86_64`, `arm64` or `aarch64`. */
  arch: string;
  /** `uname -r` of the kernel, e.g. `5.4.0-26-generic`. */
  release: string;
  /** Absolute path of the file (inside `root`; may be a link). */
  path: string;
  /** `id/version/arch/<file name>`, always with `/` separators. */
  relPath: string;
  format: KernelFormat;
  /** Why this entry cannot be read as a kernel (listed only with `{ problems: true }`). */
  problem?: string;
}

export interface WalkOptions {
  /** Also list entries named like kernel files that are not readable files, with `problem`. */
  problems?: boolean;
}

/** Why `full` (a directory entry named like a kernel file) is not a kernel file; undefined when it is one. */
function notAKernelFile(full: string, f: Dirent): string | undefined {
  if (f.isFile()) return undefined;
  if (f.isDirectory()) return 'a directory, not a kernel file';
  if (!f.isSymbolicLink()) return 'not a regular file';
  try {
    return statSync(full).isFile() ? undefined : 'a symbolic link to something that is not a regular file';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return 'a symbolic link loop';
    if (code === 'ENOENT') return 'a dangling symbolic link';
    return `an unreadable symbolic link (${code ?? 'error'})`;
  }
}

/** Splits a kernel file name into release and format; undefined when it is not a kernel file. */
export function parseKernelFileName(name: string): { release: string; format: KernelFormat } | undefined {
  if (name.startsWith('.')) return undefined;
  if (name.endsWith('.btf.tar.xz') && name.length > '.btf.tar.xz'.length) {
    return { release: name.slice(0, -'.btf.tar.xz'.length), format: 'btf.tar.xz' };
  }
  if (name.endsWith('.btf') && name.length > '.btf'.length) {
    return { release: name.slice(0, -'.btf'.length), format: 'btf' };
  }
  return undefined;
}

/**
 * Parses an archive-relative path (`ubuntu/20.04/x86_64/5.4.0-26-generic.btf.tar.xz`) into its
 * parts; undefined when it is not a kernel path (wrong depth, dot component, wrong suffix).
 */
export function parseKernelPath(
  relPath: string,
): { id: string; version: string; arch: string; release: string; format: KernelFormat } | undefined {
  const parts = relPath.split('/');
  if (parts.length !== 4 || parts.some((p) => p === '' || p.startsWith('.'))) return undefined;
  const file = parseKernelFileName(parts[3]!);
  if (!file) return undefined;
  return { id: parts[0]!, version: parts[1]!, arch: parts[2]!, ...file };
}

/** `id/version/arch/release`: one kernel, whatever its file format. */
export function kernelKey(k: { id: string; version: string; arch: string; release: string }): string {
  return `${k.id}/${k.version}/${k.arch}/${k.release}`;
}

/** Bytewise (UTF-8) comparison, independent of locale and of JS UTF-16 ordering. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// The walk uses synchronous calls: a directory listing per call, hundreds of them for a whole
// archive, where a promise round trip each costs more than the call (on pack's critical path).
function realSubdirs(dir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
  // isDirectory() on a Dirent is false for a symlink to a directory: aliases are skipped here.
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
}

/**
 * Lists the kernels of an archive directory, sorted by `relPath` bytewise.
 *
 * - `root` itself may be a symlink; symlinked directories below it are skipped (codename aliases).
 * - Each kernel (`id/version/arch/release`) is listed once: if both `<release>.btf` and
 *   `<release>.btf.tar.xz` exist, the raw `.btf` is listed.
 * - `filter` selects distros (`ubuntu`, `ubuntu/20.04`) and arches (`arm64` also matches
 *   `aarch64` directories and vice versa; `x86_64` also matches `amd64`).
 *
 * @throws ArchiveError when `root` is not a directory.
 * @throws UsageError when `filter` holds a malformed term.
 */
export async function listKernels(root: string, filter?: KernelFilterInput): Promise<KernelEntry[]> {
  return listKernelsWith(root, parseKernelFilter(filter ?? {}));
}

/** listKernels with an already parsed filter. */
export async function listKernelsWith(root: string, filter: KernelFilter, options: WalkOptions = {}): Promise<KernelEntry[]> {
  const absRoot = path.resolve(root);
  let st;
  try {
    st = statSync(absRoot);
  } catch (err) {
    throw new ArchiveError(`${absRoot}: archive directory not found (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!st.isDirectory()) throw new ArchiveError(`${absRoot}: not a directory`);

  const byKey = new Map<string, KernelEntry>();
  for (const id of realSubdirs(absRoot)) {
    if (!distroMatches(filter, id)) continue;
    for (const version of realSubdirs(path.join(absRoot, id))) {
      if (!distroMatches(filter, id, version)) continue;
      for (const arch of realSubdirs(path.join(absRoot, id, version))) {
        if (!archMatches(filter, arch)) continue;
        const dir = path.join(absRoot, id, version, arch);
        let files: Dirent[];
        try {
          files = readdirSync(dir, { withFileTypes: true });
        } catch {
          continue;
        }
        for (const f of files) {
          const parsed = parseKernelFileName(f.name);
          if (!parsed) continue;
          const full = path.join(dir, f.name);
          // A link to a kernel file counts (merged views); a link to anything else does not.
          const problem = notAKernelFile(full, f);
          if (problem !== undefined && !options.problems) continue;
          const entry: KernelEntry = {
            id,
            version,
            arch,
            release: parsed.release,
            path: full,
            relPath: `${id}/${version}/${arch}/${f.name}`,
            format: parsed.format,
          };
          if (problem !== undefined) entry.problem = problem;
          const key = kernelKey(entry);
          const prev = byKey.get(key);
          // A readable file wins over a broken entry; then the raw .btf over the .btf.tar.xz.
          const better = !prev || (prev.problem !== undefined && problem === undefined) || (prev.problem === undefined) === (problem === undefined) && prev.format !== 'btf' && entry.format === 'btf';
          if (better) byKey.set(key, entry);
        }
      }
    }
  }
  return [...byKey.values()].sort((a, b) => compareBytes(a.relPath, b.relPath));
}
