#!/usr/bin/env node
// Benchmark: whole-process `bin/btfgen minimize` (run as a user runs it, through the launcher) vs `bpftool gen min_core_btf`, side by
// side, printed as ratios (btfgen / bpftool; lower is better). Each command runs alternately
// under /usr/bin/time; the medians of wall-clock and CPU (user+sys) time are reported, the
// latter being robust when other work shares the machine. Outputs are checked byte for byte.
//
//   npm run build && node bench/minimize.mjs [--runs N] [--heavy]
//
// Scenarios (the targets of issue #3):
//   vmlinux-many   the running kernel, tens of objects at once           target <= 1.0x
//   centos-44mb    the 44 MB non-deduplicated CentOS 8 kernel, same set   target <= 0.5x
//   roots-600      one object with 600 distinct root types, running kernel target <= 0.1x
//   --heavy adds roots-600 on the 44 MB kernel (bpftool needs several seconds per run).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin/btfgen');
const FIXTURES = join(ROOT, 'test/fixtures/bpf');
const DATA = resolve(ROOT, '../shared/data');
const VMLINUX = '/sys/kernel/btf/vmlinux';
const CENTOS = join(DATA, 'btfhub-archive-demo/centos/8/x86_64/4.18.0-147.0.3.el8_1.x86_64.btf.tar.xz');

const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 7;
const HEAVY = args.includes('--heavy');

function die(msg) {
  console.error(`bench/minimize: ${msg}`);
  process.exit(1);
}
if (!existsSync(join(ROOT, 'dist/cli/index.js'))) die('dist/ is not built: run `npm run build` first');
if (spawnSync('bpftool', ['version']).status !== 0) die('bpftool not found (apt-get install bpftool)');
if (!existsSync('/usr/bin/time')) die('/usr/bin/time not found (apt-get install time)');

const tmp = mkdtempSync(join(tmpdir(), 'btfgen-bench-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

/** Runs a command under /usr/bin/time; returns wall and CPU seconds. */
// Wall time from a monotonic clock around the run (sub-millisecond; /usr/bin/time's %e has
// 10 ms steps, too coarse for 0.1 s runs); CPU time (user + sys) from /usr/bin/time.
function timed(cmd, argv) {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '@@%e %U %S', cmd, ...argv], { encoding: 'latin1', maxBuffer: 1 << 26 });
  const wall = (performance.now() - t0) / 1000;
  const m = /@@([\d.]+) ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr ?? '');
  if (!m) throw new Error(`cannot time ${cmd}: ${r.stderr}`);
  const status = /Command exited with non-zero status (\d+)/.exec(r.stderr);
  return { ok: !status, wall, cpu: Number(m[2]) + Number(m[3]), stderr: r.stderr };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function bpftoolArgs(input, out, objs) {
  return ['gen', 'min_core_btf', input, out, ...objs];
}
function btfgenArgs(input, out, objs) {
  return ['minimize', input, out, ...objs];
}

/** Fixture objects bpftool minimizes successfully (alone) against `input`. */
function okObjects(input, exclude = /many_roots/) {
  const out = [];
  for (const f of readdirSync(FIXTURES).sort()) {
    if (!f.endsWith('.o') || exclude.test(f)) continue;
    const p = join(FIXTURES, f);
    if (spawnSync('bpftool', bpftoolArgs(input, join(tmp, 'probe.btf'), [p]), { stdio: 'ignore' }).status === 0) out.push(p);
  }
  return out;
}

function scenario(name, input, objs, goal) {
  const refOut = join(tmp, `${name}.bpftool.btf`);
  const ourOut = join(tmp, `${name}.btfgen.btf`);
  // warm-up (page cache, loader) and correctness
  const w1 = timed('bpftool', bpftoolArgs(input, refOut, objs));
  const w2 = timed(BIN, btfgenArgs(input, ourOut, objs));
  if (!w1.ok) die(`${name}: bpftool failed: ${w1.stderr}`);
  if (!w2.ok) die(`${name}: btfgen failed: ${w2.stderr}`);
  const same = Buffer.compare(readFileSync(refOut), readFileSync(ourOut)) === 0;
  const b = { wall: [], cpu: [] };
  const o = { wall: [], cpu: [] };
  for (let i = 0; i < RUNS; i++) {
    const x = timed('bpftool', bpftoolArgs(input, refOut, objs));
    const y = timed(BIN, btfgenArgs(input, ourOut, objs));
    b.wall.push(x.wall);
    b.cpu.push(x.cpu);
    o.wall.push(y.wall);
    o.cpu.push(y.cpu);
  }
  const row = {
    name,
    objects: objs.length,
    bytes: statSync(ourOut).size,
    identical: same,
    bpftoolWall: median(b.wall),
    btfgenWall: median(o.wall),
    bpftoolCpu: median(b.cpu),
    btfgenCpu: median(o.cpu),
    goal,
  };
  row.wallRatio = row.btfgenWall / row.bpftoolWall;
  row.cpuRatio = row.btfgenCpu / Math.max(row.bpftoolCpu, 0.005);
  return row;
}

const rows = [];
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`bench/minimize: ${RUNS} alternating runs per command; load average ${load()}`);

// node start-up alone, for reference
{
  const v = [];
  const n = [];
  const bare = [];
  const { NODE_EXTRA_CA_CERTS: extraCa, ...noCa } = process.env;
  for (let i = 0; i < RUNS; i++) {
    v.push(timed(BIN, ['--version']).wall);
    n.push(timed(process.execPath, ['-e', '0']).wall);
    if (extraCa !== undefined) {
      const r = spawnSync('/usr/bin/time', ['-f', '@@%e', process.execPath, '-e', '0'], { encoding: 'latin1', env: noCa });
      bare.push(Number(/@@([\d.]+)/.exec(r.stderr)?.[1] ?? NaN));
    }
  }
  console.log(`node -e 0: ${median(n).toFixed(3)} s; bin/btfgen --version: ${median(v).toFixed(3)} s`);
  if (extraCa !== undefined) {
    console.log(`NODE_EXTRA_CA_CERTS is set (${extraCa}): node -e 0 without it: ${median(bare).toFixed(3)} s (bin/btfgen starts node without it)`);
  }
}

if (existsSync(VMLINUX)) {
  const objs = okObjects(VMLINUX);
  rows.push(scenario('vmlinux-many', VMLINUX, objs, 1.0));
  const many = join(FIXTURES, 'many_roots_vmlinux.o');
  if (existsSync(many)) rows.push(scenario('roots-600', VMLINUX, [many], 0.1));
  else console.log('roots-600: test/fixtures/bpf/many_roots_vmlinux.o missing (scripts/build-fixtures.sh): skipped');
} else console.log(`${VMLINUX} missing: vmlinux scenarios skipped`);

if (existsSync(CENTOS)) {
  const raw = join(tmp, 'centos-147.btf');
  const r = spawnSync('tar', ['-xOJf', CENTOS], { maxBuffer: 1 << 30 });
  if (r.status !== 0) die(`cannot extract ${CENTOS}`);
  writeFileSync(raw, r.stdout);
  const objs = okObjects(raw);
  rows.push(scenario('centos-44mb', raw, objs, 0.5));
  const many = join(FIXTURES, 'many_roots_vmlinux.o');
  if (HEAVY && existsSync(many)) rows.push(scenario('roots-600-44mb', raw, [many], 0.1));
} else console.log(`${CENTOS} missing: 44 MB kernel scenario skipped`);

const pad = (s, n) => String(s).padEnd(n);
const num = (x) => x.toFixed(3).padStart(7);
console.log('');
console.log(`${pad('scenario', 16)}${pad('objs', 5)} ${pad('bpftool s', 10)}${pad('btfgen s', 10)}${pad('ratio', 7)}| ${pad('cpu bpftool', 12)}${pad('cpu btfgen', 11)}${pad('ratio', 7)}| goal   identical`);
for (const r of rows) {
  console.log(
    `${pad(r.name, 16)}${pad(r.objects, 5)} ${num(r.bpftoolWall)}   ${num(r.btfgenWall)}  ${r.wallRatio.toFixed(2).padStart(5)}x | ` +
      `${num(r.bpftoolCpu)}     ${num(r.btfgenCpu)}   ${r.cpuRatio.toFixed(2).padStart(5)}x | <=${r.goal.toFixed(1)}x ${r.identical ? 'yes' : 'NO'}`,
  );
}
console.log(`load average after: ${load()}`);
if (rows.some((r) => !r.identical)) process.exitCode = 1;
