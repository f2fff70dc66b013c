// File system helpers whose errors say what happened to which file: node's recursive mkdir
// reports ENOENT where a component cannot be created on a read-only file system, and errors of
// write(2) carry no path. And the temp files every output is written through: named after the
// output and the writer's pid, so that the next run removes what a killed one left.
import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { BtfgenError, FileSystemError } from './errors.js';

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EIO: 'input/output error',
  EFBIG: 'file too large',
};

/** Is `err` one of node's system errors (errno code and syscall)? */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException & { code: string } {
  const e = err as NodeJS.ErrnoException | null;
  return !!e && typeof e === 'object' && !(e instanceof BtfgenError) && typeof e.code === 'string' && typeof e.syscall === 'string';
}

/**
 * `err` as a FileSystemError naming `file` ("cannot write FILE: no space left on device
 * (ENOSPC)"). Only errors about `file` itself are rewritten: those that name no path (write(2),
 * fsync(2)...) or name `file` or one of `aliases` (its temp file). Anything else (not a system
 * error, or one about another file) is returned as it is.
 */
export function fileError(err: unknown, action: string, file: string, aliases: readonly string[] = []): unknown {
  if (!isSystemError(err)) return err;
  if (err.path !== undefined && err.path !== file && !aliases.includes(err.path)) return err;
  const reason = REASONS[err.code] ?? err.message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '');
  return new FileSystemError(`cannot ${action} ${file}: ${reason} (${err.code})`, err.code, file, { cause: err });
}

/**
 * mkdir -p that reports the real cause: the missing components are created one by one, so that
 * a read-only file system gives EROFS (and a file in the way ENOTDIR/EEXIST), naming the
 * directory that could not be made.
 */
export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  let d = path.resolve(dir);
  for (;;) {
    const st = await stat(d).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(fileError(err, 'create directory', d))));
    if (st) {
      if (!st.isDirectory()) throw new FileSystemError(`cannot create directory ${dir}: ${d} is not a directory (ENOTDIR)`, 'ENOTDIR', d);
      break;
    }
    missing.push(d);
    const parent = path.dirname(d);
    if (parent === d) break;
    d = parent;
  }
  for (const m of missing.reverse()) {
    try {
      await mkdir(m);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue; // made meanwhile
      throw fileError(err, 'create directory', m);
    }
  }
}

/** Temp files of `output` are `.<base>.btfgen-<pid>-<hex>.tmp` in the same directory (renamed over it when whole). */
export function tempPathFor(output: string): string {
  return path.join(path.dirname(output), `.${path.basename(output)}.btfgen-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/** Temp files next to `output` (tempPathFor()) of processes that are gone: a killed earlier run's. */
export function removeStaleTemps(output: string): Promise<string[]> {
  const prefix = `.${path.basename(output)}.btfgen-`;
  return sweepDeadPids(path.dirname(output), (n) => {
    if (!n.startsWith(prefix)) return undefined;
    const m = /^(\d+)-[0-9a-f]+\.tmp$/.exec(n.slice(prefix.length));
    return m ? Number(m[1]) : undefined;
  });
}

/** True when process `pid` exists (EPERM: it exists, under another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the entries of `dir` whose name `pidOf` maps to a pid that is no longer alive (never
 * this process's); `ownOnly`: only those this user owns (a shared /tmp). Returns their names.
 */
export function sweepDeadPids(dir: string, pidOf: (name: string) => number | undefined, ownOnly = false): Promise<string[]> {
  const uid = process.getuid?.();
  return removeMatching(dir, (name, file) => {
    const pid = pidOf(name);
    if (pid === undefined || pid === process.pid || pidAlive(pid)) return false;
    if (!ownOnly || uid === undefined) return true;
    try {
      return lstatSync(file).uid === uid;
    } catch {
      return false;
    }
  });
}

/** Removes (`remove`, default rm -rf) the entries of `dir` that `match` selects; returns their names. */
export async function removeMatching(
  dir: string,
  match: (name: string, file: string) => boolean,
  remove: (file: string) => Promise<void> = (f) => rm(f, { recursive: true, force: true }),
): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const file = path.join(dir, n);
    if (!match(n, file)) continue;
    await remove(file);
    removed.push(n);
  }
  return removed;
}

/** Closes descriptor `fd`, ignoring that it is already closed (a cleanup path). */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
