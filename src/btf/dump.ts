// Text dump in the format of `bpftool btf dump file FILE` (raw format): dump_btf_raw() and
// dump_btf_type() in bpftool's src/btf.c, byte for byte as bpftool v7.1 (libbpf 1.1) prints it.
//
// The dump is written straight into byte buffers: names are copied from the string section
// as raw bytes (never decoded), numbers are formatted in place. That keeps a 900k-type,
// 150 MB dump at about a second.
//
// Differences from bpftool 7.1, all on input 7.1 cannot read at all:
// - kinds are 7 bits and vlen 24 bits wide (libbpf >= 1.8); 7.1 masks them to 5 and 16 bits;
// - kinds known only through a layout section print as `UNKNOWN` with no details (current
//   bpftool does the same).
import { Buffer } from 'node:buffer';
import { BtfError } from '../errors.js';
import type { Btf } from './btf.js';
import { Kind, KIND_MAX, KIND_NAMES } from './kinds.js';

export interface DumpOptions {
  /** Approximate size in bytes of each yielded chunk. Default 1 MiB. */
  chunkSize?: number;
  /**
   * Dump only these type IDs, in this order (bpftool's root_type_ids). Default: every type of
   * `btf` (for split BTF only the split part, IDs continuing from the base).
   */
  ids?: Iterable<number>;
}

const enc = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** btf_kind_str[btf_kind_safe(kind)] followed by " '" (the name's opening quote). */
const KIND_LABEL: Uint8Array[] = Array.from({ length: 128 }, (_, k) => enc(`${k <= KIND_MAX ? KIND_NAMES[k] : 'UNKNOWN'} '`));
/** btf_int_enc_str(). */
const INT_ENC: Uint8Array[] = Array.from({ length: 16 }, (_, e) =>
  enc(e === 0 ? '(none)' : e === 1 ? 'SIGNED' : e === 2 ? 'CHAR' : e === 4 ? 'BOOL' : 'UNKN'),
);
/** btf_var_linkage_str() / btf_func_linkage_str(). */
const LINKAGE: Uint8Array[] = ['static', 'global', 'extern'].map(enc);
const LINKAGE_UNKNOWN = enc('(unknown)');

const ANON = enc('(anon)');
const INVALID = enc('(invalid)');
const S = {
  headEnd: enc("'"),
  size: enc(' size='),
  bitsOffset: enc(' bits_offset='),
  nrBits: enc(' nr_bits='),
  encoding: enc(' encoding='),
  typeId: enc(' type_id='),
  typeIdComma: enc(', linkage='),
  indexTypeId: enc(' index_type_id='),
  nrElems: enc(' nr_elems='),
  vlen: enc(' vlen='),
  memberStart: enc("\n\t'"),
  memberTypeId: enc("' type_id="),
  bitfieldSize: enc(' bitfield_size='),
  encSigned: enc(' encoding=SIGNED size='),
  encUnsigned: enc(' encoding=UNSIGNED size='),
  val: enc("' val="),
  ll: enc('LL'),
  ull: enc('ULL'),
  fwdStruct: enc(' fwd_kind=struct'),
  fwdUnion: enc(' fwd_kind=union'),
  linkage: enc(' linkage='),
  retTypeId: enc(' ret_type_id='),
  secStart: enc('\n\ttype_id='),
  offset: enc(' offset='),
  open: enc(' ('),
  close: enc("')"),
  componentIdx: enc(' component_idx='),
  voidLine: enc("UNKNOWN '(anon)'\n"),
};

/** Growable output buffer with in-place number formatting. */
class Out {
  buf: Uint8Array;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  /** Bytes of a constant fragment (callers ensure room: fragments are < 64 bytes). */
  b(bytes: Uint8Array): void {
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < bytes.length; i++) buf[p++] = bytes[i]!;
    this.pos = p;
  }
  /** A non-negative integer below 2^53. */
  u(v: number): void {
    const buf = this.buf;
    if (v < 10) {
      buf[this.pos++] = 48 + v;
      return;
    }
    let n = 1;
    for (let t = v; t >= 10; t = Math.floor(t / 10)) n++;
    let p = this.pos + n;
    this.pos = p;
    while (v >= 10) {
      const q = Math.floor(v / 10);
      buf[--p] = 48 + (v - q * 10);
      v = q;
    }
    buf[--p] = 48 + v;
  }
  /** A signed 32-bit integer (%d). */
  d(v: number): void {
    if (v < 0) {
      this.buf[this.pos++] = 45; // '-'
      this.u(-v);
    } else this.u(v);
  }
  ascii(s: string): void {
    this.ensure(s.length);
    const buf = this.buf;
    for (let i = 0; i < s.length; i++) buf[this.pos++] = s.charCodeAt(i);
  }
}

/** The head of a kind with members: `<label>=<size or type> vlen=<n>`, printed once. */
function withVlen(out: Out, label: Uint8Array, sot: number, vlen: number): void {
  out.b(label);
  out.u(sot);
  out.b(S.vlen);
  out.u(vlen);
}

/** ENUM64 value as `%lldLL` (signed) or `%lluULL` (unsigned). */
function enum64(out: Out, lo: number, hi: number, signed: boolean): void {
  if (!signed) {
    if (hi < 0x200000) out.u(hi * 4294967296 + lo);
    else out.ascii(((BigInt(hi) << 32n) | BigInt(lo)).toString());
    out.b(S.ull);
    return;
  }
  if (hi & 0x80000000) {
    if (hi >= 0xffe00000) {
      // -(2^64 - v), exact below 2^53.
      out.buf[out.pos++] = 45;
      out.u((0xffffffff - hi) * 4294967296 + (4294967296 - lo));
    } else out.ascii(BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString());
  } else if (hi < 0x200000) out.u(hi * 4294967296 + lo);
  else out.ascii(((BigInt(hi) << 32n) | BigInt(lo)).toString());
  out.b(S.ll);
}

/**
 * Yields the dump as byte chunks of roughly `chunkSize` bytes (a chunk may exceed it by one
 * line). Chunks end between types, or between two members of a type too big for one chunk.
 * Concatenated, they are exactly bpftool's output (names as raw bytes).
 */
export function* dumpBtfChunks(btf: Btf, options: DumpOptions = {}): Generator<Uint8Array, void, undefined> {
  const chunkSize = Math.max(4096, options.chunkSize ?? 1 << 20);
  const startId = btf.startId;
  const typeCnt = btf.typeCount;
  let out = new Out(chunkSize + 4096);

  // The string sections of this BTF and its bases, outermost first, as [startStrOff, bytes].
  const sections: Array<[number, Uint8Array]> = [];
  for (let b: Btf | undefined = btf; b; b = b.base) sections.push([b.startStrOff, b.stringSectionBytes()]);

  /** btf_str(): "(anon)" for offset 0, "(invalid)" past the string section, else raw bytes. */
  const name = (off: number): void => {
    if (off === 0) {
      out.ensure(ANON.length + 128);
      out.b(ANON);
      return;
    }
    for (let i = 0; i < sections.length; i++) {
      const [start, strs] = sections[i]!;
      if (off < start) continue;
      let p = off - start;
      if (p >= strs.length) break;
      let e = p;
      while (e < strs.length && strs[e] !== 0) e++;
      out.ensure(e - p + 128);
      const buf = out.buf;
      let q = out.pos;
      while (p < e) buf[q++] = strs[p++]!;
      out.pos = q;
      return;
    }
    out.ensure(INVALID.length + 128);
    out.b(INVALID);
  };

  /**
   * Writes type `id` (record at word `w`) starting at member `from`. Returns -1 when the type
   * is complete, or the member to resume at once the buffer has been flushed: a type with
   * many long-named members is streamed instead of being built whole in memory.
   */
  const one = (words: Uint32Array, w: number, id: number, from: number): number => {
    const info = words[w + 1]!;
    const kind = (info >>> 24) & 0x7f;
    const vlen = info & 0xffffff;
    const kflag = info >>> 31 === 1;
    const sot = words[w + 2]!;
    if (from === 0) {
      out.ensure(64);
      out.buf[out.pos++] = 91; // '['
      out.u(id);
      out.buf[out.pos++] = 93; // ']'
      out.buf[out.pos++] = 32;
      out.b(KIND_LABEL[kind]!);
      name(words[w]!);
      out.b(S.headEnd);
    }
    switch (kind) {
      case Kind.INT: {
        const v = words[w + 3]!;
        out.b(S.size);
        out.u(sot);
        out.b(S.bitsOffset);
        out.u((v >>> 16) & 0xff);
        out.b(S.nrBits);
        out.u(v & 0xff);
        out.b(S.encoding);
        out.b(INT_ENC[(v >>> 24) & 0x0f]!);
        break;
      }
      case Kind.PTR:
      case Kind.CONST:
      case Kind.VOLATILE:
      case Kind.RESTRICT:
      case Kind.TYPEDEF:
      case Kind.TYPE_TAG:
        out.b(S.typeId);
        out.u(sot);
        break;
      case Kind.ARRAY:
        out.b(S.typeId);
        out.u(words[w + 3]!);
        out.b(S.indexTypeId);
        out.u(words[w + 4]!);
        out.b(S.nrElems);
        out.u(words[w + 5]!);
        break;
      case Kind.STRUCT:
      case Kind.UNION:
        if (from === 0) withVlen(out, S.size, sot, vlen);
        for (let i = from, p = w + 3 + from * 3; i < vlen; i++, p += 3) {
          const off = words[p + 2]!;
          out.ensure(8);
          out.b(S.memberStart);
          name(words[p]!);
          out.b(S.memberTypeId);
          out.u(words[p + 1]!);
          out.b(S.bitsOffset);
          if (kflag) {
            out.u(off & 0xffffff);
            if (off >>> 24) {
              out.b(S.bitfieldSize);
              out.u(off >>> 24);
            }
          } else out.u(off);
          if (out.pos >= chunkSize && i + 1 < vlen) return i + 1;
        }
        break;
      case Kind.ENUM:
      case Kind.ENUM64: {
        if (from === 0) withVlen(out, kflag ? S.encSigned : S.encUnsigned, sot, vlen);
        // ENUM: (name, val32) pairs; ENUM64: (name, lo32, hi32) triples
        const wide = kind === Kind.ENUM64;
        const stride = wide ? 3 : 2;
        for (let i = from, p = w + 3 + from * stride; i < vlen; i++, p += stride) {
          out.ensure(8);
          out.b(S.memberStart);
          name(words[p]!);
          out.b(S.val);
          if (wide) enum64(out, words[p + 1]!, words[p + 2]!, kflag);
          else if (kflag) out.d(words[p + 1]! | 0);
          else out.u(words[p + 1]!);
          if (out.pos >= chunkSize && i + 1 < vlen) return i + 1;
        }
        break;
      }
      case Kind.FWD:
        out.b(kflag ? S.fwdUnion : S.fwdStruct);
        break;
      case Kind.FUNC:
        out.b(S.typeId);
        out.u(sot);
        out.b(S.linkage);
        // btf_func_linkage_str() switches on btf_vlen(), 16 bits wide in libbpf 1.1.
        out.b(LINKAGE[vlen & 0xffff] ?? LINKAGE_UNKNOWN);
        break;
      case Kind.FUNC_PROTO:
        if (from === 0) withVlen(out, S.retTypeId, sot, vlen);
        for (let i = from, p = w + 3 + from * 2; i < vlen; i++, p += 2) {
          out.ensure(8);
          out.b(S.memberStart);
          name(words[p]!);
          out.b(S.memberTypeId);
          out.u(words[p + 1]!);
          if (out.pos >= chunkSize && i + 1 < vlen) return i + 1;
        }
        break;
      case Kind.VAR:
        out.b(S.typeId);
        out.u(sot);
        out.b(S.typeIdComma);
        out.b(LINKAGE[words[w + 3]!] ?? LINKAGE_UNKNOWN);
        break;
      case Kind.DATASEC:
        if (from === 0) withVlen(out, S.size, sot, vlen);
        for (let i = from, p = w + 3 + from * 3; i < vlen; i++, p += 3) {
          const vt = words[p]!;
          out.ensure(80);
          out.b(S.secStart);
          out.u(vt);
          out.b(S.offset);
          out.u(words[p + 1]!);
          out.b(S.size);
          out.u(words[p + 2]!);
          if (vt < typeCnt) {
            // btf__type_by_id(): void for 0, the base's types below startId.
            out.b(S.open);
            const vk = vt === 0 ? 0 : btf.kind(vt);
            out.b(KIND_LABEL[vk]!);
            name(vt === 0 ? 0 : btf.nameOff(vt));
            out.b(S.close);
          }
          if (out.pos >= chunkSize && i + 1 < vlen) return i + 1;
        }
        break;
      case Kind.FLOAT:
        out.b(S.size);
        out.u(sot);
        break;
      case Kind.DECL_TAG:
        out.b(S.typeId);
        out.u(sot);
        out.b(S.componentIdx);
        out.d(words[w + 3]! | 0);
        break;
      default:
        break;
    }
    out.ensure(1);
    out.buf[out.pos++] = 10; // '\n'
    return -1;
  };

  const flush = (): Uint8Array => {
    const chunk = out.buf.subarray(0, out.pos);
    out = new Out(chunkSize + 4096);
    return chunk;
  };

  if (options.ids) {
    for (const id of options.ids) {
      if (!Number.isInteger(id) || id < 0) throw new BtfError(`invalid type ID ${id}`);
      const [b, w] = btf.locate(id); // throws BtfError for an ID out of range
      if (w < 0) {
        out.ensure(64);
        out.buf[out.pos++] = 91;
        out.u(id);
        out.buf[out.pos++] = 93;
        out.buf[out.pos++] = 32;
        out.b(S.voidLine);
      } else {
        for (let k = one(b.words, w, id, 0); k >= 0; k = one(b.words, w, id, k)) yield flush();
      }
      if (out.pos >= chunkSize) yield flush();
    }
  } else {
    const words = btf.words;
    const offsets = btf.offsets;
    for (let id = startId; id < typeCnt; id++) {
      const w = offsets[id - startId]!;
      for (let k = one(words, w, id, 0); k >= 0; k = one(words, w, id, k)) yield flush();
      if (out.pos >= chunkSize) yield flush();
    }
  }
  if (out.pos) yield out.buf.subarray(0, out.pos);
}

/** The dump as bytes (names as raw bytes). */
export function dumpBtfBytes(btf: Btf, options: Omit<DumpOptions, 'chunkSize'> = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const c of dumpBtfChunks(btf, { ...options, chunkSize: 8 << 20 })) {
    parts.push(c);
    total += c.length;
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}

/** The dump as a latin1 string: each name byte is one character (Buffer.from(s, 'latin1') gives the bytes back). */
export function dumpBtf(btf: Btf, options: Omit<DumpOptions, 'chunkSize'> = {}): string {
  const b = dumpBtfBytes(btf, options);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}
