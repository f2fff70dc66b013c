// Both sides of a minimize differential run (bpftool gen min_core_btf vs our API), the kernels
// and fixture objects they run on (archive kernels extracted with tar/xz to a temp cache), and a
// per-process temp directory. Paths, tools and skip messages: test/helpers/env.ts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { prepareObject, prepareTarget, Minimizer, type PreparedObject, type PreparedTarget } from '../../../src/minimize/index.js';
import { unpackKernelBtf } from '../../../src/minimize/input.js';
import { extractedKernel, listArchiveKernels } from '../../helpers/data.js';
import { ARCHIVE_DEMO, ARCHIVE_EXTRA, BPF_FIXTURES_DIR, BPF_TARGETS_DIR, FULL, HAVE_ARCHIVE_DEMO, REPO_ROOT } from '../../helpers/env.js';
import { processTempDir } from '../../helpers/temp.js';

/** Objects kept out of the committed corpus (made by tests that write them). */
export const LOCAL_FIXTURES = join(REPO_ROOT, 'test/minimize/fixtures-local');

/** A per-process temp directory, removed at exit. */
export const tempDir = (): string => processTempDir('btfgen-minimize-test-');

let seq = 0;
export function tempFile(name: string): string {
  return join(tempDir(), `${seq++}-${name}`);
}

/**
 * A raw BTF file for a kernel path: `.btf.tar.xz` and `.xz` are extracted with tar/xz (not with
 * our own reader) into the shared test cache (data.ts); raw files are returned as they are.
 */
export const kernelFile = extractedKernel;

/**
 * Archive kernels of the default suite: the 44 MB non-deduplicated CentOS 8 kernel, the ENUM64
 * Kylin/BC-Linux ones (one with no FUNC and an anonymous INT [1]), and a spread of Debian,
 * Ubuntu and CentOS releases. BTFGEN_FULL=1 selects every kernel of both archives.
 */
export function defaultKernels(): string[] {
  if (!HAVE_ARCHIVE_DEMO) return [];
  const all = [...listArchiveKernels(ARCHIVE_DEMO), ...listArchiveKernels(ARCHIVE_EXTRA)];
  if (FULL) return all;
  const pick = [
    'centos/8/x86_64/4.18.0-147.0.3.el8_1.x86_64', // 44 MB, ~900k types, not deduplicated
    'centos/8/x86_64/4.18.0-80.el8.x86_64',
    'debian/10/x86_64/4.19.0-17-amd64',
    'debian/10/x86_64/5.10.0-0.deb10.22-cloud-amd64',
    'ubuntu/20.04/x86_64/5.4.0-26-generic',
    'ubuntu/20.04/x86_64/5.11.0-1028-gcp',
    'bclinux/21.10U3/x86_64/4.19.90-2107.6.0.0248.35.oe1.bclinux.x86_64', // ENUM64
    'kylin/V10/aarch64/4.19.90-52.22.v2207.ky10.aarch64', // ENUM64, no FUNC, anonymous INT [1]
    'kylin/V10/aarch64/4.19.90-25.41.v2101.ky10.aarch64', // ENUM64
  ];
  return all.filter((k) => pick.some((p) => k.includes(`${p}.btf.tar.xz`)));
}

/** BPF objects at the top of test/fixtures/bpf (not the targets/ subdirectory), sorted. */
export function fixtureObjects(): string[] {
  if (!existsSync(BPF_FIXTURES_DIR)) return [];
  return readdirSync(BPF_FIXTURES_DIR)
    .filter((f) => f.endsWith('.o'))
    .map((f) => join(BPF_FIXTURES_DIR, f))
    .filter((p) => statSync(p).isFile() && statSync(p).size > 0)
    .sort();
}

/** Small target objects in the selftest style (test/fixtures/bpf/targets/*.o). */
export function targetObjects(): string[] {
  if (!existsSync(BPF_TARGETS_DIR)) return [];
  return readdirSync(BPF_TARGETS_DIR)
    .filter((f) => f.endsWith('.o'))
    .map((f) => join(BPF_TARGETS_DIR, f))
    .sort();
}

export function readBytes(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** One side of a differential run: success with bytes, or failure with an exit status. */
export interface Outcome {
  status: number;
  bytes?: Uint8Array;
  message: string;
  /** bpftool only: killed at the `timeoutMs` limit of bpftoolMinimize (nothing to compare). */
  timeout?: boolean;
  /** bpftool only: it died of this signal itself (libbpf 1.1 undefined behaviour, e.g. SIGFPE). */
  signal?: string;
}

/**
 * `bpftool gen min_core_btf INPUT OUT OBJ...` (async, so two can run at once). With `timeoutMs`
 * it is killed at that limit (`timeout` set); a death by another signal sets `signal`.
 */
export function bpftoolMinimize(input: string, objs: string[], timeoutMs?: number): Promise<Outcome> {
  const out = tempFile('ref.btf');
  return new Promise((resolvePromise, reject) => {
    const p = spawn('bpftool', ['gen', 'min_core_btf', input, out, ...objs], {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(timeoutMs ? { timeout: timeoutMs, killSignal: 'SIGKILL' as const } : {}),
    });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString('latin1')));
    p.on('error', reject);
    p.on('close', (code, signal) => {
      if (signal) {
        rmSync(out, { force: true });
        if (timeoutMs && signal === 'SIGKILL') resolvePromise({ status: 128 + 9, message: 'killed (time limit)', timeout: true });
        else resolvePromise({ status: 128 + 9, message: `bpftool died of ${signal}: ${err.trim().split('\n').pop()}`, signal });
        return;
      }
      const status = code ?? 128;
      let bytes: Uint8Array | undefined;
      if (status === 0) {
        bytes = readBytes(out);
        rmSync(out, { force: true });
      }
      resolvePromise({ status, message: err.trim(), ...(bytes ? { bytes } : {}) });
    });
  });
}

export function bpftoolMinimizeSync(input: string, objs: string[]): Outcome {
  const out = tempFile('ref.btf');
  const r = spawnSync('bpftool', ['gen', 'min_core_btf', input, out, ...objs], { encoding: 'latin1' });
  const status = r.status ?? 128;
  const res: Outcome = { status, message: (r.stderr ?? '').trim() };
  if (status === 0) {
    res.bytes = readBytes(out);
    rmSync(out, { force: true });
  }
  return res;
}

const targetCache = new Map<string, PreparedTarget>();
const objectCache = new Map<string, PreparedObject | { error: unknown }>();

/** Our parsed target for a kernel path (cached for the test process). */
export async function ourTarget(path: string): Promise<PreparedTarget> {
  let t = targetCache.get(path);
  if (!t) {
    t = prepareTarget(await unpackKernelBtf(readBytes(path), path), { name: path });
    targetCache.set(path, t);
  }
  return t;
}

function ourObject(path: string): PreparedObject | { error: unknown } {
  let o = objectCache.get(path);
  if (!o) {
    try {
      o = prepareObject(readBytes(path), path);
    } catch (error) {
      o = { error };
    }
    objectCache.set(path, o);
  }
  return o;
}

function statusOf(e: unknown): Outcome {
  const err = e as { exitCode?: number; message?: string };
  if (typeof err?.exitCode !== 'number') throw e; // a crash, not a typed failure
  return { status: err.exitCode, message: err.message ?? String(e) };
}

/** Our side, with bpftool's sequencing (input first, then each object in order). */
export async function ourMinimize(input: string, objs: string[], headerLen: 24 | 32 = 24): Promise<Outcome> {
  let target: PreparedTarget;
  try {
    target = await ourTarget(input);
  } catch (e) {
    return statusOf(e);
  }
  try {
    const m = new Minimizer(target);
    const prepared = objs.map(ourObject);
    const names = new Set<string>();
    for (const p of prepared) if (!('error' in p)) for (const n of p.roots) names.add(n);
    target.index.ensure(names);
    for (const p of prepared) {
      if ('error' in p) throw p.error;
      m.add(p);
    }
    return { status: 0, bytes: m.emit(headerLen), message: '' };
  } catch (e) {
    return statusOf(e);
  }
}

/** ourMinimize(), with an exception that is not a typed error reported as status -1 (a crash). */
export async function ourMinimizeOrCrash(input: string, objs: string[]): Promise<Outcome> {
  try {
    return await ourMinimize(input, objs);
  } catch (e) {
    return { status: -1, message: `CRASH (not a typed error): ${(e as Error)?.stack ?? String(e)}` };
  }
}

/** A short description of how two outcomes differ, or undefined when they agree. */
export function compareOutcomes(ours: Outcome, ref: Outcome): string | undefined {
  if (ours.status !== ref.status) {
    return `exit status: ours ${ours.status} (${ours.message}) vs bpftool ${ref.status} (${ref.message.split('\n')[0]})`;
  }
  if (ours.status !== 0) return undefined;
  const a = Buffer.from(ours.bytes!);
  const b = Buffer.from(ref.bytes!);
  if (a.equals(b)) return undefined;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `output differs at byte ${i} (ours ${a.length} bytes, bpftool ${b.length} bytes)`;
}

/** Runs async jobs with at most `n` in flight. */
export async function pool<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/** Compiles a BPF C source with clang-19 into the temp dir; returns the object path. */
export function compileBpf(src: string, name: string, extra: string[] = []): string {
  const out = tempFile(`${name}.o`);
  const r = spawnSync(
    'clang-19',
    ['-g', '-O2', '-target', 'bpf', '-mcpu=v3', '-D__TARGET_ARCH_x86', '-I', join(BPF_FIXTURES_DIR, 'src/include'), ...extra, '-c', src, '-o', out],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`clang-19 ${src} failed: ${r.stderr}`);
  return out;
}
