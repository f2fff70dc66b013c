// Kernel BTF out of the compressed forms the shared data and the fixtures come in, extracted
// with the system tar and xz (never with our own readers) into a cache outside the repository.
// Where the data is and whether it is there: test/helpers/env.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { sharedCacheDir } from './temp.js';

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

/**
 * Cache of unpacked test data shared by test runs (outside the repository and the run's own
 * temp directory): entries are named by the sha256 of the compressed file, so a copy of the data
 * elsewhere (a fresh clone's `../shared`) or re-provisioned with new mtimes finds them.
 */
export const TEST_CACHE_DIR = sharedCacheDir('btfgen-test-cache');

const keys = new Map<string, string>();
/** The cache file for `src`: its content's sha256 (hashed once per process and stat) and its name. */
function cachePathFor(src: string, suffix: string): string {
  const st = statSync(src);
  const stamp = `${resolve(src)}\0${st.size}\0${st.mtimeMs}`;
  let key = keys.get(stamp);
  if (key === undefined) keys.set(stamp, (key = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 16)));
  return join(TEST_CACHE_DIR, `${key}-${basename(src).replace(/\.(tar\.xz|xz)$/, '')}${suffix}`);
}

/**
 * The raw kernel BTF of a btfhub `<release>.btf.tar.xz` (exactly one member) or of an `.xz`
 * file, extracted with the system tar/xz into TEST_CACHE_DIR on first use: its path. Another
 * file is returned as it is.
 */
export function extractedKernel(src: string): string {
  const tarXz = src.endsWith('.tar.xz');
  if (!tarXz && !src.endsWith('.xz')) return src;
  const out = cachePathFor(src, tarXz ? '' : '.raw');
  if (existsSync(out)) return out;
  mkdirSync(TEST_CACHE_DIR, { recursive: true });
  // extracted in the run's temp directory (removed with it, should this process be killed), then renamed
  const tmp = mkdtempSync(join(tmpdir(), 'btfgen-extract-'));
  try {
    if (tarXz) {
      const r = spawnSync('tar', ['-xJf', src, '-C', tmp], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`cannot extract ${src}: ${r.error?.message ?? r.stderr}`);
      const members = readdirSync(tmp);
      if (members.length !== 1) throw new Error(`${src}: expected one member, got ${members.join(', ')}`);
      renameSync(join(tmp, members[0]!), out);
    } else {
      const r = spawnSync('xz', ['-dc', src], { maxBuffer: 1 << 30 });
      if (r.status !== 0) throw new Error(`cannot decompress ${src}: ${r.error?.message ?? r.stderr}`);
      writeFileSync(join(tmp, 'raw'), r.stdout);
      renameSync(join(tmp, 'raw'), out);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

/** Unpack a btfhub `<release>.btf.tar.xz` (exactly one member) to a cached raw .btf file: its path. */
export async function unpackBtfTarXz(tarXz: string): Promise<string> {
  return extractedKernel(tarXz);
}

/** Decompress an .xz file (e.g. a raw BTF fixture) to a cached file and return its path. */
export async function unxzToFile(xzPath: string): Promise<string> {
  return extractedKernel(xzPath);
}

/** Decompress an .xz file into memory. */
export async function readXz(xzPath: string): Promise<Uint8Array> {
  return new Uint8Array(readFileSync(await unxzToFile(xzPath)));
}
