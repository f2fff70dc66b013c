// xzDecodedSize (src/archive/xz.ts): what an .xz file decodes to, counted from its LZMA2 chunk
// headers without decoding. The expected sizes are those of the system's `xz -dc`, over the
// container's variants (check types, filters, several blocks, several streams, padding,
// incompressible data) and every real kernel of the shared data; then mutated files (never a
// throw or a hang), and the bomb whose index lies, refused before @napi-rs/lzma decodes it.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { xzDecodedSize, xzUncompressedSize } from '../../src/archive/xz.js';
import { extractKernelBtf } from '../../src/pack/decompress.js';
import { unpackKernelBtf } from '../../src/minimize/input.js';
import { data, missing } from '../helpers/env.js';

const xzWith = (input: Uint8Array, ...args: string[]): Buffer => execFileSync('xz', ['-c', '-T1', ...args], { input, maxBuffer: 1 << 30 });
/** The reference: how many bytes the system's xz decodes the file to (undefined: it fails). */
function xzDc(file: Uint8Array): number | undefined {
  const r = spawnSync('xz', ['-dc'], { input: file, maxBuffer: 1 << 30 });
  return r.status === 0 ? r.stdout.length : undefined;
}
/** Compressible bytes that look a little like BTF (a repeating record with a counter). */
function records(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = i % 16 < 4 ? (i >> 4) & 0xff : i % 7;
  return b;
}

describe('xzDecodedSize', () => {
  const text = records(3 << 20);
  const noise = new Uint8Array(randomBytes(300_000)); // incompressible: LZMA2 stores it in uncompressed chunks
  const variants: Record<string, Buffer> = {
    default: xzWith(text),
    'check none': xzWith(text, '--check=none'),
    'check crc32': xzWith(text, '--check=crc32'),
    'check sha256': xzWith(text, '--check=sha256'),
    'x86 filter before lzma2': xzWith(text, '--x86', '--lzma2=preset=6'),
    'delta filter before lzma2': xzWith(text, '--delta=dist=4', '--lzma2=preset=1'),
    'blocks of 64 KiB': xzWith(text, '--block-size=65536'),
    'blocks of 1 MiB, sizes in their headers (threaded)': execFileSync('xz', ['-c', '-T2', '--block-size=1MiB'], { input: text, maxBuffer: 1 << 30 }),
    incompressible: xzWith(noise),
    'incompressible, level 0': xzWith(noise, '-0'),
    empty: xzWith(new Uint8Array(0)),
    'two streams': Buffer.concat([xzWith(text), xzWith(noise)]),
    'stream padding after a stream': Buffer.concat([xzWith(text), Buffer.alloc(8), xzWith(noise), Buffer.alloc(4)]),
  };

  it.each(Object.keys(variants))('counts what `xz -dc` decodes: %s', (name) => {
    const file = variants[name]!;
    const expected = xzDc(file);
    expect(expected).toBeDefined();
    expect(xzDecodedSize(file)).toBe(expected);
  });

  const noDemo = missing(data.demoArchive);
  it.skipIf(!!noDemo)(`counts what \`xz -dc\` decodes for every kernel of the demo archive${noDemo ? ` (skipped: ${noDemo})` : ''}`, () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory() && e.name !== '.git') walk(join(d, e.name));
        else if (e.name.endsWith('.btf.tar.xz')) files.push(join(d, e.name));
      }
    };
    walk(data.demoArchive.path);
    expect(files.length).toBeGreaterThan(80);
    for (const f of files) {
      const file = new Uint8Array(readFileSync(f));
      expect(xzDecodedSize(file), f).toBe(xzDc(file));
    }
  }, 120_000);

  it('stops counting past the limit it is given', () => {
    const file = variants['blocks of 64 KiB']!;
    const n = xzDecodedSize(file, 100_000);
    expect(n).toBeGreaterThan(100_000);
    expect(n).toBeLessThan(text.length);
  });

  it('is undefined for what is not a whole .xz file, and never throws on damaged ones', () => {
    const file = variants['two streams']!;
    for (const cut of [0, 6, 12, 13, file.length >> 1, file.length - 13, file.length - 1]) expect(xzDecodedSize(file.subarray(0, cut)), `cut at ${cut}`).toBeUndefined();
    expect(xzDecodedSize(Buffer.concat([file, Buffer.from('trailing')]))).toBeUndefined();
    // every byte of the headers and a sample of the rest, each set to a few values
    const blocks = variants['blocks of 64 KiB']!;
    for (let i = 0; i < blocks.length; i += i < 64 || i > blocks.length - 256 ? 1 : 997) {
      for (const v of [0x00, 0x01, 0x02, 0x7f, 0x80, 0xc0, 0xff, blocks[i]! ^ 0x10]) {
        const m = Buffer.from(blocks);
        m[i] = v;
        const n = xzDecodedSize(m);
        expect(n === undefined || Number.isSafeInteger(n)).toBe(true);
      }
    }
    // damaged data that xz still decodes (stored chunks, no check to fail): the count is its size
    const unchecked = xzWith(noise, '--check=none');
    let agreed = 0;
    for (let i = 40; i < unchecked.length - 64; i += 211) {
      const m = Buffer.from(unchecked);
      m[i] ^= 0x01;
      const ref = xzDc(m);
      if (ref === undefined) continue;
      expect(xzDecodedSize(m), `byte ${i}`).toBe(ref);
      agreed++;
    }
    expect(agreed).toBeGreaterThan(0);
  }, 120_000);
});

// A bomb whose (last) index understates what it decodes to: @napi-rs/lzma has no output limit,
// so the bomb must be refused before it decodes (it used to be refused only after, 300 MB later).
describe('a bomb whose index lies, without the xz command', () => {
  const bomb = execFileSync('sh', ['-c', 'head -c 300M /dev/zero | xz -c -T1 -0'], { maxBuffer: 1 << 30 });
  const liar = Buffer.concat([bomb, xzWith(records(1000))]);

  it('is refused from its chunk headers, before anything is decoded', async () => {
    expect(xzUncompressedSize(liar.subarray(liar.length - 4096))).toBeLessThan(10_000); // the lie
    expect(xzDecodedSize(liar, 1 << 30)).toBe(300 * 2 ** 20 + 1000);
    const peak = process.resourceUsage().maxRSS;
    await expect(extractKernelBtf(liar, 'lzma', { label: 'liar.btf.tar.xz' })).rejects.toThrow(/liar\.btf\.tar\.xz: BTF member liar\.btf expands beyond 128 MiB: not a kernel BTF/);
    await expect(unpackKernelBtf(liar, 'liar.btf.tar.xz')).rejects.toThrow(/expands beyond 128 MiB/);
    // decoding it would have taken 300 MB more (maxRSS is in KiB)
    expect(process.resourceUsage().maxRSS - peak).toBeLessThan(100 * 1024);
  }, 60_000);

  it('a file whose blocks are not well formed is refused without the xz command too', async () => {
    const bad = Buffer.from(xzWith(records(100_000)));
    bad[12 + 12] = 0x40; // the first LZMA2 chunk's control byte (after the 12-byte block header): reserved
    expect(xzDecodedSize(bad)).toBeUndefined();
    await expect(extractKernelBtf(bad, 'lzma', { label: 'bad' })).rejects.toThrow(/bad: xz: the file's blocks are not well formed/);
  });
});
