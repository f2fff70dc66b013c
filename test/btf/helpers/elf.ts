// Test helper: writes minimal ELF32/ELF64 files (either byte order) with named sections, and
// reports where each header field lives so tests can make the section table lie.

export interface ElfSectionSpec {
  name: string;
  /** SHT_* (default SHT_PROGBITS = 1). */
  type?: number;
  flags?: number;
  data: Uint8Array;
}

export interface ElfSpec {
  bits?: 32 | 64;
  bigEndian?: boolean;
  machine?: number;
  sections: ElfSectionSpec[];
}

export interface BuiltElf {
  bytes: Uint8Array;
  /** File offsets of e_shoff, e_shentsize, e_shnum, e_shstrndx. */
  ehdr: { shoff: number; shentsize: number; shnum: number; shstrndx: number };
  /** File offset of each section header by index (0 = the NULL section). */
  shdr: number[];
  /** Offsets of fields inside a section header. */
  field: { name: number; type: number; flags: number; offset: number; size: number; link: number };
  bits: 32 | 64;
  littleEndian: boolean;
  /** Section index by name (the name table is last). */
  index: Record<string, number>;
}

export function buildElf(spec: ElfSpec): BuiltElf {
  const bits = spec.bits ?? 64;
  const le = !spec.bigEndian;
  const ehsize = bits === 64 ? 64 : 52;
  const shentsize = bits === 64 ? 64 : 40;
  const all: ElfSectionSpec[] = [...spec.sections];
  // Name table.
  const names: number[] = [];
  let strtab = '\0';
  for (const s of all) {
    names.push(strtab.length);
    strtab += s.name + '\0';
  }
  names.push(strtab.length);
  strtab += '.shstrtab\0';
  all.push({ name: '.shstrtab', type: 3, data: Buffer.from(strtab, 'latin1') });

  // Layout: ehdr | section data (8-aligned) | section headers.
  let off = ehsize;
  const offs: number[] = [];
  for (const s of all) {
    off = (off + 7) & ~7;
    offs.push(off);
    off += s.data.length;
  }
  off = (off + 7) & ~7;
  const shoff = off;
  const shnum = all.length + 1;
  const total = shoff + shnum * shentsize;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, bits === 64 ? 2 : 1, le ? 1 : 2, 1], 0);
  dv.setUint16(16, 1, le); // ET_REL
  dv.setUint16(18, spec.machine ?? 247, le); // EM_BPF
  dv.setUint32(20, 1, le);
  const ehdr =
    bits === 64
      ? { shoff: 40, shentsize: 58, shnum: 60, shstrndx: 62 }
      : { shoff: 32, shentsize: 46, shnum: 48, shstrndx: 50 };
  if (bits === 64) dv.setBigUint64(ehdr.shoff, BigInt(shoff), le);
  else dv.setUint32(ehdr.shoff, shoff, le);
  dv.setUint16(bits === 64 ? 52 : 40, ehsize, le);
  dv.setUint16(ehdr.shentsize, shentsize, le);
  dv.setUint16(ehdr.shnum, shnum, le);
  dv.setUint16(ehdr.shstrndx, shnum - 1, le);
  const field =
    bits === 64
      ? { name: 0, type: 4, flags: 8, offset: 24, size: 32, link: 40 }
      : { name: 0, type: 4, flags: 8, offset: 16, size: 20, link: 24 };
  const shdr: number[] = [shoff];
  const index: Record<string, number> = {};
  all.forEach((s, i) => {
    out.set(s.data, offs[i]!);
    const h = shoff + (i + 1) * shentsize;
    shdr.push(h);
    index[s.name] = i + 1;
    dv.setUint32(h + field.name, names[i]!, le);
    dv.setUint32(h + field.type, s.type ?? 1, le);
    if (bits === 64) {
      dv.setBigUint64(h + field.flags, BigInt(s.flags ?? 0), le);
      dv.setBigUint64(h + field.offset, BigInt(offs[i]!), le);
      dv.setBigUint64(h + field.size, BigInt(s.data.length), le);
    } else {
      dv.setUint32(h + field.flags, s.flags ?? 0, le);
      dv.setUint32(h + field.offset, offs[i]!, le);
      dv.setUint32(h + field.size, s.data.length, le);
    }
  });
  return { bytes: out, ehdr, shdr, field, bits, littleEndian: le, index };
}

/** Writes an address-sized field (u32 for ELF32, u64 for ELF64) at `off`. */
export function setAddr(elf: BuiltElf, off: number, value: number | bigint): void {
  const dv = new DataView(elf.bytes.buffer, elf.bytes.byteOffset);
  if (elf.bits === 64) dv.setBigUint64(off, BigInt(value), elf.littleEndian);
  else dv.setUint32(off, Number(value) >>> 0, elf.littleEndian);
}
export function setU16(elf: BuiltElf, off: number, value: number): void {
  new DataView(elf.bytes.buffer, elf.bytes.byteOffset).setUint16(off, value, elf.littleEndian);
}
export function setU32(elf: BuiltElf, off: number, value: number): void {
  new DataView(elf.bytes.buffer, elf.bytes.byteOffset).setUint32(off, value >>> 0, elf.littleEndian);
}

/** A minimal .BTF.ext (header 32 bytes) with one func_info record, in the given byte order. */
export function btfExt(bigEndian = false, opts: { funcRecSize?: number; funcNum?: number; coreNum?: number } = {}): Uint8Array {
  const le = !bigEndian;
  const funcRec = opts.funcRecSize ?? 8;
  const funcNum = opts.funcNum ?? 1;
  const coreNum = opts.coreNum ?? 1;
  const funcLen = 4 + 8 + funcRec * funcNum;
  const coreLen = 4 + 8 + 16 * coreNum;
  const out = new Uint8Array(32 + funcLen + coreLen);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, le);
  out[2] = 1;
  dv.setUint32(4, 32, le);
  dv.setUint32(8, 0, le); // func_info_off
  dv.setUint32(12, funcLen, le);
  dv.setUint32(16, funcLen, le); // line_info_off
  dv.setUint32(20, 0, le);
  dv.setUint32(24, funcLen, le); // core_relo_off
  dv.setUint32(28, coreLen, le);
  let p = 32;
  dv.setUint32(p, funcRec, le);
  dv.setUint32(p + 4, 1, le); // sec_name_off
  dv.setUint32(p + 8, funcNum, le);
  p += 12;
  for (let i = 0; i < funcNum; i++, p += funcRec) {
    dv.setUint32(p, i * 8, le);
    dv.setUint32(p + 4, 1, le);
  }
  dv.setUint32(p, 16, le);
  dv.setUint32(p + 4, 1, le);
  dv.setUint32(p + 8, coreNum, le);
  p += 12;
  for (let i = 0; i < coreNum; i++, p += 16) {
    dv.setUint32(p, 8, le);
    dv.setUint32(p + 4, 1, le);
    dv.setUint32(p + 8, 1, le);
    dv.setUint32(p + 12, 0, le);
  }
  return out;
}
