// `btfgen dump FILE [--base BASE]`: the raw text dump of `bpftool btf dump file FILE`
// (do_dump() / dump_btf_raw() in bpftool's btf.c), byte for byte as bpftool v7.1 prints it.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { isRawBtf, type Btf } from '../btf/btf.js';
import { dumpBtfChunks } from '../btf/dump.js';
import { loadBtf } from '../btf/object.js';
import { BtfError, BtfgenError } from '../errors.js';

const SYSFS_PREFIX = '/sys/kernel/btf/';
const SYSFS_VMLINUX = '/sys/kernel/btf/vmlinux';

interface DumpCliOptions {
  base?: string;
  strict?: boolean;
}

export function register(program: Command): void {
  program
    .command('dump')
    .description(
      'print the types of a BTF file like `bpftool btf dump file FILE` (raw format, byte for byte)',
    )
    .argument('<file>', 'raw BTF (e.g. /sys/kernel/btf/vmlinux, a btfhub .btf) or an ELF object with a .BTF section')
    .option('-B, --base <base>', 'base BTF (raw or ELF) for a split BTF such as a kernel module; only the split types are printed, IDs continuing from the base')
    .option('--strict', "also check that every name and referenced type ID resolves (newer libbpf's btf_sanity_check; bpftool 7.1 prints such BTF as it is)")
    .addHelpText(
      'after',
      [
        '',
        'Output matches bpftool v7.1: one line per type, "[ID] KIND \'name\' details", with',
        'members, enumerators, parameters and DATASEC variables on tab-indented lines.',
        'Names are printed as raw bytes. Like bpftool, a module BTF under /sys/kernel/btf/',
        'is read on top of /sys/kernel/btf/vmlinux when no --base is given; an ELF object with',
        'a .BTF.base section is read on top of that distilled base.',
        '',
        'Examples:',
        '  btfgen dump /sys/kernel/btf/vmlinux | head',
        '  btfgen dump -B vmlinux.btf btf_testmod.btf',
        '  btfgen dump prog.bpf.o',
      ].join('\n'),
    )
    .action(async (file: string, opts: DumpCliOptions) => {
      await runDump(file, opts);
    });
}

async function readInput(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new BtfgenError(`${path}: cannot read: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
}

async function loadFile(path: string, base: Btf | undefined, strict: boolean): Promise<Btf> {
  const bytes = await readInput(path);
  try {
    // libbpf 1.1's btf__parse() checks the header, sections and record sizes but not names
    // or type IDs: bpftool 7.1 prints dangling ones ('(invalid)'), and so do we. It never
    // reads .BTF.ext either.
    return loadBtf(bytes, { base, name: path, noValidate: !strict, parseExt: false }).btf;
  } catch (e) {
    // A module's split BTF read without its base fails on its string section: say so.
    if (!base && e instanceof BtfError && isRawBtf(bytes) && SPLIT_SYMPTOM.test(e.message)) {
      throw new BtfError(`${e.message} (a split BTF such as a kernel module's? pass its base with --base)`);
    }
    throw e;
  }
}

const SPLIT_SYMPTOM = /first string must be empty/;

export async function runDump(file: string, opts: DumpCliOptions = {}): Promise<void> {
  const strict = !!opts.strict;
  let base: Btf | undefined;
  if (opts.base) base = await loadFile(opts.base, undefined, strict);
  else if (file.startsWith(SYSFS_PREFIX) && file !== SYSFS_VMLINUX) base = await loadFile(SYSFS_VMLINUX, undefined, strict);
  const btf = await loadFile(file, base, strict);
  await writeChunks(dumpBtfChunks(btf));
}

/** Writes chunks to stdout with back-pressure; a closed pipe (`| head`) ends quietly. */
async function writeChunks(chunks: Iterable<Uint8Array>): Promise<void> {
  const out = process.stdout;
  let closed = false;
  // Stays installed: an EPIPE can surface after the last write was queued.
  out.on('error', (e: NodeJS.ErrnoException) => {
    closed = true;
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') process.exit(process.exitCode ?? 0);
    process.stderr.write(`Error: writing the dump to stdout: ${e.message}\n`);
    process.exit(1);
  });
  for (const chunk of chunks) {
    if (closed) return;
    if (!out.write(chunk)) await drained(out);
  }
}

/** Resolves on 'drain' or 'close', removing both listeners (no build-up over many chunks). */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
