// Hot-path reads of a parsed BTF straight from its word array (libbpf's btf_type_by_id() +
// field access), for base (non-split) BTFs; split BTFs go through the Btf methods.
import type { Btf } from '../btf/btf.js';
import { Kind } from '../btf/kinds.js';

/** skip_mods_and_typedefs() without per-step method calls. */
export function skipMods(btf: Btf, id: number): number {
  if (btf.base) return btf.skipModsAndTypedefs(id);
  const words = btf.words;
  const offs = btf.offsets;
  const n = btf.count;
  for (let guard = 0; guard < 4096; guard++) {
    if (id === 0) return 0;
    const i = id - 1;
    if (i >= n) break;
    const w = offs[i]!;
    const k = (words[w + 1]! >>> 24) & 0x7f;
    if (k !== Kind.TYPEDEF && k !== Kind.CONST && k !== Kind.VOLATILE && k !== Kind.RESTRICT && k !== Kind.TYPE_TAG) return id;
    id = words[w + 2]!;
  }
  return btf.skipModsAndTypedefs(id); // out of range or a long chain: the checked path
}
