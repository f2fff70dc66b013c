// Round trip: parse + rewrite with BtfBuilder reproduces type and string sections byte for byte.
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Btf } from '../../src/btf/btf.js';
import { parseBtf } from '../../src/btf/btf.js';
import { BtfBuilder } from '../../src/btf/builder.js';
import { dumpBtf } from '../../src/btf/dump.js';
import { swapBtfEndian } from './helpers/bswap.js';
import { listArchiveKernels } from '../helpers/data.js';
import { ARCHIVE_DEMO, ARCHIVE_EXTRA, CILIUM_71, HAVE_SHARED_DATA, HAVE_VMLINUX, HAVE_XZ, NO_SHARED_DATA, SPLIT_BASE, VMLINUX } from '../helpers/env.js';
import { readBytes, untarBtf, xzToTemp } from './helpers/dump.js';

function eq(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Copies every type of `btf` into a builder (seeded with its strings, or not). */
function rewrite(btf: Btf, seed: boolean): BtfBuilder {
  const b = new BtfBuilder(seed ? { strings: btf.stringSectionBytes() } : {});
  for (let id = btf.startId; id < btf.typeCount; id++) b.addTypeCopy(btf, id);
  return b;
}

function expectSeededRoundTrip(raw: Uint8Array, label: string): void {
  const btf = parseBtf(raw);
  const out = rewrite(btf, true).serialize(24);
  const re = parseBtf(out);
  expect(re.header.hdrLen).toBe(24);
  expect(eq(re.typeSectionBytes(), btf.typeSectionBytes()), `${label}: type section differs`).toBe(true);
  expect(eq(re.stringSectionBytes(), btf.stringSectionBytes()), `${label}: string section differs`).toBe(true);
  // A little-endian source with bpftool's own layout (24-byte header, str_off == type_len)
  // comes back identical, header included.
  const h = btf.header;
  if (btf.endian === 'little' && h.hdrLen === 24 && h.typeOff === 0 && h.strOff === h.typeLen) {
    expect(eq(out, raw), `${label}: file differs`).toBe(true);
  }
}

const KERNELS = HAVE_SHARED_DATA
  ? [
      ...listArchiveKernels(join(ARCHIVE_DEMO, 'centos/8/x86_64')).filter((p) => basename(p).startsWith('4.18.0-147.el8')),
      ...listArchiveKernels(join(ARCHIVE_DEMO, 'ubuntu/20.04/x86_64')).slice(0, 1),
      ...listArchiveKernels(join(ARCHIVE_DEMO, 'debian/10/x86_64')).slice(0, 1),
      ...listArchiveKernels(ARCHIVE_EXTRA),
    ]
  : [];
if (!HAVE_SHARED_DATA) console.warn(NO_SHARED_DATA);

describe('seeded round trip (BtfBuilder({strings}) + addTypeCopy for every type)', () => {
  it.skipIf(!HAVE_VMLINUX)('/sys/kernel/btf/vmlinux: the whole file', () => {
    expectSeededRoundTrip(readBytes(VMLINUX), 'vmlinux');
  });

  it.skipIf(!HAVE_VMLINUX)('big-endian vmlinux: sections in host order', () => {
    expectSeededRoundTrip(swapBtfEndian(readBytes(VMLINUX)), 'vmlinux (BE)');
  });

  it.skipIf(!HAVE_SHARED_DATA || !HAVE_XZ)('cilium 7.1 (32-byte header, layout section)', () => {
    expectSeededRoundTrip(readBytes(xzToTemp(CILIUM_71, 'rt-cilium.btf')), 'cilium 7.1');
  });

  it.skipIf(!HAVE_SHARED_DATA)('distilled split base', () => {
    expectSeededRoundTrip(readBytes(SPLIT_BASE), 'btf_testmod.btf.base');
  });

  for (const k of KERNELS) {
    it(basename(k), () => {
      expectSeededRoundTrip(readBytes(untarBtf(k)), basename(k));
    });
  }
});

describe('unseeded round trip on BTF our builder wrote', () => {
  it.skipIf(!HAVE_VMLINUX)('vmlinux rewritten without seeding is a fixed point, with the same dump', () => {
    const src = parseBtf(readBytes(VMLINUX));
    const once = rewrite(src, false).serialize(24);
    const a = parseBtf(once);
    const twice = rewrite(a, false).serialize(24);
    expect(eq(twice, once)).toBe(true);
    // Fresh interning changes string offsets, never what the types say.
    expect(dumpBtf(a) === dumpBtf(src)).toBe(true);
    // 32-byte header variant: same sections, layout fields zero.
    const b32 = parseBtf(rewrite(a, false).serialize(32));
    expect(b32.header.hdrLen).toBe(32);
    expect(b32.header.layoutOff).toBe(0);
    expect(b32.header.layoutLen).toBe(0);
    expect(eq(b32.typeSectionBytes(), a.typeSectionBytes())).toBe(true);
    expect(eq(b32.stringSectionBytes(), a.stringSectionBytes())).toBe(true);
  });

  it('synthetic BTF built with addComposite/addField/addRawRecord', () => {
    const b = new BtfBuilder();
    const int = b.addRawRecord([b.addStr('int'), 1 << 24, 4, (1 << 24) | 32]);
    const s = b.addComposite(4, 'pair', 8);
    b.addField('lo', int, 0, 0);
    b.addField('hi', int, 32, 0);
    const bits = b.addComposite(4, 'bits', 4);
    b.addField('a', int, 0, 3);
    b.addField('', int, 3, 29);
    const u = b.addComposite(5, '', 4);
    b.addField('x', int, 0, 0);
    b.addField('y', s, 0, 0);
    b.addRawRecord([b.addStr('pair_t'), 8 << 24, s]);
    b.addRawRecord([b.addStr('nonascii\xe9\xff'), 7 << 24, 0]);
    const raw = b.serialize(24);
    const btf = parseBtf(raw);
    expect(btf.count).toBe(6);
    expect(btf.kflag(bits)).toBe(true);
    expect(btf.kflag(s)).toBe(false);
    expect(btf.vlen(u)).toBe(2);
    expect(btf.memberBitfieldSize(bits, 1)).toBe(29);
    expect(btf.name(6)).toBe('nonascii\xe9\xff');
    const again = rewrite(btf, false).serialize(24);
    expect(eq(again, raw)).toBe(true);
  });
});
