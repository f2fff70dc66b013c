// Test helper: hand-assembles raw BTF blobs (any header length, gaps, layout section, either
// byte order) from u32 words and a string list, so unit tests can state exact bytes.

/** BTF kinds (numbers as in include/uapi/linux/btf.h). */
const K = { INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10, RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19 } as const;

/** A string section: "\0" then each string NUL-terminated; `off[name]` gives its offset. */
export class Strtab {
  readonly off: Record<string, number> = { '': 0 };
  private parts: string[] = ['\0'];
  private len = 1;
  constructor(...names: string[]) {
    for (const n of names) this.add(n);
  }
  add(name: string): number {
    const hit = this.off[name];
    if (hit !== undefined) return hit;
    const o = this.len;
    this.off[name] = o;
    this.parts.push(name + '\0');
    this.len += name.length + 1;
    return o;
  }
  get bytes(): Uint8Array {
    return Buffer.from(this.parts.join(''), 'latin1');
  }
}

export interface RawBtfSpec {
  /** Type section as u32 words (host values; written in the blob's byte order). */
  words: number[];
  /** String section bytes (default: a lone NUL). */
  strings?: Uint8Array;
  /** Header length (default 24). Fields past 32 bytes are zero-filled. */
  hdrLen?: number;
  /** Padding bytes between the header and the type section (type_off). */
  typeOff?: number;
  /** Bytes between the type section and the strings (str_off - type_len - type_off) when no layout. */
  gap?: number;
  /** Layout section placed right after the types (needs hdrLen >= 32). */
  layout?: Uint8Array;
  bigEndian?: boolean;
  /** Overrides written after computing the header: [byte offset, u32 value]. */
  patch?: Array<[number, number]>;
}

export function info(kind: number, vlen = 0, kflag = false): number {
  return ((kflag ? 0x80000000 : 0) | ((kind & 0x7f) << 24) | (vlen & 0xffffff)) >>> 0;
}

export function rawBtf(spec: RawBtfSpec): Uint8Array {
  const le = !spec.bigEndian;
  const hdrLen = spec.hdrLen ?? 24;
  const typeOff = spec.typeOff ?? 0;
  const typeLen = spec.words.length * 4;
  const layout = spec.layout ?? new Uint8Array(0);
  const layoutOff = typeOff + typeLen;
  const gap = layout.length ? layout.length : (spec.gap ?? 0);
  const strings = spec.strings ?? new Uint8Array([0]);
  const strOff = typeOff + typeLen + gap;
  const out = new Uint8Array(hdrLen + strOff + strings.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, le);
  out[2] = 1;
  dv.setUint32(4, hdrLen, le);
  dv.setUint32(8, typeOff, le);
  dv.setUint32(12, typeLen, le);
  dv.setUint32(16, strOff, le);
  dv.setUint32(20, strings.length, le);
  if (hdrLen >= 32 && layout.length) {
    dv.setUint32(24, layoutOff, le);
    dv.setUint32(28, layout.length, le);
  }
  spec.words.forEach((w, i) => dv.setUint32(hdrLen + typeOff + i * 4, w >>> 0, le));
  out.set(layout, hdrLen + layoutOff);
  out.set(strings, hdrLen + strOff);
  for (const [o, v] of spec.patch ?? []) dv.setUint32(o, v >>> 0, le);
  return out;
}

/** A layout section with the 20 standard kinds (0..19) plus `extra` entries [info_sz, elem_sz]. */
export function layoutSection(extra: Array<[number, number]> = []): Uint8Array {
  const std: Array<[number, number]> = [
    [0, 0], [4, 0], [0, 0], [12, 0], [0, 12], [0, 12], [0, 8], [0, 0], [0, 0], [0, 0],
    [0, 0], [0, 0], [0, 0], [0, 8], [4, 0], [0, 12], [0, 0], [4, 0], [0, 0], [0, 12],
  ];
  const all = [...std, ...extra];
  const b = new Uint8Array(all.length * 4);
  all.forEach(([i, e], k) => {
    b[k * 4] = i;
    b[k * 4 + 1] = e;
  });
  return b;
}

/** One BTF with every kind, used by most tests below. IDs in comments. */
export function everyKind(): { raw: Uint8Array; s: Strtab } {
  const s = new Strtab(
    'int', 'long', 'pair', 'lo', 'hi', 'u', 'a', 'b', 'e', 'NEG', 'POS', 'fwd_s', 'fwd_u', 'int_t',
    'fn', 'x', 'y', 'var', '.data', 'float', 'tag', 'user', 'e64', 'BIG', 'SMALL', 'bits',
  );
  const o = s.off;
  const words = [
    /* [1] INT int, signed 32 */ o.int!, info(K.INT), 4, (1 << 24) | 32,
    /* [2] INT long, 64, bit offset 3 (odd but legal) */ o.long!, info(K.INT), 8, (0 << 24) | (3 << 16) | 64,
    /* [3] PTR -> 1 */ 0, info(K.PTR), 1,
    /* [4] ARRAY of 1 [10] index 1 */ 0, info(K.ARRAY), 0, 1, 1, 10,
    /* [5] STRUCT pair {lo @0; hi @32} */ o.pair!, info(K.STRUCT, 2), 8, o.lo!, 1, 0, o.hi!, 1, 32,
    /* [6] UNION u {a; b} */ o.u!, info(K.UNION, 2), 8, o.a!, 1, 0, o.b!, 5, 0,
    /* [7] ENUM e signed {NEG=-3, POS=5} */ o.e!, info(K.ENUM, 2, true), 4, o.NEG!, -3 >>> 0, o.POS!, 5,
    /* [8] FWD struct */ o.fwd_s!, info(K.FWD), 0,
    /* [9] FWD union */ o.fwd_u!, info(K.FWD, 0, true), 0,
    /* [10] TYPEDEF int_t -> 1 */ o.int_t!, info(K.TYPEDEF), 1,
    /* [11] VOLATILE -> 10 */ 0, info(K.VOLATILE), 10,
    /* [12] CONST -> 11 */ 0, info(K.CONST), 11,
    /* [13] RESTRICT -> 3 */ 0, info(K.RESTRICT), 3,
    /* [14] FUNC_PROTO int (int x, pair *y, ...) */ 0, info(K.FUNC_PROTO, 3), 1, o.x!, 1, o.y!, 3, 0, 0,
    /* [15] FUNC fn global */ o.fn!, info(K.FUNC, 1), 14,
    /* [16] VAR var global -> 1 */ o.var!, info(K.VAR), 1, 1,
    /* [17] DATASEC .data {16 @0 size 4} */ o['.data']!, info(K.DATASEC, 1), 4, 16, 0, 4,
    /* [18] FLOAT float 4 */ o.float!, info(K.FLOAT), 4,
    /* [19] DECL_TAG tag -> 5, component 1 */ o.tag!, info(K.DECL_TAG), 5, 1,
    /* [20] TYPE_TAG user -> 1 */ o.user!, info(K.TYPE_TAG), 1,
    /* [21] ENUM64 e64 unsigned {BIG=2^63+1, SMALL=7} */ o.e64!, info(K.ENUM64, 2), 8, o.BIG!, 1, 0x80000000, o.SMALL!, 7, 0,
    /* [22] STRUCT bits, kflag {a:3 @0; b:5 @3} */ o.bits!, info(K.STRUCT, 2, true), 4, o.a!, 1, (3 << 24) | 0, o.b!, 1, (5 << 24) | 3,
    /* [23] DECL_TAG tag -> 15, component -1 */ o.tag!, info(K.DECL_TAG), 15, 0xffffffff,
  ];
  return { raw: rawBtf({ words, strings: s.bytes }), s };
}

