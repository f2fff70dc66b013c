// vitest globalSetup (vitest.config.ts): the suites never fill the user's real btfhub caches.
// pack and check keep decompressed kernels in $BTFHUB_CACHE/kernel-cache and results in
// $BTFHUB_CACHE/pack-cache, by default under ~/.cache/eunomia/btfhub (src/archive/paths.ts:
// resolveCacheDir); a test that runs them without --kernel-cache/--cache-dir or an `env` would
// write there. Unless the caller chose a cache (BTFHUB_CACHE or BTFHUB_CACHE_DIR set), the run
// gets its own in the temp directory, inherited by every worker and spawned CLI, and removed at
// the end. BTFGEN_TEST_CACHE names it, so test/cache-isolation.test.ts can tell.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  if (process.env.BTFHUB_CACHE?.trim() || process.env.BTFHUB_CACHE_DIR?.trim()) return () => {};
  const dir = mkdtempSync(join(tmpdir(), 'btfgen-test-btfhub-cache-'));
  process.env.BTFHUB_CACHE = dir;
  process.env.BTFGEN_TEST_CACHE = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
