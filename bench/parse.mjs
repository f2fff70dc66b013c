#!/usr/bin/env node
// Format-layer benchmark (figures are printed, not asserted). Needs a build: `npx tsc -p .`.
//   node bench/parse.mjs [--runs N]
// 1. parseBtf (validating parse + offsets index) of /sys/kernel/btf/vmlinux     target <= 40 ms
// 2. the same on a 44 MB non-deduplicated kernel (centos/8 4.18.0-147)          target <= 400 ms, <= 250 MB RSS
//    (RSS measured in a fresh child process: peak resident set, VmHWM)
// 3. `btfgen dump FILE` vs `bpftool btf dump file FILE`, wall time to /dev/null, best of N.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const dist = join(repo, 'dist/btf/btf.js');
if (!existsSync(dist)) {
  console.error('bench/parse.mjs: dist/ not built; run `npx tsc -p .` first');
  process.exit(1);
}
const { parseBtf } = await import(dist);

const argRuns = process.argv.indexOf('--runs');
const RUNS = argRuns > 0 ? Number(process.argv[argRuns + 1]) : 5;
const data = resolve(repo, '../shared/data');
const VMLINUX = '/sys/kernel/btf/vmlinux';
const NON_DEDUP = join(data, 'btfhub-archive-demo/centos/8/x86_64/4.18.0-147.el8.x86_64.btf.tar.xz');
const CILIUM = join(data, 'btf/cilium-testdata-7.1-amd64.btf.xz');
const tmp = mkdtempSync(join(tmpdir(), 'btfgen-bench-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], first: xs[0] };
};
const ms = (v) => `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ms`;

function untar(file) {
  const dir = mkdtempSync(join(tmp, 'k-'));
  const r = spawnSync('tar', ['-xJf', file, '-C', dir]);
  if (r.status !== 0) return undefined;
  return join(dir, readdirSync(dir)[0]);
}
function unxz(file, name) {
  const r = spawnSync('xz', ['-dc', file], { maxBuffer: 1 << 30 });
  if (r.status !== 0) return undefined;
  const out = join(tmp, name);
  writeFileSync(out, r.stdout);
  return out;
}

/** In-process parse timings: first (cold) and best/median of `runs`. */
function timeParse(bytes, runs) {
  const xs = [];
  let count = 0;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    count = parseBtf(bytes).count;
    xs.push(performance.now() - t);
  }
  return { ...stats(xs), count };
}

/** Parse in a fresh node process; returns its peak RSS (VmHWM) and the baseline of an idle node. */
function childRss(path) {
  const script = `
    const { parseBtf } = await import(${JSON.stringify(dist)});
    const fs = await import('node:fs');
    const hwm = () => Number(/VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
    const base = hwm();
    const bytes = fs.readFileSync(${JSON.stringify(path)});
    const t = performance.now();
    const btf = parseBtf(bytes);
    const took = performance.now() - t;
    // Touch every type so lazily built state (if any) is counted too.
    let k = 0; for (let id = 1; id < btf.typeCount; id++) k += btf.kind(id);
    console.log(JSON.stringify({ base, peak: hwm(), took, k }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

/** Best wall time of `runs` runs of a command writing to /dev/null. */
function timeCmd(cmd, args, runs) {
  const xs = [];
  for (let i = 0; i < runs; i++) {
    const out = openSync('/dev/null', 'w');
    const t = performance.now();
    const r = spawnSync(cmd, args, { stdio: ['ignore', out, 'pipe'] });
    xs.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  }
  return stats(xs);
}

const rows = [];
const row = (...cells) => rows.push(cells);

// 1-2. parse + index
const inputs = [];
if (existsSync(VMLINUX)) inputs.push({ label: 'vmlinux (/sys/kernel/btf)', path: VMLINUX, target: 40 });
const nd = existsSync(NON_DEDUP) ? untar(NON_DEDUP) : undefined;
if (nd) inputs.push({ label: 'centos 4.18.0-147 (44 MB, non-dedup)', path: nd, target: 400, rssTarget: 250 });
else console.log(`(skipping the 44 MB kernel: ${NON_DEDUP} not found)`);

console.log(`node ${process.version}, ${RUNS} runs each\n`);
console.log('parseBtf: validating parse + offsets index');
console.log('| input | size | types | first | best | median | target | peak RSS (child) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const inp of inputs) {
  const bytes = readFileSync(inp.path);
  const t = timeParse(bytes, Math.max(RUNS, 10));
  const rss = childRss(inp.path);
  const mb = (v) => `${(v / 1048576).toFixed(0)} MB`;
  console.log(
    `| ${inp.label} | ${mb(bytes.length)} | ${t.count} | ${ms(t.first)} | ${ms(t.min)} | ${ms(t.median)} | <= ${inp.target} ms | ${mb(rss.peak)} (idle node ${mb(rss.base)})${inp.rssTarget ? `, target <= ${inp.rssTarget} MB` : ''} |`,
  );
}

// 3. dump vs bpftool
const haveBpftool = spawnSync('bpftool', ['version']).status === 0;
if (!haveBpftool) {
  console.log('\n(bpftool not installed: dump comparison skipped)');
  process.exit(0);
}
const dumpInputs = [...inputs];
const cil = existsSync(CILIUM) ? unxz(CILIUM, 'cilium.btf') : undefined;
if (cil) dumpInputs.splice(1, 0, { label: 'cilium 7.1 amd64 (4.5 MB, 32-byte header)', path: cil });
const bin = join(repo, 'bin/btfgen');
console.log(`\nbtfgen dump vs bpftool btf dump (wall time to /dev/null incl. process start, best of ${RUNS})`);
console.log('| input | output | bpftool 7.1 | btfgen dump | btfgen/bpftool | read+parse+dump inside btfgen (cold) |');
console.log('|---|---|---|---|---|---|');
for (const inp of dumpInputs) {
  const b = timeCmd('bpftool', ['btf', 'dump', 'file', inp.path], RUNS);
  const o = timeCmd(process.execPath, [bin, 'dump', inp.path], RUNS);
  const inner = [];
  let size = 0;
  for (let i = 0; i < RUNS; i++) {
    const r = innerDump(inp.path);
    inner.push(r.took);
    size = r.size;
  }
  console.log(
    `| ${inp.label} | ${(size / 1048576).toFixed(0)} MB | ${ms(b.min)} | ${ms(o.min)} | ${(o.min / b.min).toFixed(2)}x | ${ms(stats(inner).min)} |`,
  );
}
const idle = timeCmd(process.execPath, ['-e', '0'], RUNS);
const version = timeCmd(process.execPath, [bin, '--version'], RUNS);
console.log(`\n(node start-up alone: ${ms(idle.min)}; \`btfgen --version\` (start-up + loading the CLI): ${ms(version.min)})`);

/** Time of read + loadBtf + dump in a fresh process (cold JIT), without CLI start-up. */
function innerDump(path) {
  const script = `
    const { loadBtf } = await import(${JSON.stringify(join(repo, 'dist/btf/object.js'))});
    const { dumpBtfChunks } = await import(${JSON.stringify(join(repo, 'dist/btf/dump.js'))});
    const fs = await import('node:fs');
    const t = performance.now();
    const btf = loadBtf(fs.readFileSync(${JSON.stringify(path)})).btf;
    let size = 0;
    for (const c of dumpBtfChunks(btf)) size += c.length;
    console.log(JSON.stringify({ took: performance.now() - t, size }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}
