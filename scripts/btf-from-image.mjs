#!/usr/bin/env node
// Extract the vmlinux BTF blob from a kernel image file:
//
//   node scripts/btf-from-image.mjs IMAGE OUT.btf
//
// IMAGE may be
//   - an ELF vmlinux: the .BTF section is written out;
//   - a raw kernel image (arm64 "Image", s390x vmlinux.bin...): the BTF blob is
//     found by scanning for its header (magic 0xEB9F in either byte order,
//     version 1, hdr_len 24/32, type_off 0, str_off >= type_len, NUL-framed
//     strings) and cut out using the header lengths; the largest valid blob wins;
//   - a compressed kernel (x86 bzImage, arm64 vmlinuz = gzip'd Image, s390x
//     vmlinuz...): every embedded gzip/zstd/xz/lz4/bzip2/lzma stream is
//     decompressed (external gzip/zstd/xz/lz4/bzip2 tools, the kernel's
//     scripts/extract-vmlinux approach) and the result is handled as above.
// Prints "<OUT> <endianness> <size> <source>" on success; exit 1 if no BTF found.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { elfSections } from '../test/helpers/core-relos.mjs';

const [image, out] = process.argv.slice(2);
if (!image || !out) {
  console.error('usage: btf-from-image.mjs IMAGE OUT.btf');
  process.exit(2);
}

const MAX_OUT = 1 << 30;

function isElf(b) {
  return b.length > 64 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
}

function btfFromElf(b) {
  try {
    const { sections } = elfSections(b);
    const s = sections.get('.BTF');
    if (s && s.data.length > 24) return Buffer.from(s.data);
  } catch {
    /* not a usable ELF */
  }
  return null;
}

// Scan a raw image for a BTF header; return the largest valid blob.
function btfFromRaw(b) {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let best = null;
  for (const le of [true, false]) {
    const magic = le ? Buffer.from([0x9f, 0xeb, 0x01, 0x00]) : Buffer.from([0xeb, 0x9f, 0x01, 0x00]);
    let pos = buf.indexOf(magic);
    while (pos >= 0 && pos + 32 <= buf.length) {
      const u32 = (o) => (le ? buf.readUInt32LE(pos + o) : buf.readUInt32BE(pos + o));
      const hdrLen = u32(4);
      const typeOff = u32(8);
      const typeLen = u32(12);
      const strOff = u32(16);
      const strLen = u32(20);
      if ((hdrLen === 24 || hdrLen === 32) && typeOff === 0 && typeLen >= 1024 && strOff >= typeLen &&
          strLen > 0 && typeLen % 4 === 0) {
        const total = hdrLen + strOff + strLen;
        const strStart = pos + hdrLen + strOff;
        if (pos + total <= buf.length && buf[strStart] === 0 && buf[pos + total - 1] === 0) {
          if (!best || total > best.length) best = { start: pos, length: total, le };
        }
      }
      pos = buf.indexOf(magic, pos + 1);
    }
  }
  return best ? Buffer.from(buf.subarray(best.start, best.start + best.length)) : null;
}

function btfFrom(b) {
  return isElf(b) ? btfFromElf(b) : btfFromRaw(b);
}

// Compressed stream magics, as in the kernel's scripts/extract-vmlinux.
const STREAMS = [
  { name: 'gzip', magic: [0x1f, 0x8b, 0x08], cmd: ['gzip', '-dc'] },
  { name: 'zstd', magic: [0x28, 0xb5, 0x2f, 0xfd], cmd: ['zstd', '-dcq'] },
  { name: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], cmd: ['xz', '-dcq'] },
  { name: 'lz4', magic: [0x02, 0x21, 0x4c, 0x18], cmd: ['lz4', '-dcq'] },
  { name: 'bzip2', magic: [0x42, 0x5a, 0x68], cmd: ['bzip2', '-dcq'] },
  { name: 'lzma', magic: [0x5d, 0x00, 0x00, 0x00], cmd: ['xz', '--format=lzma', '-dcq'] },
];

function* decompressedCandidates(buf) {
  for (const s of STREAMS) {
    const magic = Buffer.from(s.magic);
    let pos = buf.indexOf(magic);
    let tries = 0;
    while (pos >= 0 && tries < 8) {
      tries++;
      const r = spawnSync(s.cmd[0], s.cmd.slice(1), { input: buf.subarray(pos), maxBuffer: MAX_OUT });
      // trailing data after the stream makes most tools exit non-zero: judge by the output
      if (!r.error && r.stdout && r.stdout.length > 1 << 20) {
        yield { data: r.stdout, source: `${s.name}@${pos}` };
      }
      pos = buf.indexOf(magic, pos + 1);
    }
  }
}

const input = readFileSync(image);
let btf = btfFrom(input);
let source = isElf(input) ? 'elf' : 'raw';
if (!btf) {
  for (const c of decompressedCandidates(input)) {
    btf = btfFrom(c.data);
    if (btf) {
      source = `${c.source}:${isElf(c.data) ? 'elf' : 'raw'}`;
      break;
    }
  }
}
if (!btf) {
  console.error(`btf-from-image: no BTF found in ${image}`);
  process.exit(1);
}
writeFileSync(out, btf);
const endian = btf[0] === 0x9f ? 'little-endian' : 'big-endian';
console.log(`${out} ${endian} ${btf.length} ${source}`);
