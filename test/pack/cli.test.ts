// `btfgen pack` and the legacy `btfgen btfgen` through the built CLI (bin/btfgen): output and
// summary lines, failure listing and exit codes, usage errors, signals, the old script's
// defaults (output.tar, -f before positional objects, -j package.json, fetch when missing).
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertDistFresh, BIN, BPF_FIXTURES_DIR, data, EXAMPLE_ARCHIVE, EXAMPLE_OBJECT, fixtures, missing, REPO_ROOT } from '../helpers/env.js';
import { readTarGz, tarArchive, xz } from '../helpers/tar.js';
import { buildArchive, cleanupTemps, listFiles, rawBtfOfElf, tempDir, traceObjects } from './helpers.js';

assertDistFresh();
afterAll(cleanupTemps);

const fixture = (n: string) => join(BPF_FIXTURES_DIR, n);
const OBJS = ['reloc_fields.o', 'reloc_types.o', 'edge_union.o'].map(fixture);

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; killAfterMs?: number; signal?: NodeJS.Signals } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    if (opts.killAfterMs !== undefined) setTimeout(() => child.kill(opts.signal ?? 'SIGINT'), opts.killAfterMs);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

let FIX = '';
beforeAll(async () => {
  FIX = tempDir('btfgen-cli-archive-');
  const probes = await rawBtfOfElf(fixture('targets/probes_target.o'));
  const reloc = await rawBtfOfElf(fixture('targets/reloc_target.o'));
  buildArchive(FIX, [
    { rel: 'fixture/1/x86_64/probes-1.0.btf.tar.xz', data: xz(tarArchive([{ name: 'probes-1.0.btf', data: probes }])) },
    { rel: 'fixture/1/x86_64/reloc-1.0.btf', data: reloc },
    { rel: 'fixture/2/arm64/reloc-2.0.btf.tar.xz', data: xz(tarArchive([{ name: 'reloc-2.0.btf', data: reloc }])) },
    { rel: 'README.md', data: 'not a kernel' },
  ]);
});

describe('btfgen pack', () => {
  it.skipIf(!!missing(fixtures.exampleArchive, fixtures.exampleObject))("the README's first command", async () => {
    const root = tempDir();
    const out = join(root, 'x.tar.gz');
    const r = await run(['pack', 'examples/prog.bpf.o', '--archive', 'examples/archive', '-o', out], { env: { HOME: root, BTFHUB_CACHE: join(root, 'cache') } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Packed 4 of 4 kernels \(4 minimized, 0 from cache\) in \d+\.\d s\n/);
    expect(r.stdout).toMatch(/\n {2}debian\/12\/arm64 +1\n {2}debian\/12\/x86_64 +3\n/);
    expect(r.stdout).toContain(`Wrote ${out} (`);
    expect(readTarGz(out).map((e) => e.name)).toEqual([
      './btfhub-archive/debian/12/arm64/6.1.0-56-cloud-arm64.btf',
      './btfhub-archive/debian/12/x86_64/6.1.0-55-cloud-amd64.btf',
      './btfhub-archive/debian/12/x86_64/6.1.0-56-cloud-amd64.btf',
      './btfhub-archive/debian/12/x86_64/6.12.117+deb12-cloud-amd64.btf',
    ]);
    // the result cache went to $BTFHUB_CACHE/pack-cache; a re-run minimizes nothing
    expect(existsSync(join(root, 'cache/pack-cache'))).toBe(true);
    const again = await run(['pack', 'examples/prog.bpf.o', '--archive', 'examples/archive', '-o', out, '-q'], { env: { HOME: root, BTFHUB_CACHE: join(root, 'cache') } });
    expect(again.stdout).toBe(`Wrote ${out} (${readFileSync(out).length} B)\n`);
  });

  it('lists each failing kernel on its own line, exits 1, writes nothing', async () => {
    const root = tempDir();
    const out = join(root, 'o.tar.gz');
    const objs = [...OBJS, fixture('d_ambig.o')];
    const env = { HOME: root, BTFHUB_CACHE: root };
    const r = await run(['pack', ...objs, '--archive', FIX, '-o', out], { env });
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^btfgen: fixture\/1\/x86_64\/probes-1\.0\.btf\.tar\.xz: .*d_ambig\.o.*ambigu/);
    expect(lines[1]).toBe('Error: 1 of 3 kernels failed; nothing was written (--skip-failed packs the others)');
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);

    const s = await run(['pack', ...objs, '--archive', FIX, '-o', out, '--skip-failed', '--layout', 'bcc'], { env });
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/^Packed 2 of 3 kernels \(\d+ minimized, \d+ from cache, 1 failed\)/);
    expect(s.stdout).toMatch(/Skipped 1 failing kernel \(not packed\):\n {2}fixture\/1\/x86_64\/probes-1\.0\.btf\.tar\.xz: .*ambigu/);
    expect(readTarGz(out).map((e) => e.name)).toEqual(['./fixture/1/x86_64/reloc-1.0.btf', './fixture/2/arm64/reloc-2.0.btf']);
  });

  it.each([
    [['pack', 'x.o', '--archive', 'a', '--cache', 'b'], /--archive and --cache are mutually exclusive/, 2],
    [['pack', 'x.o', '--jobs', '0'], /invalid --jobs '0'/, 2],
    [['pack', 'x.o', '--jobs', 'many'], /invalid --jobs 'many'/, 2],
    [['pack', 'x.o', '--layout', 'flat'], /argument 'flat' is invalid/, 2],
    [['pack'], /missing required argument 'object'/, 2],
    [['pack', 'nonexistent.o', '--archive', '.'], /nonexistent\.o: cannot read BPF object/, 2],
  ] as const)('usage error %#', async (args, re, code) => {
    const r = await run([...args], { env: { HOME: tempDir() } });
    expect(r.stderr).toMatch(re);
    expect(r.code).toBe(code);
  });

  it('--cache DIR reads DIR/btfhub-archive; --no-cache (either order) keeps DIR and skips the result cache', async () => {
    const root = tempDir();
    const cache = join(root, 'c');
    cpSync(FIX, join(cache, 'btfhub-archive'), { recursive: true });
    const env = { HOME: root, BTFHUB_CACHE: join(root, 'elsewhere') };
    // --no-cache turns off the result cache only: the second run reads the two .btf.tar.xz
    // kernels from DIR/kernel-cache, which the first filled
    for (const [args, summary] of [
      [['--cache', cache, '--no-cache'], '(3 minimized, 0 from cache)'],
      [['--no-cache', '--cache', cache], '(3 minimized, 0 from cache; 2 read from the kernel cache)'],
    ] as const) {
      const r = await run(['pack', OBJS[0]!, '-o', join(root, 'o.tar.gz'), ...args], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.startsWith(`Packed 3 of 3 kernels ${summary} in `)).toBe(true);
    }
    expect(existsSync(join(cache, 'pack-cache'))).toBe(false);
    const c = await run(['pack', OBJS[0]!, '-o', join(root, 'o.tar.gz'), '--cache', cache], { env });
    expect(c.code).toBe(0);
    expect(existsSync(join(cache, 'pack-cache'))).toBe(true);
    const c2 = join(root, 'c2');
    cpSync(FIX, join(c2, 'btfhub-archive'), { recursive: true });
    const l = await run(['btfgen', '--no-cache', OBJS[0]!], { cwd: root, env: { HOME: root, BTFHUB_CACHE: c2 } });
    expect(l.code, l.stderr).toBe(0);
    expect(existsSync(join(c2, 'pack-cache'))).toBe(false);
  });

  it('falls back to @napi-rs/lzma when xz is not installed (same bytes); --decompressor xz then fails clearly', async () => {
    const root = tempDir();
    const env = { HOME: root, BTFHUB_CACHE: root };
    const a = await run(['pack', ...OBJS, '--archive', FIX, '-o', join(root, 'a.tar.gz'), '--no-cache'], { env });
    expect(a.code, a.stderr).toBe(0);
    const b = await run(['pack', ...OBJS, '--archive', FIX, '-o', join(root, 'b.tar.gz'), '--no-cache'], { env: { ...env, PATH: '/nonexistent' } });
    expect(b.code, b.stderr).toBe(0);
    expect(readFileSync(join(root, 'b.tar.gz')).equals(readFileSync(join(root, 'a.tar.gz')))).toBe(true);
    const c = await run(['pack', ...OBJS, '--archive', FIX, '-o', join(root, 'c.tar.gz'), '--no-cache', '--decompressor', 'xz'], { env: { ...env, PATH: '/nonexistent' } });
    expect(c.code).toBe(1);
    expect(c.stderr).toBe("Error: the 'xz' command was requested but does not run (install xz-utils)\n");
  });

  it('a missing default archive is a clear error', async () => {
    const root = tempDir();
    const r = await run(['pack', OBJS[0]!, '-o', join(root, 'o.tar.gz')], { env: { HOME: root, BTFHUB_CACHE: join(root, 'c') } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `Error: no btfhub archive at ${join(root, 'c', 'btfhub-archive')}: run \`btfgen fetch\` to download it there, or name one with --archive DIR\n`,
    );
  });

  it.skipIf(!!missing(data.demoArchive))('SIGINT / SIGTERM mid-run: exit 130 / 143, no output, no temp files, no partial cache entries', async () => {
    // centos/8 of the demo archive: five 44 MB kernels, several seconds with one job.
    const root = tempDir();
    for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const out = join(root, `o-${sig}.tar.gz`);
      const r = await run(['pack', ...traceObjects(), '--archive', data.demoArchive.path, '--distro', 'centos', '-o', out, '--jobs', '1'], {
        env: { HOME: root, BTFHUB_CACHE: join(root, 'cache') },
        killAfterMs: 1200,
        signal: sig,
      });
      expect(r.stderr).toBe(`Error: interrupted by ${sig}; no output written\n`);
      expect(r.code).toBe(code);
      expect(existsSync(out)).toBe(false);
      expect(listFiles(root).filter((f) => !f.startsWith('cache/'))).toEqual([]);
      expect(listFiles(join(root, 'cache')).filter((f) => f.includes('.tmp-'))).toEqual([]);
    }
  });
});

describe('btfgen btfgen (legacy)', () => {
  it('old defaults: output.tar (gzip) in the cwd, -f objects first, -j package.json; same bytes as pack', async () => {
    const root = tempDir();
    const cache = join(root, 'cache');
    cpSync(FIX, join(cache, 'btfhub-archive'), { recursive: true });
    writeFileSync(join(root, 'pkg.json'), '{"x":1}');
    const env = { HOME: root, BTFHUB_CACHE: cache, BTFHUB_CACHE_DIR: '/nonexistent' };
    const r = await run(['btfgen', '-f', OBJS[1]!, '-j', 'pkg.json', OBJS[0]!, '-f', OBJS[2]!], { cwd: root, env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = join(root, 'output.tar');
    expect(r.stdout).toContain(`Wrote ${out} (`);
    expect(readFileSync(out).subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(true);
    const names = readTarGz(out).map((e) => e.name);
    expect(names).toEqual([
      './btfhub-archive/fixture/1/x86_64/probes-1.0.btf',
      './btfhub-archive/fixture/1/x86_64/reloc-1.0.btf',
      './btfhub-archive/fixture/2/arm64/reloc-2.0.btf',
      './package.json',
    ]);
    const p = await run(['pack', OBJS[1]!, OBJS[2]!, OBJS[0]!, '--json', 'pkg.json', '-o', 'p.tar.gz', '--no-cache'], { cwd: root, env });
    expect(p.code).toBe(0);
    expect(readFileSync(join(root, 'p.tar.gz')).equals(readFileSync(out))).toBe(true);

    // absolute -o (broken in the old script), long options
    const abs = join(root, 'sub', 'abs.tar.gz');
    const a = await run(['btfgen', '--output', abs, '--file', OBJS[0]!], { cwd: root, env });
    expect(a.code).toBe(0);
    expect(readTarGz(abs)).toHaveLength(3);
  });

  it('a failing kernel is an error (never shipped in full); BTFHUB_CACHE_DIR is honoured', async () => {
    const root = tempDir();
    const cache = join(root, 'cache');
    cpSync(FIX, join(cache, 'btfhub-archive'), { recursive: true });
    const r = await run(['btfgen', fixture('d_ambig.o'), ...OBJS], { cwd: root, env: { HOME: root, BTFHUB_CACHE: '', BTFHUB_CACHE_DIR: cache } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^btfgen: fixture\/1\/x86_64\/probes-1\.0\.btf\.tar\.xz: .*\nError: 1 of 3 kernels failed/);
    expect(existsSync(join(root, 'output.tar'))).toBe(false);
    const n = await run(['btfgen'], { cwd: root, env: { HOME: root, BTFHUB_CACHE: cache } });
    expect(n.code).toBe(2);
    expect(n.stderr).toMatch(/no BPF object given/);
  });

  it.skipIf(!!missing(fixtures.exampleArchive, fixtures.exampleObject))('fetches the archive first when it does not exist, like the old script', async () => {
    const root = tempDir();
    const repo = join(root, 'repo');
    mkdirSync(repo);
    cpSync(EXAMPLE_ARCHIVE, repo, { recursive: true });
    const genv = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
    for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', 'archive']]) execFileSync('git', args, { cwd: repo, env: genv, stdio: 'ignore' });
    const cache = join(root, 'cache');
    const r = await run(['btfgen', '-o', 'min.tar.gz', EXAMPLE_OBJECT], { cwd: root, env: { HOME: root, BTFHUB_CACHE: cache, BTFHUB_REPO: repo, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('does not exist; fetching btfhub-archive first');
    expect(readTarGz(join(root, 'min.tar.gz')).map((e) => e.name)).toHaveLength(4);
  });
});
