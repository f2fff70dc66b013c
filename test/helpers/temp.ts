// Temp directories of the tests: never inside the repository, removed when the test process exits.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs = new Map<string, string>();

/** One temp directory per test process and `prefix`, made on first use and removed at exit. */
export function processTempDir(prefix: string): string {
  let dir = dirs.get(prefix);
  if (!dir) {
    const made = mkdtempSync(join(tmpdir(), prefix));
    dirs.set(prefix, made);
    process.on('exit', () => rmSync(made, { recursive: true, force: true }));
    dir = made;
  }
  return dir;
}
