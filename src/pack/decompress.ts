// Reading a kernel's BTF out of its archive file, in memory: `.btf` as is, `.btf.tar.xz` through
// an xz decompressor and the in-memory tar reader (tar-read.ts). Nothing is unpacked to disk.
//
// Two decompressors, measured on the 85 kernels of btfhub-archive-demo (539 MB out, one core,
// see docs/readme/pack.md): the `xz` command (liblzma, spawned through execa, output streamed
// into the tar reader) took 9.0-9.6 s; @napi-rs/lzma's `xz.decompress` (in process) 9.7-10.7 s
// and needs the whole tar image in memory at once. `xz` is the default; @napi-rs/lzma is the
// fallback when `xz` is not installed, or on request.
import { ArchiveError } from '../errors.js';
import { KernelTarReader, readKernelTar, type TarReadOptions } from './tar-read.js';

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

/** Streams `xz -dc` output of `compressed` into the tar reader. */
async function viaXzCommand(compressed: Uint8Array, reader: KernelTarReader, label: string): Promise<void> {
  const { execa } = await loadExeca();
  const sub = execa('xz', ['-dc'], {
    input: compressed,
    buffer: { stdout: false, stderr: true },
    encoding: 'buffer',
    reject: false,
    stripFinalNewline: false,
  });
  let readerError: unknown;
  try {
    for await (const chunk of sub.stdout as AsyncIterable<Uint8Array>) {
      reader.push(chunk);
    }
  } catch (err) {
    readerError = err;
    sub.kill();
  }
  const result = await sub;
  if (readerError) throw readerError;
  if (result.failed) {
    if (result.exitCode === undefined) {
      throw new Error(`${label}: could not run xz: ${result.shortMessage}`);
    }
    throw new ArchiveError(`${label}: xz: ${xzMessage(result.stderr)}`);
  }
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
  if (decompressor === 'xz') {
    const reader = new KernelTarReader(options);
    await viaXzCommand(compressed, reader, options.label);
    const m = reader.finish();
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
