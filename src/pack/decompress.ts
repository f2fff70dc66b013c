// Reading a kernel's BTF out of its archive file, in memory: `.btf` as is, `.btf.tar.xz` through
// an xz decompressor and the in-memory tar reader (tar-read.ts). Nothing is unpacked to disk.
//
// Two decompressors, measured on btfhub-archive-demo (see docs/readme/pack.md): the `xz`
// command (liblzma, run through execa) decodes a 44 MB kernel in ~0.26 s; @napi-rs/lzma
// (lzma-rs, pure Rust, in process) in ~0.50 s. `xz` is the default; @napi-rs/lzma is the
// fallback when `xz` is not installed, or on request (`--decompressor lzma`).
import { ArchiveError } from '../errors.js';
import { DEFAULT_MAX_MEMBER, readKernelTar, type TarReadOptions } from './tar-read.js';

export type Decompressor = 'xz' | 'lzma';
export type DecompressorChoice = Decompressor | 'auto';

let xzAvailable: Promise<boolean> | undefined;

/** True when an `xz` command runs (checked once per process). */
export function hasXzCommand(): Promise<boolean> {
  xzAvailable ??= loadExeca()
    .then(({ execa }) => execa('xz', ['--version'], { reject: false, timeout: 10_000 }))
    .then(
      (r) => r.exitCode === 0 && !r.failed,
      () => false,
    );
  return xzAvailable;
}

// execa is loaded on first use: a warm pack (every kernel cached) never spawns anything.
type ExecaModule = typeof import('execa');
let execaModule: Promise<ExecaModule> | undefined;
function loadExeca(): Promise<ExecaModule> {
  execaModule ??= import('execa');
  return execaModule;
}

/** Resolves `auto`: the `xz` command when it runs, else @napi-rs/lzma. */
export async function resolveDecompressor(choice: DecompressorChoice = 'auto'): Promise<Decompressor> {
  if (choice === 'lzma') return 'lzma';
  const ok = await hasXzCommand();
  if (choice === 'xz' && !ok) throw new ArchiveError("the 'xz' command was requested but does not run (install xz-utils)");
  return ok ? 'xz' : 'lzma';
}

type LzmaModule = { xz: { decompress(input: Uint8Array): Promise<Uint8Array> } };
let lzmaModule: Promise<LzmaModule> | undefined;
function loadLzma(): Promise<LzmaModule> {
  lzmaModule ??= import('@napi-rs/lzma') as Promise<LzmaModule>;
  return lzmaModule;
}

function xzMessage(stderr: unknown): string {
  const s = typeof stderr === 'string' ? stderr : stderr instanceof Uint8Array ? Buffer.from(stderr).toString() : '';
  // "xz: (stdin): Compressed data is corrupt" -> "Compressed data is corrupt"
  const line = s.trim().split('\n').pop() ?? '';
  return line.replace(/^xz: \(stdin\): /, '').replace(/^xz: /, '') || 'xz failed';
}

/** True for the magic of an .xz stream. */
export function isXz(bytes: Uint8Array): boolean {
  return bytes.length >= 6 && bytes[0] === 0xfd && bytes[1] === 0x37 && bytes[2] === 0x7a && bytes[3] === 0x58 && bytes[4] === 0x5a && bytes[5] === 0;
}

/**
 * The kernel BTF inside a `.btf.tar.xz` file's bytes. `label` (the file's path) prefixes errors.
 * Throws ArchiveError for anything wrong with the archive itself.
 */
export async function extractKernelBtf(
  compressed: Uint8Array,
  decompressor: Decompressor,
  options: TarReadOptions & { label: string },
): Promise<{ btf: Uint8Array; member: string }> {
  if (!isXz(compressed)) throw new ArchiveError(`${options.label}: not an xz file`);
  const limit = (options.maxMemberSize ?? DEFAULT_MAX_MEMBER) + (16 << 20);
  // The index's size is checked first (cheap); the decompressors enforce the limit as well,
  // since an index can lie (@napi-rs/lzma notices only after decoding).
  const declared = xzUncompressedSize(compressed.subarray(Math.max(0, compressed.length - 4096)));
  if (declared !== undefined && declared > limit) {
    throw new ArchiveError(`${options.label}: decompressed tar is larger than the ${options.maxMemberSize ?? DEFAULT_MAX_MEMBER}-byte limit (${declared} bytes)`);
  }
  if (decompressor === 'xz') {
    // One blocking `xz -dc` per kernel (the caller is a worker thread with nothing else to do):
    // node collects the output in C++ and the member is a view of it. Measured against
    // streaming the output through the tar reader chunk by chunk: 11% less CPU in total.
    const { execaSync } = await loadExeca();
    const r = execaSync('xz', ['-dc'], {
      input: compressed,
      encoding: 'buffer',
      maxBuffer: limit,
      reject: false,
      stripFinalNewline: false,
    });
    if (r.failed) {
      if (r.isMaxBuffer) throw new ArchiveError(`${options.label}: decompressed tar is larger than the ${options.maxMemberSize ?? DEFAULT_MAX_MEMBER}-byte limit`);
      if (r.exitCode === undefined) throw new Error(`${options.label}: could not run xz: ${r.shortMessage}`);
      throw new ArchiveError(`${options.label}: xz: ${xzMessage(r.stderr)}`);
    }
    const m = readKernelTar(r.stdout as Uint8Array, options);
    return { btf: m.data, member: m.name };
  }
  const { xz } = await loadLzma();
  let tar: Uint8Array;
  try {
    tar = await xz.decompress(compressed);
  } catch (err) {
    throw new ArchiveError(`${options.label}: xz: ${(err as Error).message}`);
  }
  const m = readKernelTar(tar, options);
  return { btf: m.data, member: m.name };
}

function readVarint(b: Uint8Array, pos: { i: number }): number {
  let v = 0;
  let mul = 1;
  for (let n = 0; n < 9; n++) {
    if (pos.i >= b.length) return -1;
    const x = b[pos.i++]!;
    v += (x & 0x7f) * mul;
    if (!(x & 0x80)) return v;
    mul *= 128;
  }
  return -1;
}

/**
 * The uncompressed size recorded in an .xz file's index (last stream only), from the file's
 * tail (its last 1 KiB suffice for single-block files); undefined when it cannot be read.
 * Only a scheduling hint (which kernels are heavy): nothing trusts it for decoding.
 */
export function xzUncompressedSize(tail: Uint8Array): number | undefined {
  const n = tail.length;
  if (n < 12 + 8 || tail[n - 2] !== 0x59 || tail[n - 1] !== 0x5a) return undefined; // "YZ"
  const dv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  const indexSize = (dv.getUint32(n - 8, true) + 1) * 4;
  const start = n - 12 - indexSize;
  if (start < 0) return undefined;
  const idx = tail.subarray(start, n - 12);
  if (idx[0] !== 0) return undefined;
  const pos = { i: 1 };
  const records = readVarint(idx, pos);
  if (records < 0 || records > 100_000) return undefined;
  let total = 0;
  for (let r = 0; r < records; r++) {
    const unpadded = readVarint(idx, pos);
    const size = readVarint(idx, pos);
    if (unpadded < 0 || size < 0) return undefined;
    total += size;
  }
  return total;
}
