// Opt-in: our dump vs bpftool 7.1 on EVERY kernel of the shared archives (85 + 5 kernels,
// ~3-4 minutes on 2 cores). Run with: BTFGEN_FULL=1 npx vitest run test/btf/dump.full.test.ts
// (or, on any archive tree, after a build: node test/btf/scripts/dump-diff-all.mjs DIR...).
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dumpBtfBytes } from '../../src/btf/dump.js';
import { loadBtf } from '../../src/btf/object.js';
import { listArchiveKernels } from '../helpers/data.js';
import { ARCHIVE_DEMO, ARCHIVE_EXTRA, FULL, HAVE_BPFTOOL, HAVE_SHARED_DATA } from '../helpers/env.js';
import { bpftoolDump, firstDifference, readBytes, untarBtf } from './helpers/dump.js';


describe.skipIf(!FULL || !HAVE_BPFTOOL || !HAVE_SHARED_DATA)('full archive dump parity (BTFGEN_FULL=1)', () => {
  for (const kernel of [...listArchiveKernels(ARCHIVE_DEMO), ...listArchiveKernels(ARCHIVE_EXTRA)]) {
    it(`${kernel.slice(kernel.indexOf('btfhub-archive'))}`, () => {
      const path = untarBtf(kernel);
      const ours = dumpBtfBytes(loadBtf(readBytes(path), { name: basename(path) }).btf);
      const diff = firstDifference(ours, bpftoolDump(path));
      expect(diff, `${kernel}: ${diff}`).toBeUndefined();
    });
  }
});
