#!/usr/bin/env node
// bench/pack-kernel-cache: `btfgen pack` of an archive after the objects changed, with the kernel
// cache wired into pack's kernel source. Three packs of the same objects, alternating in every
// round, each in the state a re-pack after a rebuild finds: the result cache holds no result for
// these objects (every kernel is minimized again) but its stat index knows every archive file
// (copied from an untimed first pack, as the user's earlier packs left it):
//
//   off    --no-kernel-cache: every kernel decompressed by xz (pack without a kernel cache)
//   fill   an empty kernel cache: every kernel decompressed and stored (the first pack)
//   warm   a kernel cache filled beforehand (one untimed pack): no xz at all
//
// Prints each round, the medians, the ratios fill/off and warm/off, whether the three outputs
// are byte-identical, and the load average before and after.
//
// --before DIR: another built checkout (`git worktree add /tmp/before REV`, `npm run build`
// there), e.g. the last one without a kernel cache: a fourth pack in every round, `before`, its
// pack as it runs by default (its own result cache in the same state), and the ratio of fill to
// it: is the first pack with the kernel cache slower than a pack was before there was one?
//
//   npm run build && node bench/pack-kernel-cache.mjs [--archive DIR] [--objects N] [--rounds N] [--jobs N] [--before DIR]
//
// Objects: as bench/pack.mjs (the fixture corpus's realistic tracing objects, renamed copies up
// to --objects; btfgen minimizes each distinct one once).
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ARCHIVE, BIN, CPUS, arg, loadAverage, realisticObjects, requireArchive, requireBuilt, withCopies } from './lib/common.mjs';
import { median, runMeasured } from './lib/pack-measure.mjs';

const NOBJ = Number(arg('--objects', '22'));
const ROUNDS = Number(arg('--rounds', '3'));
const JOBS = Number(arg('--jobs', String(CPUS)));

requireArchive('pack-kernel-cache');
requireBuilt('pack-kernel-cache', 'dist/kcache/index.js');

const work = mkdtempSync(path.join(os.tmpdir(), 'btfgen-bench-pkc-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const distinct = realisticObjects();
const objects = withCopies(distinct, NOBJ, work);

const KC_FILL = path.join(work, 'kc-fill');
const KC_WARM = path.join(work, 'kc-warm');
let serial = 0;

const SEED = path.join(work, 'rc-seed'); // the first pack's result cache: its stat index is copied
const BEFORE = arg('--before', undefined) ? path.resolve(arg('--before')) : undefined;
const BEFORE_BIN = BEFORE && path.join(BEFORE, 'bin/btfgen');
const BEFORE_SEED = path.join(work, 'rc-seed-before'); // the same for the --before checkout
const STAT_INDEX = 'v1/stat-index.json';
// A --before checkout that has a kernel cache runs without it (its pack before the cache).
const beforeFlags = () => (execFileSync(BEFORE_BIN, ['pack', '--help'], { encoding: 'utf8' }).includes('--no-kernel-cache') ? ['--no-kernel-cache'] : []);

async function packOnce(variant, rc = path.join(work, `rc-${++serial}`)) {
  const seed = variant === 'before' ? BEFORE_SEED : SEED;
  // no result for these objects, the stat index of the earlier packs
  if (rc !== seed && existsSync(path.join(seed, STAT_INDEX))) {
    mkdirSync(path.dirname(path.join(rc, STAT_INDEX)), { recursive: true });
    copyFileSync(path.join(seed, STAT_INDEX), path.join(rc, STAT_INDEX));
  }
  const out = path.join(work, `${variant}-${++serial}.tar.gz`);
  const kc = variant === 'before' ? beforeFlags() : variant === 'off' ? ['--no-kernel-cache'] : ['--kernel-cache', variant === 'fill' ? KC_FILL : KC_WARM];
  if (variant === 'fill') rmSync(KC_FILL, { recursive: true, force: true });
  const bin = variant === 'before' ? BEFORE_BIN : BIN;
  // run as a user runs it, through the launcher (bench/pack.mjs does the same)
  const r = await runMeasured(bin, ['pack', ...objects, '--archive', ARCHIVE, '-o', out, '--cache-dir', rc, '--jobs', String(JOBS), '-q', ...kc], { poll: false });
  if (r.code !== 0) {
    console.error(`bench/pack-kernel-cache: ${variant} pack failed:\n${r.stderr}`);
    process.exit(1);
  }
  const sha = createHash('sha256').update(readFileSync(out)).digest('hex');
  if (rc !== seed) rmSync(rc, { recursive: true, force: true });
  rmSync(out, { force: true });
  return { ms: r.ms, busyMs: r.busyMs, sha };
}

const load = () => loadAverage();
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
console.log(`archive: ${ARCHIVE}`);
console.log(`objects: ${objects.length} (${distinct.length} distinct), --jobs ${JOBS}, ${ROUNDS} rounds, node ${process.version}, ${CPUS} CPUs`);
const loadBefore = load();
console.log(`load average before: ${loadBefore}`);

await packOnce('fill', SEED); // untimed: the stat index, V8 and the page cache warmed on every path alike
await runMeasured(BIN, ['pack', ...objects, '--archive', ARCHIVE, '-o', path.join(work, 'w.tar.gz'), '--no-cache', '--jobs', String(JOBS), '-q', '--kernel-cache', KC_WARM], { poll: false });
if (BEFORE) {
  if (!existsSync(path.join(BEFORE, 'dist/pack/index.js'))) {
    console.error(`bench/pack-kernel-cache: ${BEFORE} is not built: run npm run build there`);
    process.exit(1);
  }
  console.log(`before: ${BEFORE}`);
  await packOnce('before', BEFORE_SEED);
}

const variants = BEFORE ? ['off', 'fill', 'warm', 'before'] : ['off', 'fill', 'warm'];
const times = { off: [], fill: [], warm: [], before: [] };
const cpu = { off: [], fill: [], warm: [], before: [] };
const shas = new Set();
for (let round = 0; round < ROUNDS; round++) {
  const order = variants.map((_, i) => variants[(i + round) % variants.length]);
  const line = [];
  for (const v of order) {
    const r = await packOnce(v);
    times[v].push(r.ms);
    cpu[v].push(r.busyMs);
    shas.add(r.sha);
    line.push(`${v} ${fmt(r.ms)}`);
  }
  console.log(`round ${round + 1}: ${line.join(', ')}  (load ${load()})`);
}
const m = Object.fromEntries(variants.map((v) => [v, median(times[v])]));
const c = Object.fromEntries(variants.map((v) => [v, median(cpu[v])]));
console.log('');
console.log('| pack | median | ratio to off | busy CPU (whole machine) | ratio to off |');
console.log('|---|---|---|---|---|');
for (const v of variants) console.log(`| ${v} | ${fmt(m[v])} | ${(m[v] / m.off).toFixed(3)}x | ${fmt(c[v])} | ${(c[v] / c.off).toFixed(3)}x |`);
console.log('');
// round by round too: the packs of a round ran back to back
const paired = (a, b) => median(times[a].map((x, i) => x / times[b][i])).toFixed(3);
console.log(`fill / off: ${paired('fill', 'off')}x (median of the rounds' ratios)`);
if (BEFORE) console.log(`fill / before: ${(m.fill / m.before).toFixed(3)}x (medians), ${paired('fill', 'before')}x (median of the rounds' ratios)`);
console.log(`outputs: ${shas.size === 1 ? 'all byte-identical' : `DIFFER (${shas.size} distinct)`}`);
console.log(`load average before: ${loadBefore}, after: ${load()}`);
