// Temp files of a test run live in the run's own directory, removed when the run ends
// (test/helpers/run-tmp.ts); a killed run's directory is removed by the next run.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sweepKilledRuns } from './helpers/run-tmp.js';

const RUN_TMP = process.env.BTFGEN_TEST_RUN_TMP;

describe('test runs keep their temp files in a directory of their own', () => {
  it("os.tmpdir() of a test process is the run's directory, beside the shared caches' directory", () => {
    expect(RUN_TMP, 'vitest.config.ts globalSetup test/helpers/run-tmp.ts did not run').toBeDefined();
    expect(tmpdir()).toBe(RUN_TMP);
    expect(existsSync(RUN_TMP!)).toBe(true);
    expect(dirname(RUN_TMP!)).toBe(process.env.BTFGEN_TEST_SHARED_TMP);
  });

  describe('a killed run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sweep-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("leaves a directory the next run removes; a live run's, and other names, stay", async () => {
      // a pid that is gone: a child that has exited
      const child = spawn(process.execPath, ['-e', '0']);
      const deadPid = child.pid!;
      await new Promise((r) => child.on('exit', r));
      const dead = join(dir, `btfgen-test-run-${deadPid}-AbC123`);
      const live = join(dir, `btfgen-test-run-${process.pid}-XyZ789`);
      const other = join(dir, `btfgen-test-cache`);
      for (const d of [dead, live, other]) mkdirSync(join(d, 'sub'), { recursive: true });

      expect(await sweepKilledRuns(dir)).toEqual([`btfgen-test-run-${deadPid}-AbC123`]);
      expect(existsSync(dead)).toBe(false);
      expect(existsSync(live)).toBe(true);
      expect(existsSync(other)).toBe(true);
    });
  });
});
