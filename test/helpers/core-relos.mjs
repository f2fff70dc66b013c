// SPDX-License-Identifier: MIT
// A tiny, independent reader of the CO-RE relocation records of a BPF object
// (ELF .BTF + .BTF.ext), used by the fixture tests and scripts/dump-core-relos.mjs
// to check what the committed objects really contain. It is deliberately separate
// from src/btf (the code under test) and only as strict as it needs to be.
// Plain JS (ESM) so scripts can use it without a build; types in core-relos.d.mts.

export const RELO_KIND_NAMES = [
  'FIELD_BYTE_OFFSET', 'FIELD_BYTE_SIZE', 'FIELD_EXISTS', 'FIELD_SIGNED',
  'FIELD_LSHIFT_U64', 'FIELD_RSHIFT_U64', 'TYPE_ID_LOCAL', 'TYPE_ID_TARGET',
  'TYPE_EXISTS', 'TYPE_SIZE', 'ENUMVAL_EXISTS', 'ENUMVAL_VALUE', 'TYPE_MATCHES',
];

const BTF_KIND_NAMES = [
  'UNKN', 'INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'FWD', 'TYPEDEF',
  'VOLATILE', 'CONST', 'RESTRICT', 'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC', 'FLOAT',
  'DECL_TAG', 'TYPE_TAG', 'ENUM64',
];

/** @param {Uint8Array} buf */
export function elfSections(buf) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf[0] !== 0x7f || buf[1] !== 0x45 || buf[2] !== 0x4c || buf[3] !== 0x46) {
    throw new Error('not an ELF file');
  }
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const u16 = (o) => dv.getUint16(o, le);
  const u32 = (o) => dv.getUint32(o, le);
  const uN = (o) => (is64 ? Number(dv.getBigUint64(o, le)) : dv.getUint32(o, le));
  const shoff = is64 ? uN(0x28) : u32(0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const shstrndx = u16(is64 ? 0x3e : 0x32);
  const hdrs = [];
  for (let i = 0; i < shnum; i++) {
    const b = shoff + i * shentsize;
    hdrs.push({
      nameOff: u32(b),
      type: u32(b + 4),
      offset: is64 ? uN(b + 24) : u32(b + 16),
      size: is64 ? uN(b + 32) : u32(b + 20),
    });
  }
  const strtab = hdrs[shstrndx];
  const cstr = (off) => {
    let e = off;
    while (buf[e] !== 0) e++;
    return Buffer.from(buf.subarray(off, e)).toString('latin1');
  };
  /** @type {Map<string, {type:number, data:Uint8Array}>} */
  const out = new Map();
  for (const h of hdrs) {
    const name = cstr(strtab.offset + h.nameOff);
    out.set(name, { type: h.type, data: buf.subarray(h.offset, h.offset + (h.type === 8 ? 0 : h.size)) });
  }
  return { is64, littleEndian: le, sections: out };
}

function btfTypes(btf) {
  const dv = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  const magic = dv.getUint16(0, true);
  const le = magic === 0xeb9f;
  if (!le && dv.getUint16(0, false) !== 0xeb9f) throw new Error('bad BTF magic');
  const u32 = (o) => dv.getUint32(o, le);
  const hdrLen = u32(4);
  const typeOff = hdrLen + u32(8);
  const typeLen = u32(12);
  const strOff = hdrLen + u32(16);
  const strLen = u32(20);
  const str = (off) => {
    let e = strOff + off;
    const end = strOff + strLen;
    while (e < end && btf[e] !== 0) e++;
    return Buffer.from(btf.subarray(strOff + off, e)).toString('latin1');
  };
  const types = [{ name: '', kind: 'UNKN' }];
  let p = typeOff;
  const end = typeOff + typeLen;
  while (p < end) {
    const nameOff = u32(p);
    const info = u32(p + 4);
    const kind = (info >>> 24) & 0x7f;
    const vlen = info & 0xffffff;
    let extra = 0;
    switch (kind) {
      case 1: case 14: case 17: extra = 4; break;
      case 3: extra = 12; break;
      case 4: case 5: extra = 12 * vlen; break;
      case 6: extra = 8 * vlen; break;
      case 13: extra = 8 * vlen; break;
      case 15: extra = 12 * vlen; break;
      case 19: extra = 12 * vlen; break;
      default: extra = 0;
    }
    types.push({ name: str(nameOff), kind: BTF_KIND_NAMES[kind] ?? `KIND${kind}` });
    p += 12 + extra;
  }
  return { littleEndian: le, types, str };
}

/**
 * Read every CO-RE relocation record of a BPF object, in file order.
 * @param {Uint8Array} buf the ELF file
 */
export function readCoreRelos(buf) {
  const elf = elfSections(buf);
  const btfSec = elf.sections.get('.BTF');
  const extSec = elf.sections.get('.BTF.ext');
  const result = {
    hasBtf: !!btfSec,
    hasBtfExt: !!extSec,
    elfLittleEndian: elf.littleEndian,
    elf64: elf.is64,
    /** @type {Array<{section:string, insnOff:number, typeId:number, typeName:string, typeKind:string, access:string, kind:number, kindName:string}>} */
    relos: [],
  };
  if (!btfSec || !extSec) return result;
  const { types, str, littleEndian } = btfTypes(btfSec.data);
  const ext = extSec.data;
  const dv = new DataView(ext.buffer, ext.byteOffset, ext.byteLength);
  const le = littleEndian;
  const u32 = (o) => dv.getUint32(o, le);
  const hdrLen = u32(4);
  if (hdrLen < 32) return result;
  const off = hdrLen + u32(24);
  const len = u32(28);
  if (len === 0) return result;
  const recSize = u32(off);
  let p = off + 4;
  const end = off + len;
  while (p < end) {
    const secName = str(u32(p));
    const n = u32(p + 4);
    p += 8;
    for (let i = 0; i < n; i++, p += recSize) {
      const typeId = u32(p + 4);
      const kind = u32(p + 12);
      const t = types[typeId] ?? { name: '?', kind: '?' };
      result.relos.push({
        section: secName,
        insnOff: u32(p),
        typeId,
        typeName: t.name,
        typeKind: t.kind,
        access: str(u32(p + 8)),
        kind,
        kindName: RELO_KIND_NAMES[kind] ?? `KIND${kind}`,
      });
    }
  }
  return result;
}
