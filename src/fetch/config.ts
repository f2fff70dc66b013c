// Where fetch reads its settings from: flags first, then the environment of the old
// `script/btfgen` (BTFHUB_CACHE, BTFHUB_REPO) and the spellings its README documented
// (BTFHUB_CACHE_DIR, BTFHUB_REPO_URL), then defaults. Pure apart from reading `env`.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { parseKernelFilter, type KernelFilter } from '../archive/filter.js';
import { CACHE_ENV, DEFAULT_CACHE, expandHome, firstEnv, resolveCacheDir, VIEW_DIR, type Env } from '../archive/paths.js';

export { CACHE_ENV, DEFAULT_CACHE, expandHome, VIEW_DIR, type Env };

export const DEFAULT_REPO = 'https://github.com/aquasecurity/btfhub-archive';
/** `$CACHE/<REPOS_DIR>/<sanitized url>/`: one clone per repository. */
export const REPOS_DIR = 'btfhub-archive-repos';

/** Environment variables, in priority order. */
export const REPO_ENV = ['BTFHUB_REPO', 'BTFHUB_REPO_URL'] as const;

export interface FetchConfigInput {
  /** Repository URLs or local paths, first wins; each may be a comma-separated list. */
  repos?: readonly string[];
  cache?: string;
  distros?: readonly string[];
  arches?: readonly string[];
}

/** One repository to fetch. */
export interface RepoSpec {
  /** As given by the user. */
  input: string;
  /** What git is given: local paths become `file://` URLs (so that `--depth` works). */
  url: string;
  /** Directory name under `$CACHE/btfhub-archive-repos/`: `url` with [^A-Za-z0-9._-] -> `_`. */
  name: string;
  /** Absolute clone directory. */
  dir: string;
}

export interface FetchConfig {
  cache: string;
  reposDir: string;
  viewDir: string;
  repos: RepoSpec[];
  filter: KernelFilter;
  /** Where each setting came from: a flag, an environment variable name, or `default`. */
  source: { cache: string; repos: string };
}

function splitCommas(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

/**
 * `[^A-Za-z0-9._-] -> _`, as the old script named its clones. Names longer than 200 bytes are
 * cut and suffixed with a hash, so that they still fit a file-name component.
 */
export function sanitizeRepoName(url: string): string {
  const name = url.replace(/[^A-Za-z0-9._-]/g, '_');
  if (name.length <= 200) return name;
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 16);
  return `${name.slice(0, 183)}-${hash}`;
}

/**
 * Turns a repository argument into what git is given. URLs (`scheme://...`) and scp-like
 * addresses (`git@host:path`) pass unchanged; anything else is a local path, made absolute and
 * turned into a `file://` URL, because git ignores `--depth` for plain-path clones.
 * @throws UsageError for an empty value or one that git would read as an option.
 */
export function normalizeRepoUrl(spec: string, cwd: string = process.cwd(), env: Env = process.env): string {
  const s = spec.trim();
  if (!s) throw new UsageError('empty repository URL');
  if (s.startsWith('-')) throw new UsageError(`invalid repository URL '${s}': it must not start with '-'`);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(s)) return s;
  // git's rule for scp-like syntax: a colon before the first slash.
  if (/^[^/]+:/.test(s) && !s.startsWith('~')) return s;
  const abs = path.resolve(cwd, expandHome(s, env));
  return `file://${abs}`;
}

/**
 * Resolves flags, environment and defaults. Flags win over the environment; within the
 * environment BTFHUB_CACHE wins over BTFHUB_CACHE_DIR and BTFHUB_REPO over BTFHUB_REPO_URL.
 * @throws UsageError for malformed filters, empty URLs, or two URLs that map to one clone directory.
 */
export function resolveFetchConfig(
  input: FetchConfigInput = {},
  env: Env = process.env,
  cwd: string = process.cwd(),
): FetchConfig {
  const { cache, source: cacheSource } = resolveCacheDir(input.cache, env, cwd);

  let repoArgs: string[];
  let repoSource: string;
  const flagRepos = splitCommas(input.repos ?? []);
  if (flagRepos.length > 0) {
    repoArgs = flagRepos;
    repoSource = '--repo';
  } else {
    const e = firstEnv(env, REPO_ENV);
    repoArgs = e ? splitCommas([e.value]) : [DEFAULT_REPO];
    repoSource = e ? e.name : 'default';
    if (repoArgs.length === 0) repoArgs = [DEFAULT_REPO];
  }

  const reposDir = path.join(cache, REPOS_DIR);
  const repos: RepoSpec[] = [];
  for (const arg of repoArgs) {
    const url = normalizeRepoUrl(arg, cwd, env);
    if (repos.some((r) => r.url === url)) continue; // listed twice: the first occurrence counts
    const name = sanitizeRepoName(url);
    const clash = repos.find((r) => r.name === name);
    if (clash) {
      throw new UsageError(
        `repositories '${clash.input}' and '${arg}' map to the same cache directory ${name}; use one of them`,
      );
    }
    repos.push({ input: arg, url, name, dir: path.join(reposDir, name) });
  }

  const filter = parseKernelFilter({ distros: input.distros ?? [], arches: input.arches ?? [] });
  return {
    cache,
    reposDir,
    viewDir: path.join(cache, VIEW_DIR),
    repos,
    filter,
    source: { cache: cacheSource, repos: repoSource },
  };
}
