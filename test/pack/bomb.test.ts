// Issue 13.6: a `.btf.tar.xz` of 1000 MiB of zeros (~150 KB) fails fast with a clear error in
// minimize and in pack, without the memory it would expand to. Peak RSS is read in the child
// (process.resourceUsage().maxRSS, preloaded), with a bound far above the normal run and far
// below the bomb's size.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertDistFresh, BIN, EXAMPLE_ARCHIVE, EXAMPLE_OBJECT, HAVE_XZ } from '../helpers/env.js';
import { xzBomb } from './bomb.js';
import { buildArchive, cleanupTemps, listFiles, tempDir } from './helpers.js';

assertDistFresh();
afterAll(cleanupTemps);

const RSS_BOUND_KB = 600 * 1024;

function runMeasured(args: string[]): { code: number | null; stderr: string; maxRssKb: number } {
  const dir = tempDir('btfgen-bomb-rss-');
  const preload = join(dir, 'rss.cjs');
  writeFileSync(preload, "process.on('exit', () => require('node:fs').writeSync(2, `\\nMAXRSS ${process.resourceUsage().maxRSS}\\n`));\n");
  const r = spawnSync(process.execPath, ['--require', preload, BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  const m = /MAXRSS (\d+)/.exec(r.stderr);
  return { code: r.status, stderr: r.stderr, maxRssKb: m ? Number(m[1]) : Infinity };
}

describe.skipIf(!HAVE_XZ)('decompression bombs (needs the xz command to make one)', () => {
  let bomb = '';
  beforeAll(async () => {
    bomb = await xzBomb('5.4.0-bomb', 1000);
  }, 300_000);

  it('minimize refuses a 1000 MiB member with a one-line error and moderate RSS', () => {
    const out = join(tempDir(), 'out.btf');
    const r = runMeasured(['minimize', bomb, out, EXAMPLE_OBJECT]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/BTF member 5\.4\.0-bomb\.btf expands beyond 128 MiB: not a kernel BTF/);
    expect(existsSync(out)).toBe(false);
    expect(r.maxRssKb).toBeLessThan(RSS_BOUND_KB);
  }, 120_000);

  it('pack lists each bomb as a failing kernel, packs the others with --skip-failed, RSS moderate', () => {
    const root = tempDir('btfgen-bomb-archive-');
    const good = listFiles(EXAMPLE_ARCHIVE).filter((f) => f.endsWith('.btf.tar.xz') || f.endsWith('.btf'))[0]!;
    buildArchive(root, [{ rel: good, copy: join(EXAMPLE_ARCHIVE, good) }]);
    for (let i = 0; i < 4; i++) {
      const rel = `ubuntu/20.04/x86_64/5.4.0-bomb${i}.btf.tar.xz`;
      buildArchive(root, [{ rel, data: '' }]);
      copyFileSync(bomb, join(root, rel));
    }
    const out = join(tempDir(), 'out.tar.gz');
    const failed = runMeasured(['pack', '--archive', root, '--no-cache', '-o', out, EXAMPLE_OBJECT]);
    expect(failed.code).not.toBe(0);
    for (let i = 0; i < 4; i++) expect(failed.stderr).toMatch(new RegExp(`5\\.4\\.0-bomb${i}\\.btf\\.tar\\.xz.*expands beyond 128 MiB: not a kernel BTF`));
    expect(existsSync(out)).toBe(false);
    expect(failed.maxRssKb).toBeLessThan(RSS_BOUND_KB);
    const skipped = runMeasured(['pack', '--archive', root, '--no-cache', '--skip-failed', '-o', out, EXAMPLE_OBJECT]);
    expect(skipped.code).toBe(0);
    expect(existsSync(out)).toBe(true);
  }, 240_000);
});
