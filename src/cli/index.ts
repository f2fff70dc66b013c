// The commander program. Each command lives in its own file and registers itself; this is the
// only layer that prints and picks exit codes.
import { Command, CommanderError } from 'commander';
import { BtfgenError } from '../errors.js';
import { VERSION } from '../version.js';

type Registrar = { register(program: Command): void };

/**
 * Command modules, loaded on demand: a run of one command loads only that command's code
 * (start-up time is part of every `btfgen minimize` call a script makes).
 */
const COMMANDS: ReadonlyArray<[string, () => Promise<Registrar>]> = [
  ['fetch', () => import('./fetch.js')],
  ['pack', () => import('./pack.js')],
  ['check', () => import('./check.js')],
  ['minimize', () => import('./minimize.js')],
  ['dump', () => import('./dump.js')],
  ['which', () => import('./which.js')],
  ['cache', () => import('./cache.js')],
  ['btfgen', () => import('./legacy.js')],
];

/**
 * Builds the program; with `only`, registers just that command (the one being run); with
 * `only === null`, none (`btfgen --version` needs no command module).
 */
export async function buildProgram(only?: string | null): Promise<Command> {
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
  const wanted = only === null ? [] : COMMANDS.filter(([name]) => only === undefined || name === only);
  const modules = await Promise.all(wanted.map(([, load]) => load()));
  for (const m of modules) m.register(program);
  // Every subcommand answers --version too.
  for (const cmd of program.commands) cmd.version(VERSION, '-V, --version', 'print the btfgen version');
  // `btfgen version`, as `bpftool version` (bpftool's users type it): the same as --version.
  program
    .command('version')
    .description('print the btfgen version (same as --version)')
    .action(() => {
      process.stdout.write(`${VERSION}\n`);
    });
  return program;
}

/**
 * The command a command line runs, when it names one directly (not `help X` or an option);
 * null for a bare `--version`.
 */
function commandOf(argv: string[]): string | null | undefined {
  const first = argv[2];
  if (argv.length === 3 && (first === '--version' || first === '-V' || first === 'version')) return null;
  return first !== undefined && COMMANDS.some(([name]) => name === first) ? first : undefined;
}

export async function main(argv: string[]): Promise<void> {
  // `btfgen dump ... | head` closes the pipe early: that is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  const program = await buildProgram(commandOf(argv));
  try {
    await program.parseAsync(bpftoolHelp(argv));
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

/**
 * `btfgen pack help` is `btfgen pack --help`: bpftool's own spelling (`bpftool gen help`), which
 * its users type. Only a lone `help` after a command: an object file named help is `./help`.
 */
function bpftoolHelp(argv: string[]): string[] {
  const [cmd, arg] = [argv[2], argv[3]];
  if (argv.length === 4 && arg === 'help' && COMMANDS.some(([name]) => name === cmd)) return [...argv.slice(0, 3), '--help'];
  return argv;
}

/** Turns an error into one line on stderr and returns the exit code. */
export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help / --version land here with exit code 0; usage errors (commander's exit code 1:
    // unknown option or command, missing or invalid argument, a bare `btfgen`) were already
    // printed, and exit 2 like our own UsageError.
    return err.exitCode === 0 ? 0 : 2;
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
