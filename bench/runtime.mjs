#!/usr/bin/env node
// btfgen/runtime import cost (figures are printed, not asserted). Needs a build: `npm run build`.
//   node bench/runtime.mjs [--runs N]
// Each run is a fresh node process timing `await import(...)` of: an empty module (the floor),
// node-tar (what a loader would otherwise pull in to read the archive) and btfgen/runtime.
// Target: btfgen/runtime <= 20 ms, i.e. lighter than node-tar.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const runtime = join(repo, 'dist/runtime/index.js');
if (!existsSync(runtime)) {
  console.error('bench/runtime.mjs: dist/ not built; run `npm run build` first');
  process.exit(1);
}
const argRuns = process.argv.indexOf('--runs');
const RUNS = argRuns > 0 ? Number(process.argv[argRuns + 1]) : 9;
const tmp = mkdtempSync(join(tmpdir(), 'btfgen-bench-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const empty = join(tmp, 'empty.mjs');
writeFileSync(empty, 'export {};\n');
const tar = createRequire(join(repo, 'package.json')).resolve('tar');

// NODE_EXTRA_CA_CERTS makes every node start read a certificate file: not ours to measure.
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const probe = 'const t = performance.now(); await import(process.argv[1]); console.log(performance.now() - t);';
function measure(file) {
  const xs = [];
  for (let i = 0; i < RUNS; i++) {
    xs.push(Number(execFileSync(process.execPath, ['--input-type=module', '-e', probe, pathToFileURL(file).href], { encoding: 'utf8', env })));
  }
  xs.sort((a, b) => a - b);
  return { median: xs[Math.floor(xs.length / 2)], min: xs[0] };
}
const rows = [
  ['empty module (floor)', measure(empty)],
  ['node-tar', measure(tar)],
  ['btfgen/runtime', measure(runtime)],
];
console.log(`import cost, fresh process each, ${RUNS} runs (median, best):`);
for (const [name, r] of rows) console.log(`  ${name.padEnd(22)} ${r.median.toFixed(1).padStart(6)} ms  ${r.min.toFixed(1).padStart(6)} ms`);
const [, t, rt] = rows.map((x) => x[1]);
console.log(`btfgen/runtime / node-tar: ${(rt.median / t.median).toFixed(2)}x   (target: <= 20 ms and lighter than node-tar)`);
