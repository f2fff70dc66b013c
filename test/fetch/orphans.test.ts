// A fetch killed with SIGKILL in the middle of `git clone` cannot end its git children; the next
// fetch must end them before it cleans up (issue 13): no orphan left running, no raw ENOTEMPTY,
// a clean result. The clone is held mid-way by an uploadpack.packObjectsHook (honoured from the
// global git config) that marks a file and sleeps before running git pack-objects.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FetchError } from '../../src/errors.js';
import { fetch, sanitizeRepoName } from '../../src/fetch/index.js';
import { removeTree } from '../../src/fetch/repo.js';
import { killOrphans, LOCK_FILE, processesWithToken } from '../../src/fetch/lock.js';
import { HAVE_ARCHIVES, NO_ARCHIVES, REPO_ROOT } from '../helpers/env.js';
import { cleanEnv, demoFiles, fileUrl, makeRepo, removeDir, tmpDir } from './helpers.js';

const VITE_NODE = path.join(REPO_ROOT, 'node_modules', '.bin', 'vite-node');
const CHILD = path.join(REPO_ROOT, 'test', 'fetch', 'fixtures', 'fetch-child.ts');
const LINUX = process.platform === 'linux' && existsSync('/proc/self/environ');
const why = !HAVE_ARCHIVES ? NO_ARCHIVES : !LINUX ? 'needs Linux /proc to see the git children' : undefined;

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(why !== undefined)(`fetch killed with SIGKILL mid-clone${why ? ` (skipped: ${why})` : ''}`, () => {
  let work: string;
  let url: string;
  let token: string | undefined;
  beforeAll(async () => {
    work = await tmpDir('btfgen-fetch-kill-');
    url = fileUrl(await makeRepo(path.join(work, 'up'), demoFiles()));
  });
  afterAll(async () => {
    if (token) await killOrphans(token); // whatever the outcome, leave no sleeping hook behind
    if (work) await removeDir(work);
  });

  it('the rerun ends the orphaned git processes, then cleans up and fetches', async () => {
    const cache = path.join(work, 'cache');
    const mark = path.join(work, 'hook-started');
    const hook = path.join(work, 'slow-pack-objects.sh');
    await writeFile(hook, `#!/bin/sh\n: > '${mark}'\nsleep 60\nexec "$@"\n`);
    await chmod(hook, 0o755);
    const slowConfig = path.join(work, 'gitconfig-slow');
    await writeFile(slowConfig, `[uploadpack]\n\tpackObjectsHook = ${hook}\n`);

    const child = spawn(VITE_NODE, [CHILD, url, cache], { env: cleanEnv({ GIT_CONFIG_GLOBAL: slowConfig }), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    await waitFor(() => existsSync(mark), 60_000, `the clone to reach pack-objects (child output: ${output})`);
    const lock = JSON.parse(await readFile(path.join(cache, LOCK_FILE), 'utf8')) as { token: string; pid: number };
    token = lock.token;
    child.kill('SIGKILL');
    await exited;

    // The setup reproduces the issue: git processes of the killed fetch are still running.
    const orphans = await processesWithToken(lock.token);
    expect(orphans.length).toBeGreaterThan(0);

    const result = await fetch({ repos: [url], cache, env: cleanEnv() });
    expect(await processesWithToken(lock.token)).toEqual([]);
    expect(result.kernels).toBe(4);
    const repos = path.join(cache, 'btfhub-archive-repos');
    expect(await readdir(repos)).toEqual([sanitizeRepoName(url)]);
    expect(existsSync(path.join(cache, LOCK_FILE))).toBe(false);
  }, 120_000);

  // The cleanup itself: a writer still adding files to a tree being removed (what made rm fail
  // with a raw ENOTEMPTY) is outlasted by removeTree's retries.
  it('removeTree outlasts a writer that keeps adding files', async () => {
    const dir = path.join(work, 'busy');
    const pack = path.join(dir, '.git', 'objects', 'pack');
    await mkdir(pack, { recursive: true });
    for (let i = 0; i < 2000; i++) await writeFile(path.join(pack, `old${i}`), 'x');
    let writing = true;
    let n = 0;
    const writer = (async () => {
      while (writing && n < 1500) await writeFile(path.join(pack, `new${n++}`), 'x').catch(() => undefined);
    })();
    const removed = removeTree(dir).then(
      () => 'ok',
      (e: unknown) => (e instanceof FetchError ? `FetchError: ${e.message}` : `raw: ${String(e)}`),
    );
    const outcome = await removed;
    writing = false;
    await writer;
    expect(outcome).toBe('ok');
  });
});
