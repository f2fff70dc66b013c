// The reference oracle: Debian's bpftool (7.1.0, libbpf 1.1). Differential tests
// run it live; never store its output as golden files.
//
// bpftool is looked up as $BPFTOOL, else `bpftool` in PATH, else /usr/sbin/bpftool.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BpftoolResult {
  /** Exit status (bpftool exits with the negative errno truncated to 8 bits, e.g. 234 = -EINVAL). */
  code: number;
  stdout: string;
  stderr: string;
}

let cachedPath: string | null | undefined;

/** The bpftool binary to use, or null if none works. */
export function bpftoolPath(): string | null {
  if (cachedPath !== undefined) return cachedPath;
  const candidates = [process.env.BPFTOOL, 'bpftool', '/usr/sbin/bpftool'].filter((x): x is string => !!x);
  cachedPath = null;
  for (const c of candidates) {
    try {
      execFileSync(c, ['version'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
      cachedPath = c;
      break;
    } catch {
      /* try the next one */
    }
  }
  return cachedPath;
}

/** True when a working bpftool is available. */
export function hasBpftool(): boolean {
  return bpftoolPath() !== null;
}

/** `bpftool version` first line, e.g. "bpftool v7.1.0", or null. */
export function bpftoolVersion(): string | null {
  const p = bpftoolPath();
  if (!p) return null;
  return execFileSync(p, ['version'], { encoding: 'utf8' }).split('\n')[0].trim();
}

function run(args: string[], timeoutMs = 300_000): Promise<BpftoolResult> {
  const p = bpftoolPath();
  if (!p) return Promise.reject(new Error('bpftool not found (apt-get install bpftool, or set BPFTOOL)'));
  return new Promise((resolve, reject) => {
    execFile(p, args, { encoding: 'utf8', maxBuffer: 1 << 30, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
        reject(err); // spawn failure (ENOENT...), not an exit status
        return;
      }
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * `bpftool gen min_core_btf INPUT OUTPUT OBJ...`. Resolves with the exit status
 * and stderr; never rejects on a non-zero status (only if bpftool is missing).
 * On failure bpftool writes no OUTPUT.
 */
export async function bpftoolMinCoreBtf(input: string, output: string, objs: string[]): Promise<BpftoolResult> {
  return run(['gen', 'min_core_btf', input, output, ...objs]);
}

/**
 * Convenience: run min_core_btf into a temporary file and return its bytes
 * (undefined when bpftool failed).
 */
export async function bpftoolMinCoreBtfBytes(
  input: string,
  objs: string[],
): Promise<BpftoolResult & { btf?: Uint8Array }> {
  const dir = mkdtempSync(join(tmpdir(), 'btfgen-bpftool-'));
  try {
    const out = join(dir, 'out.btf');
    const r = await bpftoolMinCoreBtf(input, out, objs);
    const btf = r.code === 0 && existsSync(out) ? new Uint8Array(readFileSync(out)) : undefined;
    return { ...r, btf };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `bpftool btf dump file FILE [format raw]`, with `-B BASE` for split BTF.
 * Rejects when bpftool fails (the message includes its stderr).
 */
export async function bpftoolDump(file: string, base?: string): Promise<string> {
  const args = [...(base ? ['-B', base] : []), 'btf', 'dump', 'file', file];
  const r = await run(args);
  if (r.code !== 0) throw new Error(`bpftool ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}
