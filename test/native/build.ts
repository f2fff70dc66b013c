// Builds native/ (libbpf_compatible.a, the lookup test, the example loader) into a temporary
// directory, and the test archives for the end-to-end tests. Shared by test/native and
// test/runtime. Nothing is written inside the repository.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { machine, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { detectHost, type HostIdentity } from '../../src/runtime/index.js';
import { HAVE_LIBBPF_DEV, HAVE_ZLIB_DEV, onPath, REPO_ROOT, VMLINUX } from '../helpers/env.js';
import { writeTarFile } from '../helpers/tar.js';

export const NATIVE = join(REPO_ROOT, 'native');

/** Why the C helper cannot be built and tested here, or undefined when it can. */
export function cToolsMissing(): string | undefined {
  const missing = ['cc', 'make', 'ar'].filter((c) => !onPath(c));
  if (missing.length) return `missing ${missing.join(', ')}`;
  if (!HAVE_ZLIB_DEV) return 'missing zlib headers (zlib1g-dev)';
  if (!HAVE_LIBBPF_DEV) return 'missing libbpf headers (libbpf-dev)';
  return undefined;
}

/** Why the example loader cannot be built and run here, or undefined when it can. */
export function loaderToolsMissing(): string | undefined {
  const c = cToolsMissing();
  if (c) return c;
  const missing = ['clang-19', 'bpftool', 'ld', 'llvm-strip-19'].filter((x) => !onPath(x));
  if (missing.length) return `missing ${missing.join(', ')}`;
  try {
    accessSync(VMLINUX, constants.R_OK);
  } catch {
    return `no ${VMLINUX} to build vmlinux.h and the test archive from`;
  }
  return undefined;
}

/** CFLAGS for the sanitized builds of native/: AddressSanitizer (with LeakSanitizer) and UBSan, every finding fatal. */
export const SANITIZE_CFLAGS = '-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all';
/** The environment a sanitized binary runs in: leaks and UB fail it with exit code 86. */
export const SANITIZE_ENV = { ASAN_OPTIONS: 'detect_leaks=1:exitcode=86', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1:exitcode=86' };

const sanitizersWhy = new Map<string, string | null>();
/** Why sanitized builds with `cc` (default: the system's cc) cannot be made and run here (no libasan/libubsan, or for clang no libclang-rt), or undefined. */
export function sanitizersMissing(cc = 'cc'): string | undefined {
  const known = sanitizersWhy.get(cc);
  if (known !== undefined) return known ?? undefined;
  const why = probeSanitizers(cc);
  sanitizersWhy.set(cc, why ?? null);
  return why;
}

function probeSanitizers(cc: string): string | undefined {
  const c = cToolsMissing() ?? (onPath(cc) ? undefined : `missing ${cc}`);
  if (c) return c;
  const dir = mkdtempSync(join(tmpdir(), 'btfgen-san-'));
  try {
    const src = join(dir, 't.c');
    writeFileSync(src, 'int main(void) { return 0; }\n');
    const build = spawnSync(cc, [...SANITIZE_CFLAGS.split(' '), src, '-o', join(dir, 't')], { encoding: 'utf8' });
    if (build.status !== 0) return `${cc} cannot build with ${SANITIZE_CFLAGS}: ${build.stderr.trim().split('\n')[0]}`;
    const run = spawnSync(join(dir, 't'), [], { encoding: 'utf8', env: { ...process.env, ...SANITIZE_ENV } });
    if (run.status !== 0) return `a program sanitized by ${cc} does not run here: ${(run.stderr || String(run.status)).trim().split('\n')[0]}`;
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function make(args: string[]): void {
  execFileSync('make', ['-s', ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export interface Loaders {
  build: string;
  /** The compiled CO-RE object (for min_core_btf). */
  bpfObject: string;
  /** Loader binaries by variant name. */
  bin: Record<string, string>;
}

/** Builds native/example once, linked with each archive (`undefined`: nothing linked). */
export async function buildLoaders(build: string, variants: Record<string, string | undefined>): Promise<Loaders> {
  const bin: Record<string, string> = {};
  make(['-C', join(NATIVE, 'example'), `BUILD=${build}`, 'bpf']);
  for (const [name, archive] of Object.entries(variants)) {
    bin[name] = join(build, `execwatch-${name}`);
    make(['-C', join(NATIVE, 'example'), `BUILD=${build}`, `OUT=${bin[name]}`, `ARCHIVE=${archive ?? ''}`]);
  }
  return { build, bpfObject: join(build, 'execwatch.bpf.o'), bin };
}

/** This host's identity, as both runtimes see it. */
export async function thisHost(): Promise<HostIdentity> {
  return detectHost();
}

/**
 * The test archive: this kernel's BTF minimized for `bpfObject` by the reference tool
 * (`bpftool gen min_core_btf`), packed by test/helpers/tar.ts as `./btfhub-archive/<key>` (the layout of
 * `btfgen pack`) next to a decoy kernel. Returns the archive and the minimized BTF.
 */
export async function buildHostArchive(
  dir: string,
  bpfObject: string,
  host: HostIdentity,
  opts: { layout?: 'btfhub' | 'bcc'; gzip?: boolean; name?: string } = {},
): Promise<{ archive: string; btf: string; key: string }> {
  const key = `${host.id}/${host.versionId}/${host.machine}/${host.release}.btf`;
  const tree = join(dir, `${opts.name ?? 'archive'}-tree`);
  const top = opts.layout === 'bcc' ? tree : join(tree, 'btfhub-archive');
  const btf = join(top, key);
  await mkdir(dirname(btf), { recursive: true });
  execFileSync('bpftool', ['gen', 'min_core_btf', VMLINUX, btf, bpfObject], { stdio: 'pipe' });
  // A decoy: same distro, another release, other bytes.
  const decoy = join(top, host.id, host.versionId, host.machine, `0.0.0-decoy.btf`);
  await writeFile(decoy, 'decoy');
  const archive = join(dir, `${opts.name ?? 'archive'}.tar${opts.gzip === false ? '' : '.gz'}`);
  const entries = opts.layout === 'bcc' ? [`./${host.id}`] : ['./btfhub-archive'];
  writeTarFile(archive, tree, entries, { gzip: opts.gzip !== false });
  return { archive, btf, key };
}

/** An archive holding only kernels that are not this one. */
export async function buildForeignArchive(dir: string, bpfObject: string): Promise<string> {
  const other = await buildHostArchive(dir, bpfObject, { id: 'nosuchdistro', versionId: '1', machine: machine(), release: `${release()}-other` }, { name: 'foreign' });
  return other.archive;
}

/** Garbage named like an archive. */
export async function buildCorruptArchive(dir: string, from: string): Promise<string> {
  const bytes = await readFile(from);
  const corrupt = join(dir, 'corrupt.tar.gz');
  // Keep the gzip magic (so it is taken for gzip) and break the deflate stream after it.
  const broken = Buffer.concat([bytes.subarray(0, 10), Buffer.alloc(64, 0xff), bytes.subarray(74)]);
  await writeFile(corrupt, broken);
  return corrupt;
}

export async function copy(from: string, to: string): Promise<string> {
  await copyFile(from, to);
  return to;
}

/** BTF type id of a named struct, from `bpftool btf dump`. */
export function structId(btfFile: string, name: string): number | undefined {
  const dump = execFileSync('bpftool', ['btf', 'dump', 'file', btfFile], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const m = dump.match(new RegExp(`^\\[(\\d+)\\] STRUCT '${name}'`, 'm'));
  return m ? Number(m[1]) : undefined;
}
