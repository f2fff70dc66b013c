// `btfgen pack`: every kernel of an archive minimized for the given objects, in parallel, into
// one reproducible tar.gz. Progress on stderr when it is a terminal; a summary on stdout; each
// failing kernel on its own stderr line.
import { Option, type Command } from 'commander';
import { statSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatText, type CheckReport } from '../check/index.js';
import { renderHtml } from '../check/html/index.js';
import { ArchiveError, BtfgenError, UsageError } from '../errors.js';
import { removeStaleTemps, tempPathFor } from '../fsutil.js';
import { listKernels } from '../archive/index.js';
import { AbortError, pack, PackError, resolvePackPaths, type PackOptions, type PackProgress, type PackResult } from '../pack/index.js';
import { addArchiveOptions, addKernelCacheOptions, kernelCacheFlags, parseIntFlag } from './options.js';
import { addObjectHint, checkOutputWritable, nameOutputInError, noReloWarning, objectsWithoutCoreRelos } from './preflight.js';

export interface PackFlags {
  output?: string;
  archive?: string;
  cache?: string;
  distro?: string[];
  arch?: string[];
  jobs?: string;
  json?: string;
  layout?: string;
  format?: string;
  skipFailed?: boolean;
  cacheDir?: string;
  headerLen?: string;
  quiet?: boolean;
  engine?: string;
  decompressor?: string;
  gzipLevel?: string;
  verify?: boolean;
  report?: string;
  /** `--kernel-cache DIR` (a string), `--no-kernel-cache` (false). */
  kernelCache?: string | false;
  kernelCacheSize?: string;
}

/** `--report FILE`: check's report, text for .txt, html for .html, else json (as `btfgen check`). */
export async function writeReport(file: string, report: CheckReport): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  const text = ext === '.txt' ? formatText(report) : ext === '.html' || ext === '.htm' ? renderHtml(report) : `${JSON.stringify(report)}\n`;
  try {
    await writeAtomic(path.resolve(file), text);
  } catch (e) {
    throw new BtfgenError(`${file}: cannot write report (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/**
 * Writes a report file whole or not at all: a temporary file beside it, renamed over it. The
 * temp files a killed earlier run left beside it are removed first.
 */
export async function writeAtomic(file: string, text: string): Promise<void> {
  await removeStaleTemps(file);
  const tmp = tempPathFor(file);
  try {
    await writeFile(tmp, text);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
}

/** `[#####.....] 42/85 kernels  12.3/s  ETA 0:04` on one terminal line. */
export class ProgressBar {
  private last = 0;
  private shown = false;
  constructor(private readonly stream: NodeJS.WriteStream) {}
  update(p: PackProgress): void {
    if (p.phase === 'done') return this.clear();
    const now = Date.now();
    if (now - this.last < 100 && p.done < p.total) return;
    this.last = now;
    const width = 24;
    const frac = p.total ? p.done / p.total : 0;
    const fill = Math.round(frac * width);
    const secs = p.elapsedMs / 1000;
    const work = p.minimized + p.failed;
    const rate = secs > 0 ? work / secs : 0;
    const left = p.total - p.done;
    const eta = rate > 0 ? left / rate : 0;
    const etaStr = p.phase === 'minimize' && rate > 0 ? `  ETA ${Math.floor(eta / 60)}:${String(Math.round(eta % 60)).padStart(2, '0')}` : '';
    const phase = p.phase === 'write' ? '  writing' : p.phase === 'scan' ? '  scanning' : '';
    const extra = [p.cached ? `${p.cached} cached` : '', p.failed ? `${p.failed} failed` : ''].filter(Boolean).join(', ');
    const line =
      `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${p.done}/${p.total} kernels` +
      (rate > 0 ? `  ${rate.toFixed(1)}/s` : '') +
      etaStr +
      (extra ? `  (${extra})` : '') +
      phase;
    const cols = this.stream.columns || 100;
    this.stream.write(`\r${line.slice(0, cols - 1)}\x1b[K`);
    this.shown = true;
  }
  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}

export function printSummary(r: PackResult, quiet: boolean): void {
  const out = process.stdout;
  if (!quiet) {
    const parts = [`${r.counts.minimized} minimized`, `${r.counts.cached} from cache`];
    if (r.counts.failed) parts.push(`${r.counts.failed} failed`);
    const hits = r.work.kernelCacheHits ? `; ${r.work.kernelCacheHits} read from the kernel cache` : '';
    out.write(`Packed ${r.counts.packed} of ${r.counts.total} kernels (${parts.join(', ')}${hits}) in ${formatDuration(r.elapsedMs)}\n`);
    const w = Math.max(...r.groups.map((g) => `${g.id}/${g.version}/${g.arch}`.length));
    for (const g of r.groups) out.write(`  ${`${g.id}/${g.version}/${g.arch}`.padEnd(w)}  ${String(g.kernels).padStart(5)}\n`);
    if (r.failures.length) {
      out.write(`Skipped ${r.failures.length} failing kernel${r.failures.length === 1 ? '' : 's'} (not packed):\n`);
      for (const f of r.failures) out.write(`  ${f.kernel}: ${f.message}\n`);
    }
  }
  for (const w of r.warnings) process.stderr.write(`Warning: ${w}\n`);
  out.write(`Wrote ${r.output} (${formatBytes(r.size)}${r.json ? ', with ./package.json' : ''})\n`);
}

export function printFailures(err: PackError): void {
  for (const f of err.failures) process.stderr.write(`btfgen: ${f.kernel}: ${f.message}\n`);
}

/**
 * What can be known to fail before minimizing every kernel: a default archive that was never
 * fetched, an output that cannot be written. Objects with no CO-RE relocation get a warning.
 */
async function preflight(options: PackOptions): Promise<void> {
  if (options.archive === undefined) {
    const { archive } = resolvePackPaths(options);
    if (!statSync(archive, { throwIfNoEntry: false })) {
      throw new ArchiveError(
        `no btfhub archive at ${archive}: run \`btfgen fetch\` to download it there, or name one with --archive DIR`,
      );
    }
  }
  if (options.output) checkOutputWritable(options.output);
  const empty = await objectsWithoutCoreRelos(options.objects);
  const warning = noReloWarning(empty, new Set(options.objects.map((o) => (typeof o === 'string' ? o : o.name))).size, 'every BTF of the archive');
  if (warning) process.stderr.write(`Warning: ${warning}\n`);
}

/**
 * `--distro`/`--arch` matched nothing: the error lists what the archive has (ID/VERSION (arches)),
 * so the next try can be right.
 */
async function withArchiveContents(err: unknown, options: PackOptions): Promise<unknown> {
  const filter = { distros: options.distros ?? [], arches: options.arches ?? [] };
  if (!(err instanceof ArchiveError) || filter.distros.length + filter.arches.length === 0) return err;
  let all;
  try {
    const archive = resolvePackPaths(options).archive;
    if ((await listKernels(archive, filter)).length > 0) return err; // another archive problem
    all = await listKernels(archive);
  } catch {
    return err;
  }
  const groups = new Map<string, Set<string>>();
  for (const k of all) {
    const key = `${k.id}/${k.version}`;
    groups.set(key, (groups.get(key) ?? new Set()).add(k.arch));
  }
  const has = [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([g, arches]) => `${g} (${[...arches].sort().join(', ')})`);
  err.message += has.length ? `; it has: ${has.join(', ')}` : '; it has no kernels at all';
  return err;
}

/**
 * Runs pack with a progress bar and SIGINT/SIGTERM handling: the first signal stops the
 * workers and removes the partial output; the exit code is then 130/143.
 */
export async function runPack(options: PackOptions, quiet: boolean): Promise<PackResult> {
  await preflight(options);
  const ac = new AbortController();
  let signalName: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalName) process.exit(sig === 'SIGTERM' ? 143 : 130); // second signal: leave now (exit hook cleans temps)
    signalName = sig;
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const bar = process.stderr.isTTY && !quiet ? new ProgressBar(process.stderr) : undefined;
  try {
    const result = await pack({ ...options, signal: ac.signal, ...(bar ? { onProgress: (p: PackProgress) => bar.update(p) } : {}) });
    bar?.clear();
    printSummary(result, quiet);
    return result;
  } catch (err) {
    bar?.clear();
    if (err instanceof PackError) printFailures(err);
    if (err instanceof AbortError && signalName) {
      err.exitCode = signalName === 'SIGTERM' ? 143 : 130;
      err.message = `interrupted by ${signalName}; no output written`;
    }
    if (err instanceof BtfgenError) throw await withArchiveContents(addObjectHint(err), options);
    throw nameOutputInError(err, options.output);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function register(program: Command): void {
  // `--cache <dir>` and `--no-cache` share commander's attribute name `cache`; the two are
  // tracked separately here so that `--cache DIR --no-cache` keeps DIR and disables the results.
  let cacheArg: string | undefined;
  let noCache = false;
  const cmd = program
    .command('pack')
    .summary('minimize every kernel of an archive for your objects into one tar.gz')
    .description(
      'Minimize every kernel BTF of a btfhub-archive for the given CO-RE objects (the union of what ' +
        'they need), in parallel, and write one reproducible tar.gz: members ' +
        './btfhub-archive/<ID>/<VERSION>/<arch>/<release>.btf (sorted, fixed mtime/owner/mode). ' +
        'Every member equals `bpftool gen min_core_btf` of that kernel. A kernel that fails is never ' +
        'packed; by default the pack then fails and lists each one.',
    )
    .argument('<object...>', 'CO-RE eBPF object files (.bpf.o)')
    .option('-o, --output <file>', 'output file (default: min_core_btfs.tar.gz, or min_core_btfs.tar with --format tar)');
  addArchiveOptions(cmd)
    .option('-j, --jobs <n>', 'parallel jobs (default: number of CPUs): with xz and a tmpfs /dev/shm, N xz run at once (3 kernels queued for each) for one minimizing thread per 4 jobs; else N worker threads')
    .option('--json <file>', 'also pack this JSON file as ./package.json (eunomia package)')
    .addOption(new Option('--layout <layout>', 'member paths: btfhub (./btfhub-archive/<ID>/...) or bcc (./<ID>/...)').choices(['btfhub', 'bcc']).default('btfhub'))
    .addOption(new Option('--format <format>', 'tar.gz, or an uncompressed tar (eunomia ecli)').choices(['tar.gz', 'tar']).default('tar.gz'))
    .option('--skip-failed', 'pack the kernels that worked and list the failing ones instead of failing')
    .option('--verify', "check every CO-RE relocation's libbpf decision on each minimized BTF against the kernel's full BTF; a difference fails that kernel")
    .option('--report <file>', 'also write the `btfgen check` report of the same pass: json, text for .txt, html for .html (written even when kernels fail)')
    .option('--no-cache', 'do not use or fill the incremental result cache')
    .option('--cache-dir <dir>', 'result cache directory (default: $BTFHUB_CACHE/pack-cache)')
    .addOption(new Option('--header-len <n>', 'BTF header length of the members: 24 (bpftool <= 7.7) or 32').choices(['24', '32']).default('24'))
    .option('-q, --quiet', 'no progress and no summary; only the output path line')
    .addOption(new Option('--engine <engine>', 'minimizer (testing): btfgen or bpftool').choices(['btfgen', 'bpftool', 'noop']).hideHelp())
    .addOption(new Option('--decompressor <d>', 'xz decompressor: auto, xz (command) or lzma (@napi-rs/lzma)').choices(['auto', 'xz', 'lzma']).hideHelp())
    .addOption(new Option('--gzip-level <n>', 'gzip level 0-9 (default 9)').hideHelp())
    .addHelpText(
      'after',
      `
Environment:
  BTFHUB_CACHE, BTFHUB_CACHE_DIR   btfhub cache (archive in $CACHE/btfhub-archive, results in $CACHE/pack-cache,
                                   decompressed kernels in $CACHE/kernel-cache)
  SOURCE_DATE_EPOCH                member mtime (default 0)

Examples:
  btfgen pack prog.bpf.o -o min_core_btfs.tar.gz
  btfgen pack a.bpf.o b.bpf.o --archive ./btfhub-archive --distro ubuntu/20.04 --arch x86_64 -o out.tar.gz
  btfgen pack prog.bpf.o --json package.json --format tar -o package.tar    # for eunomia ecli`,
    )
    .action(async (objects: string[], flags: PackFlags) => {
      flags.cache = cacheArg;
      if (flags.archive !== undefined && flags.cache !== undefined) {
        throw new UsageError('--archive and --cache are mutually exclusive (the archive is <cache>/btfhub-archive)');
      }
      const format = (flags.format ?? 'tar.gz') as 'tar.gz' | 'tar';
      const options: PackOptions = {
        objects,
        output: flags.output ?? (format === 'tar' ? 'min_core_btfs.tar' : 'min_core_btfs.tar.gz'),
        distros: flags.distro ?? [],
        arches: flags.arch ?? [],
        layout: (flags.layout ?? 'btfhub') as 'btfhub' | 'bcc',
        format,
        skipFailed: flags.skipFailed === true,
        useCache: !noCache,
        headerLen: flags.headerLen === '32' ? 32 : 24,
        ...kernelCacheFlags(flags),
      };
      if (flags.archive !== undefined) options.archive = flags.archive;
      if (flags.cache !== undefined) options.cache = flags.cache;
      if (flags.cacheDir !== undefined) options.cacheDir = flags.cacheDir;
      if (flags.json !== undefined) options.json = flags.json;
      const jobs = parseIntFlag('--jobs', flags.jobs, 1, 1024);
      if (jobs !== undefined) options.jobs = jobs;
      const level = parseIntFlag('--gzip-level', flags.gzipLevel, 0, 9);
      if (level !== undefined) options.gzipLevel = level;
      if (flags.engine) options.engine = flags.engine as 'btfgen' | 'bpftool' | 'noop';
      if (flags.decompressor) options.decompressor = flags.decompressor as 'auto' | 'xz' | 'lzma';
      if (flags.verify) options.verify = true;
      if (flags.report !== undefined) options.report = true;
      let result: PackResult;
      try {
        result = await runPack(options, flags.quiet === true);
      } catch (err) {
        if (flags.report !== undefined && err instanceof PackError && err.report) {
          await writeReport(flags.report, err.report);
          process.stderr.write(`Wrote report ${flags.report}\n`);
        }
        throw err;
      }
      if (flags.report !== undefined && result.report) {
        await writeReport(flags.report, result.report);
        if (flags.quiet !== true) process.stderr.write(`Wrote report ${flags.report}\n`);
      }
    });
  addKernelCacheOptions(cmd);
  cmd.on('option:cache', (dir: string) => {
    cacheArg = dir;
  });
  cmd.on('option:no-cache', () => {
    noCache = true;
  });
}
