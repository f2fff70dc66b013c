// Field shapes: which candidates a field relocation cannot tell apart.
//
// A non-deduplicated kernel (CentOS 8's, 44 MB of BTF) holds one copy of `struct task_struct`
// per compilation unit: 811 candidates that bpf_core_calc_relo_insn() matches one by one, for
// every relocation on that root. A field relocation (bpf_core_spec_match() on a field spec,
// then bpf_core_calc_field_relo()) only walks a candidate's by-value type graph: composite
// members, array elements and modifier/typedef chains. It never follows a pointer (a PTR
// field is compatible and 8 bytes wide whatever it points to). Two candidates whose by-value
// graphs are the same record for record, up to type IDs, give the same outcome (match or not,
// bit offset, value, poison) and differ only in the type IDs of the spec.
//
// shapeOf() gives each type the class of its by-value graph: equal classes mean equal graphs.
// Exact by construction: a class is the type's own words with every by-value reference replaced
// by the class of the referenced type, interned by content (equal words, not equal hashes).
// Whatever the walk could observe is in the words, or made part of them:
// - the bit of the word after the 12-byte head that FIELD_SIGNED reads for any kind (see
//   Btf.wordAfterHead(): for some kinds another record's first word);
// - for a bitfield member, the size word of its type past modifiers and typedefs, which
//   bpf_core_calc_field_relo() reads even where it holds a type ID.
// Anything else gets a class of its own, so it is never taken for another type: kinds a field
// walk does not expect (FUNC, VAR, ...), references out of range, cycles and nesting deeper
// than MAX_DEPTH.
import { Btf } from '../btf/btf.js';
import { Kind } from '../btf/kinds.js';

const IN_PROGRESS = -1;
/** Class of type ID 0 (void). */
const VOID = 1;
/** By-value nesting deeper than this gets classes of its own (valid kernels stay near 15). */
const MAX_DEPTH = 64;
/** Bounds the modifier/typedef walk of a bitfield member's type. */
const MAX_MODS = 64;

/** By-value shape classes of one (base, non-split) target BTF, computed on demand. */
export class FieldShapes {
  /** Per type ID: 0 not computed yet, IN_PROGRESS, or the class. */
  private readonly classes: Int32Array;
  /** Interned keys: hash -> [key, class] pairs. */
  private readonly interned = new Map<number, { key: Int32Array; cls: number }[]>();
  private next = VOID + 1;
  /**
   * Keys under construction, as a stack: a type's key takes the next keyLength() words and the
   * keys of the types it refers to are built above it.
   */
  private stack = new Int32Array(4096);
  private top = 0;

  constructor(private readonly btf: Btf) {
    this.classes = new Int32Array(btf.typeCount);
  }

  /** The class of `id`'s by-value type graph. */
  shapeOf(id: number): number {
    return this.classOf(id, 0);
  }

  private unique(): number {
    return this.next++;
  }

  private classOf(id: number, depth: number): number {
    if (id === 0) return VOID;
    if (id < 0 || id >= this.classes.length) return this.unique();
    const known = this.classes[id]!;
    if (known > 0) return known;
    if (known === IN_PROGRESS || depth >= MAX_DEPTH) return this.unique();
    this.classes[id] = IN_PROGRESS;
    const cls = this.compute(id, depth);
    this.classes[id] = cls;
    return cls;
  }

  /**
   * The key of `id`: its info and name words, the FIELD_SIGNED bit, then per kind its other
   * words with by-value references replaced by classes; interned to a class.
   */
  private compute(id: number, depth: number): number {
    const { words, offsets } = this.btf;
    const w = offsets[id - 1]!;
    const info = words[w + 1]!;
    const kind = (info >>> 24) & 0x7f;
    const vlen = info & 0xffffff;
    const len = keyLength(kind, vlen);
    if (len < 0) return this.unique();
    const at = this.reserve(len);
    const key = this.stack;
    const after = w + 3 < words.length ? words[w + 3]! : this.btf.wordAfterHead(id);
    key[at] = info;
    key[at + 1] = words[w]!;
    key[at + 2] = (after >>> 24) & 1;
    let k = at + 3;
    let ok = true;
    switch (kind) {
      case Kind.INT:
        key[k++] = words[w + 2]!;
        key[k++] = words[w + 3]!;
        break;
      case Kind.PTR:
        break; // the pointee is never looked at
      case Kind.ARRAY:
        key[k++] = words[w + 5]!;
        key[k++] = this.classOf(words[w + 3]!, depth + 1);
        key[k++] = this.classOf(words[w + 4]!, depth + 1);
        break;
      case Kind.STRUCT:
      case Kind.UNION: {
        key[k++] = words[w + 2]!;
        const kflag = info >>> 31 === 1;
        for (let i = 0, p = w + 3; i < vlen; i++, p += 3) {
          const type = words[p + 1]!;
          const offset = words[p + 2]!;
          key[k++] = words[p]!;
          key[k++] = offset;
          key[k++] = this.classOf(type, depth + 1);
          // the size word of a bitfield's type (0 for other members)
          const size = kflag && offset >>> 24 !== 0 ? this.sizeWordPastMods(type) : 0;
          if (size < 0) ok = false;
          key[k++] = size;
        }
        break;
      }
      case Kind.ENUM:
      case Kind.ENUM64:
        for (let i = w + 2; i < w + len - 1; i++) key[k++] = words[i]!;
        break;
      case Kind.FWD:
      case Kind.FLOAT:
        key[k++] = words[w + 2]!;
        break;
      default: // TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG
        key[k++] = this.classOf(words[w + 2]!, depth + 1);
    }
    const cls = ok ? this.intern(at, len) : this.unique();
    this.top = at;
    return cls;
  }

  /** Takes `len` words on top of the key stack; returns where they start. */
  private reserve(len: number): number {
    const at = this.top;
    if (at + len > this.stack.length) {
      const grown = new Int32Array(Math.max(this.stack.length * 2, at + len));
      grown.set(this.stack.subarray(0, at));
      this.stack = grown;
    }
    this.top = at + len;
    return at;
  }

  /** The size word of `id` past modifiers and typedefs, or -1 when that walk goes wrong. */
  private sizeWordPastMods(id: number): number {
    const { words, offsets } = this.btf;
    for (let n = 0; n < MAX_MODS; n++) {
      if (id <= 0 || id >= this.classes.length) return -1;
      const w = offsets[id - 1]!;
      if (!Btf.isModOrTypedef((words[w + 1]! >>> 24) & 0x7f)) return words[w + 2]!;
      id = words[w + 2]!;
    }
    return -1;
  }

  /** The class of the key at stack[at, at + len): an existing one with equal words, or a new one. */
  private intern(at: number, len: number): number {
    const stack = this.stack;
    let h = 0x811c9dc5 ^ len;
    for (let i = at; i < at + len; i++) h = Math.imul(h ^ stack[i]!, 0x01000193);
    h >>>= 0;
    let bucket = this.interned.get(h);
    if (!bucket) this.interned.set(h, (bucket = []));
    next: for (const e of bucket) {
      if (e.key.length !== len) continue;
      for (let i = 0; i < len; i++) if (e.key[i] !== stack[at + i]) continue next;
      return e.cls;
    }
    const cls = this.next++;
    bucket.push({ key: stack.slice(at, at + len), cls });
    return cls;
  }
}

/**
 * Words in the key of a type of `kind` with `vlen` (3 common ones first), or -1 for the kinds a
 * field walk does not expect.
 */
function keyLength(kind: number, vlen: number): number {
  switch (kind) {
    case Kind.INT:
      return 5;
    case Kind.PTR:
      return 3;
    case Kind.ARRAY:
      return 6;
    case Kind.STRUCT:
    case Kind.UNION:
      return 4 + 4 * vlen;
    case Kind.ENUM:
      return 4 + 2 * vlen;
    case Kind.ENUM64:
      return 4 + 3 * vlen;
    case Kind.FWD:
    case Kind.FLOAT:
    case Kind.TYPEDEF:
    case Kind.VOLATILE:
    case Kind.CONST:
    case Kind.RESTRICT:
    case Kind.TYPE_TAG:
      return 4;
    default:
      return -1;
  }
}

const shapesByBtf = new WeakMap<Btf, FieldShapes>();

/** The field shapes of a base target BTF (split BTFs are not supported: undefined). */
export function fieldShapes(btf: Btf): FieldShapes | undefined {
  if (btf.base) return undefined;
  let s = shapesByBtf.get(btf);
  if (!s) shapesByBtf.set(btf, (s = new FieldShapes(btf)));
  return s;
}
