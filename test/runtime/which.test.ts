// btfgen which: the matched key, then the extracted path last; non-zero exit on no match.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register } from '../../src/cli/which.js';
import { BtfgenError } from '../../src/errors.js';
import { concat, gzip, tarEnd, tarMember } from '../helpers/tar.js';

let dir: string;
let archive: string;
/** Kernels of derivative distributions' parents (see the id-like and release tests). */
let derived: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'btfgen-which-'));
  await mkdir(join(dir, 'tmp'));
  archive = join(dir, 'a.tar.gz');
  await writeFile(
    archive,
    gzip(
      concat([
        ...tarMember('./btfhub-archive/ubuntu/20.04/arm64/5.4.0-1009-aws.btf', 'arm64 btf'),
        ...tarMember('./btfhub-archive/ubuntu/20.04/x86_64/5.4.0-40-generic.btf', 'x86 btf'),
        tarEnd(),
      ]),
    ),
  );
});
beforeAll(async () => {
  derived = join(dir, 'derived.tar.gz');
  await writeFile(
    derived,
    gzip(
      concat([
        ...tarMember('./btfhub-archive/centos/8/x86_64/4.18.0-372.9.1.el8_6.x86_64.btf', 'centos 8 btf'),
        ...tarMember('./btfhub-archive/ubuntu/22.04/x86_64/5.15.0-56-generic.btf', 'jammy btf'),
        ...tarMember('./btfhub-archive/ubuntu/22.04/x86_64/5.15.0-60-generic.btf', 'jammy 60 btf'),
        ...tarMember('./btfhub-archive/pop/22.04/x86_64/5.15.0-60-generic.btf', 'pop 60 btf'),
        tarEnd(),
      ]),
    ),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What src/cli/index.ts's reportError does with errors (not imported: it loads every command). */
function report(e: unknown): number {
  if (e instanceof BtfgenError) {
    process.stderr.write(`Error: ${e.message}\n`);
    return e.exitCode;
  }
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && !code.startsWith('commander.')) {
    process.stderr.write(`Error: ${(e as Error).message}\n`);
    return 1;
  }
  throw e;
}

/** Runs `btfgen which ARGS` in-process: stdout lines, stderr and the exit code. */
async function which(args: string[], env: Record<string, string> = {}): Promise<{ lines: string[]; stderr: string; code: number }> {
  const program = new Command().exitOverride();
  register(program);
  program.commands.forEach((c) => c.exitOverride());
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  const saved = { ...process.env };
  Object.assign(process.env, { TMPDIR: join(dir, 'tmp') }, env);
  let code = 0;
  try {
    await program.parseAsync(['node', 'btfgen', 'which', ...args]);
  } catch (e) {
    code = report(e);
  } finally {
    out.mockRestore();
    err.mockRestore();
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  return { lines: stdout.split('\n').filter(Boolean), stderr, code };
}

describe('btfgen which', () => {
  it('answers for another host: key and rule, then the path last', async () => {
    const host = ['--id', 'ubuntu', '--version-id', '20.04', '--machine', 'aarch64', '--release', '5.4.0-1009-aws'];
    const r = await which(['--archive', archive, ...host]);
    expect(r.code).toBe(0);
    expect(r.lines[0]).toBe('ubuntu/20.04/arm64/5.4.0-1009-aws.btf (arch-alias)');
    const path = r.lines.at(-1)!;
    expect(path.startsWith(join(dir, 'tmp') + '/')).toBe(true);
    expect(await readFile(path, 'utf8')).toBe('arm64 btf');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await rm(path);
  });

  it('--extract-to writes where asked', async () => {
    const to = join(dir, 'chosen.btf');
    const r = await which([
      '--archive', archive, '--id', 'ubuntu', '--version-id', '20.04', '--machine', 'x86_64',
      '--release', '5.4.0-40-generic', '--extract-to', to,
    ]);
    expect(r.code).toBe(0);
    expect(r.lines).toEqual(['ubuntu/20.04/x86_64/5.4.0-40-generic.btf (exact)', to]);
    expect(await readFile(to, 'utf8')).toBe('x86 btf');
  });

  // Issue 13: a corrupt archive found out after the member has started used to truncate and
  // then remove the file already at the path. Now the member goes to a temp file beside it.
  it('--extract-to leaves a file already at the path as it was when the archive is corrupt', async () => {
    const sub = join(dir, 'extract-to-corrupt');
    await mkdir(sub);
    const to = join(sub, 'chosen.btf');
    await writeFile(to, 'precious');
    const member = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
    const tar = concat([...tarMember('./btfhub-archive/ubuntu/20.04/x86_64/5.4.0-40-generic.btf', member), tarEnd()]);
    const host = ['--id', 'ubuntu', '--version-id', '20.04', '--machine', 'x86_64', '--release', '5.4.0-40-generic'];
    // plain tar cut in the member's data; gzip whose deflate stream breaks after the member started
    const cut = join(sub, 'cut.tar');
    await writeFile(cut, tar.subarray(0, 512 + 3000));
    const gz = gzip(tar);
    const broken = join(sub, 'broken.tar.gz');
    await writeFile(broken, concat([gz.subarray(0, gz.length - 40), new Uint8Array(40).fill(0xff)]));
    for (const bad of [cut, broken]) {
      const r = await which(['--archive', bad, ...host, '--extract-to', to]);
      expect(r.code, bad).not.toBe(0);
      expect(r.stderr).toMatch(/^Error: .*(truncated|corrupt)/);
      expect(await readFile(to, 'utf8')).toBe('precious');
      expect((await readdir(sub)).sort()).toEqual(['broken.tar.gz', 'chosen.btf', 'cut.tar']); // no temp file left
    }
    // A good archive replaces it (atomically, 0600).
    const r = await which(['--archive', archive, ...host, '--extract-to', to]);
    expect(r.code).toBe(0);
    expect(await readFile(to, 'utf8')).toBe('x86 btf');
    expect((await stat(to)).mode & 0o777).toBe(0o600);
    expect((await readdir(sub)).sort()).toEqual(['broken.tar.gz', 'chosen.btf', 'cut.tar']);
  });

  it('prints the id-like rule; --id-like overrides ID_LIKE (space or comma separated, empty for none)', async () => {
    const rocky = ['--id', 'rocky', '--version-id', '8.6', '--machine', 'x86_64', '--release', '4.18.0-372.9.1.el8_6.x86_64'];
    for (const list of ['rhel centos fedora', 'rhel,centos,fedora', 'centos']) {
      const to = join(dir, 'rocky.btf');
      const r = await which(['--archive', derived, ...rocky, '--id-like', list, '--extract-to', to]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.lines).toEqual(['centos/8/x86_64/4.18.0-372.9.1.el8_6.x86_64.btf (id-like)', to]);
      expect(await readFile(to, 'utf8')).toBe('centos 8 btf');
    }
    // Without ID_LIKE the same host still finds its release under centos: the release rule.
    const none = await which(['--archive', derived, ...rocky, '--id-like', '', '--extract-to', join(dir, 'r2.btf')]);
    expect(none.lines[0]).toBe('centos/8/x86_64/4.18.0-372.9.1.el8_6.x86_64.btf (release)');
  });

  it('prints the release rule, and lists the candidates when they differ', async () => {
    const mint = ['--id', 'linuxmint', '--id-like', 'ubuntu debian', '--version-id', '21', '--machine', 'x86_64'];
    const r = await which(['--archive', derived, ...mint, '--release', '5.15.0-56-generic', '--extract-to', join(dir, 'm.btf')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines[0]).toBe('ubuntu/22.04/x86_64/5.15.0-56-generic.btf (release)');
    expect(await readFile(join(dir, 'm.btf'), 'utf8')).toBe('jammy btf');
    const amb = await which(['--archive', derived, ...mint, '--release', '5.15.0-60-generic', '--extract-to', join(dir, 'amb.btf')]);
    expect(amb.code).toBe(1);
    expect(amb.lines).toEqual([]);
    expect(amb.stderr.trim()).toBe(
      'Error: no BTF for this host in the archive: tried linuxmint/21/x86_64/5.15.0-60-generic.btf, ' +
        'ubuntu/21/x86_64/5.15.0-60-generic.btf, debian/21/x86_64/5.15.0-60-generic.btf; the 2 kernels with release ' +
        '5.15.0-60-generic differ, not guessing between ubuntu/22.04/x86_64/5.15.0-60-generic.btf, pop/22.04/x86_64/5.15.0-60-generic.btf',
    );
    // Nothing written where it was asked to go, and no temporary file next to it.
    await expect(stat(join(dir, 'amb.btf'))).rejects.toThrow(/ENOENT/);
    expect((await readdir(dir)).filter((f) => f.includes('amb.btf'))).toEqual([]);
  });

  it('says so when this kernel has its own BTF; --force uses the archive', async () => {
    const r = await which(['--archive', archive]);
    expect(r.code).toBe(0);
    expect(r.lines.at(-1)).toMatch(/kernel has its own BTF/);
    // This host is not in the little archive: --force reports a clean no-match error.
    const forced = await which(['--archive', archive, '--force']);
    expect(forced.code).not.toBe(0);
    expect(forced.stderr).toMatch(/^Error: no BTF for this host in the archive: tried .*; nearest kernels in the archive \(2 in all\)/);
  });

  it('prints BTF_FILE_PATH when it is set', async () => {
    const mine = join(dir, 'mine.btf');
    await writeFile(mine, 'x');
    const r = await which(['--archive', archive], { BTF_FILE_PATH: mine });
    expect(r.code).toBe(0);
    expect(r.lines.at(-1)).toBe(mine);
  });

  it('exits non-zero with the keys tried and nearest kernels when nothing matches', async () => {
    const r = await which(['--archive', archive, '--id', 'ubuntu', '--version-id', '20.04', '--machine', 'x86_64', '--release', '5.4.0-42-generic']);
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([]);
    expect(r.stderr.trim()).toBe(
      'Error: no BTF for this host in the archive: tried ubuntu/20.04/x86_64/5.4.0-42-generic.btf, ubuntu/20/x86_64/5.4.0-42-generic.btf; ' +
        'nearest kernels in the archive (2 in all): ubuntu/20.04/x86_64/5.4.0-40-generic.btf',
    );
  });

  it('reports a corrupt archive in one line', async () => {
    const bad = join(dir, 'bad.tar.gz');
    await writeFile(bad, 'not an archive at all\n'.repeat(100));
    const r = await which(['--archive', bad, '--machine', 'x86_64']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: not a tar archive, or a corrupt one/);
    const missing = await which(['--archive', join(dir, 'missing.tar.gz'), '--machine', 'x86_64']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^Error: ENOENT/);
  });
});
