// `btfgen check`: libbpf's CO-RE decision for every relocation of the objects on every kernel
// of an archive and whether each program loads there; text, json or html report on stdout or
// -o FILE (written atomically); exit 1 when a program fails on a selected kernel (unless
// --allow-missing; programs that need kernel BTF only with --strict).
import path from 'node:path';
import { Option, type Command } from 'commander';
import { check, formatText, renderHtml, reportFails, type CheckOptions, type CheckProgress } from '../check/index.js';
import { UsageError } from '../errors.js';
import { addArchiveOptions, addKernelCacheOptions, kernelCacheFlags, parseIntFlag } from './options.js';
import { writeAtomic } from './pack.js';

interface CheckFlags {
  archive?: string;
  cache?: string;
  distro?: string[];
  arch?: string[];
  jobs?: string;
  format?: string;
  output?: string;
  allowMissing?: boolean;
  strict?: boolean;
  quiet?: boolean;
  /** Hidden: CO-RE only, no load checks (the benchmark's comparison). */
  loadChecks?: boolean;
  kernelCache?: string | false;
  kernelCacheSize?: string;
}

class Bar {
  private last = 0;
  private shown = false;
  constructor(private readonly stream: NodeJS.WriteStream) {}
  update(p: CheckProgress): void {
    const now = Date.now();
    if (now - this.last < 100 && p.done < p.total) return;
    this.last = now;
    const width = 24;
    const fill = Math.round((p.total ? p.done / p.total : 0) * width);
    const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
    const line = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${p.done}/${p.total} kernels${rate > 0 ? `  ${rate.toFixed(1)}/s` : ''}`;
    this.stream.write(`\r${line.slice(0, (this.stream.columns || 100) - 1)}\x1b[K`);
    this.shown = true;
  }
  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('check')
    .summary("will each program relocate and load on every kernel of an archive?")
    .description(
      'For every kernel of a btfhub-archive and every CO-RE relocation of the objects, the decision ' +
        "libbpf 1.1 takes with that kernel's full BTF (ok with the patched value, poison, or error), " +
        'whether each poisoned instruction is guarded (dead code once the kernel\'s constants are ' +
        'patched in), and per program whether it loads there (loads / fails with every reason / unknown): ' +
        'CO-RE, program and attach type, helpers, map types (exact, from the kernel\'s enums) and attach ' +
        'points (heuristic). Exit status 1 when a program fails on a selected kernel; programs that need ' +
        'kernel BTF (fentry, tp_btf, lsm...) are reported apart and count only with --strict.',
    )
    .argument('<object...>', 'CO-RE eBPF object files (.bpf.o)');
  addArchiveOptions(cmd)
    .option('-j, --jobs <n>', 'parallel jobs, as in pack (default: number of CPUs): kernels are read, decompressed and analyzed in pack\'s worker pool')
    .addOption(new Option('--format <format>', 'report format (html: one self-contained page)').choices(['text', 'json', 'html']).default('text'))
    .option('-o, --output <file>', 'write the report to FILE (atomically) instead of stdout')
    .option('--allow-missing', 'report only: exit 0 even when some kernel fails')
    .option('--strict', 'programs that need kernel BTF (fentry, tp_btf, lsm, iter, struct_ops) fail on every archive kernel')
    .addOption(new Option('--no-load-checks', 'CO-RE checks only (for benchmarks)').hideHelp())
    .option('-q, --quiet', 'no progress bar')
    .addHelpText(
      'after',
      `
Examples:
  btfgen check prog.bpf.o --archive ./btfhub-archive
  btfgen check a.bpf.o b.bpf.o --distro ubuntu/20.04 --format json -o report.json
  btfgen check prog.bpf.o --format html -o report.html
  btfgen check prog.bpf.o --allow-missing            # never fail CI, just report`,
    )
    .action(async (objects: string[], flags: CheckFlags) => {
      if (flags.archive !== undefined && flags.cache !== undefined) {
        throw new UsageError('--archive and --cache are mutually exclusive (the archive is <cache>/btfhub-archive)');
      }
      const jobs = parseIntFlag('--jobs', flags.jobs, 1, 1024);
      const options: CheckOptions = { objects, distros: flags.distro ?? [], arches: flags.arch ?? [], ...kernelCacheFlags(flags) };
      if (jobs !== undefined) options.jobs = jobs;
      if (flags.archive !== undefined) options.archive = flags.archive;
      if (flags.cache !== undefined) options.cache = flags.cache;
      if (flags.strict) options.strict = true;
      if (flags.loadChecks === false) options.loadChecks = false;
      const bar = process.stderr.isTTY && !flags.quiet ? new Bar(process.stderr) : undefined;
      if (bar) options.onProgress = (p) => bar.update(p);
      let report;
      try {
        report = await check(options);
      } finally {
        bar?.clear();
      }
      const text = flags.format === 'json' ? `${JSON.stringify(report)}\n` : flags.format === 'html' ? renderHtml(report) : formatText(report);
      if (flags.output !== undefined) {
        await writeAtomic(path.resolve(flags.output), text);
        process.stderr.write(`Wrote ${flags.output}\n`);
      } else {
        process.stdout.write(text); // flushed by bin/btfgen before it exits
      }
      if (reportFails(report) && !flags.allowMissing) process.exitCode = 1;
    });
  addKernelCacheOptions(cmd);
}
