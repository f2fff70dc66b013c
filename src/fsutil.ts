// File system helpers whose errors say what happened to which file: node's recursive mkdir
// reports ENOENT where a component cannot be created on a read-only file system, and errors of
// write(2) carry no path.
import { mkdir, stat } from 'node:fs/promises';
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
