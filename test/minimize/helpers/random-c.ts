// A seeded generator of random eBPF C programs for the random-C differential test
// (random-c.test.ts). Programs include a vmlinux.h dumped from the running kernel and use libbpf's
// CO-RE macros (BPF_CORE_READ chains, BPF_CORE_READ_BITFIELD[_PROBED], bpf_core_field_*,
// __builtin_preserve_field_info kinds, bpf_core_type_*, bpf_core_enum_value*, PT_REGS_*_CORE,
// __builtin_preserve_access_index, direct loads through preserve_access_index types, pointer-as-
// array roots) on random kernel types and member paths (nested and anonymous members, arrays
// with in-bounds indexes, bitfields), and on local `___flavor` structs/unions/enums/typedefs that
// keep, drop, rename and retype the kernel's members, so that some relocations find nothing,
// some fail and some are ambiguous. The objects are compiled by clang-19 (the test does that), so
// the .BTF.ext records are the shapes a compiler really emits.
//
// Every statement and every local member is on its own source line, tagged with a comment
// (`/*@S tag*/`), so the test can drop the lines clang rejects and recompile, and shrink a
// mismatch line by line. Everything is derived from (seed, object index).
import type { Btf } from '../../../src/btf/btf.js';
import { Kind } from '../../../src/btf/kinds.js';
import { Rng } from './random-relos.js';

export { Rng };

// ------------------------------------------------------------------------------------------------
// What vmlinux.h defines (bpftool's btf_dump renames duplicate names to NAME___N, so only types
// whose name is unique in the BTF are used by their kernel name)

export interface HeaderNames {
  /** `struct x`, `union x`, `enum x` defined with a body. */
  tags: Set<string>;
  /** Typedef names. */
  typedefs: Set<string>;
  /** Enumerator names (as spelled in the header) by `enum x`. */
  enumerators: Map<string, string[]>;
  /** Renamed duplicates: `struct x___2` etc. */
  renamed: string[];
}

export function parseHeader(text: string): HeaderNames {
  const tags = new Set<string>();
  const typedefs = new Set<string>();
  const enumerators = new Map<string, string[]>();
  const renamed: string[] = [];
  let curEnum: string[] | undefined;
  for (const line of text.split('\n')) {
    let m = /^(struct|union|enum) (\w+) \{$/.exec(line);
    if (m) {
      const tag = `${m[1]} ${m[2]}`;
      tags.add(tag);
      if (/___\d+$/.test(m[2]!)) renamed.push(tag);
      if (m[1] === 'enum') enumerators.set(tag, (curEnum = []));
      continue;
    }
    if (curEnum) {
      if (line.startsWith('}')) curEnum = undefined;
      else if ((m = /^\t(\w+) = /.exec(line))) curEnum.push(m[1]!);
      continue;
    }
    if ((m = /^\} (\w+)(\[\d+\])*;$/.exec(line))) {
      typedefs.add(m[1]!);
      continue;
    }
    if (line.startsWith('typedef ') && line.endsWith(';')) {
      m = /\(\*(\w+)\)/.exec(line) ?? /(\w+)(\[\d+\])*;$/.exec(line);
      if (m) typedefs.add(m[1]!);
    }
  }
  return { tags, typedefs, enumerators, renamed };
}

// ------------------------------------------------------------------------------------------------
// Index of the kernel types the generator may name

export interface KernelIndex {
  btf: Btf;
  hdr: HeaderNames;
  /** Usable named structs/unions (unique name, defined in the header, at least one member). */
  comps: number[];
  /** Those with a bitfield somewhere (directly or in an anonymous member). */
  compsWithBits: number[];
  /** Those with an array member. */
  compsWithArrays: number[];
  /** Those with a pointer-to-struct member (chains). */
  compsWithPtrs: number[];
  enums: number[];
  /** The ENUM64 ones among them. */
  enums64: number[];
  typedefs: number[];
  /** Struct/union names that occur more than once in the BTF (flavor sources: many candidates). */
  dupComps: number[];
  /** Well-known structs real tools read (task_struct, sk_buff, ...), when usable. */
  famous: number[];
  /** Kernel function names (program section names). */
  funcs: string[];
  usable: Set<number>;
}

export function indexKernel(btf: Btf, hdr: HeaderNames): KernelIndex {
  const tagCount = new Map<string, number>();
  const tdCount = new Map<string, number>();
  const funcs: string[] = [];
  for (let id = 1; id < btf.typeCount; id++) {
    const k = btf.kind(id);
    if (k === Kind.FUNC) {
      if (funcs.length < 4000) funcs.push(btf.name(id));
      continue;
    }
    const n = btf.name(id);
    if (!n) continue;
    if (k === Kind.STRUCT || k === Kind.UNION || k === Kind.ENUM || k === Kind.ENUM64 || k === Kind.FWD) tagCount.set(n, (tagCount.get(n) ?? 0) + 1);
    else if (k === Kind.TYPEDEF) tdCount.set(n, (tdCount.get(n) ?? 0) + 1);
  }
  const ix: KernelIndex = { btf, hdr, comps: [], compsWithBits: [], compsWithArrays: [], compsWithPtrs: [], enums: [], enums64: [], typedefs: [], dupComps: [], famous: [], funcs, usable: new Set() };
  for (let id = 1; id < btf.typeCount; id++) {
    const k = btf.kind(id);
    const n = btf.name(id);
    if (!n) continue;
    if (k === Kind.STRUCT || k === Kind.UNION) {
      if ((tagCount.get(n) ?? 0) > 1) {
        if (btf.vlen(id) > 0) ix.dupComps.push(id);
        continue;
      }
      if (!hdr.tags.has(`${k === Kind.STRUCT ? 'struct' : 'union'} ${n}`)) continue;
      ix.usable.add(id);
      if (btf.vlen(id) === 0) continue;
      ix.comps.push(id);
    } else if (k === Kind.ENUM || k === Kind.ENUM64) {
      if ((tagCount.get(n) ?? 0) > 1 || !hdr.tags.has(`enum ${n}`)) continue;
      ix.usable.add(id);
      ix.enums.push(id);
      if (k === Kind.ENUM64) ix.enums64.push(id);
    } else if (k === Kind.TYPEDEF) {
      if ((tdCount.get(n) ?? 0) > 1 || !hdr.typedefs.has(n)) continue;
      ix.usable.add(id);
      ix.typedefs.push(id);
    }
  }
  const famous = new Set(FAMOUS);
  for (const id of ix.comps) if (famous.has(btf.name(id))) ix.famous.push(id);
  const scan = (id: number, depth: number, f: { bits: boolean; arr: boolean; ptr: boolean }): void => {
    if (depth > 3) return;
    for (let i = 0; i < btf.vlen(id); i++) {
      if (btf.memberBitfieldSize(id, i)) f.bits = true;
      const t = btf.skipModsAndTypedefs(btf.memberType(id, i));
      const k = btf.kind(t);
      if (k === Kind.ARRAY) f.arr = true;
      if (k === Kind.PTR) {
        const p = btf.skipModsAndTypedefs(btf.type(t));
        if (btf.kind(p) === Kind.STRUCT || btf.kind(p) === Kind.UNION) f.ptr = true;
      }
      if ((k === Kind.STRUCT || k === Kind.UNION) && btf.memberNameOff(id, i) === 0) scan(t, depth + 1, f);
    }
  };
  for (const id of ix.comps) {
    const f = { bits: false, arr: false, ptr: false };
    scan(id, 0, f);
    if (f.bits) ix.compsWithBits.push(id);
    if (f.arr) ix.compsWithArrays.push(id);
    if (f.ptr) ix.compsWithPtrs.push(id);
  }
  return ix;
}

const FAMOUS = [
  'task_struct', 'mm_struct', 'file', 'inode', 'dentry', 'sk_buff', 'sock', 'sock_common', 'net_device', 'cgroup',
  'pt_regs', 'bio', 'request', 'super_block', 'vm_area_struct', 'cred', 'nsproxy', 'pid', 'signal_struct', 'socket',
  'path', 'qstr', 'kernfs_node', 'css_set', 'tcp_sock', 'inet_sock', 'ipv6_pinfo', 'net', 'page', 'address_space',
  'files_struct', 'fdtable', 'linux_binprm', 'block_device', 'gendisk', 'request_queue', 'sched_entity', 'rq',
  'trace_event_raw_sched_switch', 'iphdr', 'tcphdr', 'udphdr', 'ethhdr', 'msghdr', 'iov_iter', 'kiocb', 'seq_file',
  'bpf_map', 'bpf_prog', 'perf_event', 'timer_list', 'hrtimer', 'work_struct', 'upid', 'pid_namespace', 'uts_namespace',
];

// ------------------------------------------------------------------------------------------------
// Type model: kernel types by BTF ID, and the local definitions the program makes

interface LocalMember {
  name: string; // '' for an anonymous struct/union member
  ref: TRef;
  bits: number;
}
interface LocalComp {
  cname: string; // "struct foo___f1", or "" for an anonymous member type
  union: boolean;
  members: LocalMember[];
}
type TRef =
  | { t: 'btf'; id: number }
  | { t: 'local'; def: LocalComp }
  | { t: 'ptr'; to: TRef }
  | { t: 'arr'; elem: TRef; n: number }
  | { t: 'int' }
  | { t: 'opaque' };

type Shape =
  | { s: 'comp'; members: LocalMember[] }
  | { s: 'arr'; elem: TRef; n: number }
  | { s: 'ptr'; to: TRef }
  | { s: 'int' }
  | { s: 'enum' }
  | { s: 'other' };

const BTF_REF = (id: number): TRef => ({ t: 'btf', id });

/** A pointer to a composite whose path can be walked? */
function isPtrToComp(btf: Btf, r: TRef): boolean {
  const s = shape(btf, r);
  return s.s === 'ptr' && shape(btf, s.to).s === 'comp';
}

function shape(btf: Btf, r: TRef): Shape {
  switch (r.t) {
    case 'local':
      return { s: 'comp', members: r.def.members };
    case 'ptr':
      return { s: 'ptr', to: r.to };
    case 'arr':
      return { s: 'arr', elem: r.elem, n: r.n };
    case 'int':
      return { s: 'int' };
    case 'opaque':
      return { s: 'other' };
    case 'btf': {
      const id = btf.skipModsAndTypedefs(r.id);
      switch (btf.kind(id)) {
        case Kind.STRUCT:
        case Kind.UNION: {
          const members: LocalMember[] = [];
          for (let i = 0; i < btf.vlen(id); i++) members.push({ name: btf.memberName(id, i), ref: BTF_REF(btf.memberType(id, i)), bits: btf.memberBitfieldSize(id, i) });
          return { s: 'comp', members };
        }
        case Kind.ARRAY:
          return { s: 'arr', elem: BTF_REF(btf.arrayElem(id)), n: btf.arrayNelems(id) };
        case Kind.PTR:
          return { s: 'ptr', to: BTF_REF(btf.type(id)) };
        case Kind.INT:
          return { s: 'int' };
        case Kind.ENUM:
        case Kind.ENUM64:
          return { s: 'enum' };
        default:
          return { s: 'other' };
      }
    }
  }
}

/** The C spelling of a kernel type as a declaration of `inner`, or null if not expressible. */
function cDecl(ix: KernelIndex, id: number, inner: string, depth = 0): string | null {
  const btf = ix.btf;
  if (depth > 8) return null;
  if (id === 0) return `void ${inner}`;
  const k = btf.kind(id);
  switch (k) {
    case Kind.INT:
    case Kind.FLOAT:
      return `${btf.name(id)} ${inner}`;
    case Kind.PTR: {
      const t = btf.type(id);
      if (t !== 0 && btf.kind(t) === Kind.FUNC_PROTO) return `void *${inner}`;
      const arr = t !== 0 && btf.kind(t) === Kind.ARRAY;
      return cDecl(ix, t, arr ? `(*${inner})` : `*${inner}`, depth + 1);
    }
    case Kind.ARRAY:
      return cDecl(ix, btf.arrayElem(id), `${inner}[${btf.arrayNelems(id)}]`, depth + 1);
    case Kind.CONST:
    case Kind.VOLATILE:
    case Kind.RESTRICT:
    case Kind.TYPE_TAG:
      return cDecl(ix, btf.type(id), inner, depth + 1);
    case Kind.TYPEDEF:
      return ix.usable.has(id) ? `${btf.name(id)} ${inner}` : cDecl(ix, btf.type(id), inner, depth + 1);
    case Kind.STRUCT:
    case Kind.UNION:
    case Kind.ENUM:
    case Kind.ENUM64:
      return ix.usable.has(id) ? `${tagName(btf, id)} ${inner}` : null;
    default:
      return null;
  }
}

function tagName(btf: Btf, id: number): string {
  const k = btf.kind(id);
  const kw = k === Kind.STRUCT ? 'struct' : k === Kind.UNION ? 'union' : k === Kind.TYPEDEF ? '' : 'enum';
  return kw ? `${kw} ${btf.name(id)}` : btf.name(id);
}

// ------------------------------------------------------------------------------------------------
// Member paths

interface Path {
  /** C member path, e.g. "a.b[2].c" (no leading dot), or "" for the root itself. */
  c: string;
  leaf: TRef;
  bits: number;
  /** The last step is an array subscript. */
  arrayLeaf: boolean;
}

type Want = 'any' | 'scalar' | 'int' | 'ptrcomp' | 'bitfield' | 'notbits';

function leafOk(btf: Btf, p: Path, want: Want): boolean {
  if (!p.c) return false;
  const s = shape(btf, p.leaf);
  switch (want) {
    case 'any':
      return true;
    case 'notbits':
      return p.bits === 0;
    case 'bitfield':
      return p.bits > 0;
    case 'int':
      return s.s === 'int' || s.s === 'enum';
    case 'scalar':
      return p.bits === 0 && (s.s === 'int' || s.s === 'enum' || s.s === 'ptr');
    case 'ptrcomp':
      return p.bits === 0 && isPtrToComp(btf, p.leaf);
  }
}

function randomPath(btf: Btf, rng: Rng, root: TRef, want: Want, tries = 12): Path | undefined {
  for (let t = 0; t < tries; t++) {
    const p = walk(btf, rng, root, want);
    if (p && leafOk(btf, p, want)) return p;
  }
  return undefined;
}

function walk(btf: Btf, rng: Rng, root: TRef, want: Want): Path | undefined {
  let cur = root;
  let c = '';
  let arrayLeaf = false;
  const preferBits = want === 'bitfield' || want === 'int';
  for (let depth = 0; depth < 8; depth++) {
    const s = shape(btf, cur);
    if (s.s === 'comp') {
      if (!s.members.length) return undefined;
      let m = rng.pick(s.members);
      if (preferBits) {
        const bits = s.members.filter((x) => x.bits > 0 || (x.name === '' && rng.chance(0.5)));
        if (bits.length && rng.chance(0.7)) m = rng.pick(bits);
      } else if (want === 'ptrcomp') {
        const ptrs = s.members.filter((x) => x.name === '' || isPtrToComp(btf, x.ref));
        if (ptrs.length && rng.chance(0.7)) m = rng.pick(ptrs);
      }
      if (m.name === '') {
        const ms = shape(btf, m.ref);
        if (ms.s !== 'comp') return undefined;
        cur = m.ref; // anonymous: transparent in C
        continue;
      }
      c += c ? `.${m.name}` : m.name;
      arrayLeaf = false;
      if (m.bits) return { c, leaf: m.ref, bits: m.bits, arrayLeaf };
      cur = m.ref;
      const ns = shape(btf, cur);
      const go = want === 'any' || want === 'notbits' ? 0.45 : want === 'ptrcomp' ? 0.35 : 0.75;
      if (ns.s === 'comp' && rng.chance(go)) continue;
      if (ns.s === 'arr' && rng.chance(want === 'any' || want === 'notbits' ? 0.5 : 0.85)) continue;
      return { c, leaf: cur, bits: 0, arrayLeaf };
    }
    if (s.s === 'arr') {
      if (!c) return undefined;
      const n = s.n > 0 ? rng.int(Math.min(s.n, 64)) : rng.int(3); // flexible arrays: small index
      c += `[${s.n > 0 && rng.chance(0.2) ? s.n - 1 : n}]`;
      arrayLeaf = true;
      cur = s.elem;
      const es = shape(btf, cur);
      if ((es.s === 'comp' || es.s === 'arr') && rng.chance(0.7)) continue;
      return { c, leaf: cur, bits: 0, arrayLeaf };
    }
    return c ? { c, leaf: cur, bits: 0, arrayLeaf } : undefined;
  }
  return c ? { c, leaf: cur, bits: 0, arrayLeaf } : undefined;
}

// ------------------------------------------------------------------------------------------------
// Programs

export interface GenLine {
  /** Construct tag (for skip statistics). */
  tag: string;
  text: string;
  /** Can be dropped (statements and local members), vs structural lines. */
  droppable: boolean;
}

export interface GenProgram {
  seed: number;
  index: number;
  lines: GenLine[];
}

export function renderProgram(p: GenProgram, drop?: ReadonlySet<number>): string {
  return p.lines.map((l, i) => (drop?.has(i) ? `/* dropped: ${l.tag} */` : l.text)).join('\n') + '\n';
}

const SCALARS: [string, TRef][] = [
  ['char', { t: 'int' }],
  ['unsigned char', { t: 'int' }],
  ['short', { t: 'int' }],
  ['int', { t: 'int' }],
  ['unsigned int', { t: 'int' }],
  ['long', { t: 'int' }],
  ['unsigned long', { t: 'int' }],
  ['long long', { t: 'int' }],
  ['unsigned long long', { t: 'int' }],
  ['_Bool', { t: 'int' }],
  ['void *', { t: 'opaque' }],
];
const BIT_TYPES: [string, number][] = [
  ['unsigned char', 8],
  ['unsigned short', 16],
  ['unsigned int', 32],
  ['int', 32],
  ['signed char', 8],
  ['unsigned long long', 64],
  ['long', 64],
];
const FLAVOR_WORDS = ['old', 'new', 'v1', 'v2', 'x', 'legacy', 'rh', 'pre5', 'post', 'q'];

class Gen {
  readonly lines: GenLine[] = [];
  private out = 0;
  private flavorSeq = 0;
  readonly localComps: LocalComp[] = [];
  readonly localEnums: { cname: string; values: string[] }[] = [];
  readonly localTypedefs: { name: string; ref: TRef }[] = [];

  constructor(
    readonly ix: KernelIndex,
    readonly rng: Rng,
  ) {}

  get btf(): Btf {
    return this.ix.btf;
  }

  private push(tag: string, text: string, droppable = true): void {
    this.lines.push({ tag, text, droppable });
  }

  private flavor(): string {
    return `___${this.rng.pick(FLAVOR_WORDS)}${this.flavorSeq++}`;
  }

  /** A few roots most statements of the object share (candidate-cache and pruning interplay). */
  private focus: number[] = [];

  private pickComp(): number {
    const r = this.rng;
    const ix = this.ix;
    if (this.focus.length && r.chance(0.6)) return r.pick(this.focus);
    const lists = [ix.comps, ix.compsWithBits, ix.compsWithArrays, ix.compsWithPtrs].filter((l) => l.length);
    return r.pick(r.chance(0.4) ? ix.comps : r.pick(lists));
  }

  // ---- local definitions -----------------------------------------------------------------------

  /** A flavor of a kernel struct/union: random subset, renames, retypes, bitfields, nesting. */
  defineFlavor(): LocalComp | undefined {
    const r = this.rng;
    const btf = this.btf;
    const fromDup = this.ix.dupComps.length > 0 && r.chance(0.2);
    const nonexistent = !fromDup && r.chance(0.05);
    const src = fromDup ? r.pick(this.ix.dupComps) : this.pickComp();
    const srcName = nonexistent ? `btfgen_nonexistent_${this.flavorSeq}` : btf.name(src);
    let union = btf.kind(src) === Kind.UNION;
    if (r.chance(0.05)) union = !union; // kind mismatch: no candidate
    const cname = `${union ? 'union' : 'struct'} ${srcName}${r.chance(0.03) ? '___a___b' : this.flavor()}`;
    // C-visible members of the source (anonymous members flattened)
    const visible: { name: string; type: number; bits: number }[] = [];
    const collect = (id: number, depth: number): void => {
      for (let i = 0; i < btf.vlen(id) && visible.length < 200; i++) {
        const name = btf.memberName(id, i);
        const t = btf.memberType(id, i);
        if (!name) {
          const s = btf.skipModsAndTypedefs(t);
          if (depth < 4 && (btf.kind(s) === Kind.STRUCT || btf.kind(s) === Kind.UNION)) collect(s, depth + 1);
          continue;
        }
        visible.push({ name, type: t, bits: btf.memberBitfieldSize(id, i) });
      }
    };
    collect(src, 0);
    if (!visible.length) return undefined;
    let chosen = visible.filter(() => r.chance(0.5));
    if (!chosen.length || chosen.length > 12) chosen = r.shuffle([...visible]).slice(0, r.range(1, Math.min(8, visible.length)));
    else if (r.chance(0.15)) r.shuffle(chosen);
    // sometimes only the pointer/composite members (what TYPE_MATCHES can match through GCC's INT names)
    const ptrOnly = r.chance(0.15);
    if (ptrOnly) {
      const ptrs = chosen.filter((v) => !v.bits && [Kind.PTR, Kind.STRUCT, Kind.UNION].includes(btf.kind(btf.skipModsAndTypedefs(v.type))));
      if (ptrs.length) chosen = ptrs;
    }
    const def: LocalComp = { cname, union, members: [] };
    const body: { text: string; m: LocalMember; tag: string }[] = [];
    const srcC = this.ix.usable.has(src) ? tagName(btf, src) : undefined;
    for (const v of chosen) {
      const act = ptrOnly ? (v.bits ? 'skip' : 'keep') : r.weighted<string>([
        ['keep', 60],
        ['retype', 14],
        ['bits', v.bits ? 10 : 4],
        ['rename', 4],
        ['nested', this.localComps.length ? 6 : 0],
      ]);
      if (act === 'skip') continue;
      let name = v.name;
      if (act === 'rename') name = `${v.name}_renamed`;
      if (act === 'keep' || act === 'rename') {
        if (v.bits) {
          const d = cDecl(this.ix, v.type, name);
          const bits = r.chance(0.8) ? v.bits : r.range(1, 31);
          body.push({ text: `\t${d ?? `unsigned int ${name}`} : ${bits};`, m: { name, ref: d ? BTF_REF(v.type) : { t: 'int' }, bits }, tag: 'member-bitfield' });
        } else if (srcC) {
          body.push({ text: `\ttypeof(((${srcC} *)0)->${v.name}) ${name};`, m: { name, ref: BTF_REF(v.type), bits: 0 }, tag: 'member-typeof' });
        } else {
          const d = cDecl(this.ix, v.type, name);
          body.push({ text: `\t${d ?? `long ${name}`};`, m: { name, ref: d ? BTF_REF(v.type) : { t: 'int' }, bits: 0 }, tag: 'member-decl' });
        }
      } else if (act === 'retype') {
        const pick = r.int(4);
        if (pick === 0 && this.ix.comps.length) {
          const other = this.pickComp();
          const ptr = r.chance(0.6);
          body.push({ text: `\t${tagName(btf, other)} ${ptr ? '*' : ''}${name};`, m: { name, ref: ptr ? { t: 'ptr', to: BTF_REF(other) } : BTF_REF(other), bits: 0 }, tag: 'member-retype-comp' });
        } else if (pick === 1) {
          const [c, ref] = r.pick(SCALARS);
          const n = r.range(1, 8);
          body.push({ text: `\t${c} ${name}[${n}];`, m: { name, ref: { t: 'arr', elem: ref, n }, bits: 0 }, tag: 'member-retype-array' });
        } else if (pick === 2 && this.ix.enums.length) {
          const e = r.pick(this.ix.enums);
          body.push({ text: `\t${tagName(btf, e)} ${name};`, m: { name, ref: BTF_REF(e), bits: 0 }, tag: 'member-retype-enum' });
        } else {
          const [c, ref] = r.pick(SCALARS);
          body.push({ text: `\t${c} ${name};`, m: { name, ref, bits: 0 }, tag: 'member-retype-scalar' });
        }
      } else if (act === 'bits') {
        const [c, max] = r.pick(BIT_TYPES);
        const bits = r.range(1, max);
        body.push({ text: `\t${c} ${name} : ${bits};`, m: { name, ref: { t: 'int' }, bits }, tag: 'member-new-bitfield' });
      } else {
        const inner = r.pick(this.localComps);
        const ptr = r.chance(0.5);
        body.push({ text: `\t${inner.cname} ${ptr ? '*' : ''}${name};`, m: { name, ref: ptr ? { t: 'ptr', to: { t: 'local', def: inner } } : { t: 'local', def: inner }, bits: 0 }, tag: 'member-nested-local' });
      }
    }
    if (r.chance(0.15)) body.push({ text: `\tint btfgen_missing_${this.flavorSeq};`, m: { name: `btfgen_missing_${this.flavorSeq}`, ref: { t: 'int' }, bits: 0 }, tag: 'member-missing' });
    this.push('def', `${cname} {`, false);
    // group a run of members into an anonymous union/struct now and then
    let i = 0;
    while (i < body.length) {
      if (body.length - i >= 2 && r.chance(0.12)) {
        const n = r.range(2, Math.min(3, body.length - i));
        const inner: LocalComp = { cname: '', union: r.chance(0.6), members: [] };
        this.push('def', `\t${inner.union ? 'union' : 'struct'} {`, false);
        for (const b of body.slice(i, i + n)) {
          this.push(b.tag, `\t${b.text}`);
          inner.members.push(b.m);
        }
        this.push('def', '\t};', false);
        def.members.push({ name: '', ref: { t: 'local', def: inner }, bits: 0 });
        i += n;
        continue;
      }
      this.push(body[i]!.tag, body[i]!.text);
      def.members.push(body[i]!.m);
      i++;
    }
    this.push('def', '};', false);
    this.push('def', '', false);
    this.localComps.push(def);
    return def;
  }

  /** A flavor of a kernel enum with real (flavored) and invented enumerators. */
  defineEnum(): void {
    const r = this.rng;
    if (!this.ix.enums.length) return;
    const src = this.pickEnum();
    const ename = tagName(this.btf, src);
    const real = this.ix.hdr.enumerators.get(ename) ?? [];
    const fl = this.flavor();
    const cname = `${ename}${fl}`;
    const names = r.shuffle([...real]).slice(0, r.range(1, Math.min(6, Math.max(1, real.length))));
    if (r.chance(0.3) || !names.length) names.push(`BTFGEN_NO_SUCH_VALUE${this.flavorSeq}`);
    const big = r.chance(0.15);
    const values: string[] = [];
    this.push('def', `${cname} {`, false);
    names.forEach((n, i) => {
      const v = big && i === 0 ? '0x100000000ULL' : r.chance(0.2) ? `-${r.range(1, 9)}` : `${r.range(0, 40)}`;
      this.push('enumerator', `\t${n}${fl} = ${v},`);
      values.push(`${n}${fl}`);
    });
    this.push('def', '};', false);
    this.push('def', '', false);
    this.localEnums.push({ cname, values });
  }

  /** A flavored typedef of a kernel typedef (same, different or local underlying type). */
  defineTypedef(): void {
    const r = this.rng;
    if (!this.ix.typedefs.length) return;
    const src = r.pick(this.ix.typedefs);
    const name = `${this.btf.name(src)}${this.flavor()}`;
    const w = r.int(4);
    if (w === 0 && this.localComps.length) {
      const c = r.pick(this.localComps);
      this.push('typedef', `typedef ${c.cname} ${name};`);
      this.localTypedefs.push({ name, ref: { t: 'local', def: c } });
    } else if (w === 1) {
      const [c, ref] = r.pick(SCALARS);
      this.push('typedef', `typedef ${c} ${name};`);
      this.localTypedefs.push({ name, ref });
    } else {
      this.push('typedef', `typedef typeof(${this.btf.name(src)}) ${name};`);
      this.localTypedefs.push({ name, ref: BTF_REF(src) });
    }
  }

  // ---- statements ------------------------------------------------------------------------------

  /** A root for field relocations: [C type name, model]. */
  private fieldRoot(): [string, TRef] {
    const r = this.rng;
    const lt = this.localTypedefs.filter((t) => shape(this.btf, t.ref).s === 'comp');
    if (this.localComps.length && r.chance(0.35)) {
      const c = r.pick(this.localComps);
      return [c.cname, { t: 'local', def: c }];
    }
    if (lt.length && r.chance(0.1)) {
      const t = r.pick(lt);
      return [t.name, t.ref];
    }
    if (r.chance(0.08)) {
      // a kernel typedef of a struct/union as the root
      const tds = this.ix.typedefs.filter((id) => shape(this.btf, BTF_REF(id)).s === 'comp');
      if (tds.length) {
        const id = r.pick(tds);
        return [this.btf.name(id), BTF_REF(id)];
      }
    }
    const id = this.pickComp();
    return [tagName(this.btf, id), BTF_REF(id)];
  }

  private pickEnum(): number {
    const r = this.rng;
    return this.ix.enums64.length && r.chance(0.2) ? r.pick(this.ix.enums64) : r.pick(this.ix.enums);
  }

  private slot(): string {
    return `out[${this.out++}]`;
  }

  /** Statement lines so far (for repeats: the same record again, later in the object). */
  private readonly stmts: { text: string; ctx: string }[] = [];

  /** One statement on one line; returns false if nothing could be generated. */
  statement(kprobe: boolean, ctx: string): boolean {
    const r = this.rng;
    const kind = r.weighted<string>([
      ['read', 16],
      ['bitfield', 7],
      ['field', 18],
      ['finfo', 6],
      ['addr', 5],
      ['direct', 5],
      ['coreread', 3],
      ['arrayroot', 4],
      ['type', 12],
      ['enum', 9],
      ['ptregs', kprobe ? 3 : 0],
      ['anonroot', 0.08],
      ['repeat', this.stmts.some((x) => x.ctx === ctx) ? 6 : 0],
      ['typeid', 1.5],
    ]);
    const decl = (t: string) => `${t} *rp = (void *)${ctx};`;
    const before = this.lines.length;
    const ok = this.statementOf(kind, decl, ctx);
    if (ok && kind !== 'repeat') for (let i = before; i < this.lines.length; i++) this.stmts.push({ text: this.lines[i]!.text, ctx });
    return ok;
  }

  private statementOf(kind: string, decl: (t: string) => string, ctx: string): boolean {
    const r = this.rng;
    const btf = this.btf;
    switch (kind) {
      case 'repeat': {
        // an earlier statement again (identical records around others that prune the candidates)
        const st = r.pick(this.stmts.filter((x) => x.ctx === ctx));
        const text = st.text.replace(/out\[\d+\]/, this.slot());
        this.push('repeat', text);
        return true;
      }
      case 'read': {
        const [tn, root] = this.fieldRoot();
        const segs: string[] = [];
        let cur = root;
        for (let i = 0; i < 4; i++) {
          const chain = i < 3 && r.chance(0.55);
          let p = chain ? randomPath(btf, r, cur, 'ptrcomp') : undefined;
          if (!p) p = randomPath(btf, r, cur, 'scalar');
          if (!p) return false;
          segs.push(p.c);
          if (leafOk(btf, p, 'ptrcomp') && chain) {
            cur = (shape(btf, p.leaf) as { to: TRef }).to;
            continue;
          }
          break;
        }
        const macro = r.chance(0.8) ? 'BPF_CORE_READ' : 'BPF_PROBE_READ';
        this.push('read', `\t{ ${decl(tn)} ${this.slot()} = (__u64)${macro}(rp, ${segs.join(', ')}); }`);
        return true;
      }
      case 'bitfield': {
        const [tn, root] = this.fieldRoot();
        const p = randomPath(btf, r, root, r.chance(0.7) ? 'bitfield' : 'int');
        if (!p) return false;
        const m = r.chance(0.6) ? 'BPF_CORE_READ_BITFIELD_PROBED' : 'BPF_CORE_READ_BITFIELD';
        this.push('bitfield', `\t{ ${decl(tn)} ${this.slot()} = ${m}(rp, ${p.c}); }`);
        return true;
      }
      case 'field': {
        const [tn, root] = this.fieldRoot();
        const p = randomPath(btf, r, root, 'any');
        if (!p) return false;
        const m = r.pick(['bpf_core_field_exists', 'bpf_core_field_exists', 'bpf_core_field_size', 'bpf_core_field_offset']);
        if (r.chance(0.5)) this.push('field', `\t${this.slot()} = ${m}(${tn}, ${p.c});`);
        else this.push('field', `\t{ ${decl(tn)} ${this.slot()} = ${m}(rp->${p.c}); }`);
        return true;
      }
      case 'finfo': {
        const [tn, root] = this.fieldRoot();
        const p = randomPath(btf, r, root, r.chance(0.7) ? 'int' : 'any');
        if (!p) return false;
        const k = r.pick(['SIGNED', 'LSHIFT_U64', 'RSHIFT_U64', 'BYTE_OFFSET', 'BYTE_SIZE']);
        // on an array element these fail the whole object in libbpf ("can't be applied to array access")
        if (p.arrayLeaf && k !== 'BYTE_OFFSET' && k !== 'BYTE_SIZE' && r.chance(0.7)) return false;
        // clang's backend dies ("Invalid field expression") on SIGNED of a non-integer member
        if (k === 'SIGNED' && !leafOk(btf, p, 'int')) return false;
        this.push('finfo', `\t{ ${decl(tn)} ${this.slot()} = __builtin_preserve_field_info(rp->${p.c}, BPF_FIELD_${k}); }`);
        return true;
      }
      case 'addr': {
        const [tn, root] = this.fieldRoot();
        const p = randomPath(btf, r, root, 'notbits');
        if (!p) return false;
        this.push('addr', `\t{ ${decl(tn)} ${this.slot()} = (__u64)__builtin_preserve_access_index(&rp->${p.c}); }`);
        return true;
      }
      case 'direct': {
        const [tn, root] = this.fieldRoot();
        const p = randomPath(btf, r, root, r.chance(0.85) ? 'scalar' : 'int');
        if (!p) return false;
        this.push('direct', `\t{ ${decl(tn)} ${this.slot()} = (__u64)rp->${p.c}; }`);
        return true;
      }
      case 'coreread': {
        const [tn, root] = this.fieldRoot();
        const p = randomPath(btf, r, root, 'notbits');
        if (!p) return false;
        this.push('coreread', `\t{ ${decl(tn)} __u64 v = 0; bpf_core_read(&v, sizeof(rp->${p.c}) < 8 ? sizeof(rp->${p.c}) : 8, &rp->${p.c}); ${this.slot()} = v; }`);
        return true;
      }
      case 'arrayroot': {
        const [tn, root] = this.fieldRoot();
        const p = randomPath(btf, r, root, 'any');
        if (!p) return false;
        const k = r.range(0, 3);
        if (p.bits || r.chance(0.5)) this.push('arrayroot', `\t{ ${decl(tn)} ${this.slot()} = bpf_core_field_${r.pick(['exists', 'offset', 'size'])}(rp[${k}].${p.c}); }`);
        else this.push('arrayroot', `\t{ ${decl(tn)} ${this.slot()} = (__u64)__builtin_preserve_access_index(&rp[${k}].${p.c}); }`);
        return true;
      }
      case 'type': {
        const m = r.weighted<string>([
          ['bpf_core_type_exists', 4],
          ['bpf_core_type_size', 3],
          ['bpf_core_type_matches', 3],
          ['bpf_core_type_id_kernel', 3],
          ['bpf_core_type_id_local', 1],
        ]);
        const t = this.typeName();
        if (!t) return false;
        this.push('type', `\t${this.slot()} = ${m}(${t});`);
        return true;
      }
      case 'enum': {
        const m = r.chance(0.5) ? 'bpf_core_enum_value_exists' : 'bpf_core_enum_value';
        if (this.localEnums.length && r.chance(0.5)) {
          const e = r.pick(this.localEnums);
          this.push('enum', `\t${this.slot()} = ${m}(${e.cname}, ${r.pick(e.values)});`);
          return true;
        }
        if (!this.ix.enums.length) return false;
        const id = this.pickEnum();
        const en = tagName(btf, id);
        const vals = this.ix.hdr.enumerators.get(en);
        if (!vals?.length) return false;
        // through a typedef of the enum sometimes
        this.push('enum', `\t${this.slot()} = ${m}(${en}, ${r.pick(vals)});`);
        return true;
      }
      case 'ptregs': {
        const n = r.range(1, 5);
        this.push('ptregs', `\t${this.slot()} = (__u64)PT_REGS_PARM${n}_CORE(ctx);`);
        return true;
      }
      case 'anonroot': {
        // a field relocation whose local root is an anonymous struct: libbpf fails with -EOPNOTSUPP
        const m = r.pick(['exists', 'offset', 'size']);
        this.push('anonroot', `\t{ struct { int btfgen_a; long btfgen_b; } __attribute__((preserve_access_index)) *rp = (void *)${ctx}; ${this.slot()} = bpf_core_field_${m}(rp->btfgen_b); }`);
        return true;
      }
      case 'typeid': {
        // TYPE_ID relocations on unnamed or base types (only __builtin_btf_type_id takes those)
        // (clang's backend refuses a kernel type ID of an unnamed type: "Empty type name")
        const local = r.chance(0.3);
        const named = ['int', 'unsigned int', 'long', 'unsigned long', 'char', 'long long', 'unsigned char', '_Bool', 'long unsigned int', 'signed char'];
        const t = r.pick(local ? [...named, 'void *', `${tagName(btf, this.pickComp())} *`, 'int[4]'] : named);
        this.push('typeid', `\t${this.slot()} = bpf_core_type_id_${local ? 'local' : 'kernel'}(${t});`);
        return true;
      }
    }
    return false;
  }

  private typeName(): string | undefined {
    const r = this.rng;
    const btf = this.btf;
    const w = r.weighted<string>([
      ['comp', 5],
      ['enum', 2],
      ['typedef', 2],
      ['local', this.localComps.length ? 4 : 0],
      ['famous', this.ix.famous.length ? 2 : 0],
      ['localenum', this.localEnums.length ? 2 : 0],
      ['localtypedef', this.localTypedefs.length ? 2 : 0],
      ['renamed', this.ix.hdr.renamed.length ? 0.5 : 0],
    ]);
    switch (w) {
      case 'comp':
        return tagName(btf, this.pickComp());
      case 'enum':
        return this.ix.enums.length ? tagName(btf, r.pick(this.ix.enums)) : undefined;
      case 'typedef':
        return this.ix.typedefs.length ? btf.name(r.pick(this.ix.typedefs)) : undefined;
      case 'local':
        return r.pick(this.localComps).cname;
      case 'famous':
        return tagName(btf, r.pick(this.ix.famous));
      case 'localenum':
        return r.pick(this.localEnums).cname;
      case 'localtypedef':
        return r.pick(this.localTypedefs).name;
      case 'renamed':
        return r.pick(this.ix.hdr.renamed);
    }
    return undefined;
  }

  generate(seed: number, index: number): GenProgram {
    const r = this.rng;
    const nFocus = r.range(0, 5);
    for (let i = 0; i < nFocus && this.ix.comps.length; i++) {
      const famous = this.ix.famous.length && r.chance(0.5);
      this.focus.push(famous ? r.pick(this.ix.famous) : r.pick(r.chance(0.5) ? this.ix.compsWithPtrs : this.ix.comps));
    }
    this.push('head', `// random-c: seed ${seed} object ${index} (BTFGEN_RANDOMC_SEED=${seed} BTFGEN_RANDOMC_ONLY=${index})`, false);
    this.push('head', '#include "vmlinux.h"', false);
    this.push('head', '#include <bpf/bpf_helpers.h>', false);
    this.push('head', '#include <bpf/bpf_core_read.h>', false);
    this.push('head', '#include <bpf/bpf_tracing.h>', false);
    this.push('head', '', false);
    this.push('head', '#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)', false);
    const nFlavors = r.weighted<number>([
      [0, 2],
      [1, 3],
      [2, 3],
      [3, 2],
      [5, 1],
    ]);
    for (let i = 0; i < nFlavors; i++) this.defineFlavor();
    const nEnums = r.weighted<number>([
      [0, 3],
      [1, 2],
      [2, 1],
    ]);
    for (let i = 0; i < nEnums; i++) this.defineEnum();
    if (r.chance(0.3)) this.defineTypedef();
    if (r.chance(0.15)) this.defineTypedef();
    this.push('head', '#pragma clang attribute pop', false);
    this.push('head', '', false);
    const outAt = this.lines.length;
    this.push('head', 'OUT_PLACEHOLDER', false);
    this.push('head', '', false);
    const nProgs = r.weighted<number>([
      [1, 3],
      [2, 3],
      [3, 2],
      [5, 1],
    ]);
    const nStmts = r.range(4, 28);
    const useSub = r.chance(0.25);
    if (useSub) {
      // a non-inlined subprogram in .text, called from the first program
      this.push('sub', 'static __noinline __u64 btfgen_sub(void *arg)', false);
      this.push('sub', '{', false);
      const n = r.range(1, 5);
      for (let i = 0; i < n; i++) this.statement(false, 'arg');
      this.push('sub', '\treturn out[0];', false);
      this.push('sub', '}', false);
      this.push('sub', '', false);
    }
    const per = Math.max(1, Math.ceil(nStmts / nProgs));
    // object-level extras: globals (DATASECs), a BTF-defined map, __kconfig/__ksym externs
    const extras: string[] = [];
    if (r.chance(0.3)) {
      this.push('global', `__u64 btfgen_bss${index};`);
      this.push('global', `const volatile __u32 btfgen_ro${index} = ${r.range(1, 9)};`);
      this.push('global', `char btfgen_data${index}[8] = "btfgen";`);
      extras.push(`\tout[0] += btfgen_bss${index} + btfgen_ro${index} + btfgen_data${index}[1];`);
    }
    if (r.chance(0.25)) {
      const v = this.localComps.length && r.chance(0.5) ? r.pick(this.localComps).cname : tagName(this.btf, this.pickComp());
      this.push('map', `struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, ${v}); } btfgen_map SEC(".maps");`);
      extras.push('\t{ __u32 k = 0; out[0] += (__u64)bpf_map_lookup_elem(&btfgen_map, &k); }');
    }
    if (r.chance(0.2)) {
      this.push('extern', 'extern int LINUX_KERNEL_VERSION __kconfig;');
      this.push('extern', 'extern const void bpf_prog_active __ksym;');
      extras.push('\tout[0] += LINUX_KERNEL_VERSION + (__u64)&bpf_prog_active;');
    }
    this.push('head', '', false);
    for (let pi = 0; pi < nProgs; pi++) {
      const style = r.weighted<string>([
        ['kprobe', 4],
        ['raw_tp', 4],
        ['fentry', 1.5],
        ['BPF_KPROBE', 1.5],
      ]);
      const kprobe = style === 'kprobe';
      const fn = this.ix.funcs.length ? r.pick(this.ix.funcs) : 'do_nanosleep';
      let ctx = 'ctx';
      if (style === 'fentry') {
        // typed arguments: direct loads through them are CO-RE relocations (vmlinux.h types are PAI)
        const t = this.pickComp();
        this.push('prog', `SEC("${r.pick(['fentry', 'fexit'])}/${fn}")`, false);
        this.push('prog', `int BPF_PROG(prog${pi}, ${tagName(this.btf, t)} *targ, long n)`, false);
        this.push('prog', '{', false);
        ctx = 'targ';
      } else if (style === 'BPF_KPROBE') {
        this.push('prog', `SEC("kprobe/${fn}")`, false);
        this.push('prog', `int BPF_KPROBE(prog${pi}, void *karg, long n)`, false);
        this.push('prog', '{', false);
        ctx = 'karg';
      } else {
        const sec = kprobe ? `${r.chance(0.8) ? 'kprobe' : 'kretprobe'}/${fn}` : r.chance(0.7) ? `raw_tp/${fn}` : `tracepoint/syscalls/${fn}`;
        this.push('prog', `SEC("${sec}")`, false);
        this.push('prog', `int prog${pi}(${kprobe ? 'struct pt_regs *ctx' : 'void *ctx'})`, false);
        this.push('prog', '{', false);
        if (kprobe) {
          this.push('prog', `\tvoid *base = (void *)PT_REGS_PARM${r.range(1, 3)}(ctx);`, false);
          ctx = 'base';
        }
      }
      if (pi === 0 && useSub) this.push('prog', `\tout[0] += btfgen_sub(${ctx});`, false);
      if (pi === 0) for (const e of extras) this.push('extra', e);
      for (let s = 0; s < per; s++) this.statement(kprobe, ctx);
      this.push('prog', '\treturn 0;', false);
      this.push('prog', '}', false);
      this.push('prog', '', false);
    }
    this.push('tail', 'char LICENSE[] SEC("license") = "GPL";', false);
    this.lines[outAt] = { tag: 'head', text: `volatile __u64 out[${Math.max(1, this.out)}];`, droppable: false };
    return { seed, index, lines: this.lines };
  }
}

/** The C program for (seed, object index). */
export function generateProgram(ix: KernelIndex, seed: number, index: number): GenProgram {
  return new Gen(ix, Rng.forCase(seed, index)).generate(seed, index);
}
