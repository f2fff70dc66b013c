// `btfgen minimize INPUT OUTPUT OBJECT...`: bpftool gen min_core_btf (minimize_btf() in gen.c).
// Heavy modules (the BTF engine, xz) are imported lazily so `btfgen --version` stays fast.
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { BtfgenError } from '../errors.js';
import { removeStaleTemps, tempPathFor } from '../fsutil.js';
import { addObjectHint, noReloWarning } from './preflight.js';

interface MinimizeCliOptions {
  headerLen: 24 | 32;
  base?: string;
}

function parseHeaderLen(v: string): 24 | 32 {
  if (v === '24') return 24;
  if (v === '32') return 32;
  throw new InvalidArgumentError('must be 24 (bpftool <= 7.7) or 32 (bpftool >= 7.8)');
}

export function register(program: Command): void {
  program
    .command('minimize')
    .description('minimized BTF of INPUT holding only what the CO-RE relocations of OBJECTs need (bpftool gen min_core_btf)')
    .argument('<input>', 'kernel BTF: raw BTF (/sys/kernel/btf/vmlinux, a btfhub .btf), an ELF with .BTF, or a .btf.tar.xz from a btfhub archive')
    .argument('<output>', 'where to write the minimized raw BTF (written atomically; nothing is written on error)')
    .argument('<objects...>', 'compiled CO-RE BPF objects (ELF with .BTF and .BTF.ext)')
    .option('--header-len <n>', 'BTF header length of the output: 24 (bpftool <= 7.7) or 32 (bpftool >= 7.8)', parseHeaderLen, 24)
    .option('-B, --base <base>', 'INPUT is split BTF (a kernel module) on top of this base BTF; the output is one standalone BTF with the needed base and module types')
    .addHelpText(
      'after',
      [
        '',
        'Argument order and output are those of `bpftool gen min_core_btf INPUT OUTPUT OBJECT...`:',
        'byte-identical to bpftool v7.1 with --header-len 24 (the default); --header-len 32',
        'gives the body unchanged with the 32-byte header of bpftool >= 7.8. Several objects',
        'give the union of what each needs. On failure nothing is written and the exit status',
        "is bpftool's (the negative errno truncated to 8 bits, e.g. 234 for EINVAL).",
        '',
        'Examples:',
        '  btfgen minimize /sys/kernel/btf/vmlinux min.btf prog.bpf.o',
        '  btfgen minimize ubuntu/20.04/x86_64/5.4.0-91-generic.btf.tar.xz 5.4.0-91-generic.btf a.o b.o',
        '  btfgen minimize --base vmlinux.btf btf_testmod.btf min.btf mod_prog.o',
      ].join('\n'),
    )
    .action(async (input: string, output: string, objects: string[], opts: MinimizeCliOptions) => {
      let empty: string[];
      try {
        ({ empty } = await runMinimize(input, output, objects, opts));
      } catch (err) {
        throw addObjectHint(err);
      }
      const warning = noReloWarning(empty, new Set(objects).size, 'the output BTF');
      if (warning) process.stderr.write(`Warning: ${warning}\n`);
    });
}

/** A file-level failure with bpftool's exit status ((-errno) & 0xff). */
function fileError(message: string, errno: number): BtfgenError {
  const e = new BtfgenError(message);
  e.exitCode = (-errno) & 0xff;
  return e;
}

const ERRNO: Record<string, number> = { ENOENT: 2, EACCES: 13, EISDIR: 21, ENOTDIR: 20, EPERM: 1, ENOSPC: 28, EROFS: 30 };

function readBytes(path: string, what: string): Uint8Array {
  try {
    const b = readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const errno = ERRNO[err.code ?? ''] ?? 5;
    const why = err.code === 'ENOENT' ? 'No such file or directory' : err.code === 'EISDIR' ? 'Is a directory' : err.message;
    throw fileError(`failed to read ${what} '${path}': ${why}`, errno);
  }
}

/** Minimizes; returns the objects that have no CO-RE relocation (they add no type). */
export async function runMinimize(
  input: string,
  output: string,
  objects: string[],
  opts: MinimizeCliOptions,
): Promise<{ empty: string[] }> {
  const api = await import('../minimize/index.js');
  const { unpackKernelBtf } = await import('../minimize/input.js');

  // 1. Objects: parse each once, first, so that the kernel's parse finds their root types
  // (prepareTarget's roots). bpftool reads INPUT first and stops at the first object that
  // fails, after recording the ones before it: an object's failure is raised only when its
  // turn comes, after INPUT's.
  const prepared: ({ ok: true; obj: ReturnType<typeof api.prepareObject> } | { ok: false; err: unknown })[] = [];
  for (const path of objects) {
    try {
      prepared.push({ ok: true, obj: api.prepareObject(readBytes(path, 'BPF object'), path) });
    } catch (err) {
      prepared.push({ ok: false, err });
    }
  }
  const names = api.rootKeys(prepared.flatMap((p) => (p.ok ? [p.obj] : [])));

  // 2. INPUT (btfgen_new_info), with an optional base for split BTF.
  let base;
  if (opts.base) {
    const baseBytes = readBytes(opts.base, 'base BTF');
    base = api.prepareTarget(await unpackKernelBtf(baseBytes, opts.base), { name: opts.base, roots: names }).btf;
  }
  const inputBytes = await unpackKernelBtf(readBytes(input, 'BTF file'), input);
  const target = api.prepareTarget(inputBytes, { name: input, roots: names, ...(base ? { base } : {}) });

  const m = new api.Minimizer(target);
  for (const p of prepared) {
    if (!p.ok) throw p.err;
    m.add(p.obj);
  }
  const bytes = m.emit(opts.headerLen);
  await removeStaleTemps(output); // a killed earlier run's temp file beside it
  writeAtomic(output, bytes);
  return { empty: [...new Set(prepared.flatMap((p) => (p.ok && p.obj.relos.length === 0 ? [p.obj.name] : [])))] };
}

/** Writes `bytes` to a temporary file next to `path`, then renames it over `path`. */
function writeAtomic(path: string, bytes: Uint8Array): void {
  const tmp = tempPathFor(path);
  try {
    writeFileSync(tmp, bytes, { mode: 0o644, flag: 'wx' });
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* not created */
    }
    const err = e as NodeJS.ErrnoException;
    const errno = ERRNO[err.code ?? ''] ?? 5;
    throw fileError(`error saving btf file '${path}': ${err.code === 'ENOENT' ? 'No such file or directory' : err.message}`, errno);
  }
}
