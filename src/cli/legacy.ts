// `btfgen btfgen [-o OUT] [-f OBJ]... [-j JSON] OBJ...`: the old bpf-compatible script's
// command line, kept as a drop-in. Same defaults (output `output.tar`, a gzip despite its name;
// archive `$BTFHUB_CACHE/btfhub-archive`, fetched first when it does not exist; `-f` objects
// before positional ones; `-j FILE` packed as ./package.json), minus the old flaws: absolute -o
// works, a failing kernel is an error (never shipped in full), only minimized kernels are packed
// (no stray repository files, no stale package.json), and the output is reproducible.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { resolvePackPaths, type PackOptions } from '../pack/index.js';
import { runPack } from './pack.js';
import { collect } from './options.js';

interface LegacyFlags {
  output?: string;
  file?: string[];
  json?: string;
  skipFailed?: boolean;
  /** false with --no-cache */
  cache?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('btfgen')
    .summary('the old `btfgen btfgen` script interface (same as pack with its defaults)')
    .description(
      'Drop-in for the bpf-compatible `btfgen btfgen` script: minimize every kernel of ' +
        '$BTFHUB_CACHE/btfhub-archive for the objects and write a gzip-compressed tar (default name ' +
        'output.tar, as before). The archive is fetched first when it does not exist. Unlike the ' +
        'script, a failing kernel fails the command, only minimized kernels are packed, and the ' +
        'output is reproducible. `btfgen pack` offers more options.',
    )
    .argument('[object...]', 'CO-RE eBPF object files (after the -f ones)')
    .option('-o, --output <file>', 'output file (default: output.tar; a gzip-compressed tar)')
    .option('-f, --file <object>', 'a CO-RE eBPF object; repeatable, packed before the positional ones', collect)
    .option('-j, --json <file>', 'pack this JSON file as ./package.json')
    .option('--skip-failed', 'pack the kernels that worked and list the failing ones instead of failing')
    .option('--no-cache', 'do not use or fill the incremental result cache')
    .option('-q, --quiet', 'no progress and no summary; only the output path line')
    .addHelpText(
      'after',
      `
Environment:
  BTFHUB_CACHE, BTFHUB_CACHE_DIR   cache directory (default ~/.cache/eunomia/btfhub); the archive is $CACHE/btfhub-archive
  BTFHUB_REPO, BTFHUB_REPO_URL     repositories fetched when the archive does not exist yet`,
    )
    .action(async (positional: string[], flags: LegacyFlags) => {
      const objects = [...(flags.file ?? []), ...positional];
      if (objects.length === 0) throw new UsageError('no BPF object given (btfgen btfgen [-o OUT] [-f OBJ]... [-j JSON] OBJ...)');
      const { archive } = resolvePackPaths({});
      if (!existsSync(archive)) {
        // The old script fetched first when its cache did not exist; so do we.
        process.stderr.write(`btfgen: ${archive} does not exist; fetching btfhub-archive first\n`);
        const { fetch } = await import('../fetch/index.js');
        await fetch({
          onEvent: (e) => {
            if (e.type !== 'progress') process.stderr.write(`btfgen: ${e.message}\n`);
          },
        });
      }
      const options: PackOptions = {
        objects,
        output: flags.output ?? 'output.tar',
        format: 'tar.gz',
        layout: 'btfhub',
        skipFailed: flags.skipFailed === true,
        useCache: flags.cache !== false,
      };
      if (flags.json !== undefined) options.json = flags.json;
      await runPack(options, flags.quiet === true);
    });
}
