// The BTFGen driver: bpftool's minimize_btf() / btfgen_record_obj() (gen.c). For each object
// in order, each .BTF.ext CO-RE record in order: find (and cache per object) the candidates of
// the local root, run bpf_core_calc_relo_insn() and mark what the target spec needs. Marks
// accumulate across objects; the output is built by emit.ts.
import { Btf } from '../btf/btf.js';
import type { HeaderLen } from '../btf/builder.js';
import { ReloKind, EINVAL, kindStr, ENOENT } from '../btf/kinds.js';
import { loadBtf, MissingSectionError } from '../btf/object.js';
import { BtfError, RelocationError } from '../errors.js';
import { CandidateIndex, NameSieve } from './candidates.js';
import { emitBtf, EmitError } from './emit.js';
import { Marks, MarkError } from './marks.js';
import type { PreparedObject, PreparedRelo } from './object.js';
import { ObjectError, parseErrno, rootKeys } from './object.js';
import { calcReloInsn, reloKindName, u64, type CalcOutcome } from './relo.js';
import { CoreSpec } from './spec.js';

/** A target BTF ready for candidate lookups; reusable across object sets. */
export interface PreparedTarget {
  readonly btf: Btf;
  readonly index: CandidateIndex;
}

export interface PrepareTargetOptions {
  /** Base BTF when the target is split BTF (a kernel module's). */
  base?: Btf;
  /** Name used in error messages. */
  name?: string;
  /**
   * Run btf_sanity_check-style validation of every name and type reference up front (libbpf
   * >= 1.3 does; libbpf 1.1, and so bpftool 7.1, does not). Default false: dangling references
   * that minimization meets raise a BtfError anyway, and the pass is a large share of the parse
   * time of a big kernel.
   */
  validate?: boolean;
  /**
   * Root keys (rootKey(); rootKeys() of the objects) whose candidates will be looked up: the
   * parse picks out the types that may carry them in its own pass over the records
   * (NameSieve), and the candidate index holds them on return, with no second pass over the
   * type section.
   */
  roots?: Iterable<string>;
}

/**
 * Parses a target BTF (raw BTF, or an ELF with .BTF, like btf__parse(INPUT, NULL)) or wraps an
 * already parsed Btf. Throws ObjectError-compatible BtfErrors for unusable input.
 */
export function prepareTarget(input: Uint8Array | Btf | PreparedTarget, options: PrepareTargetOptions = {}): PreparedTarget {
  if (input instanceof Btf) return { btf: input, index: new CandidateIndex(input) };
  if (!(input instanceof Uint8Array)) return input;
  const roots = options.roots && [...options.roots];
  try {
    const { btf } = loadBtf(input, {
      ...(options.base ? { base: options.base } : {}),
      ...(options.name ? { name: options.name } : {}),
      noValidate: !options.validate,
      ...(roots ? { sieve: NameSieve.of(roots) } : {}),
    });
    const index = new CandidateIndex(btf);
    if (roots) index.ensure(roots);
    return { btf, index };
  } catch (e) {
    if (e instanceof MissingSectionError) {
      throw new ObjectError(`failed parsing BTF: ${e.section} section not found (No such file or directory)`, options.name, ENOENT);
    }
    if (e instanceof ObjectError) throw e;
    if (e instanceof BtfError) {
      const name = options.name;
      const msg = name && e.message.startsWith(`${name}: `) ? e.message.slice(name.length + 2) : e.message;
      throw new ObjectError(`failed parsing BTF: ${msg}`, name, parseErrno(input, msg));
    }
    throw e;
  }
}

function toTarget(t: Btf | Uint8Array | PreparedTarget): PreparedTarget {
  return prepareTarget(t);
}

/** The outcome of one relocation against one target, as libbpf computes it. */
export interface RelocationResult {
  readonly object: string;
  readonly section: string;
  readonly index: number;
  readonly kind: number;
  readonly kindName: string;
  readonly typeId: number;
  readonly typeName: string;
  readonly accessString: string;
  /** Whether a candidate matched (TYPE_ID_LOCAL: false; it never looks at the target). */
  readonly matched: boolean;
  readonly poison: boolean;
  /** Value for the local BTF (what the compiler put in the instruction). */
  readonly origVal: bigint;
  /** Value for the target (what libbpf patches in). */
  readonly newVal: bigint;
  /** The first matching candidate's spec in the target, when one matched. */
  readonly target: {
    readonly rootTypeId: number;
    readonly rootName: string;
    readonly rawSpec: readonly number[];
    readonly bitOffset: number;
  } | null;
}

function reloError(obj: PreparedObject, r: PreparedRelo, reason: string, errno: number, cause?: unknown): RelocationError {
  const kname = reloKindName(r.kind);
  const typeName = r.typeName === null ? '<?>' : r.typeName === '' ? '<anon>' : r.typeName;
  const kindWord = r.localKind >= 0 ? kindStr(r.localKind) : 'type';
  const e = new RelocationError(
    `${obj.name}: relocation #${r.index} (section ${r.section}, ${kname} "${r.accessString ?? '<?>'}" on ${kindWord} ${typeName} [${r.typeId}]): ${reason}`,
    {
      object: obj.name,
      section: r.section,
      reloIndex: r.index,
      accessString: r.accessString ?? '',
      typeName,
      typeId: r.typeId,
      kind: kname,
      errno,
    },
  );
  if (cause !== undefined) (e as { cause?: unknown }).cause = cause;
  return e;
}

/**
 * Runs bpftool's per-object loop (btfgen_record_obj) for one object against one target and
 * calls `each` with every relocation's outcome, in record order. Throws RelocationError where
 * bpftool fails.
 */
function processObject(
  target: PreparedTarget,
  obj: PreparedObject,
  each: (r: PreparedRelo, out: CalcOutcome) => void,
  skipRepeats = false,
): void {
  if (obj.relos.length === 0) return;
  const tbtf = target.btf;
  target.index.ensure(obj.roots);
  const cache = new Map<number, number[]>();
  const scratch = { cand: new CoreSpec(tbtf), targ: new CoreSpec(tbtf) };
  // With skipRepeats: the candidate list's length after each first occurrence. A repeat (same
  // type, access string and kind) that finds its list still that long (pruning only shrinks
  // it) would compute the same outcome and record the same marks again: it is skipped.
  const lenAfter = skipRepeats ? new Int32Array(obj.relos.length).fill(-1) : undefined;
  for (let ri = 0; ri < obj.relos.length; ri++) {
    const r = obj.relos[ri]!;
    let cands: number[] | null = null;
    if (r.kind !== ReloKind.TYPE_ID_LOCAL) {
      cands = cache.get(r.typeId) ?? null;
      if (!cands) {
        // btfgen_find_cands(): invalid local type or name -> -EINVAL
        if (r.localKind < 0) throw reloError(obj, r, `invalid local type ID ${r.typeId}`, EINVAL);
        if (r.typeName === null) throw reloError(obj, r, 'invalid name offset of the local type', EINVAL);
        cands = target.index.candidates(r.localKind, r.essName);
        cache.set(r.typeId, cands);
      }
      if (lenAfter && r.repeatOf >= 0 && lenAfter[r.repeatOf] === cands.length) continue;
    }
    // bpf_core_calc_relo_insn()
    if (r.localKind < 0) throw reloError(obj, r, `invalid local type ID ${r.typeId}`, EINVAL);
    if (r.typeName === null) throw reloError(obj, r, 'invalid name offset of the local type', EINVAL);
    if (r.parseErr || !r.localSpec) {
      const why = r.parseMessage ? `${r.parseMessage}; ` : '';
      throw reloError(obj, r, `${why}parsing the access string failed: ${r.parseErr}`, EINVAL);
    }
    let out: CalcOutcome;
    try {
      out = calcReloInsn(r, obj.btf, r.localSpec, cands, tbtf, scratch);
    } catch (e) {
      if (e instanceof RangeError) throw reloError(obj, r, `type graph too deep (${e.message})`, EINVAL, e);
      if (e instanceof BtfError) throw reloError(obj, r, `malformed BTF: ${e.message}`, EINVAL, e);
      throw e;
    }
    if (out.err) {
      throw reloError(obj, r, out.message ?? `relocation failed: ${out.err}`, -out.err);
    }
    each(r, out);
    if (lenAfter && cands) lenAfter[r.repeatOf >= 0 ? r.repeatOf : ri] = cands.length;
  }
}

/**
 * Accumulates marks for any number of objects against one target, then emits the minimized
 * BTF. `minimize()` is the one-call form; the CLI uses this to interleave object parsing with
 * recording exactly as bpftool does (an earlier object's failure wins over a later object's).
 */
export class Minimizer {
  readonly target: PreparedTarget;
  readonly marks: Marks;

  constructor(target: Btf | Uint8Array | PreparedTarget) {
    this.target = toTarget(target);
    this.marks = new Marks(this.target.btf);
  }

  /** btfgen_record_obj(): records every CO-RE relocation of `obj`. */
  add(obj: PreparedObject): this {
    processObject(this.target, obj, (r, out) => {
      if (!out.matched) return; // specs_scratch[2] is all-zero: nothing to mark
      try {
        this.marks.recordReloc(out.targ);
      } catch (e) {
        if (e instanceof MarkError) throw reloError(obj, r, e.message, -e.errno);
        if (e instanceof RangeError) throw reloError(obj, r, `type graph too deep (${e.message})`, EINVAL, e);
        if (e instanceof BtfError) throw reloError(obj, r, `malformed target BTF: ${e.message}`, EINVAL, e);
        throw e;
      }
    }, true);
    return this;
  }

  /** btfgen_get_btf() + btf__raw_data(): the minimized BTF. */
  emit(headerLen: HeaderLen = 24): Uint8Array {
    try {
      return emitBtf(this.target.btf, this.marks, headerLen);
    } catch (e) {
      if (e instanceof EmitError) throw new RelocationError(`error generating BTF: ${e.message}`, { errno: EINVAL });
      if (e instanceof BtfError) throw new RelocationError(`error generating BTF: malformed target BTF: ${e.message}`, { errno: EINVAL });
      throw e;
    }
  }
}

export interface MinimizeOptions {
  /** BTF header length of the output: 24 (bpftool <= 7.7, default) or 32 (bpftool >= 7.8). */
  headerLen?: HeaderLen;
}

/**
 * bpftool gen min_core_btf: the minimized BTF of `target` that `objects` need, byte-identical
 * to bpftool 7.1 (headerLen 24) or to bpftool >= 7.8 (headerLen 32).
 */
export function minimize(
  target: Btf | Uint8Array | PreparedTarget,
  objects: readonly PreparedObject[],
  options: MinimizeOptions = {},
): Uint8Array {
  const m = new Minimizer(target);
  m.target.index.ensure(rootKeys(objects)); // one index scan for the names of every object
  for (const o of objects) m.add(o);
  return m.emit(options.headerLen ?? 24);
}

/**
 * The relocation results libbpf computes for `object` against `target`, record by record, with
 * bpftool's per-object candidate cache and pruning. Throws RelocationError where bpftool fails.
 */
export function relocate(target: Btf | Uint8Array | PreparedTarget, object: PreparedObject): RelocationResult[] {
  const t = toTarget(target);
  const out: RelocationResult[] = [];
  processObject(t, object, (r, o) => {
    const spec = o.matched ? o.targ : null;
    out.push({
      object: object.name,
      section: r.section,
      index: r.index,
      kind: r.kind,
      kindName: reloKindName(r.kind),
      typeId: r.typeId,
      typeName: r.typeName ?? '',
      accessString: r.accessString ?? '',
      matched: o.matched,
      poison: o.res.poison,
      origVal: u64(o.res.origVal),
      newVal: u64(o.res.newVal),
      target: spec
        ? {
            rootTypeId: spec.rootTypeId,
            rootName: t.btf.validStr(t.btf.nameOff(spec.rootTypeId)) ? t.btf.name(spec.rootTypeId) : '',
            rawSpec: spec.raw(),
            bitOffset: spec.bitOffset,
          }
        : null,
    });
  });
  return out;
}

