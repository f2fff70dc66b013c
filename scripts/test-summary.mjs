// Prints vitest's JSON report as one plain closing line: "Tests: N passed, N failed, N skipped".
// Usage: node scripts/test-summary.mjs test-results.json [VITEST_EXIT_STATUS]
import { readFileSync } from 'node:fs';
const file = process.argv[2] ?? 'test-results.json';
let r;
try {
  r = JSON.parse(readFileSync(file, 'utf8'));
} catch (e) {
  console.error(`test-summary: cannot read ${file}: ${e.message}`);
  process.exit(1);
}
const passed = r.numPassedTests ?? 0;
// A suite that fails to load has no failed tests of its own: count it as one failure.
const failed = (r.numFailedTests ?? 0) + ((r.numFailedTests ?? 0) === 0 ? (r.numFailedTestSuites ?? 0) : 0);
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
// vitest's own exit status (second argument) also counts errors outside any test (unhandled
// rejections, worker crashes), which the JSON report's `success` leaves out.
const vitestExit = process.argv[3] === undefined ? 0 : Number(process.argv[3]);
const extra = vitestExit !== 0 && r.success ? ` (vitest exited with ${vitestExit}: errors outside the tests, see above)` : '';
console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped${extra}`);
process.exit(r.success && vitestExit === 0 ? 0 : 1);
