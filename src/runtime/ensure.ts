// ensureCoreBtf: what a loader calls before opening its BPF object. BTF_FILE_PATH, else the
// kernel's own BTF, else the host's member of the archive (compat-contract §4).
import { constants as fsConstants } from 'node:fs';
import { access, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import type { ArchiveSource, OutputTarget } from './archive.js';
import { BtfFilePathError, NoArchiveError, OutputFileError } from './errors.js';
import { detectHost, type DetectHostOptions } from './host.js';
import type { HostIdentity, MatchRule } from './lookup.js';
import { extractHostBtf } from './select.js';

/** Where libbpf finds the running kernel's BTF. */
export const KERNEL_BTF_PATH = '/sys/kernel/btf/vmlinux';

export type CoreBtfSource = 'kernel' | 'archive' | 'env';

/** The BTF a loader should use. Pass `path` (when set) as libbpf's `btf_custom_path`. */
export interface CoreBtf {
  /** The BTF file; undefined when the kernel has its own BTF (libbpf's default applies). */
  path?: string;
  /** `env`: BTF_FILE_PATH; `kernel`: /sys/kernel/btf/vmlinux; `archive`: extracted member. */
  source: CoreBtfSource;
  /** The archive member's key (`<ID>/<VERSION_ID>/<arch>/<release>.btf`), source `archive` only. */
  key?: string;
  /** The lookup rule that found the member (`exact`, ..., `id-like`, `release`), source `archive` only. */
  rule?: MatchRule;
  /** Removes the extracted file (source `archive`); a no-op otherwise. Idempotent. */
  cleanup(): Promise<void>;
}

export interface EnsureCoreBtfOptions extends DetectHostOptions, OutputTarget {
  /**
   * Use the archive even when the kernel has BTF (to test an archive on a machine with BTF).
   * Default: environment BTFGEN_FORCE_ARCHIVE set to anything but "" or "0".
   */
  force?: boolean;
  /**
   * Environment to read BTF_FILE_PATH and BTFGEN_FORCE_ARCHIVE from (default process.env), and
   * the C helper's test hooks: BTFGEN_OS_RELEASE (an os-release file), BTFGEN_MACHINE and
   * BTFGEN_RELEASE (uname -m / -r), used when set and not given as options.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** The kernel BTF to check for (default {@link KERNEL_BTF_PATH}). */
  kernelBtfPath?: string;
}

/** BTFGEN_FORCE_ARCHIVE semantics, shared with the C helper. */
export function isForced(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0';
}

const noop = async (): Promise<void> => {};

async function readable(path: string): Promise<boolean> {
  try {
    await access(path, fsConstants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** A stream that will not be read is destroyed, so that it does not hold a file open. */
function release(archive: ArchiveSource | null | undefined): void {
  const destroy = (archive as { destroy?: unknown } | null | undefined)?.destroy;
  if (typeof destroy === 'function') destroy.call(archive);
}

/**
 * A system error while creating or writing the output file (not the archive's fault) as
 * OutputFileError, code EIO like the C helper's; other errors pass through. A file system error
 * while reading the archive names the archive (its `path`) and is left alone.
 */
function outputError(err: unknown, target: OutputTarget, archive: ArchiveSource): unknown {
  const e = err as NodeJS.ErrnoException | null;
  if (!e || typeof e !== 'object' || typeof e.code !== 'string' || typeof e.syscall !== 'string' || 'exitCode' in e) return err;
  if (e.path !== undefined && typeof archive === 'string' && e.path === archive) return err;
  if (target.extractTo !== undefined) {
    const dir = dirname(target.extractTo);
    if (e.path !== undefined && dirname(e.path) !== dir) return err;
    return new OutputFileError(`cannot write ${target.extractTo}: ${e.message}`, e.code, { cause: err });
  }
  const dir = target.tmpdir ?? tmpdir();
  if (e.path !== undefined && dirname(e.path) !== dir) return err;
  return new OutputFileError(`cannot create a temporary file in ${dir}: ${e.message}`, e.code, { cause: err });
}

/**
 * Extracts the host's member of the archive (no BTF_FILE_PATH or kernel check): the lookup
 * part of {@link ensureCoreBtf}, for tools that ask about a given host.
 */
export async function extractCoreBtf(
  archive: ArchiveSource,
  host: HostIdentity,
  target: OutputTarget = {},
): Promise<CoreBtf> {
  let found: Awaited<ReturnType<typeof extractHostBtf>>;
  try {
    found = await extractHostBtf(archive, host, target);
  } catch (err) {
    throw outputError(err, target, archive);
  }
  const { path, key, rule } = found;
  let removed = false;
  return {
    path,
    source: 'archive',
    key,
    rule,
    async cleanup() {
      if (removed) return;
      removed = true;
      await unlink(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    },
  };
}

/**
 * Gives a loader the BTF it needs on this host:
 * 1. BTF_FILE_PATH set (non-empty): that file (it must be readable), source `env`;
 * 2. else the kernel has BTF (/sys/kernel/btf/vmlinux): nothing to do, source `kernel`
 *    (skipped with `force` or BTFGEN_FORCE_ARCHIVE=1);
 * 3. else the host's member of `archive`, streamed to a fresh 0600 file under os.tmpdir()
 *    (lookup order: exact key, arm64<->aarch64, VERSION_ID's major version, both; the same
 *    with each ID of os-release ID_LIKE; then a member with this arch and `uname -r` under
 *    any ID, when all such members are byte-identical).
 * A stream passed as `archive` is consumed or, when not needed, destroyed.
 *
 * Errors: NoMatchingBtfError (code ENOENT; AmbiguousBtfError when the release rule's members differ), CorruptArchiveError (EINVAL), NoArchiveError
 * (EOPNOTSUPP: no archive given and the kernel has no BTF), BtfFilePathError (ENOENT),
 * OutputFileError (EIO: the temp directory or `extractTo` cannot be written, e.g. a missing TMPDIR).
 */
export async function ensureCoreBtf(
  archive: ArchiveSource | null | undefined,
  options: EnsureCoreBtfOptions = {},
): Promise<CoreBtf> {
  const env = options.env ?? process.env;
  const fromEnv = env.BTF_FILE_PATH;
  if (fromEnv) {
    release(archive);
    try {
      await access(fromEnv, fsConstants.R_OK);
    } catch (err) {
      throw new BtfFilePathError(fromEnv, err);
    }
    return { path: fromEnv, source: 'env', cleanup: noop };
  }
  const force = options.force ?? isForced(env.BTFGEN_FORCE_ARCHIVE);
  if (!force && (await readable(options.kernelBtfPath ?? KERNEL_BTF_PATH))) {
    release(archive);
    return { source: 'kernel', cleanup: noop };
  }
  if (archive === null || archive === undefined) throw new NoArchiveError();
  let host: HostIdentity;
  try {
    host = await detectHost({
      ...options,
      osReleasePaths: options.osReleasePaths ?? (env.BTFGEN_OS_RELEASE ? [env.BTFGEN_OS_RELEASE] : undefined),
      machine: options.machine ?? (env.BTFGEN_MACHINE || undefined),
      release: options.release ?? (env.BTFGEN_RELEASE || undefined),
    });
  } catch (err) {
    release(archive);
    throw err;
  }
  return extractCoreBtf(archive, host, { tmpdir: options.tmpdir, extractTo: options.extractTo });
}
