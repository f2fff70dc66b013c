import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveError, UsageError } from '../../src/errors.js';
import { listKernels, listKernelsWith, parseKernelPath } from '../../src/archive/walk.js';
import { archDirectoryNames, describeFilter, kernelFilterMatches, parseKernelFilter } from '../../src/archive/filter.js';
import { ARCHIVE_DEMO, ARCHIVE_EXTRA, HAVE_ARCHIVES } from '../helpers/env.js';
import { removeDir, tmpDir } from '../fetch/helpers.js';

describe('listKernels on a made-up tree', () => {
  let root: string;
  const files = [
    'ubuntu/20.04/x86_64/5.4.0-26-generic.btf.tar.xz',
    'ubuntu/20.04/x86_64/5.4.0-100-generic.btf.tar.xz',
    'ubuntu/20.04/arm64/5.4.0-26-generic.btf.tar.xz',
    'ubuntu/20.04/x86_64/5.4.0-42-generic.btf', // raw BTF
    'ubuntu/20.04/x86_64/5.4.0-42-generic.btf.tar.xz', // same kernel, compressed: listed once, as .btf
    'kylin/V10/aarch64/4.19.90-52.22.v2207.ky10.aarch64.btf.tar.xz',
    'rhel/8/x86_64/4.18.0-80.el8.x86_64.btf.tar.xz',
    'Zeta/1/x86_64/z.btf', // upper case sorts first bytewise
  ];
  const junk = [
    'LICENSE',
    'README.md',
    '.github/workflows/x.yml',
    'debian/buster', // flat codename file
    'ubuntu/20.04/README', // wrong depth
    'ubuntu/20.04/x86_64/notes.txt', // wrong suffix
    'ubuntu/20.04/x86_64/.hidden.btf', // dot file
    'ubuntu/20.04/x86_64/deep/x.btf', // too deep
    '.git/objects/x/y.btf', // dot directory
    'ubuntu/20.04/x86_64/.btf', // empty release
  ];

  beforeAll(async () => {
    root = await tmpDir('btfgen-walk-');
    for (const f of [...files, ...junk]) {
      await mkdir(path.dirname(path.join(root, f)), { recursive: true });
      await writeFile(path.join(root, f), f);
    }
    await symlink('20.04', path.join(root, 'ubuntu/focal')); // codename alias
    await symlink(path.join(root, 'ubuntu'), path.join(root, 'ubuntu-mirror')); // symlinked distro dir
    await mkdir(path.join(root, 'fedora/31/x86_64'), { recursive: true });
    // A linked kernel file counts (merged views are made of links); a dangling link does not.
    await symlink(path.join(root, files[0]!), path.join(root, 'fedora/31/x86_64/linked.btf.tar.xz'));
    await symlink(path.join(root, 'nowhere'), path.join(root, 'fedora/31/x86_64/dangling.btf'));
    await mkdir(path.join(root, 'fedora/31/x86_64/dir.btf'));
  });
  afterAll(async () => removeDir(root));

  it('lists each kernel once, skipping aliases and non-kernel files, sorted bytewise', async () => {
    const ks = await listKernels(root);
    expect(ks.map((k) => k.relPath)).toEqual([
      'Zeta/1/x86_64/z.btf',
      'fedora/31/x86_64/linked.btf.tar.xz',
      'kylin/V10/aarch64/4.19.90-52.22.v2207.ky10.aarch64.btf.tar.xz',
      'rhel/8/x86_64/4.18.0-80.el8.x86_64.btf.tar.xz',
      'ubuntu/20.04/arm64/5.4.0-26-generic.btf.tar.xz',
      'ubuntu/20.04/x86_64/5.4.0-100-generic.btf.tar.xz',
      'ubuntu/20.04/x86_64/5.4.0-26-generic.btf.tar.xz',
      'ubuntu/20.04/x86_64/5.4.0-42-generic.btf',
    ]);
    const k = ks.find((e) => e.release === '5.4.0-42-generic')!;
    expect(k).toEqual({
      id: 'ubuntu',
      version: '20.04',
      arch: 'x86_64',
      release: '5.4.0-42-generic',
      path: path.join(root, 'ubuntu/20.04/x86_64/5.4.0-42-generic.btf'),
      relPath: 'ubuntu/20.04/x86_64/5.4.0-42-generic.btf',
      format: 'btf',
    });
    expect(ks.find((e) => e.id === 'rhel')!.format).toBe('btf.tar.xz');
    expect(ks.every((e) => path.isAbsolute(e.path))).toBe(true);
  });

  it('with problems: lists entries named like kernels that cannot be read, with the reason', async () => {
    await symlink('loop.btf.tar.xz', path.join(root, 'fedora/31/x86_64/loop.btf.tar.xz'));
    try {
      const ks = await listKernelsWith(root, parseKernelFilter({ distros: ['fedora'] }), { problems: true });
      expect(ks.map((k) => [k.release, k.problem])).toEqual([
        ['dangling', 'a dangling symbolic link'],
        ['dir', 'a directory, not a kernel file'],
        ['linked', undefined],
        ['loop', 'a symbolic link loop'],
      ]);
      // without the option (fetch's merged view) they are not listed
      expect((await listKernels(root, { distros: ['fedora'] })).map((k) => k.release)).toEqual(['linked']);
    } finally {
      await rm(path.join(root, 'fedora/31/x86_64/loop.btf.tar.xz'));
    }
  });

  it('filters by distro, distro/version and arch (arm64 <-> aarch64)', async () => {
    const rel = async (distros: string[], arches: string[]): Promise<string[]> =>
      (await listKernels(root, { distros, arches })).map((k) => k.relPath);
    expect(await rel(['rhel'], [])).toEqual(['rhel/8/x86_64/4.18.0-80.el8.x86_64.btf.tar.xz']);
    expect(await rel(['ubuntu/20.04'], ['arm64'])).toEqual(['ubuntu/20.04/arm64/5.4.0-26-generic.btf.tar.xz']);
    expect(await rel([], ['arm64'])).toEqual([
      'kylin/V10/aarch64/4.19.90-52.22.v2207.ky10.aarch64.btf.tar.xz',
      'ubuntu/20.04/arm64/5.4.0-26-generic.btf.tar.xz',
    ]);
    expect(await rel([], ['aarch64'])).toEqual(await rel([], ['arm64']));
    expect(await rel(['ubuntu/focal'], [])).toEqual([]); // aliases are not walked
    expect(await rel(['kylin,rhel/7'], ['x86_64,aarch64'])).toEqual([
      'kylin/V10/aarch64/4.19.90-52.22.v2207.ky10.aarch64.btf.tar.xz',
    ]);
  });

  it('accepts a symlinked root and rejects a missing or non-directory root', async () => {
    const link = path.join(root, '..', `${path.basename(root)}-link`);
    await symlink(root, link);
    try {
      expect((await listKernels(link)).length).toBe(8);
    } finally {
      await removeDir(link);
    }
    await expect(listKernels(path.join(root, 'nope'))).rejects.toThrow(ArchiveError);
    await expect(listKernels(path.join(root, 'LICENSE'))).rejects.toThrow(/not a directory/);
  });
});

describe.skipIf(!HAVE_ARCHIVES)('listKernels on the shared archives', () => {
  it('finds the 85 kernels of btfhub-archive-demo and skips debian/buster, LICENSE, README.md', async () => {
    const ks = await listKernels(ARCHIVE_DEMO);
    expect(ks).toHaveLength(85);
    const count = (id: string): number => ks.filter((k) => k.id === id).length;
    expect([count('centos'), count('debian'), count('ubuntu')]).toEqual([7, 39, 39]);
    expect(ks.every((k) => k.arch === 'x86_64' && k.format === 'btf.tar.xz')).toBe(true);
    expect(ks.some((k) => k.relPath.includes('buster'))).toBe(false);
    const sorted = [...ks].map((k) => k.relPath).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(ks.map((k) => k.relPath)).toEqual(sorted);
  });

  it('matches the aarch64 directories of btfhub-archive-extra with --arch arm64', async () => {
    const ks = await listKernels(ARCHIVE_EXTRA, { arches: ['arm64'] });
    expect(ks.map((k) => `${k.id}/${k.arch}`)).toEqual([
      'centos/aarch64',
      'kylin/aarch64',
      'kylin/aarch64',
      'kylin/aarch64',
    ]);
    expect((await listKernels(ARCHIVE_EXTRA, { arches: ['x86_64'] })).map((k) => k.id)).toEqual(['bclinux']);
  });
});

describe('parseKernelPath', () => {
  it('parses kernel paths and rejects everything else', () => {
    expect(parseKernelPath('ubuntu/20.04/x86_64/5.4.0-26-generic.btf.tar.xz')).toEqual({
      id: 'ubuntu',
      version: '20.04',
      arch: 'x86_64',
      release: '5.4.0-26-generic',
      format: 'btf.tar.xz',
    });
    expect(parseKernelPath('amzn/2/arm64/4.14.1.btf')?.format).toBe('btf');
    for (const p of ['LICENSE', 'debian/buster', 'a/b/c/d.txt', 'a/b/c/d/e.btf', '.github/a/b/c.btf', 'a/b/c/.btf', 'a//c/d.btf']) {
      expect(parseKernelPath(p)).toBeUndefined();
    }
  });
});

describe('parseKernelFilter', () => {
  it('splits commas, drops duplicates and terms covered by a whole distro', () => {
    const f = parseKernelFilter({ distros: ['ubuntu/20.04', 'debian, ubuntu', 'debian'], arches: ['X86_64', 'x86_64'] });
    expect(f.distros).toEqual([{ id: 'debian' }, { id: 'ubuntu' }]);
    expect(f.arches).toEqual(['x86_64']);
    expect(f.archDirs).toEqual(['x86_64', 'amd64']);
    expect(describeFilter(f)).toBe('debian, ubuntu; arch x86_64');
    expect(describeFilter(parseKernelFilter())).toBe('everything');
  });

  it('accepts trailing slashes and rejects paths that are not ID[/VERSION]', () => {
    expect(parseKernelFilter({ distros: ['ubuntu/20.04/'] }).distros).toEqual([{ id: 'ubuntu', version: '20.04' }]);
    for (const bad of ['ubuntu/20.04/x86_64', '../x', 'ubuntu/..', '/ubuntu', '-rf', 'a b', '*']) {
      expect(() => parseKernelFilter({ distros: [bad] }), bad).toThrow(UsageError);
    }
    expect(() => parseKernelFilter({ arches: ['x86/64'] })).toThrow(UsageError);
  });

  it('knows arch aliases both ways', () => {
    expect(archDirectoryNames('arm64')).toEqual(['arm64', 'aarch64']);
    expect(archDirectoryNames('aarch64')).toEqual(['aarch64', 'arm64']);
    expect(archDirectoryNames('amd64')).toEqual(['amd64', 'x86_64']);
    expect(archDirectoryNames('s390x')).toEqual(['s390x']);
    const f = parseKernelFilter({ distros: ['centos/8'], arches: ['aarch64'] });
    expect(kernelFilterMatches(f, { id: 'centos', version: '8', arch: 'arm64' })).toBe(true);
    expect(kernelFilterMatches(f, { id: 'centos', version: '7', arch: 'arm64' })).toBe(false);
    expect(kernelFilterMatches(f, { id: 'centos', version: '8', arch: 'x86_64' })).toBe(false);
    expect(kernelFilterMatches(parseKernelFilter(), { id: 'x', version: 'y', arch: 'z' })).toBe(true);
  });
});
