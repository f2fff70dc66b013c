// One btfhub-archive repository in the cache: shallow clone, sparse checkout, update, repair.
//
// Work happens in two phases so that a failure leaves the cache as it was:
// - prepareRepo (network): a new clone is made in a temp directory next to its target and fully
//   checked out there; an existing clone only fetches (adds objects, moves nothing). Layout
//   checks run here, on the fetched tree.
// - commitRepo (local): a new clone is renamed into place; an existing one is reset to the
//   fetched head under a `.git/.btfgen-incomplete` marker, rolled back on failure. A marker
//   left by an interrupted run makes the next run repair the clone.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FetchError } from '../errors.js';
import { removeMatching } from '../fsutil.js';
import { parseKernelPath } from '../archive/walk.js';
import { archDirectoryNames, isEmptyFilter, type KernelFilter } from '../archive/filter.js';
import type { RepoSpec } from './config.js';
import { git, gitFailure, type GitContext } from './git.js';

/** Marker inside `.git/` while an in-place update is under way. */
export const INCOMPLETE_MARKER = '.btfgen-incomplete';

export type RepoAction = 'cloned' | 'updated' | 'repaired';
export type LogFn = (level: 'info' | 'warning', message: string) => void;

export interface RepoContext {
  git: GitContext;
  /** The user's filter; codename aliases are resolved per repository. */
  filter: KernelFilter;
  log: LogFn;
}

/** How a repository directory looks before we touch it. */
export type RepoState =
  | { state: 'missing' }
  | { state: 'valid'; head: string; incomplete: boolean }
  | { state: 'broken'; reason: string };

/** Per filter term: did this repository's tree hold a kernel for it? */
export interface TermMatches {
  distros: boolean[];
  arches: boolean[];
}

export interface PreparedRepo {
  spec: RepoSpec;
  action: RepoAction;
  /** The commit the clone will be at. */
  head: string;
  /** The commit before (updates only). */
  previousHead?: string;
  /** Clones only: where the new clone waits to be renamed into place. */
  tmpDir?: string;
  /** Did the server honour `--filter=blob:none`? */
  partial: boolean;
  /** Non-cone sparse patterns, or undefined for a full checkout. */
  patterns?: string[];
  /** The filter with this repository's codename aliases resolved (`ubuntu/focal` -> `ubuntu/20.04`). */
  filter: KernelFilter;
  /** Kernel files in the fetched tree (whole repository, not only the filtered part). */
  treeKernels: number;
  matches: TermMatches;
}

function shortId(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

const TMP_SUFFIX = /\.(tmp|old)-\d+-[0-9a-f]+$/;

/** Names of the temp siblings of a clone directory: `.<name>.tmp-<pid>-<hex>`, `.<name>.old-...`. */
export function tmpSibling(dir: string, kind: 'tmp' | 'old'): string {
  return path.join(path.dirname(dir), `.${path.basename(dir)}.${kind}-${shortId()}`);
}

/** Removes temp clones and moved-aside directories left by interrupted runs. Call under the lock. */
export function removeLeftovers(dir: string): Promise<string[]> {
  return removeMatching(dir, (n) => n.startsWith('.') && TMP_SUFFIX.test(n), removeTree);
}

/** How long removeTree keeps retrying while something still writes into the tree. */
const REMOVE_RETRY_MS = 10_000;

/**
 * rm -rf that outlasts a writer still finishing in the tree (ENOTEMPTY/EBUSY: a file appeared
 * after its directory was listed), and fails with one line naming the directory.
 */
export async function removeTree(dir: string): Promise<void> {
  const deadline = Date.now() + REMOVE_RETRY_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      await rm(dir, { recursive: true, force: true });
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (Date.now() < deadline && (code === 'ENOTEMPTY' || code === 'EBUSY')) {
        await new Promise((r) => setTimeout(r, Math.min(200, 25 * (attempt + 1))));
        continue;
      }
      throw new FetchError(`cannot remove ${dir} left by an interrupted fetch: ${code || (err as Error).message}`, { cause: err });
    }
  }
}

async function revParse(ctx: GitContext, dir: string, rev: string): Promise<string | undefined> {
  try {
    const { stdout } = await git(ctx, dir, ['rev-parse', '--verify', '-q', `${rev}^{commit}`]);
    const sha = stdout.trim();
    return /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined;
  } catch {
    return undefined;
  }
}

/** Looks at a clone directory without changing it. */
export async function inspectRepo(spec: RepoSpec, ctx: GitContext): Promise<RepoState> {
  const st = await stat(spec.dir).catch(() => undefined);
  if (!st) return { state: 'missing' };
  if (!st.isDirectory()) return { state: 'broken', reason: 'not a directory' };
  // Without its own .git, git would walk up and find whatever repository holds the cache.
  const dotGit = await stat(path.join(spec.dir, '.git')).catch(() => undefined);
  if (!dotGit?.isDirectory()) return { state: 'broken', reason: 'no .git directory (interrupted clone?)' };
  const head = await revParse(ctx, spec.dir, 'HEAD');
  if (!head) return { state: 'broken', reason: 'no valid HEAD commit (interrupted clone?)' };
  let origin = '';
  try {
    origin = (await git(ctx, spec.dir, ['config', '--get', 'remote.origin.url'])).stdout.trim();
  } catch {
    /* no origin */
  }
  if (origin !== spec.url) return { state: 'broken', reason: `cloned from ${origin || 'an unknown remote'}` };
  const incomplete = existsSync(path.join(spec.dir, '.git', INCOMPLETE_MARKER));
  return { state: 'valid', head, incomplete };
}

interface TreeEntry {
  mode: string;
  oid: string;
  path: string;
}

async function lsTree(ctx: GitContext, dir: string, rev: string): Promise<TreeEntry[]> {
  const { stdout } = await git(ctx, dir, ['ls-tree', '-r', '-z', '--full-tree', rev]);
  const out: TreeEntry[] = [];
  for (const rec of stdout.split('\0')) {
    const tab = rec.indexOf('\t');
    if (tab < 0) continue;
    const [mode, , oid] = rec.slice(0, tab).split(' ');
    if (mode && oid) out.push({ mode, oid, path: rec.slice(tab + 1) });
  }
  return out;
}

/**
 * Resolves `ID/CODENAME` filter terms that are symlinks in this tree (`ubuntu/focal -> 20.04`)
 * to their VERSION directory, so that the sparse checkout and the merged view find them.
 */
async function resolveAliases(
  ctx: RepoContext,
  dir: string,
  entries: TreeEntry[],
  url: string,
): Promise<KernelFilter> {
  const f = ctx.filter;
  if (!f.distros.some((d) => d.version !== undefined)) return f;
  const links = new Map(entries.filter((e) => e.mode === '120000').map((e) => [e.path, e.oid]));
  const distros = [];
  for (const d of f.distros) {
    const oid = d.version !== undefined ? links.get(`${d.id}/${d.version}`) : undefined;
    if (oid === undefined) {
      distros.push(d);
      continue;
    }
    let target = '';
    try {
      target = (await git(ctx.git, dir, ['cat-file', 'blob', oid])).stdout.trim().replace(/\/+$/, '');
    } catch {
      /* keep the term as it is */
    }
    if (/^[A-Za-z0-9_+~][A-Za-z0-9._+~-]*$/.test(target)) {
      ctx.log('info', `${url}: ${d.id}/${d.version} is an alias of ${d.id}/${target}`);
      distros.push({ id: d.id, version: target });
    } else {
      distros.push(d);
    }
  }
  return { ...f, distros };
}

// Non-cone sparse-checkout patterns selecting exactly the filtered kernel directories
// (`/ubuntu/*/`, `/ubuntu/20.04/x86_64/`, `/*/*/arm64/`). A trailing `/` matches directories
// only, so codename symlinks and flat files such as `debian/buster` stay out of the checkout.
export function sparsePatterns(filter: KernelFilter): string[] | undefined {
  if (isEmptyFilter(filter)) return undefined;
  const dirs = filter.distros.length
    ? filter.distros.map((d) => `/${d.id}/${d.version ?? '*'}/`)
    : ['/*/*/'];
  const out: string[] = [];
  for (const d of dirs) {
    if (filter.archDirs.length === 0) out.push(d);
    else for (const a of filter.archDirs) out.push(`${d}${a}/`);
  }
  return [...new Set(out)];
}

function analyzeTree(entries: TreeEntry[], filter: KernelFilter, userFilter: KernelFilter): { kernels: number; matches: TermMatches } {
  let kernels = 0;
  const matches: TermMatches = {
    distros: userFilter.distros.map(() => false),
    arches: userFilter.arches.map(() => false),
  };
  for (const e of entries) {
    if (e.mode !== '100644' && e.mode !== '100755') continue;
    const k = parseKernelPath(e.path);
    if (!k) continue;
    kernels++;
    // Terms are reported against the user's spelling; aliases resolved through `filter`.
    filter.distros.forEach((d, i) => {
      if (d.id === k.id && (d.version === undefined || d.version === k.version)) matches.distros[i] = true;
    });
    userFilter.arches.forEach((a, i) => {
      if (archDirectoryNames(a).includes(k.arch.toLowerCase())) matches.arches[i] = true;
    });
  }
  return { kernels, matches };
}

/** Reads the tree of `rev`, checks it is a btfhub archive, resolves aliases, computes patterns. */
async function planCheckout(
  ctx: RepoContext,
  spec: RepoSpec,
  dir: string,
  rev: string,
): Promise<{ filter: KernelFilter; patterns?: string[]; treeKernels: number; matches: TermMatches }> {
  let entries: TreeEntry[];
  try {
    entries = await lsTree(ctx.git, dir, rev);
  } catch (err) {
    throw gitFailure(spec.input, 'reading the fetched tree', err);
  }
  const filter = await resolveAliases(ctx, dir, entries, spec.input);
  const { kernels, matches } = analyzeTree(entries, filter, ctx.filter);
  if (kernels === 0) {
    throw new FetchError(
      `${spec.input}: not a btfhub-archive repository: its default branch has no ` +
        `<ID>/<VERSION>/<arch>/<release>.btf.tar.xz (or .btf) files`,
    );
  }
  const patterns = sparsePatterns(filter);
  return patterns ? { filter, patterns, treeKernels: kernels, matches } : { filter, treeKernels: kernels, matches };
}

async function writeSparseConfig(ctx: GitContext, dir: string, patterns: string[]): Promise<void> {
  await git(ctx, dir, ['config', 'core.sparseCheckout', 'true']);
  await git(ctx, dir, ['config', 'core.sparseCheckoutCone', 'false']);
  // .git/info comes from git's templates, which a user's init.templateDir may leave out.
  await mkdir(path.join(dir, '.git', 'info'), { recursive: true });
  await writeFile(path.join(dir, '.git', 'info', 'sparse-checkout'), patterns.join('\n') + '\n');
}

interface SparseState {
  enabled: boolean;
  cone: string | undefined;
  file: string | undefined;
}

async function readSparseState(ctx: GitContext, dir: string): Promise<SparseState> {
  const get = async (key: string): Promise<string | undefined> => {
    try {
      return (await git(ctx, dir, ['config', '--get', key])).stdout.trim();
    } catch {
      return undefined;
    }
  };
  const enabled = (await get('core.sparseCheckout')) === 'true';
  const cone = await get('core.sparseCheckoutCone');
  const file = await readFile(path.join(dir, '.git', 'info', 'sparse-checkout'), 'utf8').catch(() => undefined);
  return { enabled, cone, file };
}

async function restoreSparseState(ctx: GitContext, dir: string, s: SparseState): Promise<void> {
  const file = path.join(dir, '.git', 'info', 'sparse-checkout');
  if (s.file === undefined) await rm(file, { force: true });
  else await writeFile(file, s.file);
  await git(ctx, dir, ['config', 'core.sparseCheckout', s.enabled ? 'true' : 'false']);
  if (s.cone === undefined) await git(ctx, dir, ['config', '--unset-all', 'core.sparseCheckoutCone']).catch(() => undefined);
  else await git(ctx, dir, ['config', 'core.sparseCheckoutCone', s.cone]);
}

/** Applies `patterns` (or a full checkout) and moves the worktree to `rev`. */
async function checkoutTo(ctx: GitContext, dir: string, rev: string, patterns: string[] | undefined, fresh: boolean): Promise<void> {
  if (patterns) {
    await writeSparseConfig(ctx, dir, patterns);
  } else if (!fresh) {
    // Widen to everything first so that reset checks out every path, then drop sparse mode.
    await writeSparseConfig(ctx, dir, ['/*']);
  }
  if (fresh) await git(ctx, dir, ['checkout', '-f', rev]);
  else await git(ctx, dir, ['reset', '-q', '--hard', rev]);
  if (!patterns && !fresh) await git(ctx, dir, ['sparse-checkout', 'disable']);
  // Nothing untracked may leak into the merged view.
  if (!fresh) await git(ctx, dir, ['clean', '-ffdxq']);
}

/** Phase one for a new clone: clone into a temp sibling of the target and check it out there. */
async function prepareClone(spec: RepoSpec, ctx: RepoContext, action: RepoAction): Promise<PreparedRepo> {
  const tmpDir = tmpSibling(spec.dir, 'tmp');
  const wantFilter = !isEmptyFilter(ctx.filter);
  ctx.log(
    'info',
    `${action === 'repaired' ? 're-cloning' : 'cloning'} ${spec.input} (shallow${wantFilter ? ', sparse' : ''}) into ${spec.dir}`,
  );
  try {
    const args = ['clone', '--depth', '1', '--no-tags', '--no-checkout'];
    if (wantFilter) args.push('--filter=blob:none');
    let stderr = '';
    try {
      ({ stderr } = await git(ctx.git, path.dirname(spec.dir), [...args, spec.url, tmpDir]));
    } catch (err) {
      throw gitFailure(spec.input, 'git clone', err);
    }
    let partial = wantFilter;
    if (wantFilter && /filtering not recognized by server/i.test(stderr)) {
      // The server ignored the filter and sent everything: do not mark the clone as a promisor,
      // or later fetches would ask for a filter again and warn each time.
      partial = false;
      await git(ctx.git, tmpDir, ['config', '--unset', 'remote.origin.promisor']).catch(() => undefined);
      await git(ctx.git, tmpDir, ['config', '--unset', 'remote.origin.partialclonefilter']).catch(() => undefined);
    }
    const head = await revParse(ctx.git, tmpDir, 'HEAD');
    if (!head) throw new FetchError(`${spec.input}: not a btfhub-archive repository: it has no commits`);
    const plan = await planCheckout(ctx, spec, tmpDir, head);
    try {
      await checkoutTo(ctx.git, tmpDir, head, plan.patterns, true);
    } catch (err) {
      throw gitFailure(spec.input, 'checkout', err);
    }
    const prepared: PreparedRepo = { spec, action, head, tmpDir, partial, filter: plan.filter, treeKernels: plan.treeKernels, matches: plan.matches };
    if (plan.patterns) prepared.patterns = plan.patterns;
    return prepared;
  } catch (err) {
    await rm(tmpDir, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}

/** Phase one for an existing clone: fetch the remote head (shallow); nothing in the worktree moves. */
async function prepareUpdate(spec: RepoSpec, ctx: RepoContext, head: string, action: RepoAction): Promise<PreparedRepo> {
  ctx.log('info', `${action === 'repaired' ? 'repairing' : 'updating'} ${spec.input} in ${spec.dir}`);
  try {
    await git(ctx.git, spec.dir, ['fetch', '--depth', '1', '--no-tags', 'origin', 'HEAD']);
  } catch (err) {
    throw gitFailure(spec.input, 'git fetch', err);
  }
  const newHead = await revParse(ctx.git, spec.dir, 'FETCH_HEAD');
  if (!newHead) throw new FetchError(`${spec.input}: git fetch did not produce a commit (is the remote repository empty?)`);
  const plan = await planCheckout(ctx, spec, spec.dir, newHead);
  const promisor = await git(ctx.git, spec.dir, ['config', '--get', 'remote.origin.promisor']).then(
    (o) => o.stdout.trim() === 'true',
    () => false,
  );
  const prepared: PreparedRepo = {
    spec,
    action,
    head: newHead,
    previousHead: head,
    partial: promisor,
    filter: plan.filter,
    treeKernels: plan.treeKernels,
    matches: plan.matches,
  };
  if (plan.patterns) prepared.patterns = plan.patterns;
  return prepared;
}

/**
 * Phase one: makes the new state of one repository ready without changing the cache.
 * @throws FetchError naming the repository (unreachable, not a btfhub archive, git failure).
 */
export async function prepareRepo(spec: RepoSpec, ctx: RepoContext): Promise<PreparedRepo> {
  const st = await inspectRepo(spec, ctx.git);
  switch (st.state) {
    case 'missing':
      return prepareClone(spec, ctx, 'cloned');
    case 'broken':
      ctx.log('warning', `${spec.dir}: ${st.reason}; cloning ${spec.input} again`);
      return prepareClone(spec, ctx, 'repaired');
    case 'valid':
      if (!st.incomplete) return prepareUpdate(spec, ctx, st.head, 'updated');
      ctx.log('warning', `${spec.dir}: an earlier update was interrupted; repairing`);
      try {
        return await prepareUpdate(spec, ctx, st.head, 'repaired');
      } catch (err) {
        if (err instanceof FetchError && /not a btfhub-archive/.test(err.message)) throw err;
        return prepareClone(spec, ctx, 'repaired');
      }
  }
}

/** Undoes phase one (removes a temp clone). Never throws. */
export async function discardRepo(p: PreparedRepo): Promise<void> {
  if (p.tmpDir) await rm(p.tmpDir, { recursive: true, force: true }).catch(() => undefined);
}

/**
 * Phase two: puts the prepared state in place. A new clone replaces the old directory by
 * renames; an existing clone is reset under the incomplete marker and rolled back on failure.
 * @throws FetchError naming the repository.
 */
export async function commitRepo(p: PreparedRepo, ctx: RepoContext): Promise<void> {
  const { spec } = p;
  if (p.tmpDir) {
    const old = existsSync(spec.dir) ? tmpSibling(spec.dir, 'old') : undefined;
    if (old) await rename(spec.dir, old);
    try {
      await rename(p.tmpDir, spec.dir);
    } catch (err) {
      if (old) await rename(old, spec.dir).catch(() => undefined);
      throw new FetchError(`${spec.input}: cannot move the new clone into ${spec.dir}: ${(err as Error).message}`);
    }
    if (old) await rm(old, { recursive: true, force: true }).catch(() => undefined);
    return;
  }

  const marker = path.join(spec.dir, '.git', INCOMPLETE_MARKER);
  const wasIncomplete = existsSync(marker);
  const before = await readSparseState(ctx.git, spec.dir);
  await writeFile(marker, `${process.pid} ${new Date().toISOString()} updating to ${p.head}\n`);
  try {
    await checkoutTo(ctx.git, spec.dir, p.head, p.patterns, false);
  } catch (err) {
    const failure = gitFailure(spec.input, 'updating the checkout', err);
    // Put the old commit and sparse set back: its blobs are local, so this works offline.
    if (p.previousHead && !wasIncomplete) {
      try {
        await restoreSparseState(ctx.git, spec.dir, before);
        await git(ctx.git, spec.dir, ['reset', '-q', '--hard', p.previousHead]);
        await rm(marker, { force: true });
      } catch {
        ctx.log('warning', `${spec.dir}: could not roll back; the next fetch will repair it`);
      }
    }
    throw failure;
  }
  await rm(marker, { force: true });
}
