// Temp files and directories a killed pack leaves behind (SIGKILL, a second Ctrl-C: no
// `finally` runs) carry the writer's pid in their names; the next pack removes those whose
// process is gone. Three places: the output's directory (`.<out>.btfgen-<pid>-<hex>.tmp`, as
// every output of btfgen: src/fsutil.ts removeStaleTemps()), the result cache's temp directory
// (`<name>.tmp-<pid>-<hex>`) and the --no-cache spool (`$TMPDIR/btfgen-pack-<pid>-XXXXXX/`).
import { readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { sweepDeadPids } from '../fsutil.js';

/** The spool directory name prefix for this process (under the temp directory). */
export function spoolPrefix(): string {
  return `btfgen-pack-${process.pid}-`;
}

/** --no-cache spools of killed packs under `tmpdir`. */
export function removeStaleSpools(tmpdir: string): Promise<string[]> {
  return sweepDeadPids(
    tmpdir,
    (n) => {
      const m = /^btfgen-pack-(\d+)-[A-Za-z0-9]{6}$/.exec(n);
      return m ? Number(m[1]) : undefined;
    },
    true,
  );
}

/** Temp files of the result cache (one directory, see cache.ts) written by killed packs. */
export function removeStaleCacheTemps(tmpDir: string): Promise<string[]> {
  return sweepDeadPids(tmpDir, (n) => {
    const m = /\.tmp-(\d+)-[0-9a-f]+$/.exec(n);
    return m ? Number(m[1]) : undefined;
  });
}

/**
 * This process's own temp files in the result cache's temp directory: what its worker threads
 * were writing when they were stopped (an abort), removed once they are gone.
 */
export async function removeOwnCacheTemps(tmpDir: string, pid: number = process.pid): Promise<void> {
  const mark = `.tmp-${pid}-`;
  const names = await readdir(tmpDir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.includes(mark)).map((n) => unlink(path.join(tmpDir, n)).catch(() => undefined)));
}
