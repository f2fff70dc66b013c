// pack: every kernel of a btfhub-archive minimized for a set of CO-RE objects, in parallel, into
// one reproducible tar.gz (the output `btfgen btfgen` / btfhub's btfgen.sh produced).
//
//   walk (src/archive) -> stat + cache lookup -> worker pool: read, hash, xz -> tar member,
//   minimize (src/minimize) -> result store -> sorted tar(.gz) in a temp file -> rename
//
// Failure policy: a kernel that fails is never packed (not even in full). By default any failure
// fails the pack (every failing kernel is listed, nothing is written); with `skipFailed` the
// others are packed and the failures are returned.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync, type BigIntStats } from 'node:fs';
import { describeFilter, listKernelsWith, parseKernelFilter, type KernelEntry } from '../archive/index.js';
import { ArchiveError, BtfgenError, UsageError } from '../errors.js';
import { resolveArchivePaths, type Env } from '../archive/paths.js';
import { VERSION } from '../version.js';
import { cachePaths, cacheTempDir, OutputCache, ResultStore, resultKey, resultKeyPrefix, StatIndex } from './cache.js';
import { resolveDecompressor, scratchAvailable, type Decompressor, type DecompressorChoice } from './decompress.js';
import { KERNEL_BTF_MAX, xzUncompressedSize } from '../archive/xz.js';
import { combineFingerprints, distinctObjects } from './fingerprint.js';
import { prepareObjects, type Engine, type ObjectBytes } from './minimizer.js';
import {
  fixedMtime,
  memberName,
  PACKAGE_JSON_MEMBER,
  placeAtomically,
  sortByName,
  writeArchive,
  type ArchiveMember,
  type Layout,
  type OutputFormat,
} from './output.js';
import { removeStaleCacheTemps, removeStaleSpools, removeStaleTemps, spoolPrefix } from './leftovers.js';
import { AbortError, startPool, type PoolTask, type WorkerPool } from './pool.js';
import { PROTOCOL, type ResultMessage, type WorkerInit } from './protocol.js';
import { checkUstarName } from './tar-write.js';

export type { Layout, OutputFormat } from './output.js';
export type { Decompressor, DecompressorChoice } from './decompress.js';
export type { Engine } from './minimizer.js';
export { AbortError } from './pool.js';
export { memberName } from './output.js';
export { coreFingerprint } from './fingerprint.js';

/** An eBPF object: a file path, or bytes with a name for messages. */
export type PackObject = string | { name: string; bytes: Uint8Array };

export interface PackOptions {
  /** CO-RE objects; the output holds, per kernel, the union of what they need. */
  objects: readonly PackObject[];
  /** Output file (created or replaced atomically). */
  output: string;
  /** Archive directory; default `<cache>/btfhub-archive`. */
  archive?: string;
  /** btfhub cache directory (`$BTFHUB_CACHE`, `$BTFHUB_CACHE_DIR`, `~/.cache/eunomia/btfhub`). */
  cache?: string;
  /** `ID` or `ID/VERSION` terms (commas allowed); empty: every distro. */
  distros?: readonly string[];
  /** Arch directory names (`arm64` also matches `aarch64`); empty: every arch. */
  arches?: readonly string[];
  /** Worker threads; default: the number of CPUs. */
  jobs?: number;
  /** A file packed verbatim as `./package.json` (it must be valid JSON). */
  json?: string;
  /** Member paths: `btfhub` (`./btfhub-archive/<ID>/...`, default) or `bcc` (`./<ID>/...`). */
  layout?: Layout;
  /** `tar.gz` (default) or an uncompressed `tar`. */
  format?: OutputFormat;
  /** Pack the kernels that worked and report the others instead of failing. */
  skipFailed?: boolean;
  /** Use and fill the incremental result cache (default true). */
  useCache?: boolean;
  /** Result cache directory; default `<cache>/pack-cache`. */
  cacheDir?: string;
  /** BTF header length of the members: 24 (bpftool <= 7.7, default) or 32. */
  headerLen?: 24 | 32;
  /** `auto` (default: the `xz` command when installed, else @napi-rs/lzma), `xz` or `lzma`. */
  decompressor?: DecompressorChoice;
  /** Minimizer: `btfgen` (default) or `bpftool` (differential testing only). */
  engine?: Engine;
  /** gzip level 0-9 (default 9). */
  gzipLevel?: number;
  signal?: AbortSignal;
  onProgress?: (p: PackProgress) => void;
  /** Environment for the cache defaults and SOURCE_DATE_EPOCH; default process.env. */
  env?: Env;
  /** Base for relative paths; default process.cwd(). */
  cwd?: string;
}

export interface PackProgress {
  phase: 'scan' | 'minimize' | 'write' | 'done';
  total: number;
  /** Kernels finished (minimized, cached or failed). */
  done: number;
  minimized: number;
  cached: number;
  failed: number;
  /** The kernel that just finished (archive-relative path). */
  kernel?: string;
  elapsedMs: number;
}

export interface PackedMember {
  name: string;
  /** Archive-relative path of the kernel file. */
  kernel: string;
  id: string;
  version: string;
  arch: string;
  release: string;
  size: number;
  source: 'minimized' | 'cached';
}

export interface KernelFailure {
  kernel: string;
  path: string;
  message: string;
  /** Read from the cache (the same inputs failed before). */
  cached: boolean;
}

export interface PackGroup {
  id: string;
  version: string;
  arch: string;
  kernels: number;
}

export interface PackResult {
  /** Absolute path of the written file. */
  output: string;
  /** Its size in bytes. */
  size: number;
  format: OutputFormat;
  layout: Layout;
  archive: string;
  members: PackedMember[];
  failures: KernelFailure[];
  /** Packed kernels per distro/version/arch, sorted. */
  groups: PackGroup[];
  counts: {
    /** Kernels selected by the walk and the filters. */
    total: number;
    packed: number;
    /** Kernels minimized by this run (0 on a warm re-run). */
    minimized: number;
    /** Kernels answered from the result cache. */
    cached: number;
    failed: number;
  };
  json: boolean;
  /** The decompressor used; undefined when no .btf.tar.xz had to be read (all cached). */
  decompressor: Decompressor | undefined;
  engine: Engine;
  jobs: number;
  /** The result cache directory, or undefined with useCache: false. */
  cacheDir: string | undefined;
  /** The whole output came from the output cache. */
  outputCached: boolean;
  /** Objects given, and those minimized for (exact CO-RE repeats dropped). */
  objects: { given: number; distinct: number };
  warnings: string[];
  elapsedMs: number;
  /**
   * Time the workers spent per step, summed over kernels (milliseconds), and the number of
   * minimizing threads that ran (0 when every kernel came from the cache).
   */
  work: { readMs: number; decompressMs: number; minimizeMs: number; threads: number };
}

/** Some kernels failed (default policy): nothing was written. */
export class PackError extends BtfgenError {
  constructor(
    message: string,
    readonly failures: KernelFailure[],
  ) {
    super(message);
  }
}

/** Kernels whose BTF is at least this large (the non-deduplicated ones) are scheduled as heavy. */
const HEAVY_BYTES = 16 << 20;

/** The kernel BTF's size: the .xz index's uncompressed size, else a guess from the file size. */
/**
 * Threads and decompression lanes for `jobs`-way parallelism. With the xz command and tmpfs
 * scratch files, xz runs in 2 x `jobs` lanes (each kernel's decompression is ~85% of its CPU
 * time on btfhub archives) fed by one minimizing thread per 4 jobs; otherwise (raw .btf kernels,
 * @napi-rs/lzma, no tmpfs) one thread per job, a kernel at a time each.
 */
function threadPlan(jobs: number, mostlyXz: boolean, xz: boolean): { workers: number; lanes: number } {
  if (!xz || jobs < 2 || !mostlyXz || !scratchAvailable()) return { workers: jobs, lanes: 1 };
  const workers = Math.ceil(jobs / LANES_PER_WORKER);
  // Twice as many lanes as the jobs it stands for: a lane whose xz has finished stays taken
  // until the thread, busy minimizing, reads it out (measured with 2 jobs: 2 lanes 4.5 s,
  // 3 lanes 4.35 s, 4-6 lanes 4.2-4.3 s on the demo archive).
  return { workers, lanes: 2 * Math.ceil(jobs / workers) };
}
const LANES_PER_WORKER = 4;

// Synchronous: a few system calls per kernel, while the workers boot on their own threads.
function estimateKernelSize(file: string, format: 'btf' | 'btf.tar.xz'): number {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    if (format === 'btf') return size;
    const n = Math.min(size, 4096);
    const tail = new Uint8Array(n);
    readSync(fd, tail, 0, n, size - n);
    return xzUncompressedSize(tail) ?? size * 8;
  } catch {
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

interface Item {
  entry: KernelEntry;
  name: string;
  state: 'pending' | 'ok' | 'failed';
  source?: 'minimized' | 'cached';
  key?: string;
  size?: number;
  message?: string;
  failureCached?: boolean;
  st?: BigIntStats;
}

async function loadObjects(objects: readonly PackObject[], cwd: string): Promise<ObjectBytes[]> {
  if (objects.length === 0) throw new UsageError('no BPF object given');
  const out: ObjectBytes[] = [];
  for (const o of objects) {
    if (typeof o === 'string') {
      const p = path.resolve(cwd, o);
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(p)); // a few small files: sync beats a promise each
      } catch (err) {
        throw new UsageError(`${o}: cannot read BPF object (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      out.push({ name: o, bytes });
    } else {
      out.push({ name: o.name, bytes: o.bytes });
    }
  }
  return out;
}

/** The objects whose bytes differ from every earlier one's, in order. */
function firstOfEachContent(objects: readonly ObjectBytes[]): ObjectBytes[] {
  const out: ObjectBytes[] = [];
  for (const o of objects) {
    const b = o.bytes;
    if (!out.some((u) => u.bytes.length === b.length && Buffer.compare(u.bytes, b) === 0)) out.push(o);
  }
  return out;
}

function defaultJobs(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length || 1;
}

function stripLabel(message: string, label: string): string {
  return message.startsWith(`${label}: `) ? message.slice(label.length + 2) : message;
}

/** Resolves defaults the CLI also shows: archive, cache and pack-cache directories. */
export const resolvePackPaths = (
  options: Pick<PackOptions, 'archive' | 'cache' | 'cacheDir'>,
  env: Env = process.env,
  cwd: string = process.cwd(),
): { archive: string; cache: string; cacheDir: string } => resolveArchivePaths(options, env, cwd);

/**
 * Minimizes every kernel of an archive for `objects` and writes one reproducible tar.gz.
 * @throws PackError when kernels failed (unless skipFailed), UsageError for bad options,
 * ArchiveError for a missing/empty archive, the object's error for an unusable object,
 * AbortError when `signal` fires.
 */
export async function pack(options: PackOptions): Promise<PackResult> {
  // The worker threads start now, before the objects are read and the archive walked: a
  // thread takes ~60 ms to boot and load the minimizer, which then overlaps that work. When
  // every kernel comes from the cache they are stopped unused.
  let early: WorkerPool | undefined;
  const jobs = options.jobs ?? defaultJobs();
  if (Number.isInteger(jobs) && jobs >= 1) {
    try {
      // planned as for an archive of .btf.tar.xz (btfhub's); run() adds workers if need be
      early = startPool(threadPlan(jobs, true, options.decompressor !== 'lzma').workers);
    } catch {
      early = undefined; // no built worker script: decided (and reported) if a kernel needs one
    }
  }
  try {
    return await packWith(options, early);
  } finally {
    early?.close();
  }
}

async function packWith(options: PackOptions, early: WorkerPool | undefined): Promise<PackResult> {
  const started = performance.now();
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const layout: Layout = options.layout ?? 'btfhub';
  const format: OutputFormat = options.format ?? 'tar.gz';
  const headerLen = options.headerLen ?? 24;
  const engine: Engine = options.engine ?? 'btfgen';
  const useCache = options.useCache ?? true;
  const jobs = options.jobs ?? defaultJobs();
  const level = options.gzipLevel ?? 9;
  if (layout !== 'btfhub' && layout !== 'bcc') throw new UsageError(`invalid layout '${String(layout)}': expected btfhub or bcc`);
  if (format !== 'tar.gz' && format !== 'tar') throw new UsageError(`invalid format '${String(format)}': expected tar.gz or tar`);
  if (headerLen !== 24 && headerLen !== 32) throw new UsageError(`invalid header length ${String(headerLen)}: expected 24 or 32`);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`invalid jobs '${String(jobs)}': expected a positive integer`);
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new UsageError(`invalid gzip level '${level}': expected 0-9`);
  if (!options.output) throw new UsageError('no output file given');
  const output = path.resolve(cwd, options.output);
  const paths = resolvePackPaths(options, env, cwd);
  const warnings: string[] = [];
  const signal = options.signal;
  const checkAbort = (): void => {
    if (signal?.aborted) throw new AbortError();
  };

  const outSt = await stat(output).catch(() => undefined);
  if (outSt?.isDirectory()) throw new UsageError(`output ${output} is a directory`);

  // Objects: read, validated once here (an unusable object fails the pack, not each kernel).
  const given = await loadObjects(options.objects, cwd);
  // A file given twice, or a byte-identical copy, is the same object: validate and fingerprint
  // it once (the first occurrence speaks for it, in errors too).
  const unique = firstOfEachContent(given);
  prepareObjects(unique);
  // Exact repeats (same CO-RE content) add nothing to the union: minimize for each once.
  const distinct = distinctObjects(unique);
  const objects = distinct.objects;
  const fingerprint = combineFingerprints(distinct.fingerprints);

  let jsonBytes: Uint8Array | undefined;
  if (options.json !== undefined) {
    const jp = path.resolve(cwd, options.json);
    try {
      jsonBytes = new Uint8Array(await readFile(jp));
    } catch (err) {
      throw new UsageError(`${options.json}: cannot read JSON file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    try {
      JSON.parse(Buffer.from(jsonBytes).toString('utf8').replace(/^\uFEFF/, ''));
    } catch (err) {
      throw new UsageError(`${options.json}: not valid JSON (${(err as Error).message})`);
    }
  }

  // The walk.
  const filter = parseKernelFilter({ distros: options.distros ?? [], arches: options.arches ?? [] });
  const entries = await listKernelsWith(paths.archive, filter, { problems: true });
  if (entries.length === 0) {
    const what = filter.distros.length || filter.arches.length ? ` matching ${describeFilter(filter)}` : '';
    throw new ArchiveError(`no kernels${what} in ${paths.archive}`);
  }
  const items: Item[] = sortByName(entries.map((entry) => ({ entry, name: memberName(layout, entry), state: 'pending' as const })));
  for (const it of items) checkUstarName(it.name);
  const longNames = items.filter((it) => Buffer.byteLength(it.name) > 99).length;
  if (longNames) {
    warnings.push(
      `${longNames} member name(s) are longer than 99 bytes: stored with a ustar prefix, which readers that only look at the 100-byte name field (bcc's btf_helpers.c) do not find`,
    );
  }

  await mkdir(path.dirname(output), { recursive: true });
  await removeStaleTemps(output);
  checkAbort();

  const keyPrefix = resultKeyPrefix(fingerprint, headerLen, engine);
  const cp = cachePaths(paths.cacheDir);
  let spool: string | undefined;
  let store: ResultStore;
  const statIndex = useCache ? new StatIndex(cp.stats) : undefined;
  await removeStaleSpools(os.tmpdir());
  if (useCache) {
    store = new ResultStore(paths.cacheDir, true);
    await removeStaleCacheTemps(cacheTempDir(paths.cacheDir));
    await statIndex!.load();
  } else {
    spool = await mkdtemp(path.join(os.tmpdir(), spoolPrefix()));
    store = new ResultStore(spool, false);
  }

  const counts = { total: items.length, packed: 0, minimized: 0, cached: 0, failed: 0 };
  const work = { readMs: 0, decompressMs: 0, minimizeMs: 0, threads: 0 };
  let done = 0;
  const progress = (phase: PackProgress['phase'], kernel?: string): void => {
    if (!options.onProgress) return;
    const p: PackProgress = {
      phase,
      total: items.length,
      done,
      minimized: counts.minimized,
      cached: counts.cached,
      failed: counts.failed,
      elapsedMs: performance.now() - started,
    };
    if (kernel !== undefined) p.kernel = kernel;
    options.onProgress(p);
  };

  let pool: WorkerPool | undefined;
  try {
    // Scan: kernels whose file is unchanged since it was last hashed need no reading at all.
    progress('scan');
    const tasks: PoolTask[] = [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (it.entry.problem !== undefined) {
        // named like a kernel file but none (a dangling link, a directory): a failing kernel
        Object.assign(it, { state: 'failed', message: it.entry.problem, failureCached: false });
        counts.failed++;
        done++;
        continue;
      }
      if (statIndex) {
        let st: BigIntStats | undefined;
        try {
          st = statSync(it.entry.path, { bigint: true });
        } catch {
          st = undefined;
        }
        if (st) {
          it.st = st;
          const sha = statIndex.get(it.entry.path, st);
          if (sha) {
            const key = resultKey(keyPrefix, sha);
            const hit = await store.lookup(key);
            if (hit?.status === 'ok') {
              Object.assign(it, { state: 'ok', source: 'cached', key, size: hit.size });
              counts.cached++;
              done++;
              continue;
            }
            if (hit?.status === 'failed') {
              Object.assign(it, { state: 'failed', key, message: hit.message, failureCached: true });
              counts.failed++;
              done++;
              continue;
            }
          }
        }
      }
      tasks.push({ id: i, path: it.entry.path, format: it.entry.format, label: it.entry.relPath });
    }
    checkAbort();
    progress('minimize');

    // Minimize what is left, biggest files first (the slowest kernels must not come last).
    let decompressor: Decompressor | undefined;
    if (tasks.length) {
      // The workers boot (~60 ms each) while this thread sizes the kernels and finds xz.
      const mostlyXz = tasks.filter((t) => t.format === 'btf.tar.xz').length * 2 >= tasks.length;
      let plan = threadPlan(jobs, mostlyXz, options.decompressor !== 'lzma');
      pool = early ?? startPool(Math.min(plan.workers, tasks.length));
      const xz = resolveDecompressor(options.decompressor ?? 'auto');
      const sizes = new Map<number, number>();
      for (const t of tasks) {
        const size = estimateKernelSize(t.path, t.format);
        sizes.set(t.id, size);
        t.heavy = size >= HEAVY_BYTES;
      }
      decompressor = await xz;
      if (decompressor !== 'xz') plan = threadPlan(jobs, mostlyXz, false);
      tasks.sort((a, b) => sizes.get(b.id)! - sizes.get(a.id)! || a.id - b.id);
      const init: WorkerInit = {
        protocol: PROTOCOL,
        objects,
        headerLen,
        engine,
        decompressor,
        storeRoot: store.root,
        storePersistent: store.persistent,
        keyPrefix,
        maxMemberSize: KERNEL_BTF_MAX,
        lanes: plan.lanes,
      };
      const onResult = (r: ResultMessage): void => {
        const it = items[r.id]!;
        done++;
        work.readMs += r.ms.read;
        work.decompressMs += r.ms.decompress;
        work.minimizeMs += r.ms.minimize;
        if (r.status === 'failed') {
          it.state = 'failed';
          it.message = stripLabel(r.message, it.entry.relPath);
          it.failureCached = r.cached;
          counts.failed++;
        } else {
          it.state = 'ok';
          it.source = r.status;
          it.key = r.key;
          it.size = r.size;
          if (r.status === 'minimized') counts.minimized++;
          else counts.cached++;
          if (r.member !== undefined) warnings.push(`${it.entry.relPath}: member '${r.member}' is not named ${it.entry.release}.btf`);
        }
        if (statIndex && r.sha256 && r.hashedAt !== undefined && it.st) statIndex.set(it.entry.path, it.st, r.sha256, r.hashedAt);
        progress('minimize', it.entry.relPath);
      };
      // With lanes, more minimizing threads are added (up to jobs) if minimizing turns out dear.
      work.threads = await pool.run(tasks, plan.workers, init, onResult, signal, plan.lanes > 1 ? jobs : plan.workers);
    }
    if (statIndex) await statIndex.save().catch(() => undefined);
    checkAbort();

    const failures: KernelFailure[] = items
      .filter((it) => it.state === 'failed')
      .map((it) => ({ kernel: it.entry.relPath, path: it.entry.path, message: it.message ?? 'failed', cached: it.failureCached ?? false }));
    const ok = items.filter((it) => it.state === 'ok');
    if (failures.length && !options.skipFailed) {
      throw new PackError(
        `${failures.length} of ${items.length} kernel${items.length === 1 ? '' : 's'} failed; nothing was written (--skip-failed packs the others)`,
        failures,
      );
    }
    if (ok.length === 0) {
      throw new PackError(`all ${items.length} kernel${items.length === 1 ? '' : 's'} failed; nothing was written`, failures);
    }

    // Write: sorted members; from the output cache when the very same archive was made before.
    progress('write');
    const mtime = fixedMtime(env);
    const ext = format === 'tar.gz' ? 'tar.gz' : 'tar';
    const manifest = createHash('sha256');
    manifest.update(`btfgen-pack-output\0${VERSION}\0${format}\0${level}\0${mtime}\0`);
    const archiveMembers: (ArchiveMember & { key?: string })[] = ok.map((it) => ({
      name: it.name,
      key: it.key!,
      load: async () => store.read(it.key!),
    }));
    if (jsonBytes) {
      const j = jsonBytes;
      archiveMembers.push({ name: PACKAGE_JSON_MEMBER, load: async () => j });
    }
    sortByName(archiveMembers);
    for (const m of archiveMembers) manifest.update(`${m.name}\0${m.key ?? createHash('sha256').update(jsonBytes!).digest('hex')}\0`);
    const manifestKey = manifest.digest('hex');
    const outputs = useCache ? new OutputCache(cp.outputs) : undefined;
    let outputCached = false;
    if (outputs) outputCached = await placeAtomically(output, (tmp) => outputs.copyTo(manifestKey, ext, tmp));
    let size: number;
    if (outputCached) {
      size = Number((await stat(output)).size);
    } else {
      size = await writeArchive(output, archiveMembers, { format, mtime, level, ...(signal ? { signal } : {}) });
      if (outputs) await outputs.store(manifestKey, ext, output).catch(() => undefined);
    }
    counts.packed = ok.length;

    const groupMap = new Map<string, PackGroup>();
    for (const it of ok) {
      const k = `${it.entry.id}/${it.entry.version}/${it.entry.arch}`;
      const g = groupMap.get(k) ?? { id: it.entry.id, version: it.entry.version, arch: it.entry.arch, kernels: 0 };
      g.kernels++;
      groupMap.set(k, g);
    }
    const result: PackResult = {
      output,
      size,
      format,
      layout,
      archive: paths.archive,
      members: ok.map((it) => ({
        name: it.name,
        kernel: it.entry.relPath,
        id: it.entry.id,
        version: it.entry.version,
        arch: it.entry.arch,
        release: it.entry.release,
        size: it.size!,
        source: it.source!,
      })),
      failures,
      groups: [...groupMap.values()],
      counts,
      json: jsonBytes !== undefined,
      decompressor,
      engine,
      jobs,
      cacheDir: useCache ? paths.cacheDir : undefined,
      outputCached,
      objects: { given: given.length, distinct: objects.length },
      warnings,
      elapsedMs: 0,
      work,
    };
    result.elapsedMs = performance.now() - started;
    progress('done');
    return result;
  } finally {
    pool?.close();
    if (spool) await rm(spool, { recursive: true, force: true });
  }
}
