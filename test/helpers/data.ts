// Paths to test data, with existence flags, and small helpers to get raw BTF
// out of the compressed forms the data comes in.
//
// - Project fixtures (committed): test/fixtures/**, examples/**.
// - Third-party data (never committed): ../shared/data relative to the repo root
//   (override with BTFGEN_SHARED_DATA). Tests must skip with a clear message when
//   an item is absent: use `skipUnless(item)` or `item.exists`.
// - The running kernel's BTF: /sys/kernel/btf/vmlinux (`hostVmlinux`).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { REPO_ROOT, SHARED_DATA } from './env.js';

const execFileP = promisify(execFile);

// The paths live in env.ts (the one test environment); re-exported for the suites' imports.
export { REPO_ROOT, SHARED_DATA };

export const FIXTURES_DIR = join(REPO_ROOT, 'test/fixtures');
export const BPF_FIXTURES_DIR = join(FIXTURES_DIR, 'bpf');
export const BPF_MANIFEST = join(BPF_FIXTURES_DIR, 'manifest.json');
export const BTF_FIXTURES_DIR = join(FIXTURES_DIR, 'btf');
export const EXAMPLES_DIR = join(REPO_ROOT, 'examples');
/** The committed btfhub-layout example archive (Debian 12 kernels, x86_64 + arm64). */
export const EXAMPLE_ARCHIVE = join(EXAMPLES_DIR, 'archive');
/** The committed example CO-RE object used by the README. */
export const EXAMPLE_OBJECT = join(EXAMPLES_DIR, 'prog.bpf.o');

/** The running kernel's BTF. */
export const hostVmlinux = '/sys/kernel/btf/vmlinux';
export const hasHostVmlinux = existsSync(hostVmlinux);

export interface DataItem {
  /** Absolute path. */
  path: string;
  exists: boolean;
  /** What it is, for skip messages. */
  what: string;
}

function item(path: string, what: string): DataItem {
  return { path, exists: existsSync(path), what };
}

const shared = (rel: string, what: string) => item(join(SHARED_DATA, rel), what);

/** Items of ../shared/data (see its README.md). */
export const data = {
  /** btfhub-archive demo subset: 85 x86_64 kernels (centos/8, debian/10, ubuntu/20.04); debian/buster is a 2-byte file. */
  demoArchive: shared('btfhub-archive-demo', 'btfhub-archive-demo (85 kernels)'),
  /** Second archive repository: BC-Linux x86_64, Kylin/CentOS aarch64 (dirs named "aarch64"). */
  extraArchive: shared('btfhub-archive-extra', 'btfhub-archive-extra'),
  /** 7.1 kernel BTF, xz: 32-byte header, layout section, DECL_TAG/TYPE_TAG/ENUM64. */
  cilium71Btf: shared('btf/cilium-testdata-7.1-amd64.btf.xz', 'cilium 7.1 kernel BTF (xz)'),
  /** Split BTF of a module and its distilled base. */
  splitBtf: shared('btf/split/btf_testmod.btf', 'split BTF btf_testmod.btf'),
  splitBase: shared('btf/split/btf_testmod.btf.base', 'split BTF base btf_testmod.btf.base'),
  /** A 44 MB, ~900k-type, non-deduplicated BTF (memory/speed stress). */
  centosHuge: shared('btfhub-archive-demo/centos/8/x86_64/4.18.0-147.0.3.el8_1.x86_64.btf.tar.xz',
    'centos 8 4.18.0-147 (44 MB BTF)'),
  /** Kylin aarch64 4.19 with ENUM64 written by a new pahole. */
  kylinEnum64: shared('btfhub-archive-extra/kylin/V10/aarch64/4.19.90-24.4.v2101.ky10.aarch64.btf.tar.xz',
    'kylin V10 aarch64 4.19 (ENUM64)'),
};

/** Project-made kernel BTF fixtures. */
export const fixtures = {
  /** Big-endian kernel BTF (Debian trixie 6.12 s390x), xz-compressed raw .BTF. */
  s390xBtfXz: item(firstFile(BTF_FIXTURES_DIR, /-s390x\.btf\.xz$/), 'big-endian s390x kernel BTF fixture'),
  exampleArchive: item(EXAMPLE_ARCHIVE, 'examples/archive'),
  exampleObject: item(EXAMPLE_OBJECT, 'examples/prog.bpf.o'),
  hostVmlinux: item(hostVmlinux, 'the running kernel BTF (/sys/kernel/btf/vmlinux)'),
};

function firstFile(dir: string, re: RegExp): string {
  try {
    const f = readdirSync(dir).sort().find((n) => re.test(n));
    if (f) return join(dir, f);
  } catch {
    /* missing dir */
  }
  return join(dir, `missing-${re.source}`);
}

/** For `it.skipIf(...)`/`describe.skipIf(...)`: a message when the item is absent, else ''. */
export function missing(...items: DataItem[]): string {
  const gone = items.filter((i) => !i.exists);
  return gone.length ? `missing test data: ${gone.map((i) => `${i.what} (${i.path})`).join(', ')}` : '';
}

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
