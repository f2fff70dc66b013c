// Differential tests: our dump vs `bpftool btf dump file FILE` (v7.1, the oracle), byte for byte.
import { existsSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Btf } from '../../src/btf/btf.js';
import { parseBtf } from '../../src/btf/btf.js';
import { dumpBtfBytes } from '../../src/btf/dump.js';
import { loadBtf } from '../../src/btf/object.js';
import { BtfError } from '../../src/errors.js';
import { compileBpf, KINDS_SOURCE } from './helpers/bpf.js';
import { isBigEndianBtf, swapBtfEndian } from './helpers/bswap.js';
import { listArchiveKernels } from '../helpers/data.js';
import { ARCHIVE_DEMO, ARCHIVE_EXTRA, CILIUM_71, HAVE_BPFTOOL, HAVE_CLANG, HAVE_SHARED_DATA, HAVE_VMLINUX, HAVE_XZ, NO_BPFTOOL, NO_SHARED_DATA, REPO_ROOT, SPLIT, SPLIT_BASE, VMLINUX } from '../helpers/env.js';
import { bpftoolDump, bpftoolTry, firstDifference, fixtureObjects, readBytes, tempDir, untarBtf, xzToTemp } from './helpers/dump.js';

if (!HAVE_BPFTOOL) console.warn(NO_BPFTOOL);
if (!HAVE_SHARED_DATA) console.warn(NO_SHARED_DATA);

function load(path: string, base?: Btf): Btf {
  return loadBtf(readBytes(path), { base, name: path }).btf;
}

/** Asserts that our dump of `path` is bpftool's, byte for byte. */
function expectSameDump(path: string, basePath?: string): void {
  const base = basePath ? load(basePath) : undefined;
  const ours = dumpBtfBytes(load(path, base));
  const ref = bpftoolDump(path, basePath);
  const diff = firstDifference(ours, ref);
  expect(diff, `${path}: ${diff}`).toBeUndefined();
}

/** A sample of the demo archive for the default run; BTFGEN_FULL=1 runs dump.full.test.ts. */
const SAMPLE = [
  'centos/8/x86_64/4.18.0-80.el8.x86_64',
  'debian/10/x86_64/4.19.0-17-amd64',
  'debian/10/x86_64/4.19.0-21-rt-amd64',
  'debian/10/x86_64/4.19.0-24-cloud-amd64',
  'debian/10/x86_64/5.10.0-0.deb10.17-amd64',
  'debian/10/x86_64/5.10.0-0.deb10.22-cloud-amd64',
  'ubuntu/20.04/x86_64/5.11.0-1028-gcp',
  'ubuntu/20.04/x86_64/5.4.0-26-generic',
  'ubuntu/20.04/x86_64/5.4.0-60-generic',
  'ubuntu/20.04/x86_64/5.4.0-91-generic',
].map((k) => join(ARCHIVE_DEMO, `${k}.btf.tar.xz`));

const NON_DEDUP = listArchiveKernels(join(ARCHIVE_DEMO, 'centos/8/x86_64')).filter((p) => basename(p).startsWith('4.18.0-147'));

describe.skipIf(!HAVE_BPFTOOL)('dump matches bpftool 7.1', () => {
  it.skipIf(!HAVE_VMLINUX)('/sys/kernel/btf/vmlinux', () => {
    expectSameDump(VMLINUX);
  });

  describe.skipIf(!HAVE_SHARED_DATA || !HAVE_XZ)('shared kernels', () => {
    it('cilium 7.1 amd64 (32-byte header, layout section, DECL_TAG/TYPE_TAG/ENUM64)', () => {
      const path = xzToTemp(CILIUM_71, 'cilium-7.1.btf');
      const btf = load(path);
      // The layout section is really there: str_off != type_len.
      expect(btf.header.hdrLen).toBe(32);
      expect(btf.header.layoutLen).toBeGreaterThan(0);
      expect(btf.header.strOff).not.toBe(btf.header.typeLen);
      // bpftool 7.1 (libbpf 1.1) reads it too: it ignores the extra header fields and the
      // bytes between the type and string sections.
      expectSameDump(path);
    });

    it('split BTF: btf_testmod.btf on btf_testmod.btf.base (-B)', () => {
      expectSameDump(SPLIT, SPLIT_BASE);
      const base = load(SPLIT_BASE);
      const split = load(SPLIT, base);
      expect(split.startId).toBe(base.typeCount);
      expect(split.startStrOff).toBe(base.header.strLen);
    });

    for (const kernel of listArchiveKernels(ARCHIVE_EXTRA)) {
      it(`extra archive: ${basename(kernel)}`, () => {
        expectSameDump(untarBtf(kernel));
      });
    }

    it('the Kylin kernel with an anonymous INT as type [1] is among them', () => {
      const kylin = listArchiveKernels(ARCHIVE_EXTRA).find((p) => p.includes('52.22.v2207.ky10'));
      expect(kylin, 'kylin 4.19.90-52.22.v2207 not found').toBeDefined();
      const btf = load(untarBtf(kylin!));
      expect(btf.kind(1)).toBe(1);
      expect(btf.nameOff(1)).toBe(0);
    });

    for (const kernel of NON_DEDUP) {
      it(`non-deduplicated 44 MB: ${basename(kernel)}`, () => {
        expectSameDump(untarBtf(kernel));
      });
    }

    for (const kernel of SAMPLE.filter((p) => existsSync(p))) {
      it(`demo archive: ${basename(kernel)}`, () => {
        expectSameDump(untarBtf(kernel));
      });
    }
  });

  describe('big-endian BTF', () => {
    const s390 = join(REPO_ROOT, 'test/fixtures/btf/6.12.107+deb13-s390x.btf.xz');
    it.skipIf(!existsSync(s390) || !HAVE_XZ)('a real big-endian kernel (Debian s390x 6.12, test/fixtures/btf)', () => {
      const path = xzToTemp(s390, 's390x.btf');
      expect(load(path).endian).toBe('big');
      expectSameDump(path);
    });

    it.skipIf(!HAVE_VMLINUX)('byte-swapped vmlinux dumps like the little-endian original', () => {
      const le = readBytes(VMLINUX);
      const be = swapBtfEndian(le);
      expect(isBigEndianBtf(be)).toBe(true);
      expect(Buffer.from(swapBtfEndian(be)).equals(Buffer.from(le))).toBe(true);
      const btf = parseBtf(be);
      expect(btf.endian).toBe('big');
      const ours = dumpBtfBytes(btf);
      expect(firstDifference(ours, bpftoolDump(VMLINUX))).toBeUndefined();
      // libbpf 1.1 reads big-endian blobs with a 24-byte header as well.
      const bePath = join(tempDir(), 'vmlinux.be.btf');
      writeFileSync(bePath, be);
      expect(firstDifference(ours, bpftoolDump(bePath))).toBeUndefined();
    });

    it.skipIf(!HAVE_SHARED_DATA || !HAVE_XZ)('byte-swapped split BTF on a byte-swapped base', () => {
      const baseBe = swapBtfEndian(readBytes(SPLIT_BASE));
      const splitBe = swapBtfEndian(readBytes(SPLIT));
      const base = parseBtf(baseBe);
      const ours = dumpBtfBytes(parseBtf(splitBe, { base }));
      expect(firstDifference(ours, bpftoolDump(SPLIT, SPLIT_BASE))).toBeUndefined();
    });

    it.skipIf(!HAVE_SHARED_DATA || !HAVE_XZ)('byte-swapped 32-byte-header BTF: we read it; bpftool 7.1 does not', () => {
      const path = xzToTemp(CILIUM_71, 'cilium-7.1.le.btf');
      const be = swapBtfEndian(readBytes(path));
      const ours = dumpBtfBytes(parseBtf(be));
      expect(firstDifference(ours, bpftoolDump(path))).toBeUndefined();
      // libbpf <= 1.7 demands hdr_len == 24 for a non-native blob ("unsupported btf_header");
      // document what 7.1 does rather than assume it.
      const bePath = join(tempDir(), 'cilium-7.1.be.btf');
      writeFileSync(bePath, be);
      const r = bpftoolTry(bePath);
      if (r.ok) expect(firstDifference(ours, r.stdout)).toBeUndefined();
      else expect(r.stderr).toMatch(/failed to load BTF/);
    });
  });

  describe('differential fuzz: mutated BTF, bpftool 7.1 vs btfgen (names and IDs unchecked, like libbpf 1.1)', () => {
    // Where the two may legitimately disagree (documented in docs/compatibility.md): we read
    // 7-bit kinds and 24-bit vlen (libbpf >= 1.8), refuse header lengths below 24 and check a
    // layout section's placement; libbpf 1.1 masks kind/vlen to 5/16 bits and ignores layout
    // fields. Anything else (above all, different output) fails the test.
    const ALLOWED_OURS_FAIL = [
      /BTF header length \d+ is shorter than 24 bytes/,
      /BTF layout section/,
      /unknown BTF kind (3[2-9]|[4-9]\d|1[0-2]\d)\b/,
      /record runs past the type section|trailing bytes after the last type/,
    ];
    const N_CASES = Number(process.env.BTFGEN_DIFF_FUZZ_N ?? 120);
    const inputs: Array<[string, () => Uint8Array]> = [
      ['split base (distilled)', () => readBytes(SPLIT_BASE)],
      ...fixtureObjects()
        .filter((p) => /reloc_enum64|edge_union|obj_be|c_bits/.test(p))
        .map((p): [string, () => Uint8Array] => [basename(p) + ' .BTF', () => loadBtf(readBytes(p)).elf!.data(loadBtf(readBytes(p)).elf!.section('.BTF')!)]),
    ];
    for (const [label, get] of inputs) {
      it.skipIf(label.startsWith('split') && !HAVE_SHARED_DATA)(label, async () => {
        const src = get();
        let a = 0x9e3779b9 ^ label.length;
        const r = () => {
          a = (a + 0x6d2b79f5) >>> 0;
          let t = a;
          t = Math.imul(t ^ (t >>> 15), t | 1);
          t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
          return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
        };
        const path = join(tempDir(), `dfuzz-${label.replace(/\W/g, '_')}.btf`);
        const tally = { same: 0, bothFail: 0, allowed: 0 };
        for (let i = 0; i < N_CASES; i++) {
          // Let the worker answer vitest's RPC during long runs (BTFGEN_DIFF_FUZZ_N=...).
          if (i % 200 === 199) await new Promise((done) => setImmediate(done));
          const b = new Uint8Array(src);
          const dv = new DataView(b.buffer);
          const m = Math.floor(r() * 4);
          const le = b[0] === 0x9f;
          if (m === 0) b[Math.floor(r() * b.length)]! ^= 1 << Math.floor(r() * 8);
          else if (m === 1) dv.setUint32(4 * Math.floor(r() * Math.floor(b.length / 4)), [0, 1, 0xffffffff, (Math.floor(r() * 20) << 24) >>> 0, Math.floor(r() * 2 ** 32)][Math.floor(r() * 5)]!, le);
          else if (m === 2) dv.setUint32(4 * Math.floor(r() * 6), [0, 8, 16, 24, 32, 0xffffffff, Math.floor(r() * 0x10000)][Math.floor(r() * 7)]!, le);
          else b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
          writeFileSync(path, b);
          const ref = bpftoolTry(path);
          let ours: Uint8Array | undefined;
          let err: Error | undefined;
          try {
            ours = dumpBtfBytes(parseBtf(b, { noValidate: true }));
          } catch (e) {
            if (!(e instanceof BtfError)) throw e;
            err = e;
          }
          const where = `${label}, case ${i}`;
          if (ref.ok && ours) {
            const diff = firstDifference(ours, ref.stdout);
            if (diff) {
              writeFileSync(`${path}.diff-${i}`, b);
              throw new Error(`${where}: output differs (input kept as ${path}.diff-${i})\n${diff}`);
            }
            tally.same++;
          } else if (!ref.ok && err) tally.bothFail++;
          else if (err) {
            expect(ALLOWED_OURS_FAIL.some((re) => re.test(err!.message)), `${where}: bpftool reads it, we fail: ${err.message}`).toBe(true);
            tally.allowed++;
          } else throw new Error(`${where}: we read it, bpftool 7.1 fails: ${ref.stderr.trim()}`);
        }
        expect(tally.same).toBeGreaterThan(N_CASES / 4);
      });
    }
  });

  describe('differential fuzz: mutated ELF headers and section tables, bpftool 7.1 vs btfgen dump', () => {
    // libbpf 1.1 does not check the .BTF section's type or SHF_COMPRESSED (newer libbpf and
    // loadBtf do); everything else must agree: both fail, or both print the same.
    const ALLOWED_OURS_FAIL = [/section \.BTF has type \d+, expected SHT_PROGBITS/, /section \.BTF is compressed/];
    const N_CASES = Number(process.env.BTFGEN_DIFF_FUZZ_N ?? 120);
    for (const obj of fixtureObjects().filter((p) => /\/(c_bits|obj_be|reloc_enum64)\.o$/.test(p))) {
      it(basename(obj), async () => {
        const src = readBytes(obj);
        const le = src[5] === 1;
        const shoff = Number(new DataView(src.buffer, src.byteOffset).getBigUint64(40, le));
        let a = 0x85ebca6b ^ obj.length;
        const r = () => {
          a = (a + 0x6d2b79f5) >>> 0;
          let t = a;
          t = Math.imul(t ^ (t >>> 15), t | 1);
          t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
          return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
        };
        const path = join(tempDir(), `efuzz-${basename(obj)}`);
        let same = 0;
        for (let i = 0; i < N_CASES; i++) {
          if (i % 200 === 199) await new Promise((done) => setImmediate(done));
          const b = new Uint8Array(src);
          const dv = new DataView(b.buffer);
          const [lo, hi] = r() < 0.3 ? [0, 64] : [shoff, b.length];
          const k = lo + Math.floor(r() * (hi - lo));
          const m = Math.floor(r() * 3);
          if (m === 0) b[k]! ^= 1 << Math.floor(r() * 8);
          else if (m === 1) b[k] = Math.floor(r() * 256);
          else if ((k & ~3) + 4 <= b.length) dv.setUint32(k & ~3, [0, 1, 8, 0xffffffff, Math.floor(r() * 0x10000)][Math.floor(r() * 5)]!, le);
          writeFileSync(path, b);
          const ref = bpftoolTry(path);
          let ours: Uint8Array | undefined;
          let err: Error | undefined;
          try {
            ours = dumpBtfBytes(loadBtf(b, { noValidate: true, parseExt: false }).btf);
          } catch (e) {
            if (!(e instanceof BtfError)) throw e;
            err = e;
          }
          const where = `${basename(obj)}, case ${i}`;
          if (ref.ok && ours) {
            const diff = firstDifference(ours, ref.stdout);
            if (diff) throw new Error(`${where}: output differs\n${diff}`);
            same++;
          } else if (ref.ok && err) {
            expect(ALLOWED_OURS_FAIL.some((re) => re.test(err!.message)), `${where}: bpftool reads it, we fail: ${err.message}`).toBe(true);
          } else if (!ref.ok && ours) {
            writeFileSync(`${path}.case-${i}`, b);
            throw new Error(`${where}: we read it (kept as ${path}.case-${i}), bpftool 7.1 fails: ${ref.stderr.trim()}`);
          }
        }
        expect(same).toBeGreaterThan(N_CASES / 4);
      });
    }
  });

  describe('ELF objects', () => {
    const objects = fixtureObjects();
    it('has the committed fixture objects to compare', () => {
      // The objects are committed (test/fixtures/bpf/*.o); none found means a broken checkout.
      expect(objects.length).toBeGreaterThan(10);
    });
    for (const obj of objects) {
      it(`fixture ${obj.slice(obj.indexOf('test/fixtures/'))}`, () => {
        // Objects without .BTF: both tools must fail.
        const r = bpftoolTry(obj);
        if (!r.ok) {
          expect(() => load(obj)).toThrow(/\.BTF/);
          return;
        }
        expectSameDump(obj);
      });
    }

    describe.skipIf(!HAVE_CLANG)('compiled with clang-19 (every kind, non-ASCII names, CO-RE relocations)', () => {
      for (const target of ['bpfel', 'bpfeb'] as const) {
        it(target, () => {
          const obj = compileBpf('kinds', KINDS_SOURCE, target);
          const loaded = loadBtf(readBytes(obj), { name: obj });
          expect(loaded.format).toBe('elf');
          expect(loaded.btf.endian).toBe(target === 'bpfel' ? 'little' : 'big');
          expect(loaded.ext?.coreRelo.sections.length).toBeGreaterThan(0);
          const kinds = new Set<number>();
          for (let id = 1; id < loaded.btf.typeCount; id++) kinds.add(loaded.btf.kind(id));
          // INT..ENUM64 except nothing: every kind 1..19 appears.
          expect([...kinds].sort((a, b) => a - b)).toEqual(Array.from({ length: 19 }, (_, i) => i + 1));
          expectSameDump(obj);
        });
      }
    });
  });
});
