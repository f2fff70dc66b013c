// Kernel BTF inputs as btfhub archives ship them: raw BTF or ELF as is, `.btf.xz`, and
// `.btf.tar.xz` (one `<release>.btf` member, sometimes under a path prefix). Pure: bytes in,
// bytes out; xz decoding uses @napi-rs/lzma, loaded only when an xz input shows up.
import { isXz, KERNEL_BTF_MAX, TAR_SLACK, xzDecodedSize } from '../archive/xz.js';
import { BLOCK, cString, decodeHeader, isZeroBlock, looksLikeTar, parsePax } from '../tar/header.js';
import { BtfError } from '../errors.js';
import { importExternal } from '../external.js';

export { isXz };

function bomb(member: string, name: string): BtfError {
  return new BtfError(`BTF member ${member} expands beyond ${KERNEL_BTF_MAX >> 20} MiB: not a kernel BTF`, name);
}

/** A POSIX/GNU tar archive: "ustar" magic at 257 and a valid header checksum. */
export const isTar = looksLikeTar;

export interface TarMember {
  name: string;
  type: string;
  data: Uint8Array;
}

/** Reads the members of an uncompressed tar held in memory (ustar, pax and GNU long names). */
export function readTar(b: Uint8Array): TarMember[] {
  const out: TarMember[] = [];
  let p = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (p + BLOCK <= b.length) {
    const h = b.subarray(p, p + BLOCK);
    if (isZeroBlock(h)) break;
    const raw = decodeHeader(h);
    if (!raw) throw new BtfError(`tar: bad header checksum or size field at offset ${p}`);
    const { size } = raw;
    const type = raw.typeflag === '\0' ? '0' : raw.typeflag;
    const dataStart = p + BLOCK;
    if (dataStart + size > b.length) throw new BtfError(`tar: member at offset ${p} runs past the end of the archive`);
    const data = b.subarray(dataStart, dataStart + size);
    p = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = cString(data, 0, data.length);
      continue;
    }
    if (type === 'x') {
      paxPath = parsePax(data).path ?? paxPath;
      continue;
    }
    if (type === 'g' || type === 'K') continue;
    let name = raw.name;
    if (longName !== undefined) name = longName;
    if (paxPath !== undefined) name = paxPath;
    longName = paxPath = undefined;
    out.push({ name, type, data });
  }
  return out;
}

/**
 * The kernel BTF inside a btfhub `.btf.tar.xz` (or `.btf.xz`, or a plain tar); other bytes are
 * returned unchanged. The tar must hold exactly one regular `.btf` member (or one regular file);
 * links and members whose path is absolute or contains `..` are rejected.
 */
export async function unpackKernelBtf(bytes: Uint8Array, name = 'input'): Promise<Uint8Array> {
  let b = bytes;
  const member = name.slice(name.lastIndexOf('/') + 1).replace(/\.tar\.xz$|\.xz$/, '');
  if (isXz(b)) {
    // A bomb is refused before a byte is decoded (@napi-rs/lzma has no output limit): the LZMA2
    // chunk headers say what the file decodes to, which the index could lie about.
    const limit = KERNEL_BTF_MAX + TAR_SLACK;
    const decoded = xzDecodedSize(b, limit);
    if (decoded === undefined) throw new BtfError('cannot decompress xz data: its blocks are not well formed', name);
    if (decoded > limit) throw bomb(member, name);
    const { xz } = await importExternal<typeof import('@napi-rs/lzma')>('@napi-rs/lzma');
    try {
      const d = xz.decompressSync(b);
      b = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    } catch (e) {
      throw new BtfError(`cannot decompress xz data: ${(e as Error).message}`, name);
    }
    if (b.length > limit) throw bomb(member, name);
  }
  if (!isTar(b)) {
    // a bare .btf.xz; a file given as is (an ELF vmlinux may be larger) is not capped
    if (b !== bytes && b.length > KERNEL_BTF_MAX) throw bomb(member, name);
    return b;
  }
  const members = readTar(b);
  for (const m of members) if (m.data.length > KERNEL_BTF_MAX) throw bomb(m.name, name);
  for (const m of members) {
    if (m.type === '1' || m.type === '2') throw new BtfError(`tar member '${m.name}' is a link; refusing it`, name);
    const parts = m.name.split('/');
    if (m.name.startsWith('/') || parts.includes('..')) throw new BtfError(`tar member '${m.name}' has an unsafe path; refusing it`, name);
  }
  const files = members.filter((m) => m.type === '0' || m.type === '7');
  const btfs = files.filter((m) => m.name.endsWith('.btf'));
  const pick = btfs.length === 1 ? btfs[0] : files.length === 1 ? files[0] : undefined;
  if (!pick) {
    throw new BtfError(
      files.length === 0
        ? 'tar archive holds no regular file'
        : `tar archive holds ${files.length} files (${files.map((f) => f.name).slice(0, 4).join(', ')}); expected one .btf`,
      name,
    );
  }
  return pick.data;
}
