// Where the btfhub cache and its merged archive live by default: flags first, then the
// environment of the old `script/btfgen` (BTFHUB_CACHE) and the spelling its README documented
// (BTFHUB_CACHE_DIR), then `~/.cache/eunomia/btfhub`. Shared by fetch (which fills the cache)
// and pack (which reads it), so neither imports the other.
import os from 'node:os';
import path from 'node:path';

/** Relative to the home directory. */
export const DEFAULT_CACHE = '.cache/eunomia/btfhub';
/** `$CACHE/<VIEW_DIR>/`: the merged archive that `pack` reads. */
export const VIEW_DIR = 'btfhub-archive';
/** `$CACHE/<PACK_CACHE_DIR>/`: pack's result cache. */
export const PACK_CACHE_DIR = 'pack-cache';
/** Environment variables for the cache directory, in priority order. */
export const CACHE_ENV = ['BTFHUB_CACHE', 'BTFHUB_CACHE_DIR'] as const;

export type Env = Readonly<Record<string, string | undefined>>;

export function firstEnv(env: Env, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

function homeOf(env: Env): string {
  return env.HOME?.trim() || os.homedir();
}

/** Expands a leading `~` or `~/` (environment values are often quoted, so the shell did not). */
export function expandHome(p: string, env: Env = process.env): string {
  if (p === '~') return homeOf(env);
  if (p.startsWith('~/')) return path.join(homeOf(env), p.slice(2));
  return p;
}

/** The cache directory (absolute) and where it came from: `--cache`, a variable name or `default`. */
export function resolveCacheDir(flag: string | undefined, env: Env = process.env, cwd: string = process.cwd()): { cache: string; source: string } {
  let cache: string;
  let source: string;
  if (flag !== undefined && flag.trim() !== '') {
    cache = flag.trim();
    source = '--cache';
  } else {
    const e = firstEnv(env, CACHE_ENV);
    cache = e ? e.value : path.join(homeOf(env), DEFAULT_CACHE);
    source = e ? e.name : 'default';
  }
  return { cache: path.resolve(cwd, expandHome(cache, env)), source };
}

/** pack's directories: the archive (default the merged view), the cache, the result cache. */
export function resolveArchivePaths(
  options: { archive?: string; cache?: string; cacheDir?: string },
  env: Env = process.env,
  cwd: string = process.cwd(),
): { archive: string; cache: string; cacheDir: string } {
  const { cache } = resolveCacheDir(options.cache, env, cwd);
  const archive = options.archive !== undefined ? path.resolve(cwd, options.archive) : path.join(cache, VIEW_DIR);
  const cacheDir = options.cacheDir !== undefined ? path.resolve(cwd, options.cacheDir) : path.join(cache, PACK_CACHE_DIR);
  return { archive, cache, cacheDir };
}
