// What a BPF object asks of the kernel, per program: its section (so its program type and
// attach target, see sections.ts), the helpers it calls, and the maps it uses with their types.
// Programs are found as libbpf's bpf_object__add_programs() finds them (STT_FUNC symbols of
// executable sections other than .text); subprograms (.text, or same-section static
// functions) reached by BPF-to-BPF calls or callback references count for the program that
// reaches them, as libbpf appends them to it (bpf_object__reloc_code()). The object's typed
// ksyms and kfuncs (SEC(".ksyms") externs) make libbpf need the running kernel's BTF for the
// whole object (obj_needs_vmlinux_btf()).
import type { Btf } from '../../btf/btf.js';
import { Kind } from '../../btf/kinds.js';
import { loadBtf, MissingSectionError } from '../../btf/object.js';
import { parseElf, readRels, readSymbols, SHF_EXECINSTR, SHN_UNDEF, SHT_PROGBITS, SHT_REL, STB_GLOBAL, STB_WEAK, STT_FUNC, STT_NOTYPE, STT_OBJECT, type ElfFile, type ElfSection, type ElfSymbol } from '../../btf/elf.js';
import { BtfError, ElfError } from '../../errors.js';
import { attachTarget, findSecDef, type AttachTarget, type SecDef } from './sections.js';

/** BTF_VAR_GLOBAL_EXTERN / BTF_FUNC_EXTERN: the linkage of an extern's VAR or FUNC. */
const LINKAGE_EXTERN = 2;

const BPF_JMP_CALL = 0x85; // BPF_JMP | BPF_CALL
const BPF_LD_IMM64 = 0x18; // BPF_LD | BPF_IMM | BPF_DW
const BPF_PSEUDO_CALL = 1; // call of a BPF subprogram (src_reg)
const BPF_PSEUDO_FUNC = 4; // ld_imm64 of a subprogram's address (callbacks)
/** Instructions are 8 bytes (struct bpf_insn). */
const INSN = 8;

export interface MapFacts {
  name: string;
  /** enum bpf_map_type value; undefined when the definition does not set one. */
  type: number | undefined;
  /** `.maps`: BTF-defined (__uint(type, N)); `maps`: legacy struct bpf_map_def. */
  source: '.maps' | 'maps';
  /**
   * Map-in-map: the type of the inner map definition (`__array(values, struct inner)`), which
   * libbpf creates too. Absent for other maps.
   */
  innerType?: number | undefined;
}

export interface ProgramFacts {
  /** The program's symbol name (what libbpf calls it: prog 'name'). */
  name: string;
  /** Its ELF section ("kprobe/do_sys_open"), as written (with a leading '?' if any). */
  section: string;
  /** false for SEC("?...") programs: libbpf does not load them unless asked. */
  autoload: boolean;
  /** libbpf 1.1's section definition, undefined when libbpf does not recognise the section. */
  secDef: SecDef | undefined;
  /** The attach target the section names, when it names one. */
  target: AttachTarget | undefined;
  /** Helper ids called (BPF_CALL with src_reg 0), ascending, including reached subprograms. */
  helpers: number[];
  /** Maps referenced (ld_imm64 relocations against map symbols), by name. */
  maps: MapFacts[];
  /**
   * The object's typed ksyms and kfuncs, by name (the same for every program of the object):
   * libbpf resolves every extern of the object at load, whatever program uses it.
   */
  typedKsyms: string[];
}

export interface ObjectFacts {
  programs: ProgramFacts[];
  /** Every map the object defines. */
  maps: MapFacts[];
}

type Sym = ElfSymbol;

interface Rel {
  /** Instruction index in the section. */
  insn: number;
  sym: Sym;
}

/**
 * Reads the facts of every program of a BPF object (ELF bytes). Throws ElfError on bad ELF.
 * `parsed`: its ELF and .BTF already parsed (a prepared object's), not parsed again here.
 */
export function readObjectFacts(bytes: Uint8Array, name = 'object', parsed?: { elf: ElfFile; btf: Btf }): ObjectFacts {
  try {
    return read(bytes, parsed);
  } catch (e) {
    if (e instanceof BtfError) throw e.withFile(name);
    throw e;
  }
}

function read(bytes: Uint8Array, parsed: { elf: ElfFile; btf: Btf } | undefined): ObjectFacts {
  const elf = parsed?.elf ?? parseElf(bytes);
  if (elf.bits !== 64) throw new ElfError('not a 64-bit ELF: BPF objects are ELF64');
  const le = elf.littleEndian;
  const syms = readSymbols(elf);
  const rels = readRelocations(elf, syms);
  const btf = parsed ? parsed.btf : readBtf(bytes);
  const maps = readMaps(elf, syms, btf);
  const typedKsyms = readTypedKsyms(syms, btf);
  const mapBySym = new Map<string, MapFacts>();
  for (const m of maps) mapBySym.set(`${m.source}\0${m.name}`, m);

  const sections = elf.sections;
  const text = elf.section('.text');
  // Functions of every executable section, by start instruction (for subprogram calls).
  const funcsBySec = new Map<number, Sym[]>();
  for (const s of syms) {
    if (s.type !== STT_FUNC) continue;
    const sec = sections[s.shndx];
    if (!sec || !isExec(sec)) continue;
    const list = funcsBySec.get(s.shndx) ?? [];
    list.push(s);
    funcsBySec.set(s.shndx, list);
  }
  for (const list of funcsBySec.values()) list.sort((a, b) => a.value - b.value);

  const insnsOf = new Map<number, DataView>();
  const insns = (shndx: number): DataView => {
    let v = insnsOf.get(shndx);
    if (!v) {
      const d = elf.data(sections[shndx]!);
      v = new DataView(d.buffer, d.byteOffset, d.byteLength);
      insnsOf.set(shndx, v);
    }
    return v;
  };
  // ld_imm64 of a function's address (a callback: bpf_loop, bpf_for_each_map_elem...): clang
  // leaves src_reg 0 and a relocation against the code section; libbpf turns it into
  // BPF_PSEUDO_FUNC (RELO_SUBPROG_ADDR).
  const isCodeRef = (rel: Rel | undefined, src: number): boolean => {
    if (src === BPF_PSEUDO_FUNC) return true;
    const sec = rel ? sections[rel.sym.shndx] : undefined;
    return !!sec && isExec(sec);
  };
  const funcAt = (shndx: number, insn: number): Sym | undefined =>
    funcsBySec.get(shndx)?.find((f) => f.value === insn * INSN);

  const programs: ProgramFacts[] = [];
  // prog_is_subprog() in libbpf 1.1: a .text function is a subprogram unless it is the
  // object's only function (nr_programs > 1).
  const nrPrograms = [...funcsBySec.values()].reduce((n, l) => n + l.length, 0);
  for (const [shndx, funcs] of funcsBySec) {
    if (text && shndx === text.index && nrPrograms > 1) continue;
    const section = sections[shndx]!.name;
    for (const f of funcs) {
      const helpers = new Set<number>();
      const used = new Map<string, MapFacts>();
      // Walk the program and every subprogram it reaches (worklist of functions).
      const seen = new Set<string>();
      const work: [number, Sym][] = [[shndx, f]];
      while (work.length) {
        const [sec, fn] = work.pop()!;
        const key = `${sec}:${fn.value}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const view = insns(sec);
        const relOf = rels.get(sec);
        const first = Math.ceil(fn.value / INSN);
        const end = Math.min(Math.floor((fn.value + fn.size) / INSN), Math.floor(view.byteLength / INSN));
        for (let i = first; i < end; i++) {
          const o = i * INSN;
          const code = view.getUint8(o);
          const regs = view.getUint8(o + 1);
          const src = le ? regs >> 4 : regs & 0xf;
          const imm = view.getInt32(o + 4, le);
          const rel = relOf?.get(i);
          if (code === BPF_JMP_CALL && src === 0) helpers.add(imm);
          else if ((code === BPF_JMP_CALL && src === BPF_PSEUDO_CALL) || (code === BPF_LD_IMM64 && isCodeRef(rel, src))) {
            // bpf_object__reloc_code(): a relocated call targets sym_off / 8 + imm + 1 (imm / 8
            // for a callback address); an unrelocated one is relative to this instruction.
            let tsec = sec;
            let target: number;
            if (rel) {
              tsec = rel.sym.shndx;
              const base = rel.sym.value; // section symbol (0) or the function's own symbol
              target = code === BPF_JMP_CALL ? base / INSN + imm + 1 : (base + imm) / INSN;
            } else target = code === BPF_JMP_CALL ? i + imm + 1 : i + imm / INSN;
            const callee = funcAt(tsec, target);
            if (callee) work.push([tsec, callee]);
          } else if (code === BPF_LD_IMM64 && rel) {
            const secName = sections[rel.sym.shndx]?.name;
            if (secName === '.maps' || secName === 'maps') {
              const m = mapBySym.get(`${secName}\0${rel.sym.name}`);
              if (m) used.set(m.name, m);
            }
          }
          if (code === BPF_LD_IMM64) i++; // the second half of a 16-byte instruction
        }
      }
      // bpf_object__init_prog(): SEC("?abc") is SEC("abc") with autoload off.
      const autoload = !section.startsWith('?');
      const sec = autoload ? section : section.slice(1);
      const secDef = findSecDef(sec);
      programs.push({
        name: f.name,
        section,
        autoload,
        secDef,
        target: attachTarget(sec, secDef),
        helpers: [...helpers].sort((a, b) => a - b),
        maps: [...used.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
        typedKsyms,
      });
    }
  }
  programs.sort((a, b) => (a.section === b.section ? cmp(a.name, b.name) : cmp(a.section, b.section)));
  return { programs, maps };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function isExec(s: ElfSection): boolean {
  return s.type === SHT_PROGBITS && (s.flags & SHF_EXECINSTR) !== 0 && s.size > 0;
}

function readBtf(bytes: Uint8Array): Btf | undefined {
  try {
    return loadBtf(bytes, { noValidate: true, parseExt: false }).btf;
  } catch (e) {
    if (e instanceof MissingSectionError) return undefined; // no BTF: legacy maps only
    throw e;
  }
}

/** Relocations of each executable section: section index -> instruction index -> relocation. */
function readRelocations(elf: ElfFile, syms: Sym[]): Map<number, Map<number, Rel>> {
  const out = new Map<number, Map<number, Rel>>();
  for (const s of elf.sections) {
    if (s.type !== SHT_REL) continue;
    const target = elf.sections[s.info];
    if (!target || !isExec(target)) continue;
    const map = out.get(target.index) ?? new Map<number, Rel>();
    for (const r of readRels(elf, s)) {
      const sym = syms[r.symbol];
      if (!sym) throw new ElfError(`relocation in ${s.name} names symbol ${r.symbol}, past the symbol table`);
      map.set(r.offset / INSN, { insn: r.offset / INSN, sym });
    }
    out.set(target.index, map);
  }
  return out;
}

/**
 * The names of the object's typed ksyms, as libbpf 1.1's bpf_object__collect_externs() finds
 * them: an extern symbol (sym_is_extern(): undefined, global or weak, STT_NOTYPE) whose BTF VAR
 * or FUNC (extern linkage) sits in the DATASEC ".ksyms" and is a kfunc, or a variable whose type,
 * modifiers and typedefs skipped, is not void (ext->ksym.type_id != 0). Weak ones count too:
 * obj_needs_vmlinux_btf() asks only whether the type is known.
 */
function readTypedKsyms(syms: Sym[], btf: Btf | undefined): string[] {
  if (!btf) return [];
  const externs = new Set<string>();
  for (const s of syms) {
    if (s.shndx === SHN_UNDEF && (s.bind === STB_GLOBAL || s.bind === STB_WEAK) && s.type === STT_NOTYPE && s.name) externs.add(s.name);
  }
  if (externs.size === 0) return [];
  const typed = new Set<string>();
  for (let id = 1; id < btf.typeCount; id++) {
    if (btf.kind(id) !== Kind.DATASEC || btf.name(id) !== '.ksyms') continue;
    for (let i = 0; i < btf.vlen(id); i++) {
      const t = btf.datasecVarType(id, i);
      const name = btf.name(t);
      if (!externs.has(name)) continue;
      const kind = btf.kind(t);
      if (kind === Kind.FUNC && btf.vlen(t) === LINKAGE_EXTERN) typed.add(name);
      else if (kind === Kind.VAR && btf.varLinkage(t) === LINKAGE_EXTERN && btf.skipModsAndTypedefs(btf.type(t)) !== 0) typed.add(name);
    }
  }
  return [...typed].sort(cmp);
}

function readMaps(elf: ElfFile, syms: Sym[], btf: Btf | undefined): MapFacts[] {
  const maps: MapFacts[] = [];
  // Legacy SEC("maps"): struct bpf_map_def per symbol; its first u32 is the map type.
  const legacy = elf.section('maps');
  if (legacy) {
    const data = elf.data(legacy);
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (const s of syms) {
      if (s.shndx !== legacy.index || (s.type !== STT_OBJECT && s.type !== 0) || !s.name) continue;
      const type = s.value + 4 <= data.length ? dv.getUint32(s.value, elf.littleEndian) : undefined;
      maps.push({ name: s.name, type, source: 'maps' });
    }
  }
  // BTF-defined SEC(".maps"): the DATASEC's VARs; __uint(type, N) is a pointer to int[N].
  if (btf && elf.section('.maps')) {
    for (let id = 1; id < btf.typeCount; id++) {
      if (btf.kind(id) !== Kind.DATASEC || btf.name(id) !== '.maps') continue;
      for (let i = 0; i < btf.vlen(id); i++) {
        const v = btf.datasecVarType(id, i);
        if (btf.kind(v) !== Kind.VAR) continue;
        const def = btf.type(v);
        const m: MapFacts = { name: btf.name(v), type: btfMapType(btf, def), source: '.maps' };
        const inner = innerDef(btf, def);
        if (inner !== undefined) m.innerType = btfMapType(btf, inner);
        maps.push(m);
      }
    }
  }
  return maps;
}

/** A map definition's member `name` (parse_btf_map_def() walks them), modifiers and typedefs skipped. */
function defMember(btf: Btf, id: number, name: string): number | undefined {
  const st = btf.skipModsAndTypedefs(id);
  if (btf.kind(st) !== Kind.STRUCT) return undefined;
  for (let m = 0; m < btf.vlen(st); m++) {
    if (btf.memberName(st, m) === name) return btf.skipModsAndTypedefs(btf.memberType(st, m));
  }
  return undefined;
}

/** parse_btf_map_def(): the `type` member, `int (*type)[N]` as __uint(type, N) writes it. */
function btfMapType(btf: Btf, id: number): number | undefined {
  const ptr = defMember(btf, id, 'type');
  if (ptr === undefined || btf.kind(ptr) !== Kind.PTR) return undefined;
  const arr = btf.skipModsAndTypedefs(btf.type(ptr));
  return btf.kind(arr) === Kind.ARRAY ? btf.arrayNelems(arr) : undefined;
}

/**
 * parse_btf_map_def()'s `values` member of a map-in-map: an array of pointers to the inner
 * map's definition struct. Undefined for other maps (prog arrays point to FUNC_PROTOs).
 */
function innerDef(btf: Btf, id: number): number | undefined {
  const arr = defMember(btf, id, 'values');
  if (arr === undefined || btf.kind(arr) !== Kind.ARRAY) return undefined;
  const ptr = btf.skipModsAndTypedefs(btf.arrayElem(arr));
  if (btf.kind(ptr) !== Kind.PTR) return undefined;
  const def = btf.skipModsAndTypedefs(btf.type(ptr));
  return btf.kind(def) === Kind.STRUCT ? def : undefined;
}
