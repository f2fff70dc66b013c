// fetch() against real git repositories built in a temp directory (file:// URLs, no network).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FetchError } from '../../src/errors.js';
import { listKernels } from '../../src/archive/walk.js';
import { fetch, sanitizeRepoName, type FetchEvent, type FetchOptions } from '../../src/fetch/index.js';
import { INCOMPLETE_MARKER } from '../../src/fetch/repo.js';
import { LOCK_FILE } from '../../src/fetch/lock.js';
import { ARCHIVE_DEMO, HAVE_ARCHIVES } from '../helpers/env.js';
import { BC, C80, cleanEnv, commitAll, D17, demoFiles, extraFiles, fileUrl, git, KY, listTree, makeRepo, removeDir, tmpDir, U26, U29, U31, writeFiles } from './helpers.js';

const repoDir = (cache: string, url: string): string => path.join(cache, 'btfhub-archive-repos', sanitizeRepoName(url));
const viewOf = (cache: string): string => path.join(cache, 'btfhub-archive');

/** Files of a cache outside `.git` directories, with inode and size: what a user would see change. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      const st = await lstat(path.join(d, e.name));
      if (e.isDirectory()) await walk(path.join(d, e.name), r);
      else out.push(`${r} ino=${st.ino} size=${st.size}`);
    }
  };
  if (existsSync(dir)) await walk(dir, '');
  return out.sort();
}

describe.skipIf(!HAVE_ARCHIVES)('fetch (real git repositories from ../shared/data)', () => {
  let work: string;
  let upA: string;
  let upB: string;
  let n = 0;
  const newCache = (): string => path.join(work, `cache${++n}`);
  const run = (opts: FetchOptions): ReturnType<typeof fetch> => fetch({ env: cleanEnv(), ...opts });

  beforeAll(async () => {
    work = await tmpDir();
    upA = await makeRepo(path.join(work, 'upA'), demoFiles());
    upB = await makeRepo(path.join(work, 'upB'), extraFiles());
  });
  afterAll(async () => {
    if (work) await removeDir(work);
  });

  it('clones shallow and builds a merged view of kernels only (no aliases, no LICENSE, no flat codename file)', async () => {
    const cache = newCache();
    const r = await run({ repos: [upA], cache });
    const dir = repoDir(cache, fileUrl(upA));
    expect(r.repos).toHaveLength(1);
    expect(r.repos[0]).toMatchObject({ action: 'cloned', dir, url: fileUrl(upA), input: upA, partial: false, treeKernels: 4, kernels: 4 });
    expect(r.repos[0]!.sparse).toBeUndefined();
    expect(git(dir, 'rev-parse', '--is-shallow-repository').trim()).toBe('true');
    expect(git(dir, 'rev-parse', 'HEAD').trim()).toBe(git(upA, 'rev-parse', 'HEAD').trim());
    // The clone is complete (a full checkout), the view has only the kernels.
    expect(await listTree(dir)).toContain('LICENSE');
    expect(await listTree(viewOf(cache))).toEqual([C80, D17, U26, U29].sort());
    expect(r.archiveDir).toBe(viewOf(cache));
    expect(r.kernels).toBe(4);
    expect(r.groups).toEqual([
      { id: 'centos', arch: 'x86_64', count: 1 },
      { id: 'debian', arch: 'x86_64', count: 1 },
      { id: 'ubuntu', arch: 'x86_64', count: 2 },
    ]);
    expect(r.diskBytes).toBeGreaterThan(3_000_000);
    expect(r.linkMode).toBe('hardlink');
    // Links, not copies.
    const a = await stat(path.join(viewOf(cache), U26));
    const b = await stat(path.join(dir, U26));
    expect(a.ino).toBe(b.ino);
    expect((await listKernels(r.archiveDir)).map((k) => k.relPath)).toEqual([C80, D17, U26, U29].sort());
    expect(existsSync(path.join(cache, LOCK_FILE))).toBe(false);
    expect(r.warnings).toEqual([]);
  });

  it('merges two repositories: each kernel path once, the first repository wins', async () => {
    const cache = newCache();
    const r = await run({ repos: [upA, upB], cache });
    expect(await listTree(viewOf(cache))).toEqual([BC, C80, D17, KY, U26, U29].sort());
    expect(r.repos.map((x) => x.kernels)).toEqual([4, 2]);
    const demo26 = await readFile(path.join(ARCHIVE_DEMO, U26));
    const demo31 = await readFile(path.join(ARCHIVE_DEMO, U31));
    expect((await readFile(path.join(viewOf(cache), U26))).equals(demo26)).toBe(true);
    expect(r.groups).toContainEqual({ id: 'kylin', arch: 'aarch64', count: 1 });

    // Same cache, other order: the other copy wins, and the view is rebuilt.
    const r2 = await run({ repos: [upB, upA], cache });
    expect(r2.repos.map((x) => x.action)).toEqual(['updated', 'updated']);
    expect(r2.repos.map((x) => x.kernels)).toEqual([3, 3]);
    expect((await readFile(path.join(viewOf(cache), U26))).equals(demo31)).toBe(true);
  });

  it('checks out only the requested distro (sparse), in every repository', async () => {
    const cache = newCache();
    const r = await run({ repos: [upA, upB], cache, distros: ['ubuntu'] });
    expect(r.repos[0]!.sparse).toEqual(['/ubuntu/*/']);
    expect(await listTree(viewOf(cache))).toEqual([U26, U29]);
    // The clone itself holds nothing outside ubuntu/'s version directories (not even the focal alias).
    expect(await listTree(repoDir(cache, fileUrl(upA)))).toEqual([U26, U29]);
    expect(await listTree(repoDir(cache, fileUrl(upB)))).toEqual([U26]);
    expect(r.repos.map((x) => x.kernels)).toEqual([2, 0]);
  });

  it('follows a codename alias in --distro ID/CODENAME', async () => {
    const cache = newCache();
    const events: FetchEvent[] = [];
    const r = await run({ repos: [upA], cache, distros: ['ubuntu/focal'], onEvent: (e) => events.push(e) });
    expect(r.repos[0]!.sparse).toEqual(['/ubuntu/20.04/']);
    expect(await listTree(viewOf(cache))).toEqual([U26, U29]);
    expect(events.some((e) => e.type === 'info' && /ubuntu\/focal is an alias of ubuntu\/20\.04/.test(e.message))).toBe(true);
    expect(r.warnings).toEqual([]);
  });

  it('checks out only the requested arch; arm64 matches aarch64 directories', async () => {
    const cache = newCache();
    const r = await run({ repos: [upA, upB], cache, arches: ['arm64'] });
    expect(r.repos[0]!.sparse).toEqual(['/*/*/arm64/', '/*/*/aarch64/']);
    expect(await listTree(viewOf(cache))).toEqual([KY]);
    expect(await listTree(repoDir(cache, fileUrl(upA)))).toEqual([]);
    expect(await listTree(repoDir(cache, fileUrl(upB)))).toEqual([KY]);

    const cache2 = newCache();
    await run({ repos: [upA, upB], cache: cache2, arches: ['x86_64'], distros: ['bclinux', 'centos/8'] });
    expect(await listTree(viewOf(cache2))).toEqual([BC, C80]);
  });

  it('changes the sparse set when the filters change', async () => {
    const cache = newCache();
    const dir = repoDir(cache, fileUrl(upA));
    await run({ repos: [upA], cache, distros: ['debian'] });
    expect(await listTree(dir)).toEqual([D17]);
    let r = await run({ repos: [upA], cache, distros: ['centos', 'ubuntu/20.04'] });
    expect(r.repos[0]!.action).toBe('updated');
    expect(await listTree(dir)).toEqual([C80, U26, U29]);
    expect(await listTree(viewOf(cache))).toEqual([C80, U26, U29]);
    r = await run({ repos: [upA], cache });
    expect(r.repos[0]!.sparse).toBeUndefined();
    expect(git(dir, 'config', '--get', 'core.sparseCheckout').trim()).toBe('false');
    expect(await listTree(viewOf(cache))).toEqual([C80, D17, U26, U29].sort());
    expect(await listTree(dir)).toContain('LICENSE');
  });

  it('uses a partial clone when the server allows filters, and a plain shallow clone when not', async () => {
    const upF = path.join(work, 'upF');
    git(work, 'clone', '-q', '--bare', '--no-local', upA, upF);
    git(upF, 'config', 'uploadpack.allowFilter', 'true');
    const cache = newCache();
    const r = await run({ repos: [upF], cache, distros: ['debian'] });
    const dir = repoDir(cache, fileUrl(upF));
    expect(r.repos[0]!.partial).toBe(true);
    expect(git(dir, 'config', '--get', 'remote.origin.promisor').trim()).toBe('true');
    // Blobs outside the sparse set were never downloaded.
    const missing = git(dir, 'rev-list', '--objects', '--missing=print', 'HEAD').split('\n').filter((l) => l.startsWith('?'));
    expect(missing.length).toBeGreaterThanOrEqual(3);
    expect(await listTree(viewOf(cache))).toEqual([D17]);
    // Widening the set later fetches what is missing.
    await run({ repos: [upF], cache, distros: ['debian', 'centos'] });
    expect(await listTree(viewOf(cache))).toEqual([C80, D17]);

    // The upA server does not allow filters: git falls back, and so do we, silently.
    const cache2 = newCache();
    const r2 = await run({ repos: [upA], cache: cache2, distros: ['debian'] });
    expect(r2.repos[0]!.partial).toBe(false);
    expect(r2.warnings).toEqual([]);
    expect(() => git(repoDir(cache2, fileUrl(upA)), 'config', '--get', 'remote.origin.promisor')).toThrow();
  });

  it('updates to the new upstream head on a second run (added and removed kernels)', async () => {
    const up = await makeRepo(path.join(work, 'upU'), demoFiles());
    const cache = newCache();
    const first = await run({ repos: [up], cache });
    const dir = repoDir(cache, fileUrl(up));
    const h1 = first.repos[0]!.head;

    await writeFiles(up, { [U31]: { from: `btfhub-archive-demo/${U31}` } });
    await rm(path.join(up, D17));
    const h2 = commitAll(up, 'add 5.4.0-31, drop debian 4.19.0-17');

    const r = await run({ repos: [up], cache });
    expect(r.repos[0]).toMatchObject({ action: 'updated', head: h2, previousHead: h1 });
    expect(git(dir, 'rev-parse', 'HEAD').trim()).toBe(h2);
    expect(git(dir, 'rev-parse', '--is-shallow-repository').trim()).toBe('true');
    expect(git(dir, 'status', '--porcelain').trim()).toBe('');
    expect(await listTree(viewOf(cache))).toEqual([C80, U26, U29, U31]);

    // Nothing new upstream: an update is a no-op that still succeeds.
    const r3 = await run({ repos: [up], cache });
    expect(r3.repos[0]).toMatchObject({ action: 'updated', head: h2, previousHead: h2 });
  });

  it('repairs a half-finished clone, an interrupted update and leftovers of an interrupted run', async () => {
    const cache = newCache();
    const dir = repoDir(cache, fileUrl(upA));
    // What an interrupted `git clone` straight into the target (the old script) leaves: no HEAD commit.
    await mkdir(dir, { recursive: true });
    git(dir, 'init', '-q');
    await writeFile(path.join(dir, 'partial-file'), 'x');
    // Leftovers of an interrupted btfgen run: a temp clone and a temp view.
    const tmpClone = path.join(cache, 'btfhub-archive-repos', `.${sanitizeRepoName(fileUrl(upA))}.tmp-99999-deadbeef`);
    const tmpView = path.join(cache, '.btfhub-archive.tmp-99999-deadbeef');
    await mkdir(path.join(tmpClone, '.git'), { recursive: true });
    await mkdir(tmpView, { recursive: true });
    const events: FetchEvent[] = [];
    const r = await run({ repos: [upA], cache, onEvent: (e) => events.push(e) });
    expect(r.repos[0]!.action).toBe('repaired');
    expect(events.some((e) => e.type === 'warning' && /no valid HEAD/.test(e.message))).toBe(true);
    expect(existsSync(tmpClone)).toBe(false);
    expect(existsSync(tmpView)).toBe(false);
    expect(existsSync(path.join(dir, 'partial-file'))).toBe(false);
    expect(await listTree(viewOf(cache))).toEqual([C80, D17, U26, U29].sort());

    // An update interrupted half-way: marker left, worktree damaged, a stray file.
    await writeFile(path.join(dir, '.git', INCOMPLETE_MARKER), '1 interrupted\n');
    await rm(path.join(dir, U29));
    await writeFile(path.join(dir, 'ubuntu/20.04/x86_64/stray.btf'), 'junk');
    const r2 = await run({ repos: [upA], cache });
    expect(r2.repos[0]!.action).toBe('repaired');
    expect(existsSync(path.join(dir, '.git', INCOMPLETE_MARKER))).toBe(false);
    expect(await listTree(viewOf(cache))).toEqual([C80, D17, U26, U29].sort());
    expect(git(dir, 'status', '--porcelain').trim()).toBe('');

    // A directory that is not a clone at all (no .git): replaced by a clone.
    await rm(path.join(dir, '.git'), { recursive: true });
    const r3 = await run({ repos: [upA], cache });
    expect(r3.repos[0]!.action).toBe('repaired');
    expect(git(dir, 'rev-parse', '--is-shallow-repository').trim()).toBe('true');

    // A view moved aside by a rebuild interrupted between its two renames is put back even if
    // the next fetch fails.
    await rename(viewOf(cache), path.join(cache, '.btfhub-archive.old-99999-0badcafe'));
    await expect(run({ repos: [path.join(work, 'no-such-repo')], cache })).rejects.toThrow(FetchError);
    expect(await listTree(viewOf(cache))).toEqual([C80, D17, U26, U29].sort());
  });

  it('serializes two fetches on one cache with a lock; both succeed and the cache is consistent', async () => {
    const cache = newCache();
    const events: FetchEvent[][] = [[], []];
    const [r1, r2] = await Promise.all([
      run({ repos: [upA, upB], cache, onEvent: (e) => events[0]!.push(e) }),
      run({ repos: [upA, upB], cache, onEvent: (e) => events[1]!.push(e) }),
    ]);
    const actions = [r1.repos[0]!.action, r2.repos[0]!.action].sort();
    expect(actions).toEqual(['cloned', 'updated']);
    const waited = events.flat().filter((e) => e.type === 'warning' && /waiting for another btfgen fetch/.test(e.message));
    expect(waited).toHaveLength(1);
    expect(await listTree(viewOf(cache))).toEqual([BC, C80, D17, KY, U26, U29].sort());
    expect((await readdir(cache)).sort()).toEqual(['btfhub-archive', 'btfhub-archive-repos']);
    expect((await readdir(path.join(cache, 'btfhub-archive-repos'))).length).toBe(2);
  });

  it('gives up waiting for the lock after the timeout, naming the holder', async () => {
    const cache = newCache();
    await mkdir(cache, { recursive: true });
    await writeFile(path.join(cache, LOCK_FILE), JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), since: 'now' }));
    await expect(run({ repos: [upA], cache, lockTimeoutMs: 300 })).rejects.toThrow(/cache is locked by process \d+/);
    await rm(path.join(cache, LOCK_FILE));
  });

  it('fails on a wrong URL with a message naming it, leaving a fresh cache absent and an existing one as it was', async () => {
    const bad = path.join(work, 'does-not-exist');
    const fresh = path.join(newCache(), 'nested');
    const err = await run({ repos: [bad], cache: fresh }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FetchError);
    expect((err as Error).message).toContain(bad);
    expect((err as Error).message).toMatch(/git clone failed: .*does not appear to be a git repository/);
    expect(existsSync(path.dirname(fresh))).toBe(false);

    const cache = newCache();
    await run({ repos: [upA], cache });
    const head = git(repoDir(cache, fileUrl(upA)), 'rev-parse', 'HEAD');
    const before = await snapshot(cache);
    await expect(run({ repos: [upA, bad], cache, distros: ['ubuntu'] })).rejects.toThrow(bad);
    expect(await snapshot(cache)).toEqual(before);
    expect(git(repoDir(cache, fileUrl(upA)), 'rev-parse', 'HEAD')).toBe(head);
    expect(await listTree(viewOf(cache))).toEqual([C80, D17, U26, U29].sort());
  });

  it('rejects a repository that is not a btfhub archive (or empty), leaving the cache as it was', async () => {
    const notArchive = await makeRepo(path.join(work, 'notArchive'), {
      'README.md': { text: '# some project\n' },
      'src/main.c': { text: 'int main(void) { return 0; }\n' },
      'ubuntu/focal': { text: '20.04' },
    });
    const cache = newCache();
    await run({ repos: [upA], cache });
    const before = await snapshot(cache);
    const err = await run({ repos: [upA, notArchive], cache }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FetchError);
    expect((err as Error).message).toContain(notArchive);
    expect((err as Error).message).toMatch(/not a btfhub-archive repository/);
    expect(await snapshot(cache)).toEqual(before);

    const empty = path.join(work, 'emptyRepo');
    await mkdir(empty);
    git(empty, 'init', '-q', '--bare');
    await expect(run({ repos: [empty], cache })).rejects.toThrow(/not a btfhub-archive repository: it has no commits/);
    expect(await snapshot(cache)).toEqual(before);

    // An existing clone whose upstream stops being an archive is not updated.
    const up = await makeRepo(path.join(work, 'upGone'), demoFiles());
    const cache2 = newCache();
    await run({ repos: [up], cache: cache2 });
    const before2 = await snapshot(cache2);
    git(up, 'rm', '-q', '-r', 'ubuntu', 'debian', 'centos');
    commitAll(up, 'remove everything');
    await expect(run({ repos: [up], cache: cache2 })).rejects.toThrow(/not a btfhub-archive repository/);
    expect(await snapshot(cache2)).toEqual(before2);
  });

  it('fails clearly when git is missing from PATH', async () => {
    const cache = newCache();
    const err = await fetch({ repos: [upA], cache, env: { ...cleanEnv(), PATH: path.join(work, 'no-bin') } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FetchError);
    expect((err as Error).message).toMatch(/git was not found on PATH/);
    expect(existsSync(cache)).toBe(false);
  });

  it('reads BTFHUB_CACHE/BTFHUB_REPO (and the _DIR/_URL spellings); flags win', async () => {
    const cache = newCache();
    const r = await fetch({ env: cleanEnv({ BTFHUB_CACHE: cache, BTFHUB_REPO: `${upA},${upB}` }) });
    expect(r.cache).toBe(cache);
    expect(r.repos.map((x) => x.input)).toEqual([upA, upB]);

    const cache2 = newCache();
    const r2 = await fetch({ env: cleanEnv({ BTFHUB_CACHE_DIR: cache2, BTFHUB_REPO_URL: fileUrl(upB) }) });
    expect(r2.cache).toBe(cache2);
    expect(r2.repos.map((x) => x.url)).toEqual([fileUrl(upB)]);

    const r3 = await fetch({ cache: cache2, repos: [upA], env: cleanEnv({ BTFHUB_CACHE: cache, BTFHUB_REPO: upB }) });
    expect(r3.cache).toBe(cache2);
    expect(r3.repos.map((x) => x.input)).toEqual([upA]);
    expect(await listTree(viewOf(cache2))).toEqual([C80, D17, U26, U29].sort());
  });

  it('warns about filter terms that match no repository', async () => {
    const cache = newCache();
    const r = await run({ repos: [upA], cache, distros: ['ubuntu', 'ubunut'], arches: ['s390x', 'x86_64'] });
    expect(r.warnings).toEqual(['no repository has kernels for --distro ubunut', 'no repository has kernels for --arch s390x']);
    expect(await listTree(viewOf(cache))).toEqual([U26, U29]);
  });
});

/** Mounts a small tmpfs (root only); false where that is not allowed. */
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!HAVE_ARCHIVES)('fetch on a full disk (tmpfs; skipped where mounting is not allowed)', () => {
  it('fails naming the repository and the full disk, leaving the cache as it was', async (t) => {
    const work = await tmpDir();
    const mnt = path.join(work, 'mnt');
    await mkdir(mnt);
    if (!mountTmpfs(mnt, '3m')) {
      await removeDir(work);
      t.skip();
      return;
    }
    try {
      const small = await makeRepo(path.join(work, 'small'), { [C80]: { from: `btfhub-archive-demo/${C80}` } });
      const big = await makeRepo(path.join(work, 'big'), demoFiles());
      const cache = path.join(mnt, 'cache');
      await fetch({ env: cleanEnv(), repos: [small], cache });
      expect(await listTree(viewOf(cache))).toEqual([C80]);
      const before = await snapshot(cache);
      const err = await fetch({ env: cleanEnv(), repos: [small, big], cache }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FetchError);
      expect((err as Error).message).toContain(big);
      expect((err as Error).message).toMatch(/disk full\?/);
      expect(await snapshot(cache)).toEqual(before);
      expect(await readdir(path.join(cache, 'btfhub-archive-repos'))).toEqual([sanitizeRepoName(fileUrl(small))]);
    } finally {
      execFileSync('umount', [mnt], { stdio: 'ignore' });
      await removeDir(work);
    }
  });
});
