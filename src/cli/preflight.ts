// What the CLI checks before it starts a long job, and the hints it adds to errors a user can fix:
// each turns a failure met late (after minimizing every kernel) or worded for us into one line
// that says what to do.
import { closeSync, openSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import nodePath from 'node:path';
import { BtfgenError } from '../errors.js';

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
};
const reason = (err: unknown): string => {
  const code = (err as NodeJS.ErrnoException)?.code;
  return (code && REASONS[code]) ?? (code || (err as Error)?.message || String(err));
};

/** The output cannot be written; names the output as the user gave it. */
export class OutputError extends BtfgenError {}

/**
 * Fails now, naming `output`, when it could not be written at the end: its directory (or the
 * nearest existing ancestor, which pack creates the rest under) must be a directory we can
 * create a file in. Checked by creating and removing a probe file there: as root, permission
 * bits say nothing, and read-only mounts or /proc refuse only the create itself.
 */
export function checkOutputWritable(output: string, cwd = process.cwd()): void {
  const abs = nodePath.resolve(cwd, output);
  let dir = nodePath.dirname(abs);
  for (;;) {
    const st = statSync(dir, { throwIfNoEntry: false });
    if (st) {
      if (!st.isDirectory()) throw new OutputError(`cannot write ${output}: ${dir} is not a directory`);
      break;
    }
    const parent = nodePath.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const probe = nodePath.join(dir, `.${nodePath.basename(abs)}.btfgen-probe-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx', 0o600));
  } catch (err) {
    throw new OutputError(`cannot write ${output}: ${dir}: ${reason(err)}`);
  }
  try {
    unlinkSync(probe);
  } catch {
    /* gone already */
  }
}

/**
 * A system error about one of our temporary files next to `output` (`.NAME.<pid>...tmp`),
 * reworded to name `output`; anything else is returned unchanged.
 */
export function nameOutputInError(err: unknown, output: string, cwd = process.cwd()): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!e || typeof e !== 'object' || typeof e.code !== 'string' || typeof e.path !== 'string') return err;
  const abs = nodePath.resolve(cwd, output);
  const p = nodePath.resolve(cwd, e.path);
  if (nodePath.dirname(p) !== nodePath.dirname(abs) || !nodePath.basename(p).startsWith(`.${nodePath.basename(abs)}.`)) return err;
  return new OutputError(`cannot write ${output}: ${reason(err)}`, { cause: err });
}

/**
 * An object without .BTF is what `clang -O2 -target bpf` without -g makes: bpftool fails on it
 * with ENOENT (exit 254, kept) and a message that does not say so. The hint is appended in place.
 */
export function addObjectHint(err: unknown): unknown {
  if (err instanceof BtfgenError && /failed to parse BPF object: \.BTF section not found/.test(err.message)) {
    err.message += ': CO-RE needs the object\'s BTF: compile it with `clang -g -O2 -target bpf ...`';
  }
  return err;
}

/**
 * The objects that have .BTF.ext but not one CO-RE relocation record: they add no type to a
 * minimized BTF (bpftool succeeds with an empty one). Only the ELF section table and .BTF.ext
 * are read (a re-run of pack from its cache takes a few tens of ms; a full parse of every
 * object would add to it). Objects that cannot be read this way are left to the command,
 * which reports them.
 */
export async function objectsWithoutCoreRelos(
  objects: ReadonlyArray<string | { name: string; bytes: Uint8Array }>,
  cwd = process.cwd(),
): Promise<string[]> {
  const [{ parseElf }, { parseBtfExt }] = await Promise.all([import('../btf/elf.js'), import('../btf/ext.js')]);
  const out: string[] = [];
  for (const o of objects) {
    const name = typeof o === 'string' ? o : o.name;
    if (out.includes(name)) continue;
    try {
      const b = typeof o === 'string' ? readFileSync(nodePath.resolve(cwd, o)) : o.bytes;
      const elf = parseElf(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
      const sec = elf.section('.BTF.ext');
      if (!sec || !elf.section('.BTF')) continue;
      const ext = parseBtfExt(elf.data(sec));
      if (ext.endian === 'little' && ext.coreRelo.sections.every((s) => s.records.length === 0)) out.push(name);
    } catch {
      /* reported by the command */
    }
  }
  return out;
}

/** The warning for objectsWithoutCoreRelos(): `what` is "every BTF of the archive" or "the output BTF". */
export function noReloWarning(empty: readonly string[], total: number, what: string): string | undefined {
  if (empty.length === 0) return undefined;
  const list = empty.join(', ');
  const verb = empty.length === 1 ? 'has' : 'have';
  return empty.length === total
    ? `${list} ${verb} no CO-RE relocation (.BTF.ext holds none): ${what} will be empty. Build the program with CO-RE ` +
        '(vmlinux.h types read with BPF_CORE_READ or __attribute__((preserve_access_index)))'
    : `${list} ${verb} no CO-RE relocation (.BTF.ext holds none): ${empty.length === 1 ? 'it adds' : 'they add'} nothing to ${what}`;
}
