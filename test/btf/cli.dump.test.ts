// `btfgen dump` CLI (runs the built dist/ through bin/btfgen: build first with `npx tsc -p .`).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileBpf, KINDS_SOURCE } from './helpers/bpf.js';
import { BIN, HAVE_BPFTOOL, HAVE_CLANG, HAVE_SHARED_DATA, HAVE_VMLINUX, isBuilt, SPLIT, SPLIT_BASE, VMLINUX } from '../helpers/env.js';
import { bpftoolDump, firstDifference, tempDir } from './helpers/dump.js';
import { buildElf } from './helpers/elf.js';
import { info, rawBtf } from './helpers/raw.js';

const BUILT = isBuilt('cli/dump.js');
if (!BUILT) console.warn('dist/ not built (run `npx tsc -p .`): btfgen dump CLI tests skipped');

function btfgen(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { maxBuffer: 1 << 30 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

/** The CLI failed with exactly one `Error: ...` line on stderr and nothing on stdout. */
function expectOneLineError(r: ReturnType<typeof btfgen>, message: RegExp): void {
  expect(r.status, r.stderr).not.toBe(0);
  expect(r.stdout.length).toBe(0);
  const lines = r.stderr.split('\n');
  expect(lines.length, r.stderr).toBe(2);
  expect(lines[1]).toBe('');
  expect(lines[0]).toMatch(/^Error: /);
  expect(lines[0]).toMatch(message);
}

function tmpFile(name: string, bytes: Uint8Array): string {
  const p = join(tempDir(), name);
  writeFileSync(p, bytes);
  return p;
}

describe.skipIf(!BUILT)('btfgen dump', () => {
  it('--help documents the file argument and -B/--base', () => {
    const r = btfgen('dump', '--help');
    expect(r.status).toBe(0);
    const out = r.stdout.toString();
    expect(out).toMatch(/Usage: btfgen dump \[options\] <file>/);
    expect(out).toMatch(/-B, --base <base>/);
    expect(out).toMatch(/bpftool/);
  });

  it('a small raw BTF', () => {
    const p = tmpFile('small.btf', rawBtf({ words: [1, info(1), 4, (1 << 24) | 32, 0, info(2), 1], strings: Buffer.from('\0int\0') }));
    const r = btfgen('dump', p);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.toString()).toBe("[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n[2] PTR '(anon)' type_id=1\n");
  });

  it.skipIf(!HAVE_BPFTOOL || !HAVE_VMLINUX)('vmlinux: identical to bpftool', () => {
    const r = btfgen('dump', VMLINUX);
    expect(r.status).toBe(0);
    expect(firstDifference(r.stdout, bpftoolDump(VMLINUX))).toBeUndefined();
  });

  it.skipIf(!HAVE_BPFTOOL || !HAVE_SHARED_DATA)('split BTF with -B and --base', () => {
    const ref = bpftoolDump(SPLIT, SPLIT_BASE);
    for (const flag of ['-B', '--base']) {
      const r = btfgen('dump', flag, SPLIT_BASE, SPLIT);
      expect(r.status, r.stderr).toBe(0);
      expect(firstDifference(r.stdout, ref)).toBeUndefined();
    }
  });

  it.skipIf(!HAVE_BPFTOOL || !HAVE_CLANG)('an ELF object with non-ASCII names: raw bytes, identical to bpftool', () => {
    const obj = compileBpf('cli-kinds', KINDS_SOURCE, 'bpfel');
    const r = btfgen('dump', obj);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.includes(Buffer.from("'café'", 'utf8'))).toBe(true);
    expect(firstDifference(r.stdout, bpftoolDump(obj))).toBeUndefined();
  });

  it.skipIf(!HAVE_BPFTOOL)('dangling type IDs and name offsets print like bpftool 7.1 (libbpf 1.1 does not check them)', () => {
    // [1] int, [2] PTR -> 7, [3] TYPEDEF named at offset 500, [4] FUNC -> INT, [5] DATASEC -> 99 and -> [3]
    const p = tmpFile(
      'dangling.btf',
      rawBtf({
        words: [1, info(1), 4, (1 << 24) | 32, 0, info(2), 7, 500, info(8), 1, 1, info(12, 7), 1, 1, info(15, 2), 8, 99, 0, 4, 3, 4, 4],
        strings: Buffer.from('\0int\0'),
      }),
    );
    const r = btfgen('dump', p);
    expect(r.status, r.stderr).toBe(0);
    expect(firstDifference(r.stdout, bpftoolDump(p))).toBeUndefined();
    expect(r.stdout.toString()).toContain("[3] TYPEDEF '(invalid)' type_id=1");
    expect(r.stdout.toString()).toContain("linkage=(unknown)");
  });

  it.skipIf(!HAVE_VMLINUX)('a closed pipe (| head -1) ends quietly', () => {
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" dump ${VMLINUX} | head -1; echo "status=\${PIPESTATUS[0]}" >&2`], {
      encoding: 'utf8',
    });
    expect(r.stdout).toMatch(/^\[1\] /);
    expect(r.stdout.split('\n').length).toBe(2);
    expect(r.stderr).toBe('status=0\n');
  });

  it.skipIf(!HAVE_VMLINUX)('a slow pipe: back-pressure without warnings, complete output', () => {
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" dump ${VMLINUX} | (sleep 0.3; wc -c)`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(Number(r.stdout.trim())).toBe(btfgen('dump', VMLINUX).stdout.length);
  });

  it.skipIf(!HAVE_BPFTOOL)('an unusable .BTF.ext does not stop the dump (bpftool 7.1 never reads it)', () => {
    const ext = new Uint8Array(64).fill(0x5a);
    const p = tmpFile(
      'badext.o',
      buildElf({ sections: [{ name: '.BTF', data: rawBtf({ words: [1, info(1), 4, 32], strings: Buffer.from('\0int\0') }) }, { name: '.BTF.ext', data: ext }] }).bytes,
    );
    const r = btfgen('dump', p);
    expect(r.status, r.stderr).toBe(0);
    expect(firstDifference(r.stdout, bpftoolDump(p))).toBeUndefined();
  });

  describe('errors: one line naming the file, non-zero exit', () => {
    it('missing file', () => {
      expectOneLineError(btfgen('dump', '/nonexistent/x.btf'), /\/nonexistent\/x\.btf: cannot read: no such file/);
    });
    it('a directory', () => {
      expectOneLineError(btfgen('dump', tempDir()), new RegExp(`${tempDir()}: cannot read`));
    });
    it('neither BTF nor ELF', () => {
      const p = tmpFile('garbage.bin', Buffer.from('hello world'));
      expectOneLineError(btfgen('dump', p), new RegExp(`${p}: neither raw BTF nor an ELF object`));
    });
    it('empty file', () => {
      const p = tmpFile('empty.btf', new Uint8Array(0));
      expectOneLineError(btfgen('dump', p), /empty\.btf: neither raw BTF nor an ELF object \(first bytes: empty file\)/);
    });
    it('truncated BTF', () => {
      const good = rawBtf({ words: [1, info(1), 4, 32], strings: Buffer.from('\0int\0') });
      const p = tmpFile('trunc.btf', good.subarray(0, 30));
      expectOneLineError(btfgen('dump', p), /trunc\.btf: invalid BTF total size/);
    });
    it('bad type reference with --strict (without it, bpftool 7.1 and btfgen print it as it is)', () => {
      const p = tmpFile('badref.btf', rawBtf({ words: [0, info(2), 7] }));
      expectOneLineError(btfgen('dump', '--strict', p), /badref\.btf: type \[1\]: invalid referenced type ID 7$/);
      const r = btfgen('dump', p);
      expect(r.status).toBe(0);
      expect(r.stdout.toString()).toBe("[1] PTR '(anon)' type_id=7\n");
    });
    it('ELF without .BTF', () => {
      const p = tmpFile('nobtf.o', buildElf({ sections: [{ name: '.text', data: new Uint8Array(8) }] }).bytes);
      expectOneLineError(btfgen('dump', p), /nobtf\.o: failed to find '\.BTF' ELF section/);
    });
    it('a bad --base names the base file', () => {
      const p = tmpFile('badbase.btf', Buffer.from('nope'));
      expectOneLineError(btfgen('dump', '-B', p, tmpFile('ok.btf', rawBtf({ words: [] }))), /badbase\.btf: /);
    });
    it.skipIf(!HAVE_SHARED_DATA)('split BTF without its base', () => {
      expectOneLineError(btfgen('dump', SPLIT), /btf_testmod\.btf: .*pass its base with --base/);
    });
    it('missing argument is a usage error', () => {
      const r = btfgen('dump');
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/missing required argument 'file'/);
    });
  });
});
