// The programs of a BPF object as libbpf 1.1 sees them: bpf_object__add_programs() (one
// program per STT_FUNC symbol of an executable section; those of .text are subprograms),
// find_prog_by_sec_insn() (which program a CO-RE record's instruction belongs to) and the
// BPF-to-BPF call targets that bpf_object__reloc_code() resolves (pc-relative calls, and calls
// through a .rel<section> relocation against a function or section symbol).
import { ElfError } from '../errors.js';
import { parseElf, readRels, readSymbols, SHF_EXECINSTR, SHT_PROGBITS, SHT_REL, SHT_SYMTAB, STB_GLOBAL, STB_WEAK, STT_FUNC, STT_SECTION, type ElfFile } from '../btf/elf.js';

export const BPF_INSN_SZ = 8;

/** One program or subprogram. */
export interface BpfProgram {
  /** Symbol name (what libbpf's log calls prog 'X'). */
  readonly name: string;
  /** ELF section name, e.g. `kprobe/do_nanosleep` (without a leading `?`). */
  readonly section: string;
  readonly sectionIndex: number;
  /** First instruction within the section. */
  readonly secInsnOff: number;
  readonly insnCount: number;
  /** In .text: called from programs, never loaded on its own. */
  readonly subprog: boolean;
  /** Global function (verified on its own by the kernel when it is a subprogram). */
  readonly global: boolean;
  /** SEC("?...") programs start with autoload off: libbpf skips their CO-RE relocations. */
  readonly autoload: boolean;
}

/** Where an instruction of a section calls or references (BPF_PSEUDO_FUNC) another function. */
export interface CodeRef {
  readonly sectionIndex: number;
  /** Target instruction index within its section. */
  readonly insn: number;
}

export interface ObjectCode {
  readonly programs: readonly BpfProgram[];
  /** Instructions of each executable section (a copy: callers may patch them). */
  readonly sections: ReadonlyMap<number, Uint8Array>;
  /** Section name -> index, for matching .BTF.ext blocks (libbpf compares names). */
  readonly sectionByName: ReadonlyMap<string, number>;
  /** Per section, per instruction index: where a relocated call/ld_imm64 points. */
  readonly refs: ReadonlyMap<number, ReadonlyMap<number, CodeRef>>;
}

/** find_prog_by_sec_insn(): the program holding instruction `insn` of section `sec`. */
export function programAt(code: ObjectCode, sec: number, insn: number): BpfProgram | undefined {
  for (const p of code.programs) {
    if (p.sectionIndex === sec && insn >= p.secInsnOff && insn < p.secInsnOff + p.insnCount) return p;
  }
  return undefined;
}

/**
 * Reads the programs, instructions and call relocations of a 64-bit little-endian BPF ELF.
 * `elf`: `bytes` already parsed (a prepared object's).
 */
export function readObjectCode(bytes: Uint8Array, elf: ElfFile = parseElf(bytes)): ObjectCode {
  if (elf.bits !== 64 || !elf.littleEndian) throw new ElfError('only 64-bit little-endian BPF objects are supported');
  const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB);
  const syms = readSymbols(elf);
  const sections = new Map<number, Uint8Array>();
  const sectionByName = new Map<string, number>();
  const programs: BpfProgram[] = [];
  const textIdx = elf.sections.find((s) => s.name === '.text')?.index ?? -1;
  for (const s of elf.sections) {
    if (!(s.flags & SHF_EXECINSTR) || s.size === 0 || s.type !== SHT_PROGBITS) continue;
    sections.set(s.index, new Uint8Array(elf.data(s)));
    const secName = s.name.startsWith('?') ? s.name.slice(1) : s.name;
    sectionByName.set(s.name, s.index);
    const funcs = syms
      .filter((y) => y.shndx === s.index && y.type === STT_FUNC)
      .sort((a, b) => a.value - b.value);
    for (const f of funcs) {
      const bind = f.bind;
      programs.push({
        name: f.name,
        section: secName,
        sectionIndex: s.index,
        secInsnOff: Math.floor(f.value / BPF_INSN_SZ),
        insnCount: Math.floor(f.size / BPF_INSN_SZ),
        subprog: s.index === textIdx,
        global: bind === STB_GLOBAL || bind === STB_WEAK,
        autoload: !s.name.startsWith('?'),
      });
    }
  }
  const refs = new Map<number, Map<number, CodeRef>>();
  for (const r of elf.sections) {
    if (r.type !== SHT_REL || r.link !== symtab?.index) continue;
    const target = r.info;
    if (!sections.has(target)) continue;
    const insns = sections.get(target)!;
    const m = new Map<number, CodeRef>();
    for (const { offset: off, symbol } of readRels(elf, r)) {
      const sym = syms[symbol];
      if (!sym || off % BPF_INSN_SZ || off + BPF_INSN_SZ > insns.length) continue;
      const insn = off / BPF_INSN_SZ;
      const code = insns[off]!;
      const src = insns[off + 1]! >> 4;
      const imm = new DataView(insns.buffer, insns.byteOffset + off + 4, 4).getInt32(0, true);
      const isCall = code === 0x85 && src === 1;
      const isFuncRef = code === 0x18 && src === 4;
      if ((!isCall && !isFuncRef) || !sections.has(sym.shndx)) continue;
      // bpf_object__reloc_code(): sub_insn_idx = sym_off / 8 + imm + 1 for calls; for a
      // BPF_PSEUDO_FUNC ld_imm64 against a section symbol the imm is the byte offset.
      let dest: number;
      if (isCall) dest = Math.floor(sym.value / BPF_INSN_SZ) + imm + 1;
      else dest = sym.type === STT_SECTION ? Math.floor((sym.value + imm) / BPF_INSN_SZ) : Math.floor(sym.value / BPF_INSN_SZ);
      m.set(insn, { sectionIndex: sym.shndx, insn: dest });
    }
    refs.set(target, m);
  }
  return { programs, sections, sectionByName, refs };
}
