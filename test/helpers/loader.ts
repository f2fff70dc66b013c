// End-to-end helper: build test/fixtures/loader/loader.c against the system
// libbpf (Debian libbpf-dev 1.1: -lbpf -lelf -lz) and run it on BPF objects,
// optionally with a custom (minimized) BTF for CO-RE (btf_custom_path).
//
//   const bin = await buildLoader();            // null when cc/libbpf are missing
//   if (!bin) return ctx.skip(loaderSkipReason());
//   const full = await runLoader(bin, obj);
//   const min = await runLoader(bin, obj, minimizedBtfPath);
//   expect(diffRelos(full, min)).toEqual([]);   // same CO-RE decisions
//
// Loading needs root (or CAP_BPF + CAP_PERFMON): see canLoadBpf().
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAVE_LIBBPF_DEV, IS_ROOT, REPO_ROOT } from './env.js';

export const LOADER_SOURCE = join(REPO_ROOT, 'test/fixtures/loader/loader.c');
const LOADER_HEADER = join(REPO_ROOT, 'test/fixtures/loader/relo_log.h');

export interface LoaderRelo {
  /** Program name. */
  prog: string;
  /** libbpf's relocation index within the program ("relo #N"). */
  index: number;
  /** libbpf's short kind name: byte_off, byte_sz, field_exists, signed, lshift_u64, rshift_u64,
   * local_type_id, target_type_id, type_exists, type_matches, type_size, enumval_exists, enumval_value. */
  kind: string;
  /** Outcome with type IDs normalized to "[#]", e.g. "patched insn #5 (LDX/ST/STX) off 12 -> 20",
   * "substituting insn #3 w/ invalid insn" (poisoned: no candidate matched). */
  outcome: string;
}

export interface LoaderResult {
  /** The whole object loaded (exit status 0). */
  ok: boolean;
  /** Per program: loaded alone or as part of the object. errno is positive (e.g. 22). */
  perProgram: Record<string, { ok: boolean; errno?: number }>;
  /** CO-RE decisions from libbpf's debug log, in log order. */
  relos: LoaderRelo[];
  stdout: string;
  /** Every libbpf message (debug level included), verbatim. */
  stderr: string;
  code: number;
}

let skipReason = '';

/** Why buildLoader() returned null ('' if it did not). */
export function loaderSkipReason(): string {
  return skipReason;
}

/** True when this process may load BPF programs (root). */
export function canLoadBpf(): boolean {
  return IS_ROOT;
}

function sh(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28 }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
        resolve({ code: -1, stdout, stderr: `${stderr}${String(err.message)}` });
        return;
      }
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let building: Promise<string | null> | undefined;

/**
 * Compile loader.c (cc -O2 ... -lbpf -lelf -lz) into a cache directory keyed by
 * the source's hash and return the binary's path; reuse it when present.
 * Resolves null (see loaderSkipReason()) when cc or libbpf-dev is missing or
 * the build fails. $CC overrides the compiler.
 */
export function buildLoader(): Promise<string | null> {
  building ??= (async () => {
    if (!existsSync(LOADER_SOURCE)) {
      skipReason = `loader source missing: ${LOADER_SOURCE}`;
      return null;
    }
    // the source and the header it includes (relo_log.h, shared with scripts/vm/vmload.c)
    const hash = createHash('sha256').update(readFileSync(LOADER_SOURCE)).update(readFileSync(LOADER_HEADER)).digest('hex').slice(0, 16);
    const dir = join(tmpdir(), 'btfgen-loader', hash);
    const bin = join(dir, 'loader');
    if (existsSync(bin)) return bin;
    const cc = process.env.CC ?? 'cc';
    const probe = await sh(cc, ['--version']);
    if (probe.code !== 0) {
      skipReason = `no C compiler (${cc}): ${probe.stderr.trim().split('\n')[0] ?? ''}`;
      return null;
    }
    if (!HAVE_LIBBPF_DEV) {
      skipReason = 'libbpf headers not found (/usr/include/bpf/libbpf.h): apt-get install libbpf-dev libelf-dev zlib1g-dev';
      return null;
    }
    mkdirSync(dir, { recursive: true });
    const tmp = `${bin}.tmp-${process.pid}`;
    const r = await sh(cc, ['-O2', '-Wall', '-o', tmp, LOADER_SOURCE, '-lbpf', '-lelf', '-lz']);
    if (r.code !== 0) {
      rmSync(tmp, { force: true });
      skipReason = `building the loader failed: ${r.stderr.trim().split('\n').slice(0, 3).join(' | ')}`;
      return null;
    }
    renameSync(tmp, bin); // atomic: parallel test workers may race here
    return bin;
  })();
  return building;
}

let probed: Promise<string> | undefined;

/**
 * Whether this machine lets us load BPF right now: loads a trivial fixture
 * (l_norelo.o, no CO-RE) once. Resolves '' when it works, else the reason
 * (e.g. no privileges in a container, kernel lockdown) for skip messages.
 */
export function bpfLoadProbe(bin: string): Promise<string> {
  probed ??= (async () => {
    if (!canLoadBpf()) return 'not root: loading BPF programs needs CAP_BPF/CAP_SYS_ADMIN';
    const r = await runLoader(bin, join(REPO_ROOT, 'test/fixtures/bpf/l_norelo.o'));
    if (r.ok) return '';
    const last = r.stderr.trim().split('\n').filter((l) => /error|failed|permitted/i.test(l)).pop() ?? `exit ${r.code}`;
    return `this kernel/container refuses to load a trivial BPF program: ${last}`;
  })();
  return probed;
}

/** Parse the loader's stdout (see loader.c for the format). */
export function parseLoaderOutput(stdout: string): Pick<LoaderResult, 'perProgram' | 'relos'> & { result?: string } {
  const perProgram: LoaderResult['perProgram'] = {};
  const relos: LoaderRelo[] = [];
  let result: string | undefined;
  for (const line of stdout.split('\n')) {
    let m = /^prog (\S+) ok$/.exec(line);
    if (m) {
      perProgram[m[1]] = { ok: true };
      continue;
    }
    m = /^prog (\S+) err (-?\d+)$/.exec(line);
    if (m) {
      perProgram[m[1]] = { ok: false, errno: Number(m[2]) };
      continue;
    }
    m = /^relo (\S+) #(\d+) (\S+) (.*)$/.exec(line);
    if (m) {
      relos.push({ prog: m[1], index: Number(m[2]), kind: m[3], outcome: m[4] });
      continue;
    }
    m = /^result (.*)$/.exec(line);
    if (m) result = m[1];
  }
  return { perProgram, relos, result };
}

/**
 * Load every program of `objPath` with libbpf (CO-RE against `btfCustomPath`
 * when given, else the running kernel's BTF) and report per-program results and
 * the CO-RE decisions. Never rejects for load failures: check `ok`.
 */
export async function runLoader(bin: string, objPath: string, btfCustomPath?: string): Promise<LoaderResult> {
  const args = [...(btfCustomPath ? ['--btf', btfCustomPath] : []), objPath];
  const r = await sh(bin, args);
  const parsed = parseLoaderOutput(r.stdout);
  return {
    ok: r.code === 0,
    perProgram: parsed.perProgram,
    relos: parsed.relos,
    stdout: r.stdout,
    stderr: r.stderr,
    code: r.code,
  };
}

/**
 * Differences between the CO-RE decisions of two loads of the same object (e.g.
 * full kernel BTF vs minimized BTF), one string per differing relocation.
 * target_type_id values are ignored by default: they are the target's own type
 * IDs and legitimately differ between a full and a minimized BTF (spec §4.10).
 */
export function diffRelos(a: LoaderResult, b: LoaderResult, ignoreKinds: string[] = ['target_type_id']): string[] {
  const key = (r: LoaderRelo) => `${r.prog} #${r.index}`;
  const bm = new Map(b.relos.map((r) => [key(r), r]));
  const out: string[] = [];
  for (const r of a.relos) {
    const o = bm.get(key(r));
    bm.delete(key(r));
    if (!o) {
      out.push(`${key(r)} ${r.kind}: only in first: ${r.outcome}`);
      continue;
    }
    if (ignoreKinds.includes(r.kind) && o.kind === r.kind) continue;
    if (o.kind !== r.kind || o.outcome !== r.outcome) {
      out.push(`${key(r)} ${r.kind}: ${r.outcome}  !=  ${o.kind}: ${o.outcome}`);
    }
  }
  for (const [k, o] of bm) out.push(`${k} ${o.kind}: only in second: ${o.outcome}`);
  return out;
}
