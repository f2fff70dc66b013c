// Temp directories of the tests: never inside the repository. Under vitest they live in the
// run's own temp directory (run-tmp.ts), removed when the run ends; the 'exit' handler covers
// a test process run on its own.
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

/**
 * A cache directory shared by test runs (`name` in the temp directory the run was started
 * with, not the run's own): what it holds is keyed by content, so it stays valid.
 */
export function sharedCacheDir(name: string): string {
  return join(process.env.BTFGEN_TEST_SHARED_TMP ?? tmpdir(), name);
}
