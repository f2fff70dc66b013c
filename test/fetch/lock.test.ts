import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FetchError } from '../../src/errors.js';
import { acquireLock } from '../../src/fetch/lock.js';
import { removeDir, tmpDir } from './helpers.js';

/** A pid that is certainly dead: a child that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('acquireLock', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await tmpDir('btfgen-lock-');
    file = path.join(dir, 'lock');
  });
  afterEach(async () => removeDir(dir));

  it('creates the lock file with our pid and removes it on release', async () => {
    const lock = await acquireLock(file);
    const owner = JSON.parse(await readFile(file, 'utf8')) as { pid: number; host: string };
    expect(owner.pid).toBe(process.pid);
    expect(owner.host).toBe(os.hostname());
    await lock.release();
    expect(existsSync(file)).toBe(false);
    await lock.release(); // idempotent
  });

  it('makes a second taker wait until the first releases', async () => {
    const first = await acquireLock(file);
    let waitedFor: number | undefined;
    let acquired = false;
    const second = acquireLock(file, { pollMs: 20, onWait: (o) => (waitedFor = o?.pid) }).then((l) => {
      acquired = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(acquired).toBe(false);
    expect(waitedFor).toBe(process.pid);
    await first.release();
    const l2 = await second;
    expect(acquired).toBe(true);
    await l2.release();
  });

  it('removes the temporary lock files of processes that died, and no others', async () => {
    const dead = `lock.${deadPid()}.0a1b2c3d.tmp`;
    const deadTakeover = `lock.takeover.${deadPid()}.0a1b2c3d.tmp`;
    const live = `lock.${process.ppid}.0a1b2c3d.tmp`; // our parent runs
    const other = `lock.notapid.tmp`;
    for (const n of [dead, deadTakeover, live, other]) await writeFile(path.join(dir, n), 'x');
    const lock = await acquireLock(file);
    await lock.release();
    expect([dead, deadTakeover, live, other].map((n) => existsSync(path.join(dir, n)))).toEqual([false, false, true, true]);
  });

  it('takes over a lock whose owner died', async () => {
    await writeFile(file, JSON.stringify({ pid: deadPid(), host: os.hostname(), since: 'then' }));
    let waited = false;
    const lock = await acquireLock(file, { timeoutMs: 1000, onWait: () => (waited = true) });
    expect(waited).toBe(false);
    expect(JSON.parse(await readFile(file, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('does not steal a live lock from another host, and times out with a clear message', async () => {
    await writeFile(file, JSON.stringify({ pid: deadPid(), host: 'some-other-host', since: 'then' }));
    const err = await acquireLock(file, { timeoutMs: 100, pollMs: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FetchError);
    expect((err as Error).message).toMatch(/cache is locked by process \d+ on some-other-host .*remove the file if no fetch is running/);
    expect(existsSync(file)).toBe(true);
  });

  it('treats an unreadable lock file as live while it is fresh', async () => {
    await writeFile(file, '');
    await expect(acquireLock(file, { timeoutMs: 60, pollMs: 20 })).rejects.toThrow(/locked by another process/);
  });

  it('lets only one of many concurrent takers through a stale lock at a time', async () => {
    await writeFile(file, JSON.stringify({ pid: deadPid(), host: os.hostname(), since: 'then' }));
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const l = await acquireLock(file, { pollMs: 5 });
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise((r) => setTimeout(r, 10));
        inside--;
        await l.release();
      }),
    );
    expect(maxInside).toBe(1);
    expect(existsSync(file)).toBe(false);
  });
});
