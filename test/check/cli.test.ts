// `btfgen check` through the built CLI (bin/btfgen): the text matrix and json report on the
// committed example archive (Debian 12 kernels), exit status and --allow-missing, atomic -o,
// and pack's clear errors for bad input. Expected verdicts come from the kernels' BTF read by
// an independent route (`bpftool btf dump ... format c`), not from our reader.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertDistFresh, BIN, data, EXAMPLE_ARCHIVE, HAVE_BPFTOOL, HAVE_CLANG, missing, NO_BPFTOOL, REPO_ROOT } from '../helpers/env.js';
import { kernelFile } from '../minimize/helpers/differential.js';
import { exampleKernels, GUARDS, runCli, taskHas } from './helpers.js';
import { bpftoolFacts, compileFixture } from './load/helpers.js';

const DEMO = data.demoArchive.path;

assertDistFresh();
const tmp = mkdtempSync(join(tmpdir(), 'btfgen-check-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const run = (args: string[]) => runCli(args);

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
    expect(j.version).toBe(2);
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

  it.skipIf(!!missing(data.demoArchive))('a large json report on a pipe read by execFileSync arrives whole (bin/btfgen exits right after the command)', () => {
    const objs = readdirSync(join(REPO_ROOT, 'test/fixtures/bpf')).filter((f) => /^(edge_|reloc_|many_roots)/.test(f) && f.endsWith('.o')).map((f) => join(REPO_ROOT, 'test/fixtures/bpf', f));
    const out = join(tmp, 'big.json');
    const args = [BIN, 'check', ...objs, '--archive', data.demoArchive.path, '--distro', 'ubuntu', '--format', 'json', '--allow-missing', '-q'];
    execFileSync(process.execPath, [...args, '-o', out]);
    const file = readFileSync(out, 'utf8');
    expect(file.length).toBeGreaterThan(400_000); // far beyond what a pipe buffers
    expect(execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 28 })).toBe(file);
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

/** Kernel BTF facts through bpftool's raw dump (test/check/load/helpers.ts), never our reader. */
const loadWhy = missing(data.demoArchive) || (!HAVE_BPFTOOL ? 'bpftool missing' : '') || (!HAVE_CLANG ? 'clang-19 missing' : '');
describe.skipIf(!!loadWhy)(loadWhy ? `btfgen check load verdicts: skipped (${loadWhy})` : 'btfgen check: load verdicts (CLI)', () => {
  it('json: per program its type and load verdicts; the ring buffer program fails exactly where the kernel lacks BPF_MAP_TYPE_RINGBUF, naming it', async () => {
    const rb = compileFixture('ringbuf');
    const r = await run(['check', rb, '--archive', DEMO, '--distro', 'debian/10', '--format', 'json', '--allow-missing', '-q']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    const p = j.objects[0].programs.find((x: { name: string }) => x.name === 'rb_output');
    expect(p).toMatchObject({ section: 'kprobe/do_nanosleep', type: 'BPF_PROG_TYPE_KPROBE' });
    const failing = new Set<number>();
    for (const o of p.outcomes) {
      expect(['loads', 'fails', 'unknown']).toContain(o.verdict);
      if (o.verdict !== 'fails') continue;
      for (const k of o.kernels) failing.add(k);
      expect(o.reasons).toContainEqual(expect.objectContaining({ check: 'map-type', name: 'BPF_MAP_TYPE_RINGBUF' }));
      expect(o.reasons).toContainEqual(expect.objectContaining({ check: 'helper', name: 'BPF_FUNC_ringbuf_output' }));
    }
    const lacking = j.kernels
      .map((k: { key: string }, i: number) => [k.key, i] as const)
      .filter(([key]: readonly [string, number]) => {
        const file = kernelFile(join(DEMO, `${key}.btf.tar.xz`));
        return ![...(bpftoolFacts(file).enums.get('bpf_map_type') ?? new Map()).values()].includes(27);
      })
      .map(([, i]: readonly [string, number]) => i);
    expect(lacking.length).toBeGreaterThan(0);
    expect(lacking.length).toBeLessThan(j.kernels.length);
    expect([...failing].sort((a, b) => a - b)).toEqual(lacking);
  }, 300_000);

  it('programs that need kernel BTF: their own section, not in the exit status unless --strict', async () => {
    const fe = compileFixture('fentry');
    // fentry_missing's target is in no kernel: a failure, but of a program that needs kernel BTF
    let r = await run(['check', fe, '--archive', EXAMPLE_ARCHIVE, '-q']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Programs that need kernel BTF[^\n]*\nprogram[^\n]*\n\S*fentry\.bpf\.o\s*\n  fentry_sleep/);
    expect(r.stdout).toMatch(/fentry_missing' \(fentry\/btfgen_no_such_function\): attach-point btfgen_no_such_function \(heuristic: /);
    r = await run(['check', fe, '--archive', EXAMPLE_ARCHIVE, '-q', '--strict', '--format', 'json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    for (const p of j.objects[0].programs) {
      for (const o of p.outcomes) {
        expect(o.verdict).toBe('fails');
        expect(o.reasons).toContainEqual(expect.objectContaining({ check: 'needs-kernel-btf' }));
      }
    }
  }, 120_000);
});
