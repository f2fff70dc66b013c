// Deterministic mutation fuzzing of the BTF / ELF / .BTF.ext decoders and the dump.
// Property: every mutated input either parses (and then dumps, resolves and round-trips
// without crashing) or throws a BtfError/ElfError; no other exception, no hang.
// Reproduce a failure with BTFGEN_FUZZ_SEED=<seed> (printed); more cases with BTFGEN_FUZZ_N.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Btf } from '../../src/btf/btf.js';
import { parseBtf } from '../../src/btf/btf.js';
import { BtfBuilder } from '../../src/btf/builder.js';
import { dumpBtf } from '../../src/btf/dump.js';
import { parseElf } from '../../src/btf/elf.js';
import { parseBtfExt } from '../../src/btf/ext.js';
import { loadBtf } from '../../src/btf/object.js';
import { Kind } from '../../src/btf/kinds.js';
import { BtfError } from '../../src/errors.js';
import { compileBpf, KINDS_SOURCE } from './helpers/bpf.js';
import { swapBtfEndian } from './helpers/bswap.js';
import { HAVE_CLANG, HAVE_SHARED_DATA, SPLIT, SPLIT_BASE } from '../helpers/env.js';
import { fixtureObjects } from './helpers/dump.js';
import { everyKind, layoutSection, rawBtf } from './helpers/raw.js';

const SEED = Number(process.env.BTFGEN_FUZZ_SEED ?? 0x5eed1);
const N = Number(process.env.BTFGEN_FUZZ_N ?? 1500);
/** A case taking longer than this is reported as a (near-)hang. */
const CASE_MS = 2000;

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING = [
  0, 1, 2, 3, 4, 7, 8, 12, 16, 24, 31, 32, 0x7f, 0xff, 0x100, 0xffff, 0x10000, 0xffffff, 0x1000000,
  0x7fffffff, 0x80000000, 0xfffffff0, 0xfffffffc, 0xffffffff,
  // info words: kinds 0..20 with small/huge vlen and kflag
  ...Array.from({ length: 21 }, (_, k) => (k << 24) >>> 0),
  (4 << 24) | 0xffff, (19 << 24) | 0xffffff, 0x80000000 | (4 << 24) | 2, (13 << 24) | 0x10000, (0x7f << 24) >>> 0,
];

type Mutator = (b: Uint8Array, r: () => number) => Uint8Array;

const int = (r: () => number, n: number) => Math.floor(r() * n);

const MUTATORS: Array<[string, Mutator]> = [
  ['bitflip', (b, r) => {
    const c = new Uint8Array(b);
    for (let k = 1 + int(r, 4); k > 0; k--) {
      const i = int(r, c.length);
      c[i]! ^= 1 << int(r, 8);
    }
    return c;
  }],
  ['byteset', (b, r) => {
    const c = new Uint8Array(b);
    const i = int(r, c.length);
    c[i] = [0, 0xff, 0x7f, 0x80, int(r, 256)][int(r, 5)]!;
    return c;
  }],
  ['truncate', (b, r) => b.slice(0, int(r, b.length))],
  ['u32-header', (b, r) => {
    const c = new Uint8Array(b);
    const off = 4 * int(r, 8);
    if (off + 4 <= c.length) new DataView(c.buffer).setUint32(off, INTERESTING[int(r, INTERESTING.length)]!, r() < 0.5);
    return c;
  }],
  ['u32-anywhere', (b, r) => {
    const c = new Uint8Array(b);
    const off = 4 * int(r, Math.floor(c.length / 4));
    if (off + 4 <= c.length) new DataView(c.buffer).setUint32(off, INTERESTING[int(r, INTERESTING.length)]!, r() < 0.5);
    return c;
  }],
  ['u64-anywhere', (b, r) => {
    const c = new Uint8Array(b);
    const off = 8 * int(r, Math.floor(c.length / 8));
    if (off + 8 <= c.length) new DataView(c.buffer).setBigUint64(off, [0n, 2n ** 64n - 1n, 2n ** 63n, BigInt(int(r, 1 << 30))][int(r, 4)]!, r() < 0.5);
    return c;
  }],
  ['splice', (b, r) => {
    // Copy a chunk of the input over another place (duplicated records / headers).
    const c = new Uint8Array(b);
    const len = 1 + int(r, 32);
    const from = int(r, Math.max(1, c.length - len));
    const to = int(r, Math.max(1, c.length - len));
    c.copyWithin(to, from, from + len);
    return c;
  }],
  ['insert-delete', (b, r) => {
    const i = int(r, b.length);
    const n = 1 + int(r, 8);
    if (r() < 0.5) return Uint8Array.from([...b.subarray(0, i), ...new Uint8Array(n).fill(int(r, 256)), ...b.subarray(i)]);
    return Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + n)]);
  }],
];

/** A type's record with every name offset replaced by its string ('' for offset 0). */
function canon(btf: Btf, id: number): string {
  const rec = Array.from(btf.record(id), (w): number | string => w);
  const kind = btf.kind(id);
  const vlen = btf.vlen(id);
  const nameAt = (i: number) => {
    rec[i] = JSON.stringify(btf.str(rec[i] as number));
  };
  nameAt(0);
  const stride = kind === Kind.STRUCT || kind === Kind.UNION || kind === Kind.ENUM64 ? 3 : kind === Kind.ENUM || kind === Kind.FUNC_PROTO ? 2 : 0;
  if (stride) for (let i = 0; i < vlen; i++) nameAt(3 + i * stride);
  return rec.join(',');
}

/** Exercises a successfully parsed BTF: dump, size resolution, modifiers, and a rewrite. */
function exercise(btf: Btf, validated: boolean): void {
  dumpBtf(btf);
  for (let id = btf.startId; id < btf.typeCount; id++) {
    try {
      btf.resolveSize(id);
      btf.skipModsAndTypedefs(id);
    } catch (e) {
      if (!(e instanceof BtfError)) throw e;
    }
  }
  void btf.ptrSize;
  let standardKinds = true;
  for (let id = 1; id < btf.typeCount && standardKinds; id++) standardKinds = btf.kind(id) >= 1 && btf.kind(id) <= 19;
  if (validated && !btf.base && standardKinds) {
    // Unseeded rewrite: same records, freshly interned strings with the same contents (a
    // non-zero offset of an empty name becomes 0, as libbpf's btf__add_str("") is 0).
    // The builder writes no layout section, so only standard kinds round-trip.
    const b = new BtfBuilder();
    for (let id = 1; id < btf.typeCount; id++) b.addTypeCopy(btf, id);
    const again = parseBtf(b.serialize(24));
    for (let id = 1; id < btf.typeCount; id++) {
      const x = canon(btf, id);
      const y = canon(again, id);
      if (x !== y) throw new Error(`unseeded rewrite changed type [${id}]: ${x} became ${y}`);
    }
  }
}

type Target = (bytes: Uint8Array) => void;

const rawTarget =
  (base?: Btf): Target =>
  (bytes) => {
    for (const noValidate of [false, true]) {
      let btf: Btf;
      try {
        btf = parseBtf(bytes, { base, noValidate });
      } catch (e) {
        if (e instanceof BtfError) continue;
        throw e;
      }
      exercise(btf, !noValidate);
    }
  };

const elfTarget: Target = (bytes) => {
  try {
    parseElf(bytes);
  } catch (e) {
    if (!(e instanceof BtfError)) throw e;
  }
  for (const noValidate of [false, true]) {
    try {
      const l = loadBtf(bytes, { noValidate });
      exercise(l.btf, !noValidate);
    } catch (e) {
      if (!(e instanceof BtfError)) throw e;
    }
  }
};

const extTarget: Target = (bytes) => {
  try {
    parseBtfExt(bytes);
  } catch (e) {
    if (!(e instanceof BtfError)) throw e;
  }
};

function fuzz(name: string, input: Uint8Array, target: Target, n = N): void {
  // The unmutated input must be accepted (otherwise the fuzz only tests the first check).
  target(input);
  const seed = (SEED ^ hash(name)) >>> 0;
  const r = prng(seed);
  for (let i = 0; i < n; i++) {
    const [mname, m] = MUTATORS[int(r, MUTATORS.length)]!;
    let bytes = m(input, r);
    if (r() < 0.2) bytes = MUTATORS[int(r, MUTATORS.length)]![1](bytes, r); // stacked
    const t0 = performance.now();
    try {
      target(bytes);
    } catch (e) {
      throw new Error(
        `fuzz ${name}: case ${i} (${mname}) threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}\n` +
          `  reproduce: BTFGEN_FUZZ_SEED=${SEED} (input seed ${seed}, case ${i})\n${(e as Error)?.stack}`,
      );
    }
    const ms = performance.now() - t0;
    if (ms > CASE_MS) throw new Error(`fuzz ${name}: case ${i} (${mname}) took ${ms.toFixed(0)} ms (seed ${SEED})`);
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

function btfSection(obj: Uint8Array): Uint8Array {
  const elf = parseElf(obj);
  return elf.data(elf.section('.BTF')!);
}
function extSection(obj: Uint8Array): Uint8Array | undefined {
  const elf = parseElf(obj);
  const s = elf.section('.BTF.ext');
  return s ? elf.data(s) : undefined;
}

describe(`fuzz (seed ${SEED}, ${N} cases per input)`, () => {
  const every = everyKind().raw;

  it('synthetic every-kind BTF (LE)', () => fuzz('every-le', every, rawTarget()));
  it('synthetic every-kind BTF (BE)', () => fuzz('every-be', swapBtfEndian(every), rawTarget()));
  it('32-byte header with a layout section', () => {
    const words = Array.from(new Uint32Array(every.buffer, 24, (every.length - 24) >>> 2));
    const { s } = everyKind();
    const typeWords = words.slice(0, (new DataView(every.buffer).getUint32(12, true)) >>> 2);
    const raw = rawBtf({ words: typeWords, strings: s.bytes, hdrLen: 32, layout: layoutSection([[4, 8]]) });
    fuzz('layout', raw, rawTarget());
  });

  const objects = fixtureObjects().filter((p) => {
    try {
      return parseElf(readFileSync(p)).section('.BTF') !== undefined;
    } catch {
      return false;
    }
  });
  const some = objects.filter((_, i) => i % Math.max(1, Math.floor(objects.length / 4)) === 0).slice(0, 4);
  for (const obj of some) {
    const name = obj.slice(obj.lastIndexOf('/') + 1);
    it(`fixture ${name}: whole ELF`, () => fuzz(`elf-${name}`, readFileSync(obj), elfTarget, Math.ceil(N / 2)));
    it(`fixture ${name}: .BTF`, () => fuzz(`btf-${name}`, btfSection(readFileSync(obj)), rawTarget(), Math.ceil(N / 2)));
  }

  describe.skipIf(!HAVE_CLANG)('clang-built object (every kind, LE and BE)', () => {
    for (const target of ['bpfel', 'bpfeb'] as const) {
      it(`${target}: whole ELF`, () => fuzz(`kinds-${target}`, readFileSync(compileBpf('fuzz-kinds', KINDS_SOURCE, target)), elfTarget));
      it(`${target}: .BTF.ext`, () => {
        const ext = extSection(readFileSync(compileBpf('fuzz-kinds', KINDS_SOURCE, target)));
        expect(ext).toBeDefined();
        fuzz(`ext-${target}`, ext!, extTarget, N * 2);
      });
    }
  });

  describe.skipIf(!HAVE_SHARED_DATA)('split BTF', () => {
    it('distilled base', () => fuzz('split-base', readFileSync(SPLIT_BASE), rawTarget()));
    it('module BTF on its base', () => {
      const base = parseBtf(readFileSync(SPLIT_BASE));
      fuzz('split', readFileSync(SPLIT), rawTarget(base), Math.ceil(N / 3));
    });
  });
});
