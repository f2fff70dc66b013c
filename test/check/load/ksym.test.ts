// Typed ksyms and kfuncs (SEC(".ksyms") externs) against libbpf itself. libbpf resolves them in
// the running kernel's BTF, and obj_needs_vmlinux_btf() makes it load that BTF for the whole
// object before any program: on a host that needs an archive BTF (no /sys/kernel/btf/vmlinux)
// every program of such an object fails, whatever it uses and whatever btf_custom_path says. A
// typeless ksym (its type void) is looked up in /proc/kallsyms instead and needs no kernel BTF.
//
// The judge: libbpf (test/fixtures/loader) loading the fixtures with btf_custom_path, once as is
// and once in a private mount namespace whose /sys/kernel/btf is an empty tmpfs, which is how a
// kernel without BTF looks to libbpf.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBtf } from '../../../src/btf/btf.js';
import { readKernelFacts } from '../../../src/check/load/kernel.js';
import { readObjectFacts } from '../../../src/check/load/program.js';
import { programVerdict } from '../../../src/check/load/verdict.js';
import { EXAMPLE_ARCHIVE, HAVE_CLANG, HAVE_VMLINUX, VMLINUX } from '../../helpers/env.js';
import { bpfLoadProbe, buildLoader, canLoadBpf, loaderSkipReason, parseLoaderOutput } from '../../helpers/loader.js';
import { unpackBtfTarXz } from '../../helpers/data.js';
import { runCli } from '../helpers.js';
import { compileFixture, run, tempDir } from './helpers.js';

/** What the fixture declares (test/check/load/fixtures/ksym.bpf.c): a typed per-CPU variable and two kfuncs. */
const TYPED = ['bpf_prog_active', 'bpf_rcu_read_lock', 'bpf_rcu_read_unlock'];

/** The names bpftool lists in the object's DATASEC '.ksyms' (an independent reading of its BTF). */
function bpftoolKsyms(obj: string): string[] {
  const dump = run('bpftool', ['btf', 'dump', 'file', obj]);
  const sec = /^\[\d+\] DATASEC '\.ksyms'[^\n]*\n((?:\t[^\n]*\n?)*)/m.exec(dump);
  return sec ? [...sec[1]!.matchAll(/\((?:FUNC|VAR) '([^']+)'\)/g)].map((m) => m[1]!).sort() : [];
}

describe.skipIf(!HAVE_CLANG)(HAVE_CLANG ? 'typed ksyms and kfuncs' : 'typed ksyms and kfuncs: skipped (clang-19 missing)', () => {
  it('are read as libbpf collects them, and fail every program of the object on every kernel', async () => {
    const typed = compileFixture('ksym');
    const typeless = compileFixture('ksym_typeless');
    expect(bpftoolKsyms(typed)).toEqual(TYPED);
    expect(bpftoolKsyms(typeless)).toEqual(['bpf_prog_active']); // in .ksyms too, but of type void
    const facts = readObjectFacts(new Uint8Array(readFileSync(typed)), typed);
    expect(facts.programs.map((p) => p.name).sort()).toEqual(['kfunc_user', 'percpu_reader', 'plain']);
    for (const p of facts.programs) expect([p.name, p.typedKsyms]).toEqual([p.name, TYPED]);
    for (const p of readObjectFacts(new Uint8Array(readFileSync(typeless)), typeless).programs) expect(p.typedKsyms).toEqual([]);
    for (const p of readObjectFacts(new Uint8Array(readFileSync(compileFixture('helpers')))).programs) expect(p.typedKsyms).toEqual([]);

    // any kernel: the reason does not depend on it
    const k = readKernelFacts(parseBtf(new Uint8Array(readFileSync(await unpackBtfTarXz(join(EXAMPLE_ARCHIVE, 'debian/12/x86_64/6.1.0-55-cloud-amd64.btf.tar.xz'))))));
    const plain = facts.programs.find((p) => p.name === 'plain')!;
    const v = programVerdict(plain, k);
    expect(v.verdict).toBe('fails');
    expect(v.failures.filter((r) => r.check === 'ksym').map((r) => r.name)).toEqual(TYPED);
  });

  it('btfgen check reports them as load failures and exits 1', async () => {
    const r = await runCli(['check', compileFixture('ksym'), '--archive', EXAMPLE_ARCHIVE, '--arch', 'x86_64']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^Load failures \(.*typed ksyms and kfuncs\):$/m);
    expect(r.stdout).toMatch(/ksym\.bpf\.o: prog 'plain' \(kprobe\/do_nanosleep\): ksym bpf_rcu_read_lock \(libbpf resolves typed ksyms and kfuncs in the running kernel's BTF/);
    const j = JSON.parse((await runCli(['check', compileFixture('ksym'), '--archive', EXAMPLE_ARCHIVE, '--arch', 'x86_64', '--format', 'json'])).stdout);
    const reasons = j.objects[0].programs.find((p: { name: string }) => p.name === 'plain').outcomes[0].reasons;
    expect(reasons.filter((x: { check: string }) => x.check === 'ksym').map((x: { name: string }) => x.name)).toEqual(TYPED);
    const ok = await runCli(['check', compileFixture('ksym_typeless'), '--archive', EXAMPLE_ARCHIVE, '--arch', 'x86_64']);
    expect(ok.stdout).not.toMatch(/: ksym /);
  }, 60_000);
});

/** The files libbpf 1.1's btf__load_vmlinux_btf() tries after /sys/kernel/btf/vmlinux. */
function fallbackVmlinux(): string | undefined {
  const r = release();
  return [
    `/boot/vmlinux-${r}`,
    `/lib/modules/${r}/vmlinux-${r}`,
    `/lib/modules/${r}/build/vmlinux`,
    `/usr/lib/modules/${r}/kernel/vmlinux`,
    `/usr/lib/debug/boot/vmlinux-${r}`,
    `/usr/lib/debug/boot/vmlinux-${r}.debug`,
    `/usr/lib/debug/lib/modules/${r}/vmlinux`,
  ].find((f) => existsSync(f));
}

/** The loader in a mount namespace where /sys/kernel/btf is empty; '' when that cannot be made. */
function loadWithoutKernelBtf(bin: string, btf: string, obj: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = 'mount -t tmpfs none /sys/kernel/btf && test ! -e /sys/kernel/btf/vmlinux && exec "$0" --btf "$1" "$2"';
  return new Promise((resolve) => {
    execFile('unshare', ['-m', 'sh', '-c', script, bin, btf, obj], { encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const why = !HAVE_VMLINUX ? 'no /sys/kernel/btf/vmlinux' : !canLoadBpf() ? 'not root' : !HAVE_CLANG ? 'clang-19 missing' : fallbackVmlinux() ? `libbpf would find ${fallbackVmlinux()}` : '';

describe.skipIf(!!why)(why ? `typed ksyms, libbpf as judge: skipped (${why})` : 'typed ksyms, libbpf as judge', () => {
  it('the object with typed ksyms loads with kernel BTF and fails without it; the typeless one loads both ways', async (ctx) => {
    const bin = await buildLoader();
    if (!bin) return ctx.skip(loaderSkipReason());
    const refused = await bpfLoadProbe(bin);
    if (refused) return ctx.skip(refused);
    const btf = join(tempDir(), 'vmlinux.btf'); // btf_custom_path, outside the hidden directory
    copyFileSync(VMLINUX, btf);
    const typed = compileFixture('ksym');
    const typeless = compileFixture('ksym_typeless');
    // the namespace works: the typeless object loads in it
    const control = await loadWithoutKernelBtf(bin, btf, typeless);
    if (control.code !== 0 && !/^result /m.test(control.stdout)) return ctx.skip(`no private mount namespace with an empty /sys/kernel/btf: ${control.stderr.trim().split('\n').pop()}`);
    expect(parseLoaderOutput(control.stdout).result, control.stderr).toBe('ok');

    const withBtf = await new Promise<string>((resolve) => execFile(bin, ['--btf', btf, typed], (_e, out) => resolve(out)));
    expect(parseLoaderOutput(withBtf).result).toBe('ok');
    const without = await loadWithoutKernelBtf(bin, btf, typed);
    expect(parseLoaderOutput(without.stdout).result).toMatch(/^err /);
    expect(without.stderr).toMatch(/libbpf: failed to find valid kernel BTF/);
    const per = parseLoaderOutput(without.stdout).perProgram;
    expect(Object.keys(per).sort()).toEqual(['kfunc_user', 'percpu_reader', 'plain']);
    for (const p of Object.values(per)) expect(p.ok).toBe(false);

    // and ours: every program of the one fails on ksyms, none of the other
    const host = readKernelFacts(parseBtf(new Uint8Array(readFileSync(VMLINUX))));
    for (const p of readObjectFacts(new Uint8Array(readFileSync(typed))).programs) {
      expect(programVerdict(p, host).failures.some((r) => r.check === 'ksym')).toBe(true);
    }
    for (const p of readObjectFacts(new Uint8Array(readFileSync(typeless))).programs) {
      expect(programVerdict(p, host).failures.some((r) => r.check === 'ksym')).toBe(false);
    }
  });
});
