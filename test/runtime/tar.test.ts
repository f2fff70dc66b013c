// The streaming tar reader: encodings, chunk boundaries, corrupt input.
import { describe, expect, it } from 'vitest';
import { CorruptArchiveError, TarReader, type TarEntry, type TarEvent } from '../../src/runtime/index.js';
import { concat, paxRecord, tarEnd, tarHeader, tarMember } from './helpers.js';

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
      tarHeader('./pax-size.btf', '0', 0),
      body,
      new Uint8Array(512 - 10),
      tarHeader('./base256.btf', '0', 10, '', { base256Size: true }),
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
      tarHeader('././@LongLink', 'K', 6),
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
    expect(() => read(concat([tarHeader('././@LongLink', 'L', 2 * 1024 * 1024), new Uint8Array(512)]))).toThrow(/oversized/);
    expect(() => read(new TextEncoder().encode('x'.repeat(512)))).toThrow(/not a tar archive/);
  });
});
