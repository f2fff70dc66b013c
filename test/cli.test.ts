// The CLI as a user meets it: every command answers --help and --version; unknown commands
// and bad usage exit non-zero with one line.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { VERSION } from '../src/version.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'btfgen');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root });

describe('btfgen CLI', () => {
  it('version in src/version.ts matches package.json', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });

  it('prints the version', () => {
    expect(execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim()).toBe(VERSION);
  });

  const commands = ['fetch', 'pack', 'minimize', 'dump', 'which', 'btfgen'];
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
