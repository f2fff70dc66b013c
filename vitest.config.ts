import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    // lets each worker's event loop turn between tests (see the file)
    setupFiles: ['test/helpers/yield.ts'],
    // a per-run temp directory (TMPDIR), removed at the end, and a per-run BTFHUB_CACHE in it,
    // so that no test fills ~/.cache/eunomia/btfhub (see the files)
    globalSetup: ['test/helpers/run-tmp.ts', 'test/helpers/cache-isolation.ts'],
    hookTimeout: 300_000,
    // Two cores on CI: differential suites spawn bpftool; keep parallelism modest.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
