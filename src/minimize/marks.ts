// Mark state of BTFGen: bpftool's btfgen_mark_member(), btfgen_mark_type(),
// btfgen_mark_type_match(), btfgen_record_field_relo(), btfgen_record_type_relo(),
// btfgen_record_type_match_relo(), btfgen_record_enumval_relo() and btfgen_record_reloc()
// (gen.c). bpftool marks a cloned BTF in place; we keep a Uint8Array of marked types and a
// per-composite member bitmap. mark_type / mark_type_match are memoized on (id, flag): the
// marks of (id, true) contain those of (id, false) for mark_type and the reverse for
// mark_type_match, so skipping a visited pair never changes the result, it only avoids
// bpftool's exponential re-walks of shared subgraphs.
import { Btf } from '../btf/btf.js';
import { Kind, ReloKind, EINVAL, kindStr } from '../btf/kinds.js';
import type { CoreSpec } from './spec.js';

/** A marking failure: bpftool's `unsupported kind` (-EINVAL). */
export class MarkError extends Error {
  constructor(
    message: string,
    readonly errno: number = -EINVAL,
  ) {
    super(message);
  }
}

// memo bits
const DONE_FALSE = 1;
const DONE_TRUE = 2;
const BUSY_FALSE = 4;
const BUSY_TRUE = 8;

export class Marks {
  /** 1 for every marked type ID (bpftool: name_off = MARKED in the clone). */
  readonly types: Uint8Array;
  /** Marked member indices per composite type ID. */
  readonly members = new Map<number, Uint8Array>();
  private readonly memoType: Uint8Array;
  private readonly memoMatch: Uint8Array;
  /** The marked type IDs in marking order (emit sorts them: a 100k-type scan for a few hundred marks costs more). */
  private readonly list: number[] = [];

  constructor(readonly btf: Btf) {
    this.types = new Uint8Array(btf.typeCount);
    this.memoType = new Uint8Array(btf.typeCount);
    this.memoMatch = new Uint8Array(btf.typeCount);
  }

  private mark(id: number): void {
    if (!this.types[id]) {
      this.types[id] = 1;
      this.list.push(id);
    }
  }

  /** Number of distinct marked types. */
  get count(): number {
    return this.list.length;
  }

  /** The marked type IDs, ascending. */
  markedIds(): Int32Array {
    return Int32Array.from(this.list).sort();
  }

  /** btfgen_mark_member(). */
  markMember(id: number, idx: number): void {
    let m = this.members.get(id);
    if (!m) {
      m = new Uint8Array(this.btf.vlen(id));
      this.members.set(id, m);
    }
    if (idx >= 0 && idx < m.length) m[idx] = 1;
  }

  memberMarked(id: number, idx: number): boolean {
    const m = this.members.get(id);
    return m !== undefined && m[idx] === 1;
  }

  private unsupported(id: number, shownId: number = id): MarkError {
    return new MarkError(`unsupported kind: ${kindStr(this.btf.kind(id))} (${shownId})`);
  }

  private checkId(id: number): void {
    if (id >= this.btf.typeCount) throw new MarkError(`invalid type ID ${id}`);
  }

  /** btfgen_mark_type(): marks `id` and what it needs; composites are kept without members. */
  markType(id: number, followPointers: boolean): void {
    if (id === 0) return;
    this.checkId(id);
    const memo = this.memoType[id]!;
    const done = followPointers ? DONE_TRUE : DONE_TRUE | DONE_FALSE;
    const busy = followPointers ? BUSY_TRUE : BUSY_FALSE;
    if (memo & done || memo & busy) return;
    this.mark(id);
    const btf = this.btf;
    this.memoType[id] = memo | busy;
    switch (btf.kind(id)) {
      case Kind.UNKN:
      case Kind.INT:
      case Kind.FLOAT:
      case Kind.ENUM:
      case Kind.ENUM64:
      case Kind.STRUCT:
      case Kind.UNION:
        break;
      case Kind.PTR:
        if (followPointers) this.markType(btf.type(id), followPointers);
        break;
      case Kind.CONST:
      case Kind.RESTRICT:
      case Kind.VOLATILE:
      case Kind.TYPEDEF:
        this.markType(btf.type(id), followPointers);
        break;
      case Kind.ARRAY:
        this.markType(btf.arrayElem(id), followPointers);
        this.markType(btf.arrayIndex(id), followPointers);
        break;
      case Kind.FUNC_PROTO: {
        this.markType(btf.type(id), followPointers);
        const n = btf.vlen(id);
        for (let i = 0; i < n; i++) this.markType(btf.paramType(id, i), followPointers);
        break;
      }
      default:
        throw this.unsupported(id);
    }
    this.memoType[id] = (this.memoType[id]! & ~busy) | (followPointers ? DONE_TRUE : DONE_FALSE);
  }

  /** btfgen_mark_type_match(): the by-value closure; composites behind pointers stay empty. */
  markTypeMatch(id: number, behindPtr: boolean): void {
    if (id === 0) return;
    this.checkId(id);
    const memo = this.memoMatch[id]!;
    const done = behindPtr ? DONE_TRUE | DONE_FALSE : DONE_FALSE;
    const busy = behindPtr ? BUSY_TRUE : BUSY_FALSE;
    if (memo & done || memo & busy) return;
    this.mark(id);
    const btf = this.btf;
    this.memoMatch[id] = memo | busy;
    switch (btf.kind(id)) {
      case Kind.UNKN:
      case Kind.INT:
      case Kind.FLOAT:
      case Kind.ENUM:
      case Kind.ENUM64:
        break;
      case Kind.STRUCT:
      case Kind.UNION: {
        if (behindPtr) break;
        const n = btf.vlen(id) & 0xffff; // bpftool 7.1: __u16 vlen
        for (let i = 0; i < n; i++) {
          this.markMember(id, i);
          this.markTypeMatch(btf.memberType(id, i), false);
        }
        break;
      }
      case Kind.CONST:
      case Kind.FWD:
      case Kind.RESTRICT:
      case Kind.TYPEDEF:
      case Kind.VOLATILE:
        this.markTypeMatch(btf.type(id), behindPtr);
        break;
      case Kind.PTR:
        this.markTypeMatch(btf.type(id), true);
        break;
      case Kind.ARRAY:
        this.markTypeMatch(btf.arrayElem(id), false);
        this.markTypeMatch(btf.arrayIndex(id), false);
        break;
      case Kind.FUNC_PROTO: {
        this.markTypeMatch(btf.type(id), false);
        const n = btf.vlen(id) & 0xffff;
        for (let i = 0; i < n; i++) this.markTypeMatch(btf.paramType(id, i), false);
        break;
      }
      default:
        throw this.unsupported(id);
    }
    this.memoMatch[id] = (this.memoMatch[id]! & ~busy) | (behindPtr ? DONE_TRUE : DONE_FALSE);
  }

  /** btfgen_record_field_relo(): the root, then each composite/array hop of the raw spec. */
  recordFieldRelo(spec: CoreSpec): void {
    const btf = this.btf;
    let typeId = spec.rootTypeId;
    this.markType(typeId, false);
    for (let i = 1; i < spec.rawLen; i++) {
      // skip typedefs and mods
      while (Btf.isModOrTypedef(btf.kind(typeId))) typeId = btf.type(typeId);
      const k = btf.kind(typeId);
      if (k === Kind.STRUCT || k === Kind.UNION) {
        const idx = spec.rawSpec[i]!;
        this.markMember(typeId, idx);
        typeId = btf.memberType(typeId, idx);
        this.markType(typeId, false);
      } else if (k === Kind.ARRAY) {
        typeId = btf.arrayElem(typeId);
      } else {
        // bpftool prints btf_type->type here instead of the ID (cosmetic bug kept)
        throw this.unsupported(typeId, btf.type(typeId));
      }
    }
  }

  /** btfgen_record_reloc(): dispatch on the target spec's relocation kind. */
  recordReloc(spec: CoreSpec): void {
    switch (spec.reloKind) {
      case ReloKind.FIELD_BYTE_OFFSET:
      case ReloKind.FIELD_BYTE_SIZE:
      case ReloKind.FIELD_EXISTS:
      case ReloKind.FIELD_SIGNED:
      case ReloKind.FIELD_LSHIFT_U64:
      case ReloKind.FIELD_RSHIFT_U64:
        this.recordFieldRelo(spec);
        return;
      case ReloKind.TYPE_ID_LOCAL:
        return;
      case ReloKind.TYPE_ID_TARGET:
      case ReloKind.TYPE_EXISTS:
      case ReloKind.TYPE_SIZE:
        this.markType(spec.rootTypeId, true); // btfgen_record_type_relo
        return;
      case ReloKind.TYPE_MATCHES:
        this.markTypeMatch(spec.rootTypeId, false); // btfgen_record_type_match_relo
        return;
      case ReloKind.ENUMVAL_EXISTS:
      case ReloKind.ENUMVAL_VALUE:
        this.markType(spec.rootTypeId, false); // btfgen_record_enumval_relo
        return;
      default:
        throw new MarkError(`unknown relocation kind ${spec.reloKind}`);
    }
  }
}
