// The part of an eBPF object that decides what `minimize` keeps from a kernel: its CO-RE
// relocation records (kind, access string, in order) and the local BTF types they reach. This
// is the pack cache's object key, so that recompiling a program whose relocations did not change
// (new instruction offsets, new line info, other functions) does not minimize every kernel again.
//
// The fingerprint is a canonical serialization: types reachable from the relocation roots are
// numbered in first-visit order, every string offset is replaced by the string's bytes and every
// type ID by its canonical number, so unrelated types, string-table layout and type-ID shuffles
// do not change it, while any change to a reached type (a name, a member, an offset, a size, an
// enumerator...) does. Instruction offsets and ELF section names are left out: bpftool's
// BTFGen never reads them. When an object holds something this serializer does not understand
// (an unknown BTF kind, a split/base BTF), it falls back to hashing the raw .BTF and .BTF.ext.
import { createHash, type Hash } from 'node:crypto';
import { Kind, loadBtf, type Btf, type BtfExt, type ElfFile } from '../btf/index.js';
import type { PreparedObject } from '../minimize/index.js';

/** Version of the serialization below; bump when it changes. */
const FORMAT = 'btfgen-core-fingerprint-v1';

/** How each 32-bit word of a record is read: V value, S string offset, T type ID. */
type Slot = 'V' | 'S' | 'T';

/** Word classes of the 3-word head and of the per-kind tail (fixed part, then each vlen element). */
function layoutOf(kind: number): { head: Slot; fixed: Slot[]; elem: Slot[] } | undefined {
  switch (kind) {
    case Kind.INT:
      return { head: 'V', fixed: ['V'], elem: [] };
    case Kind.PTR:
    case Kind.TYPEDEF:
    case Kind.VOLATILE:
    case Kind.CONST:
    case Kind.RESTRICT:
    case Kind.FUNC:
    case Kind.TYPE_TAG:
      return { head: 'T', fixed: [], elem: [] };
    case Kind.ARRAY:
      return { head: 'V', fixed: ['T', 'T', 'V'], elem: [] };
    case Kind.STRUCT:
    case Kind.UNION:
      return { head: 'V', fixed: [], elem: ['S', 'T', 'V'] };
    case Kind.ENUM:
      return { head: 'V', fixed: [], elem: ['S', 'V'] };
    case Kind.ENUM64:
      return { head: 'V', fixed: [], elem: ['S', 'V', 'V'] };
    case Kind.FWD:
    case Kind.FLOAT:
      return { head: 'V', fixed: [], elem: [] };
    case Kind.FUNC_PROTO:
      return { head: 'T', fixed: [], elem: ['S', 'T'] };
    case Kind.VAR:
      return { head: 'T', fixed: ['V'], elem: [] };
    case Kind.DATASEC:
      return { head: 'V', fixed: [], elem: ['T', 'V', 'V'] };
    case Kind.DECL_TAG:
      return { head: 'T', fixed: ['V'], elem: [] };
    default:
      return undefined;
  }
}

class Unsupported extends Error {}

class Writer {
  private buf = new Uint8Array(1 << 16);
  private dv = new DataView(this.buf.buffer);
  private len = 0;
  constructor(private readonly hash: Hash) {}
  private room(n: number): void {
    if (this.len + n > this.buf.length) this.flush();
    if (n > this.buf.length) {
      this.buf = new Uint8Array(n * 2);
      this.dv = new DataView(this.buf.buffer);
    }
  }
  u32(v: number): void {
    this.room(4);
    this.dv.setUint32(this.len, v >>> 0, true);
    this.len += 4;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  flush(): void {
    if (this.len) this.hash.update(this.buf.subarray(0, this.len));
    this.len = 0;
  }
}

/** Serializes the relocations of one object and the local types they reach. */
function writeObject(w: Writer, btf: Btf, ext: BtfExt | undefined, ptrSize: number): void {
  if (btf.base) throw new Unsupported('split BTF');
  const canon = new Map<number, number>([[0, 0]]);
  const strOf = (off: number): Uint8Array => {
    if (!btf.strings.has(off)) throw new Unsupported('bad string offset');
    return btf.strings.bytes(off);
  };
  // Iterative DFS: a type is serialized when first reached; its references are then visited in
  // record order. Canonical IDs are assigned at first reach, so references serialize as numbers.
  const visit = (root: number): number => {
    const known = canon.get(root);
    if (known !== undefined) return known;
    if (root >= btf.typeCount) throw new Unsupported('type ID out of range');
    const stack = [root];
    canon.set(root, canon.size);
    while (stack.length) {
      const id = stack.pop()!;
      const kind = btf.kind(id);
      const lay = layoutOf(kind);
      if (!lay) throw new Unsupported(`kind ${kind}`);
      const rec = btf.record(id);
      const vlen = btf.vlen(id);
      w.u32(0xffff0000 + canon.get(id)!); // record marker with its canonical ID
      w.bytes(strOf(rec[0]!));
      w.u32(rec[1]!);
      const slots: Slot[] = [lay.head, ...lay.fixed];
      for (let i = 0; i < vlen; i++) slots.push(...lay.elem);
      const pending: number[] = [];
      for (let i = 0; i < slots.length; i++) {
        const v = rec[2 + i];
        if (v === undefined) throw new Unsupported('short record');
        switch (slots[i]) {
          case 'V':
            w.u32(v);
            break;
          case 'S':
            w.bytes(strOf(v));
            break;
          case 'T': {
            let c = canon.get(v);
            if (c === undefined) {
              if (v >= btf.typeCount) throw new Unsupported('type ID out of range');
              c = canon.size;
              canon.set(v, c);
              pending.push(v);
            }
            w.u32(c);
            break;
          }
        }
      }
      // Visit in record order: push in reverse on the stack.
      for (let i = pending.length - 1; i >= 0; i--) stack.push(pending[i]!);
    }
    return canon.get(root)!;
  };

  w.u32(ptrSize);
  w.u32(btf.endian === 'big' ? 1 : 0);
  const sections = ext?.coreRelo.sections ?? [];
  w.u32(ext ? 1 : 0);
  for (const sec of sections) {
    for (const r of sec.records) {
      w.u32(0xfffe0000); // relocation marker
      w.u32(r.kind);
      w.bytes(strOf(r.accessStrOff));
      w.u32(visit(r.typeId));
    }
  }
  w.u32(0xfffd0000); // end of object
}

export interface ObjectInput {
  name: string;
  bytes: Uint8Array;
}

/** What the serializer reads of an object: its BTF, .BTF.ext and ELF pointer size (0: raw BTF). */
interface CoreParts {
  btf: Btf;
  ext: BtfExt | undefined;
  ptrSize: number;
}

function fingerprintOf(bytes: Uint8Array, parts: () => CoreParts): string {
  try {
    const { btf, ext, ptrSize } = parts();
    // btf__parse()'s validation: an object whose BTF fails it keeps the raw fingerprint
    btf.sanityCheck();
    const sub = createHash('sha256');
    const w = new Writer(sub);
    writeObject(w, btf, ext, ptrSize);
    w.flush();
    return `core:${sub.digest('hex')}`;
  } catch {
    return `raw:${createHash('sha256').update(bytes).digest('hex')}`;
  }
}

/**
 * sha256 (hex) of one object's CO-RE-relevant content, prefixed `core:`; or `raw:` + sha256 of
 * its bytes when it cannot be read (the failure itself is reported elsewhere).
 */
export function objectFingerprint(obj: ObjectInput): string {
  return fingerprintOf(obj.bytes, () => {
    const loaded = loadBtf(obj.bytes, { name: obj.name, noValidate: true });
    return { btf: loaded.btf, ext: loaded.ext, ptrSize: loaded.elf ? ptrSizeOf(loaded.elf) : 0 };
  });
}

/** objectFingerprint() of an object prepareObject() has parsed, from that parse. */
export function preparedFingerprint(obj: ObjectInput, prepared: PreparedObject): string {
  return fingerprintOf(obj.bytes, () => ({ btf: prepared.btf, ext: prepared.ext, ptrSize: ptrSizeOf(prepared.elf) }));
}

function ptrSizeOf(elf: ElfFile): number {
  return elf.bits === 32 ? 4 : 8;
}

/** Combines per-object fingerprints, in order, into one key (hex). */
export function combineFingerprints(perObject: readonly string[]): string {
  const hash = createHash('sha256');
  hash.update(`${FORMAT}\0${perObject.length}\0`);
  for (const f of perObject) hash.update(`${f}\0`);
  return hash.digest('hex');
}

/** sha256 (hex) of the CO-RE-relevant content of `objects`, in order. */
export function coreFingerprint(objects: readonly ObjectInput[]): string {
  return combineFingerprints(objects.map(objectFingerprint));
}
