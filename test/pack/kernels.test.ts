// The kernel source (src/pack/kernels.ts) that pack, `btfgen check` and a kernel cache share:
// the selected kernels of an archive and each one's full BTF, checked against what GNU tar and
// xz extract (the reference tools), never against our own reader.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openKernelSource } from '../../src/pack/kernels.js';
import { ArchiveError } from '../../src/errors.js';
import { EXAMPLE_ARCHIVE } from '../helpers/env.js';
import { buildArchive, cleanupTemps, listFiles, tempDir } from './helpers.js';

afterAll(cleanupTemps);

/** What `tar -xJf` puts on disk for a .btf.tar.xz. */
function tarExtract(file: string): Buffer {
  const dir = tempDir('btfgen-kernels-ref-');
  execFileSync('tar', ['-xJf', file, '-C', dir]);
  const files = listFiles(dir);
  expect(files).toHaveLength(1);
  return readFileSync(join(dir, files[0]!));
}

describe('openKernelSource', () => {
  it('lists the selected kernels and reads each one as tar + xz extract it', async () => {
    const src = await openKernelSource({ archive: EXAMPLE_ARCHIVE, arches: ['x86_64'] });
    expect(src.kernels.length).toBeGreaterThan(0);
    expect(src.kernels.every((k) => k.arch === 'x86_64')).toBe(true);
    for (const k of src.kernels) {
      const got = await src.read(k);
      const want = k.format === 'btf' ? readFileSync(k.path) : tarExtract(k.path);
      expect(Buffer.from(got.btf).equals(want)).toBe(true);
    }
  });

  it('lists a dangling link as a kernel with a problem, and read() refuses it', async () => {
    const root = tempDir('btfgen-kernels-');
    const good = listFiles(EXAMPLE_ARCHIVE).find((f) => f.endsWith('.btf.tar.xz'))!;
    buildArchive(root, [{ rel: good, copy: join(EXAMPLE_ARCHIVE, good) }]);
    mkdirSync(join(root, 'x/1/x86_64'), { recursive: true });
    symlinkSync(join(root, 'nowhere'), join(root, 'x/1/x86_64/gone.btf'));
    const src = await openKernelSource({ archive: root });
    const gone = src.kernels.find((k) => k.release === 'gone')!;
    expect(gone.problem).toBe('a dangling symbolic link');
    await expect(src.read(gone)).rejects.toThrow(ArchiveError);
  });

  it('an archive without a selected kernel is an ArchiveError', async () => {
    await expect(openKernelSource({ archive: EXAMPLE_ARCHIVE, distros: ['nosuchdistro'] })).rejects.toThrow(/no kernels matching/);
  });
});
