// A cross-process lock on one cache directory: a file created with O_EXCL that holds the
// owner's pid and host. A lock whose owner is a dead process on this host is stale and taken
// over; taking over is itself guarded by a second O_EXCL file so that two waiters cannot both
// remove the stale lock and then each other's fresh one.
//
// The git processes a fetch runs carry the lock's random token in their environment
// (FETCH_TOKEN_ENV; git passes its environment on to the processes it starts). A fetch killed
// with SIGKILL cannot take its children down, so the run that finds its lock stale first kills
// every process still carrying the dead owner's token (Linux: /proc/<pid>/environ) and waits
// for them to go: no orphan of the dead run is left writing into the cache while it is cleaned.
import { link, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readFileSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { FetchError } from '../errors.js';
import { pidAlive, sweepDeadPids } from '../fsutil.js';

export const LOCK_FILE = '.btfgen-fetch.lock';
/** Environment variable holding the lock's token in every git process of one fetch. */
export const FETCH_TOKEN_ENV = 'BTFGEN_FETCH_LOCK_TOKEN';

export interface LockOwner {
  pid: number;
  host: string;
  since: string;
  /** The token its git children carry in FETCH_TOKEN_ENV. */
  token?: string;
}

export interface LockOptions {
  /** Give up after this long (default 10 minutes). 0: fail at once when the lock is held. */
  timeoutMs?: number;
  /** Poll interval (default 250 ms). */
  pollMs?: number;
  /** Called once, when the lock is found held by a live owner and waiting starts. */
  onWait?: (owner: LockOwner | undefined) => void;
  signal?: AbortSignal;
}

export interface Lock {
  path: string;
  /** Give it to child processes as FETCH_TOKEN_ENV, so that a later run can end them if this one dies. */
  token: string;
  release(): Promise<void>;
}

/** A lock file this old with no readable owner (its creator died between create and write) is stale. */
const UNREADABLE_STALE_MS = 10_000;

async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    const o = JSON.parse(await readFile(file, 'utf8')) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string') {
      const owner: LockOwner = { pid: o.pid, host: o.host, since: String(o.since ?? '') };
      if (typeof o.token === 'string' && /^[0-9a-f]{16}$/.test(o.token)) owner.token = o.token;
      return owner;
    }
  } catch {
    /* missing, empty or half-written */
  }
  return undefined;
}

/**
 * Creates `file` holding `content`, or returns false if it exists. The content is written to a
 * private temporary file first and hard-linked into place (link(2) fails with EEXIST like
 * O_EXCL), so a lock file never exists without its owner: a process killed mid-way leaves at
 * most its temporary file, which `removeDeadTemps` clears. File systems without hard links fall
 * back to O_EXCL + write.
 */
async function tryCreate(file: string, content: string): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, content, { mode: 0o644, flag: 'wx' });
    try {
      await link(tmp, file);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw err;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    const fh = await open(file, 'wx', 0o644);
    try {
      await fh.writeFile(content);
    } finally {
      await fh.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Removes temporary lock files (`<lock>.<pid>.<hex>.tmp`) left by processes that died. */
async function removeDeadTemps(file: string): Promise<void> {
  const prefix = `${path.basename(file)}.`;
  const pidOf = (name: string): number | undefined => {
    const m = name.startsWith(prefix) ? /^(\d+)\.[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length)) : null;
    return m ? Number(m[1]) : undefined;
  };
  await sweepDeadPids(path.dirname(file), pidOf).catch(() => undefined);
}

/** Pids of the processes (not this one) whose environment holds FETCH_TOKEN_ENV=token. Linux only: elsewhere none. */
export async function processesWithToken(token: string): Promise<number[]> {
  const needle = Buffer.from(`${FETCH_TOKEN_ENV}=${token}\0`);
  const names = await readdir('/proc').catch(() => [] as string[]);
  const found: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const env = await readFile(`/proc/${name}/environ`).catch(() => undefined);
    if (!env) continue;
    const at = env.indexOf(needle);
    if (at === 0 || (at > 0 && env[at - 1] === 0)) found.push(Number(name));
  }
  return found;
}

/** How long to wait for the killed children of a dead fetch to be gone. */
const ORPHAN_WAIT_MS = 10_000;

/**
 * Ends the processes a dead fetch left behind (SIGKILL to every process carrying its token) and
 * waits until none is left. Returns how many were killed. A process that will not die (a zombie
 * is reaped by its new parent soon; one stuck in the kernel is not) fails the run.
 */
export async function killOrphans(token: string): Promise<number> {
  const deadline = Date.now() + ORPHAN_WAIT_MS;
  const killed = new Set<number>();
  for (;;) {
    const alive = (await processesWithToken(token)).filter((pid) => !isZombie(pid));
    if (alive.length === 0) return killed.size;
    if (Date.now() >= deadline) {
      throw new FetchError(`processes ${alive.join(', ')} of an interrupted btfgen fetch are still running and could not be ended`);
    }
    for (const pid of alive) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      } catch {
        /* gone meanwhile, or not ours */
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function isZombie(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true; // gone
  }
}

/** Is the lock at `file` stale (owner dead on this host, or unreadable for too long)? */
async function isStale(file: string): Promise<boolean> {
  const owner = await readOwner(file);
  if (owner) return owner.host === os.hostname() && !pidAlive(owner.pid);
  const st = await stat(file).catch(() => undefined);
  return st !== undefined && Date.now() - st.mtimeMs > UNREADABLE_STALE_MS;
}

/** Removes `file` if it is stale, under the guard file. Returns true if something was removed. */
async function breakStale(file: string): Promise<boolean> {
  const guard = `${file}.takeover`;
  const me = JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() });
  if (!(await tryCreate(guard, me))) {
    if (await isStale(guard)) {
      // A taker-over that died: move its guard aside atomically, then drop it.
      const aside = `${guard}.${process.pid}.${Date.now()}`;
      await rename(guard, aside).then(() => unlink(aside), () => undefined);
    }
    return false;
  }
  try {
    if (!(await isStale(file))) return false;
    // The dead owner's git children may still be writing into the cache: end them first.
    const owner = await readOwner(file);
    if (owner?.token) await killOrphans(owner.token);
    await unlink(file).catch(() => undefined);
    return true;
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Takes the lock file `file`, waiting while a live process holds it.
 * @throws FetchError after `timeoutMs`, naming the owner and the lock file.
 */
export async function acquireLock(file: string, options: LockOptions = {}): Promise<Lock> {
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const pollMs = options.pollMs ?? 250;
  const deadline = Date.now() + timeoutMs;
  const token = randomBytes(8).toString('hex');
  const content = JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString(), token });
  let waited = false;
  await removeDeadTemps(file);
  await removeDeadTemps(`${file}.takeover`);
  for (;;) {
    if (await tryCreate(file, content)) break;
    if (await isStale(file)) {
      if (await breakStale(file)) continue;
    }
    const owner = await readOwner(file);
    if (Date.now() >= deadline) {
      const who = owner ? `process ${owner.pid} on ${owner.host} (since ${owner.since})` : 'another process';
      throw new FetchError(
        `cache is locked by ${who}: ${file}; wait for that fetch to finish, or remove the file if no fetch is running`,
      );
    }
    if (!waited) {
      waited = true;
      options.onWait?.(owner);
    }
    await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())), options.signal);
  }

  // If the process exits without releasing (an uncaught error), drop the lock; a kill -9 or a
  // signal leaves it behind, and the next run finds its owner dead.
  const onExit = (): void => {
    try {
      if (readFileSync(file, 'utf8') === content) unlinkSync(file);
    } catch {
      /* already gone */
    }
  };
  process.once('exit', onExit);
  let released = false;
  return {
    path: file,
    token,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      process.removeListener('exit', onExit);
      // Only remove it if it is still ours (it may have been broken as stale and retaken).
      const now = await readFile(file, 'utf8').catch(() => '');
      if (now === content) await unlink(file).catch(() => undefined);
    },
  };
}
