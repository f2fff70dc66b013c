// The CLI as a user meets it: every command answers --help and --version; unknown commands
// and bad usage exit non-zero with one line.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { VERSION } from '../src/version.js';
import { BIN, REPO_ROOT } from './helpers/env.js';

const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: REPO_ROOT });

describe('btfgen CLI', () => {
  it('version in src/version.ts matches package.json', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });

  it('prints the version', () => {
    expect(execFileSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' }).trim()).toBe(VERSION);
  });

  const commands = ['fetch', 'pack', 'minimize', 'dump', 'which', 'cache', 'btfgen'];
  for (const cmd of commands) {
    it(`${cmd} --help describes the command and exits 0`, () => {
      const r = run(cmd, '--help');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`Usage: btfgen ${cmd}`);
      expect(r.stdout).not.toContain('not implemented');
    });
    it(`${cmd} --version prints the version`, () => {
      const r = run(cmd, '--version');
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(VERSION);
    });
  }

  it('lists every command in the top-level help', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    for (const cmd of commands) expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
  });

  it('rejects an unknown command with a non-zero exit (the old script exited 0)', () => {
    const r = run('frobnicate');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown command/);
  });
});

// bin/btfgen is also a shell script (see its first lines): run directly, it starts node without
// NODE_EXTRA_CA_CERTS (node 20 parses that certificate bundle at start-up) and hands the
// variable back to the process environment, so children get it as given.
describe('bin/btfgen launcher', () => {
  const nodeDir = path.dirname(process.execPath);
  const missing = '/nonexistent/btfgen-test-ca.pem';
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: missing, PATH: `${nodeDir}:/usr/bin:/bin` };

  it('node honours NODE_EXTRA_CA_CERTS when it runs the file itself (the control)', () => {
    const r = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8', env });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('Ignoring extra certs');
  });

  it('run directly, node starts without it', () => {
    const r = spawnSync(BIN, ['--version'], { encoding: 'utf8', env });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
    expect(r.stderr).toBe('');
  });

  it('passes arguments through unchanged (spaces, empty, globs)', () => {
    const r = spawnSync(BIN, ['minimize', 'no such file', '', '*'], { encoding: 'utf8', env });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no such file/);
  });

  it('child processes see the variable as it was given', async () => {
    const { mkdtempSync, writeFileSync, chmodSync, rmSync } = await import('node:fs');
    const os = await import('node:os');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'btfgen-launcher-'));
    try {
      // a fake git that records its environment; fetch runs git first
      const dump = path.join(dir, 'env.txt');
      writeFileSync(path.join(dir, 'git'), `#!/bin/sh\nenv > '${dump}'\nexit 1\n`);
      chmodSync(path.join(dir, 'git'), 0o755);
      spawnSync(BIN, ['fetch', '--repo', path.join(dir, 'nope'), '--cache', path.join(dir, 'cache')], {
        encoding: 'utf8',
        env: { ...env, PATH: `${dir}:${env.PATH}` },
      });
      const seen = readFileSync(dump, 'utf8');
      expect(seen).toContain(`NODE_EXTRA_CA_CERTS=${missing}\n`);
      expect(seen).not.toContain('BTFGEN_NODE_EXTRA_CA_CERTS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves the environment alone when the variable is not set', () => {
    const { NODE_EXTRA_CA_CERTS: _, ...rest } = env;
    const r = spawnSync(BIN, ['--version'], { encoding: 'utf8', env: rest });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});

// The launcher picks dist/cli-bundle (scripts/bundle-cli.mjs) only while it is at least as new
// as dist/cli/index.js: a plain `tsc` after a bundle must never leave stale code running. It
// uses the bundle's code cache only when the cache is tagged for that bundle.
/** A copy of the launcher in a temp package with empty dist/cli and dist/cli-bundle dirs. */
async function fakeInstall(prefix: string): Promise<string> {
  const { mkdtempSync, mkdirSync, writeFileSync, copyFileSync } = await import('node:fs');
  const os = await import('node:os');
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  mkdirSync(path.join(dir, 'bin'));
  mkdirSync(path.join(dir, 'dist/cli'), { recursive: true });
  mkdirSync(path.join(dir, 'dist/cli-bundle'));
  copyFileSync(BIN, path.join(dir, 'bin/btfgen'));
  copyFileSync(path.join(REPO_ROOT, 'bin/package.json'), path.join(dir, 'bin/package.json'));
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
  return dir;
}

describe('bin/btfgen entry choice', () => {
  it('uses the bundle when fresh, dist/cli otherwise', async () => {
    const { writeFileSync, utimesSync, rmSync } = await import('node:fs');
    const dir = await fakeInstall('btfgen-entry-');
    try {
      writeFileSync(path.join(dir, 'dist/cli/index.js'), "export function main() { console.log('dist'); }\n");
      const which = () => spawnSync(process.execPath, [path.join(dir, 'bin/btfgen')], { encoding: 'utf8' }).stdout.trim();
      expect(which()).toBe('dist'); // no bundle
      // the bundle reaches ES-module-only packages through the launcher's import() (src/external.ts)
      writeFileSync(
        path.join(dir, 'dist/cli-bundle/index.cjs'),
        "exports.main = async () => { const p = await globalThis.__btfgenImport('node:path'); console.log(typeof p.join === 'function' ? 'bundle' : 'no import'); };\n",
      );
      const at = (f: string, s: number) => utimesSync(path.join(dir, f), s, s);
      at('dist/cli/index.js', 1_000_000);
      at('dist/cli-bundle/index.cjs', 2_000_000);
      expect(which()).toBe('bundle');
      at('dist/cli/index.js', 3_000_000); // tsc ran after the bundle
      expect(which()).toBe('dist');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const traced = (env: Record<string, string> = {}) =>
    spawnSync(BIN, ['--version'], { encoding: 'utf8', env: { ...process.env, BTFGEN_TRACE_LOAD: '1', ...env } });

  it('the built bundle loads with its code cache accepted', () => {
    const r = traced();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
    expect(r.stderr).toMatch(/cli-bundle\/index\.cjs \(code cache: accepted\)/);
  });

  it('a cache made for another bundle is not used', async () => {
    const { writeFileSync, readFileSync: read, rmSync, symlinkSync } = await import('node:fs');
    const dir = await fakeInstall('btfgen-cache-');
    try {
      writeFileSync(path.join(dir, 'dist/cli/index.js'), '');
      symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
      const real = path.join(REPO_ROOT, 'dist/cli-bundle/index.cjs');
      const source = read(real, 'utf8');
      const cache = read(`${real}.cache`);
      // same text with one byte changed in its tag: same length, so V8 alone would take the cache
      const other = source.replace(/^(\/\/ btfgen-bundle )(.)/, (_, a: string, c: string) => a + (c === '0' ? '1' : '0'));
      expect(other.length).toBe(source.length);
      writeFileSync(path.join(dir, 'dist/cli-bundle/index.cjs'), other);
      writeFileSync(path.join(dir, 'dist/cli-bundle/index.cjs.cache'), cache);
      const r = spawnSync(path.join(dir, 'bin/btfgen'), ['--version'], { encoding: 'utf8', env: { ...process.env, BTFGEN_TRACE_LOAD: '1' } });
      expect(r.stdout.trim()).toBe(VERSION);
      expect(r.stderr).toMatch(/code cache: none/);
      // the matching cache is taken
      writeFileSync(path.join(dir, 'dist/cli-bundle/index.cjs'), source);
      const ok = spawnSync(path.join(dir, 'bin/btfgen'), ['--version'], { encoding: 'utf8', env: { ...process.env, BTFGEN_TRACE_LOAD: '1' } });
      expect(ok.stderr).toMatch(/code cache: accepted/);
      // node started with another V8 flag: V8 rejects the cache, the bundle compiles from source
      const flagged = spawnSync(process.execPath, ['--no-lazy-feedback-allocation', path.join(dir, 'bin/btfgen'), '--version'], {
        encoding: 'utf8',
        env: { ...process.env, BTFGEN_TRACE_LOAD: '1' },
      });
      expect(flagged.status).toBe(0);
      expect(flagged.stdout.trim()).toBe(VERSION);
      expect(flagged.stderr).toMatch(/code cache: rejected/);
      // a truncated cache, and one damaged in the middle (V8 would abort node in its
      // deserializer: it does not checksum code caches in release builds), with the right tag:
      // our checksum turns both away and the bundle compiles from source
      const damaged = Buffer.from(cache);
      for (let i = 0; i < 200; i++) damaged[1000 + ((i * 7919 * 31) % (damaged.length - 1000))]! ^= 0xff;
      for (const bad of [cache.subarray(0, cache.length >> 1), damaged]) {
        writeFileSync(path.join(dir, 'dist/cli-bundle/index.cjs.cache'), bad);
        const r2 = spawnSync(path.join(dir, 'bin/btfgen'), ['--version'], { encoding: 'utf8', env: { ...process.env, BTFGEN_TRACE_LOAD: '1' } });
        expect(r2.stderr).toMatch(/code cache: corrupt, not used/);
        expect(r2.status).toBe(0);
        expect(r2.stdout.trim()).toBe(VERSION);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
