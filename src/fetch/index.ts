// `fetch`: brings btfhub-archive repositories into the cache and rebuilds the merged view.
//
//   $CACHE/btfhub-archive-repos/<sanitized url>/   shallow (sparse) clones, one per repository
//   $CACHE/btfhub-archive/                         merged view: kernels only, first repository wins
//
// Sequence, under one lock per cache: clean leftovers of interrupted runs; fetch every
// repository without touching the cache (phase one); put every repository in place (phase
// two); rebuild the merged view in a temp directory and rename it in. A failure in phase one
// leaves the cache exactly as it was; see repo.ts for phase two.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FetchError } from '../errors.js';
import { describeFilter, type KernelFilter } from '../archive/filter.js';
import { resolveFetchConfig, type Env, type FetchConfigInput } from './config.js';
import { gitVersion, type GitContext, type GitProgress } from './git.js';
import { acquireLock, FETCH_TOKEN_ENV, LOCK_FILE, type LockOwner } from './lock.js';
import { buildMergedView, diskUsage, recoverView, type LinkMode } from './merge.js';
import { commitRepo, discardRepo, prepareRepo, removeLeftovers, type PreparedRepo, type RepoAction, type RepoContext } from './repo.js';

export { resolveFetchConfig, sanitizeRepoName, normalizeRepoUrl, DEFAULT_REPO, DEFAULT_CACHE, CACHE_ENV, REPO_ENV } from './config.js';
export type { FetchConfig, FetchConfigInput, RepoSpec, Env } from './config.js';
export type { GitProgress } from './git.js';
export type { LinkMode } from './merge.js';
export type { RepoAction } from './repo.js';

/** What fetch reports while it runs. The CLI prints these; the API is silent by default. */
export type FetchEvent =
  | ({ type: 'progress'; repo: string } & GitProgress)
  | { type: 'info'; message: string }
  | { type: 'warning'; message: string };

export interface FetchOptions extends FetchConfigInput {
  /** Environment for settings (BTFHUB_*, HOME) and for git (PATH, proxies...). Default: process.env. */
  env?: Env;
  /** Base for relative paths. Default: process.cwd(). */
  cwd?: string;
  onEvent?: (event: FetchEvent) => void;
  /** Ask git for its progress (clone/fetch/checkout) and report it as `progress` events. */
  progress?: boolean;
  /** How long to wait for another fetch on the same cache (default 10 minutes). */
  lockTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface FetchedRepo {
  /** As given (flag, environment or default). */
  input: string;
  /** What git was given. */
  url: string;
  dir: string;
  action: RepoAction;
  head: string;
  previousHead?: string;
  /** Partial clone (blobs fetched only for the sparse set). */
  partial: boolean;
  /** Sparse checkout patterns, when a filter applies. */
  sparse?: string[];
  /** Kernels in the repository's tree, whole (not only the filtered part). */
  treeKernels: number;
  /** Kernels of the merged view that come from this repository. */
  kernels: number;
}

export interface KernelGroup {
  id: string;
  arch: string;
  count: number;
}

export interface FetchResult {
  cache: string;
  /** The merged view: give this to pack (`--archive`). */
  archiveDir: string;
  repos: FetchedRepo[];
  filter: KernelFilter;
  /** Kernels in the merged view. */
  kernels: number;
  /** Kernels per distro ID and arch directory, sorted. */
  groups: KernelGroup[];
  /** Disk used by the clones and the view (bytes allocated, each file once). */
  diskBytes: number;
  linkMode: LinkMode;
  warnings: string[];
}

/** Oldest git whose `sparse-checkout disable` and partial clone we rely on. */
const MIN_GIT = [2, 25] as const;

/**
 * Fetches (clones or updates) the btfhub-archive repositories and rebuilds the merged view.
 * Settings come from `options`, then BTFHUB_CACHE/BTFHUB_CACHE_DIR and BTFHUB_REPO/BTFHUB_REPO_URL
 * in `options.env`, then defaults (see resolveFetchConfig).
 * @throws UsageError for bad options; FetchError (naming the repository) for git, network,
 *   layout, lock and disk failures. The cache is left as it was when a repository cannot be fetched.
 */
export async function fetch(options: FetchOptions = {}): Promise<FetchResult> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const config = resolveFetchConfig(options, env, cwd);
  const warnings: string[] = [];
  const emit = options.onEvent ?? ((): void => undefined);
  const log = (level: 'info' | 'warning', message: string): void => {
    if (level === 'warning') warnings.push(message);
    emit({ type: level, message });
  };

  let currentRepo = '';
  const gitCtx: GitContext = { env };
  if (options.progress && options.onEvent) {
    gitCtx.onProgress = (p) => emit({ type: 'progress', repo: currentRepo, ...p });
  }
  if (options.signal) gitCtx.signal = options.signal;

  const version = await gitVersion(gitCtx, os.tmpdir());
  if (!version) {
    throw new FetchError(
      'git was not found on PATH: fetch needs git (>= 2.25) to clone btfhub-archive repositories; ' +
        'install git, or point pack at an existing archive with --archive DIR',
    );
  }
  const [maj = 0, min = 0] = version.split('.').map(Number);
  if (maj < MIN_GIT[0] || (maj === MIN_GIT[0] && min < MIN_GIT[1])) {
    throw new FetchError(`git ${version} is too old: fetch needs git >= ${MIN_GIT.join('.')} (sparse checkout)`);
  }

  // Note the first directory we create, so that a failed first fetch leaves nothing behind.
  let firstCreated: string | undefined;
  const reposExisted = existsSync(config.reposDir);
  try {
    firstCreated = await mkdir(config.cache, { recursive: true });
  } catch (err) {
    throw new FetchError(`cannot create cache directory ${config.cache}: ${(err as Error).message}`);
  }
  const lockOpts: Parameters<typeof acquireLock>[1] = {
    onWait: (owner: LockOwner | undefined) =>
      log(
        'warning',
        `waiting for another btfgen fetch${owner ? ` (pid ${owner.pid} on ${owner.host})` : ''} to finish with ${config.cache}`,
      ),
  };
  if (options.lockTimeoutMs !== undefined) lockOpts.timeoutMs = options.lockTimeoutMs;
  if (options.signal) lockOpts.signal = options.signal;
  const lock = await acquireLock(path.join(config.cache, LOCK_FILE), lockOpts);
  // Every git process of this run carries the lock's token: if this process is killed, the
  // next run ends them before it cleans up (see lock.ts).
  gitCtx.env = { ...env, [FETCH_TOKEN_ENV]: lock.token };

  let succeeded = false;
  const prepared: PreparedRepo[] = [];
  try {
    await removeLeftovers(config.reposDir);
    await recoverView(config.viewDir);
    await mkdir(config.reposDir, { recursive: true });
    const ctx: RepoContext = { git: gitCtx, filter: config.filter, log };

    // Phase one: network. Nothing in the cache changes yet.
    try {
      for (const spec of config.repos) {
        currentRepo = spec.input;
        prepared.push(await prepareRepo(spec, ctx));
      }
    } catch (err) {
      for (const p of prepared) await discardRepo(p);
      throw err;
    }

    // Phase two: local. Clones move into place; existing clones are reset.
    for (let i = 0; i < prepared.length; i++) {
      try {
        await commitRepo(prepared[i]!, ctx);
      } catch (err) {
        for (const p of prepared.slice(i + 1)) await discardRepo(p);
        throw err;
      }
    }

    // Filter terms that matched nothing anywhere are probably typos.
    const f = config.filter;
    f.distros.forEach((d, i) => {
      if (!prepared.some((p) => p.matches.distros[i])) {
        log('warning', `no repository has kernels for --distro ${d.version ? `${d.id}/${d.version}` : d.id}`);
      }
    });
    f.arches.forEach((a, i) => {
      if (!prepared.some((p) => p.matches.arches[i])) log('warning', `no repository has kernels for --arch ${a}`);
    });

    let view;
    try {
      view = await buildMergedView(
        config.viewDir,
        prepared.map((p) => ({ dir: p.spec.dir, filter: p.filter })),
      );
    } catch (err) {
      throw new FetchError(`cannot build the merged archive ${config.viewDir}: ${(err as Error).message}`, { cause: err });
    }
    if (view.kernels.length === 0) log('warning', `no kernel matches ${describeFilter(f)} in the fetched repositories`);

    const groups = new Map<string, KernelGroup>();
    for (const k of view.kernels) {
      const key = `${k.id}\0${k.arch}`;
      const g = groups.get(key) ?? { id: k.id, arch: k.arch, count: 0 };
      g.count++;
      groups.set(key, g);
    }
    const repos: FetchedRepo[] = prepared.map((p, i) => {
      const r: FetchedRepo = {
        input: p.spec.input,
        url: p.spec.url,
        dir: p.spec.dir,
        action: p.action,
        head: p.head,
        partial: p.partial,
        treeKernels: p.treeKernels,
        kernels: view.contributed[i] ?? 0,
      };
      if (p.previousHead) r.previousHead = p.previousHead;
      if (p.patterns) r.sparse = p.patterns;
      return r;
    });
    const diskBytes = await diskUsage([...config.repos.map((r) => r.dir), config.viewDir]);
    succeeded = true;
    return {
      cache: config.cache,
      archiveDir: config.viewDir,
      repos,
      filter: config.filter,
      kernels: view.kernels.length,
      groups: [...groups.values()].sort((a, b) => (a.id === b.id ? (a.arch < b.arch ? -1 : 1) : a.id < b.id ? -1 : 1)),
      diskBytes,
      linkMode: view.linkMode,
      warnings,
    };
  } finally {
    await lock.release();
    if (!succeeded) {
      const top = firstCreated ?? (reposExisted ? undefined : config.reposDir);
      if (top !== undefined) await removeEmptyDirs(config.reposDir, top);
    }
  }
}

/** Removes `dir` and its parents up to `top` while they are empty (after a failed first fetch). */
async function removeEmptyDirs(dir: string, top: string): Promise<void> {
  let d = dir;
  for (;;) {
    const names = await readdir(d).catch(() => undefined);
    if (!names || names.length > 0) return;
    if ((await rmdir(d).then(() => true, () => false)) === false) return;
    if (path.resolve(d) === path.resolve(top)) return;
    const parent = path.dirname(d);
    if (parent === d) return;
    d = parent;
  }
}
