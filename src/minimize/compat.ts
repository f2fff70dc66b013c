// Type compatibility rules of libbpf's relo_core.c: bpf_core_fields_are_compat(),
// __bpf_core_types_are_compat(), bpf_core_names_match(), bpf_core_enums_match(),
// bpf_core_composites_match() and __bpf_core_types_match(). Results follow the C: > 0 match,
// 0 no match, < 0 a negative errno.
import type { Btf } from '../btf/btf.js';
import { skipMods } from './fast.js';
import { Kind, EINVAL, INT_SIGNED } from '../btf/kinds.js';
import { kindCoreCompat } from './candidates.js';
import { essentialNamesEqual, nameIsEmpty } from './names.js';

function isComposite(k: number): boolean {
  return k === Kind.STRUCT || k === Kind.UNION;
}
function isAnyEnum(k: number): boolean {
  return k === Kind.ENUM || k === Kind.ENUM64;
}


/**
 * bpf_core_fields_are_compat(): compatibility of a local and a target field type for field
 * relocations (mods/typedefs skipped; composites always compatible; ints unless legacy
 * bitfield-ints; arrays by element; enums/fwds by essential name).
 */
export function fieldsAreCompat(localBtf: Btf, localIdIn: number, targBtf: Btf, targIdIn: number): number {
  let localId = localIdIn;
  let targId = targIdIn;
  for (;;) {
    localId = skipMods(localBtf, localId);
    targId = skipMods(targBtf, targId);
    const lk = localBtf.kind(localId);
    const tk = targBtf.kind(targId);
    if (isComposite(lk) && isComposite(tk)) return 1;
    if (!kindCoreCompat(lk, tk)) return 0;
    switch (lk) {
      case Kind.PTR:
      case Kind.FLOAT:
        return 1;
      case Kind.FWD:
      case Kind.ENUM64:
      case Kind.ENUM: {
        // one of them is anonymous or both w/ same flavor-less names
        return essentialNamesEqual(localBtf, localBtf.nameOff(localId), targBtf, targBtf.nameOff(targId), true) ? 1 : 0;
      }
      case Kind.INT:
        return localBtf.intOffset(localId) === 0 && targBtf.intOffset(targId) === 0 ? 1 : 0;
      case Kind.ARRAY:
        localId = localBtf.arrayElem(localId);
        targId = targBtf.arrayElem(targId);
        continue;
      default:
        return 0;
    }
  }
}

/** bpf_core_types_are_compat(): __bpf_core_types_are_compat with level 32. */
export function typesAreCompat(localBtf: Btf, localId: number, targBtf: Btf, targId: number): number {
  return typesAreCompatLevel(localBtf, localId, targBtf, targId, 32);
}

/**
 * __bpf_core_types_are_compat(): used by TYPE_EXISTS / TYPE_SIZE / TYPE_ID_TARGET. Structs,
 * unions, enums and fwds are compatible by kind alone; pointers/arrays recurse; func protos
 * compare arity, params and return type.
 */
export function typesAreCompatLevel(localBtf: Btf, localIdIn: number, targBtf: Btf, targIdIn: number, level: number): number {
  let localId = localIdIn;
  let targId = targIdIn;
  let depth = 32;
  if (!kindCoreCompat(localBtf.kind(localId), targBtf.kind(targId))) return 0;
  for (;;) {
    depth--;
    if (depth < 0) return -EINVAL;
    localId = skipMods(localBtf, localId);
    targId = skipMods(targBtf, targId);
    const lk = localBtf.kind(localId);
    const tk = targBtf.kind(targId);
    if (!kindCoreCompat(lk, tk)) return 0;
    switch (lk) {
      case Kind.UNKN:
      case Kind.STRUCT:
      case Kind.UNION:
      case Kind.ENUM:
      case Kind.FWD:
      case Kind.ENUM64:
        return 1;
      case Kind.INT:
        return localBtf.intOffset(localId) === 0 && targBtf.intOffset(targId) === 0 ? 1 : 0;
      case Kind.PTR:
        localId = localBtf.type(localId);
        targId = targBtf.type(targId);
        continue;
      case Kind.ARRAY:
        localId = localBtf.arrayElem(localId);
        targId = targBtf.arrayElem(targId);
        continue;
      case Kind.FUNC_PROTO: {
        const lv = localBtf.vlen(localId);
        const tv = targBtf.vlen(targId);
        if (lv !== tv) return 0;
        for (let i = 0; i < lv; i++) {
          if (level <= 0) return -EINVAL;
          const lp = skipMods(localBtf, localBtf.paramType(localId, i));
          const tp = skipMods(targBtf, targBtf.paramType(targId, i));
          const err = typesAreCompatLevel(localBtf, lp, targBtf, tp, level - 1);
          if (err <= 0) return err;
        }
        // tail recurse for return type check
        localId = skipMods(localBtf, localBtf.type(localId));
        targId = skipMods(targBtf, targBtf.type(targId));
        continue;
      }
      default:
        return 0;
    }
  }
}

/** bpf_core_names_match(): an empty target name matches only an empty local one. */
export function namesMatch(localBtf: Btf, localNameOff: number, targBtf: Btf, targNameOff: number): boolean {
  if (nameIsEmpty(targBtf, targNameOff)) return nameIsEmpty(localBtf, localNameOff);
  return essentialNamesEqual(localBtf, localNameOff, targBtf, targNameOff);
}

/** bpf_core_enums_match(): same size, every local enumerator name present in the target. */
function enumsMatch(localBtf: Btf, localId: number, targBtf: Btf, targId: number): number {
  const lv = localBtf.vlen(localId) & 0xffff;
  const tv = targBtf.vlen(targId) & 0xffff;
  if (localBtf.size(localId) !== targBtf.size(targId)) return 0;
  if (lv > tv) return 0;
  for (let i = 0; i < lv; i++) {
    const ln = localBtf.enumNameOff(localId, i);
    let matched = false;
    for (let j = 0; j < tv; j++) {
      if (namesMatch(localBtf, ln, targBtf, targBtf.enumNameOff(targId, j))) {
        matched = true;
        break;
      }
    }
    if (!matched) return 0;
  }
  return 1;
}

/** bpf_core_composites_match(): every local member has a same-named, matching target member. */
function compositesMatch(localBtf: Btf, localId: number, targBtf: Btf, targId: number, behindPtr: boolean, level: number): number {
  const lv = localBtf.vlen(localId) & 0xffff;
  const tv = targBtf.vlen(targId) & 0xffff;
  if (lv > tv) return 0;
  for (let i = 0; i < lv; i++) {
    const lnOff = localBtf.memberNameOff(localId, i);
    const lt = localBtf.memberType(localId, i);
    let matched = false;
    for (let j = 0; j < tv; j++) {
      if (!namesMatch(localBtf, lnOff, targBtf, targBtf.memberNameOff(targId, j))) continue;
      const err = typesMatchLevel(localBtf, lt, targBtf, targBtf.memberType(targId, j), behindPtr, level - 1);
      if (err < 0) return err;
      if (err > 0) {
        matched = true;
        break;
      }
    }
    if (!matched) return 0;
  }
  return 1;
}

/** bpf_core_types_match(): __bpf_core_types_match with behind_ptr false and level 32. */
export function typesMatch(localBtf: Btf, localId: number, targBtf: Btf, targId: number): number {
  return typesMatchLevel(localBtf, localId, targBtf, targId, false, 32);
}

/** __bpf_core_types_match(): the TYPE_MATCHES relation (names checked at every level). */
export function typesMatchLevel(
  localBtf: Btf,
  localIdIn: number,
  targBtf: Btf,
  targIdIn: number,
  behindPtrIn: boolean,
  level: number,
): number {
  let localId = localIdIn;
  let targId = targIdIn;
  let behindPtr = behindPtrIn;
  let depth = 32;
  if (level <= 0) return -EINVAL;
  for (;;) {
    depth--;
    if (depth < 0) return -EINVAL;
    localId = skipMods(localBtf, localId);
    targId = skipMods(targBtf, targId);
    if (!namesMatch(localBtf, localBtf.nameOff(localId), targBtf, targBtf.nameOff(targId))) return 0;
    const lk = localBtf.kind(localId);
    const tk = targBtf.kind(targId);
    switch (lk) {
      case Kind.UNKN:
        return lk === tk ? 1 : 0;
      case Kind.FWD: {
        const lf = localBtf.kflag(localId);
        if (behindPtr) {
          if (lk === tk) return lf === targBtf.kflag(targId) ? 1 : 0;
          // for forward declarations kflag dictates whether the target is a struct (0) or union (1)
          return (tk === Kind.STRUCT && !lf) || (tk === Kind.UNION && lf) ? 1 : 0;
        }
        if (lk !== tk) return 0;
        return lf === targBtf.kflag(targId) ? 1 : 0;
      }
      case Kind.ENUM:
      case Kind.ENUM64:
        if (!isAnyEnum(tk)) return 0;
        return enumsMatch(localBtf, localId, targBtf, targId);
      case Kind.STRUCT:
      case Kind.UNION:
        if (behindPtr) {
          if (lk === tk) return 1;
          if (tk !== Kind.FWD) return 0;
          return (lk === Kind.UNION) === targBtf.kflag(targId) ? 1 : 0;
        }
        if (lk !== tk) return 0;
        return compositesMatch(localBtf, localId, targBtf, targId, behindPtr, level);
      case Kind.INT: {
        if (lk !== tk) return 0;
        const ls = localBtf.intEncoding(localId) & INT_SIGNED;
        const ts = targBtf.intEncoding(targId) & INT_SIGNED;
        return localBtf.size(localId) === targBtf.size(targId) && ls === ts ? 1 : 0;
      }
      case Kind.PTR:
        if (lk !== tk) return 0;
        behindPtr = true;
        localId = localBtf.type(localId);
        targId = targBtf.type(targId);
        continue;
      case Kind.ARRAY:
        if (lk !== tk) return 0;
        if (localBtf.arrayNelems(localId) !== targBtf.arrayNelems(targId)) return 0;
        localId = localBtf.arrayElem(localId);
        targId = targBtf.arrayElem(targId);
        continue;
      case Kind.FUNC_PROTO: {
        if (lk !== tk) return 0;
        const lv = localBtf.vlen(localId) & 0xffff;
        const tv = targBtf.vlen(targId) & 0xffff;
        if (lv !== tv) return 0;
        for (let i = 0; i < lv; i++) {
          const err = typesMatchLevel(localBtf, localBtf.paramType(localId, i), targBtf, targBtf.paramType(targId, i), behindPtr, level - 1);
          if (err <= 0) return err;
        }
        // tail recurse for return type check
        localId = localBtf.type(localId);
        targId = targBtf.type(targId);
        continue;
      }
      default:
        return 0;
    }
  }
}
