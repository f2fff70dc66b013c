// `node bin/btfgen fetch` end to end: exit codes, the one-line summary, quiet stderr.
// Needs the build (`npx tsc -p .`, dist/) and the shared data.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, DIST, HAVE_ARCHIVES, REPO_ROOT } from '../helpers/env.js';
import { BC, C80, cleanEnv, D17, demoFiles, extraFiles, KY, listTree, makeRepo, removeDir, tmpDir, U26, U29 } from './helpers.js';

const BUILT = path.join(DIST, 'cli/fetch.js');
const HAVE_BUILD = existsSync(BUILT) && readFileSync(BUILT, 'utf8').includes('summaryLine');
if (!HAVE_BUILD) console.warn(`${BUILT} missing or stale: run \`npx tsc -p .\` first; skipping the fetch CLI tests`);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function btfgen(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, cwd: REPO_ROOT, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(!HAVE_ARCHIVES || !HAVE_BUILD)('btfgen fetch (CLI)', () => {
  let work: string;
  let upA: string;
  let upB: string;
  let n = 0;
  const newCache = (): string => path.join(work, `cache${++n}`);

  beforeAll(async () => {
    work = await tmpDir('btfgen-fetch-cli-');
    upA = await makeRepo(path.join(work, 'upA'), demoFiles());
    upB = await makeRepo(path.join(work, 'upB'), extraFiles());
  });
  afterAll(async () => {
    if (work) await removeDir(work);
  });

  it('prints one summary line on stdout, nothing on stderr when it is not a terminal, exit 0', async () => {
    const cache = newCache();
    const r = await btfgen(['fetch', '--repo', upA, '--repo', upB, '--cache', cache], cleanEnv());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        '^btfhub archive: 6 kernels \\(bclinux x86_64 1, centos x86_64 1, debian x86_64 1, kylin aarch64 1, ' +
          'ubuntu x86_64 2\\) from 2 repositories \\(2 cloned\\), [0-9.]+ MiB on disk in ' +
          `${path.join(cache, 'btfhub-archive').replace(/[.]/g, '\\.')}$`,
      ),
    );
    const again = await btfgen(['fetch', '--repo', `${upA},${upB}`, '--cache', cache, '--arch', 'aarch64'], cleanEnv());
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^btfhub archive: 1 kernel \(kylin aarch64 1\) from 2 repositories \(2 updated\)/);
  });

  it('takes its settings from BTFHUB_CACHE_DIR / BTFHUB_REPO_URL; --quiet prints nothing; --verbose reports steps', async () => {
    const cache = newCache();
    const r = await btfgen(['fetch', '--quiet', '--distro', 'debian'], cleanEnv({ BTFHUB_CACHE_DIR: cache, BTFHUB_REPO_URL: upA }));
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await listTree(path.join(cache, 'btfhub-archive'))).toEqual([D17]);
    const v = await btfgen(['fetch', '--verbose', '--cache', cache, '--repo', upA], cleanEnv());
    expect(v.code).toBe(0);
    expect(v.stderr).toMatch(/^updating .*upA in /m);
  });

  it('exits 1 with one line naming a wrong repository, and leaves no cache behind', async () => {
    const cache = newCache();
    const bad = path.join(work, 'nope');
    const r = await btfgen(['fetch', '--repo', bad, '--cache', cache], cleanEnv());
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^Error: ${bad}: git clone failed: .*does not appear to be a git repository`));
    expect(existsSync(cache)).toBe(false);
  });

  it('exits 1 when git is missing, 2 on a malformed filter or flag', async () => {
    const cache = newCache();
    const noGit = await btfgen(['fetch', '--repo', upA, '--cache', cache], { ...cleanEnv(), PATH: path.join(work, 'empty-bin') });
    expect(noGit.code).toBe(1);
    expect(noGit.stderr).toMatch(/^Error: git was not found on PATH/);
    const badDistro = await btfgen(['fetch', '--repo', upA, '--cache', cache, '--distro', 'ubuntu/20.04/x86_64'], cleanEnv());
    expect(badDistro.code).toBe(2);
    expect(badDistro.stderr).toMatch(/invalid --distro/);
    const badTimeout = await btfgen(['fetch', '--lock-timeout', 'soon'], cleanEnv());
    expect(badTimeout.code).toBe(2);
    const unknown = await btfgen(['fetch', '--frobnicate'], cleanEnv());
    expect(unknown.code).not.toBe(0);
  });

  it('waits for a lock held by a live process, saying so, then runs', async () => {
    const cache = newCache();
    await mkdir(cache, { recursive: true });
    const lock = path.join(cache, '.btfgen-fetch.lock');
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), since: 'test' }));
    const child = spawn(process.execPath, [BIN, 'fetch', '--repo', upA, '--cache', cache], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    // Release our lock only once the child says it is waiting for it.
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('waiting for another btfgen fetch')) void rm(lock, { force: true });
    });
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(code).toBe(0);
    expect(stderr).toMatch(new RegExp(`^warning: waiting for another btfgen fetch \\(pid ${process.pid} on .*\\) to finish with ${cache}`));
    expect(stdout).toMatch(/^btfhub archive: 4 kernels/);
  });

  it('runs two processes at once on one cache without corrupting it', async () => {
    const cache = newCache();
    const args = ['fetch', '--repo', upA, '--repo', upB, '--cache', cache];
    const [a, b] = await Promise.all([btfgen(args, cleanEnv()), btfgen(args, cleanEnv())]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(await listTree(path.join(cache, 'btfhub-archive'))).toEqual([BC, C80, D17, KY, U26, U29].sort());
    expect(existsSync(path.join(cache, '.btfgen-fetch.lock'))).toBe(false);
  });

  it('recovers from a run killed (with its git children) at any point after taking the lock', async () => {
    for (const delayMs of [0, 60, 150, 300]) {
      const cache = newCache();
      const lock = path.join(cache, '.btfgen-fetch.lock');
      const child = spawn(process.execPath, [BIN, 'fetch', '--repo', upA, '--repo', upB, '--cache', cache], {
        env: cleanEnv(),
        detached: true, // own process group: kill it whole, as Ctrl-C would
        stdio: 'ignore',
      });
      const exited = new Promise<void>((r) => child.on('exit', () => r()));
      let done = false;
      void exited.then(() => (done = true));
      while (!done && !existsSync(lock)) await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, delayMs));
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already finished */
      }
      await exited;
      const r = await btfgen(['fetch', '--repo', upA, '--repo', upB, '--cache', cache], cleanEnv());
      expect(r.stderr.replace(/^warning: .*(no valid HEAD|interrupted|no \.git).*\n/gm, ''), `killed after ${delayMs} ms`).toBe('');
      expect(r.code).toBe(0);
      expect(await listTree(path.join(cache, 'btfhub-archive'))).toEqual([BC, C80, D17, KY, U26, U29].sort());
      expect((await readdir(cache)).sort()).toEqual(['btfhub-archive', 'btfhub-archive-repos']);
      expect((await readdir(path.join(cache, 'btfhub-archive-repos'))).length).toBe(2);
    }
  });

  it('documents flags and environment variables in --help', async () => {
    const r = await btfgen(['fetch', '--help'], cleanEnv());
    expect(r.code).toBe(0);
    for (const s of ['--repo', '--cache', '--distro', '--arch', 'BTFHUB_CACHE_DIR', 'BTFHUB_REPO_URL', 'aarch64', '--archive']) {
      expect(r.stdout).toContain(s);
    }
  });
});
