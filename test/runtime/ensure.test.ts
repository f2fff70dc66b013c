// ensureCoreBtf: BTF_FILE_PATH, kernel BTF, force, archive inputs, temp file rules, cleanup.
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { machine, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BtfFilePathError,
  detectHost,
  ensureCoreBtf,
  isForced,
  NoArchiveError,
  NoMatchingBtfError,
  OutputFileError,
  type EnsureCoreBtfOptions,
} from '../../src/runtime/index.js';
import { concat, gzip, tarEnd, tarMember } from '../helpers/tar.js';

const HOST = { id: 'debian', versionId: '12', machine: 'x86_64', release: '6.1.0-9-amd64' } as const;
const KEY = 'debian/12/x86_64/6.1.0-9-amd64.btf';
const archive = (): Uint8Array =>
  gzip(concat([...tarMember('./btfhub-archive/debian/12/x86_64/6.1.0-8-amd64.btf', 'older'), ...tarMember(`./btfhub-archive/${KEY}`, 'the btf'), tarEnd()]));

let dir: string;
let out: string;
let fakeKernelBtf: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'btfgen-ensure-'));
  out = join(dir, 'out');
  await mkdir(out);
  fakeKernelBtf = join(dir, 'vmlinux');
  await writeFile(fakeKernelBtf, 'kernel btf');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Options for a host without kernel BTF, extracting into the private directory. */
const noKernel = (extra: EnsureCoreBtfOptions = {}): EnsureCoreBtfOptions => ({
  ...HOST,
  env: {},
  kernelBtfPath: join(dir, 'no-such-vmlinux'),
  tmpdir: out,
  ...extra,
});

describe('ensureCoreBtf order', () => {
  it('BTF_FILE_PATH wins over everything, is checked, and is never removed', async () => {
    const mine = join(dir, 'mine.btf');
    await writeFile(mine, 'x');
    const r = await ensureCoreBtf(archive(), noKernel({ env: { BTF_FILE_PATH: mine, BTFGEN_FORCE_ARCHIVE: '1' } }));
    expect(r).toMatchObject({ path: mine, source: 'env' });
    expect(r.key).toBeUndefined();
    await r.cleanup();
    expect(await readFile(mine, 'utf8')).toBe('x');
    await expect(ensureCoreBtf(archive(), noKernel({ env: { BTF_FILE_PATH: join(dir, 'missing') } }))).rejects.toBeInstanceOf(
      BtfFilePathError,
    );
    // An empty BTF_FILE_PATH counts as unset.
    expect((await ensureCoreBtf(archive(), noKernel({ env: { BTF_FILE_PATH: '' } }))).source).toBe('archive');
  });

  it('uses nothing when the kernel has BTF, unless forced', async () => {
    const kernel = await ensureCoreBtf(archive(), noKernel({ kernelBtfPath: fakeKernelBtf }));
    expect(kernel).toMatchObject({ source: 'kernel' });
    expect(kernel.path).toBeUndefined();
    await kernel.cleanup();
    expect(await readdir(out)).toEqual([]);

    const forced = await ensureCoreBtf(archive(), noKernel({ kernelBtfPath: fakeKernelBtf, force: true }));
    expect(forced).toMatchObject({ source: 'archive', key: KEY });
    await forced.cleanup();

    const byEnv = await ensureCoreBtf(archive(), noKernel({ kernelBtfPath: fakeKernelBtf, env: { BTFGEN_FORCE_ARCHIVE: '1' } }));
    expect(byEnv.source).toBe('archive');
    await byEnv.cleanup();
    // force: false beats the environment.
    const notForced = await ensureCoreBtf(
      archive(),
      noKernel({ kernelBtfPath: fakeKernelBtf, force: false, env: { BTFGEN_FORCE_ARCHIVE: '1' } }),
    );
    expect(notForced.source).toBe('kernel');
  });

  it('BTFGEN_FORCE_ARCHIVE: anything but empty or 0', () => {
    expect([undefined, '', '0'].map(isForced)).toEqual([false, false, false]);
    expect(['1', 'yes', 'true'].map(isForced)).toEqual([true, true, true]);
  });

  it('the real kernel BTF is found on this machine', async () => {
    const r = await ensureCoreBtf(null, { env: {} });
    expect(r.source).toBe('kernel');
  });

  it('no archive and no kernel BTF: NoArchiveError (EOPNOTSUPP)', async () => {
    const err = await ensureCoreBtf(undefined, noKernel()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoArchiveError);
    expect((err as NoArchiveError).code).toBe('EOPNOTSUPP');
  });
});

describe('extraction', () => {
  it('extracts to a fresh 0600 file under the temp dir; cleanup removes it (idempotent)', async () => {
    const r = await ensureCoreBtf(archive(), noKernel());
    expect(r).toMatchObject({ source: 'archive', key: KEY });
    expect(r.path!.startsWith(`${out}/btfgen-`)).toBe(true);
    expect((await stat(r.path!)).mode & 0o777).toBe(0o600);
    expect(await readFile(r.path!, 'utf8')).toBe('the btf');
    expect(await readdir(out)).toHaveLength(1);
    await r.cleanup();
    await r.cleanup();
    expect(await readdir(out)).toEqual([]);
  });

  it('honours TMPDIR through os.tmpdir()', async () => {
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = out;
    try {
      const r = await ensureCoreBtf(archive(), noKernel({ tmpdir: undefined }));
      expect(r.path!.startsWith(`${out}/`)).toBe(true);
      await r.cleanup();
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it('reads a path, a file: URL, a Buffer, a Node stream and an async iterable', async () => {
    const file = join(dir, 'a.tar.gz');
    await writeFile(file, archive());
    const sources = [
      file,
      pathToFileURL(file),
      Buffer.from(archive()),
      createReadStream(file, { highWaterMark: 100 }),
      (async function* () {
        const a = archive();
        for (let i = 0; i < a.length; i += 3) yield a.subarray(i, i + 3);
      })(),
    ];
    for (const src of sources) {
      const r = await ensureCoreBtf(src, noKernel());
      expect(await readFile(r.path!, 'utf8')).toBe('the btf');
      await r.cleanup();
    }
  });

  it('writes to --extract-to style paths when asked, and cleanup removes them', async () => {
    const target = join(dir, 'chosen.btf');
    const r = await ensureCoreBtf(archive(), noKernel({ extractTo: target }));
    expect(r.path).toBe(target);
    expect(await readFile(target, 'utf8')).toBe('the btf');
    expect(await readdir(out)).toEqual([]);
    await r.cleanup();
    await expect(stat(target)).rejects.toThrow();
  });

  it('destroys a stream it does not need', async () => {
    const file = join(dir, 'a.tar.gz');
    await writeFile(file, archive());
    const stream = createReadStream(file);
    await ensureCoreBtf(stream, noKernel({ kernelBtfPath: fakeKernelBtf }));
    expect(stream.destroyed).toBe(true);
  });

  it('stops reading a plain tar at the exact key (streaming; never reads the whole archive)', async () => {
    let produced = 0;
    const endless = Readable.from(
      (async function* () {
        yield concat(tarMember(`./btfhub-archive/${KEY}`, 'first'));
        for (;;) {
          const chunk = concat(tarMember('./btfhub-archive/other/1/x86_64/filler.btf', new Uint8Array(64 * 1024)));
          produced += chunk.length;
          yield chunk;
        }
      })(),
    );
    const r = await ensureCoreBtf(endless, noKernel());
    expect(await readFile(r.path!, 'utf8')).toBe('first');
    expect(produced).toBeLessThan(1024 * 1024);
    await r.cleanup();
  });

  it('decompresses a large tar.gz as a stream (checked to the end of its gzip data)', async () => {
    // 64 MiB of tar compresses to ~64 KiB; the member sits first.
    const big = gzip(
      concat([...tarMember(`./btfhub-archive/${KEY}`, 'early'), ...tarMember('./filler.bin', new Uint8Array(64 * 1024 * 1024)), tarEnd()]),
    );
    expect(big.length).toBeLessThan(1024 * 1024);
    const r = await ensureCoreBtf(big, noKernel());
    expect(await readFile(r.path!, 'utf8')).toBe('early');
    await r.cleanup();
  });

  it('never writes hostile members and leaves nothing behind on no match', async () => {
    const hostile = gzip(
      concat([
        ...tarMember(`../btfhub-archive/${KEY}`, 'up'),
        ...tarMember(`/btfhub-archive/${KEY}`, 'abs'),
        ...tarMember(`./btfhub-archive/${KEY}`, '', '2'),
        ...tarMember(`./btfhub-archive/${KEY}`, '', '1'),
        ...tarMember(`./btfhub-archive/${KEY}`, '', '3'),
        ...tarMember(`./btfhub-archive/${KEY}`, '', '6'),
        tarEnd(),
      ]),
    );
    const err = await ensureCoreBtf(hostile, noKernel()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoMatchingBtfError);
    expect(await readdir(out)).toEqual([]);
    expect(await readdir(dir)).toEqual(expect.not.arrayContaining(['btfhub-archive']));
  });

  it('no match: names the keys tried and the nearest kernels', async () => {
    const err = (await ensureCoreBtf(archive(), noKernel({ release: '6.1.0-10-amd64', machine: 'aarch64' })).catch(
      (e: unknown) => e,
    )) as NoMatchingBtfError;
    expect(err).toBeInstanceOf(NoMatchingBtfError);
    expect(err.keysTried).toEqual(['debian/12/aarch64/6.1.0-10-amd64.btf', 'debian/12/arm64/6.1.0-10-amd64.btf']);
    expect(err.nearest).toEqual([KEY, 'debian/12/x86_64/6.1.0-8-amd64.btf']);
    expect(err.kernelCount).toBe(2);
    expect(err.message).toContain('tried debian/12/aarch64/6.1.0-10-amd64.btf, debian/12/arm64/6.1.0-10-amd64.btf');
    expect(err.message).toContain('nearest kernels in the archive (2 in all)');
  });
});

describe('detectHost', () => {
  it('reads /etc/os-release, falls back to /usr/lib/os-release, then to the defaults', async () => {
    const etc = join(dir, 'etc-os-release');
    const lib = join(dir, 'lib-os-release');
    await writeFile(lib, 'ID=ol\nID_LIKE="fedora"\nVERSION_ID="8.6"\n');
    expect(await detectHost({ osReleasePaths: [etc, lib] })).toEqual({
      id: 'ol',
      idLike: ['fedora'],
      versionId: '8.6',
      machine: machine(),
      release: release(),
    });
    await writeFile(etc, 'ID=centos\nVERSION_ID="8"\n');
    expect(await detectHost({ osReleasePaths: [etc, lib] })).toMatchObject({ id: 'centos', versionId: '8' });
    expect(await detectHost({ osReleasePaths: [join(dir, 'none')] })).toMatchObject({ id: 'linux', versionId: '' });
    expect(await detectHost({ osReleasePaths: [etc], machine: 'aarch64', release: 'r', versionId: '9', idLike: ['rhel'] })).toEqual({
      id: 'centos',
      idLike: ['rhel'],
      versionId: '9',
      machine: 'aarch64',
      release: 'r',
    });
  });
});

// Issue 13: a temp directory that does not exist (TMPDIR set to a missing path) is not "no BTF
// for this host": OutputFileError, code EIO like the C helper's "cannot create a temporary file".
describe('output errors', () => {
  it('a missing TMPDIR fails with EIO (OutputFileError), distinct from ENOENT (no BTF for this host)', async () => {
    const missing = join(dir, 'no-such-tmpdir');
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = missing;
    try {
      const err = await ensureCoreBtf(archive(), noKernel({ tmpdir: undefined })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(OutputFileError);
      expect((err as OutputFileError).code).toBe('EIO');
      expect((err as OutputFileError).reason).toBe('ENOENT');
      expect((err as Error).message).toMatch(new RegExp(`^cannot create a temporary file in ${missing}: ENOENT`));
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    // The same with the tmpdir option, and the no-match error keeps its own code.
    await expect(ensureCoreBtf(archive(), noKernel({ tmpdir: missing }))).rejects.toMatchObject({ code: 'EIO' });
    await expect(ensureCoreBtf(archive(), noKernel({ tmpdir: missing, release: '9.9.9' }))).rejects.toMatchObject({ code: 'ENOENT' });
    // --extract-to under a missing directory: EIO too, naming the path.
    const to = join(missing, 'x.btf');
    await expect(ensureCoreBtf(archive(), noKernel({ extractTo: to }))).rejects.toThrow(new RegExp(`^cannot write ${to}: ENOENT`));
  });
});
