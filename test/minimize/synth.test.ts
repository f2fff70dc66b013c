// Objects clang does not make, synthesized byte by byte: Rust/Aya-style BTF (mangled names with
// `::` and `$`, named PTR types, a size-0 DATASEC, ELF32), legacy objects (a `maps` section and no
// BTF), and malformed CO-RE records (bad access strings, unknown kinds, invalid IDs). Each must
// give a result or a typed error, never a crash, and agree with bpftool 7.1 on the same file.
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ReloKind } from '../../src/btf/kinds.js';
import { prepareObject } from '../../src/minimize/index.js';
import { BtfgenError } from '../../src/errors.js';
import { BPF_TARGETS_DIR, HAVE_BPFTOOL, HAVE_VMLINUX, NO_BPFTOOL, VMLINUX } from '../helpers/env.js';
import { bpftoolMinimizeSync, compareOutcomes, ourMinimize, tempFile } from './helpers/differential.js';
import { buildBtfExt, buildElf, buildObject, TypeBuilder, type CoreReloSpec } from './helpers/synth.js';
import { join } from 'node:path';

if (!HAVE_BPFTOOL) console.warn(NO_BPFTOOL);

const PROBES = join(BPF_TARGETS_DIR, 'probes_target.o');

function write(name: string, bytes: Uint8Array): string {
  const p = tempFile(name);
  writeFileSync(p, bytes);
  return p;
}

/** Aya-like local BTF: kernel struct bindings plus Rust-isms. Returns the builder and IDs. */
function ayaTypes() {
  const t = new TypeBuilder();
  const u32 = t.int('u32', 4);
  const u8 = t.int('u8', 1);
  const i32 = t.int('i32', 4, true);
  const cu8 = t.ptr(u8, '*const u8'); // Rust toolchains name their pointer types
  const task = t.struct('task_struct', 64, [
    { name: 'pid', type: i32, bitOff: 0 },
    { name: 'tgid', type: i32, bitOff: 32 },
    { name: 'comm', type: t.array(u8, u32, 16), bitOff: 64 },
  ]);
  const taskFlavor = t.struct('task_struct___rust::v1$0', 8, [{ name: 'pid', type: i32, bitOff: 0 }]);
  const ctx = t.struct('aya_ebpf::programs::probe::ProbeContext', 8, [{ name: 'regs', type: t.ptr(0, '*mut c_void'), bitOff: 0 }]);
  const counter = t.variable('COUNTER', u32);
  t.datasec('.bss', 0, [[counter, 0, 4]]); // size-0 DATASEC as older Rust toolchains emit
  const proto = t.funcProto(u32, [['ctx', t.ptr(ctx, '*mut aya_ebpf::programs::probe::ProbeContext')]]);
  t.func('_ZN4core9panicking5panic17h2c0bd3f2f9c9a1e5E', proto);
  t.func('my_probe$1', proto);
  const sec = t.str('kprobe/synth');
  return { t, u32, u8, i32, cu8, task, taskFlavor, ctx, proto, sec };
}

interface Case {
  name: string;
  bytes: Uint8Array;
  targets: string[];
  /** Compare with bpftool (false where bpftool 7.1's behaviour is undefined: out-of-bounds reads). */
  oracle?: boolean;
  /** Our expected exit status when there is no oracle. */
  expectStatus?: number;
}

function cases(): Case[] {
  const out: Case[] = [];
  const vm = HAVE_VMLINUX ? [VMLINUX] : [];

  {
    const a = ayaTypes();
    const s = (x: string) => a.t.str(x);
    const relos: CoreReloSpec[] = [
      { typeId: a.task, accessStrOff: s('0:0'), kind: ReloKind.FIELD_BYTE_OFFSET },
      { typeId: a.task, accessStrOff: s('0:1'), kind: ReloKind.FIELD_EXISTS },
      { typeId: a.task, accessStrOff: s('0:2:3'), kind: ReloKind.FIELD_BYTE_OFFSET },
      { typeId: a.taskFlavor, accessStrOff: s('0:0'), kind: ReloKind.FIELD_BYTE_SIZE },
      { typeId: a.cu8, accessStrOff: s('0'), kind: ReloKind.TYPE_EXISTS }, // named PTR root
      { typeId: a.ctx, accessStrOff: s('0'), kind: ReloKind.TYPE_EXISTS }, // `::` names: no candidate
      { typeId: a.task, accessStrOff: s('0'), kind: ReloKind.TYPE_ID_LOCAL },
      { typeId: a.task, accessStrOff: s('0'), kind: ReloKind.TYPE_SIZE },
    ];
    const btf = a.t.bytes();
    out.push({ name: 'aya-like object (ELF64)', bytes: buildObject(btf, buildBtfExt([{ secNameOff: a.sec, records: relos }])), targets: [...vm, PROBES] });
    out.push({ name: 'aya-like object (ELF32: 4-byte local pointers)', bytes: buildObject(btf, buildBtfExt([{ secNameOff: a.sec, records: relos }]), { bits: 32 }), targets: vm });
  }
  {
    // TYPE_EXISTS / TYPE_MATCHES on VAR, DATASEC and FUNC roots that exist in the kernel
    const t = new TypeBuilder();
    const i32 = t.int('int', 4, true);
    const v = t.variable('runqueues', i32);
    const ds = t.datasec('.data..percpu', 0, [[v, 0, 4]]);
    const f = t.func('schedule', t.funcProto(i32, []));
    const sec = t.str('kprobe/synth');
    const s0 = t.str('0');
    const relos = [
      { typeId: v, accessStrOff: s0, kind: ReloKind.TYPE_EXISTS },
      { typeId: ds, accessStrOff: s0, kind: ReloKind.TYPE_MATCHES },
      { typeId: f, accessStrOff: s0, kind: ReloKind.TYPE_ID_TARGET },
    ];
    out.push({ name: 'VAR/DATASEC/FUNC roots', bytes: buildObject(t.bytes(), buildBtfExt([{ secNameOff: sec, records: relos }])), targets: vm });
  }
  {
    // legacy: `maps` section, no BTF at all
    const mapDef = new Uint8Array(20);
    new DataView(mapDef.buffer).setUint32(0, 1, true);
    const legacy = buildElf([
      { name: 'kprobe/foo', flags: 0x6, data: new Uint8Array([0x95, 0, 0, 0, 0, 0, 0, 0]) },
      { name: 'maps', flags: 0x3, data: mapDef },
      { name: 'license', flags: 0x3, data: new TextEncoder().encode('GPL\0') },
    ]);
    out.push({ name: 'legacy object: maps section, no .BTF', bytes: legacy, targets: [PROBES] });
  }
  {
    const a = ayaTypes();
    out.push({ name: '.BTF without .BTF.ext', bytes: buildObject(a.t.bytes(), null), targets: [PROBES] });
  }
  {
    const a = ayaTypes();
    out.push({
      name: '.BTF.ext with func_info only (no CO-RE)',
      bytes: buildObject(a.t.bytes(), buildBtfExt([], { secNameOff: a.sec, typeId: a.proto })),
      targets: [PROBES],
    });
  }
  out.push({ name: 'not an ELF at all', bytes: new TextEncoder().encode('hello, world\n'), targets: [PROBES] });
  out.push({ name: 'empty file', bytes: new Uint8Array(0), targets: [PROBES] });

  // malformed relocations on struct foo (probes_target has foo and foo___2)
  const bad: [string, string, number, boolean?][] = [
    ['empty access string', '', ReloKind.FIELD_BYTE_OFFSET],
    ['leading colon', ':0', ReloKind.FIELD_BYTE_OFFSET],
    ['trailing colon', '0:', ReloKind.FIELD_BYTE_OFFSET],
    ['letters', 'a', ReloKind.FIELD_BYTE_OFFSET],
    ['double colon', '0::0', ReloKind.FIELD_BYTE_OFFSET],
    ['leading space', ' 0:0', ReloKind.FIELD_BYTE_OFFSET],
    ['trailing space', '0:0 ', ReloKind.FIELD_BYTE_OFFSET],
    ['space separator', '0 0', ReloKind.FIELD_BYTE_OFFSET],
    ['plus sign', '+0:+0', ReloKind.FIELD_BYTE_OFFSET],
    ['member out of range', '0:5', ReloKind.FIELD_BYTE_OFFSET],
    ['index into an int', '0:0:0', ReloKind.FIELD_BYTE_OFFSET],
    ['too long (65 entries)', Array(65).fill('0').join(':'), ReloKind.FIELD_BYTE_OFFSET],
    ['huge first index', '4294967296:0', ReloKind.FIELD_BYTE_OFFSET],
    ['overflowing index', '99999999999999999999:0', ReloKind.FIELD_BYTE_OFFSET],
    ['negative first index', '-1:0', ReloKind.FIELD_BYTE_OFFSET],
    ['type relocation with "1"', '1', ReloKind.TYPE_EXISTS],
    ['type relocation with "0:0"', '0:0', ReloKind.TYPE_SIZE],
    ['enumval on a struct', '0', ReloKind.ENUMVAL_EXISTS],
    ['unknown relocation kind 13', '0:0', 13],
    ['unknown relocation kind 255', '0', 255],
    ['negative member index (libbpf 1.1 reads out of bounds)', '0:-1', ReloKind.FIELD_BYTE_OFFSET, false],
  ];
  for (const [name, access, kind, oracle] of bad) {
    const t = new TypeBuilder();
    const i32 = t.int('int', 4, true);
    const foo = t.struct('foo', 8, [
      { name: 'a', type: i32, bitOff: 0 },
      { name: 'b', type: i32, bitOff: 32 },
    ]);
    const sec = t.str('kprobe/synth');
    const relo = { typeId: foo, accessStrOff: t.str(access), kind };
    const c: Case = { name: `bad relocation: ${name}`, bytes: buildObject(t.bytes(), buildBtfExt([{ secNameOff: sec, records: [relo] }])), targets: [PROBES] };
    if (oracle === false) {
      c.oracle = false;
      c.expectStatus = 234;
    }
    out.push(c);
  }
  {
    const t = new TypeBuilder();
    const i32 = t.int('int', 4, true);
    t.struct('foo', 8, [{ name: 'a', type: i32, bitOff: 0 }]);
    const sec = t.str('kprobe/synth');
    const s0 = t.str('0');
    const s00 = t.str('0:0');
    const variants: [string, CoreReloSpec][] = [
      ['type ID past the end', { typeId: 99, accessStrOff: s00, kind: ReloKind.FIELD_BYTE_OFFSET }],
      ['void root, field relocation', { typeId: 0, accessStrOff: s00, kind: ReloKind.FIELD_BYTE_OFFSET }],
      ['void root, type relocation', { typeId: 0, accessStrOff: s0, kind: ReloKind.TYPE_EXISTS }],
      ['access string offset past the end', { typeId: 2, accessStrOff: 100000, kind: ReloKind.FIELD_BYTE_OFFSET }],
      ['anonymous INT root', { typeId: 1, accessStrOff: s0, kind: ReloKind.TYPE_ID_LOCAL }],
    ];
    const bytes = t.bytes();
    for (const [name, r] of variants) {
      out.push({ name: `bad relocation: ${name}`, bytes: buildObject(bytes, buildBtfExt([{ secNameOff: sec, records: [r] }])), targets: [PROBES] });
    }
  }
  return out;
}

describe('synthesized objects (Rust/Aya-like, legacy, malformed) vs bpftool 7.1', () => {
  for (const c of cases()) {
    for (const target of c.targets) {
      it(`${c.name} on ${target.split('/').pop()}`, async (ctx) => {
        const path = write('synth.o', c.bytes);
        let ours;
        try {
          ours = await ourMinimize(target, [path]);
        } catch (e) {
          throw new Error(`crash (not a typed error): ${(e as Error).stack}`);
        }
        if (ours.status !== 0) {
          // a typed error with a one-line message
          expect(ours.message).not.toMatch(/\n/);
          expect(ours.message.length).toBeGreaterThan(0);
        }
        if (c.oracle === false) {
          if (c.expectStatus !== undefined) expect(ours.status).toBe(c.expectStatus);
          return;
        }
        if (!HAVE_BPFTOOL) return ctx.skip('bpftool is not installed: no reference to compare with');
        const ref = bpftoolMinimizeSync(target, [path]);
        expect(compareOutcomes(ours, ref), ref.message).toBeUndefined();
      });
    }
  }

  it('prepareObject throws typed errors (BtfgenError with an exit status), never plain ones', () => {
    for (const c of cases()) {
      try {
        prepareObject(c.bytes, 'synth.o');
      } catch (e) {
        expect(e).toBeInstanceOf(BtfgenError);
        expect((e as BtfgenError).exitCode).toBeGreaterThan(0);
      }
    }
  });
});

// libbpf 1.1's FIELD_SIGNED takes btf_int_encoding() of the member type whatever its kind: for
// a PTR that is the last type of the target, the "encoding" comes from the first bytes of the
// string section ("\0foo": SIGNED), so the two candidates foo and foo___b disagree and bpftool
// fails with an ambiguity; with any type after that PTR both give 0 and it succeeds. (Found by
// random-diff.test.ts on synthesized targets.)
describe('FIELD_SIGNED reads the word after a non-INT member type', () => {
  const target = (tail: boolean) => {
    const t = new TypeBuilder();
    const p1 = t.ptr(0); // [1]
    t.struct('foo', 8, [{ name: 'p', type: p1, bitOff: 0 }]); // [2]
    t.struct('foo___b', 8, [{ name: 'p', type: 4, bitOff: 0 }]); // [3]
    expect(t.ptr(0)).toBe(4); // foo___b's member type: the last type unless `tail`
    if (tail) t.int('int', 4, true);
    return t.bytes();
  };
  const object = () => {
    const t = new TypeBuilder();
    const foo = t.struct('foo', 8, [{ name: 'p', type: t.ptr(0), bitOff: 0 }]);
    const sec = t.str('kprobe/synth');
    const relos = [{ typeId: foo, accessStrOff: t.str('0:0'), kind: ReloKind.FIELD_SIGNED }];
    return buildObject(t.bytes(), buildBtfExt([{ secNameOff: sec, records: relos }]));
  };
  for (const [tail, status] of [
    [false, 234],
    [true, 0],
  ] as const) {
    it(`${tail ? 'a type after the PTR: success' : 'PTR last: ambiguity'} (exit ${status}), as bpftool`, async () => {
      const tpath = write(`signed-target-${tail}.btf`, target(tail));
      const opath = write('signed.o', object());
      const ours = await ourMinimize(tpath, [opath]);
      expect(ours.status, ours.message).toBe(status);
      if (status) expect(ours.message).toMatch(/ambiguity/);
      if (HAVE_BPFTOOL) expect(compareOutcomes(ours, bpftoolMinimizeSync(tpath, [opath]))).toBeUndefined();
    });
  }
});

// A non-deduplicated kernel repeats each struct once per compilation unit: ten copies of
// `struct foo` here, each with its own member types. Field relocations match such candidates
// one shape at a time (src/minimize/shapes.ts); every variant below must still give bpftool's
// outcome: the copies that differ only behind a pointer agree, a moved member or a bitfield
// whose type's size word differs make the relocation ambiguous, and a type-based relocation
// (TYPE_ID_TARGET: each copy's own ID) is ambiguous whatever the shapes.
describe('ten copies of a struct (a non-deduplicated target), as bpftool', () => {
  type Variant = 'same' | 'pointers-differ' | 'member-moved' | 'bitfield-size-word' | 'signed-next-word' | 'two-renamed';
  const COPIES = 10;
  const target = (variant: Variant) => {
    const t = new TypeBuilder();
    t.str('foo'); // the string section starts "\0foo": as a word, bit 24 ('o') set
    for (let c = 0; c < COPIES; c++) {
      // the copy that differs, if any: for signed-next-word the last, whose PTR is the last type
      const odd = c === (variant === 'signed-next-word' ? COPIES - 1 : 6);
      const int = t.int('int', 4, true);
      const uint = t.int('unsigned int', 4);
      const baz = t.struct('baz', variant === 'pointers-differ' ? 8 * (c + 1) : 8, [{ name: 'z', type: int, bitOff: 0 }]);
      // a bitfield whose type is a pointer: libbpf takes the PTR's size word (the pointee's ID) for its size
      const yType = variant === 'bitfield-size-word' ? t.ptr(odd ? baz : uint) : uint;
      const bar = t.struct('bar', 8, [
        { name: 'x', type: int, bitOff: variant === 'member-moved' && odd ? 32 : 0 },
        { name: 'y', type: yType, bitOff: 33, bits: 3 },
      ]);
      // FIELD_SIGNED on `p` reads the word after the PTR's head: another type's name offset, or
      // for the last type of the BTF the string section's first bytes (SIGNED)
      const last = variant === 'signed-next-word' && odd;
      const p = last ? bar + 2 : t.ptr(baz);
      // two copies alike (2 and 5) without `b` (renamed) and with `a` moved: pruned by the
      // first relocation, they must not come back for the second
      const renamed = variant === 'two-renamed' && (c === 2 || c === 5);
      t.struct('foo', 24, [
        { name: 'a', type: int, bitOff: renamed ? 32 : 0 },
        { name: renamed ? 'bb' : 'b', type: bar, bitOff: 64 },
        { name: 'p', type: p, bitOff: 128 },
      ]);
      if (last) expect(t.ptr(baz)).toBe(p);
    }
    return t.bytes();
  };
  const object = (variant: Variant, kinds: [string, number][]) => {
    const t = new TypeBuilder();
    const int = t.int('int', 4, true);
    const uint = t.int('unsigned int', 4);
    const bar = t.struct('bar', 8, [
      { name: 'x', type: int, bitOff: 0 },
      { name: 'y', type: variant === 'bitfield-size-word' ? t.ptr(uint) : uint, bitOff: 33, bits: 3 },
    ]);
    const foo = t.struct('foo', 24, [
      { name: 'a', type: int, bitOff: 0 },
      { name: 'b', type: bar, bitOff: 64 },
      { name: 'p', type: t.ptr(t.struct('baz', 8, [{ name: 'z', type: int, bitOff: 0 }])), bitOff: 128 },
    ]);
    const sec = t.str('kprobe/synth');
    const relos = kinds.map(([access, kind]) => ({ typeId: foo, accessStrOff: t.str(access), kind }));
    return buildObject(t.bytes(), buildBtfExt([{ secNameOff: sec, records: relos }]));
  };
  const fields: [string, number][] = [
    ['0:1:0', ReloKind.FIELD_BYTE_OFFSET],
    ['0:2', ReloKind.FIELD_EXISTS],
    ['0:1:1', ReloKind.FIELD_LSHIFT_U64],
    ['0:1:1', ReloKind.FIELD_BYTE_SIZE],
    ['0:0', ReloKind.FIELD_BYTE_SIZE],
  ];
  const cases: { variant: Variant; kinds: [string, number][]; status: number }[] = [
    { variant: 'same', kinds: fields, status: 0 },
    { variant: 'pointers-differ', kinds: fields, status: 0 },
    { variant: 'member-moved', kinds: fields, status: 234 },
    { variant: 'bitfield-size-word', kinds: fields, status: 234 },
    { variant: 'signed-next-word', kinds: [['0:2', ReloKind.FIELD_SIGNED]], status: 234 },
    { variant: 'two-renamed', kinds: [['0:1:0', ReloKind.FIELD_BYTE_OFFSET], ['0:0', ReloKind.FIELD_BYTE_OFFSET]], status: 0 },
    { variant: 'same', kinds: [['0', ReloKind.TYPE_ID_TARGET]], status: 234 },
  ];
  for (const c of cases) {
    const what = c.kinds.map(([, k]) => k).join(',');
    it(`${c.variant}, relocation kinds ${what}: exit ${c.status}`, async () => {
      const tpath = write(`copies-${c.variant}.btf`, target(c.variant));
      const opath = write(`copies-${c.variant}-${what}.o`, object(c.variant, c.kinds));
      const ours = await ourMinimize(tpath, [opath]);
      expect(ours.status, ours.message).toBe(c.status);
      if (c.status) expect(ours.message).toMatch(/ambiguity/);
      if (HAVE_BPFTOOL) expect(compareOutcomes(ours, bpftoolMinimizeSync(tpath, [opath]))).toBeUndefined();
    });
  }
});
