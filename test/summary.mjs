// The closing line of a test run, `tests: N passed, N failed, N skipped`, summed
// over vitest JSON reports (the whole suite, and each extra Node version's run).
// A report that is missing or unreadable counts as one failed test: its run
// did not finish. Prints one line per report on stderr, the total on stdout.
//
//   node test/summary.mjs test-results.json test-results-node22.json ...
import { readFileSync } from 'node:fs';

const total = { passed: 0, failed: 0, skipped: 0 };
for (const file of process.argv.slice(2)) {
  let counts;
  try {
    const r = JSON.parse(readFileSync(file, 'utf8'));
    counts = { passed: r.numPassedTests, failed: r.numFailedTests, skipped: r.numPendingTests + (r.numTodoTests || 0) };
  } catch {
    counts = { passed: 0, failed: 1, skipped: 0 };
  }
  for (const k of Object.keys(total)) total[k] += counts[k];
  console.error(`[test] ${file}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
}
console.log(`tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
