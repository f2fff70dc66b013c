// btf__parse() / btf_parse_elf(): raw BTF or an ELF carrying .BTF (+ .BTF.ext, .BTF.base).
import { BtfError, ElfError } from '../errors.js';
import { Btf, isRawBtf, parseBtf, type RecordSieve } from './btf.js';
import { isElf, parseElf, SHF_COMPRESSED, SHT_PROGBITS, type ElfFile, type ElfSection } from './elf.js';
import { parseBtfExt, type BtfExt } from './ext.js';

export interface LoadedBtf {
  btf: Btf;
  /** .BTF.ext, when the ELF has one. */
  ext?: BtfExt;
  elf?: ElfFile;
  /** The distilled base from .BTF.base when the ELF carries one. */
  base?: Btf;
  format: 'raw' | 'elf';
}

export interface LoadBtfOptions {
  /** Base BTF for split input (a kernel module's BTF). */
  base?: Btf;
  /** Name used in error messages (usually the file path). */
  name?: string;
  /** Skip btf_sanity_check-style validation. */
  noValidate?: boolean;
  /**
   * Parse .BTF.ext (default true). btf__parse(path, NULL) in libbpf 1.1 never looks at it
   * (only btf__parse_elf(path, &btf_ext) does), so readers of the types alone pass false and
   * an unusable .BTF.ext does not stop them.
   */
  parseExt?: boolean;
  /** The parse's RecordSieve (ParseBtfOptions.sieve) for the BTF itself (not a distilled base). */
  sieve?: RecordSieve;
}

export function loadBtf(bytes: Uint8Array, options: LoadBtfOptions = {}): LoadedBtf {
  try {
    return load(bytes, options);
  } catch (e) {
    if (e instanceof BtfError && options.name) throw e.withFile(options.name);
    throw e;
  }
}

function load(bytes: Uint8Array, options: LoadBtfOptions): LoadedBtf {
  if (isRawBtf(bytes)) {
    return { btf: parseBtf(bytes, { base: options.base, noValidate: options.noValidate, sieve: options.sieve }), format: 'raw' };
  }
  if (!isElf(bytes)) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new BtfError(`neither raw BTF nor an ELF object (first bytes: ${head || 'empty file'})`);
  }
  const elf = parseElf(bytes);
  const sectionData = (s: ElfSection): Uint8Array => {
    if (s.type !== SHT_PROGBITS) throw new ElfError(`section ${s.name} has type ${s.type}, expected SHT_PROGBITS`);
    if (s.flags & SHF_COMPRESSED) throw new ElfError(`section ${s.name} is compressed (SHF_COMPRESSED), which is not supported`);
    return elf.data(s);
  };
  const btfSec = elf.section('.BTF');
  if (!btfSec) throw new MissingSectionError('.BTF');
  const ptrSize = elf.bits === 32 ? 4 : 8;
  let base = options.base;
  let distilled: Btf | undefined;
  const baseSec = elf.section('.BTF.base');
  if (baseSec && !base) {
    distilled = parseBtf(sectionData(baseSec), { ptrSize, noValidate: options.noValidate });
    base = distilled;
  }
  const btf = parseBtf(sectionData(btfSec), { base, ptrSize, noValidate: options.noValidate, sieve: options.sieve });
  const extSec = options.parseExt === false ? undefined : elf.section('.BTF.ext');
  const ext = extSec ? parseBtfExt(sectionData(extSec)) : undefined;
  const out: LoadedBtf = { btf, elf, format: 'elf' };
  if (ext) out.ext = ext;
  if (distilled) out.base = distilled;
  return out;
}

/** A required ELF section is absent (libbpf: -ENOENT in 1.1, -ENODATA later). */
export class MissingSectionError extends BtfError {
  constructor(
    readonly section: string,
    file?: string,
  ) {
    super(`failed to find '${section}' ELF section`, file);
  }
  override withFile(file: string): BtfError {
    return this.file ? this : new MissingSectionError(this.section, file);
  }
}
