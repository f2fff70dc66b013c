// Prints vitest's JSON report as one plain closing line: "Tests: N passed, N failed, N skipped".
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
console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(r.success ? 0 : 1);
