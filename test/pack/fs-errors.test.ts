// What `btfgen pack` says when the output cannot be written (issue 13): a full file system names
// the output file with ENOSPC; an output under a missing directory of a read-only file system
// says EROFS (node's recursive mkdir said ENOENT). Each runs on a small tmpfs mounted here;
// skipped, saying why, where mounting is not permitted. Needs the build (dist/).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertDistFresh, BIN, EXAMPLE_ARCHIVE, EXAMPLE_OBJECT } from '../helpers/env.js';
import { tempDir } from './helpers.js';

/** Mounts a tmpfs (`opts`) at a new directory; undefined and the reason when not permitted. */
function mountTmpfs(dir: string, opts: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `cannot mount a tmpfs here (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()})`;
}

const work = tempDir('btfgen-pack-fs-');
const full = join(work, 'full');
const ro = join(work, 'ro');
const why = mountTmpfs(full, 'size=64k') ?? mountTmpfs(ro, 'ro,size=64k');
if (why) {
  spawnSync('umount', [full]); // the first may have worked
  rmSync(work, { recursive: true, force: true });
}

function pack(output: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'pack', EXAMPLE_OBJECT, '--archive', EXAMPLE_ARCHIVE, '-o', output, '--cache-dir', join(work, 'cache'), '-q'], {
    encoding: 'utf8',
  });
  return { status: r.status, stderr: r.stderr };
}

describe.skipIf(why !== undefined)(`pack on a full or read-only file system${why ? ` (skipped: ${why})` : ''}`, () => {
  beforeAll(() => assertDistFresh());
  afterAll(() => {
    for (const d of [full, ro]) spawnSync('umount', [d]);
    rmSync(work, { recursive: true, force: true });
  });

  it('a full file system: ENOSPC naming the output file, nothing left behind', () => {
    // Fill the tmpfs to the last byte.
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${join(full, 'fill')}`, 'bs=4k'], { stdio: 'ignore' });
    } catch {
      /* dd stops with ENOSPC */
    }
    const out = join(full, 'out.tar.gz');
    const r = pack(out);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(`Error: cannot write ${out}: no space left on device (ENOSPC)`);
    expect(readdirSync(full)).toEqual(['fill']);
  });

  it('an output under a missing directory of a read-only file system: EROFS, not ENOENT', () => {
    const out = join(ro, 'missing', 'sub', 'out.tar.gz');
    const r = pack(out);
    expect(r.status).toBe(1);
    // (pack's preflight check or the write itself: either way EROFS, naming the output)
    expect(r.stderr.trim()).toMatch(new RegExp(`^Error: cannot (write ${out}|create directory ${join(ro, 'missing')}): .*read-only file system`));
    expect(r.stderr).not.toMatch(/ENOENT|no such file/i);
    const direct = pack(join(ro, 'out.tar.gz'));
    expect(direct.stderr.trim()).toMatch(new RegExp(`^Error: cannot write ${join(ro, 'out.tar.gz')}: .*read-only file system`));
  });
});
