// Errors as a user meets them, through the built CLI (bin/btfgen): each says what to do.
// Exit codes that mirror bpftool come from bpftool itself; what an archive "has" comes from
// its directory tree, read here with readdir.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bpftoolMinCoreBtf, hasBpftool } from './helpers/bpftool.js';
import { BIN, BPF_FIXTURES_DIR, EXAMPLE_ARCHIVE, EXAMPLE_OBJECT, HAVE_VMLINUX, REPO_ROOT, VMLINUX } from './helpers/env.js';

const built = existsSync(join(REPO_ROOT, 'dist', 'cli', 'index.js'));
const dir = mkdtempSync(join(tmpdir(), 'btfgen-cli-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir, env: { ...process.env, ...env } });
const fixture = (n: string) => join(BPF_FIXTURES_DIR, n);
const lines = (s: string) => s.split('\n').filter(Boolean);

describe.skipIf(!built)('CLI errors say what to do (skipped before `npm run build`)', () => {
  it('pack without an archive: run `btfgen fetch` or give --archive DIR', () => {
    const cache = join(dir, 'empty-cache');
    const r = run(['pack', EXAMPLE_OBJECT, '-o', 'x.tar.gz'], { BTFHUB_CACHE: cache, BTFHUB_CACHE_DIR: '' });
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain('btfgen fetch');
    expect(r.stderr).toContain('--archive DIR');
    expect(r.stderr).toContain(join(cache, 'btfhub-archive'));
    expect(existsSync(join(dir, 'x.tar.gz'))).toBe(false);
  });

  it.skipIf(!hasBpftool() || !HAVE_VMLINUX)('an object without .BTF: compile with clang -g; bpftool\'s exit code (needs bpftool and kernel BTF)', async () => {
    const obj = fixture('l_nobtf.o');
    const ref = await bpftoolMinCoreBtf(VMLINUX, join(dir, 'ref.btf'), [obj]);
    expect(ref.code).not.toBe(0);
    const min = run(['minimize', VMLINUX, join(dir, 'min.btf'), obj]);
    expect(min.status).toBe(ref.code);
    expect(min.stderr).toContain('clang -g');
    const pack = run(['pack', obj, '--archive', EXAMPLE_ARCHIVE, '-o', 'nobtf.tar.gz']);
    expect(pack.status).toBe(ref.code);
    expect(pack.stderr).toContain('clang -g');
    expect(lines(pack.stderr)).toHaveLength(1);
  });

  it('an unwritable output is named as given, before any kernel is minimized', () => {
    writeFileSync(join(dir, 'plainfile'), '');
    // root ignores permission bits: a path under a regular file and /proc (no new files there)
    // cannot be written by anyone.
    for (const out of ['plainfile/out.tar.gz', '/proc/btfgen-test-out.tar.gz']) {
      const cacheDir = join(dir, `cache-${out.length}`);
      const r = run(['pack', EXAMPLE_OBJECT, '--archive', EXAMPLE_ARCHIVE, '--cache-dir', cacheDir, '-o', out]);
      expect(r.status, r.stderr).toBe(1);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toContain(`cannot write ${out}`);
      expect(r.stderr).not.toMatch(/\.tmp\b|btfgen-probe/);
      // the result cache is created when minimizing starts: it never was
      expect(existsSync(cacheDir)).toBe(false);
    }
  });

  it('--distro / --arch matching nothing list what the archive has', () => {
    const has: string[] = [];
    for (const id of readdirSync(EXAMPLE_ARCHIVE, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)) {
      for (const v of readdirSync(join(EXAMPLE_ARCHIVE, id))) {
        has.push(`${id}/${v} (${readdirSync(join(EXAMPLE_ARCHIVE, id, v)).sort().join(', ')})`);
      }
    }
    expect(has.length).toBeGreaterThan(0);
    for (const filter of [['--distro', 'nosuchdistro'], ['--arch', 's390x']]) {
      const r = run(['pack', EXAMPLE_OBJECT, '--archive', EXAMPLE_ARCHIVE, ...filter, '-o', 'none.tar.gz']);
      expect(r.status).toBe(1);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toContain(`it has: ${has.sort().join(', ')}`);
    }
  });

  it('`btfgen pack help` is `btfgen pack --help`, `btfgen version` is `btfgen --version` (as in bpftool)', () => {
    for (const cmd of ['pack', 'minimize', 'fetch', 'which', 'dump']) {
      const a = run([cmd, 'help']);
      const b = run([cmd, '--help']);
      expect(a.status).toBe(0);
      expect(a.stdout).toBe(b.stdout);
      expect(a.stdout).toContain(`Usage: btfgen ${cmd}`);
    }
    const v = run(['version']);
    expect(v.status).toBe(0);
    expect(v.stdout).toBe(run(['--version']).stdout);
    expect(run(['--help']).stdout).toMatch(/^\s+version\b/m);
  });

  it('which --archive MISSING fails even when this kernel has its own BTF', () => {
    const r = run(['which', '--archive', 'MISSING.tar.gz']);
    expect(r.status).not.toBe(0);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain('MISSING.tar.gz');
    expect(r.stdout).toBe('');
  });

  it('an object with .BTF.ext but no CO-RE relocation: a warning that the BTFs will be empty', () => {
    const obj = fixture('l_norelo.o');
    const p = run(['pack', obj, '--archive', EXAMPLE_ARCHIVE, '-q', '-o', 'norelo.tar.gz']);
    expect(p.status, p.stderr).toBe(0);
    expect(p.stderr).toMatch(/^Warning: .*l_norelo\.o has no CO-RE relocation.*will be empty/m);
    // with an object that has relocations, the other one is only said to add nothing
    const both = run(['pack', obj, EXAMPLE_OBJECT, '--archive', EXAMPLE_ARCHIVE, '-q', '-o', 'both.tar.gz']);
    expect(both.status, both.stderr).toBe(0);
    expect(both.stderr).toMatch(/^Warning: .*l_norelo\.o has no CO-RE relocation.*adds nothing/m);
    const fine = run(['pack', EXAMPLE_OBJECT, '--archive', EXAMPLE_ARCHIVE, '-q', '-o', 'fine.tar.gz']);
    expect(fine.stderr).toBe('');
    if (HAVE_VMLINUX) {
      const m = run(['minimize', VMLINUX, join(dir, 'norelo.btf'), obj]);
      expect(m.status).toBe(0);
      expect(m.stderr).toMatch(/^Warning: .*no CO-RE relocation.*output BTF will be empty/m);
    }
  });

  it('usage errors exit 2, commander\'s and ours alike', () => {
    const cases = [
      [], // no command
      ['nosuchcommand'],
      ['--nosuchoption'],
      ['pack'], // missing argument
      ['pack', EXAMPLE_OBJECT, '--layout', 'nope'], // invalid choice
      ['minimize', '--header-len', '3', 'a', 'b', 'c'], // invalid argument
      ['pack', EXAMPLE_OBJECT, '--jobs', 'many'], // our UsageError
      ['which'], // missing required option
    ];
    for (const args of cases) expect(run(args).status, `btfgen ${args.join(' ')}`).toBe(2);
    expect(run(['--help']).status).toBe(0);
  });

  it('an unbuilt checkout says to run npm run build', () => {
    const co = join(dir, 'checkout');
    mkdirSync(join(co, 'bin'), { recursive: true });
    for (const f of ['btfgen', 'package.json']) copyFileSync(join(REPO_ROOT, 'bin', f), join(co, 'bin', f));
    const r = spawnSync(process.execPath, [join(co, 'bin', 'btfgen'), '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('npm run build');
  });
});
