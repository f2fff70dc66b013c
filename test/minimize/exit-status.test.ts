// Exit status parity with bpftool 7.1 on damaged objects (issue 13): each object is made from a
// fixture by the script below and run through the real bpftool; our status must be bpftool's
// ((-errno) & 0xff; libbpf's LIBBPF_ERRNO__FORMAT 4001 gives 95, ENOTSUP gives 161).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BtfgenError } from '../../src/errors.js';
import { prepareObject } from '../../src/minimize/index.js';
import { bpftoolMinCoreBtf } from '../helpers/bpftool.js';
import { BPF_FIXTURES_DIR, HAVE_BPFTOOL, HAVE_VMLINUX, NO_BPFTOOL, VMLINUX } from '../helpers/env.js';
import { readBytes } from './helpers/differential.js';

const SOURCE = join(BPF_FIXTURES_DIR, 'a_match_tag.o');

/** Offsets of an ELF64 LE object's sections by name. */
function sections(b: Uint8Array): Map<string, { hdr: number; offset: number; size: number }> {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const shoff = Number(dv.getBigUint64(40, true));
  const shnum = dv.getUint16(60, true);
  const shstrndx = dv.getUint16(62, true);
  const hdr = (i: number) => shoff + i * 64;
  const strOff = Number(dv.getBigUint64(hdr(shstrndx) + 24, true));
  const out = new Map<string, { hdr: number; offset: number; size: number }>();
  for (let i = 0; i < shnum; i++) {
    const nameOff = strOff + dv.getUint32(hdr(i), true);
    const name = new TextDecoder().decode(b.subarray(nameOff, b.indexOf(0, nameOff)));
    out.set(name, { hdr: hdr(i), offset: Number(dv.getBigUint64(hdr(i) + 24, true)), size: Number(dv.getBigUint64(hdr(i) + 32, true)) });
  }
  return out;
}

type Damage = (b: Uint8Array, dv: DataView, s: ReturnType<typeof sections>) => void;
const CASES: [string, Damage][] = [
  ['ELF e_shoff = 0', (_b, dv) => dv.setBigUint64(40, 0n, true)],
  ['ELF e_shnum = 0', (_b, dv) => dv.setUint16(60, 0, true)],
  ['ELF e_shstrndx out of range', (_b, dv) => dv.setUint16(62, 200, true)],
  ['.BTF.ext flags 0x10', (b, _dv, s) => void (b[s.get('.BTF.ext')!.offset + 3] = 0x10)],
  ['.BTF.ext flags 0x1', (b, _dv, s) => void (b[s.get('.BTF.ext')!.offset + 3] = 0x1)],
  ['.BTF.ext version 2', (b, _dv, s) => void (b[s.get('.BTF.ext')!.offset + 2] = 2)],
  [
    '.BTF.ext flags 0x10 and hdr_len past the section',
    (b, dv, s) => {
      const e = s.get('.BTF.ext')!;
      b[e.offset + 3] = 0x10;
      dv.setUint32(e.offset + 4, e.size + 100, true);
    },
  ],
  ['.BTF.ext magic wrong', (b, _dv, s) => void (b[s.get('.BTF.ext')!.offset] = 0)],
  ['no .BTF section (renamed)', (b, dv, s) => {
    const shstrndx = dv.getUint16(62, true);
    const strOff = Number(dv.getBigUint64(Number(dv.getBigUint64(40, true)) + shstrndx * 64 + 24, true));
    const at = strOff + dv.getUint32(s.get('.BTF')!.hdr, true);
    b[at + 1] = 'X'.charCodeAt(0);
  }],
];

const why = !HAVE_BPFTOOL ? NO_BPFTOOL : !HAVE_VMLINUX ? `no ${VMLINUX} to run bpftool against` : undefined;

describe.skipIf(why !== undefined)(`exit status on damaged objects is bpftool's${why ? ` (skipped: ${why})` : ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'btfgen-exit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(CASES)('%s', async (name, damage) => {
    const b = new Uint8Array(readBytes(SOURCE));
    damage(b, new DataView(b.buffer, b.byteOffset, b.byteLength), sections(b));
    const file = join(dir, `${name.replace(/[^a-z0-9]+/gi, '_')}.o`);
    writeFileSync(file, b);
    const ref = await bpftoolMinCoreBtf(VMLINUX, join(dir, 'out.btf'), [file]);
    expect(ref.code, ref.stderr).not.toBe(0);
    let ours = 0;
    try {
      prepareObject(b, file);
    } catch (e) {
      expect(e).toBeInstanceOf(BtfgenError);
      ours = (e as BtfgenError).exitCode;
    }
    expect(ours, `bpftool: ${ref.stderr.trim()}`).toBe(ref.code);
  });
});
