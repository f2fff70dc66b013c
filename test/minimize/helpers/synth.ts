// Synthesized BPF objects for inputs clang does not produce: a tiny ELF writer, a .BTF.ext
// writer and a BTF type builder, so tests can make Rust/Aya-style objects (mangled names,
// named pointers, size-0 DATASECs), legacy objects (a `maps` section, no BTF) and malformed
// CO-RE records (bad access strings, unknown kinds, invalid IDs).
import { BtfBuilder } from '../../../src/btf/builder.js';
import { Kind } from '../../../src/btf/kinds.js';

export interface ElfSectionSpec {
  name: string;
  /** SHT_PROGBITS (1) unless given. */
  type?: number;
  flags?: number;
  data: Uint8Array;
}

/** A relocatable ELF (ET_REL, EM_BPF) with the given sections plus .shstrtab. */
export function buildElf(sections: ElfSectionSpec[], opts: { bits?: 32 | 64; le?: boolean } = {}): Uint8Array {
  const bits = opts.bits ?? 64;
  const le = opts.le ?? true;
  const ehsize = bits === 64 ? 64 : 52;
  const shentsize = bits === 64 ? 64 : 40;
  const all = [...sections, { name: '.shstrtab', type: 3, data: new Uint8Array(0) }];
  // section name table
  const names: number[] = [0];
  const nameOff: number[] = [];
  for (const s of all) {
    nameOff.push(names.length);
    for (const c of s.name) names.push(c.charCodeAt(0));
    names.push(0);
  }
  all[all.length - 1]!.data = Uint8Array.from(names);
  // layout: header, section data (8-aligned), section headers
  let off = ehsize;
  const offsets: number[] = [];
  for (const s of all) {
    off = (off + 7) & ~7;
    offsets.push(off);
    off += s.data.length;
  }
  off = (off + 7) & ~7;
  const shoff = off;
  const shnum = all.length + 1; // + null section
  const total = shoff + shnum * shentsize;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, bits === 64 ? 2 : 1, le ? 1 : 2, 1, 0]);
  const u16 = (o: number, v: number) => dv.setUint16(o, v, le);
  const u32 = (o: number, v: number) => dv.setUint32(o, v, le);
  const uw = (o: number, v: number) => (bits === 64 ? dv.setBigUint64(o, BigInt(v), le) : dv.setUint32(o, v, le));
  u16(16, 1); // ET_REL
  u16(18, 247); // EM_BPF
  u32(20, 1);
  if (bits === 64) {
    uw(40, shoff);
    u16(52, ehsize);
    u16(58, shentsize);
    u16(60, shnum);
    u16(62, shnum - 1);
  } else {
    u32(32, shoff);
    u16(40, ehsize);
    u16(46, shentsize);
    u16(48, shnum);
    u16(50, shnum - 1);
  }
  all.forEach((s, i) => {
    out.set(s.data, offsets[i]!);
    const h = shoff + (i + 1) * shentsize;
    u32(h, nameOff[i]!);
    u32(h + 4, s.type ?? 1);
    if (bits === 64) {
      uw(h + 8, s.flags ?? 0);
      uw(h + 24, offsets[i]!);
      uw(h + 32, s.data.length);
      uw(h + 48, s.type === 3 ? 1 : 4);
    } else {
      u32(h + 8, s.flags ?? 0);
      u32(h + 16, offsets[i]!);
      u32(h + 20, s.data.length);
      u32(h + 32, s.type === 3 ? 1 : 4);
    }
  });
  return out;
}

export interface CoreReloSpec {
  insnOff?: number;
  typeId: number;
  accessStrOff: number;
  kind: number;
}

/**
 * A .BTF.ext with the given CO-RE blocks (sec_name_off -> records). With no CO-RE block, a
 * func_info subsection is written instead (an empty .BTF.ext is invalid).
 */
export function buildBtfExt(blocks: { secNameOff: number; records: CoreReloSpec[] }[], funcInfo?: { secNameOff: number; typeId: number }): Uint8Array {
  const words: number[] = [];
  let fiOff = 0;
  let fiLen = 0;
  if (funcInfo || blocks.length === 0) {
    const fi = funcInfo ?? { secNameOff: blocks[0]?.secNameOff ?? 0, typeId: 0 };
    words.push(8, fi.secNameOff, 1, 0, fi.typeId);
    fiLen = words.length * 4;
  }
  const crOff = words.length * 4;
  if (blocks.length) {
    words.push(16);
    for (const b of blocks) {
      words.push(b.secNameOff, b.records.length);
      for (const r of b.records) words.push(r.insnOff ?? 0, r.typeId, r.accessStrOff, r.kind);
    }
  }
  const crLen = words.length * 4 - crOff;
  const out = new Uint8Array(32 + words.length * 4);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, true);
  dv.setUint8(2, 1);
  dv.setUint32(4, 32, true);
  dv.setUint32(8, fiOff, true);
  dv.setUint32(12, fiLen, true);
  dv.setUint32(16, 0, true);
  dv.setUint32(20, 0, true);
  dv.setUint32(24, crOff, true);
  dv.setUint32(28, crLen, true);
  words.forEach((w, i) => dv.setUint32(32 + i * 4, w >>> 0, true));
  return out;
}

/** A small BTF type builder over BtfBuilder (IDs from 1, in call order). */
export class TypeBuilder {
  readonly b = new BtfBuilder();
  str(s: string): number {
    return this.b.addStr(s);
  }
  int(name: string, size: number, signed = false): number {
    return this.b.addRawRecord([this.str(name), Kind.INT << 24, size, ((signed ? 1 : 0) << 24) | (size * 8)]);
  }
  ptr(type: number, name = ''): number {
    return this.b.addRawRecord([name ? this.str(name) : 0, Kind.PTR << 24, type]);
  }
  typedef(name: string, type: number): number {
    return this.b.addRawRecord([this.str(name), Kind.TYPEDEF << 24, type]);
  }
  fwd(name: string, union = false): number {
    return this.b.addRawRecord([this.str(name), ((Kind.FWD << 24) | (union ? 0x80000000 : 0)) >>> 0, 0]);
  }
  struct(name: string, size: number, members: { name: string; type: number; bitOff: number; bits?: number }[], union = false): number {
    const id = this.b.addComposite(union ? Kind.UNION : Kind.STRUCT, name, size);
    for (const m of members) this.b.addField(m.name, m.type, m.bitOff, m.bits ?? 0);
    return id;
  }
  enumeration(name: string, size: number, values: [string, number][]): number {
    const rec = [name ? this.str(name) : 0, (Kind.ENUM << 24) | values.length, size];
    for (const [n, v] of values) rec.push(this.str(n), v >>> 0);
    return this.b.addRawRecord(rec);
  }
  array(elem: number, index: number, nelems: number): number {
    return this.b.addRawRecord([0, Kind.ARRAY << 24, 0, elem, index, nelems]);
  }
  funcProto(ret: number, params: [string, number][]): number {
    const rec = [0, (Kind.FUNC_PROTO << 24) | params.length, ret];
    for (const [n, t] of params) rec.push(n ? this.str(n) : 0, t);
    return this.b.addRawRecord(rec);
  }
  func(name: string, proto: number, linkage = 1): number {
    return this.b.addRawRecord([this.str(name), (Kind.FUNC << 24) | linkage, proto]);
  }
  variable(name: string, type: number, linkage = 1): number {
    return this.b.addRawRecord([this.str(name), Kind.VAR << 24, type, linkage]);
  }
  datasec(name: string, size: number, vars: [number, number, number][]): number {
    const rec = [this.str(name), (Kind.DATASEC << 24) | vars.length, size];
    for (const v of vars) rec.push(...v);
    return this.b.addRawRecord(rec);
  }
  bytes(): Uint8Array {
    return this.b.serialize(24);
  }
}

/** An object ELF with .BTF and (unless `ext` is null) .BTF.ext, plus a code section. */
export function buildObject(btf: Uint8Array, ext: Uint8Array | null, opts: { bits?: 32 | 64; extra?: ElfSectionSpec[] } = {}): Uint8Array {
  const secs: ElfSectionSpec[] = [
    { name: 'kprobe/synth', flags: 0x6, data: new Uint8Array([0x95, 0, 0, 0, 0, 0, 0, 0]) },
    { name: 'license', flags: 0x3, data: new TextEncoder().encode('GPL\0') },
    ...(opts.extra ?? []),
    { name: '.BTF', data: btf },
  ];
  if (ext) secs.push({ name: '.BTF.ext', data: ext });
  return buildElf(secs, { bits: opts.bits ?? 64 });
}
