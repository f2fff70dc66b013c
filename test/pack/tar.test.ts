// The output tar writer (deterministic ustar) and the inner-tar reader of .btf.tar.xz files,
// including hostile members. GNU tar is the independent check where it is installed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTar, checkUstarName, splitUstarName, TarStreamWriter, ustarHeader } from '../../src/pack/tar-write.js';
import { KernelTarReader, readKernelTar } from '../../src/pack/tar-read.js';
import { xzUncompressedSize } from '../../src/archive/xz.js';
import { extractKernelBtf, scratchAvailable, XzLane } from '../../src/pack/decompress.js';
import { ArchiveError } from '../../src/errors.js';
import { kernelCacheStats, open as openKernelCache } from '../../src/kcache/index.js';
import { cachedKernel } from '../../src/pack/kernels.js';
import { HAVE_GNU_TAR } from '../helpers/env.js';
import { paxLine, readTar, tarArchive, xz } from '../helpers/tar.js';
import { cleanupTemps, tempDir } from './helpers.js';

afterAll(cleanupTemps);


const btfBytes = (n: number, seed = 1): Uint8Array => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
};

describe('ustar writer', () => {
  it('writes fixed owner, mode and mtime, and GNU tar reads it back', () => {
    const entries = [
      { name: './btfhub-archive/ubuntu/20.04/x86_64/5.4.0-26-generic.btf', data: btfBytes(1000) },
      { name: './package.json', data: new TextEncoder().encode('{"a":1}\n') },
      { name: './btfhub-archive/x/1/arm64/empty.btf', data: new Uint8Array(0) },
    ];
    const tar = Buffer.from(buildTar(entries));
    expect(tar.length % 10240).toBe(0);
    const parsed = readTar(tar);
    expect(parsed.map((e) => e.name)).toEqual(entries.map((e) => e.name));
    for (const [i, e] of parsed.entries()) {
      expect(e).toMatchObject({ type: '0', mode: 0o644, uid: 0, gid: 0, mtime: 0, uname: '', gname: '' });
      expect(Buffer.compare(e.data, Buffer.from(entries[i]!.data))).toBe(0);
    }
    if (HAVE_GNU_TAR) {
      const dir = tempDir();
      writeFileSync(join(dir, 'a.tar'), tar);
      const listing = execFileSync('tar', ['--numeric-owner', '-tvf', join(dir, 'a.tar')], { encoding: 'utf8' });
      expect(listing).toMatch(/-rw-r--r-- 0\/0 +1000 1970-01-01 00:00 \.\/btfhub-archive\/ubuntu\/20\.04\/x86_64\/5\.4\.0-26-generic\.btf/);
      execFileSync('tar', ['-xf', join(dir, 'a.tar'), '-C', dir]);
      expect(readFileSync(join(dir, 'package.json'), 'utf8')).toBe('{"a":1}\n');
    }
  });

  it('is deterministic and honours an mtime', () => {
    const e = [{ name: './a.btf', data: btfBytes(5) }];
    expect(Buffer.from(buildTar(e)).equals(Buffer.from(buildTar(e)))).toBe(true);
    expect(readTar(Buffer.from(buildTar(e, { mtime: 1700000000 })))[0]!.mtime).toBe(1700000000);
  });

  it('the streaming writer produces the same bytes as buildTar', async () => {
    const entries = [
      { name: './b.btf', data: btfBytes(513) },
      { name: './c.btf', data: btfBytes(512) },
    ];
    const chunks: Uint8Array[] = [];
    const w = new TarStreamWriter((c) => {
      chunks.push(c.slice());
    });
    for (const e of entries) await w.addFile(e.name, e.data);
    await w.finish();
    expect(Buffer.concat(chunks).equals(Buffer.from(buildTar(entries)))).toBe(true);
    expect(w.size).toBe(Buffer.concat(chunks).length);
  });

  it('splits names over 100 bytes into prefix/name, rejects what cannot fit', () => {
    const long = `./btfhub-archive/${'d'.repeat(60)}/1/x86_64/${'r'.repeat(80)}.btf`;
    const split = splitUstarName(long)!;
    expect(split.name.length).toBeLessThanOrEqual(100);
    expect(split.prefix.length).toBeGreaterThan(0);
    const parsed = readTar(Buffer.from(buildTar([{ name: long, data: btfBytes(3) }])));
    expect(parsed[0]!.name).toBe(long);
    if (HAVE_GNU_TAR) {
      const dir = tempDir();
      writeFileSync(join(dir, 'l.tar'), buildTar([{ name: long, data: btfBytes(3) }]));
      expect(execFileSync('tar', ['-tf', join(dir, 'l.tar')], { encoding: 'utf8' }).trim()).toBe(long);
    }
    // a 101-byte file name has no slash to split at
    expect(() => checkUstarName(`./${'x'.repeat(101)}.btf`)).toThrow(ArchiveError);
    expect(() => checkUstarName(`./${'x'.repeat(101)}.btf`)).toThrow(/does not fit a ustar header/);
    expect(() => ustarHeader(`./${'y/'.repeat(140)}z`, 1)).toThrow(ArchiveError);
    // UTF-8 counts in bytes
    expect(splitUstarName(`./${'é'.repeat(51)}`)).toBeUndefined();
    expect(splitUstarName(`./${'é'.repeat(50)}`)?.name.length).toBe(100);
  });
});

describe('inner tar reader', () => {
  const payload = btfBytes(3000, 7);
  const ok = (members: Parameters<typeof tarArchive>[0]) => readKernelTar(tarArchive(members), { label: 'k.btf.tar.xz' });

  it('reads the one member, with or without a path prefix', () => {
    for (const name of ['5.4.0.btf', './5.4.0.btf', 'dir/5.4.0.btf', './dir/sub/5.4.0.btf']) {
      const m = ok([{ name, data: payload }]);
      expect(m.name).toBe(name);
      expect(Buffer.from(m.data).equals(Buffer.from(payload))).toBe(true);
    }
    // ustar prefix field, GNU magic, directory entries and a v7-style NUL typeflag
    expect(ok([{ name: '5.4.0.btf', prefix: 'a/b', data: payload }]).name).toBe('a/b/5.4.0.btf');
    expect(ok([{ name: '5.4.0.btf', magic: 'gnu', data: payload }]).data.length).toBe(3000);
    expect(ok([{ name: 'dir/', type: '5' }, { name: 'dir/5.4.0.btf', data: payload }]).name).toBe('dir/5.4.0.btf');
    expect(ok([{ name: '5.4.0.btf', type: '\0', data: payload }]).data.length).toBe(3000);
  });

  it('honours PAX path and GNU long names', () => {
    const longName = `${'p/'.repeat(70)}6.1.0.btf`;
    expect(ok([{ name: 'PaxHeader', type: 'x', data: paxLine('path', longName) }, { name: 'short.btf', data: payload }]).name).toBe(longName);
    expect(ok([{ name: 'PaxHeader', type: 'g', data: paxLine('comment', 'x') }, { name: 'k.btf', data: payload }]).name).toBe('k.btf');
    const ln = new TextEncoder().encode(`${longName}\0`);
    expect(ok([{ name: '././@LongLink', type: 'L', data: ln }, { name: 'trunc', data: payload }]).name).toBe(longName);
    // a PAX path can smuggle '..' too
    expect(() => ok([{ name: 'PaxHeader', type: 'x', data: paxLine('path', '../x.btf') }, { name: 'x.btf', data: payload }])).toThrow(/'\.\.' component/);
  });

  it.each([
    ['a symbolic link', [{ name: 'k.btf', type: '2', linkname: '/etc/passwd' }], /symbolic link/],
    ['a hard link', [{ name: 'k.btf', type: '1', linkname: 'other.btf' }], /hard link/],
    ['a device', [{ name: 'k.btf', type: '3' }], /character device/],
    ['a FIFO', [{ name: 'k.btf', type: '6' }], /FIFO/],
    ['two .btf members', [{ name: 'a.btf', data: btfBytes(10) }, { name: 'b.btf', data: btfBytes(10) }], /more than one member/],
    ['a ../ member', [{ name: '../x.btf', data: btfBytes(10) }], /'\.\.' component/],
    ['a nested .. member', [{ name: 'a/../../x.btf', data: btfBytes(10) }], /'\.\.' component/],
    ['an absolute member', [{ name: '/tmp/x.btf', data: btfBytes(10) }], /absolute path/],
    ['a non-BTF member', [{ name: 'README', data: btfBytes(10) }], /unexpected member 'README'/],
    ['no member', [], /no <release>\.btf member/],
    ['only a directory', [{ name: 'dir/', type: '5' }], /no <release>\.btf member/],
  ] as const)('rejects %s', (_what, members, re) => {
    expect(() => ok(members as Parameters<typeof tarArchive>[0])).toThrow(ArchiveError);
    expect(() => ok(members as Parameters<typeof tarArchive>[0])).toThrow(re);
  });

  it('rejects corrupt headers, truncation and oversized members', () => {
    const good = tarArchive([{ name: 'k.btf', data: payload }]);
    const bad = Buffer.from(good);
    bad[0] = 0x41; // checksum no longer matches
    expect(() => readKernelTar(bad)).toThrow(/bad checksum/);
    expect(() => readKernelTar(good.subarray(0, 1000))).toThrow(/truncated/);
    expect(() => readKernelTar(good.subarray(0, 300))).toThrow(/truncated/);
    expect(() => readKernelTar(good, { maxMemberSize: 100 })).toThrow(/BTF member .* expands beyond 100 bytes: not a kernel BTF/);
    expect(() => readKernelTar(new TextEncoder().encode('not a tar at all'.repeat(40)))).toThrow(/bad checksum/);
  });

  it('gives the same result for any chunking of the stream', () => {
    const tar = tarArchive([{ name: 'dir/', type: '5' }, { name: 'dir/k.btf', data: payload }]);
    for (const step of [1, 7, 511, 512, 513, 4096]) {
      const r = new KernelTarReader();
      for (let o = 0; o < tar.length; o += step) r.push(tar.subarray(o, o + step));
      expect(Buffer.from(r.finish().data).equals(Buffer.from(payload))).toBe(true);
    }
  });
});

describe('.btf.tar.xz in memory', () => {
  const payload = btfBytes(200_000, 3);
  it.each(['xz', 'lzma'] as const)('extracts with %s and rejects hostile archives', async (dec) => {
    const good = xz(tarArchive([{ name: './6.1.0.btf', data: payload }]));
    const r = await extractKernelBtf(good, dec, { label: 'k' });
    expect(Buffer.from(r.btf).equals(Buffer.from(payload))).toBe(true);
    expect(r.member).toBe('./6.1.0.btf');
    const link = xz(tarArchive([{ name: '6.1.0.btf', type: '2', linkname: '../../../../etc/shadow' }]));
    await expect(extractKernelBtf(link, dec, { label: 'k' })).rejects.toThrow(/k: member '6\.1\.0\.btf' is a symbolic link/);
    const corrupt = Buffer.from(good);
    corrupt[corrupt.length >> 1] ^= 0xff;
    await expect(extractKernelBtf(corrupt, dec, { label: 'k' })).rejects.toThrow(ArchiveError);
    await expect(extractKernelBtf(new Uint8Array(10), dec, { label: 'k' })).rejects.toThrow(/not an xz file/);
  });

  it('stops a decompression bomb at the member size limit', async () => {
    const bomb = xz(tarArchive([{ name: 'k.btf', data: new Uint8Array(40 << 20) }]));
    expect(bomb.length).toBeLessThan(1 << 20);
    await expect(extractKernelBtf(bomb, 'xz', { label: 'bomb', maxMemberSize: 1 << 20 })).rejects.toThrow(/bomb: BTF member bomb expands beyond 1 MiB: not a kernel BTF/);
    await expect(extractKernelBtf(bomb, 'lzma', { label: 'bomb', maxMemberSize: 1 << 20 })).rejects.toThrow(/bomb: BTF member bomb expands beyond 1 MiB: not a kernel BTF/);
    // Two concatenated streams: the last stream's index understates the size; xz itself stops.
    const sneaky = Buffer.concat([bomb, xz(tarArchive([{ name: 'k.btf', data: new Uint8Array(10) }]))]);
    expect(xzUncompressedSize(sneaky.subarray(sneaky.length - 4096))).toBeLessThan(1 << 20);
    await expect(extractKernelBtf(sneaky, 'xz', { label: 'sneaky', maxMemberSize: 1 << 20 })).rejects.toThrow(/sneaky: BTF member sneaky expands beyond 1 MiB: not a kernel BTF$/);
    // without the index hint (a file whose index lies is caught by the decompressor itself)
    const small = xz(tarArchive([{ name: 'k.btf', data: new Uint8Array(3 << 20) }]));
    await expect(extractKernelBtf(small, 'lzma', { label: 's', maxMemberSize: 1 << 20 })).rejects.toThrow(/expands beyond 1 MiB: not a kernel BTF/);
  });

  it('reads the uncompressed size from the .xz index (a scheduling hint)', () => {
    const tar = tarArchive([{ name: 'k.btf', data: payload }]);
    const file = xz(tar);
    expect(xzUncompressedSize(file.subarray(Math.max(0, file.length - 4096)))).toBe(tar.length);
    expect(xzUncompressedSize(new Uint8Array(100))).toBeUndefined();
    expect(xzUncompressedSize(file.subarray(0, file.length - 1))).toBeUndefined();
  });

  it.skipIf(!HAVE_GNU_TAR)('reads what GNU tar + xz make (including a directory prefix)', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', '5.10.0.btf'), payload);
    execFileSync('tar', ['-cJf', join(dir, 'a.tar.xz'), '-C', dir, 'sub']);
    const r = await extractKernelBtf(readFileSync(join(dir, 'a.tar.xz')), 'xz', { label: 'a' });
    expect(r.member).toBe('sub/5.10.0.btf');
    expect(r.btf.length).toBe(payload.length);
    symlinkSync('/etc/hostname', join(dir, 'link.btf'));
    execFileSync('tar', ['-cJf', join(dir, 'b.tar.xz'), '-C', dir, 'link.btf']);
    await expect(extractKernelBtf(readFileSync(join(dir, 'b.tar.xz')), 'xz', { label: 'b' })).rejects.toThrow(/symbolic link/);
  });
});

// The paths pack's workers take: xz reading the kernel file's descriptor and writing into a
// private tmpfs scratch file (XzLane), with extractKernelBtf's execa path behind them for
// anything that goes wrong (it words the error).
describe('xz into scratch files (pack workers)', () => {
  const payload = btfBytes(300_000, 5);
  const onDisk = (bytes: Uint8Array): { fd: number; bytes: Uint8Array } => {
    const f = join(tempDir(), 'k.btf.tar.xz');
    writeFileSync(f, bytes);
    return { fd: openSync(f, 'r'), bytes: new Uint8Array(readFileSync(f)) };
  };
  const fds: number[] = [];
  afterAll(() => {
    for (const fd of fds) closeSync(fd);
  });
  const file = (bytes: Uint8Array) => {
    const r = onDisk(bytes);
    fds.push(r.fd);
    return r;
  };

  it.skipIf(!scratchAvailable())('a lane gives the bytes extractKernelBtf gives, and nothing where extractKernelBtf words an error', async () => {
    const good = file(xz(tarArchive([{ name: './6.1.0.btf', data: payload }])));
    const lane = XzLane.open()!;
    try {
      const got = await lane.decompress(good.fd);
      const r = await extractKernelBtf(good.bytes, 'xz', { label: 'k' });
      expect(Buffer.from(lane.take(got!)!).equals(Buffer.from(r.tar))).toBe(true);
      expect(Buffer.from(r.btf).equals(Buffer.from(payload))).toBe(true);
      const bad = Buffer.from(good.bytes);
      bad[bad.length >> 1] ^= 0xff;
      const corrupt = file(bad);
      expect(await lane.decompress(corrupt.fd)).toBeUndefined();
      await expect(extractKernelBtf(corrupt.bytes, 'xz', { label: 'k' })).rejects.toThrow(/^k: xz: .*(corrupt|Unexpected end)/i);
      const bomb = file(xz(tarArchive([{ name: 'k.btf', data: new Uint8Array(40 << 20) }])));
      expect(await lane.decompress(bomb.fd, 1 << 20)).toBeUndefined();
      await expect(extractKernelBtf(bomb.bytes, 'xz', { label: 'bomb', maxMemberSize: 1 << 20 })).rejects.toThrow(/bomb: BTF member bomb expands beyond 1 MiB: not a kernel BTF/);
    } finally {
      lane.close();
    }
  });

  it.skipIf(!scratchAvailable())('XzLane: several at once, each with its own output; a bomb is stopped at the limit', async () => {
    const inputs = [1, 2, 3, 4].map((seed) => {
      const data = btfBytes(100_000 * seed, seed);
      const tar = tarArchive([{ name: `${seed}.btf`, data }]);
      return { tar, ...file(xz(tar)) };
    });
    const lanes = inputs.map(() => XzLane.open()!);
    try {
      expect(lanes.every((l) => l && l.alive)).toBe(true);
      const tars = await Promise.all(lanes.map((l, i) => l.decompress(inputs[i]!.fd)));
      tars.forEach((t, i) => expect(t!.size).toBe(inputs[i]!.tar.length));
      const into = new Uint8Array(1 << 20);
      lanes.forEach((l, i) => {
        const out = l.take(tars[i]!, into);
        expect(Buffer.from(out!).equals(Buffer.from(inputs[i]!.tar))).toBe(true);
      });
      // 40 MB of zeros under a 1 MB member limit: ulimit -f stops xz (limit + 16 MB of slack)
      const bomb = file(xz(tarArchive([{ name: 'k.btf', data: new Uint8Array(40 << 20) }])));
      expect(await lanes[0]!.decompress(bomb.fd, 1 << 20)).toBeUndefined();
      expect(lanes[0]!.lastStatus).toBe(128 + 25); // killed by SIGXFSZ, not left to fill tmpfs
      const bad = Buffer.from(inputs[1]!.bytes);
      bad[bad.length >> 1] ^= 0xff;
      expect(await lanes[0]!.decompress(file(bad).fd)).toBeUndefined();
      expect(lanes[0]!.lastStatus).toBe(1); // xz: compressed data is corrupt
      // the lane works again after both
      const again = await lanes[0]!.decompress(inputs[2]!.fd);
      expect(Buffer.from(lanes[0]!.take(again!)!).equals(Buffer.from(inputs[2]!.tar))).toBe(true);
    } finally {
      for (const l of lanes) l?.close();
    }
  });
  it.skipIf(!scratchAvailable())('XzLane of depth 3: decompressions queued at once come out in order, each in its own file, a failing one between them alone fails', async () => {
    const inputs = [1, 2, 3, 4, 5].map((seed) => {
      const tar = tarArchive([{ name: `${seed}.btf`, data: btfBytes(150_000 * seed, seed) }]);
      return { tar, ...file(xz(tar)) };
    });
    const bad = Buffer.from(inputs[1]!.bytes);
    bad[bad.length >> 1] ^= 0xff;
    const corrupt = file(bad);
    const lane = XzLane.open(3)!;
    try {
      expect(lane.depth).toBe(3);
      // three at once: the shell runs them one after the other; the middle one is corrupt
      const ended: number[] = [];
      const queued = [inputs[0]!.fd, corrupt.fd, inputs[2]!.fd].map((fd, i) => lane.decompress(fd).then((t) => (ended.push(i), t)));
      expect(lane.room).toBe(0);
      await expect(lane.decompress(inputs[3]!.fd)).rejects.toThrow(/no room/);
      const [a, b, c] = await Promise.all(queued);
      expect(ended).toEqual([0, 1, 2]);
      expect(b).toBeUndefined(); // its slot is free again
      expect(lane.room).toBe(1);
      expect(a!.fd).not.toBe(c!.fd);
      expect(Buffer.from(lane.take(c!)!).equals(Buffer.from(inputs[2]!.tar))).toBe(true);
      // the slot's scratch file is written over, not emptied: the next tar, shorter, is its own
      // bytes alone, though the file still holds the end of the one before
      const d = await lane.decompress(inputs[4]!.fd);
      expect(Buffer.from(lane.take(d!)!).equals(Buffer.from(inputs[4]!.tar))).toBe(true);
      const e = await lane.decompress(inputs[0]!.fd);
      expect(e!.fd).toBe(d!.fd);
      expect(e!.size).toBe(inputs[0]!.tar.length);
      expect(fstatSync(e!.fd).size).toBe(inputs[4]!.tar.length);
      expect(Buffer.from(lane.take(e!)!).equals(Buffer.from(inputs[0]!.tar))).toBe(true);
      expect(Buffer.from(lane.take(a!)!).equals(Buffer.from(inputs[0]!.tar))).toBe(true);
      expect(lane.room).toBe(3);
      // a tar never taken (its kernel failed first) gives its slot back
      const f = await lane.decompress(inputs[3]!.fd);
      lane.drop(f!);
      expect(lane.room).toBe(3);
    } finally {
      lane.close();
    }
  });
  it.skipIf(!scratchAvailable())('XzLane whose helper shell dies: every queued decompression gives undefined, renew() opens another', async () => {
    const inputs = [1, 2, 3].map((seed) => file(xz(tarArchive([{ name: `${seed}.btf`, data: btfBytes(2_000_000, seed) }]))));
    const lane = XzLane.open(3)!;
    try {
      const queued = inputs.map((f) => lane.decompress(f.fd));
      (lane as unknown as { helper: { child: { kill(sig: string): void } } }).helper.child.kill('SIGKILL');
      expect(await Promise.all(queued)).toEqual([undefined, undefined, undefined]);
      expect(lane.alive).toBe(false);
      expect(lane.room).toBe(3);
      const next = XzLane.renew(lane);
      expect(next).not.toBe(lane);
      expect(next.depth).toBe(3);
      next.close();
    } finally {
      lane.close();
    }
  });
  it.skipIf(!scratchAvailable())('XzLane.close() with decompressions queued: none of them writes into a file that took a closed descriptor number', async () => {
    const inputs = [1, 2, 3].map((seed) => file(xz(tarArchive([{ name: `${seed}.btf`, data: btfBytes(3_000_000, seed) }]))));
    const lane = XzLane.open(3)!;
    const scratch = (lane as unknown as { scratch: number[] }).scratch;
    const queued = inputs.map((f) => lane.decompress(f.fd));
    lane.close();
    // the lowest free descriptors now: the scratch files' numbers, which the queued requests name
    const dir = tempDir();
    const others = scratch.map((_, i) => openSync(join(dir, `other-${i}`), 'w+'));
    try {
      expect(others.filter((fd) => scratch.includes(fd)).length).toBeGreaterThan(0);
      expect(await Promise.all(queued)).toEqual([undefined, undefined, undefined]);
      await new Promise((r) => setTimeout(r, 300)); // what a shell left reading its input would have run by now
      for (const fd of others) expect(fstatSync(fd).size).toBe(0);
    } finally {
      for (const fd of others) closeSync(fd);
    }
  });
  it.skipIf(!scratchAvailable())('XzLane.close() twice closes nothing else (a worker closes its lanes at the close message and again at exit)', () => {
    const lane = XzLane.open()!;
    lane.close();
    // the lowest free descriptor: the one the scratch file had
    const other = openSync(join(tempDir(), 'other'), 'w+');
    try {
      lane.close();
      expect(() => writeFileSync(other, 'still open')).not.toThrow();
    } finally {
      closeSync(other);
    }
  });
  it.skipIf(!scratchAvailable())('XzLane scratch files: emptied after a failed xz (it may have written up to the limit) and after a tar over 16 MiB', async () => {
    const lane = XzLane.open()!;
    try {
      const bomb = file(xz(tarArchive([{ name: 'k.btf', data: new Uint8Array(40 << 20) }])));
      expect(await lane.decompress(bomb.fd, 1 << 20)).toBeUndefined();
      const scratch = (lane as unknown as { scratch: number[] }).scratch[0]!;
      expect(fstatSync(scratch).size).toBe(0);
      const small = tarArchive([{ name: 's.btf', data: payload }]);
      const big = tarArchive([{ name: 'b.btf', data: new Uint8Array(17 << 20).fill(7) }]);
      const got = await lane.decompress(file(xz(big)).fd);
      expect(got!.size).toBe(big.length);
      expect(Buffer.from(lane.take(got!)!).equals(Buffer.from(big))).toBe(true);
      expect(fstatSync(scratch).size).toBe(0);
      // under 16 MiB it stays (the next kernel writes over its pages)
      const kept = await lane.decompress(file(xz(small)).fd);
      expect(Buffer.from(lane.take(kept!)!).equals(Buffer.from(small))).toBe(true);
      expect(fstatSync(scratch).size).toBe(small.length);
    } finally {
      lane.close();
    }
  });

  it.skipIf(!scratchAvailable())('a lane\'s tar kept in the kernel cache: a hit gives the member 4-byte aligned (Btf views its types in place)', async () => {
    const dir = tempDir();
    const cache = openKernelCache({ dir });
    const id = createHash('sha256').update('lane').digest('hex');
    const tar = tarArchive([{ name: '6.1.0.btf', data: payload }]);
    const lane = XzLane.open()!;
    try {
      const got = await lane.decompress(file(xz(tar)).fd);
      expect(await cache.put(id, lane.take(got!)!)).toBe(true);
      expect(Buffer.from((await cache.get(id))!).equals(Buffer.from(tar))).toBe(true);
      const kernel = { format: 'btf.tar.xz' as const, relPath: 'x/6.1.0.btf.tar.xz', release: '6.1.0' };
      for (const alloc of [undefined, (n: number) => new Uint8Array(n + 4096)]) {
        const hit = (await cachedKernel(cache, id, kernel, alloc ? { alloc } : {}))!;
        expect(hit.cached).toBe(true);
        expect(Buffer.from(hit.btf).equals(Buffer.from(payload))).toBe(true);
        expect(hit.btf.byteOffset % 4).toBe(0);
      }
      expect((await kernelCacheStats(dir)).temps).toBe(0);
    } finally {
      lane.close();
    }
  });
});
