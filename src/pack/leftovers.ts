// Temp files and directories a killed pack leaves behind (SIGKILL, a second Ctrl-C: no
// `finally` runs) carry the writer's pid in their names; the next pack removes those whose
// process is gone. Three places: the output's directory (`.<out>.btfgen-<pid>-<hex>.tmp`),
// the result cache's temp directory (`<name>.tmp-<pid>-<hex>`) and the --no-cache spool
// (`$TMPDIR/btfgen-pack-<pid>-XXXXXX/`).
import { lstatSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';

/** True when process `pid` exists (EPERM: it exists, under another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the entries of `dir` whose name `pidOf` maps to a pid that is no longer alive. */
async function sweep(dir: string, pidOf: (name: string) => number | undefined, ownOnly = false): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  const uid = process.getuid?.();
  for (const n of names) {
    const pid = pidOf(n);
    if (pid === undefined || pid === process.pid || pidAlive(pid)) continue;
    const p = path.join(dir, n);
    if (ownOnly && uid !== undefined) {
      // a shared /tmp: only what this user made
      try {
        if (lstatSync(p).uid !== uid) continue;
      } catch {
        continue;
      }
    }
    await rm(p, { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
}

/** Temp files of a killed earlier pack next to `output`. */
export function removeStaleTemps(output: string): Promise<string[]> {
  const prefix = `.${path.basename(output)}.btfgen-`;
  return sweep(path.dirname(output), (n) => {
    if (!n.startsWith(prefix)) return undefined;
    const m = /^(\d+)-[0-9a-f]+\.tmp$/.exec(n.slice(prefix.length));
    return m ? Number(m[1]) : undefined;
  });
}

/** The spool directory name prefix for this process (under the temp directory). */
export function spoolPrefix(): string {
  return `btfgen-pack-${process.pid}-`;
}

/** --no-cache spools of killed packs under `tmpdir`. */
export function removeStaleSpools(tmpdir: string): Promise<string[]> {
  return sweep(
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
  return sweep(tmpDir, (n) => {
    const m = /\.tmp-(\d+)-[0-9a-f]+$/.exec(n);
    return m ? Number(m[1]) : undefined;
  });
}
