// Unit tests of the BTF parser and accessors on hand-assembled blobs.
import { describe, expect, it } from 'vitest';
import { Btf, isRawBtf, parseBtf } from '../../src/btf/btf.js';
import { dumpBtf, dumpBtfBytes, dumpBtfChunks } from '../../src/btf/dump.js';
import { E2BIG, EINVAL, Kind } from '../../src/btf/kinds.js';
import { BtfError } from '../../src/errors.js';
import { swapBtfEndian } from './helpers/bswap.js';
import { everyKind, info, layoutSection, rawBtf, Strtab } from './helpers/raw.js';

describe('accessors for every kind', () => {
  const btf = parseBtf(everyKind().raw);

  it('counts and IDs', () => {
    expect(btf.startId).toBe(1);
    expect(btf.count).toBe(23);
    expect(btf.typeCount).toBe(24);
    expect(btf.endian).toBe('little');
    expect(btf.kind(0)).toBe(Kind.UNKN);
    expect(btf.nameOff(0)).toBe(0);
    for (let id = 1; id <= 23; id++) expect(btf.recordWords(id)).toBe(btf.record(id).length);
    expect(btf.record(0).length).toBe(0);
  });

  it('INT', () => {
    expect(btf.kind(1)).toBe(Kind.INT);
    expect(btf.name(1)).toBe('int');
    expect(btf.size(1)).toBe(4);
    expect(btf.intEncoding(1)).toBe(1);
    expect(btf.intBits(1)).toBe(32);
    expect(btf.intOffset(1)).toBe(0);
    expect(btf.intOffset(2)).toBe(3);
    expect(btf.intBits(2)).toBe(64);
    expect(btf.kindName(1)).toBe('INT');
  });

  it('PTR / TYPEDEF / VOLATILE / CONST / RESTRICT / TYPE_TAG', () => {
    expect(btf.type(3)).toBe(1);
    expect(btf.type(10)).toBe(1);
    expect(btf.type(11)).toBe(10);
    expect(btf.type(12)).toBe(11);
    expect(btf.type(13)).toBe(3);
    expect(btf.kind(20)).toBe(Kind.TYPE_TAG);
    expect(btf.name(20)).toBe('user');
    expect(btf.type(20)).toBe(1);
  });

  it('ARRAY', () => {
    expect(btf.arrayElem(4)).toBe(1);
    expect(btf.arrayIndex(4)).toBe(1);
    expect(btf.arrayNelems(4)).toBe(10);
  });

  it('STRUCT / UNION members, with and without kind_flag', () => {
    expect(btf.vlen(5)).toBe(2);
    expect(btf.kflag(5)).toBe(false);
    expect(btf.memberName(5, 1)).toBe('hi');
    expect(btf.memberNameOff(5, 0)).toBe(everyKind().s.off.lo);
    expect(btf.memberType(5, 1)).toBe(1);
    expect(btf.memberBitOffset(5, 1)).toBe(32);
    expect(btf.memberBitfieldSize(5, 1)).toBe(0);
    expect(btf.kind(6)).toBe(Kind.UNION);
    expect(btf.memberType(6, 1)).toBe(5);
    expect(btf.kflag(22)).toBe(true);
    expect(btf.memberBitOffset(22, 1)).toBe(3);
    expect(btf.memberBitfieldSize(22, 1)).toBe(5);
    expect(btf.memberOffsetRaw(22, 1)).toBe((5 << 24) | 3);
  });

  it('ENUM (signed) and ENUM64 values', () => {
    expect(btf.kflag(7)).toBe(true);
    expect(btf.enumName(7, 0)).toBe('NEG');
    expect(btf.enumVal(7, 0) | 0).toBe(-3);
    expect(btf.enumValueU64(7, 0)).toBe(2n ** 64n - 3n);
    expect(btf.enumValueU64(7, 1)).toBe(5n);
    expect(btf.enumNameOff(21, 1)).toBe(everyKind().s.off.SMALL);
    expect(btf.enum64Lo(21, 0)).toBe(1);
    expect(btf.enum64Hi(21, 0)).toBe(0x80000000);
    expect(btf.enumValueU64(21, 0)).toBe(2n ** 63n + 1n);
  });

  it('FWD kind_flag', () => {
    expect(btf.kflag(8)).toBe(false);
    expect(btf.kflag(9)).toBe(true);
  });

  it('FUNC / FUNC_PROTO / VAR / DATASEC / FLOAT / DECL_TAG', () => {
    expect(btf.vlen(15)).toBe(1); // linkage global
    expect(btf.type(15)).toBe(14);
    expect(btf.type(14)).toBe(1);
    expect(btf.vlen(14)).toBe(3);
    expect(btf.paramName(14, 0)).toBe('x');
    expect(btf.paramNameOff(14, 2)).toBe(0); // varargs
    expect(btf.paramType(14, 2)).toBe(0);
    expect(btf.paramType(14, 1)).toBe(3);
    expect(btf.varLinkage(16)).toBe(1);
    expect(btf.datasecVarType(17, 0)).toBe(16);
    expect(btf.datasecVarOffset(17, 0)).toBe(0);
    expect(btf.datasecVarSize(17, 0)).toBe(4);
    expect(btf.size(18)).toBe(4);
    expect(btf.declTagComponentIdx(19)).toBe(1);
    expect(btf.declTagComponentIdx(23)).toBe(-1);
  });

  it('dump of every kind in bpftool format', () => {
    expect(dumpBtf(btf)).toBe(
      [
        "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED",
        "[2] INT 'long' size=8 bits_offset=3 nr_bits=64 encoding=(none)",
        "[3] PTR '(anon)' type_id=1",
        "[4] ARRAY '(anon)' type_id=1 index_type_id=1 nr_elems=10",
        "[5] STRUCT 'pair' size=8 vlen=2\n\t'lo' type_id=1 bits_offset=0\n\t'hi' type_id=1 bits_offset=32",
        "[6] UNION 'u' size=8 vlen=2\n\t'a' type_id=1 bits_offset=0\n\t'b' type_id=5 bits_offset=0",
        "[7] ENUM 'e' encoding=SIGNED size=4 vlen=2\n\t'NEG' val=-3\n\t'POS' val=5",
        "[8] FWD 'fwd_s' fwd_kind=struct",
        "[9] FWD 'fwd_u' fwd_kind=union",
        "[10] TYPEDEF 'int_t' type_id=1",
        "[11] VOLATILE '(anon)' type_id=10",
        "[12] CONST '(anon)' type_id=11",
        "[13] RESTRICT '(anon)' type_id=3",
        "[14] FUNC_PROTO '(anon)' ret_type_id=1 vlen=3\n\t'x' type_id=1\n\t'y' type_id=3\n\t'(anon)' type_id=0",
        "[15] FUNC 'fn' type_id=14 linkage=global",
        "[16] VAR 'var' type_id=1, linkage=global",
        "[17] DATASEC '.data' size=4 vlen=1\n\ttype_id=16 offset=0 size=4 (VAR 'var')",
        "[18] FLOAT 'float' size=4",
        "[19] DECL_TAG 'tag' type_id=5 component_idx=1",
        "[20] TYPE_TAG 'user' type_id=1",
        "[21] ENUM64 'e64' encoding=UNSIGNED size=8 vlen=2\n\t'BIG' val=9223372036854775809ULL\n\t'SMALL' val=7ULL",
        "[22] STRUCT 'bits' size=4 vlen=2\n\t'a' type_id=1 bits_offset=0 bitfield_size=3\n\t'b' type_id=1 bits_offset=3 bitfield_size=5",
        "[23] DECL_TAG 'tag' type_id=15 component_idx=-1",
        '',
      ].join('\n'),
    );
  });

  it('dump of an explicit ID list (root_type_ids), void included', () => {
    expect(dumpBtf(btf, { ids: [18, 0] })).toBe("[18] FLOAT 'float' size=4\n[0] UNKNOWN '(anon)'\n");
    expect(() => dumpBtf(btf, { ids: [24] })).toThrow(BtfError);
    expect(() => dumpBtf(btf, { ids: [1.5] })).toThrow(/invalid type ID 1.5/);
    expect(() => dumpBtf(btf, { ids: [-1] })).toThrow(BtfError);
  });

  it('accessors throw BtfError for IDs out of range', () => {
    expect(() => btf.kind(24)).toThrow(BtfError);
    expect(() => btf.intBits(1000)).toThrow(/out of range/);
    expect(() => btf.record(24)).toThrow(BtfError);
    expect(() => btf.str(1 << 20)).toThrow(/invalid string offset/);
    expect(() => btf.str(-1)).toThrow(BtfError);
    expect(btf.validStr(1 << 20)).toBe(false);
  });
});

describe('ENUM / ENUM64 value printing', () => {
  const s = new Strtab('e', 'A', 'B', 'C', 'D');
  const o = s.off;
  const btf = parseBtf(
    rawBtf({
      words: [
        o.e!, info(Kind.ENUM, 2), 4, o.A!, 0xffffffff, o.B!, 0x80000000,
        o.e!, info(Kind.ENUM64, 4, true), 8, o.A!, 0xffffffff, 0xffffffff, o.B!, 0, 0x80000000, o.C!, 0, 0xffffffff, o.D!, 0xffffffff, 0x7fffffff,
        o.e!, info(Kind.ENUM64, 1), 8, o.A!, 0xffffffff, 0xffffffff,
      ],
      strings: s.bytes,
    }),
  );
  it('unsigned ENUM prints %u, signed ENUM64 %lldLL, unsigned ENUM64 %lluULL', () => {
    expect(dumpBtf(btf)).toBe(
      "[1] ENUM 'e' encoding=UNSIGNED size=4 vlen=2\n\t'A' val=4294967295\n\t'B' val=2147483648\n" +
        "[2] ENUM64 'e' encoding=SIGNED size=8 vlen=4\n\t'A' val=-1LL\n\t'B' val=-9223372036854775808LL\n\t'C' val=-4294967296LL\n\t'D' val=9223372036854775807LL\n" +
        "[3] ENUM64 'e' encoding=UNSIGNED size=8 vlen=1\n\t'A' val=18446744073709551615ULL\n",
    );
  });
});

describe('headers and sections', () => {
  const s = new Strtab('int');
  const intRec = [s.off.int!, info(Kind.INT), 4, (1 << 24) | 32];

  it('24-byte header', () => {
    const b = parseBtf(rawBtf({ words: intRec, strings: s.bytes }));
    expect(b.header).toMatchObject({ hdrLen: 24, typeOff: 0, typeLen: 16, strOff: 16, strLen: 5, layoutOff: 0, layoutLen: 0 });
    expect(b.name(1)).toBe('int');
  });

  it('32-byte header with a layout section between types and strings (str_off != type_len)', () => {
    const layout = layoutSection();
    const raw = rawBtf({ words: intRec, strings: s.bytes, hdrLen: 32, layout });
    const b = parseBtf(raw);
    expect(b.header.hdrLen).toBe(32);
    expect(b.header.layoutOff).toBe(16);
    expect(b.header.layoutLen).toBe(80);
    expect(b.header.strOff).toBe(96);
    expect(b.layout.length).toBe(80);
    expect(b.name(1)).toBe('int');
    // Big-endian too.
    const be = parseBtf(swapBtfEndian(raw));
    expect(be.endian).toBe('big');
    expect(be.name(1)).toBe('int');
    expect(be.intBits(1)).toBe(32);
  });

  it('a gap (no layout) between types and strings, and a non-zero type_off', () => {
    const b = parseBtf(rawBtf({ words: intRec, strings: s.bytes, typeOff: 8, gap: 12 }));
    expect(b.header.typeOff).toBe(8);
    expect(b.header.strOff).toBe(8 + 16 + 12);
    expect(b.intBits(1)).toBe(32);
  });

  it('a header longer than 32 bytes', () => {
    const b = parseBtf(rawBtf({ words: intRec, strings: s.bytes, hdrLen: 40 }));
    expect(b.header.hdrLen).toBe(40);
    expect(b.name(1)).toBe('int');
  });

  it('an unaligned view of the blob parses (the words get copied)', () => {
    const raw = rawBtf({ words: intRec, strings: s.bytes });
    const shifted = new Uint8Array(raw.length + 1);
    shifted.set(raw, 1);
    const b = parseBtf(shifted.subarray(1));
    expect(b.intBits(1)).toBe(32);
  });

  it('empty type section', () => {
    const b = parseBtf(rawBtf({ words: [] }));
    expect(b.count).toBe(0);
    expect(dumpBtf(b)).toBe('');
  });

  it('isRawBtf', () => {
    expect(isRawBtf(new Uint8Array([0x9f, 0xeb]))).toBe(true);
    expect(isRawBtf(new Uint8Array([0xeb, 0x9f]))).toBe(true);
    expect(isRawBtf(new Uint8Array([0x7f, 0x45]))).toBe(false);
    expect(isRawBtf(new Uint8Array([0x9f]))).toBe(false);
  });
});

describe('7-bit kind and 24-bit vlen', () => {
  it('a STRUCT with more than 65535 members (vlen bits 16-23)', () => {
    const s = new Strtab('big', 'int', 'm');
    const n = 70_000;
    const words = [s.off.int!, info(Kind.INT), 4, 32, s.off.big!, info(Kind.STRUCT, n), n * 4];
    for (let i = 0; i < n; i++) words.push(s.off.m!, 1, i * 32);
    const b = parseBtf(rawBtf({ words, strings: s.bytes }));
    expect(b.vlen(2)).toBe(n);
    expect(b.memberBitOffset(2, n - 1)).toBe((n - 1) * 32);
    expect(dumpBtf(b).split('\n')[1]).toBe(`[2] STRUCT 'big' size=${n * 4} vlen=${n}`);
  });

  it('a kind above 19 described by the layout section parses and dumps as UNKNOWN', () => {
    const s = new Strtab('new', 'int');
    // Kinds 20 (info_sz 4, elem_sz 8) and 21 (nothing) only exist in the layout section.
    const layout = layoutSection([[4, 8], [0, 0]]);
    const words = [
      s.off.int!, info(Kind.INT), 4, 32,
      s.off.new!, info(20, 2), 1, 0xaaaa, 1, 2, 3, 4,
      0, info(20, 0), 0, 0xbbbb,
      s.off.int!, info(Kind.PTR), 3,
    ];
    const b = parseBtf(rawBtf({ words, strings: s.bytes, hdrLen: 32, layout }));
    expect(b.count).toBe(4);
    expect(b.kind(2)).toBe(20);
    expect(b.recordWords(2)).toBe(3 + 1 + 4);
    expect(b.kind(4)).toBe(Kind.PTR);
    expect(b.type(4)).toBe(3);
    expect(dumpBtf(b).split('\n').slice(1, 3)).toEqual(["[2] UNKNOWN 'new'", "[3] UNKNOWN '(anon)'"]);
  });

  it('a kind with bit 5 or 6 set (> 31) needs the layout section too', () => {
    const s = new Strtab('x');
    const b = () => parseBtf(rawBtf({ words: [s.off.x!, info(0x45), 0], strings: s.bytes }));
    expect(b).toThrow(BtfError);
    expect(b).toThrow(/unknown BTF kind 69/);
  });

  it('kind 21 with an all-zero layout entry is still unknown', () => {
    const layout = layoutSection([[4, 8], [0, 0]]);
    const p = () => parseBtf(rawBtf({ words: [0, info(21), 0], hdrLen: 32, layout }));
    expect(p).toThrow(/unknown BTF kind 21/);
  });
});

describe('split BTF', () => {
  const bs = new Strtab('int', 'base_s', 'f');
  const base = parseBtf(
    rawBtf({
      words: [bs.off.int!, info(Kind.INT), 4, (1 << 24) | 32, bs.off.base_s!, info(Kind.STRUCT, 1), 4, bs.off.f!, 1, 0],
      strings: bs.bytes,
    }),
  );

  it('IDs and string offsets continue from the base', () => {
    const baseLen = bs.bytes.length;
    // Split strings: need not start with NUL.
    const split = Buffer.from('mod_s\0g\0', 'latin1');
    const words = [
      /* [3] STRUCT mod_s { base_s g; } */ baseLen + 0, info(Kind.STRUCT, 1), 4, baseLen + 6, 2, 0,
      /* [4] PTR -> 3 */ 0, info(Kind.PTR), 3,
      /* [5] TYPEDEF named with a base string */ bs.off.int!, info(Kind.TYPEDEF), 1,
    ];
    const b = parseBtf(rawBtf({ words, strings: split }), { base });
    expect(b.startId).toBe(3);
    expect(b.startStrOff).toBe(baseLen);
    expect(b.typeCount).toBe(6);
    expect(b.count).toBe(3);
    expect(b.name(3)).toBe('mod_s');
    expect(b.memberName(3, 0)).toBe('g');
    expect(b.name(5)).toBe('int');
    // Base types through the split BTF.
    expect(b.kind(1)).toBe(Kind.INT);
    expect(b.name(2)).toBe('base_s');
    expect(b.memberType(2, 0)).toBe(1);
    expect(b.resolveSize(4)).toBe(8);
    expect(b.resolveSize(5)).toBe(4);
    expect(b.ptrSize).toBe(8);
    expect(dumpBtf(b)).toBe(
      "[3] STRUCT 'mod_s' size=4 vlen=1\n\t'g' type_id=2 bits_offset=0\n[4] PTR '(anon)' type_id=3\n[5] TYPEDEF 'int' type_id=1\n",
    );
  });

  it('an empty split string section is accepted', () => {
    const b = parseBtf(rawBtf({ words: [0, info(Kind.PTR), 2], strings: new Uint8Array(0) }), { base });
    expect(b.count).toBe(1);
    expect(b.type(3)).toBe(2);
  });

  it('split types referring past the end, or to strings past the end, are rejected', () => {
    expect(() => parseBtf(rawBtf({ words: [0, info(Kind.PTR), 4] }), { base })).toThrow(/invalid referenced type ID 4/);
    expect(() =>
      parseBtf(rawBtf({ words: [bs.bytes.length + 5, info(Kind.PTR), 1], strings: Buffer.from('ab\0') }), { base }),
    ).toThrow(/invalid type name/);
  });

  it('the split BTF inherits the base pointer size', () => {
    const b4 = parseBtf(rawBtf({ words: [0, info(Kind.PTR), 1], strings: new Uint8Array(0) }), {
      base: parseBtf(base.raw, { ptrSize: 4 }),
    });
    expect(b4.ptrSize).toBe(4);
  });
});

describe('resolveSize / skipModsAndTypedefs / ptrSize', () => {
  const { raw } = everyKind();
  const btf = parseBtf(raw);

  it('skipModsAndTypedefs follows TYPEDEF/VOLATILE/CONST/RESTRICT/TYPE_TAG', () => {
    expect(btf.skipModsAndTypedefs(12)).toBe(1);
    expect(btf.skipModsAndTypedefs(13)).toBe(3); // RESTRICT -> PTR
    expect(btf.skipModsAndTypedefs(20)).toBe(1);
    expect(btf.skipModsAndTypedefs(5)).toBe(5);
    expect(btf.skipModsAndTypedefs(0)).toBe(0);
    expect(Btf.isModOrTypedef(Kind.TYPE_TAG)).toBe(true);
    expect(Btf.isModOrTypedef(Kind.PTR)).toBe(false);
  });

  it('resolveSize like btf__resolve_size', () => {
    expect(btf.resolveSize(1)).toBe(4);
    expect(btf.resolveSize(3)).toBe(8); // PTR: ptrSize
    expect(btf.resolveSize(4)).toBe(40); // int[10]
    expect(btf.resolveSize(5)).toBe(8);
    expect(btf.resolveSize(12)).toBe(4);
    expect(btf.resolveSize(16)).toBe(4); // VAR
    expect(btf.resolveSize(17)).toBe(4); // DATASEC
    expect(btf.resolveSize(18)).toBe(4);
    expect(btf.resolveSize(19)).toBe(8); // DECL_TAG -> struct
    expect(btf.resolveSize(20)).toBe(4);
    expect(btf.resolveSize(21)).toBe(8);
    expect(btf.resolveSize(14)).toBe(-EINVAL); // FUNC_PROTO
    expect(btf.resolveSize(15)).toBe(-EINVAL); // FUNC
    expect(btf.resolveSize(8)).toBe(-EINVAL); // FWD
    expect(btf.resolveSize(0)).toBe(-EINVAL); // void
  });

  it('resolveSize: array overflow is -E2BIG, deep chains -EINVAL', () => {
    const s = new Strtab('int');
    const words = [s.off.int!, info(Kind.INT), 4, 32];
    // [2] int[0x10000], [3] [2][0x10000] -> 4 * 2^32 > u32: -E2BIG
    words.push(0, info(Kind.ARRAY), 0, 1, 1, 0x10000, 0, info(Kind.ARRAY), 0, 2, 1, 0x10000);
    // [4]..[40]: a 37-long typedef chain to int
    words.push(0, info(Kind.TYPEDEF), 1);
    for (let id = 5; id <= 40; id++) words.push(0, info(Kind.TYPEDEF), id - 1);
    // [41] zero-length array of int: 0
    words.push(0, info(Kind.ARRAY), 0, 1, 1, 0);
    const b = parseBtf(rawBtf({ words, strings: s.bytes }));
    expect(b.resolveSize(2)).toBe(0x40000);
    expect(b.resolveSize(3)).toBe(-E2BIG);
    expect(b.resolveSize(20)).toBe(4);
    expect(b.resolveSize(40)).toBe(-EINVAL); // > 32 hops (MAX_RESOLVE_DEPTH)
    expect(b.resolveSize(41)).toBe(0);
  });

  it('a typedef cycle passes validation but cannot hang skipModsAndTypedefs or resolveSize', () => {
    const b = parseBtf(rawBtf({ words: [0, info(Kind.TYPEDEF), 2, 0, info(Kind.CONST), 1] }));
    expect(() => b.skipModsAndTypedefs(1)).toThrow(/loop/);
    expect(b.resolveSize(1)).toBe(-EINVAL);
  });

  it('ptrSize: the size of the first INT named like long, else 8; an ELF class overrides', () => {
    const mk = (name: string, size: number) => {
      const s = new Strtab('int', name);
      return rawBtf({
        words: [s.off.int!, info(Kind.INT), 4, 32, s.off[name]!, info(Kind.INT), size, size * 8, 0, info(Kind.PTR), 1],
        strings: s.bytes,
      });
    };
    expect(parseBtf(mk('long int', 4)).ptrSize).toBe(4);
    expect(parseBtf(mk('long unsigned int', 8)).ptrSize).toBe(8);
    expect(parseBtf(mk('int long unsigned', 4)).ptrSize).toBe(4);
    expect(parseBtf(mk('long long int', 4)).ptrSize).toBe(8); // not a long alias: default
    expect(parseBtf(mk('long', 2)).ptrSize).toBe(8); // size not 4/8: skipped
    expect(parseBtf(mk('long', 4)).resolveSize(3)).toBe(4);
    expect(parseBtf(mk('long', 4), { ptrSize: 8 }).ptrSize).toBe(8);
    expect(parseBtf(rawBtf({ words: [] })).ptrSize).toBe(8);
  });
});

describe('dump streaming', () => {
  it('a type too big for one chunk is streamed member by member', () => {
    const long = 'n'.repeat(10_000);
    const s = new Strtab('int', long, 'big');
    const n = 2000;
    const words = [s.off.int!, info(Kind.INT), 4, 32, s.off.big!, info(Kind.STRUCT, n), 4];
    for (let i = 0; i < n; i++) words.push(s.off[long]! + (i % 7), 1, 0);
    const btf = parseBtf(rawBtf({ words, strings: s.bytes }));
    let expected = "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=(none)\n[2] STRUCT 'big' size=4 vlen=2000";
    for (let i = 0; i < n; i++) expected += `\n\t'${long.slice(i % 7)}' type_id=1 bits_offset=0`;
    expected += '\n';
    const chunks = [...dumpBtfChunks(btf, { chunkSize: 4096 })];
    expect(chunks.length).toBeGreaterThan(1000);
    for (const c of chunks) expect(c.length).toBeLessThan(4096 + 10_100);
    expect(Buffer.concat(chunks).toString('latin1')).toBe(expected);
    expect(Buffer.from(dumpBtfBytes(btf)).toString('latin1')).toBe(expected);
  });

  it('the same bytes for any chunk size', () => {
    const btf = parseBtf(everyKind().raw);
    const whole = dumpBtf(btf);
    for (const size of [1, 100, 4096, 1 << 20]) {
      expect(Buffer.concat([...dumpBtfChunks(btf, { chunkSize: size })]).toString('latin1')).toBe(whole);
    }
  });
});
