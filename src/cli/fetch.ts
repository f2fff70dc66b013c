// `btfgen fetch`: clone or update btfhub-archive repositories into the cache and rebuild the
// merged archive. Prints a one-line summary on stdout; progress (when stderr is a terminal),
// warnings and errors on stderr.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { DEFAULT_REPO } from '../fetch/config.js';
import type { FetchEvent, FetchOptions, FetchResult } from '../fetch/index.js';
import { collect } from './options.js';

interface FetchFlags {
  repo?: string[];
  cache?: string;
  distro?: string[];
  arch?: string[];
  lockTimeout?: string;
  quiet?: boolean;
  verbose?: boolean;
}

export function register(program: Command): void {
  program
    .command('fetch')
    .summary('clone or update btfhub-archive repositories into the cache')
    .description(
      'Clone (shallow) or update btfhub-archive repositories into the cache and rebuild the merged ' +
        'archive $CACHE/btfhub-archive that `btfgen pack` reads. With --distro/--arch only those ' +
        'directories are checked out (sparse checkout, and a partial clone where the server allows it). ' +
        'Running it again updates every repository to its remote head and repairs what an interrupted ' +
        'run left. On failure the cache is left as it was.',
    )
    .option(
      '--repo <url>',
      'repository URL or local path; repeat or comma-separate for several, the first one wins when ' +
        `two hold the same kernel (default: $BTFHUB_REPO, else ${DEFAULT_REPO})`,
      collect,
    )
    .option('--cache <dir>', 'cache directory (default: $BTFHUB_CACHE, else ~/.cache/eunomia/btfhub)')
    .option(
      '--distro <id[/version]>',
      'only this distro (ubuntu) or version (ubuntu/20.04; a codename alias such as ubuntu/focal ' +
        'is followed); repeatable, comma-separated lists allowed',
      collect,
    )
    .option(
      '--arch <arch>',
      'only this architecture directory (x86_64, arm64); arm64 also matches aarch64 directories and ' +
        'vice versa, x86_64 also matches amd64; repeatable',
      collect,
    )
    .option('--lock-timeout <seconds>', 'wait at most this long for another fetch on the same cache (default: 600)')
    .option('-q, --quiet', 'print no summary (warnings and errors still go to stderr)')
    .option('-v, --verbose', 'report each step on stderr even when it is not a terminal')
    .addHelpText(
      'after',
      `
Environment:
  BTFHUB_CACHE, BTFHUB_CACHE_DIR   cache directory (the first one set is used; --cache wins)
  BTFHUB_REPO, BTFHUB_REPO_URL     comma-separated repository URLs (the first one set is used; --repo wins)

Cache layout:
  $CACHE/btfhub-archive-repos/<url with [^A-Za-z0-9._-] -> _>/   one shallow clone per repository
  $CACHE/btfhub-archive/                                         merged archive (links, kernels only)

Examples:
  btfgen fetch                                       # the whole upstream archive (large)
  btfgen fetch --distro ubuntu/20.04 --arch x86_64   # only what you ship to
  btfgen fetch --repo https://example.org/mirror.git --repo ./my-extra-archive
  BTFHUB_CACHE=/ci/cache btfgen fetch --distro centos,debian

To use an archive directory you already have, skip fetch and pass --archive DIR to pack.`,
    )
    .action(async (flags: FetchFlags) => {
      const seconds = Number(flags.lockTimeout ?? '600');
      if (!Number.isFinite(seconds) || seconds < 0) {
        throw new UsageError(`invalid --lock-timeout '${flags.lockTimeout}': expected a number of seconds`);
      }
      const tty = process.stderr.isTTY === true;
      const renderer = new StderrRenderer(tty, tty || flags.verbose === true);
      const options: FetchOptions = {
        repos: flags.repo ?? [],
        distros: flags.distro ?? [],
        arches: flags.arch ?? [],
        lockTimeoutMs: Math.round(seconds * 1000),
        onEvent: (e) => renderer.event(e),
        progress: tty,
      };
      if (flags.cache !== undefined) options.cache = flags.cache;
      let result: FetchResult;
      try {
        // Loaded on use: simple-git's import would slow the start of every other command.
        const { fetch } = await import('../fetch/index.js');
        result = await fetch(options);
      } finally {
        renderer.done();
      }
      if (!flags.quiet) process.stdout.write(summaryLine(result) + '\n');
    });
}

/** Progress on one rewritten line (terminals only), info lines when asked, warnings always. */
class StderrRenderer {
  private line = false;
  private last = 0;
  constructor(
    private readonly tty: boolean,
    private readonly showInfo: boolean,
  ) {}

  event(e: FetchEvent): void {
    if (e.type === 'progress') {
      if (!this.tty) return;
      const now = Date.now();
      if (now - this.last < 100 && e.percent < 100) return;
      this.last = now;
      const text = `${e.repo}: ${e.method}: ${e.stage} ${e.percent}% (${e.processed}/${e.total})`;
      const width = process.stderr.columns || 0;
      process.stderr.write(`\r\x1b[K${width > 20 && text.length >= width ? text.slice(0, width - 1) : text}`);
      this.line = true;
      return;
    }
    if (e.type === 'info' && !this.showInfo) return;
    this.clear();
    process.stderr.write(`${e.type === 'warning' ? 'warning: ' : ''}${e.message}\n`);
  }

  done(): void {
    this.clear();
  }

  private clear(): void {
    if (this.line) process.stderr.write('\r\x1b[K');
    this.line = false;
  }
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** `btfhub archive: 85 kernels (centos x86_64 7, ...) from 2 repositories (1 cloned, 1 updated), 92.4 MiB on disk in DIR` */
export function summaryLine(r: FetchResult): string {
  const groups = r.groups.map((g) => `${g.id} ${g.arch} ${g.count}`).join(', ');
  const actions = new Map<string, number>();
  for (const repo of r.repos) actions.set(repo.action, (actions.get(repo.action) ?? 0) + 1);
  const acted = [...actions].map(([a, n]) => `${n} ${a}`).join(', ');
  const nrepo = `${r.repos.length} ${r.repos.length === 1 ? 'repository' : 'repositories'}`;
  const nk = `${r.kernels} ${r.kernels === 1 ? 'kernel' : 'kernels'}`;
  return (
    `btfhub archive: ${nk}${groups ? ` (${groups})` : ''} from ${nrepo} (${acted}), ` +
    `${formatBytes(r.diskBytes)} on disk in ${r.archiveDir}`
  );
}
