// Test helper: converts a raw BTF blob to the other byte order (LE <-> BE), the way a
// big-endian pahole/clang would have written it. Every type record is a sequence of u32
// words; the layout section holds {u8 info_sz, u8 elem_sz, u16 flags}; strings are bytes.
const MAGIC = 0xeb9f;

export function swapBtfEndian(raw: Uint8Array): Uint8Array {
  const src = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let le: boolean;
  if (src.getUint16(0, true) === MAGIC) le = true;
  else if (src.getUint16(0, false) === MAGIC) le = false;
  else throw new Error('swapBtfEndian: not a BTF blob');
  const out = new Uint8Array(raw); // copy; strings and the version/flags bytes stay as they are
  const dst = new DataView(out.buffer);
  dst.setUint16(0, MAGIC, !le);
  const hdrLen = src.getUint32(4, le);
  for (let o = 4; o + 4 <= hdrLen; o += 4) dst.setUint32(o, src.getUint32(o, le), !le);
  const typeOff = src.getUint32(8, le);
  const typeLen = src.getUint32(12, le);
  const t0 = hdrLen + typeOff;
  for (let o = t0; o + 4 <= t0 + typeLen; o += 4) dst.setUint32(o, src.getUint32(o, le), !le);
  if (hdrLen >= 32) {
    const layoutOff = src.getUint32(24, le);
    const layoutLen = src.getUint32(28, le);
    const l0 = hdrLen + layoutOff;
    for (let o = l0; o + 4 <= l0 + layoutLen; o += 4) dst.setUint16(o + 2, src.getUint16(o + 2, le), !le);
  }
  return out;
}

/** True for a big-endian blob (magic bytes EB 9F). */
export function isBigEndianBtf(raw: Uint8Array): boolean {
  return raw[0] === 0xeb && raw[1] === 0x9f;
}
