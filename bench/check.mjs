#!/usr/bin/env node
// bench/check: `btfgen check`, `btfgen pack --report` and `btfgen pack --verify` side by side with
// `btfgen pack` over the same archive and the same objects (alternating runs, one at a time),
// printed as ratios of medians with the load average (issue 15's targets: check <= 1.2x pack,
// --report and --verify each <= 1.15x).
//
//   npm run build && node bench/check.mjs [--archive DIR] [--objects N] [--runs N] [--jobs N]
//   node bench/check.mjs --load [--archive DIR] [--runs N]
//
// --load: the cost of the load checks (issue 18) instead: `check` with and without them
// (the hidden --no-load-checks), alternating, and in this process, per kernel, the time of the
// CO-RE stage (analyzeObject for every object) against the load stage (readKernelFacts on the
// same parsed BTF + programVerdict for every program), the xz decompression left out.
//
// Objects: see below (first N with --objects). pack runs with --no-cache and -o to a temp file;
// check with --format json -o to a temp file and --allow-missing. Every command runs with -j JOBS.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ARCHIVE, BIN, CPUS, ROOT, arg, argv, loadAverage, requireArchive, requireBuilt } from './lib/common.mjs';

const RUNS = Number(arg('--runs', '2'));
const JOBS = arg('--jobs', String(CPUS));
requireArchive('check');
requireBuilt('check', 'dist/check/index.js');
const { prepareCheckObject } = await import(path.join(ROOT, 'dist/check/decide.js'));

// Objects pack minimizes for every archive kernel (manifest: expect ok on "archive" targets, no
// exceptions), plus the check guard fixture: distinct objects (pack minimizes exact copies once).
const fixtures = path.join(ROOT, 'test/fixtures/bpf');
const manifest = JSON.parse(readFileSync(path.join(fixtures, 'manifest.json'), 'utf8'));
let objects = manifest.objects
  .filter((o) => o.expect === 'ok' && o.targets?.includes('archive') && !o.archiveExceptions?.length)
  .map((o) => path.resolve(fixtures, o.file))
  .filter((p) => {
    try {
      prepareCheckObject(new Uint8Array(readFileSync(p)), p);
      return true;
    } catch {
      return false; // no .BTF.ext: check has nothing to say about it
    }
  });
objects.push(path.join(ROOT, 'test/check/fixtures/guards.o'));
const n = Number(arg('--objects', String(objects.length)));
objects = objects.slice(0, n);
const work = mkdtempSync(path.join(os.tmpdir(), 'btfgen-bench-check-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

function time(args) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const ms = performance.now() - t;
  if (r.status !== 0) {
    console.error(`bench/check: btfgen ${args[0]} failed (${r.status}): ${r.stderr.trim().split('\n').pop()}`);
    process.exit(1);
  }
  return ms;
}

if (argv.includes('--load')) {
  await loadBench();
  process.exit(0);
}

async function loadBench() {
  const checkArgs = ['check', ...objects, '--archive', ARCHIVE, '--format', 'json', '-o', path.join(work, 'report.json'), '--allow-missing', '-q'];
  const withLoad = [];
  const without = [];
  for (let i = 0; i < RUNS; i++) {
    without.push(time([...checkArgs, '--no-load-checks']));
    withLoad.push(time(checkArgs));
  }
  const { analyzeObject } = await import(path.join(ROOT, 'dist/check/analyze.js'));
  const { prepareTarget } = await import(path.join(ROOT, 'dist/minimize/index.js'));
  const { readKernelFacts } = await import(path.join(ROOT, 'dist/check/load/kernel.js'));
  const { readObjectFacts } = await import(path.join(ROOT, 'dist/check/load/program.js'));
  const { programVerdict, attachFuncNames } = await import(path.join(ROOT, 'dist/check/load/verdict.js'));
  const { kernelSource } = await import(path.join(ROOT, 'dist/check/kernels.js'));
  const objs = objects.map((p) => {
    const bytes = new Uint8Array(readFileSync(p));
    return { obj: prepareCheckObject(bytes, p), facts: readObjectFacts(bytes, p) };
  });
  const roots = new Set(objs.flatMap((o) => [...o.obj.prepared.roots]));
  const funcs = new Set(objs.flatMap((o) => o.facts.programs.flatMap(attachFuncNames)));
  const source = await kernelSource({ archive: ARCHIVE });
  let parse = 0;
  let core = 0;
  let load = 0;
  let facts = 0;
  for (const k of source.kernels) {
    const bytes = await source.read(k);
    let t = performance.now();
    const target = prepareTarget(bytes, { name: k.key });
    parse += performance.now() - t;
    t = performance.now();
    target.index.ensure(roots);
    for (const o of objs) analyzeObject(o.obj, target);
    core += performance.now() - t;
    t = performance.now();
    const kf = readKernelFacts(target.btf, { funcs });
    facts += performance.now() - t;
    for (const o of objs) for (const p of o.facts.programs) programVerdict(p, kf, {});
    load += performance.now() - t;
  }
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`objects ${objects.length}, kernels ${source.kernels.length}, runs ${RUNS}, load average ${loadAverage(1)}`);
  console.log(`check without load checks  median ${s(med(without))}  (${without.map(s).join(', ')})`);
  console.log(`check with load checks     median ${s(med(withLoad))}  (${withLoad.map(s).join(', ')})`);
  console.log(`with / without = ${(med(withLoad) / med(without)).toFixed(3)}x wall`);
  console.log(`stages over all kernels (in process): BTF parse ${s(parse)}, CO-RE ${s(core)}, load checks ${s(load)} (kernel facts ${s(facts)}) = ${((100 * load) / (parse + core)).toFixed(1)}% of parse + CO-RE, ${((100 * load) / med(without)).toFixed(1)}% of check's wall time`);
}

const packArgs = ['pack', ...objects, '--archive', ARCHIVE, '--no-cache', '-q', '-j', JOBS, '-o', path.join(work, 'out.tar.gz')];
const checkArgs = ['check', ...objects, '--archive', ARCHIVE, '--format', 'json', '-o', path.join(work, 'report.json'), '--allow-missing', '-q', '-j', JOBS];
const reportArgs = [...packArgs, '--report', path.join(work, 'pack-report.json')];
const verifyArgs = [...packArgs, '--verify'];
const pack = [];
const check = [];
const report = [];
const verify = [];
const loads = [];
for (let i = 0; i < RUNS; i++) {
  loads.push(os.loadavg()[0]);
  pack.push(time(packArgs));
  check.push(time(checkArgs));
  report.push(time(reportArgs));
  verify.push(time(verifyArgs));
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const kernels = spawnSync('find', [ARCHIVE, '-name', '*.btf.tar.xz'], { encoding: 'utf8' }).stdout.trim().split('\n').length;
const size = statSync(path.join(work, 'report.json')).size;
const same = readFileSync(path.join(work, 'report.json'), 'utf8') === readFileSync(path.join(work, 'pack-report.json'), 'utf8');
console.log(`objects ${objects.length}, kernels ${kernels}, runs ${RUNS}, -j ${JOBS}, 1-min load at each round ${loads.map((x) => x.toFixed(1)).join(' ')}, now ${loadAverage(1)}`);
const line = (name, a) => console.log(`${name.padEnd(14)} median ${(med(a) / 1000).toFixed(2)} s  (${a.map((x) => (x / 1000).toFixed(2)).join(', ')})`);
line('pack', pack);
line('check', check);
line('pack --report', report);
line('pack --verify', verify);
console.log(`check / pack = ${(med(check) / med(pack)).toFixed(2)}x   pack --report / pack = ${(med(report) / med(pack)).toFixed(2)}x   pack --verify / pack = ${(med(verify) / med(pack)).toFixed(2)}x   (wall, medians)`);
console.log(`json report ${(size / 1024).toFixed(0)} KiB; pack --report's report ${same ? 'identical to' : 'DIFFERS from'} check's`);
