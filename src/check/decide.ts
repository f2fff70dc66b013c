// What libbpf 1.1 decides for every CO-RE relocation of an object against one kernel's full
// BTF: bpf_object__relocate_core() (libbpf.c) record by record, in .BTF.ext order, with its
// per-object candidate cache (pruned in place by bpf_core_calc_relo_insn()), then
// bpf_core_patch_insn() (relo_core.c) on a copy of the instructions. The CO-RE engine itself
// (candidates, spec matching, values) is src/minimize's.
import { ReloKind, EINVAL, kindStr } from '../btf/kinds.js';
import { BtfError } from '../errors.js';
import type { PreparedObject, PreparedRelo, PreparedTarget } from '../minimize/index.js';
import { prepareObject } from '../minimize/index.js';
import { calcReloInsn, reloKindName, u64, type ReloResult } from '../minimize/relo.js';
import { CoreSpec } from '../minimize/spec.js';
import { BPF_INSN_SZ, programAt, readObjectCode, type ObjectCode } from './programs.js';

export type Verdict = 'ok' | 'poison' | 'error';

/** One relocation's outcome on one kernel. */
export interface Decision {
  readonly verdict: Verdict;
  /**
   * `ok`: the value libbpf patches in (bpf_core_relo_res.new_val): byte offset, byte size,
   * existence 0/1, signedness 0/1, shift, target type ID, type existence/match 0/1, type size,
   * enumerator value or existence. A decimal string when above 2^53.
   */
  readonly value?: number | string;
  /** `ok` byte_off whose load/store size libbpf changes (mem_sz orig -> new): the new size. */
  readonly memSize?: number;
  /** libbpf's warning for `error`, and for the `poison` of a wrong-size field access. */
  readonly message?: string;
}

/** A CO-RE record with what does not depend on the kernel. */
export interface CheckRelo {
  /** Index in PreparedObject.relos. */
  readonly at: number;
  /** libbpf's prog name: the (sub)program holding the instruction ('' when none does). */
  readonly program: string;
  /** ELF section (the .BTF.ext block's name). */
  readonly section: string;
  /** `relo #N`: index within the section's CO-RE block. */
  readonly index: number;
  /** Instruction index within its program (libbpf's `insn #I`), -1 when unknown. */
  readonly insn: number;
  /** Instruction index within the ELF section. */
  readonly secInsn: number;
  readonly sectionIndex: number;
  readonly kind: string;
  /** Local root type as `struct task_struct`. */
  readonly type: string;
  readonly access: string;
  /** C-like path: `task_struct->real_parent`, `enum pid_type::PIDTYPE_TGID`. */
  readonly path: string;
  /**
   * Why libbpf never relocates this record (then it has no decisions): `eliminated` (its
   * instruction belongs to no program: a dropped __weak duplicate), `no-autoload` (SEC("?...")).
   */
  readonly skipped?: 'eliminated' | 'no-autoload';
  /** bpf_object__relocate_core() fails before resolving it (misaligned or out-of-range insn). */
  readonly badInsn?: string;
}

export interface CheckObject {
  readonly file: string;
  readonly prepared: PreparedObject;
  readonly code: ObjectCode;
  readonly relos: readonly CheckRelo[];
}

/**
 * Reads an object once for any number of kernels. Throws ObjectError/ElfError on bad input.
 * `prepared`: the object already parsed by prepareObject() (its ELF is read again by no one).
 */
export function prepareCheckObject(bytes: Uint8Array, file: string, prepared: PreparedObject = prepareObject(bytes, file)): CheckObject {
  let code: ObjectCode;
  try {
    code = readObjectCode(bytes, prepared.elf);
  } catch (e) {
    if (e instanceof BtfError) throw e.withFile(file);
    throw e;
  }
  const relos: CheckRelo[] = prepared.relos.map((r, at) => describe(code, r, at));
  return { file, prepared, code, relos };
}

function describe(code: ObjectCode, r: PreparedRelo, at: number): CheckRelo {
  const sectionIndex = code.sectionByName.get(r.section) ?? -1;
  const secInsn = r.insnOff / BPF_INSN_SZ;
  const base = {
    at,
    section: r.section.startsWith('?') ? r.section.slice(1) : r.section,
    index: r.index,
    sectionIndex,
    secInsn,
    kind: reloKindName(r.kind),
    type: typeLabel(r),
    access: r.accessString ?? '<?>',
    path: cPath(r),
  };
  if (r.insnOff % BPF_INSN_SZ) return { ...base, program: '', insn: -1, badInsn: `insn offset ${r.insnOff} is not a multiple of 8` };
  const prog = sectionIndex >= 0 ? programAt(code, sectionIndex, secInsn) : undefined;
  if (!prog) return { ...base, program: '', insn: -1, skipped: 'eliminated' };
  const insn = secInsn - prog.secInsnOff;
  return {
    ...base,
    program: prog.name,
    insn,
    ...(prog.autoload ? {} : { skipped: 'no-autoload' as const }),
  };
}

function typeLabel(r: PreparedRelo): string {
  if (r.localKind < 0) return `[${r.typeId}]`;
  const name = r.typeName === null ? '<?>' : r.typeName === '' ? '<anon>' : r.typeName;
  return `${kindStr(r.localKind)} ${name}`;
}

/** A C-like view of the access: `task_struct->real_parent.pid`, `s[2].a`, `enum e::V`. */
export function cPath(r: PreparedRelo): string {
  const root = r.typeName ? r.typeName : r.typeName === '' ? '<anon>' : `[${r.typeId}]`;
  const spec = r.localSpec;
  if (!spec) return `${root} (${r.accessString ?? '?'})`;
  if (r.kind === ReloKind.TYPE_ID_LOCAL || r.kind === ReloKind.TYPE_ID_TARGET || r.kind === ReloKind.TYPE_EXISTS ||
      r.kind === ReloKind.TYPE_SIZE || r.kind === ReloKind.TYPE_MATCHES) {
    return `${kindStr(r.localKind)} ${root}`;
  }
  if (r.kind === ReloKind.ENUMVAL_EXISTS || r.kind === ReloKind.ENUMVAL_VALUE) {
    return `enum ${root}::${spec.accName[0] ?? '?'}`;
  }
  let out = root;
  let deref = false;
  for (let i = 0; i < spec.len; i++) {
    const name = spec.accName[i];
    if (i === 0) {
      if (spec.accIdx[0] === 0) deref = true;
      else out += `[${spec.accIdx[0]}]`;
      continue;
    }
    if (name === null || name === undefined) out += `[${spec.accIdx[i]}]`;
    else {
      out += deref ? `->${name}` : `.${name}`;
      deref = false;
    }
  }
  // bitfield-free whole-struct access (access string "0"): the root itself
  return out;
}

/** The outcome of one object against one kernel. */
export interface ObjectDecisions {
  /** Per CheckRelo (same order); undefined for skipped records. */
  readonly decisions: readonly (Decision | undefined)[];
  /** The patched instructions of each executable section (poisoned instructions included). */
  readonly insns: ReadonlyMap<number, Uint8Array>;
  /** Index (into relos) of the first error: where libbpf stops loading the object. */
  readonly firstError: number;
}

const BPF_CORE_POISON_IMM = 195896080; // 0xbad2310, bpf_core_poison_insn()
const SHRT_MAX = 32767;

function valueOf(v: number | bigint): number | string {
  const b = u64(v);
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString();
}

/** bpf_object__relocate_core() for one kernel. Never throws for relocation failures. */
export function decideObject(obj: CheckObject, target: PreparedTarget): ObjectDecisions {
  const tbtf = target.btf;
  const prepared = obj.prepared;
  target.index.ensure(prepared.roots);
  const insns = new Map<number, Uint8Array>();
  for (const [k, v] of obj.code.sections) insns.set(k, new Uint8Array(v));
  const cache = new Map<number, number[]>();
  const scratch = { cand: new CoreSpec(tbtf), targ: new CoreSpec(tbtf) };
  const decisions: (Decision | undefined)[] = [];
  let firstError = -1;
  for (let i = 0; i < obj.relos.length; i++) {
    const c = obj.relos[i]!;
    if (c.skipped) {
      decisions.push(undefined);
      continue;
    }
    const d = decideOne(obj, c, prepared.relos[c.at]!, cache, target, scratch, insns);
    if (d.verdict === 'error' && firstError < 0) firstError = i;
    decisions.push(d);
  }
  return { decisions, insns, firstError };
}

function err(message: string): Decision {
  return { verdict: 'error', message };
}

function decideOne(
  obj: CheckObject,
  c: CheckRelo,
  r: PreparedRelo,
  cache: Map<number, number[]>,
  target: PreparedTarget,
  scratch: { cand: CoreSpec; targ: CoreSpec },
  insns: Map<number, Uint8Array>,
): Decision {
  const prog = c.program;
  if (c.badInsn) return err(c.badInsn);
  const btf = obj.prepared.btf;
  // bpf_core_resolve_relo()
  if (r.localKind < 0) return err(`invalid local type ID ${r.typeId}`);
  if (r.typeName === null) return err(`invalid name offset of local type [${r.typeId}]`);
  let cands: number[] | null = null;
  if (r.kind !== ReloKind.TYPE_ID_LOCAL) {
    cands = cache.get(r.typeId) ?? null;
    if (!cands) {
      // bpf_core_find_cands(): no candidate search for an anonymous local type
      if (r.typeName === '') {
        return err(`target candidate search failed for [${r.typeId}] ${kindStr(r.localKind)} : -22`);
      }
      cands = target.index.candidates(r.localKind, r.essName);
      cache.set(r.typeId, cands);
    }
  }
  // bpf_core_calc_relo_insn()
  if (r.parseErr || !r.localSpec) {
    return err(`parsing [${r.typeId}] ${kindStr(r.localKind)} ${r.typeName || '<anon>'} + ${r.accessString ?? '<?>'} failed: ${r.parseErr || -EINVAL}`);
  }
  let res: ReloResult;
  try {
    const out = calcReloInsn(r, btf, r.localSpec, cands, target.btf, scratch);
    if (out.err) return err(out.message ?? `failed to relocate: ${out.err}`);
    res = out.res;
  } catch (e) {
    if (e instanceof RangeError) return err(`type graph too deep (${e.message})`);
    if (e instanceof BtfError) return err(`malformed BTF: ${e.message}`);
    throw e;
  }
  const sec = insns.get(c.sectionIndex);
  const p = obj.code.programs.find((x) => x.name === prog && x.sectionIndex === c.sectionIndex);
  if (!sec || !p || c.insn >= p.insnCount) return err(`insn #${c.insn} is out of the program`);
  return patchInsn(sec, c.secInsn, c, res);
}

/** bpf_core_patch_insn(): validates the instruction against the local value and patches it. */
function patchInsn(sec: Uint8Array, at: number, c: CheckRelo, res: ReloResult): Decision {
  const o = at * BPF_INSN_SZ;
  const dv = new DataView(sec.buffer, sec.byteOffset, sec.byteLength);
  const tag = `insn #${c.insn}`;
  const poison = (message?: string): Decision => {
    if (sec[o] === 0x18 && o + 16 <= sec.length) poisonAt(sec, o + 8);
    poisonAt(sec, o);
    return message ? { verdict: 'poison', message } : { verdict: 'poison' };
  };
  if (res.poison) return poison();
  const code = sec[o]!;
  const cls = code & 0x07;
  const orig = u64(res.origVal);
  const nv = u64(res.newVal);
  const ok = (extra?: { memSize: number }): Decision => ({ verdict: 'ok', value: valueOf(res.newVal), ...(extra ?? {}) });
  switch (cls) {
    case 0x04: // BPF_ALU
    case 0x07: {
      // BPF_ALU64
      if (code & 0x08) return err(`${tag}: ALU instruction with a register source cannot be relocated`);
      const imm = dv.getInt32(o + 4, true);
      if (res.validate && u64(BigInt(imm)) !== orig) {
        return err(`unexpected ${tag} (ALU/ALU64) value: got ${imm >>> 0}, exp ${orig} -> ${nv}`);
      }
      dv.setInt32(o + 4, Number(BigInt.asIntN(32, nv)), true);
      return ok();
    }
    case 0x01: // BPF_LDX
    case 0x02: // BPF_ST
    case 0x03: {
      // BPF_STX
      const off = dv.getInt16(o + 2, true);
      if (res.validate && u64(BigInt(off)) !== orig) {
        return err(`unexpected ${tag} (LDX/ST/STX) value: got ${off >>> 0}, exp ${orig} -> ${nv}`);
      }
      if (nv > BigInt(SHRT_MAX)) return err(`${tag} (LDX/ST/STX) value too big: ${nv}`);
      if (res.failMemszAdjust) {
        return poison(
          `${tag} (LDX/ST/STX) accesses field incorrectly. Make sure you are accessing pointers, unsigned integers, or fields of matching type and size.`,
        );
      }
      dv.setInt16(o + 2, Number(nv), true);
      if (res.newSz !== res.origSz) {
        const sizes = [4, 2, 1, 8];
        const bytes = sizes[(code >> 3) & 3]!;
        if (bytes !== res.origSz) return err(`${tag} (LDX/ST/STX) unexpected mem size: got ${bytes}, exp ${res.origSz}`);
        const enc = sizes.indexOf(res.newSz);
        if (enc < 0) return err(`${tag} (LDX/ST/STX) invalid new mem size: ${res.newSz}`);
        sec[o] = (code & 0xe7) | (enc << 3);
        return ok({ memSize: res.newSz });
      }
      return ok();
    }
    case 0x00: {
      // BPF_LD: only ldimm64 of the plain form
      const regs = sec[o + 1]!;
      if (code !== 0x18 || o + 16 > sec.length || regs >> 4 !== 0 || dv.getInt16(o + 2, true) !== 0 ||
          sec[o + 8] !== 0 || sec[o + 9] !== 0 || dv.getInt16(o + 10, true) !== 0) {
        return err(`${tag} (LDIMM64) has unexpected form`);
      }
      const imm = BigInt(dv.getUint32(o + 4, true)) | (BigInt(dv.getUint32(o + 12, true)) << 32n);
      if (res.validate && imm !== orig) return err(`unexpected ${tag} (LDIMM64) value: got ${imm}, exp ${orig} -> ${nv}`);
      dv.setUint32(o + 4, Number(nv & 0xffffffffn), true);
      dv.setUint32(o + 12, Number(nv >> 32n), true);
      return ok();
    }
    default:
      return err(`trying to relocate unrecognized ${tag}, code:0x${code.toString(16)}`);
  }
}

/** bpf_core_poison_insn(): a call to the invalid helper 0xbad2310. */
function poisonAt(sec: Uint8Array, o: number): void {
  sec[o] = 0x85; // BPF_JMP | BPF_CALL
  sec[o + 1] = 0;
  sec[o + 2] = 0;
  sec[o + 3] = 0;
  new DataView(sec.buffer, sec.byteOffset + o + 4, 4).setInt32(0, BPF_CORE_POISON_IMM, true);
}

export function isPoisonCall(sec: Uint8Array, o: number): boolean {
  return sec[o] === 0x85 && sec[o + 1] === 0 && new DataView(sec.buffer, sec.byteOffset + o + 4, 4).getInt32(0, true) === BPF_CORE_POISON_IMM;
}

