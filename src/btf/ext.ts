// .BTF.ext: func_info, line_info and CO-RE relocation subsections. Mirrors libbpf's
// btf_ext_parse_hdr / btf_ext_setup_info (libbpf_internal.h btf_ext_header & btf_ext_info_sec).
// Big-endian sections are accepted when every record has exactly the minimum size (what
// newer libbpf requires to byte-swap them); records are returned in host order.
import { BtfError } from '../errors.js';
import { BTF_MAGIC } from './kinds.js';

export interface FuncInfo {
  insnOff: number;
  typeId: number;
}
export interface LineInfo {
  insnOff: number;
  fileNameOff: number;
  lineOff: number;
  lineCol: number;
}
/** struct bpf_core_relo. */
export interface CoreRelo {
  insnOff: number;
  typeId: number;
  accessStrOff: number;
  kind: number;
}
export interface ExtInfoSection<T> {
  /** Offset of the ELF section name (e.g. "kprobe/do_nanosleep") in the object's .BTF strings. */
  secNameOff: number;
  records: T[];
}
export interface ExtInfo<T> {
  /** Record size as stored (>= the minimum; larger records from newer compilers are accepted). */
  recSize: number;
  sections: ExtInfoSection<T>[];
}
export interface BtfExt {
  hdrLen: number;
  endian: 'little' | 'big';
  funcInfo: ExtInfo<FuncInfo>;
  lineInfo: ExtInfo<LineInfo>;
  coreRelo: ExtInfo<CoreRelo>;
}

export function parseBtfExt(bytes: Uint8Array): BtfExt {
  const size = bytes.byteLength;
  if (size < 8) throw new BtfError(`.BTF.ext header not found: section is ${size} bytes`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le: boolean;
  if (dv.getUint16(0, true) === BTF_MAGIC) le = true;
  else if (dv.getUint16(0, false) === BTF_MAGIC) le = false;
  else throw new BtfError(`invalid .BTF.ext magic 0x${dv.getUint16(0, true).toString(16)} (expected 0xeb9f)`);
  const version = bytes[2]!;
  const flags = bytes[3]!;
  const hdrLen = dv.getUint32(4, le);
  // btf_ext_parse_hdr's order: the header length first (EINVAL), then version and flags (ENOTSUP).
  if (size < hdrLen) throw new BtfError(`.BTF.ext header length ${hdrLen} is larger than the section (${size} bytes)`);
  if (version !== 1) throw new BtfError(`unsupported .BTF.ext version ${version}`);
  if (flags !== 0) throw new BtfError(`unsupported .BTF.ext flags 0x${flags.toString(16)}`);
  if (size === hdrLen) throw new BtfError('.BTF.ext has no data');
  if (hdrLen < 24) throw new BtfError(`.BTF.ext header length ${hdrLen} is shorter than 24 bytes`);

  const sub = <T>(
    desc: string,
    off: number,
    len: number,
    minRec: number,
    read: (p: number) => T,
  ): ExtInfo<T> => {
    const out: ExtInfo<T> = { recSize: 0, sections: [] };
    if (len === 0) return out;
    if (off % 4) throw new BtfError(`.BTF.ext ${desc} subsection is not aligned to 4 bytes`);
    const start = hdrLen + off;
    if (start + len > size)
      throw new BtfError(`.BTF.ext ${desc} subsection (off:${off} len:${len}) is beyond the end of the section`);
    if (len < 4) throw new BtfError(`.BTF.ext ${desc} record size not found`);
    const recSize = dv.getUint32(start, le);
    if (recSize < minRec || recSize % 4)
      throw new BtfError(`.BTF.ext ${desc} subsection has invalid record size ${recSize}`);
    if (!le && recSize !== minRec)
      throw new BtfError(`.BTF.ext ${desc}: big-endian records must be exactly ${minRec} bytes, got ${recSize}`);
    out.recSize = recSize;
    let p = start + 4;
    let left = len - 4;
    if (!left) throw new BtfError(`.BTF.ext ${desc} subsection has no records`);
    while (left) {
      if (left < 8) throw new BtfError(`.BTF.ext ${desc} block header is not found`);
      const secNameOff = dv.getUint32(p, le);
      const num = dv.getUint32(p + 4, le);
      if (num === 0) throw new BtfError(`.BTF.ext ${desc} block has incorrect num_records 0`);
      const total = 8 + num * recSize;
      if (left < total) throw new BtfError(`.BTF.ext ${desc} block has incorrect num_records ${num}`);
      const records: T[] = new Array(num);
      for (let i = 0, q = p + 8; i < num; i++, q += recSize) records[i] = read(q);
      out.sections.push({ secNameOff, records });
      p += total;
      left -= total;
    }
    return out;
  };

  const u = (o: number) => dv.getUint32(o, le);
  const funcInfo = sub('func_info', u(8), u(12), 8, (q) => ({ insnOff: u(q), typeId: u(q + 4) }));
  const lineInfo = sub('line_info', u(16), u(20), 16, (q) => ({
    insnOff: u(q),
    fileNameOff: u(q + 4),
    lineOff: u(q + 8),
    lineCol: u(q + 12),
  }));
  const coreRelo =
    hdrLen >= 32
      ? sub('core_relo', u(24), u(28), 16, (q) => ({ insnOff: u(q), typeId: u(q + 4), accessStrOff: u(q + 8), kind: u(q + 12) }))
      : { recSize: 0, sections: [] };
  return { hdrLen, endian: le ? 'little' : 'big', funcInfo, lineInfo, coreRelo };
}
