// The merged view `$CACHE/btfhub-archive/`: every kernel of every repository once, the first
// repository winning, made of hardlinks (symlinks where the file system refuses hardlinks).
// Built in a temp directory and renamed into place, so an interrupted rebuild never leaves a
// half view. Hardlinks also keep the view intact while a later update rewrites a clone.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, lstat, mkdir, readdir, rename, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { kernelKey, listKernelsWith, type KernelEntry } from '../archive/walk.js';
import type { KernelFilter } from '../archive/filter.js';

export type LinkMode = 'hardlink' | 'symlink';

export interface ViewSource {
  /** Clone directory (its checkout is walked). */
  dir: string;
  filter: KernelFilter;
}

export interface MergedView {
  /** The kernels of the view, as paths inside it, sorted by relPath. */
  kernels: KernelEntry[];
  /** Kernels each source contributed (same order as the sources). */
  contributed: number[];
  linkMode: LinkMode;
}

function sibling(viewDir: string, kind: 'tmp' | 'old'): string {
  return path.join(path.dirname(viewDir), `.${path.basename(viewDir)}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Cleans up after an interrupted rebuild (call under the lock): a view moved aside but not
 * replaced is put back; other temp views are removed.
 */
export async function recoverView(viewDir: string): Promise<void> {
  const parent = path.dirname(viewDir);
  const base = path.basename(viewDir);
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return;
  }
  const esc = base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^\\.${esc}\\.(tmp|old)-\\d+-[0-9a-f]+$`);
  const ours = names.filter((n) => re.test(n));
  if (!existsSync(viewDir)) {
    const old = ours.find((n) => n.includes('.old-'));
    if (old) await rename(path.join(parent, old), viewDir);
  }
  for (const n of ours) await rm(path.join(parent, n), { recursive: true, force: true });
}

async function linkFile(src: string, dst: string, mode: LinkMode): Promise<LinkMode> {
  if (mode === 'hardlink') {
    try {
      await link(src, dst);
      return 'hardlink';
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS', 'EACCES'].includes(code ?? '')) throw err;
    }
  }
  await symlink(src, dst);
  return 'symlink';
}

/** Lists each source's kernels (with its filter) and keeps the first of each kernel. */
export async function mergeSources(sources: readonly ViewSource[]): Promise<{ chosen: KernelEntry[]; contributed: number[] }> {
  const seen = new Map<string, KernelEntry>();
  const contributed: number[] = [];
  for (const s of sources) {
    let n = 0;
    for (const k of await listKernelsWith(s.dir, s.filter)) {
      const key = kernelKey(k);
      if (seen.has(key)) continue;
      seen.set(key, k);
      n++;
    }
    contributed.push(n);
  }
  return { chosen: [...seen.values()], contributed };
}

/**
 * Builds the merged view of `sources` at `viewDir`, replacing what was there.
 * On failure the previous view is left untouched.
 */
export async function buildMergedView(viewDir: string, sources: readonly ViewSource[]): Promise<MergedView> {
  const { chosen, contributed } = await mergeSources(sources);
  const tmp = sibling(viewDir, 'tmp');
  let mode: LinkMode = 'hardlink';
  try {
    await mkdir(tmp, { recursive: true });
    const made = new Set<string>();
    for (const k of chosen) {
      const dir = path.join(tmp, k.id, k.version, k.arch);
      if (!made.has(dir)) {
        await mkdir(dir, { recursive: true });
        made.add(dir);
      }
      mode = await linkFile(k.path, path.join(tmp, ...k.relPath.split('/')), mode);
    }
    // Swap: the old view is moved aside, the new one renamed in, the old one removed.
    // An interruption between the renames is undone by recoverView on the next run.
    let old: string | undefined;
    const cur = await lstat(viewDir).catch(() => undefined);
    if (cur) {
      old = sibling(viewDir, 'old');
      await rename(viewDir, old);
    }
    try {
      await rename(tmp, viewDir);
    } catch (err) {
      if (old) await rename(old, viewDir).catch(() => undefined);
      throw err;
    }
    if (old) await rm(old, { recursive: true, force: true }).catch(() => undefined);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  const kernels = await listKernelsWith(viewDir, { distros: [], arches: [], archDirs: [] });
  return { kernels, contributed, linkMode: mode };
}

/** Disk space used under `dirs` (allocated blocks, each inode counted once, links not followed). */
export async function diskUsage(dirs: readonly string[]): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const visit = async (p: string): Promise<void> => {
    const st = await lstat(p, { bigint: true }).catch(() => undefined);
    if (!st) return;
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) return;
    seen.add(id);
    total += Number(st.blocks) * 512;
    if (st.isDirectory()) {
      const names = await readdir(p).catch(() => [] as string[]);
      for (const n of names) await visit(path.join(p, n));
    }
  };
  for (const d of dirs) await visit(d);
  return total;
}
