// Unit tests of the CO-RE engine pieces, on small BTFs built in the test.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBtf, type Btf } from '../../src/btf/btf.js';
import { Kind, ReloKind } from '../../src/btf/kinds.js';
import {
  CandidateIndex,
  CoreSpec,
  essentialName,
  essentialNameLen,
  fieldsAreCompat,
  kindCoreCompat,
  Marks,
  namesMatch,
  parseSpec,
  prepareTarget,
  rootKey,
  typesAreCompat,
  typesMatch,
} from '../../src/minimize/index.js';
import { calcRelo, emptyResult } from '../../src/minimize/relo.js';
import { specMatch } from '../../src/minimize/spec.js';
import { isTar, readTar, unpackKernelBtf } from '../../src/minimize/input.js';
import { TypeBuilder } from './helpers/synth.js';
import { swapBtfEndian } from '../btf/helpers/bswap.js';
import { ARCHIVE_DEMO, HAVE_VMLINUX, HAVE_XZ, VMLINUX } from '../helpers/env.js';
import { tempDir } from './helpers/differential.js';

describe('bpf_core_essential_name_len', () => {
  const table: [string, string][] = [
    ['task_struct___old', 'task_struct'],
    ['a___b___c', 'a___b'],
    ['foo____bar', 'foo____bar'],
    ['foo___', 'foo___'],
    ['___x', '___x'],
    ['a___', 'a___'],
    ['ab', 'ab'],
    ['', ''],
    ['x___y', 'x'],
    ['_x___y', '_x'],
    ['x___y_', 'x'],
    ['x____y___z', 'x____y'],
    ['task_struct___rust::v1$0', 'task_struct'],
  ];
  for (const [name, ess] of table) {
    it(`${JSON.stringify(name)} -> ${JSON.stringify(ess)}`, () => {
      expect(essentialName(name)).toBe(ess);
      expect(essentialNameLen(name)).toBe(ess.length);
    });
  }
  it('btf_kind_core_compat: same kind, or ENUM <-> ENUM64', () => {
    expect(kindCoreCompat(Kind.STRUCT, Kind.STRUCT)).toBe(true);
    expect(kindCoreCompat(Kind.STRUCT, Kind.UNION)).toBe(false);
    expect(kindCoreCompat(Kind.ENUM, Kind.ENUM64)).toBe(true);
    expect(kindCoreCompat(Kind.ENUM64, Kind.ENUM)).toBe(true);
    expect(kindCoreCompat(Kind.FWD, Kind.STRUCT)).toBe(false);
  });
});

/** A target with flavors, mixed kinds and an offset into the middle of a string. */
function candidateTarget(): Btf {
  const t = new TypeBuilder();
  const i32 = t.int('int', 4, true); // 1
  t.struct('foo', 4, [{ name: 'a', type: i32, bitOff: 0 }]); // 2
  t.struct('foo___2', 4, [{ name: 'a', type: i32, bitOff: 0 }]); // 3
  t.struct('foo', 4, [{ name: 'a', type: i32, bitOff: 0 }], true); // 4: union foo
  t.typedef('foo', i32); // 5
  t.fwd('foo'); // 6
  t.struct('foo____x', 4, []); // 7: 4 underscores, not a flavor
  t.enumeration('foo___e', 4, [['A', 1]]); // 8
  t.struct('barfoo', 4, []); // 9: "foo" at offset+3 of "barfoo" below
  const bytes = t.bytes();
  const btf = parseBtf(bytes);
  // type 10: a struct whose name_off points into the middle of "barfoo" (-> "foo")
  const mid = btf.nameOff(9) + 3;
  const t2 = new TypeBuilder();
  for (let id = 1; id < btf.typeCount; id++) t2.b.addTypeCopy(btf, id);
  t2.b.addRawRecord([mid, (Kind.STRUCT << 24) >>> 0, 4]);
  return parseBtf(t2.bytes());
}

describe('candidate index (bpf_core_add_cands)', () => {
  it('ascending IDs, kind filter on the unskipped kind, flavors, mid-string names', () => {
    const btf = candidateTarget();
    const idx = new CandidateIndex(btf);
    idx.ensure([rootKey(Kind.STRUCT, 'foo')]);
    expect(idx.candidates(Kind.STRUCT, 'foo')).toEqual([2, 3, 10]);
    expect(idx.candidates(Kind.UNION, 'foo')).toEqual([4]);
    expect(idx.candidates(Kind.TYPEDEF, 'foo')).toEqual([5]);
    expect(idx.candidates(Kind.FWD, 'foo')).toEqual([6]);
    expect(idx.candidates(Kind.ENUM64, 'foo')).toEqual([8]);
    expect(idx.candidates(Kind.STRUCT, 'foo____x')).toEqual([7]);
    expect(idx.candidates(Kind.STRUCT, '')).toEqual([]);
  });

  it.skipIf(!HAVE_VMLINUX)('matches a linear scan on the running kernel for every struct name (needs /sys/kernel/btf/vmlinux)', () => {
    const btf = parseBtf(readFileSync(VMLINUX));
    const names = new Set<string>();
    for (let id = 1; id < btf.typeCount && names.size < 3000; id += 7) {
      const k = btf.kind(id);
      if ((k === Kind.STRUCT || k === Kind.ENUM || k === Kind.TYPEDEF) && btf.nameOff(id)) names.add(essentialName(btf.name(id)));
    }
    const idx = new CandidateIndex(btf);
    idx.ensure([...names].flatMap((n) => [Kind.STRUCT, Kind.ENUM, Kind.TYPEDEF].map((k) => rootKey(k, n))));
    const full = new CandidateIndex(btf);
    full.ensureAll();
    // the linear scan of bpf_core_add_cands, done once for every name and kind
    const scan = new Map<string, number[]>();
    for (let id = 1; id < btf.typeCount; id++) {
      if (!btf.nameOff(id)) continue;
      const n = essentialName(btf.name(id));
      if (!names.has(n)) continue;
      for (const kind of [Kind.STRUCT, Kind.ENUM, Kind.TYPEDEF]) {
        if (!kindCoreCompat(btf.kind(id), kind)) continue;
        const key = `${kind}/${n}`;
        scan.set(key, [...(scan.get(key) ?? []), id]);
      }
    }
    for (const n of names) {
      for (const kind of [Kind.STRUCT, Kind.ENUM, Kind.TYPEDEF]) {
        const want = scan.get(`${kind}/${n}`) ?? [];
        expect(idx.candidates(kind, n)).toEqual(want);
        expect(full.candidates(kind, n)).toEqual(want);
      }
    }
  });
});

/**
 * libbpf's bpf_core_add_cands(), written out: every type from `start` up, kind-compatible with
 * the key's kind (ENUM/ENUM64 alike) and with the key's essential name, in ID order.
 */
function linearCandidates(btf: Btf, key: string, start = 1): number[] {
  const [kind, name] = [Number(key.slice(0, key.indexOf(':'))), key.slice(key.indexOf(':') + 1)];
  const out: number[] = [];
  if (name === '') return out;
  for (let id = start; id < btf.typeCount; id++) {
    const off = btf.nameOff(id);
    if (off === 0 || !btf.validStr(off)) continue;
    const n = btf.name(id);
    if (n === '' || !kindCoreCompat(btf.kind(id), kind)) continue;
    if (essentialName(n) === name) out.push(id);
  }
  return out;
}

/** Candidate lists of `keys` on `bytes` parsed with the keys as roots (found by the parse). */
function listsFoundInParse(bytes: Uint8Array, keys: string[], base?: Btf): Map<string, number[]> {
  const target = prepareTarget(bytes, { roots: keys, ...(base ? { base } : {}) });
  expect(target.btf.sieved).toBeDefined();
  target.index.ensure(keys);
  return new Map(keys.map((k) => [k, target.index.candidates(Number(k.slice(0, k.indexOf(':'))), k.slice(k.indexOf(':') + 1))]));
}

describe('candidates found in the parse (prepareTarget roots)', () => {
  const foo = [Kind.STRUCT, Kind.UNION, Kind.TYPEDEF, Kind.FWD, Kind.ENUM, Kind.ENUM64].map((k) => rootKey(k, 'foo'));
  const keys = [...foo, rootKey(Kind.STRUCT, 'foo____x'), rootKey(Kind.STRUCT, 'barfoo'), rootKey(Kind.STRUCT, 'nothing'), rootKey(Kind.STRUCT, '')];

  it('the same lists as the linear scan: one name under several kinds, flavors, mid-string names', () => {
    const bytes = candidateTarget().raw;
    const btf = parseBtf(bytes);
    const got = listsFoundInParse(bytes, keys);
    for (const k of keys) expect(got.get(k), k).toEqual(linearCandidates(btf, k));
    expect(got.get(rootKey(Kind.STRUCT, 'foo'))).toEqual([2, 3, 10]);
    // each key alone: a sieve wanting only it
    for (const k of keys) expect(listsFoundInParse(bytes, [k]).get(k), k).toEqual(linearCandidates(btf, k));
  });

  it('a big-endian BTF: the names are read after the records are byte-swapped', () => {
    const bytes = candidateTarget().raw;
    const got = listsFoundInParse(swapBtfEndian(bytes), keys);
    for (const k of keys) expect(got.get(k), k).toEqual(linearCandidates(parseBtf(bytes), k));
  });

  it('keys the parse did not look for are found by a pass of their own', () => {
    const bytes = candidateTarget().raw;
    const target = prepareTarget(bytes, { roots: [rootKey(Kind.UNION, 'foo')] });
    target.index.ensure([rootKey(Kind.STRUCT, 'foo'), rootKey(Kind.UNION, 'foo')]);
    expect(target.index.candidates(Kind.STRUCT, 'foo')).toEqual([2, 3, 10]);
    expect(target.index.candidates(Kind.UNION, 'foo')).toEqual([4]);
  });

  it('split BTF: types named by a base string, and base candidates first', () => {
    const base = new TypeBuilder();
    const i32 = base.int('int', 4, true); // 1
    base.struct('foo', 4, [{ name: 'a', type: i32, bitOff: 0 }]); // 2
    base.struct('bar___v1', 4, []); // 3
    const baseBtf = parseBtf(base.bytes());
    const baseLen = baseBtf.header.strLen;
    // split strings: "bar\0zap\0" after the base's
    const strings = Buffer.from('bar\0zap\0', 'latin1');
    const words = [
      /* [4] STRUCT named by the base string "foo" */ baseBtf.nameOff(2), (Kind.STRUCT << 24) >>> 0, 0,
      /* [5] STRUCT bar (split string) */ baseLen, (Kind.STRUCT << 24) >>> 0, 0,
      /* [6] STRUCT zap */ baseLen + 4, (Kind.STRUCT << 24) >>> 0, 0,
      /* [7] STRUCT named past the strings: never a candidate */ baseLen + 64, (Kind.STRUCT << 24) >>> 0, 0,
    ];
    const hdr = Buffer.alloc(24);
    hdr.writeUInt16LE(0xeb9f, 0);
    hdr[2] = 1;
    hdr.writeUInt32LE(24, 4);
    hdr.writeUInt32LE(0, 8);
    hdr.writeUInt32LE(words.length * 4, 12);
    hdr.writeUInt32LE(words.length * 4, 16);
    hdr.writeUInt32LE(strings.length, 20);
    const body = Buffer.alloc(words.length * 4);
    words.forEach((w, i) => body.writeUInt32LE(w, i * 4));
    const split = Buffer.concat([hdr, body, strings]);
    const splitKeys = ['foo', 'bar', 'zap'].map((n) => rootKey(Kind.STRUCT, n));
    const got = listsFoundInParse(split, splitKeys, baseBtf);
    const btf = parseBtf(split, { base: baseBtf, noValidate: true });
    for (const k of splitKeys) expect(got.get(k), k).toEqual(linearCandidates(btf, k));
    expect(got.get(rootKey(Kind.STRUCT, 'foo'))).toEqual([2, 4]);
    expect(got.get(rootKey(Kind.STRUCT, 'bar'))).toEqual([3, 5]);
  });

  // Real kernels: a non-deduplicated CentOS 8 one (811 copies of task_struct, tens of thousands
  // of records kept) and a deduplicated Ubuntu one; keys: a sample of their type names with and
  // without flavors, under the kinds candidates are searched for.
  const kernels = [
    { path: 'centos/8/x86_64/4.18.0-147.8.1.el8_1.x86_64.btf.tar.xz', taskStructs: 811 },
    { path: 'ubuntu/20.04/x86_64/5.4.0-37-generic.btf.tar.xz', taskStructs: 2 },
  ];
  for (const { path, taskStructs } of kernels) {
    const file = join(ARCHIVE_DEMO, path);
    it.skipIf(!existsSync(file) || !HAVE_XZ)(`the same lists as the linear scan on ${file.split('/').slice(-4).join('/')} (needs ../shared/data and xz)`, async () => {
      const bytes = await unpackKernelBtf(readFileSync(file), file);
      const btf = parseBtf(bytes, { noValidate: true });
      const names = new Set<string>();
      for (let id = 1; id < btf.typeCount && names.size < 400; id += 97) {
        const off = btf.nameOff(id);
        if (off && btf.validStr(off) && btf.name(id)) names.add(essentialName(btf.name(id)));
      }
      for (const n of ['task_struct', 'file', 'sk_buff', 'pt_regs', 'trace_event_raw_sys_enter']) names.add(n);
      const kinds = [Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.TYPEDEF, Kind.INT];
      const wanted = [...names].flatMap((n) => kinds.map((k) => rootKey(k, n)));
      const got = listsFoundInParse(bytes, wanted);
      // the linear scan, once for every name: names indexed by essential name first
      const byName = new Map<string, number[]>();
      for (let id = 1; id < btf.typeCount; id++) {
        const off = btf.nameOff(id);
        if (!off || !btf.validStr(off) || !btf.name(id)) continue;
        const n = essentialName(btf.name(id));
        if (names.has(n)) byName.set(n, [...(byName.get(n) ?? []), id]);
      }
      let total = 0;
      for (const n of names) {
        for (const k of kinds) {
          const want = (byName.get(n) ?? []).filter((id) => kindCoreCompat(btf.kind(id), k));
          expect(got.get(rootKey(k, n)), rootKey(k, n)).toEqual(want);
          total += want.length;
        }
      }
      expect(got.get(rootKey(Kind.STRUCT, 'task_struct'))).toHaveLength(taskStructs);
      expect(total).toBeGreaterThan(50);
    }, 60_000);
  }
});

function localWithStrings(accesses: string[]) {
  const t = new TypeBuilder();
  const i32 = t.int('int', 4, true);
  const arr = t.array(i32, i32, 3);
  const flex = t.array(i32, i32, 0);
  const inner = t.struct('', 8, [
    { name: 'x', type: i32, bitOff: 0 },
    { name: 'y', type: i32, bitOff: 32 },
  ]);
  const s = t.struct('s', 32, [
    { name: 'a', type: i32, bitOff: 0 },
    { name: '', type: inner, bitOff: 32 },
    { name: 'arr', type: arr, bitOff: 96 },
    { name: 'tail', type: flex, bitOff: 192 },
  ]);
  const e = t.enumeration('e', 4, [['E_A', 1], ['E_B___x', 2]]);
  const offs = accesses.map((a) => t.str(a));
  return { btf: parseBtf(t.bytes()), s, e, offs };
}

describe('bpf_core_parse_spec', () => {
  const accesses = ['0:0', '0:1:1', '0:2:2', '0:3:7', '0:2:3', '1:0', '0', ' 0:+1:0', '0::1', '0:', ':0', '', 'x', Array(65).fill('0').join(':'), '0:1:2', '0:4', '-1:0'];
  const { btf, s, e, offs } = localWithStrings(accesses);
  const parse = (i: number, kind: number = ReloKind.FIELD_BYTE_OFFSET, typeId = s) => {
    const spec = new CoreSpec(btf);
    const err = parseSpec(btf, { typeId, accessStrOff: offs[i]!, kind }, spec);
    return { err, spec };
  };

  it('named, anonymous, array and flexible-array accessors; bit offsets', () => {
    let r = parse(0);
    expect(r.err).toBe(0);
    expect([r.spec.len, r.spec.raw(), r.spec.bitOffset]).toEqual([2, [0, 0], 0]);
    r = parse(1); // s.<anon>.y: the anonymous member is only in the raw spec
    expect([r.err, r.spec.len, r.spec.raw(), r.spec.bitOffset, r.spec.accName[1]]).toEqual([0, 2, [0, 1, 1], 64, 'y']);
    r = parse(2); // s.arr[2]
    expect([r.err, r.spec.len, r.spec.bitOffset, r.spec.accName[2]]).toEqual([0, 3, 96 + 64, null]);
    r = parse(3); // s.tail[7]: flexible array, any index
    expect([r.err, r.spec.bitOffset]).toEqual([0, 192 + 7 * 32]);
    expect(parse(4).err).toBe(-22); // arr[3] out of bounds
    r = parse(5); // pointer arithmetic: s[1].a
    expect([r.err, r.spec.bitOffset]).toEqual([0, 256]);
  });

  it('access string syntax like sscanf("%d"): whitespace and signs, one colon at a time', () => {
    expect(parse(7).err).toBe(0);
    expect(parse(7).spec.raw()).toEqual([0, 1, 0]);
    expect(parse(8).err).toBe(-22);
    expect(parse(9).err).toBe(-22);
    expect(parse(10).err).toBe(-22);
    expect(parse(11).err).toBe(-22);
    expect(parse(12).err).toBe(-22);
    expect(parse(13).err).toBe(-7); // E2BIG: more than 64 entries
    expect(parse(14).err).toBe(-22); // index into an int
    expect(parse(15).err).toBe(-22); // member index out of range
    expect(parse(16).err).toBe(0); // libbpf 1.1 accepts a negative first index (bit offset wraps)
    expect(parse(16).spec.bitOffset).toBe((-256 >>> 0));
  });

  it('type and enumval relocations', () => {
    expect(parse(6, ReloKind.TYPE_EXISTS).err).toBe(0);
    expect(parse(0, ReloKind.TYPE_EXISTS).err).toBe(-22);
    const r = parse(6, ReloKind.ENUMVAL_VALUE, e);
    expect([r.err, r.spec.accName[0]]).toEqual([0, 'E_A']);
    expect(parse(6, ReloKind.ENUMVAL_VALUE, s).err).toBe(-22);
    expect(parse(0, ReloKind.ENUMVAL_VALUE, e).err).toBe(-22);
    expect(parse(6, 13).err).toBe(-22); // unknown kind
  });
});

describe('compatibility rules', () => {
  const t = new TypeBuilder();
  const i32 = t.int('int', 4, true); // 1
  const u32 = t.int('unsigned int', 4); // 2
  const lng = t.int('long int', 8, true); // 3
  const ulong = t.int('long unsigned int', 8); // 4
  const ulong2 = t.int('unsigned long', 8); // 5
  const td = t.typedef('u32_t', u32); // 6
  const p = t.ptr(i32); // 7
  const pv = t.ptr(0); // 8
  const arr = t.array(i32, i32, 4); // 9
  const arr8 = t.array(i32, i32, 8); // 10
  const s1 = t.struct('s', 4, [{ name: 'a', type: i32, bitOff: 0 }]); // 11
  const u1 = t.struct('s', 4, [{ name: 'a', type: i32, bitOff: 0 }], true); // 12
  const en = t.enumeration('e', 4, [['A', 0]]); // 13
  const en2 = t.enumeration('e___v2', 4, [['A', 5], ['B', 6]]); // 14
  const enx = t.enumeration('other', 4, [['A', 0]]); // 15
  const fw = t.fwd('s'); // 16
  const fp1 = t.funcProto(i32, [['x', p]]); // 17
  const fp2 = t.funcProto(i32, [['x', pv]]); // 18
  const fp3 = t.funcProto(i32, []); // 19
  const ps = t.ptr(s1); // 20
  const pfw = t.ptr(fw); // 21
  const btf = parseBtf(t.bytes());

  it('bpf_core_fields_are_compat', () => {
    expect(fieldsAreCompat(btf, i32, btf, ulong)).toBe(1); // ints: size and sign ignored
    expect(fieldsAreCompat(btf, td, btf, i32)).toBe(1); // typedefs skipped
    expect(fieldsAreCompat(btf, s1, btf, u1)).toBe(1); // struct ~ union
    expect(fieldsAreCompat(btf, p, btf, pv)).toBe(1); // any two pointers
    expect(fieldsAreCompat(btf, arr, btf, arr8)).toBe(1); // dimensions ignored
    expect(fieldsAreCompat(btf, en, btf, en2)).toBe(1); // flavor-stripped names
    expect(fieldsAreCompat(btf, en, btf, enx)).toBe(0);
    expect(fieldsAreCompat(btf, i32, btf, p)).toBe(0);
  });

  it('__bpf_core_types_are_compat', () => {
    expect(typesAreCompat(btf, s1, btf, s1)).toBe(1);
    expect(typesAreCompat(btf, s1, btf, u1)).toBe(0); // root kinds differ
    expect(typesAreCompat(btf, fp1, btf, fp1)).toBe(1);
    expect(typesAreCompat(btf, fp1, btf, fp2)).toBe(0); // int* vs void*: pointee kinds differ
    expect(typesAreCompat(btf, fp1, btf, fp3)).toBe(0); // arity
    expect(typesAreCompat(btf, ps, btf, pfw)).toBe(0); // struct vs fwd pointee
  });

  it('__bpf_core_types_match: names at every level, sizes, signedness, fwd behind pointers', () => {
    expect(namesMatch(btf, btf.nameOff(ulong), btf, btf.nameOff(ulong2))).toBe(false);
    expect(typesMatch(btf, ulong, btf, ulong2)).toBe(0); // 'long unsigned int' vs 'unsigned long'
    expect(typesMatch(btf, en, btf, en2)).toBe(1); // enumerator names, values ignored
    expect(typesMatch(btf, en2, btf, en)).toBe(0); // more local enumerators than target
    expect(typesMatch(btf, ps, btf, pfw)).toBe(1); // struct s behind a pointer matches fwd s
    expect(typesMatch(btf, s1, btf, fw)).toBe(0); // not behind a pointer
    expect(typesMatch(btf, arr, btf, arr8)).toBe(0); // nelems
    expect(typesMatch(btf, i32, btf, lng)).toBe(0);
  });
});

describe('relocation values (bpf_core_calc_relo)', () => {
  // struct bits { int a:3; int b:5; long c; int d:30; int e:30; }  (e straddles 4 bytes)
  const t = new TypeBuilder();
  const i32 = t.int('int', 4, true);
  const u32 = t.int('unsigned int', 4);
  const lng = t.int('long', 8, true);
  const bits = t.struct('bits', 24, [
    { name: 'a', type: i32, bitOff: 0, bits: 3 },
    { name: 'b', type: u32, bitOff: 3, bits: 5 },
    { name: 'c', type: lng, bitOff: 64 },
    { name: 'd', type: i32, bitOff: 128, bits: 30 },
    { name: 'e', type: i32, bitOff: 158, bits: 30 },
  ]);
  const acc = ['0:0', '0:1', '0:2', '0:3', '0:4'].map((a) => t.str(a));
  const btf = parseBtf(t.bytes());
  const value = (member: number, kind: number) => {
    const local = new CoreSpec(btf);
    expect(parseSpec(btf, { typeId: bits, accessStrOff: acc[member]!, kind }, local)).toBe(0);
    const targ = new CoreSpec(btf);
    expect(specMatch(local, btf, bits, targ)).toBe(1);
    const res = emptyResult();
    const err = calcRelo(kind, local, targ, res, () => {});
    return err ? err : Number(res.newVal);
  };
  it('bitfield loads: offset, size, signedness and shifts', () => {
    expect([0, 1, 3, 4, 5].map((k) => value(0, k))).toEqual([0, 4, 1, 61, 61]); // a: bits 0..2
    expect([0, 1, 3, 4, 5].map((k) => value(1, k))).toEqual([0, 4, 0, 56, 59]); // b: bits 3..7
    expect([0, 1, 3, 4, 5].map((k) => value(2, k))).toEqual([8, 8, 1, 0, 0]); // c: plain long
    expect([0, 1, 4, 5].map((k) => value(3, k))).toEqual([16, 4, 34, 34]); // d: bits 128..157
    expect([0, 1, 4, 5].map((k) => value(4, k))).toEqual([16, 8, 4, 34]); // e: needs an 8-byte load
  });
});

describe('marks', () => {
  it('memoized TYPE_MATCHES marking is order independent (behind_ptr true then false)', () => {
    const t = new TypeBuilder();
    const i32 = t.int('int', 4, true);
    const s = t.struct('s', 16, [{ name: 'a', type: i32, bitOff: 0 }]);
    const ps = t.ptr(s);
    const outer = t.struct('outer', 16, [
      { name: 'p', type: ps, bitOff: 0 },
      { name: 'v', type: s, bitOff: 64 },
    ]);
    const btf = parseBtf(t.bytes());
    const m1 = new Marks(btf);
    m1.markTypeMatch(outer, false);
    const m2 = new Marks(btf);
    m2.markTypeMatch(s, true);
    m2.markTypeMatch(outer, false);
    expect(Array.from(m2.types)).toEqual(Array.from(m1.types));
    expect(m2.memberMarked(s, 0)).toBe(true);
  });

  it('a by-value cycle (struct -> func proto taking the struct by value) terminates', () => {
    const t = new TypeBuilder();
    const i32 = t.int('int', 4, true);
    // type 2: struct s { int (*cb)(struct s); }  -- built with forward IDs
    const s = t.struct('s', 8, [{ name: 'cb', type: 3, bitOff: 0 }]);
    t.ptr(4); // 3
    t.funcProto(i32, [['x', s]]); // 4
    const btf = parseBtf(t.bytes());
    const m = new Marks(btf);
    m.markTypeMatch(s, false); // bpftool recurses forever here
    expect(m.count).toBe(4);
  });
});

describe('kernel BTF inputs (tar / xz)', () => {
  it('reads pax long names and strips nothing but the container', async (ctx) => {
    const dir = join(tempDir(), 'tarunit');
    const long = `${'d'.repeat(120)}/kernel-with-a-long-release-name.btf`;
    mkdirSync(join(dir, 'd'.repeat(120)), { recursive: true });
    writeFileSync(join(dir, long), Uint8Array.from([0x9f, 0xeb, 1, 0]));
    const r = spawnSync('tar', ['--format=pax', '-cf', 'x.tar', long], { cwd: dir });
    if (r.status !== 0) return ctx.skip(`tar --format=pax does not run here: ${r.stderr?.toString().trim() || r.error?.message}`);
    const b = new Uint8Array(readFileSync(join(dir, 'x.tar')));
    expect(isTar(b)).toBe(true);
    const members = readTar(b).filter((m) => m.type === '0');
    expect(members.map((m) => m.name)).toEqual([long]);
    expect(Array.from(await unpackKernelBtf(b))).toEqual([0x9f, 0xeb, 1, 0]);
    // not a tar, not xz: returned unchanged
    expect(await unpackKernelBtf(Uint8Array.from([1, 2, 3]))).toEqual(Uint8Array.from([1, 2, 3]));
  });
});
