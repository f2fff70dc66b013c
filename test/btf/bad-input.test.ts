// Bad input: every malformed blob or ELF gives a typed error (BtfError / ElfError) that says
// what is wrong; never a RangeError/TypeError, never a hang.
import { describe, expect, it } from 'vitest';
import { parseBtf } from '../../src/btf/btf.js';
import { dumpBtf } from '../../src/btf/dump.js';
import { parseElf } from '../../src/btf/elf.js';
import { parseBtfExt } from '../../src/btf/ext.js';
import { Kind } from '../../src/btf/kinds.js';
import { loadBtf } from '../../src/btf/object.js';
import { BtfError, ElfError } from '../../src/errors.js';
import { HAVE_VMLINUX, VMLINUX } from '../helpers/env.js';
import { readBytes } from './helpers/dump.js';
import { btfExt, buildElf, setAddr, setU16, setU32 } from './helpers/elf.js';
import { info, layoutSection, rawBtf, Strtab } from './helpers/raw.js';
import { swapBtfEndian } from './helpers/bswap.js';

/** Runs `fn` and returns the error it throws; fails if it returns or throws an untyped error. */
function typedError(fn: () => unknown, cls: typeof BtfError = BtfError): BtfError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  if (err === undefined) throw new Error('expected a typed error, but the call succeeded');
  if (!(err instanceof cls)) {
    throw new Error(`expected ${cls.name}, got ${(err as Error)?.constructor?.name}: ${(err as Error)?.stack ?? err}`);
  }
  return err;
}

function expectBtfError(fn: () => unknown, message: RegExp, cls: typeof BtfError = BtfError): void {
  expect(typedError(fn, cls).message).toMatch(message);
}

const S = new Strtab('int', 's', 'm', 'e', 'A', 'f', 'p', 'v', '.data');
const O = S.off;
/** A small valid BTF: [1] int, [2] struct s {int m}, [3] ptr, [4] enum, [5] proto, [6] func, [7] var, [8] datasec. */
const WORDS = [
  O.int!, info(Kind.INT), 4, (1 << 24) | 32,
  O.s!, info(Kind.STRUCT, 1), 4, O.m!, 1, 0,
  0, info(Kind.PTR), 2,
  O.e!, info(Kind.ENUM, 1), 4, O.A!, 1,
  0, info(Kind.FUNC_PROTO, 1), 1, O.p!, 3,
  O.f!, info(Kind.FUNC), 5,
  O.v!, info(Kind.VAR), 1, 1,
  O['.data']!, info(Kind.DATASEC, 1), 4, 7, 0, 4,
];
const GOOD = rawBtf({ words: WORDS, strings: S.bytes });
/** Word index in WORDS of each type's record. */
const AT = { int: 0, s: 4, ptr: 10, e: 13, proto: 18, func: 23, var: 26, ds: 30 };

function withWord(i: number, v: number): Uint8Array {
  const w = [...WORDS];
  w[i] = v >>> 0;
  return rawBtf({ words: w, strings: S.bytes });
}

describe('raw BTF: header and sections', () => {
  it('the good blob parses (control)', () => {
    expect(parseBtf(GOOD).count).toBe(8);
  });

  it('too short for a header', () => {
    for (const n of [0, 1, 2, 23]) expectBtfError(() => parseBtf(GOOD.subarray(0, n)), /BTF header not found/);
  });

  it('wrong magic', () => {
    const b = new Uint8Array(GOOD);
    b[0] = 0x9e;
    expectBtfError(() => parseBtf(b), /invalid BTF magic 0xeb9e/);
  });

  it('header length shorter than 24 or longer than the data', () => {
    expectBtfError(() => parseBtf(rawBtf({ words: WORDS, strings: S.bytes, patch: [[4, 16]] })), /header length 16/);
    expectBtfError(() => parseBtf(rawBtf({ words: WORDS, strings: S.bytes, patch: [[4, 1 << 20]] })), /larger than the data/);
    expectBtfError(() => parseBtf(rawBtf({ words: WORDS, strings: S.bytes, patch: [[4, 0xffffffff]] })), /larger than the data/);
  });

  it('string section past the end', () => {
    expectBtfError(() => parseBtf(rawBtf({ words: WORDS, strings: S.bytes, patch: [[20, 0xffffffff]] })), /strings at .* run past the end/);
    expectBtfError(() => parseBtf(rawBtf({ words: WORDS, strings: S.bytes, patch: [[16, 0xfffffff0]] })), /run past the end/);
  });

  it('type section overlapping the strings, or misaligned', () => {
    expectBtfError(() => parseBtf(rawBtf({ words: WORDS, strings: S.bytes, patch: [[12, WORDS.length * 4 + 4]] })), /data sections layout/);
    expectBtfError(() => parseBtf(rawBtf({ words: WORDS, strings: S.bytes, patch: [[8, 0xfffffffc]] })), /data sections layout/);
    expectBtfError(() => parseBtf(rawBtf({ words: WORDS, strings: S.bytes, gap: 8, patch: [[8, 2]] })), /not aligned/);
  });

  it('type section length not a multiple of a record', () => {
    expectBtfError(() => parseBtf(rawBtf({ words: WORDS, strings: S.bytes, gap: 4, patch: [[12, WORDS.length * 4 + 2]] })), /trailing bytes|malformed/);
    expectBtfError(() => parseBtf(rawBtf({ words: [...WORDS, 0, info(Kind.PTR)], strings: S.bytes })), /trailing bytes/);
  });

  it('layout section misplaced or misaligned', () => {
    const layout = layoutSection();
    const mk = (patch: Array<[number, number]>) => rawBtf({ words: WORDS, strings: S.bytes, hdrLen: 32, layout, patch });
    expect(parseBtf(mk([])).count).toBe(8);
    expectBtfError(() => parseBtf(mk([[24, 2]])), /layout section .* not 4-byte aligned/);
    expectBtfError(() => parseBtf(mk([[28, 78]])), /not 4-byte aligned/);
    expectBtfError(() => parseBtf(mk([[24, 0]])), /not between the type and string sections/);
    expectBtfError(() => parseBtf(mk([[28, 0xfffffff0]])), /not between/);
  });

  it('string section not NUL-terminated, empty, or not starting with an empty string', () => {
    const noNul = new Uint8Array(GOOD);
    noNul[noNul.length - 1] = 0x41;
    expectBtfError(() => parseBtf(noNul), /string section/);
    expectBtfError(() => parseBtf(rawBtf({ words: [], strings: new Uint8Array(0) })), /string section/);
    expectBtfError(() => parseBtf(rawBtf({ words: [], strings: Buffer.from('a\0') })), /first string must be empty/);
  });
});

describe('raw BTF: records', () => {
  it('unknown kinds (no layout section)', () => {
    for (const k of [0, 20, 31, 32, 127]) {
      expectBtfError(() => parseBtf(withWord(AT.ptr + 1, info(k))), new RegExp(`type \\[3\\]: unknown BTF kind ${k}\\b`));
    }
  });

  it('records running past the type section', () => {
    expectBtfError(() => parseBtf(withWord(AT.ds + 1, info(Kind.DATASEC, 2))), /type \[8\] is malformed: its record runs past/);
    expectBtfError(() => parseBtf(withWord(AT.ds + 1, info(Kind.DATASEC, 0xffffff))), /runs past/);
    expectBtfError(() => parseBtf(withWord(AT.s + 1, info(Kind.STRUCT, 0xffff))), /runs past|trailing/);
  });

  it('string offsets out of range: type, member, enumerator, parameter names', () => {
    const big = S.bytes.length;
    expectBtfError(() => parseBtf(withWord(AT.int, big)), new RegExp(`type \\[1\\]: invalid type name \\(string offset ${big}\\)`));
    expectBtfError(() => parseBtf(withWord(AT.s + 3, 0xffffffff)), /type \[2\]: invalid field name/);
    expectBtfError(() => parseBtf(withWord(AT.e + 3, big + 100)), /type \[4\]: invalid enum name/);
    expectBtfError(() => parseBtf(withWord(AT.proto + 3, big)), /type \[5\]: invalid param name/);
  });

  it('type IDs out of range', () => {
    expectBtfError(() => parseBtf(withWord(AT.ptr + 2, 9)), /type \[3\]: invalid referenced type ID 9/);
    expectBtfError(() => parseBtf(withWord(AT.s + 4, 0xffffffff)), /type \[2\]: invalid referenced type ID 4294967295/);
    expectBtfError(() => parseBtf(withWord(AT.proto + 2, 100)), /type \[5\]: invalid referenced type ID 100/);
    expectBtfError(() => parseBtf(withWord(AT.proto + 4, 100)), /type \[5\]/);
    expectBtfError(() => parseBtf(withWord(AT.var + 2, 9)), /type \[7\]/);
    expectBtfError(() => parseBtf(withWord(AT.ds + 3, 9)), /type \[8\]/);
    expectBtfError(() => parseBtf(withWord(AT.func + 2, 1)), /FUNC refers to type \[1\] which is not a FUNC_PROTO/);
    expectBtfError(() => parseBtf(withWord(AT.func + 2, 99)), /invalid referenced type ID 99/);
  });

  it('noValidate skips the sanity check; the dump then prints (invalid) like bpftool', () => {
    const b = parseBtf(withWord(AT.int, 5000), { noValidate: true });
    expect(dumpBtf(b).split('\n')[0]).toBe("[1] INT '(invalid)' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED");
    expect(b.ptrSize).toBe(8);
    const d = parseBtf(withWord(AT.ds + 3, 999), { noValidate: true });
    expect(dumpBtf(d)).toContain('\ttype_id=999 offset=0 size=4\n');
  });

  it('big-endian blobs fail the same way', () => {
    expectBtfError(() => parseBtf(swapBtfEndian(withWord(AT.ptr + 2, 9))), /invalid referenced type ID 9/);
    expectBtfError(() => parseBtf(swapBtfEndian(withWord(AT.ds + 1, info(Kind.DATASEC, 2)))), /runs past/);
  });

  it('split BTF on the wrong base', () => {
    const base = parseBtf(GOOD);
    // IDs continue at 9: a PTR to 12 is out of range.
    expectBtfError(() => parseBtf(rawBtf({ words: [0, info(Kind.PTR), 12], strings: new Uint8Array(0) }), { base }), /invalid referenced type ID 12/);
  });
});

describe('raw BTF: truncation at every cut point', () => {
  it('small blob: every length from 0 to size-1', () => {
    for (let n = 0; n < GOOD.length; n++) typedError(() => parseBtf(GOOD.subarray(0, n)));
  });

  it.skipIf(!HAVE_VMLINUX)('vmlinux: 64 cut points', () => {
    const v = readBytes(VMLINUX);
    for (let i = 0; i < 64; i++) {
      const n = Math.floor((v.length * i) / 64) + (i % 7);
      typedError(() => parseBtf(v.subarray(0, n)));
    }
  });
});

// --- ELF ------------------------------------------------------------------------------------

function goodElf(bits: 32 | 64 = 64, bigEndian = false, extra: Array<{ name: string; data: Uint8Array; type?: number }> = []) {
  const btf = bigEndian ? swapBtfEndian(GOOD) : GOOD;
  return buildElf({
    bits,
    bigEndian,
    sections: [
      { name: '.text', data: new Uint8Array(16) },
      { name: '.BTF', data: btf },
      { name: '.BTF.ext', data: btfExt(bigEndian) },
      ...extra,
    ],
  });
}

describe('ELF containers', () => {
  for (const bits of [32, 64] as const) {
    for (const be of [false, true]) {
      it(`well-formed ELF${bits} ${be ? 'BE' : 'LE'} (control)`, () => {
        const l = loadBtf(goodElf(bits, be).bytes);
        expect(l.format).toBe('elf');
        expect(l.btf.count).toBe(8);
        expect(l.btf.ptrSize).toBe(bits === 32 ? 4 : 8);
        expect(l.ext?.funcInfo.sections[0]?.records.length).toBe(1);
        expect(l.ext?.coreRelo.sections[0]?.records[0]).toEqual({ insnOff: 8, typeId: 1, accessStrOff: 1, kind: 0 });
        expect(dumpBtf(l.btf)).toBe(dumpBtf(parseBtf(GOOD)));
      });

      it(`ELF${bits} ${be ? 'BE' : 'LE'}: section tables that lie`, () => {
        const base = goodElf(bits, be);
        const lie = (edit: (e: ReturnType<typeof goodElf>) => void) => {
          const e = goodElf(bits, be);
          edit(e);
          return e.bytes;
        };
        const btfH = base.shdr[base.index['.BTF']!]!;
        const strH = base.shdr[base.index['.shstrtab']!]!;
        // sh_offset + sh_size past EOF.
        expectBtfError(() => loadBtf(lie((e) => setAddr(e, btfH + e.field.size, 1 << 30))), /\.BTF.*runs past the end of the file/, ElfError);
        expectBtfError(() => loadBtf(lie((e) => setAddr(e, btfH + e.field.offset, e.bytes.length))), /runs past the end/, ElfError);
        expectBtfError(
          () => loadBtf(lie((e) => setAddr(e, btfH + e.field.offset, bits === 64 ? 0xffffffffffffff00n : 0xffffff00))),
          /runs past the end/,
          ElfError,
        );
        // e_shstrndx out of range.
        expectBtfError(() => loadBtf(lie((e) => setU16(e, e.ehdr.shstrndx, 200))), /section name table index 200 is out of range/, ElfError);
        // e_shoff past EOF (and huge).
        expectBtfError(() => loadBtf(lie((e) => setAddr(e, e.ehdr.shoff, e.bytes.length + 8))), /section header table/, ElfError);
        expectBtfError(() => loadBtf(lie((e) => setAddr(e, e.ehdr.shoff, bits === 64 ? 2n ** 63n : 0xfffffff0))), /section header table/, ElfError);
        // The header table runs past EOF (count too large).
        expectBtfError(() => loadBtf(lie((e) => setU16(e, e.ehdr.shnum, 0xfff0))), /runs past the end of the file/, ElfError);
        // Extended numbering with a huge count in section 0.
        expectBtfError(
          () =>
            loadBtf(
              lie((e) => {
                setU16(e, e.ehdr.shnum, 0);
                setAddr(e, e.shdr[0]! + e.field.size, 0xffffffff);
              }),
            ),
          /implausible section count|runs past/,
          ElfError,
        );
        // Section name offset out of range.
        expectBtfError(() => loadBtf(lie((e) => setU32(e, btfH + e.field.name, 0x7fffffff))), /name offset 2147483647 is outside/, ElfError);
        // Name table that is not SHT_STRTAB (libelf's elf_strptr refuses it).
        expectBtfError(() => loadBtf(lie((e) => setU32(e, strH + e.field.type, 0x20003))), /section name table .* expected SHT_STRTAB/, ElfError);
        // Name table past EOF.
        expectBtfError(() => loadBtf(lie((e) => setAddr(e, strH + e.field.size, 1 << 30))), /section name table/, ElfError);
        // e_shentsize is ignored, as libelf ignores it (bpftool reads such files).
        expect(loadBtf(lie((e) => setU16(e, e.ehdr.shentsize, 8))).btf.count).toBe(8);
        expect(loadBtf(lie((e) => setU16(e, e.ehdr.shentsize, 0xffff))).btf.count).toBe(8);
        // High bits of a 64-bit sh_flags do not read as SHF_COMPRESSED (or any other flag).
        if (bits === 64) {
          const hi = lie((e) => setAddr(e, btfH + e.field.flags, 0xffffffff00000000n));
          expect(loadBtf(hi).btf.count).toBe(8);
          expect(parseElf(hi).section('.BTF')!.flags).toBe(0);
        }
        // Section 0's name is never used (libbpf starts at section 1).
        expect(loadBtf(lie((e) => setU32(e, e.shdr[0]! + e.field.name, 0x20000000))).btf.count).toBe(8);
        // A broken .BTF.ext fails a full load, not a types-only one (btf__parse(path, NULL)).
        const badExt = lie((e) => setU32(e, e.shdr[e.index['.BTF.ext']!]! + e.field.type, 8));
        expectBtfError(() => loadBtf(badExt), /\.BTF\.ext has type 8/, ElfError);
        expect(loadBtf(badExt, { parseExt: false }).ext).toBeUndefined();
        // .BTF not PROGBITS.
        expectBtfError(() => loadBtf(lie((e) => setU32(e, btfH + e.field.type, 8))), /\.BTF has type 8/, ElfError);
        // Overlapping sections (the .BTF data is the section table itself): malformed BTF, typed.
        typedError(() => loadBtf(lie((e) => setAddr(e, btfH + e.field.offset, e.shdr[0]!))));
        typedError(() => loadBtf(lie((e) => setAddr(e, btfH + e.field.offset, 0))));
      });

      it(`ELF${bits} ${be ? 'BE' : 'LE'}: truncated at every cut point`, () => {
        const b = goodElf(bits, be).bytes;
        for (let n = 0; n < b.length; n++) typedError(() => loadBtf(b.subarray(0, n)));
      });
    }
  }

  it('65535 sections named by one 100 KB string: no blow-up (was an out-of-memory crash)', () => {
    const n = 65535;
    const strtab = new Uint8Array(1 + 100_000 + 1).fill(0x41);
    strtab[0] = 0;
    strtab[strtab.length - 1] = 0;
    const shoff = (64 + strtab.length + 7) & ~7;
    const b = new Uint8Array(shoff + n * 64);
    const dv = new DataView(b.buffer);
    b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    dv.setUint16(16, 1, true);
    dv.setUint16(18, 247, true);
    dv.setBigUint64(40, BigInt(shoff), true);
    dv.setUint16(52, 64, true);
    dv.setUint16(58, 64, true);
    dv.setUint16(60, n, true);
    dv.setUint16(62, n - 1, true);
    b.set(strtab, 64);
    for (let i = 1; i < n; i++) {
      const h = shoff + i * 64;
      dv.setUint32(h, 1 + (i % 1000), true); // names: suffixes of the one long string
      dv.setUint32(h + 4, i === n - 1 ? 3 : 1, true);
      dv.setBigUint64(h + 24, 64n, true);
      dv.setBigUint64(h + 32, BigInt(i === n - 1 ? strtab.length : 16), true);
    }
    const t = performance.now();
    expectBtfError(() => loadBtf(b), /failed to find '\.BTF' ELF section/);
    expect(performance.now() - t).toBeLessThan(5000);
    const elf = parseElf(b);
    expect(elf.sections.length).toBe(n);
    expect(elf.sections[5]!.name.length).toBe(100_000 - 5);
  });

  it('bad identification bytes', () => {
    const e = goodElf().bytes;
    const cls = new Uint8Array(e);
    cls[4] = 3;
    expectBtfError(() => parseElf(cls), /unknown ELF class 3/, ElfError);
    const data = new Uint8Array(e);
    data[5] = 0;
    expectBtfError(() => parseElf(data), /unknown ELF data encoding 0/, ElfError);
    const version = new Uint8Array(e);
    version[6] = 0x5f;
    expectBtfError(() => parseElf(version), /unsupported ELF version 95/, ElfError);
    expectBtfError(() => loadBtf(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1])), /truncated ELF/, ElfError);
  });

  it('neither BTF nor ELF', () => {
    expectBtfError(() => loadBtf(new Uint8Array(0)), /neither raw BTF nor an ELF object \(first bytes: empty file\)/);
    expectBtfError(() => loadBtf(Buffer.from('#!/bin/sh\n')), /first bytes: 23 21 2f 62/);
  });

  it('no .BTF section', () => {
    const e = buildElf({ sections: [{ name: '.text', data: new Uint8Array(8) }] });
    expectBtfError(() => loadBtf(e.bytes, { name: 'x.o' }), /^x\.o: failed to find '\.BTF' ELF section$/);
  });

  it('errors name the file when a name is given', () => {
    const e = goodElf();
    setU16(e, e.ehdr.shstrndx, 99);
    expect(typedError(() => loadBtf(e.bytes, { name: 'obj.o' })).message).toMatch(/^obj\.o: /);
    expect(typedError(() => loadBtf(withWord(AT.ptr + 2, 9), { name: 'k.btf' })).message).toMatch(/^k\.btf: type \[3\]/);
  });

  it('a malformed .BTF inside a good ELF', () => {
    const e = buildElf({ sections: [{ name: '.BTF', data: withWord(AT.func + 2, 1) }] });
    expectBtfError(() => loadBtf(e.bytes), /not a FUNC_PROTO/);
  });
});

describe('.BTF.ext', () => {
  it('well-formed (control), both byte orders', () => {
    for (const be of [false, true]) {
      const x = parseBtfExt(btfExt(be, { funcNum: 3, coreNum: 2 }));
      expect(x.endian).toBe(be ? 'big' : 'little');
      expect(x.funcInfo.sections[0]!.records.length).toBe(3);
      expect(x.coreRelo.sections[0]!.records.length).toBe(2);
    }
  });

  it('bad headers and subsections', () => {
    const good = btfExt();
    const patch = (off: number, v: number, n = good) => {
      const b = new Uint8Array(n);
      new DataView(b.buffer).setUint32(off, v >>> 0, true);
      return b;
    };
    expectBtfError(() => parseBtfExt(good.subarray(0, 4)), /header not found/);
    expectBtfError(() => parseBtfExt(patch(0, 0x0001eb9e)), /invalid \.BTF\.ext magic/);
    expectBtfError(() => parseBtfExt(patch(4, 1 << 20)), /header length .* larger than the section/);
    expectBtfError(() => parseBtfExt(patch(4, 8)), /shorter than 24/);
    expectBtfError(() => parseBtfExt(patch(12, 0xfffffff0)), /func_info subsection .* beyond the end/);
    expectBtfError(() => parseBtfExt(patch(8, 2)), /not aligned/);
    expectBtfError(() => parseBtfExt(patch(32, 4)), /invalid record size 4/);
    expectBtfError(() => parseBtfExt(patch(32, 6)), /invalid record size 6/);
    expectBtfError(() => parseBtfExt(patch(40, 0)), /num_records 0/);
    expectBtfError(() => parseBtfExt(patch(40, 0xffffffff)), /num_records 4294967295/);
    expectBtfError(() => parseBtfExt(patch(28, 0xfffffff0)), /core_relo subsection .* beyond the end/);
    const version = new Uint8Array(good);
    version[2] = 2;
    expectBtfError(() => parseBtfExt(version), /version 2/);
  });

  it('truncated at every cut point', () => {
    const good = btfExt(false, { funcNum: 2, coreNum: 2 });
    for (let n = 0; n < good.length; n++) typedError(() => parseBtfExt(good.subarray(0, n)));
  });

  it('a broken .BTF.ext inside an ELF fails the load with a typed error', () => {
    const ext = btfExt();
    new DataView(ext.buffer).setUint32(40, 1000, true);
    const e = buildElf({ sections: [{ name: '.BTF', data: GOOD }, { name: '.BTF.ext', data: ext }] });
    expectBtfError(() => loadBtf(e.bytes, { name: 'o.o' }), /^o\.o: \.BTF\.ext func_info block has incorrect num_records 1000/);
  });
});
