// The one test environment: repository and shared-data paths, which tools are installed, and
// the skip messages that say what is missing. Every suite's helpers take these from here
// (test/helpers/data.ts re-exports the paths for older imports).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (the directory holding package.json). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** ../shared/data next to the repository (third-party, read-only; BTFGEN_SHARED_DATA overrides). */
export const SHARED_DATA = resolve(process.env.BTFGEN_SHARED_DATA ?? join(REPO_ROOT, '../shared/data'));

/** Items of the shared data used across suites. */
export const ARCHIVE_DEMO = join(SHARED_DATA, 'btfhub-archive-demo');
export const ARCHIVE_EXTRA = join(SHARED_DATA, 'btfhub-archive-extra');
export const CILIUM_71 = join(SHARED_DATA, 'btf/cilium-testdata-7.1-amd64.btf.xz');
export const SPLIT = join(SHARED_DATA, 'btf/split/btf_testmod.btf');
export const SPLIT_BASE = join(SHARED_DATA, 'btf/split/btf_testmod.btf.base');
/** The running kernel's BTF. */
export const VMLINUX = '/sys/kernel/btf/vmlinux';

/** True when `cmd args` runs and exits 0. */
export function works(cmd: string, args: string[]): boolean {
  try {
    return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
  } catch {
    return false;
  }
}

export const HAVE_BPFTOOL = works('bpftool', ['version']);
export const HAVE_XZ = works('xz', ['--version']);
export const HAVE_CLANG = works('clang-19', ['--version']);
export const HAVE_VMLINUX = existsSync(VMLINUX);
