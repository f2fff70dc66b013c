// Output building: bpftool's btfgen_get_btf() (gen.c). Pass 1 walks the source IDs in
// ascending order and appends each marked type: structs/unions are rebuilt with
// btf__add_struct/union + btf__add_field for the marked members only (kind_flag recomputed
// by btf__add_field), every other kind is copied with btf__add_type (strings re-interned in
// first-use order). Pass 2 remaps every type-ID field through the old -> new ID table;
// references to unmarked types become 0 (void).
import type { Btf } from '../btf/btf.js';
import { BtfBuilder, type HeaderLen } from '../btf/builder.js';
import { Kind } from '../btf/kinds.js';
import { BtfError } from '../errors.js';
import type { Marks } from './marks.js';

/** btf__add_field() rejected a kept member (bpftool: "error generating BTF", -EINVAL). */
export class EmitError extends Error {}

export function emitBtf(src: Btf, marks: Marks, headerLen: HeaderLen = 24): Uint8Array {
  const b = new BtfBuilder();
  const n = src.typeCount;
  const ids = new Uint32Array(n);
  for (const i of marks.markedIds()) {
    const kind = src.kind(i);
    let newId: number;
    if (kind === Kind.STRUCT || kind === Kind.UNION) {
      newId = b.addComposite(kind, src.name(i), src.size(i));
      const m = marks.members.get(i);
      if (m) {
        const vlen = Math.min(m.length, src.vlen(i) & 0xffff);
        for (let idx = 0; idx < vlen; idx++) {
          if (!m[idx]) continue;
          const name = src.memberName(i, idx);
          try {
            b.addField(name, src.memberType(i, idx), src.memberBitOffset(i, idx), src.memberBitfieldSize(i, idx));
          } catch (e) {
            if (e instanceof BtfError)
              throw new EmitError(`cannot add member '${name}' (#${idx}) of [${i}] ${src.name(i) || '(anon)'}: ${e.message}`);
            throw e;
          }
        }
      }
    } else {
      newId = b.addTypeCopy(src, i);
    }
    ids[i] = newId;
  }
  b.remapTypeIds((id) => (id < n ? ids[id]! : 0));
  return b.serialize(headerLen);
}
