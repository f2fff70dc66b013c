// Helpers for the pack suites: temp archives built from ../shared/data kernels and committed
// fixtures, the fixture objects the manifest says suit archive kernels, and file listings.
// Tar archives are built and read with test/helpers/tar.ts.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { BPF_FIXTURES_DIR, BPF_MANIFEST } from '../helpers/env.js';

const temps: string[] = [];
export function tempDir(prefix = 'btfgen-pack-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}
export function cleanupTemps(): void {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
}

interface ManifestObject {
  name: string;
  file: string;
  group?: string;
  expect?: string;
  targets?: string[];
  loadable?: boolean;
  archiveExceptions?: unknown[];
}

/**
 * The fixture corpus's realistic tracing objects that bpftool minimizes for every archive kernel
 * (test/fixtures/bpf/manifest.json: group realistic, expect ok on "archive", no exceptions),
 * examples/prog.bpf.o excluded (tests add it explicitly).
 */
export function traceObjects(): string[] {
  const m = JSON.parse(readFileSync(BPF_MANIFEST, 'utf8')) as { objects: ManifestObject[] };
  return m.objects
    .filter((o) => o.group === 'realistic' && o.expect === 'ok' && o.targets?.includes('archive') && !o.archiveExceptions?.length)
    .map((o) => join(BPF_FIXTURES_DIR, o.file))
    .filter((f) => f.startsWith(BPF_FIXTURES_DIR + '/') && existsSync(f))
    .sort();
}

/** Objects the manifest says bpftool rejects on some archive kernels, with the release pattern. */
export function archiveFailingObjects(): { file: string; release: RegExp; error: string }[] {
  const m = JSON.parse(readFileSync(BPF_MANIFEST, 'utf8')) as { objects: (ManifestObject & { archiveExceptions?: { release: string; expect: string; expectError?: string }[] })[] };
  const out: { file: string; release: RegExp; error: string }[] = [];
  for (const o of m.objects) {
    for (const e of o.archiveExceptions ?? []) {
      if (e.expect === 'fail') out.push({ file: join(BPF_FIXTURES_DIR, o.file), release: new RegExp(e.release), error: e.expectError ?? '' });
    }
  }
  return out;
}

export type ArchiveFile =
  | { rel: string; copy: string }
  | { rel: string; data: Uint8Array | string }
  | { rel: string; symlink: string };

/** Creates files under `root` (parents made as needed). */
export function buildArchive(root: string, files: readonly ArchiveFile[]): string {
  for (const f of files) {
    const p = join(root, f.rel);
    mkdirSync(dirname(p), { recursive: true });
    if ('copy' in f) copyFileSync(f.copy, p);
    else if ('data' in f) writeFileSync(p, f.data);
    else symlinkSync(f.symlink, p);
  }
  return root;
}

/** Every file below `dir` (relative paths), for "nothing left behind" checks. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

/** The raw .BTF section of an ELF fixture (a "kernel" made from a committed target object). */
export async function rawBtfOfElf(elfPath: string): Promise<Uint8Array> {
  const { loadBtf } = await import('../../src/btf/index.js');
  const loaded = loadBtf(new Uint8Array(readFileSync(elfPath)));
  return loaded.btf.raw.slice();
}
