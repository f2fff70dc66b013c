// The streaming tar reader: encodings, chunk boundaries, corrupt input.
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEMBER_MAX } from '../../src/runtime/archive.js';
import { CorruptArchiveError, extractMember, NoMatchingBtfError, TarReader, type TarEntry, type TarEvent } from '../../src/runtime/index.js';
import { concat, gzip, paxRecord, tarEnd, tarHeader, tarMember } from '../helpers/tar.js';
import { VARIANT_HOST, VARIANT_TARGET, VARIANT_TARGET_DATA } from './helpers.js';

interface Read {
  entries: (TarEntry & { data: string })[];
  ended: boolean;
}

function read(archive: Uint8Array, chunkSize = archive.length || 1): Read {
  const reader = new TarReader();
  const out: Read = { entries: [], ended: false };
  const dec = new TextDecoder();
  let parts: Uint8Array[] = [];
  const handle = (ev: TarEvent): void => {
    if (ev.kind === 'entry') {
      out.entries.push({ ...ev.entry, data: '' });
      parts = [];
    } else if (ev.kind === 'data') parts.push(ev.bytes.slice());
    else if (ev.kind === 'entry-end') out.entries[out.entries.length - 1]!.data = dec.decode(concat(parts));
    else out.ended = true;
  };
  for (let pos = 0; pos < archive.length || pos === 0; pos += chunkSize) {
    for (const ev of reader.push(archive.subarray(pos, pos + chunkSize))) handle(ev);
    if (archive.length === 0) break;
  }
  reader.finish();
  return out;
}

const sample = (): Uint8Array =>
  concat([
    ...tarMember('./btfhub-archive/', '', '5'),
    ...tarMember('./a/short.btf', 'short'),
    ...tarMember(`./${'p'.repeat(120)}/name.btf`, 'prefixed'),
    ...tarMember(`./${'g'.repeat(200)}.btf`, 'gnu-long', '0', 'gnu'),
    ...tarMember('./pax/named.btf', 'pax-named', '0', 'pax'),
    ...tarMember('./link', '', '2'),
    ...tarMember('./empty.btf', ''),
    tarEnd(),
  ]);

describe('TarReader', () => {
  it('reads names in every encoding, types, sizes and data', () => {
    const r = read(sample());
    expect(r.ended).toBe(true);
    expect(r.entries.map((e) => [e.name, e.type, e.data])).toEqual([
      ['./btfhub-archive/', 'directory', ''],
      ['./a/short.btf', 'file', 'short'],
      [`./${'p'.repeat(120)}/name.btf`, 'file', 'prefixed'],
      [`./${'g'.repeat(200)}.btf`, 'file', 'gnu-long'],
      ['./pax/named.btf', 'file', 'pax-named'],
      ['./link', 'symlink', ''],
      ['./empty.btf', 'file', ''],
    ]);
  });

  it('gives the same result whatever the chunk boundaries', () => {
    const whole = read(sample());
    for (const size of [1, 7, 511, 512, 513, 4096]) expect(read(sample(), size)).toEqual(whole);
  });

  it('takes the size from a pax record and from GNU base-256 fields', () => {
    const body = new TextEncoder().encode('0123456789');
    const a = concat([
      ...paxRecord({ size: '10', comment: 'ignored' }),
      tarHeader({ name: './pax-size.btf', type: '0', size: 0 }),
      body,
      new Uint8Array(512 - 10),
      tarHeader({ name: './base256.btf', type: '0', size: 10, base256Size: true }),
      body,
      new Uint8Array(512 - 10),
      tarEnd(),
    ]);
    expect(read(a).entries.map((e) => [e.name, e.size, e.data])).toEqual([
      ['./pax-size.btf', 10, '0123456789'],
      ['./base256.btf', 10, '0123456789'],
    ]);
  });

  it('ignores K (long link) and g (global pax) records', () => {
    const a = concat([
      tarHeader({ name: '././@LongLink', type: 'K', size: 6 }),
      new TextEncoder().encode('target'),
      new Uint8Array(506),
      ...paxRecord({ path: 'global/should-not-apply' }, 'g'),
      ...tarMember('./real.btf', 'x'),
      tarEnd(),
    ]);
    expect(read(a).entries.map((e) => e.name)).toEqual(['./real.btf']);
  });

  it('accepts an archive without the end-of-archive marker', () => {
    const r = read(concat(tarMember('./a.btf', 'a')));
    expect(r.ended).toBe(false);
    expect(r.entries).toHaveLength(1);
  });

  it('rejects bad checksums, truncation, empty input and oversized name records', () => {
    const bad = sample();
    bad[600] ^= 1;
    expect(() => read(bad)).toThrow(CorruptArchiveError);
    expect(() => read(sample().subarray(0, 1700))).toThrow(/truncated/);
    expect(() => read(sample().subarray(0, 1000))).toThrow(/truncated/);
    expect(() => read(new Uint8Array(0))).toThrow(/empty/);
    expect(() => read(concat([tarHeader({ name: '././@LongLink', type: 'L', size: 2 * 1024 * 1024 }), new Uint8Array(512)]))).toThrow(/oversized/);
    expect(() => read(new TextEncoder().encode('x'.repeat(512)))).toThrow(/not a tar archive/);
  });
});

// Issue 13.7 and 13.6: the rules both runtimes follow (btf_helpers.c has the same ones).
describe('hostile sizes and gzip framing (extractMember)', () => {
  const host = VARIANT_HOST;
  const target = (): Uint8Array[] => tarMember(VARIANT_TARGET, VARIANT_TARGET_DATA);
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'btfgen-tar-rules-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const extract = (archive: Uint8Array) => extractMember(archive, host, { tmpdir: dir });
  const leftovers = (): string[] => readdirSync(dir);

  it('a pax size above 2^53-1 makes the archive invalid (never the header size instead)', async () => {
    const body = new TextEncoder().encode('0123456789');
    const a = concat([...paxRecord({ size: '9007199254740993' }), tarHeader({ name: './x.btf', type: '0', size: 10 }), body, new Uint8Array(502), tarEnd()]);
    expect(() => read(a)).toThrow(/bad size/);
    const b = concat([...paxRecord({ size: '9007199254740993' }), tarHeader({ name: VARIANT_TARGET, type: '0', size: 10 }), body, new Uint8Array(502), tarEnd()]);
    await expect(extract(b)).rejects.toThrow(CorruptArchiveError);
    // 2^53-1 itself is a representable size: the archive is then truncated, also invalid
    const c = concat([...paxRecord({ size: '9007199254740991' }), tarHeader({ name: './x.btf', type: '0', size: 10 }), body, new Uint8Array(502), tarEnd()]);
    expect(() => read(c)).toThrow(/truncated/);
    expect(leftovers()).toEqual([]);
  });

  it('a member whose size runs past the end of the archive is never partly extracted', async () => {
    const a = concat([tarHeader({ name: VARIANT_TARGET, type: '0', size: 4096 }), new TextEncoder().encode('BTF'), new Uint8Array(509)]);
    await expect(extract(a)).rejects.toThrow(/truncated/);
    await expect(extract(gzip(a))).rejects.toThrow(/truncated/);
    expect(leftovers()).toEqual([]);
  });

  it('a further gzip member is decoded and concatenated (RFC 1952)', async () => {
    const tar = concat([...target(), tarEnd()]);
    const two = concat([gzip(tar.subarray(0, 700)), gzip(tar.subarray(700))]);
    const r = await extract(two);
    expect(readFileSync(r.path, 'utf8')).toBe(VARIANT_TARGET_DATA);
    rmSync(r.path);
  });

  // Read to the end (the host's exact key is not there: reading stops early only at it)
  const others = (): Uint8Array[] => tarMember('./btfhub-archive/debian/12/x86_64/6.1.0-other.btf', 'other');
  const gz = (): Uint8Array => gzip(concat([...others(), tarEnd()]));
  it('the archive read to its end without garbage: no match (ENOENT), not invalid', async () => {
    await expect(extract(gz())).rejects.toThrow(NoMatchingBtfError);
  });
  it.each([
    ['a lone 0x1f', [0x1f]],
    ['1f 8b followed by junk', [0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]],
    ['zeros', new Array(64).fill(0)],
    ['text', [...new TextEncoder().encode('junk')]],
  ])('bytes after the gzip trailer that are not a gzip member (%s) make the archive invalid', async (_, tail) => {
    const a = concat([gz(), new Uint8Array(tail)]);
    await expect(extract(a)).rejects.toThrow(CorruptArchiveError);
    await expect(extract(a)).rejects.toThrow(/trailing garbage|corrupt or truncated gzip/);
    expect(leftovers()).toEqual([]);
  });

  it('with the exact key, the gzip data after it is checked too: bytes, a file and a stream alike', async () => {
    const whole = gzip(concat([...target(), tarEnd()]));
    const ok = await extract(whole);
    expect(readFileSync(ok.path, 'utf8')).toBe(VARIANT_TARGET_DATA);
    rmSync(ok.path);
    const damaged = concat([whole, new Uint8Array(100)]);
    const file = join(mkdtempSync(join(tmpdir(), 'btfgen-tar-damaged-')), 'damaged.tar.gz'); // not in dir: leftovers() lists dir
    writeFileSync(file, damaged);
    await expect(extract(damaged)).rejects.toThrow(/trailing garbage after gzip data/);
    await expect(extractMember(file, host, { tmpdir: dir })).rejects.toThrow(/trailing garbage after gzip data/);
    await expect(extractMember(createReadStream(file), host, { tmpdir: dir })).rejects.toThrow(/trailing garbage after gzip data/);
    await expect(extract(concat([whole, new Uint8Array([0x1f])]))).rejects.toThrow(CorruptArchiveError);
    expect(leftovers()).toEqual([]);
  });

  it('zeros after the trailer are named trailing garbage', async () => {
    await expect(extract(concat([gz(), new Uint8Array(512)]))).rejects.toThrow(/trailing garbage after gzip data/);
  });

  it('a BTF member above 128 MiB is refused before anything is written (a bomb)', async () => {
    const a = gzip(concat([tarHeader({ name: VARIANT_TARGET, type: '0', size: MEMBER_MAX + 1 }), new Uint8Array(4096)]));
    await expect(extract(a)).rejects.toThrow(/BTF member .* expands beyond 128 MiB: not a kernel BTF/);
    expect(leftovers()).toEqual([]);
  });
});
