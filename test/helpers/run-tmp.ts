// vitest globalSetup (vitest.config.ts, first): every temp file of a test run lives under one
// directory of that run, removed when the run ends. vitest's forks pool ends its test processes
// with a signal, so their own `process.on('exit')` cleanup (temp.ts) does not run, and every run
// left its temp directories behind (hundreds of MB each). TMPDIR is set here, before the pool
// starts, so every test process, spawned CLI and tool inherits it (os.tmpdir() honours it).
// A killed run's directory (its vitest process gone) is removed by the next run.
// The caches meant to outlive a run (unpacked kernels: data.ts, differential.ts) stay in the
// temp directory the run was started with: BTFGEN_TEST_SHARED_TMP names it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sweepDeadPids } from '../../src/fsutil.js';

const PREFIX = 'btfgen-test-run-';

/** Removes from `dir` the run directories of vitest processes that are gone (killed runs): their names. */
export function sweepKilledRuns(dir: string): Promise<string[]> {
  return sweepDeadPids(
    dir,
    (name) => {
      const m = name.startsWith(PREFIX) ? /^(\d+)-/.exec(name.slice(PREFIX.length)) : null;
      return m ? Number(m[1]) : undefined;
    },
    true,
  );
}

export default async function setup(): Promise<() => void> {
  const shared = process.env.BTFGEN_TEST_SHARED_TMP ?? tmpdir();
  await sweepKilledRuns(shared);
  const dir = mkdtempSync(join(shared, `${PREFIX}${process.pid}-`));
  process.env.BTFGEN_TEST_SHARED_TMP = shared;
  process.env.BTFGEN_TEST_RUN_TMP = dir;
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
