// `btfgen check` through the built CLI (bin/btfgen): the text matrix and json report on the
// committed example archive (Debian 12 kernels), exit status and --allow-missing, atomic -o,
// and pack's clear errors for bad input. Expected verdicts come from the kernels' BTF read by
// an independent route (`bpftool btf dump ... format c`), not from our reader.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXAMPLE_ARCHIVE, REPO_ROOT } from '../helpers/data.js';
import { assertDistFresh } from '../pack/helpers.js';
import { HAVE_BPFTOOL, kernelFile, NO_BPFTOOL } from '../minimize/helpers/env.js';

assertDistFresh();
const BIN = join(REPO_ROOT, 'bin/btfgen');
const GUARDS = join(REPO_ROOT, 'test/check/fixtures/guards.o');
const tmp = mkdtempSync(join(tmpdir(), 'btfgen-check-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Kernel files of the example archive (x86_64 and arm64). */
function exampleKernels(): string[] {
  const out: string[] = [];
  for (const arch of readdirSync(join(EXAMPLE_ARCHIVE, 'debian/12'))) {
    for (const f of readdirSync(join(EXAMPLE_ARCHIVE, 'debian/12', arch))) out.push(join(EXAMPLE_ARCHIVE, 'debian/12', arch, f));
  }
  return out.sort();
}

/** Does `struct task_struct` have member `name` in this kernel? (bpftool's C dump) */
function taskHas(kernel: string, member: string): boolean {
  const c = execFileSync('bpftool', ['btf', 'dump', 'file', kernelFile(kernel), 'format', 'c'], { maxBuffer: 1 << 28 }).toString('latin1');
  const body = /^struct task_struct \{\n([\s\S]*?)\n\};/m.exec(c)?.[1] ?? '';
  return new RegExp(`[ *]${member}(;|\\[| :)`).test(body);
}

describe('btfgen check (CLI)', () => {
  it.skipIf(!HAVE_BPFTOOL)(`text report: matrix and failing relocations follow the kernels' task_struct ${HAVE_BPFTOOL ? '' : NO_BPFTOOL}`, async () => {
    const ks = exampleKernels();
    const hasNew = ks.map((k) => taskHas(k, '__state'));
    const hasOld = ks.map((k) => taskHas(k, 'state'));
    const r = await run(['check', GUARDS, '--archive', EXAMPLE_ARCHIVE]);
    const rowOf = (p: string) => r.stdout.split('\n').find((l) => l.startsWith(`  ${p} `)) ?? '';
    // state_unguarded reads __state unguarded: ok exactly where every kernel has it
    expect(rowOf('state_unguarded').includes('fail')).toBe(!hasNew.every(Boolean));
    expect(rowOf('old_state_unguarded').includes('fail')).toBe(!hasOld.every(Boolean));
    // guarded reads never fail
    for (const p of ['state_guarded', 'state_either', 'state_guarded_in_subprog', 'state_guard_returned', 'state_guard_on_stack']) {
      expect(rowOf(p)).not.toMatch(/fail/);
    }
    const anyFail = !hasNew.every(Boolean) || !hasOld.every(Boolean);
    expect(r.code).toBe(anyFail ? 1 : 0);
    expect(r.stdout).toMatch(/^btfgen check: 1 object, \d+ CO-RE relocations, 4 kernels/);
    if (!hasOld.every(Boolean)) expect(r.stdout).toMatch(/prog 'old_state_unguarded' relo #\d+ insn #\d+: byte_off task_struct___old->state/);
  }, 120_000);

  it('--allow-missing reports only; json has the documented shape; -o is written', async () => {
    const out = join(tmp, 'r.json');
    const r = await run(['check', GUARDS, '--archive', EXAMPLE_ARCHIVE, '--format', 'json', '-o', out, '--allow-missing']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j.schema).toBe('btfgen-check');
    expect(j.version).toBe(1);
    expect(j.kernels.map((k: { key: string }) => k.key).sort()).toEqual(
      exampleKernels().map((p) => p.slice(EXAMPLE_ARCHIVE.length + 1).replace(/\.btf\.tar\.xz$/, '')).sort(),
    );
    const o = j.objects[0];
    expect(o.file).toBe(GUARDS);
    for (const rel of o.relocations) {
      expect(Object.keys(rel)).toEqual(expect.arrayContaining(['program', 'section', 'index', 'insn', 'kind', 'type', 'access', 'path', 'outcomes']));
      // each kernel appears in exactly one outcome of each relocation
      const ks = rel.outcomes.flatMap((x: { kernels: number[] }) => x.kernels).sort();
      expect(ks).toEqual(j.kernels.map((_: unknown, i: number) => i));
    }
    for (const p of o.programs) {
      const ks = p.outcomes.flatMap((x: { kernels: number[] }) => x.kernels).sort();
      expect(ks).toEqual(j.kernels.map((_: unknown, i: number) => i));
    }
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp'))).toEqual([]);
  }, 120_000);

  it('--distro/--arch select kernels as pack does', async () => {
    const r = await run(['check', GUARDS, '--archive', EXAMPLE_ARCHIVE, '--arch', 'arm64', '--format', 'json', '--allow-missing']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.kernels.map((k: { arch: string }) => k.arch)).toEqual(['arm64']);
  }, 60_000);

  it('a kernel whose BTF cannot be read is reported and fails the run; the others are checked', async () => {
    const arch = join(tmp, 'archive');
    mkdirSync(join(arch, 'debian/12/x86_64'), { recursive: true });
    const good = exampleKernels().find((k) => k.includes('x86_64'))!;
    copyFileSync(good, join(arch, 'debian/12/x86_64', basename(good)));
    writeFileSync(join(arch, 'debian/12/x86_64/9.9.9-broken.btf.tar.xz'), 'not xz at all');
    const r = await run(['check', GUARDS, '--archive', arch, '--format', 'json', '--allow-missing']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.kernels).toHaveLength(2);
    const broken = j.kernels.find((k: { release: string }) => k.release === '9.9.9-broken');
    expect(broken.error).toMatch(/not an xz file/);
    expect(j.summary.unreadableKernels).toBe(1);
    const t = await run(['check', GUARDS, '--archive', arch, '--distro', 'debian']);
    expect(t.code).toBe(1);
    expect(t.stdout).toMatch(/Unreadable kernels:\n  debian\/12\/x86_64\/9\.9\.9-broken: /);
  }, 60_000);

  it('bad input: one clear line, pack-style exit codes, no partial output', async () => {
    const junk = join(tmp, 'junk.o');
    writeFileSync(junk, 'not an object');
    const out = join(tmp, 'never.json');
    let r = await run(['check', junk, '--archive', EXAMPLE_ARCHIVE, '-o', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^Error: .*junk\.o/);
    expect(existsSync(out)).toBe(false);
    r = await run(['check', join(tmp, 'missing.o'), '--archive', EXAMPLE_ARCHIVE]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: .*missing\.o: cannot read object \(ENOENT\)/);
    r = await run(['check', GUARDS, '--archive', join(tmp, 'nope')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: .*archive directory not found/);
    r = await run(['check', GUARDS, '--archive', EXAMPLE_ARCHIVE, '--distro', 'nosuch']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: no kernels matching/);
    r = await run(['check', GUARDS, '--archive', EXAMPLE_ARCHIVE, '--cache', tmp]);
    expect(r.code).toBe(2);
    r = await run(['check', GUARDS, '--archive', EXAMPLE_ARCHIVE, '--format', 'yaml']);
    expect(r.stderr).toMatch(/argument 'yaml' is invalid/); // commander's choice error: a usage error
    expect(r.code).toBe(2);
    r = await run(['check', GUARDS, '--archive', EXAMPLE_ARCHIVE, '--jobs', 'x']);
    expect(r.code).toBe(2);
  }, 120_000);
});
