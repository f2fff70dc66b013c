// The suites never fill the user's real btfhub caches (issue 16): vitest's globalSetup
// (test/helpers/cache-isolation.ts) gives the run its own BTFHUB_CACHE, so a pack run the way a
// user runs it, with no cache option at all, keeps its kernels and results there and leaves
// ~/.cache/eunomia/btfhub alone. The kernel is made unique to this run (same BTF, another tar
// header), so its kernel-cache entry can only come from this pack, whatever else runs at once.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, EXAMPLE_ARCHIVE, EXAMPLE_OBJECT, HAVE_XZ } from './helpers/env.js';
import { tarArchive, xz } from './helpers/tar.js';

const RUN_CACHE = process.env.BTFGEN_TEST_CACHE;
/** Where the caches go by default (src/archive/paths.ts: DEFAULT_CACHE under $HOME). */
const REAL_CACHE = join(process.env.HOME ?? '/root', '.cache/eunomia/btfhub');
const RELEASE = '6.1.0-56-cloud-amd64';

/** The caller chose a cache (then the setup leaves it, and this run may write there). */
const CALLER_CACHE = !RUN_CACHE && !!(process.env.BTFHUB_CACHE?.trim() || process.env.BTFHUB_CACHE_DIR?.trim());

const why = CALLER_CACHE
  ? 'BTFHUB_CACHE or BTFHUB_CACHE_DIR was set by the caller: the run uses that cache'
  : !HAVE_XZ
    ? 'xz not installed (apt-get install xz-utils)'
    : '';

function countFiles(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n++;
  return n;
}

describe.skipIf(!!why)(`test runs have their own btfhub cache${why ? ` (skipped: ${why})` : ''}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'btfgen-cache-isolation-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('BTFHUB_CACHE is a directory of this run, under the temp directory, not the home directory', () => {
    expect(RUN_CACHE, 'vitest.config.ts globalSetup test/helpers/cache-isolation.ts did not run').toBeDefined();
    expect(process.env.BTFHUB_CACHE).toBe(RUN_CACHE);
    expect(RUN_CACHE!.startsWith(join(tmpdir(), 'btfgen-test-btfhub-cache-'))).toBe(true);
    expect(existsSync(RUN_CACHE!)).toBe(true);
  });

  it("a pack with no cache option fills the run's kernel and result caches, not ~/.cache/eunomia/btfhub", () => {
    // This run's kernel: the example kernel's BTF (extracted by the system tar) in a tar whose
    // header time no other archive has; the kernel cache keys entries by the file's sha256.
    const btf = execFileSync('tar', ['-xOJf', join(EXAMPLE_ARCHIVE, `debian/12/x86_64/${RELEASE}.btf.tar.xz`)], { maxBuffer: 1 << 28 });
    const archive = join(work, 'archive');
    const kernel = join(archive, `debian/12/x86_64/${RELEASE}.btf.tar.xz`);
    mkdirSync(join(archive, 'debian/12/x86_64'), { recursive: true });
    writeFileSync(kernel, xz(tarArchive([{ name: `${RELEASE}.btf`, data: btf, mtime: Math.floor(Date.now() / 1000) - Math.floor(Math.random() * 1e6) }])));
    const id = createHash('sha256').update(readFileSync(kernel)).digest('hex');
    const entry = join('kernel-cache/v1', id.slice(0, 2), `${id}.kbtf`);
    const realBefore = countFiles(join(REAL_CACHE, 'kernel-cache'));
    expect(existsSync(join(REAL_CACHE, entry))).toBe(false);
    const runCache = RUN_CACHE ?? REAL_CACHE; // without the setup, the pack writes to the real cache (and fails below)
    expect(existsSync(join(runCache, entry))).toBe(false);

    const out = join(work, 'out.tar.gz');
    const r = spawnSync(process.execPath, [BIN, 'pack', EXAMPLE_OBJECT, '--archive', archive, '-o', out, '-q'], { encoding: 'utf8', env: process.env });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);

    expect(existsSync(join(REAL_CACHE, entry)), `the pack wrote ${entry} to ${REAL_CACHE}`).toBe(false);
    expect(existsSync(join(runCache, entry))).toBe(true);
    expect(countFiles(join(runCache, 'pack-cache'))).toBeGreaterThan(0);
    // (other processes may use the real cache meanwhile; this pack's entry is the one that counts)
    console.log(`cache isolation: ${runCache} got ${entry}; ${REAL_CACHE}/kernel-cache held ${realBefore} files before, ${countFiles(join(REAL_CACHE, 'kernel-cache'))} after`);
  });
});
