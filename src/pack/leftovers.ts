// Temp files and directories a killed pack leaves behind (SIGKILL, a second Ctrl-C: no
// `finally` runs) carry the writer's pid in their names; the next pack removes those whose
// process is gone. Three places: the output's directory (`.<out>.btfgen-<pid>-<hex>.tmp`, as
// every output of btfgen: src/fsutil.ts removeStaleTemps()), the result cache's temp directory
// (`<name>.tmp-<pid>-<hex>`) and the --no-cache spool (`$TMPDIR/btfgen-pack-<pid>-XXXXXX/`).
import { unlink } from 'node:fs/promises';
import { removeMatching, sweepDeadPids } from '../fsutil.js';

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

/** The writer's pid in the name of a result cache temp file (`<name>.tmp-<pid>-<hex>`, see cache.ts). */
function tempWriter(name: string): number | undefined {
  const m = /\.tmp-(\d+)-[0-9a-f]+$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Temp files of the result cache (one directory, see cache.ts) written by killed packs. */
export function removeStaleCacheTemps(tmpDir: string): Promise<string[]> {
  return sweepDeadPids(tmpDir, tempWriter);
}

/**
 * This process's own temp files in the result cache's temp directory: what its worker threads
 * were writing when they were stopped (an abort), removed once they are gone.
 */
export async function removeOwnCacheTemps(tmpDir: string, pid: number = process.pid): Promise<void> {
  await removeMatching(tmpDir, (name) => tempWriter(name) === pid, (file) => unlink(file).catch(() => undefined));
}
