// libbpf 1.1 as the reference for `btfgen check`: builds harness/relo-log.c against the system
// libbpf (Debian libbpf-dev), runs it on an object with btf_custom_path = a kernel BTF, and
// parses libbpf's own debug log into per-relocation decisions (`prog 'X': relo #N: ...`) and the
// verifier's verdict. Also what the CLI suites share: running the built CLI, the guard fixture, the
// example archive's kernels and bpftool's view of their task_struct.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, EXAMPLE_ARCHIVE, HAVE_LIBBPF_DEV, REPO_ROOT } from '../helpers/env.js';
import { kernelFile } from '../minimize/helpers/differential.js';

const SOURCE = join(REPO_ROOT, 'test/check/harness/relo-log.c');

let reason = '';
let built: string | null | undefined;

/** Why buildHarness() returned null. */
export function harnessSkipReason(): string {
  return reason;
}

/** Compiles the harness once (cached by source hash); null when gcc/libbpf-dev are missing. */
export function buildHarness(): string | null {
  if (built !== undefined) return built;
  const src = readFileSync(SOURCE);
  const dir = join(tmpdir(), 'btfgen-check-harness', createHash('sha256').update(src).digest('hex').slice(0, 16));
  const bin = join(dir, 'relo-log');
  if (existsSync(bin)) return (built = bin);
  if (!HAVE_LIBBPF_DEV) {
    reason = 'libbpf-dev not installed (/usr/include/bpf/libbpf.h missing): apt-get install libbpf-dev libelf-dev zlib1g-dev';
    return (built = null);
  }
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}`;
  const r = spawnSync(process.env.CC ?? 'gcc', ['-O2', '-Wall', '-o', tmp, SOURCE, '-lbpf', '-lelf', '-lz'], { encoding: 'utf8' });
  if (r.status !== 0) {
    reason = `building the libbpf harness failed: ${(r.stderr || String(r.error)).trim().split('\n')[0]}`;
    return (built = null);
  }
  renameSync(tmp, bin);
  return (built = bin);
}

export interface HarnessRun {
  log: string;
  /** Positive errno of bpf_object__load (0: loaded); undefined when it did not get that far. */
  result?: number;
}

export function runHarness(bin: string, obj: string, btf: string, prog?: string): Promise<HarnessRun> {
  return new Promise((resolve, reject) => {
    const args = ['--btf', btf, ...(prog ? ['--prog', prog] : []), obj];
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => chunks.push(d));
    p.stderr.on('data', () => {});
    p.on('error', reject);
    p.on('close', () => {
      const log = Buffer.concat(chunks).toString('latin1');
      const m = /^@@result (-?\d+)$/m.exec(log);
      resolve({ log, ...(m ? { result: Number(m[1]) } : {}) });
    });
  });
}

/** libbpf's decision for one relocation, as its log tells it. */
export interface LibbpfDecision {
  verdict: 'ok' | 'poison' | 'error';
  insn?: number;
  /** New value (`... A -> B`: B), decimal. */
  value?: string;
  memSize?: number;
  /** Warning lines about this relocation. */
  messages: string[];
}

/** Per `prog#index`, in log order. */
export function parseReloLog(log: string): Map<string, LibbpfDecision> {
  const out = new Map<string, LibbpfDecision>();
  const get = (k: string): LibbpfDecision => {
    let d = out.get(k);
    if (!d) out.set(k, (d = { verdict: 'ok', messages: [] }));
    return d;
  };
  for (const line of log.split('\n')) {
    const m = /^libbpf: prog '([^']+)': relo #(\d+): (.*)$/.exec(line) ?? /^prog '([^']+)': relo #(\d+): (.*)$/.exec(line);
    if (!m) continue;
    const key = `${m[1]}#${m[2]}`;
    const rest = m[3]!;
    let p: RegExpExecArray | null;
    if ((p = /^patched insn #(\d+) \([^)]*\) mem_sz (\d+) -> (\d+)/.exec(rest))) {
      get(key).memSize = Number(p[3]);
    } else if ((p = /^patched insn #(\d+) \([^)]*\) (?:imm|off|imm64) (\d+) -> (\d+)/.exec(rest))) {
      const d = get(key);
      d.insn = Number(p[1]);
      d.value = p[3]!;
    } else if ((p = /^substituting insn #(\d+) w\/ invalid insn/.exec(rest))) {
      const d = get(key);
      if (d.verdict !== 'error') d.verdict = 'poison';
      d.insn = d.insn === undefined ? Number(p[1]) : Math.min(d.insn, Number(p[1]));
    } else if (/^failed to (relocate|patch insn)/.test(rest)) {
      const d = get(key);
      d.verdict = 'error';
      d.messages.push(rest);
    } else if (/ambiguity|failed|unexpected|too big|doesn't support|can't be|incorrectly|unrecognized|invalid/.test(rest)) {
      get(key).messages.push(rest);
    }
  }
  return out;
}

/**
 * The CO-RE relocation the verifier tripped on, from libbpf's rewrite of the verifier log
 * (fixup_log_failed_core_relo): "failed to resolve CO-RE relocation <kind> [id] ...".
 */
export function failedCoreRelo(log: string): string | undefined {
  return /failed to resolve CO-RE relocation (.*)$/m.exec(log)?.[1];
}

/** The guard fixture object (test/check/fixtures/guards.o). */
export const GUARDS = join(REPO_ROOT, 'test/check/fixtures/guards.o');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/btfgen with `args` from the repository root; `env` replaces the environment when given. */
export function runCli(args: string[], env?: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, ...(env ? { env } : {}), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Kernel files of the example archive (x86_64 and arm64). */
export function exampleKernels(): string[] {
  const out: string[] = [];
  for (const arch of readdirSync(join(EXAMPLE_ARCHIVE, 'debian/12'))) {
    for (const f of readdirSync(join(EXAMPLE_ARCHIVE, 'debian/12', arch))) out.push(join(EXAMPLE_ARCHIVE, 'debian/12', arch, f));
  }
  return out.sort();
}

/** Does `struct task_struct` have member `name` in this kernel? (bpftool's C dump) */
export function taskHas(kernel: string, member: string): boolean {
  const c = execFileSync('bpftool', ['btf', 'dump', 'file', kernelFile(kernel), 'format', 'c'], { maxBuffer: 1 << 28 }).toString('latin1');
  const body = /^struct task_struct \{\n([\s\S]*?)\n\};/m.exec(c)?.[1] ?? '';
  return new RegExp(`[ *]${member}(;|\\[| :)`).test(body);
}
