// Just enough ELF (32/64-bit, either endianness) to find sections by name, the way libbpf's
// btf_parse_elf() walks them with libelf. Every offset is bounds-checked: a section table
// that lies gives an ElfError, never an out-of-range read.
import { Buffer } from 'node:buffer';
import { ElfError } from '../errors.js';
import { lowerBound } from './strings.js';

export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_STRTAB = 3;
export const SHT_NOBITS = 8;
export const SHT_SYMTAB = 2;
export const SHT_REL = 9;
export const SHF_EXECINSTR = 0x4;
export const SHF_COMPRESSED = 0x800;
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;
export const SHN_UNDEF = 0;

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  /** sh_info: for SHT_REL, the index of the section the relocations apply to. */
  info: number;
}

export interface ElfFile {
  bits: 32 | 64;
  littleEndian: boolean;
  machine: number;
  sections: ElfSection[];
  /** The last section with this name (libbpf keeps the last match while walking). */
  section(name: string): ElfSection | undefined;
  /** File bytes of a section (empty for SHT_NOBITS). */
  data(sec: ElfSection): Uint8Array;
}

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/** Largest section count we accept; real objects have a few hundred at most. */
const MAX_SECTIONS = 1 << 20;

export function parseElf(bytes: Uint8Array): ElfFile {
  if (!isElf(bytes)) throw new ElfError('not an ELF file (bad magic)');
  if (bytes.length < 16) throw new ElfError('truncated ELF identification');
  const cls = bytes[4];
  const data = bytes[5];
  if (cls !== 1 && cls !== 2) throw new ElfError(`unknown ELF class ${cls}`);
  if (data !== 1 && data !== 2) throw new ElfError(`unknown ELF data encoding ${data}`);
  // libelf (gelf_getehdr) refuses anything but EV_CURRENT.
  if (bytes[6] !== 1) throw new ElfError(`unsupported ELF version ${bytes[6]}`);
  const bits: 32 | 64 = cls === 2 ? 64 : 32;
  const le = data === 1;
  const ehdrSize = bits === 64 ? 64 : 52;
  if (bytes.length < ehdrSize) throw new ElfError(`truncated ELF header: ${bytes.length} bytes, need ${ehdrSize}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number) => dv.getUint16(o, le);
  const u32 = (o: number) => dv.getUint32(o, le);
  const addr = (o: number): number => {
    if (bits === 32) return u32(o);
    const v = dv.getBigUint64(o, le);
    // Offsets beyond 2^53 cannot be inside any file we could have read.
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  };

  const machine = u16(18);
  const shoff = bits === 64 ? addr(40) : u32(32);
  // e_shentsize is not trusted: libelf reads sizeof(Elf{32,64}_Shdr)-sized entries whatever it
  // says, so bpftool reads files whose e_shentsize is wrong. So do we.
  const shentsize = bits === 64 ? 64 : 40;
  let shnum = u16(bits === 64 ? 60 : 48);
  let shstrndx = u16(bits === 64 ? 62 : 50);
  const minEnt = bits === 64 ? 64 : 40;

  if (shoff === 0) {
    return makeFile(bits, le, machine, bytes, []);
  }
  if (shoff + minEnt > bytes.length) throw new ElfError(`section header table at offset ${shoff} is past the end of the file (${bytes.length} bytes)`);

  const readShdr = (i: number) => {
    const o = shoff + i * shentsize;
    if (o + minEnt > bytes.length) throw new ElfError(`section header ${i} at offset ${o} is past the end of the file`);
    return bits === 64
      ? // sh_flags: the SHF_* bits we test are in the low 32 bits; never clamp it like an offset
        // (a clamped 2^53-1 would read as "every flag set").
        { name: u32(o), type: u32(o + 4), flags: Number(dv.getBigUint64(o + 8, le) & 0xffffffffn), offset: addr(o + 24), size: addr(o + 32), link: u32(o + 40), info: u32(o + 44) }
      : { name: u32(o), type: u32(o + 4), flags: u32(o + 8), offset: u32(o + 16), size: u32(o + 20), link: u32(o + 24), info: u32(o + 28) };
  };

  // Extended numbering: e_shnum == 0 or e_shstrndx == SHN_XINDEX live in section 0.
  if (shnum === 0 || shstrndx === 0xffff) {
    const s0 = readShdr(0);
    if (shnum === 0) shnum = s0.size;
    if (shstrndx === 0xffff) shstrndx = s0.link;
  }
  if (shnum > MAX_SECTIONS) throw new ElfError(`implausible section count ${shnum}`);
  if (shoff + shnum * shentsize > bytes.length)
    throw new ElfError(`section header table (${shnum} x ${shentsize} bytes at ${shoff}) runs past the end of the file`);
  if (shstrndx >= shnum) throw new ElfError(`section name table index ${shstrndx} is out of range (${shnum} sections)`);

  const raw = [];
  for (let i = 0; i < shnum; i++) raw.push(readShdr(i));
  const strtab = raw[shstrndx]!;
  if (strtab.type === SHT_NOBITS || strtab.offset + strtab.size > bytes.length)
    throw new ElfError(`section name table (offset ${strtab.offset}, size ${strtab.size}) is past the end of the file`);
  // libelf's elf_strptr() only reads names from an uncompressed SHT_STRTAB section.
  if (shnum > 1 && strtab.type !== SHT_STRTAB)
    throw new ElfError(`section name table (section ${shstrndx}) has type ${strtab.type}, expected SHT_STRTAB`);
  if (shnum > 1 && strtab.flags & SHF_COMPRESSED)
    throw new ElfError(`section name table (section ${shstrndx}) is compressed (SHF_COMPRESSED), which is not supported`);
  const names = bytes.subarray(strtab.offset, strtab.offset + strtab.size);
  // Decode the name table once; each name is a slice of it (V8 shares the characters), and
  // its end is found by binary search over the NUL positions. Decoding or scanning each name
  // separately costs O(sections x name length): a 4 MB file with 65535 sections all named by
  // one 100 KB string would need gigabytes.
  const table = Buffer.from(names.buffer, names.byteOffset, names.byteLength).toString('latin1');
  const nuls: number[] = [];
  for (let p = names.indexOf(0); p >= 0; p = names.indexOf(0, p + 1)) nuls.push(p);
  const endOf = (off: number): number => {
    const i = lowerBound(nuls, off);
    return i < nuls.length ? nuls[i]! : -1;
  };

  const sections: ElfSection[] = raw.map((s, i) => {
    let name = '';
    // Section 0 (SHN_UNDEF) is never looked up by name (libbpf's walk starts at section 1).
    if (i !== 0) {
      if (s.name >= names.length) throw new ElfError(`section ${i}: name offset ${s.name} is outside the section name table`);
      const end = endOf(s.name);
      if (end < 0) throw new ElfError(`section ${i}: name is not NUL-terminated`);
      name = table.slice(s.name, end);
    }
    return { index: i, name, type: s.type, flags: s.flags, offset: s.offset, size: s.size, link: s.link, info: s.info };
  });
  return makeFile(bits, le, machine, bytes, sections);
}

function makeFile(bits: 32 | 64, le: boolean, machine: number, bytes: Uint8Array, sections: ElfSection[]): ElfFile {
  const byName = new Map<string, ElfSection>();
  for (const s of sections) if (s.name) byName.set(s.name, s);
  return {
    bits,
    littleEndian: le,
    machine,
    sections,
    section: (name) => byName.get(name),
    data(sec) {
      if (sec.type === SHT_NOBITS) return new Uint8Array(0);
      if (sec.offset + sec.size > bytes.length)
        throw new ElfError(`section ${sec.name || sec.index} (offset ${sec.offset}, size ${sec.size}) runs past the end of the file (${bytes.length} bytes)`);
      return bytes.subarray(sec.offset, sec.offset + sec.size);
    },
  };
}

/** An ELF64 symbol (Elf64_Sym), its name read from the symbol table's string table. */
export interface ElfSymbol {
  name: string;
  /** STT_* (st_info & 0xf). */
  type: number;
  /** STB_* (st_info >> 4). */
  bind: number;
  shndx: number;
  value: number;
  size: number;
}

/**
 * The symbols of the (first) SHT_SYMTAB section of an ELF64 file, in table order (relocations
 * name them by index); none without one. Throws ElfError for a name outside its string table,
 * which libbpf refuses too.
 */
export function readSymbols(elf: ElfFile): ElfSymbol[] {
  const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB);
  if (!symtab) return [];
  const strtab = elf.sections[symtab.link];
  if (!strtab) throw new ElfError(`symbol table's string table (section ${symtab.link}) does not exist`);
  const data = elf.data(symtab);
  const strs = elf.data(strtab);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const le = elf.littleEndian;
  const out: ElfSymbol[] = [];
  for (let o = 0; o + 24 <= data.length; o += 24) {
    const nameOff = dv.getUint32(o, le);
    if (nameOff >= strs.length && nameOff !== 0) throw new ElfError(`symbol name offset ${nameOff} is outside the string table`);
    let end = strs.indexOf(0, nameOff);
    if (end < 0) end = strs.length;
    const info = dv.getUint8(o + 4);
    out.push({
      name: Buffer.from(strs.buffer, strs.byteOffset + nameOff, Math.max(0, end - nameOff)).toString('latin1'),
      type: info & 0xf,
      bind: info >> 4,
      shndx: dv.getUint16(o + 6, le),
      value: safe(dv.getBigUint64(o + 8, le)),
      size: safe(dv.getBigUint64(o + 16, le)),
    });
  }
  return out;
}

/** One Elf64_Rel: where (r_offset) and the index of the symbol (r_info >> 32). */
export interface ElfRel {
  offset: number;
  symbol: number;
}

/** The entries of SHT_REL section `rel` of an ELF64 file (`rel.info` is the section they apply to). */
export function readRels(elf: ElfFile, rel: ElfSection): ElfRel[] {
  const data = elf.data(rel);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const le = elf.littleEndian;
  const out: ElfRel[] = [];
  for (let o = 0; o + 16 <= data.length; o += 16) {
    out.push({ offset: safe(dv.getBigUint64(o, le)), symbol: Number(dv.getBigUint64(o + 8, le) >> 32n) });
  }
  return out;
}

/** A 64-bit field as a number, clamped as parseElf() clamps offsets: nothing that large is inside a file we read. */
function safe(v: bigint): number {
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}
