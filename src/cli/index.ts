// The commander program. Each command lives in its own file and registers itself; this is the
// only layer that prints and picks exit codes.
import { Command, CommanderError } from 'commander';
import { BtfgenError } from '../errors.js';
import { VERSION } from '../version.js';
import { register as registerDump } from './dump.js';
import { register as registerMinimize } from './minimize.js';
import { register as registerFetch } from './fetch.js';
import { register as registerPack } from './pack.js';
import { register as registerWhich } from './which.js';
import { register as registerLegacy } from './legacy.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('btfgen')
    .description(
      'Minimized kernel BTF for CO-RE eBPF programs on kernels without BTF.\n' +
        'Typical flow: btfgen fetch && btfgen pack prog.bpf.o -o min_core_btfs.tar.gz',
    )
    .version(VERSION, '-V, --version', 'print the btfgen version')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false })
    // Subcommands inherit this at creation: errors reach main() instead of process.exit().
    .exitOverride();
  registerFetch(program);
  registerPack(program);
  registerMinimize(program);
  registerDump(program);
  registerWhich(program);
  registerLegacy(program);
  // Every subcommand answers --version too.
  for (const cmd of program.commands) cmd.version(VERSION, '-V, --version', 'print the btfgen version');
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // `btfgen dump ... | head` closes the pipe early: that is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

/** Turns an error into one line on stderr and returns the exit code. */
export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help / --version land here with exit code 0; usage errors were already printed.
    return err.exitCode;
  }
  if (err instanceof BtfgenError) {
    process.stderr.write(`Error: ${err.message}\n`);
    return err.exitCode || 1;
  }
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && typeof e.message === 'string') {
    // Plain system errors (ENOENT, EACCES...) are user errors too: one line, no stack.
    process.stderr.write(`Error: ${e.message}\n`);
    return 1;
  }
  process.stderr.write(`btfgen: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
  return 70;
}
