// The one tar builder of the tests, and a small reader for checking outputs. Written from the
// POSIX ustar, GNU and pax formats directly, never with src/ (a test's expected archive must not
// come from the code under test). It writes what the readers must accept (ustar names with a
// prefix, GNU ././@LongLink names, pax path/size records) and what they must refuse: any raw
// header field, a base-256 size, GNU magic, links, wrong stored checksums, malformed pax bodies.
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const enc = new TextEncoder();

/** How a member's name is written: `raw` puts it in the 100-byte name field as it is (cut). */
export type NameStyle = 'raw' | 'ustar' | 'gnu' | 'pax';

/** The fields of one 512-byte header; every one may be set to a hostile value. */
export interface HeaderFields {
  name: string;
  /** Typeflag, default '0' (a regular file). */
  type?: string;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  /** The ustar prefix field (written as given, no split). */
  prefix?: string;
  /** 'ustar' (POSIX "ustar\0" "00", default) or 'gnu' ("ustar  \0"). */
  magic?: 'ustar' | 'gnu';
  uname?: string;
  gname?: string;
  /** The size as a GNU base-256 number (top bit of byte 124 set) instead of octal. */
  base256Size?: boolean;
  /** A checksum to store instead of the right one. */
  checksum?: number;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** One raw tar header. */
export function tarHeader(f: HeaderFields): Uint8Array {
  const h = new Uint8Array(512);
  const put = (text: string, at: number, max: number): void => h.set(enc.encode(text).subarray(0, max), at);
  put(f.name, 0, 100);
  put(octal(f.mode ?? 0o644, 8), 100, 8);
  put(octal(f.uid ?? 0, 8), 108, 8);
  put(octal(f.gid ?? 0, 8), 116, 8);
  if (f.base256Size) {
    h[124] = 0x80;
    let v = f.size ?? 0;
    for (let i = 135; i > 124; i--) {
      h[i] = v % 256;
      v = Math.floor(v / 256);
    }
  } else {
    put(octal(f.size ?? 0, 12), 124, 12);
  }
  put(octal(f.mtime ?? 0, 12), 136, 12);
  h[156] = (f.type ?? '0').charCodeAt(0);
  if (f.linkname) put(f.linkname, 157, 100);
  put(f.magic === 'gnu' ? 'ustar  \0' : 'ustar\0' + '00', 257, 8);
  if (f.uname) put(f.uname, 265, 32);
  if (f.gname) put(f.gname, 297, 32);
  if (f.prefix) put(f.prefix, 345, 155);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${(f.checksum ?? sum).toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

function padded(data: Uint8Array): Uint8Array[] {
  const pad = (512 - (data.length % 512)) % 512;
  return pad ? [data, new Uint8Array(pad)] : [data];
}

/** One member: its header fields (size comes from `data`), content and name style. */
export interface TarMember extends Omit<HeaderFields, 'size'> {
  data?: Uint8Array | string;
  /** Default 'ustar': a name over 100 bytes goes to prefix + name, else to a GNU longname. */
  style?: NameStyle;
}

/** A member's blocks: any longname/pax record, the header, the padded content. */
export function memberBlocks(m: TarMember): Uint8Array[] {
  const { data = new Uint8Array(0), style = 'ustar', ...fields } = m;
  const body = typeof data === 'string' ? enc.encode(data) : data;
  const header = (f: HeaderFields): Uint8Array[] => [tarHeader({ ...f, size: body.length }), ...padded(body)];
  const nameBytes = enc.encode(m.name);
  let s = style;
  if (s === 'ustar' && nameBytes.length > 100) {
    const slash = m.name.lastIndexOf('/', m.name.length - 2);
    const rest = m.name.length - slash - 1;
    if (slash > 0 && slash <= 155 && rest <= 100 && rest > 0) return header({ ...fields, name: m.name.slice(slash + 1), prefix: m.name.slice(0, slash) });
    s = 'gnu';
  }
  const parts: Uint8Array[] = [];
  if (s === 'gnu' && nameBytes.length > 0) {
    const long = new Uint8Array(nameBytes.length + 1);
    long.set(nameBytes);
    parts.push(tarHeader({ name: '././@LongLink', type: 'L', size: long.length }), ...padded(long));
  } else if (s === 'pax') {
    parts.push(...paxRecord({ path: m.name }));
  }
  parts.push(...header(fields));
  return parts;
}

/** `memberBlocks` for the common case: a name, its content (default empty), a typeflag and a name style. */
export function tarMember(name: string, data: Uint8Array | string = '', type = '0', style: NameStyle = 'ustar'): Uint8Array[] {
  return memberBlocks({ name, data, type, style });
}

/** A pax extended header (`x`, or `g` for a global one) with well-formed records. */
export function paxRecord(fields: Record<string, string>, type = 'x'): Uint8Array[] {
  let text = '';
  for (const [k, v] of Object.entries(fields)) text += paxLine(k, v);
  const body = enc.encode(text);
  return [tarHeader({ name: `PaxHeaders/${type}`, type, size: body.length }), ...padded(body)];
}

/** One pax record, `<len> key=value\n`, where len counts itself. */
export function paxLine(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  let len = rest.length + 1;
  while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
  return `${len}${rest}`;
}

/** A pax extended header ('x') with a raw body, records malformed as given. */
export function paxRaw(body: string): Uint8Array[] {
  const b = enc.encode(body);
  return [tarHeader({ name: 'PaxHeaders/x', type: 'x', size: b.length }), ...padded(b)];
}

/** The end-of-archive marker: two zero blocks. */
export const tarEnd = (): Uint8Array => new Uint8Array(1024);

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** A whole archive: the members in order, then the end marker (no validation: for hostile inputs). */
export function tarArchive(members: readonly TarMember[]): Buffer {
  const bytes = concat([...members.flatMap(memberBlocks), tarEnd()]);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Writes the files `paths` (relative to `cwd`, named as given, e.g. `./btfhub-archive`) as a tar
 * file, gzipped unless `gzip: false`, like `tar -c -C cwd PATHS`: a directory is a '5' entry
 * followed by its contents in name order.
 */
export function writeTarFile(file: string, cwd: string, paths: readonly string[], opts: { gzip?: boolean } = {}): void {
  const members: TarMember[] = [];
  const add = (name: string): void => {
    const full = join(cwd, name);
    if (lstatSync(full).isDirectory()) {
      members.push({ name: `${name.replace(/\/$/, '')}/`, type: '5', mode: 0o755 });
      for (const e of readdirSync(full).sort()) add(`${name.replace(/\/$/, '')}/${e}`);
    } else {
      members.push({ name, data: readFileSync(full) });
    }
  };
  for (const p of paths) add(p);
  const tar = tarArchive(members);
  writeFileSync(file, opts.gzip === false ? tar : gzip(tar));
}

export const gzip = (data: Uint8Array): Uint8Array => new Uint8Array(gzipSync(data));

/** `xz -c -T1 -6` (the xz tool, as btfhub-archive's files are made). */
export function xz(data: Uint8Array): Buffer {
  return execFileSync('xz', ['-c', '-T1', '-6'], { input: data, maxBuffer: 1 << 30 });
}

// ---- reader -----------------------------------------------------------------------------------

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

/** Reads the ustar archives the product writes (name field + prefix, no extensions). */
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
