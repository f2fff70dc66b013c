// Distro/arch filters over a btfhub-archive tree (`<ID>/<VERSION>/<arch>/<release>.btf[.tar.xz]`).
// Shared by `fetch` (sparse checkout, merged view) and `pack` (which kernels to minimize).
import { UsageError } from '../errors.js';

/** What users type: `--distro ubuntu`, `--distro ubuntu/20.04`, `--arch arm64`; commas allowed. */
export interface KernelFilterInput {
  distros?: readonly string[];
  arches?: readonly string[];
}

/** One `--distro` term: an os-release ID, optionally with a VERSION_ID directory. */
export interface DistroFilter {
  id: string;
  /** Absent: every version of `id`. */
  version?: string;
}

/** A parsed filter. Empty lists mean "everything". */
export interface KernelFilter {
  distros: DistroFilter[];
  /** As the user typed them, normalized to lower case, deduplicated, in order. */
  arches: string[];
  /** `arches` plus their directory aliases (arm64 <-> aarch64, x86_64 <-> amd64): what matches on disk. */
  archDirs: string[];
}

/**
 * Architecture directory aliases. Upstream btfhub-archive uses `x86_64` and `arm64`; some
 * third-party archives use `aarch64` (what `uname -m` says on arm64), and Debian users say `amd64`.
 */
const ARCH_ALIASES: ReadonlyArray<readonly string[]> = [
  ['x86_64', 'amd64'],
  ['arm64', 'aarch64'],
];

/** A safe single path component: no separators, not `.`/`..`, no leading dot or dash. */
const COMPONENT = /^[A-Za-z0-9_+~][A-Za-z0-9._+~-]*$/;

function splitList(values: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const v of values ?? []) {
    for (const part of v.split(',')) {
      const t = part.trim();
      if (t) out.push(t);
    }
  }
  return out;
}

/** Every directory name that `arch` matches on disk (itself first), e.g. `arm64` -> [`arm64`, `aarch64`]. */
export function archDirectoryNames(arch: string): string[] {
  const a = arch.toLowerCase();
  const group = ARCH_ALIASES.find((g) => g.includes(a));
  return group ? [a, ...group.filter((g) => g !== a)] : [a];
}

/** Parses one `ID[/VERSION]` term. Throws UsageError on anything that is not two safe path components. */
export function parseDistro(spec: string): DistroFilter {
  const parts = spec.trim().replace(/\/+$/, '').split('/');
  if (parts.length > 2 || !parts.every((p) => COMPONENT.test(p))) {
    throw new UsageError(
      `invalid --distro '${spec}': expected ID or ID/VERSION as in the archive (e.g. ubuntu or ubuntu/20.04)`,
    );
  }
  return parts.length === 2 ? { id: parts[0]!, version: parts[1]! } : { id: parts[0]! };
}

/**
 * Parses `--distro`/`--arch` values (each may be a comma-separated list) into a KernelFilter.
 * Duplicate and subsumed terms are dropped (`ubuntu` covers `ubuntu/20.04`).
 * @throws UsageError for a malformed term.
 */
export function parseKernelFilter(input: KernelFilterInput = {}): KernelFilter {
  const distros: DistroFilter[] = [];
  const parsed = splitList(input.distros).map(parseDistro);
  for (const d of parsed) {
    const covered = parsed.some((o) => o.id === d.id && o.version === undefined && d.version !== undefined);
    const dup = distros.some((o) => o.id === d.id && o.version === d.version);
    if (!covered && !dup) distros.push(d);
  }
  const arches: string[] = [];
  for (const a of splitList(input.arches)) {
    if (!COMPONENT.test(a)) {
      throw new UsageError(`invalid --arch '${a}': expected an architecture directory name such as x86_64 or arm64`);
    }
    const l = a.toLowerCase();
    if (!arches.includes(l)) arches.push(l);
  }
  const archDirs: string[] = [];
  for (const a of arches) for (const d of archDirectoryNames(a)) if (!archDirs.includes(d)) archDirs.push(d);
  return { distros, arches, archDirs };
}

/** True when the filter selects nothing out (no distro and no arch terms). */
export function isEmptyFilter(filter: KernelFilter): boolean {
  return filter.distros.length === 0 && filter.arches.length === 0;
}

/** Does the distro part of `filter` select directory `id` (and, when given, `id/version`)? */
export function distroMatches(filter: KernelFilter, id: string, version?: string): boolean {
  if (filter.distros.length === 0) return true;
  return filter.distros.some(
    (d) => d.id === id && (d.version === undefined || version === undefined || d.version === version),
  );
}

/** Does the arch part of `filter` select arch directory `arch` (aliases included)? */
export function archMatches(filter: KernelFilter, arch: string): boolean {
  return filter.archDirs.length === 0 || filter.archDirs.includes(arch.toLowerCase());
}

/** Does `filter` select the kernel directory `id/version/arch`? */
export function kernelFilterMatches(
  filter: KernelFilter,
  k: { id: string; version: string; arch: string },
): boolean {
  return distroMatches(filter, k.id, k.version) && archMatches(filter, k.arch);
}

/** Human-readable form, for messages: `ubuntu/20.04, debian; arch x86_64`. */
export function describeFilter(filter: KernelFilter): string {
  const parts: string[] = [];
  if (filter.distros.length) parts.push(filter.distros.map((d) => (d.version ? `${d.id}/${d.version}` : d.id)).join(', '));
  if (filter.arches.length) parts.push(`arch ${filter.arches.join(', ')}`);
  return parts.length ? parts.join('; ') : 'everything';
}
