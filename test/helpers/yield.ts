// Loaded before every test file (vitest.config.ts setupFiles). A vitest worker reports each
// test to the main process over an RPC that times out after 60 s; the answer is a message the
// worker only reads when its event loop turns. Suites of synchronous tests that spawn
// bpftool (spawnSync) can keep the loop from turning for longer than that (the 90-kernel dump
// parity suite: ~45 s), and then the timer, which runs before pending messages, reports
// "Timeout calling onTaskUpdate" although every answer had arrived. Letting the loop turn
// after each test keeps it from happening.
import { afterEach } from 'vitest';

afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
