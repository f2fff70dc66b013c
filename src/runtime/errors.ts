// Typed runtime errors. Each carries `code`, the errno name the C helper returns (negated) for
// the same situation, so loaders can treat both runtimes alike.
import { ArchiveError, LookupError } from '../errors.js';
import type { HostIdentity } from './lookup.js';

/** The archive has no member for this host (C: -ENOENT). */
export class NoMatchingBtfError extends LookupError {
  readonly code = 'ENOENT';
  constructor(
    /** The host that was looked up. */
    readonly host: HostIdentity,
    /** Keys tried, in order. */
    readonly keysTried: readonly string[],
    /** The archive's kernels nearest to the host, best first (at most 5). */
    readonly nearest: readonly string[],
    /** How many kernels the archive holds. */
    readonly kernelCount: number,
  ) {
    super(
      `no BTF for this host in the archive: tried ${keysTried.join(', ')}; ` +
        (kernelCount === 0
          ? 'the archive holds no kernels'
          : `nearest kernels in the archive (${kernelCount} in all): ${nearest.join(', ')}`),
    );
  }
}

/**
 * The archive has no member under the host's ID or ID_LIKE, and the members with the host's
 * arch and release (the release rule) are different BTFs: choosing one would be a guess
 * (C: -ENOENT, same message). `candidates` lists them in archive order.
 */
export class AmbiguousBtfError extends NoMatchingBtfError {
  constructor(
    host: HostIdentity,
    keysTried: readonly string[],
    /** The members with the host's arch and release, in archive order. */
    readonly candidates: readonly string[],
    kernelCount: number,
  ) {
    super(host, keysTried, [], kernelCount);
    this.message =
      `no BTF for this host in the archive: tried ${keysTried.join(', ')}; ` +
      `the ${candidates.length} kernels with release ${host.release} differ, not guessing between ` +
      candidates.join(', ');
  }
}

/** The kernel has no BTF and no archive was given (C: -EOPNOTSUPP, nothing linked). */
export class NoArchiveError extends LookupError {
  readonly code = 'EOPNOTSUPP';
  constructor() {
    super('the kernel has no BTF (/sys/kernel/btf/vmlinux) and no BTF archive was given');
  }
}

/** BTF_FILE_PATH names a file that cannot be read (C: -ENOENT). */
export class BtfFilePathError extends LookupError {
  readonly code = 'ENOENT';
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`BTF_FILE_PATH=${path}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** Not a gzip/tar archive, or a corrupt or truncated one (C: -EINVAL). */
export class CorruptArchiveError extends ArchiveError {
  readonly code = 'EINVAL';
}

/**
 * The extracted BTF cannot be written: no temporary file can be created in the directory
 * (TMPDIR missing, read-only, full) or the write failed (C: -EIO, "cannot create a temporary
 * file in DIR"). Distinct from NoMatchingBtfError's ENOENT: the archive was not at fault.
 */
export class OutputFileError extends LookupError {
  readonly code = 'EIO';
  constructor(
    message: string,
    /** errno name of the failed call (ENOENT, EROFS, ENOSPC...). */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
