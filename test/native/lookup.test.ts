// The C helper against the shared lookup table (test/runtime/lookup-cases.tsv), plus its public
// API (native/test/api_test.c) with real archives: built as shipped, and again with ASan, LSan and
// UBSan (any memory error, leak or undefined behaviour fails the run).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CASES_PATH } from '../runtime/helpers.js';
import { buildForeignArchive, buildHostArchive, cToolsMissing, loaderToolsMissing, make, NATIVE, SANITIZE_CFLAGS, SANITIZE_ENV, sanitizersMissing, tempDir, thisHost } from './build.js';

const cMissing = cToolsMissing();
if (cMissing) console.warn(`skipping the C helper tests: ${cMissing}`);

const sanMissing = cMissing ?? sanitizersMissing();
if (!cMissing && sanMissing) console.warn(`skipping the sanitized C helper tests: ${sanMissing}`);
const VARIANTS = [
  { name: 'native btf_helpers.c', cflags: undefined, env: {}, missing: cMissing },
  { name: 'native btf_helpers.c with ASan, LSan and UBSan', cflags: SANITIZE_CFLAGS, env: SANITIZE_ENV, missing: sanMissing },
];

for (const v of VARIANTS) {
  describe.skipIf(v.missing !== undefined)(v.name, () => {
    let build: string;
    beforeAll(async () => {
      build = await tempDir('btfgen-native-');
      make(['-C', NATIVE, `BUILD=${build}`, `LIB=${join(build, 'libbpf_compatible.a')}`, ...(v.cflags ? [`CFLAGS=${v.cflags}`] : []), 'all', 'tests']);
    });
    afterAll(async () => {
      if (build) await rm(build, { recursive: true, force: true });
    });

    it('builds libbpf_compatible.a with the public API and weak archive symbols', () => {
      const syms = execFileSync('nm', [join(build, 'libbpf_compatible.a')], { encoding: 'utf8' });
      for (const fn of [
        'ensure_core_btf',
        'ensure_core_btf_tar',
        'cleanup_core_btf',
        'ensure_core_btf_with_tar_binary',
        'ensure_core_btf_with_linked_tar',
        'clean_core_btf_rs',
      ]) {
        expect(syms).toMatch(new RegExp(`^[0-9a-f]+ T ${fn}$`, 'm'));
      }
      expect(syms).toMatch(/^\s+w _binary_min_core_btfs_tar_gz_start$/m);
      expect(syms).toMatch(/^\s+w _binary_min_core_btfs_tar_gz_end$/m);
    });

    it('passes every case of the shared lookup table', () => {
      const r = spawnSync(join(build, 'lookup_test'), [CASES_PATH], { encoding: 'utf8', env: { ...process.env, ...v.env } });
      expect(r.stdout).toMatch(/^lookup_test: \d+ passed, 0 failed$/m);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(Number(r.stdout.match(/(\d+) passed/)![1])).toBeGreaterThan(150);
    });

    const loaderMissing = loaderToolsMissing();
    it.skipIf(loaderMissing !== undefined)(`public API with real archives${loaderMissing ? ` (skipped: ${loaderMissing})` : ''}`, async () => {
      // Any small CO-RE object will do for min_core_btf: the example's.
      make(['-C', join(NATIVE, 'example'), `BUILD=${build}`, 'bpf']);
      const obj = join(build, 'execwatch.bpf.o');
      const good = await buildHostArchive(build, obj, await thisHost());
      const foreign = await buildForeignArchive(build, obj);
      const tmp = join(build, 'tmp');
      await mkdir(tmp);
      const r = spawnSync(join(build, 'api_test'), [good.archive, foreign], {
        encoding: 'utf8',
        env: { ...process.env, ...v.env, TMPDIR: tmp, BTF_FILE_PATH: '', BTFGEN_FORCE_ARCHIVE: '' },
      });
      expect(r.stdout).toMatch(/^api_test: \d+ passed, 0 failed$/m);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(await readdir(tmp)).toEqual([]);
      // The failures it provokes are reported on stderr, one line each.
      expect(r.stderr).toMatch(/^btf_helpers: no BTF for this host in the archive: tried /m);
      expect(r.stderr).toMatch(/^btf_helpers: the kernel has no BTF .* and no BTF archive is linked into this program$/m);
    });
  });
}
