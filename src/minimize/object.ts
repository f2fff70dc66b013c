// The object side of bpftool's btfgen_record_obj(): btf__parse(obj, &btf_ext), the
// ".BTF.ext not found" check, and everything about a CO-RE relocation that does not depend on
// the target (local root name and kind, essential name, the bpf_core_parse_spec() result).
// A PreparedObject is immutable and reusable across any number of targets.
import type { Btf } from '../btf/btf.js';
import type { ElfFile } from '../btf/elf.js';
import type { BtfExt } from '../btf/ext.js';
import { EINVAL, ENOENT, ReloKind } from '../btf/kinds.js';
import { loadBtf, MissingSectionError } from '../btf/object.js';
import { BtfError } from '../errors.js';
import { essentialName, rootKey } from './candidates.js';
import { CoreSpec, nameByOffset, parseSpec } from './spec.js';

/** LIBBPF_ERRNO__FORMAT: libbpf's error for a file that is neither raw BTF nor usable ELF. */
export const LIBBPF_ERRNO_FORMAT = 4001;
const EIO = 5;
/** ENOTSUP (= EOPNOTSUPP on Linux). */
const ENOTSUP = 95;

/**
 * The errno libbpf 1.1's btf__parse() fails with for bytes our loader rejected: EIO for a file
 * shorter than the 2-byte magic; LIBBPF_ERRNO__FORMAT when it is neither BTF nor ELF, or an
 * ELF whose section-name table cannot be had (btf_parse_elf's elf_getshdrstrndx() /
 * elf_rawdata(elf_getscn(shstrndx)) checks); ENOTSUP for a .BTF.ext version or flags it does
 * not know (btf_ext_parse_hdr); EINVAL for other malformed BTF/.BTF.ext.
 */
export function parseErrno(bytes: Uint8Array, message: string): number {
  if (bytes.length < 2) return EIO;
  if (/neither raw BTF nor an ELF|section name table index \d+ is out of range/.test(message)) return LIBBPF_ERRNO_FORMAT;
  if (/unsupported \.BTF\.ext (version|flags)/.test(message)) return ENOTSUP;
  return EINVAL;
}

/**
 * An ELF without a section header table (e_shoff 0) or with no sections (e_shnum 0 and no
 * extended count): libbpf finds no section-name table there, LIBBPF_ERRNO__FORMAT, before it
 * looks for .BTF (ENOENT).
 */
function elfWithoutSections(bytes: Uint8Array): boolean {
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return false;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = bytes[5] !== 2;
  const is64 = bytes[4] === 2;
  const shoff = is64 ? dv.getBigUint64(40, le) : BigInt(dv.getUint32(32, le));
  const shnum = dv.getUint16(is64 ? 60 : 48, le);
  if (shoff === 0n) return true;
  if (shnum !== 0) return false;
  // Extended numbering: the count is section 0's sh_size.
  const at = Number(shoff);
  if (!Number.isSafeInteger(at) || at + (is64 ? 64 : 40) > bytes.length) return false;
  const count = is64 ? dv.getBigUint64(at + 32, le) : BigInt(dv.getUint32(at + 20, le));
  return count === 0n;
}

/**
 * A BPF object bpftool would refuse before looking at its relocations (no .BTF, no .BTF.ext,
 * malformed BTF). `errno` is the (positive) errno bpftool 7.1 fails with: exit = (-errno) & 0xff.
 */
export class ObjectError extends BtfError {
  readonly errno: number;
  constructor(message: string, file: string | undefined, errno: number) {
    super(message, file);
    this.errno = errno;
    this.exitCode = (-errno) & 0xff;
  }
  override withFile(file: string): BtfError {
    return this.file ? this : new ObjectError(this.message, file, this.errno);
  }
}

/** One CO-RE relocation record with its target-independent analysis. */
export interface PreparedRelo {
  /** ELF section of the program (the .BTF.ext block's sec_name_off), e.g. "kprobe/do_nanosleep". */
  readonly section: string;
  /** Index of the record inside its block (libbpf's relo_idx). */
  readonly index: number;
  readonly insnOff: number;
  readonly typeId: number;
  readonly accessStrOff: number;
  readonly kind: number;
  /** The access string, or null when its offset is invalid. */
  readonly accessString: string | null;
  /** Name of the local root type ('' for anonymous), or null when unresolvable. */
  readonly typeName: string | null;
  /** Kind of the (unskipped) local root type, -1 when the type ID is invalid. */
  readonly localKind: number;
  /** Essential name of the local root (what the candidate search compares). */
  readonly essName: string;
  /** bpf_core_parse_spec() result: 0 or a negative errno. */
  readonly parseErr: number;
  /** The parsed local spec (when parseErr is 0). */
  readonly localSpec: CoreSpec | null;
  /** libbpf's warning text for a parse failure, when it prints a specific one. */
  readonly parseMessage: string | undefined;
  /**
   * Position in `relos` of the first record with the same type ID, access string offset and
   * kind, or -1 for a first occurrence. bpf_core_calc_relo_insn() depends on those and the
   * candidate list only, so such a repeat gives the same outcome while the list is unchanged.
   */
  readonly repeatOf: number;
}

export interface PreparedObject {
  /** Name used in messages (usually the file path). */
  readonly name: string;
  readonly btf: Btf;
  readonly ext: BtfExt;
  /**
   * The object's ELF, as parsed for its .BTF (a prepared object is always an ELF: raw BTF has
   * no .BTF.ext). Its class gives the pointer size (4 for ELF32, 8 for ELF64); the checks read
   * the programs and maps from it without parsing the file again.
   */
  readonly elf: ElfFile;
  readonly relos: readonly PreparedRelo[];
  /** Candidate-index keys (rootKey(kind, essential name)) of every root needing a search. */
  readonly roots: ReadonlySet<string>;
}

/** Every root key of `objects` (their candidate searches, done in one pass per target). */
export function rootKeys(objects: Iterable<Pick<PreparedObject, 'roots'>>): Set<string> {
  const keys = new Set<string>();
  for (const o of objects) for (const k of o.roots) keys.add(k);
  return keys;
}

/**
 * Parses a BPF object (ELF with .BTF and .BTF.ext) once. Like libbpf 1.1 (which has no
 * btf_sanity_check), the BTF is not validated up front: a dangling name or type reference met
 * later raises a BtfError instead. Throws ObjectError where bpftool
 * fails on the object itself: no .BTF (ENOENT, exit 254), no .BTF.ext ("section .BTF.ext
 * not found", EINVAL, exit 234), malformed BTF or .BTF.ext (EINVAL), not an ELF (exit 93).
 */
export function prepareObject(bytes: Uint8Array, name = 'object'): PreparedObject {
  let loaded;
  try {
    loaded = loadBtf(bytes, { name, noValidate: true });
  } catch (e) {
    if (e instanceof MissingSectionError) {
      if (e.section === '.BTF' && elfWithoutSections(bytes)) {
        throw new ObjectError('failed to parse BPF object: ELF has no section header table (libbpf: LIBBPF_ERRNO__FORMAT)', name, LIBBPF_ERRNO_FORMAT);
      }
      throw new ObjectError(`failed to parse BPF object: ${e.section} section not found (No such file or directory)`, name, ENOENT);
    }
    if (e instanceof BtfError) {
      const msg = e.message.startsWith(`${name}: `) ? e.message.slice(name.length + 2) : e.message;
      throw new ObjectError(`failed to parse BPF object: ${msg}`, name, parseErrno(bytes, msg));
    }
    throw e;
  }
  if (!loaded.ext || !loaded.elf) {
    throw new ObjectError('failed to parse BPF object: section .BTF.ext not found', name, EINVAL);
  }
  if (loaded.ext.endian !== 'little') {
    // libbpf 1.1 reads the .BTF.ext header in host order only (btf_ext_parse_hdr fails with
    // -EINVAL on the byte-swapped hdr_len); bpftool 7.1 rejects such objects.
    throw new ObjectError('failed to parse BPF object: .BTF.ext in non-native (big-endian) byte order is not supported', name, EINVAL);
  }
  const { btf, ext, elf } = loaded;
  const relos: PreparedRelo[] = [];
  const roots = new Set<string>();
  const specCache = new Map<string, { err: number; spec: CoreSpec | null; msg?: string }>();
  const firstOf = new Map<string, number>();

  for (const sec of ext.coreRelo.sections) {
    const section = nameByOffset(btf, sec.secNameOff) ?? '<?>';
    sec.records.forEach((r, index) => {
      const validId = r.typeId < btf.typeCount;
      const localKind = validId ? btf.kind(r.typeId) : -1;
      const typeName = validId ? nameByOffset(btf, btf.nameOff(r.typeId)) : null;
      const essName = typeName ? essentialName(typeName) : '';
      if (r.kind !== ReloKind.TYPE_ID_LOCAL && essName) roots.add(rootKey(localKind, essName));

      // bpf_core_parse_spec() depends on (type_id, access string, kind) only: share results.
      const key = `${r.typeId}/${r.accessStrOff}/${r.kind}`;
      let parsed = specCache.get(key);
      if (!parsed) {
        if (!validId) parsed = { err: -EINVAL, spec: null };
        else {
          const spec = new CoreSpec(btf);
          let msg: string | undefined;
          const err = parseSpec(btf, r, spec, (m) => (msg = m));
          parsed = err ? { err, spec: null, msg } : { err: 0, spec };
        }
        specCache.set(key, parsed);
      }
      const first = firstOf.get(key);
      if (first === undefined) firstOf.set(key, relos.length);
      relos.push({
        section,
        index,
        insnOff: r.insnOff,
        typeId: r.typeId,
        accessStrOff: r.accessStrOff,
        kind: r.kind,
        accessString: nameByOffset(btf, r.accessStrOff),
        typeName,
        localKind,
        essName,
        parseErr: parsed.err,
        localSpec: parsed.spec,
        parseMessage: parsed.msg,
        repeatOf: first ?? -1,
      });
    });
  }
  return { name, btf, ext, elf, relos, roots };
}

