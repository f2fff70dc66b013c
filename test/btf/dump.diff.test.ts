// Differential tests: our dump vs `bpftool btf dump file FILE` (v7.1, the oracle), byte for byte.
import { existsSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Btf } from '../../src/btf/btf.js';
import { parseBtf } from '../../src/btf/btf.js';
import { dumpBtfBytes } from '../../src/btf/dump.js';
import { loadBtf } from '../../src/btf/object.js';
import { compileBpf, KINDS_SOURCE } from './helpers/bpf.js';
import { isBigEndianBtf, swapBtfEndian } from './helpers/bswap.js';
import {
  ARCHIVE,
  ARCHIVE_EXTRA,
  archiveKernels,
  bpftoolDump,
  bpftoolTry,
  CILIUM_71,
  firstDifference,
  fixtureObjects,
  HAVE_BPFTOOL,
  HAVE_CLANG,
  HAVE_DATA,
  HAVE_VMLINUX,
  HAVE_XZ,
  NO_BPFTOOL,
  NO_DATA,
  readBytes,
  REPO,
  SPLIT,
  SPLIT_BASE,
  tempDir,
  untarBtf,
  VMLINUX,
  xzToTemp,
} from './helpers/data.js';

if (!HAVE_BPFTOOL) console.warn(NO_BPFTOOL);
if (!HAVE_DATA) console.warn(NO_DATA);

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
].map((k) => join(ARCHIVE, `${k}.btf.tar.xz`));

const NON_DEDUP = archiveKernels(join(ARCHIVE, 'centos/8/x86_64')).filter((p) => basename(p).startsWith('4.18.0-147'));

describe.skipIf(!HAVE_BPFTOOL)('dump matches bpftool 7.1', () => {
  it.skipIf(!HAVE_VMLINUX)('/sys/kernel/btf/vmlinux', () => {
    expectSameDump(VMLINUX);
  });

  describe.skipIf(!HAVE_DATA || !HAVE_XZ)('shared kernels', () => {
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

    for (const kernel of archiveKernels(ARCHIVE_EXTRA)) {
      it(`extra archive: ${basename(kernel)}`, () => {
        expectSameDump(untarBtf(kernel));
      });
    }

    it('the Kylin kernel with an anonymous INT as type [1] is among them', () => {
      const kylin = archiveKernels(ARCHIVE_EXTRA).find((p) => p.includes('52.22.v2207.ky10'));
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
    const s390 = join(REPO, 'test/fixtures/btf/6.12.107+deb13-s390x.btf.xz');
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

    it.skipIf(!HAVE_DATA || !HAVE_XZ)('byte-swapped split BTF on a byte-swapped base', () => {
      const baseBe = swapBtfEndian(readBytes(SPLIT_BASE));
      const splitBe = swapBtfEndian(readBytes(SPLIT));
      const base = parseBtf(baseBe);
      const ours = dumpBtfBytes(parseBtf(splitBe, { base }));
      expect(firstDifference(ours, bpftoolDump(SPLIT, SPLIT_BASE))).toBeUndefined();
    });

    it.skipIf(!HAVE_DATA || !HAVE_XZ)('byte-swapped 32-byte-header BTF: we read it; bpftool 7.1 does not', () => {
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

  describe('ELF objects', () => {
    const objects = fixtureObjects();
    it.skipIf(objects.length > 0)('no fixture objects under test/fixtures/bpf yet (run the fixtures script)', () => {});
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
