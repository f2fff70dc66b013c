#!/usr/bin/env node
// bench/pack: `btfgen pack` (cold and warm) side by side with a bpftool-based reference pipeline
// modelled on the old `btfgen btfgen` script, and with the floor (decompressing every .tar.xz on
// all cores and nothing else). Prints a table with ratios, peak RSS and an output check.
//
//   npm run build && node bench/pack.mjs [--archive DIR] [--objects N] [--runs N]
//                                        [--ref-extract-jobs N] [--jobs N] [--decompressors]
//                                        [--compare DIR [--no-reference]]
//
// --compare DIR: another built btfgen checkout (e.g. `git worktree add /tmp/before REV` and
// `npm run build` there); its cold and warm packs alternate with ours in every run, and a
// before/after table (medians, peak RSS from one polled run each) follows. --no-reference
// skips the floor and the bpftool pipeline (a comparison alone).
//
// Reference pipeline (what the old script did, serially per stage, in a temp directory):
//   1. extract every .tar.xz with `tar -xJf`, one after the other (--ref-extract-jobs N runs N
//      at once; the old script used `xargs -P 8`)
//   2. `bpftool gen min_core_btf K K OBJS...` per kernel, 2 parallel jobs
//   3. `tar czf`
// Objects: the fixture corpus's realistic tracing objects that bpftool minimizes for every
// archive kernel (test/fixtures/bpf/manifest.json; examples/prog.bpf.o is one of them); copies are added (under other names) until there are --objects of them.
// Times come from runs that nothing watches; peak memory from one extra run of each pipeline
// whose process tree is polled through /proc every 20 ms (polling costs CPU that grows with
// the number of processes, so it would tilt the times).
// Both pipelines get the same object list. btfgen minimizes for each distinct object once
// (an exact repeat adds nothing to the union), so the distinct count is printed too.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ARCHIVE, BIN, CPUS, ROOT, arg, argv, loadAverage, realisticObjects, requireArchive, requireBuilt, withCopies } from './lib/common.mjs';
import { median, runMeasured } from './lib/pack-measure.mjs';

const NOBJ = Number(arg('--objects', '22'));
const RUNS = Number(arg('--runs', '1'));
const REF_EXTRACT_JOBS = Number(arg('--ref-extract-jobs', '1'));
const JOBS = Number(arg('--jobs', String(CPUS)));
const COMPARE = arg('--compare', undefined) ? path.resolve(arg('--compare')) : undefined;
const NO_REFERENCE = argv.includes('--no-reference');

requireArchive('pack');
requireBuilt('pack', 'dist/pack/index.js');

const work = mkdtempSync(path.join(os.tmpdir(), 'btfgen-bench-pack-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

// Objects: distinct tracing objects first, then renamed copies up to NOBJ.
const distinct = realisticObjects();
const objects = withCopies(distinct, NOBJ, work);

const kernels = execFileSync('find', [ARCHIVE, '-name', '*.btf.tar.xz', '-not', '-path', '*/.git/*'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).sort();
const compressed = kernels.reduce((s, k) => s + statSync(k).size, 0);

const fmt = (ms) => (ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`);
const mb = (kb) => (kb ? `${Math.round(kb / 1024)} MB` : '-');

async function floor() {
  const list = path.join(work, 'kernels.txt');
  writeFileSync(list, kernels.join('\n') + '\n');
  return runMeasured('bash', ['-c', `xargs -d '\\n' -P ${CPUS} -n 1 xz -dc < "$0" > /dev/null`, list], { poll: false });
}

async function reference(poll) {
  const dir = path.join(work, 'ref');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'ex'), { recursive: true });
  const script = `
set -euo pipefail
A=$1; W=$2; EJ=$3; shift 3
cd "$A"
find . -name '*.btf.tar.xz' -not -path './.git/*' | sort > "$W/list"
# 1. extract every kernel next to where it belongs (the old script: tar xfJ into its directory)
xargs -d '\\n' -P "$EJ" -I{} sh -c 'd="$0/ex/btfhub-archive/$(dirname "$1")"; mkdir -p "$d"; tar -xJf "$1" -C "$d"' "$W" {} < "$W/list"
# 2. bpftool per kernel, 2 parallel jobs, in place (as the old script)
find "$W/ex" -name '*.btf' -print0 | xargs -0 -P 2 -I{} bpftool gen min_core_btf {} {} "$@"
# 3. one tar.gz
cd "$W/ex" && tar -czf "$W/ref.tar.gz" .
`;
  const r = await runMeasured('bash', ['-c', script, 'ref', ARCHIVE, dir, String(REF_EXTRACT_JOBS), ...objects], { poll });
  if (r.code !== 0) throw new Error(`reference pipeline failed: ${r.stderr}`);
  return { ...r, out: path.join(dir, 'ref.tar.gz') };
}

// The kernel cache stays off: "cold" means every kernel decompressed (bench/pack-kernel-cache.mjs
// measures the kernel cache). A checkout older than the option has no kernel cache.
const kernelCacheOff = new Map();
function noKernelCache(bin) {
  if (!kernelCacheOff.has(bin)) {
    const help = execFileSync(process.execPath, [bin, 'pack', '--help'], { encoding: 'utf8' });
    kernelCacheOff.set(bin, help.includes('--no-kernel-cache') ? ['--no-kernel-cache'] : []);
  }
  return kernelCacheOff.get(bin);
}

async function ours(cacheDir, out, poll, extra = [], bin = BIN) {
  const args = ['pack', ...objects, '--archive', ARCHIVE, '-o', out, '--cache-dir', cacheDir, '--jobs', String(JOBS), '-q', ...noKernelCache(bin), ...extra];
  const r = await runMeasured(bin, args, {
    env: { ...process.env, HOME: work },
    poll,
  });
  if (r.code !== 0) throw new Error(`btfgen pack failed: ${r.stderr}`);
  return r;
}

function members(tgz) {
  const tar = gunzipSync(readFileSync(tgz));
  const out = new Map();
  for (let off = 0; off + 512 <= tar.length; ) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const cut = (o, n) => {
      const s = h.subarray(o, o + n);
      const z = s.indexOf(0);
      return s.subarray(0, z < 0 ? n : z).toString();
    };
    const size = parseInt(cut(124, 12), 8);
    const name = (cut(345, 155) ? `${cut(345, 155)}/` : '') + cut(0, 100);
    if (h[156] === 0x30 || h[156] === 0) out.set(name.replace(/^\.\//, ''), tar.subarray(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

// Each variant runs in a child process: scratch (an XzLane, as pack's workers), execa
// (extractKernelBtf's xz path) and lzma (@napi-rs/lzma).
async function decompressors() {
  const script = `
    import { closeSync, openSync, readFileSync } from 'node:fs';
    const { extractKernelBtf, reusableBuffer, XzLane } = await import(${JSON.stringify(path.join(ROOT, 'dist/pack/decompress.js'))});
    const { readKernelTar } = await import(${JSON.stringify(path.join(ROOT, 'dist/pack/tar-read.js'))});
    const [mode, list] = process.argv.slice(1);
    const kernels = readFileSync(list, 'utf8').trim().split('\\n');
    const lane = mode === 'scratch' ? XzLane.open() : undefined;
    if (mode === 'scratch' && !lane) throw new Error('no tmpfs /dev/shm: no scratch files');
    const t0 = performance.now();
    let bytes = 0;
    for (const k of kernels) {
      if (!lane) {
        bytes += (await extractKernelBtf(readFileSync(k), mode === 'lzma' ? 'lzma' : 'xz', { label: k })).btf.length;
        continue;
      }
      const fd = openSync(k, 'r');
      try {
        const tar = await lane.decompress(fd);
        bytes += readKernelTar(lane.take(tar, reusableBuffer(tar.size)), { label: k }).data.length;
      } finally {
        closeSync(fd);
      }
    }
    lane?.close();
    console.log(JSON.stringify({ ms: performance.now() - t0, bytes }));
  `;
  const list = path.join(work, 'kernels.txt');
  writeFileSync(list, kernels.join('\n') + '\n');
  const res = {};
  for (const mode of ['scratch', 'execa', 'lzma', 'scratch', 'execa', 'lzma']) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, mode, list], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const r = JSON.parse(out.trim().split('\n').pop());
    (res[mode] ??= []).push(r.ms);
    res.bytes = r.bytes;
  }
  return res;
}

console.log(`archive: ${ARCHIVE} (${kernels.length} kernels, ${(compressed / 1e6).toFixed(0)} MB compressed)`);
console.log(`objects: ${objects.length} (${distinct.length} distinct: ${distinct.map((o) => path.basename(o)).join(' ')})`);
console.log(`cpus: ${CPUS}, btfgen --jobs ${JOBS}, reference: extract ${REF_EXTRACT_JOBS} jobs, bpftool 2 jobs; ${os.cpus()[0]?.model ?? ''}`);
console.log(`load average before: ${loadAverage()}`);

const rows = { floor: [], reference: [], cold: [], warm: [] };
const mem = { reference: 0, referenceMain: 0, cold: 0, coldMain: 0, warm: 0 };
const before = { cold: [], warm: [], coldMain: 0, warmMain: 0 };
let check = '';
for (let run = 0; run < RUNS; run++) {
  let ref;
  if (!NO_REFERENCE) {
    const f = await floor();
    rows.floor.push(f.ms);
    // Timed runs are not polled (polling costs CPU); memory comes from extra polled runs.
    ref = await reference(false);
    rows.reference.push(ref.ms);
  }
  // before and after alternate, each side starting first in every other run
  const sides = COMPARE && run % 2 === 1 ? ['before', 'after'] : ['after', 'before'];
  let out;
  for (const side of sides) {
    if (side === 'before' && !COMPARE) continue;
    const bin = side === 'before' ? path.join(COMPARE, 'bin/btfgen') : BIN;
    const cache = path.join(work, `cache-${side}${run}`);
    const o = path.join(work, `${side}${run}.tar.gz`);
    const cold = await ours(cache, o, false, [], bin);
    const warm = await ours(cache, path.join(work, `warm-${side}${run}.tar.gz`), false, [], bin);
    if (side === 'after') {
      rows.cold.push(cold.ms);
      rows.warm.push(warm.ms);
      out = o;
    } else {
      before.cold.push(cold.ms);
      before.warm.push(warm.ms);
    }
  }
  if (run === 0) {
    if (!NO_REFERENCE) {
      rmSync(path.join(work, 'ref'), { recursive: true, force: true });
      mem.reference = (await reference(true)).peakTreeKb;
    }
    const memCache = path.join(work, 'cache-mem');
    const c = await ours(memCache, path.join(work, 'mem.tar.gz'), true);
    mem.cold = c.peakChildrenKb;
    mem.coldMain = c.peakMainKb;
    mem.coldShmem = c.peakShmemKb;
    mem.warm = (await ours(memCache, path.join(work, 'mem-warm.tar.gz'), true)).peakMainKb;
    rmSync(memCache, { recursive: true, force: true });
    if (COMPARE) {
      const bin = path.join(COMPARE, 'bin/btfgen');
      const bc = await ours(memCache, path.join(work, 'mem-b.tar.gz'), true, [], bin);
      before.coldMain = bc.peakMainKb;
      before.warmMain = (await ours(memCache, path.join(work, 'mem-b-warm.tar.gz'), true, [], bin)).peakMainKb;
      rmSync(memCache, { recursive: true, force: true });
    }
  }
  if (run === 0) {
    const a = members(out);
    const warmSame = readFileSync(out).equals(readFileSync(path.join(work, `warm-after${run}.tar.gz`)));
    if (ref) {
      const b = members(ref.out);
      const refKernels = [...b.keys()].filter((n) => n.endsWith('.btf'));
      let same = 0;
      for (const n of refKernels) if (a.get(n)?.equals(b.get(n))) same++;
      check = `${same}/${refKernels.length} members identical to the reference (bpftool) output; `;
    }
    check += `${a.size} members in ours; warm output ${warmSame ? 'identical' : 'DIFFERENT'}`;
    if (COMPARE) check += `; before/after outputs ${readFileSync(out).equals(readFileSync(path.join(work, `before${run}.tar.gz`))) ? 'identical' : 'DIFFERENT'}`;
  }
  rmSync(path.join(work, 'ref'), { recursive: true, force: true });
}

if (COMPARE) {
  const mc = median(rows.cold);
  const mw = median(rows.warm);
  const bc = median(before.cold);
  const bw = median(before.warm);
  console.log('');
  console.log(`before (${COMPARE}) vs after (${ROOT}), medians of ${RUNS} alternating runs:`);
  console.log(`  cold pack:  before ${fmt(bc)}  after ${fmt(mc)}  after/before ${(mc / bc).toFixed(3)}x`);
  console.log(`  warm pack:  before ${fmt(bw)}  after ${fmt(mw)}  after/before ${(mw / bw).toFixed(3)}x`);
  console.log(`  peak RSS (main process): cold before ${mb(before.coldMain)} after ${mb(mem.coldMain)}; warm before ${mb(before.warmMain)} after ${mb(mem.warm)}`);
  console.log(`  raw ms: before cold ${JSON.stringify(before.cold.map(Math.round))} warm ${JSON.stringify(before.warm.map(Math.round))}; after cold ${JSON.stringify(rows.cold.map(Math.round))} warm ${JSON.stringify(rows.warm.map(Math.round))}`);
}
if (NO_REFERENCE) console.log(`check: ${check}`);

if (!NO_REFERENCE) {
  const m = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)]));
  const line = (name, ms, rss, notes) =>
    console.log(`${name.padEnd(34)} ${fmt(ms).padStart(9)}  ${(m.reference / ms >= 0 ? (ms / m.reference).toFixed(3) + 'x' : '').padStart(8)}  ${((ms / m.floor).toFixed(2) + 'x').padStart(7)}  ${rss.padStart(16)}  ${notes}`);
  console.log('');
  console.log(`${'pipeline'.padEnd(34)} ${'time'.padStart(9)}  ${'vs ref'.padStart(8)}  ${'vs floor'.padStart(7)}  ${'peak RSS'.padStart(16)}`);
  line(`floor (xz -dc, ${CPUS} jobs, nothing else)`, m.floor, '-', '');
  line('reference (tar -xJf, bpftool, tar)', m.reference, `${mb(mem.reference)} tree`, '');
  line('btfgen pack, cold cache', m.cold, `${mb(mem.coldMain)} (+xz ${mb(mem.cold)})`, mem.coldShmem ? `+${mb(mem.coldShmem)} of tmpfs scratch files` : "");
  line('btfgen pack, warm re-run', m.warm, mb(mem.warm), `warm/cold ${(m.warm / m.cold).toFixed(3)}x`);
  console.log('');
  console.log(`check: ${check}`);
  if (RUNS > 1) console.log(`runs: ${RUNS} (medians); raw: ${JSON.stringify(Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.map((x) => Math.round(x))])))}`);
}

if (argv.includes('--decompressors')) {
  const d = await decompressors();
  console.log('');
  console.log(`decompressors, one thread, every kernel in turn (${(d.bytes / 1e6).toFixed(0)} MB of BTF out):`);
  console.log(`  xz command into a tmpfs scratch file (pack's path): ${d.scratch.map(fmt).join(', ')}`);
  console.log(`  xz command via execa (no file descriptor):          ${d.execa.map(fmt).join(', ')}`);
  console.log(`  @napi-rs/lzma xz.decompress (fallback):             ${d.lzma.map(fmt).join(', ')}`);
}
console.log(`load average after: ${loadAverage()}`);
