// The one test environment: where the repository, its fixtures, its build and the shared data
// are; which tools and headers this machine has; and the skip messages that say what is missing.
// Every suite takes these facts from here, never from its own copy. (Kernel BTF extraction is
// test/helpers/data.ts; bpftool as the oracle is test/helpers/bpftool.ts.)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---- paths ------------------------------------------------------------------------------------

/** Repository root (the directory holding package.json). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The built CLI. */
export const BIN = join(REPO_ROOT, 'bin/btfgen');
/** The build (`npm run build`), which worker threads and spawned CLIs run. */
export const DIST = join(REPO_ROOT, 'dist');

export const FIXTURES_DIR = join(REPO_ROOT, 'test/fixtures');
export const BPF_FIXTURES_DIR = join(FIXTURES_DIR, 'bpf');
export const BPF_MANIFEST = join(BPF_FIXTURES_DIR, 'manifest.json');
/** Selftest-style objects used as the INPUT BTF instead of a kernel. */
export const BPF_TARGETS_DIR = join(BPF_FIXTURES_DIR, 'targets');
export const BTF_FIXTURES_DIR = join(FIXTURES_DIR, 'btf');
export const EXAMPLES_DIR = join(REPO_ROOT, 'examples');
/** The committed btfhub-layout example archive (Debian 12 kernels, x86_64 + arm64). */
export const EXAMPLE_ARCHIVE = join(EXAMPLES_DIR, 'archive');
/** The committed example CO-RE object used by the README. */
export const EXAMPLE_OBJECT = join(EXAMPLES_DIR, 'prog.bpf.o');

/** ../shared/data next to the repository (third-party, read-only; BTFGEN_SHARED_DATA overrides). */
export const SHARED_DATA = resolve(process.env.BTFGEN_SHARED_DATA ?? join(REPO_ROOT, '../shared/data'));
export const ARCHIVE_DEMO = join(SHARED_DATA, 'btfhub-archive-demo');
export const ARCHIVE_EXTRA = join(SHARED_DATA, 'btfhub-archive-extra');
export const CILIUM_71 = join(SHARED_DATA, 'btf/cilium-testdata-7.1-amd64.btf.xz');
export const SPLIT = join(SHARED_DATA, 'btf/split/btf_testmod.btf');
export const SPLIT_BASE = join(SHARED_DATA, 'btf/split/btf_testmod.btf.base');

/** The running kernel's BTF. */
export const VMLINUX = '/sys/kernel/btf/vmlinux';

// ---- what this machine has --------------------------------------------------------------------

/** True when `cmd args` runs and exits 0. */
export function works(cmd: string, args: string[]): boolean {
  try {
    return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
  } catch {
    return false;
  }
}

/** True when the shell finds `cmd` (`command -v`), whether or not it runs without arguments. */
export function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export const HAVE_BPFTOOL = works('bpftool', ['version']);
export const HAVE_XZ = works('xz', ['--version']);
export const HAVE_CLANG = works('clang-19', ['--version']);
export const HAVE_GCC = works('gcc', ['--version']);
export const HAVE_VMLINUX = existsSync(VMLINUX);
/** GNU tar (the reference reader of pack's outputs). */
export const HAVE_GNU_TAR = (() => {
  try {
    return /GNU tar/.test(spawnSync('tar', ['--version'], { encoding: 'utf8' }).stdout);
  } catch {
    return false;
  }
})();
export const HAVE_LLVM_OBJDUMP = works('llvm-objdump-19', ['--version']);
/** Root may load BPF programs (CAP_BPF/CAP_SYS_ADMIN). */
export const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
/** libbpf-dev: the header the C harnesses and loaders include. */
export const HAVE_LIBBPF_DEV = existsSync('/usr/include/bpf/libbpf.h');
export const HAVE_ZLIB_DEV = existsSync('/usr/include/zlib.h');
/** The uapi header (linux-libc-dev). */
export const HAVE_UAPI_BPF_H = existsSync('/usr/include/linux/bpf.h');
/** The shared data directory exists (some items may still be absent: see `data`, `missing`). */
export const HAVE_SHARED_DATA = existsSync(SHARED_DATA);
export const HAVE_ARCHIVE_DEMO = existsSync(ARCHIVE_DEMO);
/** Both archive repositories of the shared data. */
export const HAVE_ARCHIVES = HAVE_ARCHIVE_DEMO && existsSync(ARCHIVE_EXTRA);

/** BTFGEN_FULL=1: every kernel of ../shared/data, not the default spread. */
export const FULL = !!process.env.BTFGEN_FULL;

/** A number from the environment variable `name` (decimal or 0x-hex), else `fallback`. */
export function envNumber(name: string, fallback: number): number {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
}

// ---- skip messages ----------------------------------------------------------------------------

export const NO_BPFTOOL = 'bpftool not installed (apt-get install bpftool): differential tests skipped';
export const NO_CLANG = 'clang-19 not installed (apt-get install clang-19): compiled-fixture tests skipped';
/** For suites that need the shared data directory. */
export const NO_SHARED_DATA = `shared test data not found at ${SHARED_DATA}: skipped`;
/** For suites that need the demo archive's kernels. */
export const NO_ARCHIVE_DEMO = `shared kernel archives not found at ${SHARED_DATA}: archive-kernel tests skipped`;
/** For suites that need both archive repositories (fetch builds git repositories from them). */
export const NO_ARCHIVES = `shared test data not found at ${SHARED_DATA}: skipping fetch tests that need real archives`;

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

const shared = (rel: string, what: string): DataItem => item(join(SHARED_DATA, rel), what);

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

/** Project-made fixtures. */
export const fixtures = {
  /** Big-endian kernel BTF (Debian trixie 6.12 s390x), xz-compressed raw .BTF. */
  s390xBtfXz: item(firstFile(BTF_FIXTURES_DIR, /-s390x\.btf\.xz$/), 'big-endian s390x kernel BTF fixture'),
  exampleArchive: item(EXAMPLE_ARCHIVE, 'examples/archive'),
  exampleObject: item(EXAMPLE_OBJECT, 'examples/prog.bpf.o'),
  hostVmlinux: item(VMLINUX, 'the running kernel BTF (/sys/kernel/btf/vmlinux)'),
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

/** For `it.skipIf(...)`/`describe.skipIf(...)`: a message when an item is absent, else ''. */
export function missing(...items: DataItem[]): string {
  const gone = items.filter((i) => !i.exists);
  return gone.length ? `missing test data: ${gone.map((i) => `${i.what} (${i.path})`).join(', ')}` : '';
}

/** True when `rel` exists under dist/ (the suites that run the built CLI skip without it). */
export function isBuilt(rel: string): boolean {
  return existsSync(join(DIST, rel));
}

/** Throws when a source the workers or the CLI depend on is newer than its dist/ build. */
export function assertDistFresh(): void {
  const stale: string[] = [];
  for (const dir of ['pack', 'minimize', 'btf', 'archive', 'cli', 'fetch', 'check']) {
    const src = join(REPO_ROOT, 'src', dir);
    if (!existsSync(src)) continue;
    for (const f of readdirSync(src)) {
      if (!f.endsWith('.ts')) continue;
      const js = join(DIST, dir, f.replace(/\.ts$/, '.js'));
      if (!existsSync(js) || statSync(js).mtimeMs + 1000 < statSync(join(src, f)).mtimeMs) stale.push(`src/${dir}/${f}`);
    }
  }
  if (stale.length) throw new Error(`dist/ is older than ${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ', ...' : ''}: run 'npx tsc -p .' (npm test does)`);
}
