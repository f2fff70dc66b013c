// Test helper: hand-assembles raw BTF blobs (any header length, gaps, layout section, either
// byte order) from u32 words and a string list, so unit tests can state exact bytes.

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
