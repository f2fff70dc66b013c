// Relocation values and candidate resolution: libbpf's bpf_core_calc_field_relo(),
// bpf_core_calc_type_relo(), bpf_core_calc_enumval_relo(), bpf_core_calc_relo() and
// bpf_core_calc_relo_insn() (relo_core.c), including the ambiguity checks and the in-place
// pruning of the candidate list to the matched candidates.
import type { Btf } from '../btf/btf.js';
import {
  Kind,
  ReloKind,
  E2BIG,
  EINVAL,
  EOPNOTSUPP,
  EUCLEAN,
  INT_SIGNED,
  isEnumvalReloKind,
  isFieldReloKind,
  isTypeReloKind,
} from '../btf/kinds.js';
import { fieldShapes } from './shapes.js';
import { CoreSpec, nameByOffset, parseSpec, specMatch, type ReloInput } from './spec.js';

/** Candidate lists at least this long are matched one shape at a time (see shapes.ts). */
const SHAPES_FROM = 8;

/** struct bpf_core_relo_res (the parts that matter outside instruction patching). */
export interface ReloResult {
  /** Values are numbers (u32 / u64 below 2^53) except ENUMVAL_VALUE, a u64 bigint. */
  origVal: number | bigint;
  newVal: number | bigint;
  poison: boolean;
  validate: boolean;
  failMemszAdjust: boolean;
  origSz: number;
  newSz: number;
  origTypeId: number;
  newTypeId: number;
}

export function emptyResult(): ReloResult {
  return {
    origVal: 0,
    newVal: 0,
    poison: false,
    validate: true,
    failMemszAdjust: false,
    origSz: 0,
    newSz: 0,
    origTypeId: 0,
    newTypeId: 0,
  };
}

interface FieldOut {
  val: number;
  fieldSz: number;
  typeId: number;
  validate: boolean;
}

/** bpf_core_calc_field_relo(). Returns 0 or a negative errno (-EUCLEAN requests poisoning). */
function calcFieldRelo(kind: number, spec: CoreSpec | null, out: FieldOut, warn: (m: string) => void): number {
  out.fieldSz = 0;
  if (kind === ReloKind.FIELD_EXISTS) {
    out.val = spec ? 1 : 0;
    return 0;
  }
  if (!spec) return -EUCLEAN;

  const btf = spec.btf;
  const last = spec.len - 1;
  const acc = { typeId: spec.accTypeId[last]!, idx: spec.accIdx[last]! };

  // a[n] accessor needs special handling
  if (spec.accName[last] === null) {
    if (kind === ReloKind.FIELD_BYTE_OFFSET) {
      out.val = spec.bitOffset >>> 3;
      const sz = btf.resolveSize(acc.typeId);
      if (sz < 0) return -EINVAL;
      out.fieldSz = sz;
      out.typeId = acc.typeId;
    } else if (kind === ReloKind.FIELD_BYTE_SIZE) {
      const sz = btf.resolveSize(acc.typeId);
      if (sz < 0) return -EINVAL;
      out.val = sz;
    } else {
      warn(`relo ${kind} can't be applied to array access`);
      return -EINVAL;
    }
    out.validate = true;
    return 0;
  }

  const t = acc.typeId;
  const mType = btf.memberType(t, acc.idx);
  const fieldTypeId = btf.skipModsAndTypedefs(mType);
  const bitOff = spec.bitOffset >>> 0;
  let bitSz = btf.memberBitfieldSize(t, acc.idx);
  let byteSz: number;
  let byteOff: number;
  const bitfield = bitSz > 0;
  if (bitfield) {
    byteSz = btf.size(fieldTypeId) >>> 0;
    if (byteSz === 0) {
      // C divides by zero here (SIGFPE); report it as an invalid relocation instead.
      warn(`relo ${kind}: bitfield member type [${fieldTypeId}] has size 0`);
      return -EINVAL;
    }
    byteOff = Math.floor(Math.floor(bitOff / 8) / byteSz) * byteSz;
    // figure out smallest int size necessary for bitfield load
    while (((bitOff + bitSz - byteOff * 8) >>> 0) > ((byteSz * 8) >>> 0)) {
      if (byteSz >= 8) {
        warn(`relo ${kind} can't be satisfied for bitfield`);
        return -E2BIG;
      }
      byteSz *= 2;
      byteOff = Math.floor(Math.floor(bitOff / 8) / byteSz) * byteSz;
    }
  } else {
    const sz = btf.resolveSize(fieldTypeId);
    if (sz < 0) return -EINVAL;
    byteSz = sz;
    byteOff = bitOff >>> 3;
    bitSz = (byteSz * 8) >>> 0;
  }

  out.validate = !bitfield;

  switch (kind) {
    case ReloKind.FIELD_BYTE_OFFSET:
      out.val = byteOff >>> 0;
      if (!bitfield) {
        out.fieldSz = byteSz;
        out.typeId = fieldTypeId;
      }
      break;
    case ReloKind.FIELD_BYTE_SIZE:
      out.val = byteSz >>> 0;
      break;
    case ReloKind.FIELD_SIGNED: {
      const k = btf.kind(fieldTypeId);
      // libbpf 1.1 takes btf_int_encoding(mt) of any kind, not only INT: bits 24-27 of the word
      // after the head (wordAfterHead). For a non-INT member type that is usually a name
      // offset or type ID (< 2^24: unsigned), but for the last type of a BTF it is the start
      // of the string section, which can make two candidates disagree (an ambiguity error).
      const signed =
        ((k === Kind.ENUM || k === Kind.ENUM64) && btf.kflag(fieldTypeId)) ||
        ((btf.wordAfterHead(fieldTypeId) >>> 24) & 0x0f & INT_SIGNED) !== 0;
      out.val = signed ? 1 : 0;
      out.validate = true;
      break;
    }
    case ReloKind.FIELD_LSHIFT_U64:
      // little-endian host: 64 - (bit_off + bit_sz - byte_off * 8), in u32 arithmetic
      out.val = (64 - ((bitOff + bitSz - byteOff * 8) >>> 0)) >>> 0;
      break;
    case ReloKind.FIELD_RSHIFT_U64:
      out.val = (64 - bitSz) >>> 0;
      out.validate = true;
      break;
    default:
      return -EOPNOTSUPP;
  }
  return 0;
}

/** bpf_core_calc_type_relo(). */
function calcTypeRelo(kind: number, spec: CoreSpec | null, res: { val: number | bigint; validate: boolean }): number {
  res.validate = true;
  if (!spec) {
    res.val = 0;
    return 0;
  }
  switch (kind) {
    case ReloKind.TYPE_ID_TARGET:
      res.val = spec.rootTypeId >>> 0;
      res.validate = false;
      break;
    case ReloKind.TYPE_EXISTS:
    case ReloKind.TYPE_MATCHES:
      res.val = 1;
      break;
    case ReloKind.TYPE_SIZE: {
      const sz = spec.btf.resolveSize(spec.rootTypeId);
      if (sz < 0) return -EINVAL;
      res.val = sz;
      break;
    }
    default:
      return -EOPNOTSUPP;
  }
  return 0;
}

/** bpf_core_calc_enumval_relo(). */
function calcEnumvalRelo(kind: number, spec: CoreSpec | null, res: { val: number | bigint }): number {
  switch (kind) {
    case ReloKind.ENUMVAL_EXISTS:
      res.val = spec ? 1 : 0;
      break;
    case ReloKind.ENUMVAL_VALUE: {
      if (!spec) return -EUCLEAN;
      res.val = spec.btf.enumValueU64(spec.accTypeId[0]!, spec.accIdx[0]!);
      break;
    }
    default:
      return -EOPNOTSUPP;
  }
  return 0;
}

/**
 * bpf_core_calc_relo(): original (local) and new (target) values. `targ` null means no
 * candidate matched. Returns 0 or a negative errno; poisoning is reported in `res.poison`.
 */
export function calcRelo(
  kind: number,
  local: CoreSpec,
  targ: CoreSpec | null,
  res: ReloResult,
  warn: (m: string) => void,
  localCache?: { field?: { err: number; out: FieldOut } },
): number {
  res.origVal = 0;
  res.newVal = 0;
  res.poison = false;
  res.validate = true;
  res.failMemszAdjust = false;
  res.origSz = res.newSz = 0;
  res.origTypeId = res.newTypeId = 0;
  let err = -EOPNOTSUPP;

  if (isFieldReloKind(kind)) {
    // the local side is the same for every candidate: compute it once per relocation
    let lc = localCache?.field;
    if (!lc) {
      const o: FieldOut = { val: 0, fieldSz: 0, typeId: 0, validate: true };
      lc = { err: calcFieldRelo(kind, local, o, warn), out: o };
      if (localCache) localCache.field = lc;
    }
    const o = lc.out;
    err = lc.err;
    res.origVal = o.val;
    res.origSz = o.fieldSz;
    res.origTypeId = o.typeId;
    res.validate = o.validate;
    if (!err) {
      const n: FieldOut = { val: 0, fieldSz: 0, typeId: 0, validate: true };
      err = calcFieldRelo(kind, targ, n, warn);
      res.newVal = n.val;
      res.newSz = n.fieldSz;
      res.newTypeId = n.typeId;
    }
    if (!err && res.origSz !== res.newSz && targ) {
      const ok =
        (local.btf.kind(res.origTypeId) === Kind.PTR && targ.btf.kind(res.newTypeId) === Kind.PTR) ||
        (local.btf.kind(res.origTypeId) === Kind.INT &&
          targ.btf.kind(res.newTypeId) === Kind.INT &&
          local.btf.intEncoding(res.origTypeId) !== INT_SIGNED &&
          targ.btf.intEncoding(res.newTypeId) !== INT_SIGNED);
      res.failMemszAdjust = !ok;
    }
  } else if (isTypeReloKind(kind)) {
    const o: { val: number | bigint; validate: boolean } = { val: 0, validate: true };
    err = calcTypeRelo(kind, local, o);
    res.origVal = o.val;
    res.validate = o.validate;
    if (!err) {
      const n: { val: number | bigint; validate: boolean } = { val: 0, validate: true };
      err = calcTypeRelo(kind, targ, n);
      res.newVal = n.val;
    }
  } else if (isEnumvalReloKind(kind)) {
    const o: { val: number | bigint } = { val: 0 };
    err = calcEnumvalRelo(kind, local, o);
    res.origVal = o.val;
    if (!err) {
      const n: { val: number | bigint } = { val: 0 };
      err = calcEnumvalRelo(kind, targ, n);
      res.newVal = n.val;
    }
  }

  if (err === -EUCLEAN) {
    res.poison = true;
    err = 0;
  } else if (err === -EOPNOTSUPP) {
    warn(`unrecognized CO-RE relocation ${kind}`);
  }
  return err;
}

/** Everything bpf_core_calc_relo_insn() produces for one relocation. */
export interface CalcOutcome {
  /** 0 or a negative errno. */
  err: number;
  /** libbpf's warning for the failure, when it prints one. */
  message?: string;
  res: ReloResult;
  /** specs_scratch[2]: the first matching candidate's spec, or the all-zero spec. */
  targ: CoreSpec;
  /** Whether any candidate matched. */
  matched: boolean;
}

/**
 * bpf_core_calc_relo_insn(): resolves one relocation against a candidate list (pruned in
 * place to the matching candidates when any match). `localSpec` must already hold the parsed
 * local spec (bpf_core_parse_spec() is target-independent, so callers parse it once).
 */
export function calcReloInsn(
  relo: ReloInput,
  localBtf: Btf,
  localSpec: CoreSpec,
  cands: number[] | null,
  targBtf: Btf,
  scratch: { cand: CoreSpec; targ: CoreSpec },
): CalcOutcome {
  const res = emptyResult();
  let message: string | undefined;
  const warn = (m: string) => {
    message ??= m;
  };
  const targ = scratch.targ;
  targ.reset(targBtf);
  // zero spec: btf pointer irrelevant, kind FIELD_BYTE_OFFSET, root 0
  const fail = (err: number): CalcOutcome => ({ err, message, res, targ, matched: false });

  if (relo.kind === ReloKind.TYPE_ID_LOCAL) {
    res.validate = false;
    res.poison = false;
    res.origVal = localSpec.rootTypeId >>> 0;
    res.newVal = res.origVal;
    return { err: 0, res, targ, matched: false };
  }

  const localName = nameByOffset(localBtf, localBtf.nameOff(relo.typeId));
  if (localName === null) return fail(-EINVAL);
  if (localName === '') {
    message = `<${reloKindName(relo.kind)}> (${relo.kind}) relocation doesn't support anonymous types`;
    return fail(-EOPNOTSUPP);
  }

  const list = cands ?? [];
  const cand = scratch.cand;
  const candRes = emptyResult();
  const localCache: { field?: { err: number; out: FieldOut } } = {};
  // A field relocation cannot tell apart candidates of one shape (shapes.ts): a candidate
  // whose shape an earlier one had gets that one's outcome, which already passed every check
  // below. Only long lists (non-deduplicated kernels) are worth the shapes' cost.
  const shapes = isFieldReloKind(relo.kind) && list.length >= SHAPES_FROM ? fieldShapes(targBtf) : undefined;
  const seen = shapes ? new Map<number, boolean>() : undefined;
  let j = 0;
  for (let i = 0; i < list.length; i++) {
    let shape = 0;
    if (shapes && seen) {
      shape = shapes.shapeOf(list[i]!);
      const matched = seen.get(shape);
      if (matched !== undefined) {
        if (matched) list[j++] = list[i]!;
        continue;
      }
      seen.set(shape, false);
    }
    let err = specMatch(localSpec, targBtf, list[i]!, cand);
    if (err < 0) {
      message ??= `error matching candidate #${i} [${list[i]}]: ${err}`;
      return fail(err);
    }
    if (err === 0) continue;

    err = calcRelo(relo.kind, localSpec, cand, candRes, warn, localCache);
    if (err) return fail(err);

    if (j === 0) {
      Object.assign(res, candRes);
      targ.copyFrom(cand);
    } else if (cand.bitOffset !== targ.bitOffset) {
      message = `field offset ambiguity: ${cand.bitOffset >>> 0} != ${targ.bitOffset >>> 0}`;
      return fail(-EINVAL);
    } else if (candRes.poison !== res.poison || candRes.newVal !== res.newVal) {
      message =
        `relocation decision ambiguity: ${candRes.poison ? 'failure' : 'success'} ${u64(candRes.newVal)}` +
        ` != ${res.poison ? 'failure' : 'success'} ${u64(res.newVal)}`;
      return fail(-EINVAL);
    }
    seen?.set(shape, true);
    list[j++] = list[i]!;
  }

  if (j > 0) {
    list.length = j;
    return { err: 0, res, targ, matched: true };
  }

  // no candidate matched: targ stays the zeroed spec
  targ.reset(targBtf);
  const err = calcRelo(relo.kind, localSpec, null, res, warn, localCache);
  if (err) return fail(err);
  return { err: 0, res, targ, matched: false };
}

/** A relocation value as the unsigned 64-bit integer libbpf prints with %llu. */
export function u64(v: number | bigint): bigint {
  return BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(v));
}

const RELO_KIND_NAMES = [
  'byte_off', 'byte_sz', 'field_exists', 'signed', 'lshift_u64', 'rshift_u64', 'local_type_id',
  'target_type_id', 'type_exists', 'type_size', 'enumval_exists', 'enumval_value', 'type_matches',
];

export function reloKindName(kind: number): string {
  return RELO_KIND_NAMES[kind] ?? 'unknown';
}
