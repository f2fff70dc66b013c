// Issue 13.4: what a killed pack leaves behind (SIGKILL, a second Ctrl-C: no cleanup runs) is
// removed by the next pack when its process is gone: the --no-cache spool under $TMPDIR and
// the result cache's temp files. A live process's leftovers are never touched.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertDistFresh, BIN, EXAMPLE_ARCHIVE, EXAMPLE_OBJECT } from '../helpers/env.js';
import { removeOwnCacheTemps } from '../../src/pack/leftovers.js';
import { cleanupTemps, tempDir } from './helpers.js';

assertDistFresh();
afterAll(cleanupTemps);

const spools = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('btfgen-pack-'));
/** The pid of a process that has exited (not reused this soon). */
const deadPid = (): number => spawnSync('true').pid!;

function pack(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [BIN, 'pack', '--archive', EXAMPLE_ARCHIVE, ...args, EXAMPLE_OBJECT], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
}

describe('leftovers of killed packs', () => {
  it('a --no-cache spool left by SIGKILL is removed by the next pack; a live one stays', async () => {
    const tmp = tempDir('btfgen-leftover-tmp-');
    const out = join(tempDir(), 'o.tar.gz');
    const child = spawn(process.execPath, [BIN, 'pack', '--archive', EXAMPLE_ARCHIVE, '--no-cache', '-o', out, EXAMPLE_OBJECT], {
      env: { ...process.env, TMPDIR: tmp },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.on('close', resolve));
    // killed as soon as its spool exists (before it could remove it)
    for (let i = 0; i < 4000 && spools(tmp).length === 0; i++) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGKILL');
    await exited;
    expect(spools(tmp)).toHaveLength(1);
    expect(spools(tmp)[0]).toMatch(new RegExp(`^btfgen-pack-${child.pid}-`));
    // a spool of a live process (this one) is not touched
    const live = join(tmp, `btfgen-pack-${process.pid}-abcdef`);
    mkdirSync(live);
    const r = pack(['--no-cache', '-o', out], { TMPDIR: tmp });
    expect(r.status, r.stderr).toBe(0);
    expect(spools(tmp)).toEqual([`btfgen-pack-${process.pid}-abcdef`]);
  }, 180_000);

  it("result cache temp files of dead processes are removed, a live process's are kept", () => {
    const cache = tempDir('btfgen-leftover-cache-');
    const tmpDir = join(cache, 'v1', 'tmp');
    mkdirSync(tmpDir, { recursive: true });
    const dead = `${'a'.repeat(64)}.btf.tmp-${deadPid()}-0123abcd`;
    const live = `${'b'.repeat(64)}.btf.tmp-${process.pid}-0123abcd`;
    writeFileSync(join(tmpDir, dead), 'partial');
    writeFileSync(join(tmpDir, live), 'being written');
    const r = pack(['--cache-dir', cache, '-o', join(tempDir(), 'o.tar.gz')], {});
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(tmpDir, dead))).toBe(false);
    expect(existsSync(join(tmpDir, live))).toBe(true);
    // and the run's own temp files are all renamed into place
    expect(readdirSync(tmpDir)).toEqual([live]);
  }, 120_000);

  it("an aborted pack removes its own result temp files (its stopped threads' writes), no other process's", async () => {
    const tmpDir = join(tempDir('btfgen-leftover-own-'), 'tmp');
    mkdirSync(tmpDir);
    const other = deadPid();
    const names = [`${'c'.repeat(64)}.btf.tmp-4242${other}-0a1b`, `${'d'.repeat(64)}.btf.tmp-${other}-0a1b`, 'stat-index.json.tmp-x', 'kept.btf'];
    const own = `${'e'.repeat(64)}.btf.tmp-${other}4242-0a1b`;
    for (const n of [...names, own]) writeFileSync(join(tmpDir, n), 'x');
    await removeOwnCacheTemps(tmpDir, Number(`${other}4242`));
    expect(readdirSync(tmpDir).sort()).toEqual([...names].sort());
    await removeOwnCacheTemps(join(tmpDir, 'missing')); // no directory: nothing to do
  });
});

describe('leftovers beside the other outputs', () => {
  // minimize's output, check -o, pack --report: each is written through a temp file beside it
  // (.<name>.btfgen-<pid>-<hex>.tmp), and a run removes those a killed earlier run left there.
  const KERNEL = join(EXAMPLE_ARCHIVE, 'debian/12/x86_64/6.1.0-55-cloud-amd64.btf.tar.xz');
  const commands: [string, (out: string) => string[]][] = [
    ['minimize', (out) => ['minimize', KERNEL, out, EXAMPLE_OBJECT]],
    ['check -o', (out) => ['check', EXAMPLE_OBJECT, '--archive', EXAMPLE_ARCHIVE, '-o', out]],
    ['pack --report', (out) => ['pack', EXAMPLE_OBJECT, '--archive', EXAMPLE_ARCHIVE, '-o', join(tempDir(), 'p.tar.gz'), '--no-cache', '--report', out]],
  ];
  it.each(commands)("%s: a dead writer's temp file is removed, a live one's stays, none of its own is left", (_name, args) => {
    const dir = tempDir();
    const out = join(dir, 'out.txt');
    const dead = `.out.txt.btfgen-${deadPid()}-0123abcd.tmp`;
    const live = `.out.txt.btfgen-${process.pid}-0123abcd.tmp`;
    writeFileSync(join(dir, dead), 'partial');
    writeFileSync(join(dir, live), 'being written');
    const r = spawnSync(process.execPath, [BIN, ...args(out)], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([live, 'out.txt'].sort());
  }, 120_000);
});
