// Guarded or not: which poisoned instructions the kernel verifier would reach. After one
// kernel's values are patched in, each program is followed from its entry the way the
// verifier's do_check() explores it with respect to known constants: registers (and 8-byte
// stack slots) holding constants are tracked through moves, ALU operations, loads of 64-bit
// immediates and BPF-to-BPF calls; a conditional jump whose operands are both known takes one
// branch only (is_branch_taken()), every other one takes both. A poisoned call
// (bpf_core_poison_insn()) reached this way is `unguarded`; the others sit in dead code the
// verifier never visits and removes (sanitize_dead_code()): `guarded`.
//
// The tracking is deliberately simpler than the verifier's (no ranges, no pointer types): where
// it cannot decide a branch it takes both, so it may call a poison unguarded that the verifier
// would prove dead through a range, never the reverse for constant-decided branches.
import { isPoisonCall } from './decide.js';
import { BPF_INSN_SZ, type BpfProgram, type ObjectCode } from './programs.js';

type Val = bigint | null;
interface Slot {
  size: number;
  val: Val;
}

interface State {
  regs: Val[];
  /** Stack slots written through r10: offset -> (size in bytes, value). */
  stack: Map<number, Slot>;
}

const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;
/** Distinct states explored per instruction before widening to "nothing known". */
const MAX_STATES_PER_INSN = 32;
/** Instructions processed per program before giving up on constants (then: plain CFG). */
const STEP_BUDGET = 1_000_000;
const MAX_CALL_DEPTH = 8;

function keyOf(s: State): string {
  let k = '';
  for (let i = 0; i < 10; i++) k += `${s.regs[i] ?? '?'},`;
  for (const [o, v] of s.stack) k += `${o}/${v.size}=${v.val ?? '?'};`;
  return k;
}

function clone(s: State): State {
  return { regs: s.regs.slice(), stack: new Map(s.stack) };
}

function top(): State {
  return { regs: new Array<Val>(11).fill(null), stack: new Map() };
}

const s64 = (v: bigint) => BigInt.asIntN(64, v);
const s32 = (v: bigint) => BigInt.asIntN(32, v);

function alu(op: number, a: bigint, b: bigint, is64: boolean, off: number): bigint | null {
  const mask = is64 ? M64 : M32;
  const bits = is64 ? 64n : 32n;
  a &= mask;
  b &= mask;
  const sgn = (v: bigint) => (is64 ? s64(v) : s32(v));
  switch (op) {
    case 0x00: return (a + b) & mask;
    case 0x10: return (a - b) & mask;
    case 0x20: return (a * b) & mask;
    case 0x30:
      if (b === 0n) return 0n;
      return off === 1 ? BigInt.asUintN(Number(bits), sgn(a) / sgn(b)) : a / b;
    case 0x40: return a | b;
    case 0x50: return a & b;
    case 0x60: return (a << (b & (bits - 1n))) & mask;
    case 0x70: return a >> (b & (bits - 1n));
    case 0x80: return (-a) & mask;
    case 0x90:
      if (b === 0n) return a;
      return off === 1 ? BigInt.asUintN(Number(bits), sgn(a) % sgn(b)) : a % b;
    case 0xa0: return a ^ b;
    case 0xb0:
      if (off === 8 || off === 16 || off === 32) return BigInt.asUintN(Number(bits), BigInt.asIntN(off, b));
      return b;
    case 0xc0: return BigInt.asUintN(Number(bits), sgn(a) >> (b & (bits - 1n)));
    default: return null; // BPF_END and unknown ops: not tracked
  }
}

/** is_branch_taken() for two known operands: true/false. */
function taken(op: number, a: bigint, b: bigint, is64: boolean): boolean | null {
  const mask = is64 ? M64 : M32;
  a &= mask;
  b &= mask;
  const sa = is64 ? s64(a) : s32(a);
  const sb = is64 ? s64(b) : s32(b);
  switch (op) {
    case 0x10: return a === b;
    case 0x20: return a > b;
    case 0x30: return a >= b;
    case 0x40: return (a & b) !== 0n;
    case 0x50: return a !== b;
    case 0x60: return sa > sb;
    case 0x70: return sa >= sb;
    case 0xa0: return a < b;
    case 0xb0: return a <= b;
    case 0xc0: return sa < sb;
    case 0xd0: return sa <= sb;
    default: return null;
  }
}

export interface ReachResult {
  /** Poisoned instructions reached: `${sectionIndex}:${insn}` (section instruction index). */
  readonly poisons: Set<string>;
  /** Constants could not be followed to the end (step budget): every branch was taken. */
  readonly approximate: boolean;
}

/** Reachable poisoned instructions of one program with one kernel's patched instructions. */
export function reachablePoisons(code: ObjectCode, insns: ReadonlyMap<number, Uint8Array>, prog: BpfProgram): ReachResult {
  const first = new Walker(code, insns, false).run(prog);
  if (!first.exhausted) return { poisons: first.poisons, approximate: false };
  return { poisons: new Walker(code, insns, true).run(prog).poisons, approximate: true };
}

class Walker {
  readonly poisons = new Set<string>();
  exhausted = false;
  private steps = 0;
  private readonly memo = new Map<string, Val>();

  constructor(
    private readonly code: ObjectCode,
    private readonly insns: ReadonlyMap<number, Uint8Array>,
    /** Plain CFG reachability: every conditional branch taken both ways. */
    private readonly blind: boolean,
  ) {}

  run(prog: BpfProgram): this {
    this.func(prog.sectionIndex, prog.secInsnOff, top(), 0);
    return this;
  }

  private global(sec: number, insn: number): boolean {
    return this.code.programs.some((p) => p.sectionIndex === sec && p.secInsnOff === insn && p.subprog && p.global);
  }

  /** Explores one function from `start`; returns what it leaves in r0 (when the same everywhere). */
  private func(sec: number, start: number, entry: State, depth: number): Val {
    const memoKey = `${sec}:${start}:${keyOf(entry)}`;
    if (this.memo.has(memoKey)) return this.memo.get(memoKey) ?? null;
    this.memo.set(memoKey, null); // recursion (not valid BPF) ends here
    const buf = this.insns.get(sec);
    if (!buf || depth > MAX_CALL_DEPTH) return null;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const n = buf.length / BPF_INSN_SZ;
    const seen = new Map<number, Set<string>>();
    const work: [number, State][] = [[start, entry]];
    let ret: Val | undefined;
    const push = (pc: number, s: State) => {
      if (pc < 0 || pc >= n) return;
      let set = seen.get(pc);
      if (!set) seen.set(pc, (set = new Set()));
      let st = s;
      if (this.blind || set.size >= MAX_STATES_PER_INSN) st = top();
      const k = keyOf(st);
      if (set.has(k)) return;
      set.add(k);
      work.push([pc, st]);
    };
    while (work.length) {
      const [pc, s] = work.pop()!;
      if (++this.steps > STEP_BUDGET) {
        this.exhausted = true;
        return null;
      }
      const o = pc * BPF_INSN_SZ;
      const code = buf[o]!;
      const dst = buf[o + 1]! & 0xf;
      const src = buf[o + 1]! >> 4;
      const off = dv.getInt16(o + 2, true);
      const imm = dv.getInt32(o + 4, true);
      const cls = code & 7;
      const r = s.regs;
      if (cls === 0x07 || cls === 0x04) {
        const is64 = cls === 0x07;
        const op = code & 0xf0;
        const b: Val = code & 0x08 ? (r[src] ?? null) : is64 ? BigInt.asUintN(64, BigInt(imm)) : BigInt(imm >>> 0);
        const a: Val = r[dst] ?? null;
        let v: Val;
        if (op === 0xb0) v = b === null ? null : alu(op, 0n, b, is64, off);
        else if (op === 0x80) v = a === null ? null : alu(op, a, 0n, is64, off);
        else v = a !== null && b !== null ? alu(op, a, b, is64, off) : null;
        const ns = clone(s);
        if (dst !== 10) ns.regs[dst] = v;
        push(pc + 1, ns);
        continue;
      }
      if (cls === 0x05 || cls === 0x06) {
        const op = code & 0xf0;
        if (op === 0x00) {
          push(pc + 1 + (cls === 0x06 ? imm : off), s);
          continue;
        }
        if (op === 0x90 && cls === 0x05) {
          // BPF_EXIT
          const v = r[0] ?? null;
          ret = ret === undefined ? v : ret === v ? ret : null;
          continue;
        }
        if (op === 0x80 && cls === 0x05) {
          if (isPoisonCall(buf, o)) {
            this.poisons.add(`${sec}:${pc}`);
            continue; // the verifier rejects the program here
          }
          const ns = clone(s);
          if (src === 1) {
            const ref = this.code.refs.get(sec)?.get(pc);
            const tsec = ref ? ref.sectionIndex : sec;
            const tinsn = ref ? ref.insn : pc + imm + 1;
            const glob = this.global(tsec, tinsn);
            const args = top();
            if (!glob) for (let i = 1; i <= 5; i++) args.regs[i] = r[i] ?? null;
            const rv = this.func(tsec, tinsn, args, depth + 1);
            if (this.exhausted) return null;
            ns.regs[0] = glob ? null : rv;
          } else ns.regs[0] = null;
          for (let i = 1; i <= 5; i++) ns.regs[i] = null;
          push(pc + 1, ns);
          continue;
        }
        const is64 = cls === 0x05;
        const a = r[dst] ?? null;
        const b: Val = code & 0x08 ? (r[src] ?? null) : BigInt.asUintN(64, BigInt(imm));
        const t = !this.blind && a !== null && b !== null ? taken(op, a, b, is64) : null;
        if (t !== false) push(pc + 1 + off, s);
        if (t !== true) push(pc + 1, s);
        continue;
      }
      if (cls === 0x00) {
        if (code === 0x18) {
          const ns = clone(s);
          let v: Val = null;
          if (src === 0 && o + 16 <= buf.length) {
            v = BigInt(dv.getUint32(o + 4, true)) | (BigInt(dv.getUint32(o + 12, true)) << 32n);
          }
          if (src === 4) {
            // BPF_PSEUDO_FUNC: a callback the verifier checks where a helper calls it
            const ref = this.code.refs.get(sec)?.get(pc);
            this.func(ref ? ref.sectionIndex : sec, ref ? ref.insn : pc + imm + 1, top(), depth + 1);
            if (this.exhausted) return null;
          }
          if (isPoisonCall(buf, o)) {
            this.poisons.add(`${sec}:${pc}`);
            continue;
          }
          if (dst !== 10) ns.regs[dst] = v;
          push(pc + 2, ns);
          continue;
        }
        // legacy LD_ABS / LD_IND: r0 result, r1-r5 clobbered
        const ns = clone(s);
        for (let i = 0; i <= 5; i++) ns.regs[i] = null;
        push(pc + 1, ns);
        continue;
      }
      const size = [4, 2, 1, 8][(code >> 3) & 3]!;
      const mode = code & 0xe0;
      if (cls === 0x01) {
        const ns = clone(s);
        let v: Val = null;
        const slot = src === 10 && mode === 0x60 ? s.stack.get(off) : undefined;
        if (slot && slot.size === size && slot.val !== null) v = slot.val & ((1n << BigInt(size * 8)) - 1n);
        if (dst !== 10) ns.regs[dst] = v;
        push(pc + 1, ns);
        continue;
      }
      if (cls === 0x02 || cls === 0x03) {
        const ns = clone(s);
        if (dst === 10) {
          for (const [k, v] of [...ns.stack]) if (k < off + size && off < k + v.size) ns.stack.delete(k);
          if (mode === 0x60) ns.stack.set(off, { size, val: cls === 0x02 ? BigInt.asUintN(64, BigInt(imm)) : (r[src] ?? null) });
        }
        if (cls === 0x03 && mode === 0xc0 && src !== 10) ns.regs[src] = null; // atomic fetch
        if (cls === 0x03 && mode === 0xc0) ns.regs[0] = null; // cmpxchg writes r0
        push(pc + 1, ns);
        continue;
      }
      push(pc + 1, s);
    }
    const out = ret ?? null;
    this.memo.set(memoKey, out);
    return out;
  }
}
