// Helpers for the pack suites: temp archives built from ../shared/data kernels and committed
// fixtures, hand-made (hostile) inner tars, an independent tar.gz reader, and a guard that the
// built dist/ (which the worker threads run) is not older than the sources.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BPF_FIXTURES_DIR, BPF_MANIFEST, REPO_ROOT } from '../helpers/data.js';

export const DIST = join(REPO_ROOT, 'dist');

/** Throws when a source the workers depend on is newer than its dist/ build. */
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

/** One raw tar header, written independently of src/pack/tar-write.ts. */
export function rawTarHeader(h: { name: string; size?: number; type?: string; linkname?: string; prefix?: string; magic?: 'ustar' | 'gnu' }): Buffer {
  const b = Buffer.alloc(512);
  b.write(h.name, 0, 100, 'utf8');
  b.write('0000644\0', 100, 'latin1');
  b.write('0001750\0', 108, 'latin1');
  b.write('0001750\0', 116, 'latin1');
  b.write(`${(h.size ?? 0).toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  b.write(`${(1628864280).toString(8).padStart(11, '0')}\0`, 136, 'latin1');
  b.write(h.type ?? '0', 156, 'latin1');
  if (h.linkname) b.write(h.linkname, 157, 100, 'utf8');
  if (h.magic === 'gnu') b.write('ustar  \0', 257, 'latin1');
  else {
    b.write('ustar\0', 257, 'latin1');
    b.write('00', 263, 'latin1');
  }
  b.write('someone', 265, 'latin1');
  b.write('somegroup', 297, 'latin1');
  if (h.prefix) b.write(h.prefix, 345, 155, 'utf8');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

export interface RawMember {
  name: string;
  data?: Uint8Array;
  type?: string;
  linkname?: string;
  prefix?: string;
  magic?: 'ustar' | 'gnu';
}

/** A tar image from raw members (no validation: for hostile inputs). */
export function rawTar(members: readonly RawMember[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const data = Buffer.from(m.data ?? new Uint8Array(0));
    parts.push(rawTarHeader({ ...m, size: data.length }));
    parts.push(data);
    parts.push(Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export function xz(data: Uint8Array): Buffer {
  return execFileSync('xz', ['-c', '-T1', '-6'], { input: data, maxBuffer: 1 << 30 });
}

export interface TarEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  uname: string;
  gname: string;
  data: Buffer;
}

/** Independent ustar reader for the outputs (name field + prefix, regular files). */
export function readTar(tar: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  const str = (o: number, n: number): string => {
    const s = tar.subarray(o, o + n);
    const z = s.indexOf(0);
    return s.subarray(0, z < 0 ? n : z).toString('utf8');
  };
  while (off + 512 <= tar.length) {
    if (tar.subarray(off, off + 512).every((x) => x === 0)) break;
    const size = parseInt(str(off + 124, 12), 8);
    const prefix = str(off + 345, 155);
    const name = str(off, 100);
    out.push({
      name: prefix ? `${prefix}/${name}` : name,
      type: String.fromCharCode(tar[off + 156]!),
      mode: parseInt(str(off + 100, 8), 8),
      uid: parseInt(str(off + 108, 8), 8),
      gid: parseInt(str(off + 116, 8), 8),
      mtime: parseInt(str(off + 136, 12), 8),
      uname: str(off + 265, 32),
      gname: str(off + 297, 32),
      data: Buffer.from(tar.subarray(off + 512, off + 512 + size)),
    });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

export function readTarGz(file: string): TarEntry[] {
  return readTar(gunzipSync(readFileSync(file)));
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
