// Builds real git repositories in a temp directory from small subsets of the shared
// btfhub-archive data (../shared/data, never copied into the project).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { HAVE_ARCHIVES, NO_ARCHIVES, SHARED_DATA } from '../helpers/env.js';

if (!HAVE_ARCHIVES) console.warn(NO_ARCHIVES);

/** File content for makeRepo: copied from the shared data, literal text, or a symlink. */
export type Content = { from: string } | { text: string } | { symlink: string };

/** Git identity and isolation from the user's configuration. */
export const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function tmpDir(prefix = 'btfgen-fetch-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Writes `files` into `dir` (relative paths) without committing. */
export async function writeFiles(dir: string, files: Record<string, Content>): Promise<void> {
  for (const [rel, c] of Object.entries(files)) {
    const dst = path.join(dir, rel);
    await mkdir(path.dirname(dst), { recursive: true });
    await rm(dst, { force: true });
    if ('from' in c) await copyFile(path.join(SHARED_DATA, c.from), dst);
    else if ('text' in c) await writeFile(dst, c.text);
    else await symlink(c.symlink, dst);
  }
}

/** Creates a git repository at `dir` holding `files`, one commit on `main`. Returns `dir`. */
export async function makeRepo(dir: string, files: Record<string, Content>): Promise<string> {
  await mkdir(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  await writeFiles(dir, files);
  commitAll(dir, 'initial');
  return dir;
}

export function commitAll(dir: string, message: string): string {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD').trim();
}

export const U26 = 'ubuntu/20.04/x86_64/5.4.0-26-generic.btf.tar.xz';
export const U29 = 'ubuntu/20.04/x86_64/5.4.0-29-generic.btf.tar.xz';
export const U31 = 'ubuntu/20.04/x86_64/5.4.0-31-generic.btf.tar.xz';
export const D17 = 'debian/10/x86_64/4.19.0-17-cloud-amd64.btf.tar.xz';
export const C80 = 'centos/8/x86_64/4.18.0-80.el8.x86_64.btf.tar.xz';
export const KY = 'kylin/V10/aarch64/4.19.90-52.22.v2207.ky10.aarch64.btf.tar.xz';
export const BC = 'bclinux/21.10U3/x86_64/4.19.90-2107.6.0.0248.35.oe1.bclinux.x86_64.btf.tar.xz';

/** A small upstream-like archive: 4 x86_64 kernels, a codename symlink, a flat codename file, non-kernel files. */
export function demoFiles(): Record<string, Content> {
  return {
    [U26]: { from: `btfhub-archive-demo/${U26}` },
    [U29]: { from: `btfhub-archive-demo/${U29}` },
    [D17]: { from: `btfhub-archive-demo/${D17}` },
    [C80]: { from: `btfhub-archive-demo/${C80}` },
    'ubuntu/focal': { symlink: '20.04' },
    'debian/buster': { from: 'btfhub-archive-demo/debian/buster' },
    LICENSE: { from: 'btfhub-archive-demo/LICENSE' },
    'README.md': { from: 'btfhub-archive-demo/README.md' },
    '.github/workflows/update.yml': { text: 'name: update\n' },
  };
}

/**
 * A second archive with `aarch64` arch directories, plus one kernel path that the demo subset
 * also has (with different bytes: the demo's 5.4.0-31 file), to see which repository wins.
 */
export function extraFiles(): Record<string, Content> {
  return {
    [KY]: { from: `btfhub-archive-extra/${KY}` },
    [BC]: { from: `btfhub-archive-extra/${BC}` },
    [U26]: { from: `btfhub-archive-demo/${U31}` },
    LICENSE: { from: 'btfhub-archive-extra/LICENSE' },
    'README.md': { from: 'btfhub-archive-extra/README.md' },
  };
}

/** `file://` URL of a local path. */
export function fileUrl(p: string): string {
  return `file://${p}`;
}

/** Environment for fetch() that ignores the caller's BTFHUB_* settings. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of ['BTFHUB_CACHE', 'BTFHUB_CACHE_DIR', 'BTFHUB_REPO', 'BTFHUB_REPO_URL']) delete env[k];
  return { ...env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', ...extra };
}

/** Sorted relative paths of regular files and symlinks below `dir` (excluding `.git`). */
export async function listTree(dir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const out: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  if (existsSync(dir)) await walk(dir, '');
  return out.sort();
}
