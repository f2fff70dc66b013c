// Text dump in the format of `bpftool btf dump file FILE` (raw format): dump_btf_raw() and
// dump_btf_type() in bpftool's src/btf.c, byte for byte as bpftool v7.1 (libbpf 1.1) prints it.
//
// Output is produced as latin1 strings: every name byte becomes one UTF-16 code unit, so
// `Buffer.from(chunk, 'latin1')` writes the original bytes back (names are bytes, not UTF-8).
//
// Differences from bpftool 7.1, all on input 7.1 cannot read at all:
// - kinds are 7 bits and vlen 24 bits wide (libbpf >= 1.8); 7.1 masks them to 5 and 16 bits;
// - kinds known only through a layout section print as `UNKNOWN` with no details (current
//   bpftool does the same).
import { Buffer } from 'node:buffer';
import type { Btf } from './btf.js';
import { Kind, KIND_NAMES, KIND_MAX } from './kinds.js';

export interface DumpOptions {
  /** Approximate size in characters (= bytes) of each yielded chunk. Default 1 MiB. */
  chunkSize?: number;
  /**
   * Dump only these type IDs, in this order (bpftool's root_type_ids). Default: every type of
   * `btf` (for split BTF only the split part, IDs continuing from the base).
   */
  ids?: Iterable<number>;
}

/** btf_int_enc_str(). */
function intEncStr(enc: number): string {
  switch (enc) {
    case 0:
      return '(none)';
    case 1:
      return 'SIGNED';
    case 2:
      return 'CHAR';
    case 4:
      return 'BOOL';
    default:
      return 'UNKN';
  }
}

/** btf_var_linkage_str() / btf_func_linkage_str(). */
function linkageStr(l: number): string {
  switch (l) {
    case 0:
      return 'static';
    case 1:
      return 'global';
    case 2:
      return 'extern';
    default:
      return '(unknown)';
  }
}

/** btf_kind_str[btf_kind_safe(kind)]. */
function kindLabel(kind: number): string {
  return kind <= KIND_MAX ? KIND_NAMES[kind]! : 'UNKNOWN';
}

const TWO32 = 4294967296;

/** ENUM64 value as `%lldLL` (signed) or `%lluULL` (unsigned). */
function enum64Str(lo: number, hi: number, signed: boolean): string {
  if (signed && hi & 0x80000000) {
    // Negative: -(2^64 - v).
    if (hi === 0xffffffff && lo !== 0) return `-${TWO32 - lo}LL`;
    return `${BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo))}LL`;
  }
  const suffix = signed ? 'LL' : 'ULL';
  if (hi < 0x200000) return `${hi * TWO32 + lo}${suffix}`;
  return `${(BigInt(hi) << 32n) | BigInt(lo)}${suffix}`;
}

/**
 * Yields the dump in latin1 string chunks of roughly `chunkSize` characters, each ending at a
 * line boundary. Concatenated, the chunks are exactly bpftool's output.
 */
export function* dumpBtfChunks(btf: Btf, options: DumpOptions = {}): Generator<string, void, undefined> {
  const chunkSize = options.chunkSize ?? 1 << 20;
  const offsets = btf.offsets;
  const startId = btf.startId;
  const typeCnt = btf.typeCount;

  // btf_str(): "(anon)" for offset 0, "(invalid)" for an offset past the string section.
  const names = new Map<number, string>();
  const str = (off: number): string => {
    if (off === 0) return '(anon)';
    let s = names.get(off);
    if (s === undefined) {
      s = btf.validStr(off) ? btf.str(off) : '(invalid)';
      names.set(off, s);
    }
    return s;
  };
  // Head words of any ID, this BTF's or the base's (for DATASEC variable names).
  const kindOf = (id: number): number => (id === 0 ? 0 : btf.kind(id));
  const nameOffOf = (id: number): number => (id === 0 ? 0 : btf.nameOff(id));

  let out = '';
  const one = (words: Uint32Array, w: number, id: number): void => {
    const info = words[w + 1]!;
    const kind = (info >>> 24) & 0x7f;
    const vlen = info & 0xffffff;
    const kflag = info >>> 31 === 1;
    const sot = words[w + 2]!;
    let s = `[${id}] ${kindLabel(kind)} '${str(words[w]!)}'`;
    switch (kind) {
      case Kind.INT: {
        const v = words[w + 3]!;
        s += ` size=${sot} bits_offset=${(v >>> 16) & 0xff} nr_bits=${v & 0xff} encoding=${intEncStr((v >>> 24) & 0x0f)}`;
        break;
      }
      case Kind.PTR:
      case Kind.CONST:
      case Kind.VOLATILE:
      case Kind.RESTRICT:
      case Kind.TYPEDEF:
      case Kind.TYPE_TAG:
        s += ` type_id=${sot}`;
        break;
      case Kind.ARRAY:
        s += ` type_id=${words[w + 3]!} index_type_id=${words[w + 4]!} nr_elems=${words[w + 5]!}`;
        break;
      case Kind.STRUCT:
      case Kind.UNION:
        s += ` size=${sot} vlen=${vlen}`;
        for (let i = 0, p = w + 3; i < vlen; i++, p += 3) {
          const off = words[p + 2]!;
          if (kflag) {
            const bitSz = off >>> 24;
            s += `\n\t'${str(words[p]!)}' type_id=${words[p + 1]!} bits_offset=${off & 0xffffff}`;
            if (bitSz) s += ` bitfield_size=${bitSz}`;
          } else {
            s += `\n\t'${str(words[p]!)}' type_id=${words[p + 1]!} bits_offset=${off}`;
          }
        }
        break;
      case Kind.ENUM:
        s += ` encoding=${kflag ? 'SIGNED' : 'UNSIGNED'} size=${sot} vlen=${vlen}`;
        for (let i = 0, p = w + 3; i < vlen; i++, p += 2) {
          const v = words[p + 1]!;
          s += `\n\t'${str(words[p]!)}' val=${kflag ? v | 0 : v}`;
        }
        break;
      case Kind.ENUM64:
        s += ` encoding=${kflag ? 'SIGNED' : 'UNSIGNED'} size=${sot} vlen=${vlen}`;
        for (let i = 0, p = w + 3; i < vlen; i++, p += 3) {
          s += `\n\t'${str(words[p]!)}' val=${enum64Str(words[p + 1]!, words[p + 2]!, kflag)}`;
        }
        break;
      case Kind.FWD:
        s += kflag ? ' fwd_kind=union' : ' fwd_kind=struct';
        break;
      case Kind.FUNC:
        s += ` type_id=${sot} linkage=${linkageStr(vlen)}`;
        break;
      case Kind.FUNC_PROTO:
        s += ` ret_type_id=${sot} vlen=${vlen}`;
        for (let i = 0, p = w + 3; i < vlen; i++, p += 2) {
          s += `\n\t'${str(words[p]!)}' type_id=${words[p + 1]!}`;
        }
        break;
      case Kind.VAR:
        s += ` type_id=${sot}, linkage=${linkageStr(words[w + 3]!)}`;
        break;
      case Kind.DATASEC:
        s += ` size=${sot} vlen=${vlen}`;
        for (let i = 0, p = w + 3; i < vlen; i++, p += 3) {
          const vt = words[p]!;
          s += `\n\ttype_id=${vt} offset=${words[p + 1]!} size=${words[p + 2]!}`;
          if (vt < typeCnt) s += ` (${kindLabel(kindOf(vt))} '${str(nameOffOf(vt))}')`;
        }
        break;
      case Kind.FLOAT:
        s += ` size=${sot}`;
        break;
      case Kind.DECL_TAG:
        s += ` type_id=${sot} component_idx=${words[w + 3]! | 0}`;
        break;
      default:
        break;
    }
    out += s + '\n';
  };

  if (options.ids) {
    for (const id of options.ids) {
      const [b, w] = btf.locate(id); // throws BtfError for an ID out of range
      if (w < 0) out += `[${id}] UNKNOWN '(anon)'\n`;
      else one(b.words, w, id);
      if (out.length >= chunkSize) {
        yield out;
        out = '';
      }
    }
  } else {
    const words = btf.words;
    for (let id = startId; id < typeCnt; id++) {
      one(words, offsets[id - startId]!, id);
      if (out.length >= chunkSize) {
        yield out;
        out = '';
      }
    }
  }
  if (out.length) yield out;
}

/** The whole dump as one latin1 string (see dumpBtfChunks). */
export function dumpBtf(btf: Btf, options: Omit<DumpOptions, 'chunkSize'> = {}): string {
  let s = '';
  for (const c of dumpBtfChunks(btf, { ...options, chunkSize: 1 << 24 })) s += c;
  return s;
}

/** The dump as bytes (latin1-encoded: name bytes come back unchanged). */
export function dumpBtfBytes(btf: Btf, options: Omit<DumpOptions, 'chunkSize'> = {}): Uint8Array {
  const parts: Buffer[] = [];
  let total = 0;
  for (const c of dumpBtfChunks(btf, options)) {
    const b = Buffer.from(c, 'latin1');
    parts.push(b);
    total += b.length;
  }
  return Buffer.concat(parts, total);
}
