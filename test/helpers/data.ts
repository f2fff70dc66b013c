// Kernel BTF out of the compressed forms the shared data and the fixtures come in, extracted
// with the system tar and xz (never with our own readers) into a cache outside the repository.
// Where the data is and whether it is there: test/helpers/env.ts.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Every `*.btf.tar.xz` under an archive root, sorted (skips non-kernels like debian/buster). */
export function listArchiveKernels(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.btf.tar.xz')) out.push(p);
    }
  };
  if (existsSync(root)) walk(root);
  return out.sort();
}

/** Cache directory for unpacked test data (outside the repository). */
export const TEST_CACHE_DIR = join(tmpdir(), 'btfgen-test-cache');

function cachePathFor(src: string, suffix: string): string {
  const st = statSync(src);
  const key = createHash('sha256').update(`${resolve(src)}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 16);
  return join(TEST_CACHE_DIR, `${key}-${basename(src).replace(/\.(tar\.xz|xz)$/, '')}${suffix}`);
}

/**
 * Unpack a btfhub `<release>.btf.tar.xz` (exactly one member) to a cached raw
 * .btf file and return its path. Uses the system tar + xz.
 */
export async function unpackBtfTarXz(tarXz: string): Promise<string> {
  const out = cachePathFor(tarXz, '');
  if (existsSync(out)) return out;
  mkdirSync(TEST_CACHE_DIR, { recursive: true });
  const tmpDir = `${out}.tmp-${process.pid}`;
  mkdirSync(tmpDir, { recursive: true });
  await execFileP('tar', ['-xJf', tarXz, '-C', tmpDir]);
  const members = readdirSync(tmpDir);
  if (members.length !== 1) throw new Error(`${tarXz}: expected one member, got ${members.join(', ')}`);
  renameSync(join(tmpDir, members[0]), out);
  return out;
}

/** Decompress an .xz file (e.g. a raw BTF fixture) to a cached file and return its path. */
export async function unxzToFile(xzPath: string): Promise<string> {
  const out = cachePathFor(xzPath, '.raw');
  if (existsSync(out)) return out;
  mkdirSync(TEST_CACHE_DIR, { recursive: true });
  const { stdout } = await execFileP('xz', ['-dc', xzPath], { encoding: 'buffer', maxBuffer: 1 << 30 });
  const tmp = `${out}.tmp-${process.pid}`;
  writeFileSync(tmp, stdout);
  renameSync(tmp, out);
  return out;
}

/** Decompress an .xz file into memory. */
export async function readXz(xzPath: string): Promise<Uint8Array> {
  return new Uint8Array(readFileSync(await unxzToFile(xzPath)));
}
