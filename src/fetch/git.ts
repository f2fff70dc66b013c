// Running git through simple-git: one instance per command, with the caller's environment,
// git's own progress (only when someone listens), stderr kept for warnings, and errors turned
// into one readable line.
import { existsSync } from 'node:fs';
import { simpleGit, type SimpleGitOptions, type SimpleGitProgressEvent } from 'simple-git';
import { FetchError } from '../errors.js';
import type { Env } from './config.js';

export interface GitProgress {
  /** git sub-command: clone, fetch, checkout. */
  method: string;
  /** git's stage, lower case: counting, compressing, receiving, resolving, updating... */
  stage: string;
  percent: number;
  processed: number;
  total: number;
}

export interface GitContext {
  env: Env;
  onProgress?: (p: GitProgress) => void;
  signal?: AbortSignal;
}

export interface GitOutput {
  stdout: string;
  stderr: string;
}

/**
 * The environment git runs with: the caller's, never prompting on a terminal for credentials
 * (a wrong https URL must fail, not hang), with stable English messages.
 */
function gitEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  out.GIT_TERMINAL_PROMPT = '0';
  out.LC_ALL = 'C';
  return out;
}

// simple-git refuses to pass some environment variables (EDITOR, PAGER, GIT_SSH_COMMAND,
// GIT_ASKPASS, GIT_CONFIG_*...) unless told to, to protect programs that forward untrusted
// input. Here the environment is the user's own and our argument lists are fixed (URLs are
// validated and never start with '-'), so the categories that the environment can trigger are
// allowed; those guarding arguments (--upload-pack, protocol overrides, custom binary) stay blocked.
const ENV_UNSAFE: NonNullable<SimpleGitOptions['unsafe']> = {
  allowUnsafeEditor: true,
  allowUnsafeAskPass: true,
  allowUnsafeConfigPaths: true,
  allowUnsafeConfigEnvCount: true,
  allowUnsafeDiffExternal: true,
  allowUnsafePager: true,
  allowUnsafeGitProxy: true,
  allowUnsafeTemplateDir: true,
  allowUnsafeSshCommand: true,
};

/** Runs `git <args>` in `cwd`. Rejects with the raw simple-git error; see describeGitError. */
export async function git(ctx: GitContext, cwd: string, args: string[]): Promise<GitOutput> {
  const options: Partial<SimpleGitOptions> = { baseDir: cwd, trimmed: false, unsafe: ENV_UNSAFE };
  if (ctx.onProgress) {
    const onProgress = ctx.onProgress;
    options.progress = (e: SimpleGitProgressEvent) =>
      onProgress({ method: e.method, stage: e.stage, percent: e.progress, processed: e.processed, total: e.total });
  }
  if (ctx.signal) options.abort = ctx.signal;
  let stderr = '';
  const g = simpleGit(options)
    .env(gitEnv(ctx.env))
    .outputHandler((_cmd, _stdout, err) => {
      err.on('data', (chunk: Buffer | string) => {
        stderr += chunk.toString();
      });
    });
  const stdout = await g.raw(args);
  return { stdout, stderr };
}

/** Is git on the PATH of `env`? Returns its version string, or undefined. */
export async function gitVersion(ctx: GitContext, cwd: string): Promise<string | undefined> {
  if (!existsSync(cwd)) return undefined;
  try {
    const v = await simpleGit({ baseDir: cwd, unsafe: ENV_UNSAFE }).env(gitEnv(ctx.env)).version();
    return v.installed ? `${v.major}.${v.minor}.${String(v.patch)}` : undefined;
  } catch {
    return undefined;
  }
}

/** The useful part of a git failure: its `fatal:`/`error:` lines, else its last line. */
export function describeGitError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^(Cloning into|remote: (Counting|Compressing|Enumerating|Total)|Receiving|Resolving)/.test(l));
  const important = lines.filter((l) => /^(fatal|error|ssh|remote: (fatal|error)):/i.test(l));
  const pick = important.length ? important : lines.slice(-1);
  const msg = pick
    .slice(0, 3)
    .map((l) => l.replace(/^(fatal|error):\s*/i, ''))
    .join('; ');
  if (/ENOSPC|No space left on device/i.test(text)) return `${msg || 'write failed'} (disk full?)`;
  return msg || 'git failed';
}

/** Wraps a git failure into a FetchError naming the repository and the step. */
export function gitFailure(url: string, step: string, err: unknown): FetchError {
  if (err instanceof FetchError) return err;
  return new FetchError(`${url}: ${step} failed: ${describeGitError(err)}`, { cause: err });
}
