// The pack cache's object key: the CO-RE relocations and the local types they reach. A rebuilt
// object whose relocations did not change keeps its key; any change to them changes it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Kind, parseBtf, parseElf } from '../../src/btf/index.js';
import { prepareObject, type PreparedObject } from '../../src/minimize/index.js';
import { coreFingerprint, objectFingerprint, preparedFingerprint } from '../../src/pack/fingerprint.js';
import { BPF_FIXTURES_DIR, HAVE_CLANG } from '../helpers/env.js';
import { cleanupTemps, tempDir } from './helpers.js';

afterAll(cleanupTemps);

const obj = (name: string) => ({ name, bytes: new Uint8Array(readFileSync(join(BPF_FIXTURES_DIR, name))) });
const fp = (...objs: { name: string; bytes: Uint8Array }[]) => coreFingerprint(objs);

/** Byte offset of .BTF.ext inside the ELF and its header fields. */
function extLayout(bytes: Uint8Array) {
  const elf = parseElf(bytes);
  const sec = elf.section('.BTF.ext')!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const at = sec.offset;
  const hdrLen = dv.getUint32(at + 4, true);
  const sub = (o: number) => ({ off: at + hdrLen + dv.getUint32(at + o, true), len: dv.getUint32(at + o + 4, true) });
  return { dv, line: sub(16), core: sub(24) };
}

/** Byte offsets of the first record of the first section of an info subsection. */
function firstRecord(l: ReturnType<typeof extLayout>, which: 'line' | 'core'): number {
  const s = l[which];
  // rec_size (4) | sec_name_off (4) num_info (4) | records...
  return s.off + 4 + 8;
}

describe('coreFingerprint', () => {
  const exec = obj('trace_exec.o');

  it('is stable and depends on the objects and their order', () => {
    const tcp = obj('trace_tcp.o');
    expect(fp(exec)).toBe(fp({ ...exec, name: 'elsewhere/renamed.o' }));
    expect(fp(exec)).not.toBe(fp(tcp));
    expect(fp(exec, tcp)).not.toBe(fp(tcp, exec));
    expect(fp(exec, tcp)).not.toBe(fp(exec));
    expect(fp(exec)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores instruction offsets and line info, not relocation kinds or access strings', () => {
    const l = extLayout(exec.bytes);
    expect(l.line.len).toBeGreaterThan(0);
    expect(l.core.len).toBeGreaterThan(0);

    const moved = exec.bytes.slice();
    const m = extLayout(moved);
    const li = firstRecord(m, 'line');
    m.dv.setUint32(li, m.dv.getUint32(li, true) + 8, true); // line_info insn_off
    m.dv.setUint32(li + 8, m.dv.getUint32(li + 8, true) ^ 0x400, true); // line number
    const ci = firstRecord(m, 'core');
    m.dv.setUint32(ci, m.dv.getUint32(ci, true) + 16, true); // core_relo insn_off
    expect(Buffer.compare(Buffer.from(moved), Buffer.from(exec.bytes))).not.toBe(0);
    expect(fp({ name: 'x', bytes: moved })).toBe(fp(exec));

    const kind = exec.bytes.slice();
    const k = extLayout(kind);
    const kc = firstRecord(k, 'core') + 12;
    k.dv.setUint32(kc, k.dv.getUint32(kc, true) === 0 ? 2 : 0, true); // relocation kind
    expect(fp({ name: 'x', bytes: kind })).not.toBe(fp(exec));

    const acc = exec.bytes.slice();
    const a = extLayout(acc);
    const ac = firstRecord(a, 'core') + 8;
    a.dv.setUint32(ac, a.dv.getUint32(ac, true) + 1, true); // access string offset (another string)
    expect(fp({ name: 'x', bytes: acc })).not.toBe(fp(exec));
  });

  it('falls back to the raw bytes for objects it cannot read', () => {
    const junk = { name: 'junk.o', bytes: new TextEncoder().encode('not an object') };
    const junk2 = { name: 'junk.o', bytes: new TextEncoder().encode('not an object!') };
    expect(fp(junk)).not.toBe(fp(junk2));
    expect(fp(junk)).toBe(fp({ ...junk }));
  });

  it.skipIf(!HAVE_CLANG)('keeps the key when only code changes, not when a relocation changes (clang-built)', () => {
    const dir = tempDir();
    const src = (body: string, field: string) => `
struct task_struct { int pid; int tgid; long state; } __attribute__((preserve_access_index));
extern int bpf_probe_read_kernel(void *dst, unsigned size, const void *src);
__attribute__((section("kprobe/x"), used)) int prog(struct task_struct *t) {
  int v = 0;
  bpf_probe_read_kernel(&v, sizeof(v), &t->${field});
  ${body}
  return v;
}
__attribute__((section("license"), used)) char LICENSE[] = "GPL";
`;
    const build = (name: string, body: string, field: string) => {
      writeFileSync(join(dir, `${name}.c`), src(body, field));
      execFileSync('clang-19', ['-g', '-O2', '-target', 'bpf', '-c', `${name}.c`, '-o', `${name}.o`], { cwd: dir });
      return { name, bytes: new Uint8Array(readFileSync(join(dir, `${name}.o`))) };
    };
    const a = build('a', '', 'pid');
    const b = build('b', 'if (v > 100) v = v * 3 + 41; else v -= 2;', 'pid');
    const c = build('c', '', 'tgid');
    expect(Buffer.compare(Buffer.from(a.bytes), Buffer.from(b.bytes))).not.toBe(0);
    expect(fp(b)).toBe(fp(a));
    expect(fp(c)).not.toBe(fp(a));
  });
});

describe('preparedFingerprint: the fingerprint from the objects stage\'s one parse', () => {
  const fixtures = readdirSync(BPF_FIXTURES_DIR).filter((f) => f.endsWith('.o')).sort().map(obj);
  const tryPrepare = (o: { name: string; bytes: Uint8Array }): PreparedObject | undefined => {
    try {
      return prepareObject(o.bytes, o.name);
    } catch {
      return undefined; // pack refuses it before any fingerprint
    }
  };

  // The bytes path (coreFingerprint) is the cache key of every pack before the objects stage
  // parsed once: commit 5bb9992 checked both against that former function on the same fixtures.
  it('is the fingerprint computed from the bytes, on every fixture object (test/fixtures/bpf/*.o)', () => {
    expect(fixtures.length).toBeGreaterThan(40);
    let prepared = 0;
    for (const o of fixtures) {
      const p = tryPrepare(o);
      if (!p) continue;
      prepared++;
      const f = preparedFingerprint(o, p);
      expect(f, o.name).toBe(objectFingerprint(o));
      expect(f, o.name).toMatch(/^core:/);
    }
    expect(prepared).toBeGreaterThan(30);
  });

  it('keeps the raw fallback for an object whose BTF fails btf__parse()\'s validation, though prepareObject (no validation) reads it', () => {
    // trace_exec.o with a FUNC (no relocation reaches one) named by an offset past the strings
    const bytes = obj('trace_exec.o').bytes.slice();
    const elf = parseElf(bytes);
    const sec = elf.section('.BTF')!;
    const btf = parseBtf(elf.data(sec), { noValidate: true });
    let func = btf.typeCount - 1;
    while (btf.kind(func) !== Kind.FUNC) func--;
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    const typeOff = sec.offset + dv.getUint32(sec.offset + 4, true) + dv.getUint32(sec.offset + 8, true);
    dv.setUint32(typeOff + btf.offsets[func - 1]! * 4, 0x7ffffff0, true);
    const bad = { name: 'bad.o', bytes };
    const p = prepareObject(bad.bytes, bad.name);
    const raw = `raw:${createHash('sha256').update(bytes).digest('hex')}`;
    expect(objectFingerprint(bad)).toBe(raw);
    expect(preparedFingerprint(bad, p)).toBe(raw);
  });
});
