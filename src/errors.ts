// Typed errors shared by every layer. The CLI prints `error.message` as one line and exits
// non-zero; anything that is not a BtfgenError is a bug and gets a stack trace.

export class BtfgenError extends Error {
  /** Exit code the CLI uses for this error (bpftool-style negative errno truncated to 8 bits where relevant). */
  exitCode = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Malformed or unsupported BTF / .BTF.ext bytes. `file` names the input when known. */
export class BtfError extends BtfgenError {
  constructor(
    message: string,
    public file?: string,
  ) {
    super(file ? `${file}: ${message}` : message);
  }
  /** Returns a copy of this error that names `file` (decoders are pure and do not know paths). */
  withFile(file: string): BtfError {
    if (this.file) return this;
    const e = new (this.constructor as typeof BtfError)(this.message, file);
    return e;
  }
}

/** Malformed ELF container (section table, names, bounds). */
export class ElfError extends BtfError {}

/** A CO-RE relocation that libbpf (and so bpftool) rejects. */
export class RelocationError extends BtfgenError {
  constructor(
    message: string,
    public info: {
      object?: string;
      section?: string;
      reloIndex?: number;
      accessString?: string;
      typeName?: string;
      typeId?: number;
      kind?: string;
      errno?: number;
    } = {},
  ) {
    super(message);
    if (info.errno !== undefined) this.exitCode = (-info.errno) & 0xff;
  }
}

/** Problems with a btfhub archive (layout, members, hostile entries). */
export class ArchiveError extends BtfgenError {}

/** Problems fetching btfhub repositories. */
export class FetchError extends BtfgenError {}

/** Runtime lookup failures (no matching kernel, bad archive). */
export class LookupError extends BtfgenError {}

/** Bad command-line usage. */
export class UsageError extends BtfgenError {
  override exitCode = 2;
}

/**
 * A file system call that failed on a named file: `code` is its errno name (ENOSPC, EROFS...),
 * the message names the file (node's errors from write(2) and friends do not).
 */
export class FileSystemError extends BtfgenError {
  constructor(
    message: string,
    readonly code: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
