// `btfgen minimize` as a user runs it: bytes equal to bpftool's, .btf.tar.xz input (with a path
// prefix; links and `..` members refused), --header-len 32, --base for module (split) BTF,
// bpftool's exit statuses, one-line errors, and no output file (or an untouched old one) on error.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BtfBuilder } from '../../src/btf/builder.js';
import { loadBtf } from '../../src/btf/object.js';
import { ARCHIVE_DEMO, BIN, BPF_FIXTURES_DIR, BPF_TARGETS_DIR, HAVE_ARCHIVE_DEMO, HAVE_BPFTOOL, HAVE_CLANG, HAVE_VMLINUX, isBuilt, SPLIT, SPLIT_BASE, VMLINUX } from '../helpers/env.js';
import { bpftoolMinimizeSync, compileBpf, kernelFile, LOCAL_FIXTURES, readBytes, tempDir, tempFile } from './helpers/differential.js';

const BUILT = isBuilt('cli/index.js');
if (!BUILT) console.warn('dist/ not built (npm run build): minimize CLI tests skipped');

function btfgen(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'minimize', ...args], { encoding: 'latin1' });
  return { status: r.status ?? -1, stderr: r.stderr, stdout: r.stdout };
}

const PROBES = join(BPF_TARGETS_DIR, 'probes_target.o');
const fx = (n: string) => join(BPF_FIXTURES_DIR, n);
const KERNEL = join(ARCHIVE_DEMO, 'ubuntu/20.04/x86_64/5.4.0-26-generic.btf.tar.xz');

function tar(args: string[], cwd: string): void {
  const r = spawnSync('tar', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar ${args.join(' ')}: ${r.stderr}`);
}

function emptyFile(): string {
  const p = tempFile('empty.btf');
  writeFileSync(p, '');
  return p;
}

describe.skipIf(!BUILT || !HAVE_BPFTOOL)('btfgen minimize CLI', () => {
  it.skipIf(!HAVE_VMLINUX)('writes exactly what bpftool writes (running kernel, several objects)', () => {
    const objs = ['trace_exec.o', 'trace_sched.o', 'reloc_fields.o'].map(fx).filter(existsSync);
    const out = tempFile('cli.btf');
    const r = btfgen(VMLINUX, out, ...objs);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const ref = bpftoolMinimizeSync(VMLINUX, objs);
    expect(Buffer.from(readBytes(out)).equals(Buffer.from(ref.bytes!))).toBe(true);
  });

  it.skipIf(!HAVE_ARCHIVE_DEMO)('reads a btfhub .btf.tar.xz directly, and one with a path prefix', () => {
    const objs = [fx('trace_exec.o')];
    const ref = bpftoolMinimizeSync(kernelFile(KERNEL), objs);
    expect(ref.status).toBe(0);
    const out = tempFile('tarxz.btf');
    const r = btfgen(KERNEL, out, ...objs);
    expect(r.status, r.stderr).toBe(0);
    expect(Buffer.from(readBytes(out)).equals(Buffer.from(ref.bytes!))).toBe(true);

    const dir = join(tempDir(), 'prefixed');
    mkdirSync(join(dir, 'some/prefix'), { recursive: true });
    writeFileSync(join(dir, 'some/prefix/5.4.0-26-generic.btf'), readFileSync(kernelFile(KERNEL)));
    tar(['-cJf', 'k.btf.tar.xz', 'some/prefix/5.4.0-26-generic.btf'], dir);
    const out2 = tempFile('prefixed.btf');
    const r2 = btfgen(join(dir, 'k.btf.tar.xz'), out2, ...objs);
    expect(r2.status, r2.stderr).toBe(0);
    expect(Buffer.from(readBytes(out2)).equals(Buffer.from(ref.bytes!))).toBe(true);
  });

  it('refuses tar members that are links or climb out with ..', () => {
    const dir = join(tempDir(), 'hostile');
    mkdirSync(join(dir, 'a'), { recursive: true });
    writeFileSync(join(dir, 'a/real.btf'), readFileSync(PROBES));
    symlinkSync('real.btf', join(dir, 'a/link.btf'));
    tar(['-cJf', 'link.tar.xz', 'a/link.btf'], dir);
    tar(['-P', '-cJf', 'dotdot.tar.xz', 'a/../a/real.btf'], dir);
    for (const f of ['link.tar.xz', 'dotdot.tar.xz']) {
      const out = tempFile('never.btf');
      const r = btfgen(join(dir, f), out, fx('j_prune.o'));
      expect(r.status, f).not.toBe(0);
      expect(r.stderr).toMatch(/^Error: .*(link|unsafe path)/);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('--header-len 32: the same body behind the 32-byte header of bpftool >= 7.8', () => {
    const objs = [fx('j_prune.o'), fx('g_exists_withcb.o')];
    const o24 = tempFile('h24.btf');
    const o32 = tempFile('h32.btf');
    expect(btfgen(PROBES, o24, ...objs).status).toBe(0);
    expect(btfgen('--header-len', '32', PROBES, o32, ...objs).status).toBe(0);
    const a = Buffer.from(readBytes(o24));
    const b = Buffer.from(readBytes(o32));
    expect(b.readUInt32LE(4)).toBe(32);
    expect(b.subarray(8, 24).equals(a.subarray(8, 24))).toBe(true);
    expect(b.subarray(24, 32).every((x) => x === 0)).toBe(true);
    expect(b.subarray(32).equals(a.subarray(24))).toBe(true);
    expect(btfgen('--header-len', '28', PROBES, o32, ...objs).status).not.toBe(0);
  });

  it("fails like bpftool: exit status, one line, no new file, an old file untouched", () => {
    const cases: [string, string[]][] = [
      ['ambiguity', [PROBES, fx('d_ambig.o')]],
      ['unsupported kind', [PROBES, fx('b_exists_fwd.o')]],
      ['anonymous root', [PROBES, fx('fail_anon_root.o')]],
      ['missing .BTF', [PROBES, fx('l_nobtf.o')]],
      ['missing .BTF.ext', [PROBES, fx('btf_noext.o')]],
      ['missing object', [PROBES, '/nonexistent/x.o']],
      ['missing input', ['/nonexistent/vmlinux', fx('j_prune.o')]],
      ['input is not BTF', [fx('../src/include/probe.h'), fx('j_prune.o')]],
      ['input is an ELF without .BTF', [fx('l_nobtf.o'), fx('j_prune.o')]],
      ['input is split BTF without --base', [SPLIT, fx('j_prune.o')]],
      ['input is empty', [emptyFile(), fx('j_prune.o')]],
    ];
    for (const [what, [input, ...objs]] of cases) {
      if (![input!, ...objs].every((p) => p.startsWith('/nonexistent') || existsSync(p))) continue;
      const fresh = tempFile('fresh.btf');
      const old = tempFile('old.btf');
      writeFileSync(old, 'previous contents');
      const r = btfgen(input!, fresh, ...objs);
      const r2 = btfgen(input!, old, ...objs);
      const ref = bpftoolMinimizeSync(input!, objs);
      expect(ref.status, what).not.toBe(0);
      expect(r.status, `${what}: ${r.stderr}`).toBe(ref.status);
      expect(r2.status, what).toBe(ref.status);
      expect(r.stderr.trim().split('\n'), what).toHaveLength(1);
      expect(r.stderr, what).toMatch(/^Error: /);
      expect(existsSync(fresh), what).toBe(false);
      expect(readFileSync(old, 'utf8'), what).toBe('previous contents');
      expect(
        spawnSync('ls', ['-a', dirname(fresh)], { encoding: 'utf8' }).stdout.split('\n').filter((f) => f.endsWith('.tmp')),
        what,
      ).toEqual([]);
    }
  });

  it('a relocation error names the object, relocation, access string and type', () => {
    const r = btfgen(PROBES, tempFile('x.btf'), fx('d_ambig.o'));
    expect(r.stderr).toMatch(/d_ambig\.o: relocation #0 \(section raw_tp\/sys_enter, byte_off "0:1" on struct foo \[\d+\]\): field offset ambiguity: 64 != 32/);
  });

  it.skipIf(!HAVE_CLANG || !existsSync(SPLIT))(
    '--base: module (split) BTF minimized into one standalone BTF, equal to bpftool on base+module merged',
    () => {
      const obj = compileBpf(join(LOCAL_FIXTURES, 'testmod_reader.bpf.c'), 'testmod_reader');
      const out = tempFile('module.min.btf');
      const r = btfgen('--base', SPLIT_BASE, SPLIT, out, obj);
      expect(r.status, r.stderr).toBe(0);
      // bpftool 7.1 cannot read split BTF: give it the same types as one standalone BTF
      // (base types then module types, IDs unchanged).
      const base = loadBtf(readBytes(SPLIT_BASE)).btf;
      const split = loadBtf(readBytes(SPLIT), { base }).btf;
      const b = new BtfBuilder();
      for (let id = 1; id < split.typeCount; id++) b.addTypeCopy(split, id);
      const merged = tempFile('merged.btf');
      writeFileSync(merged, b.serialize(24));
      const ref = bpftoolMinimizeSync(merged, [obj]);
      expect(ref.status, ref.message).toBe(0);
      expect(Buffer.from(readBytes(out)).equals(Buffer.from(ref.bytes!))).toBe(true);
      // and it holds module types next to base ones
      const min = loadBtf(readBytes(out)).btf;
      const names = Array.from({ length: min.typeCount - 1 }, (_, i) => min.name(i + 1));
      expect(names).toContain('bpf_testmod_test_read_ctx');
      expect(names).toContain('address_space');
    },
  );
});
