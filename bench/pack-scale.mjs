#!/usr/bin/env node
// bench/pack-scale: `btfgen pack` at upstream-archive scale. The upstream btfhub-archive holds
// ~4,300 kernels; this builds synthetic archives of 85 / 1,000 / 4,300 kernels out of the demo
// archive's 85. Copy k of a kernel lives under `<ID>/<VERSION>.s<k>/<arch>/` (so each member
// keeps the release its tar member is named after and no per-kernel warning is printed). Copy 0
// is a symlink to the demo file; copy k >= 1 is the file with 4k zero bytes of xz stream padding
// appended: the same tar once decompressed, but another file content. Plain links would not do:
// pack keys kernels by the content of the archive file, so identical links are minimized once
// and reused (with the result cache off too), which made a 1,000-kernel run of links cost a
// quarter per kernel of the 85-kernel run. Needs the `xz` tool (@napi-rs/lzma rejects padding).
// packs each one cold with tens of objects and the result cache off, and prints time, time per
// kernel (and its ratio to the smallest run: it must stay flat as the archive grows), CPU time
// per kernel (steadier than wall time on a shared machine), peak RSS (pack's VmHWM, and the
// process tree's, sampled over the run) and output size.
//
//   npm run build && node bench/pack-scale.mjs [--archive DIR] [--sizes 85,1000,4300]
//        [--objects N] [--jobs N] [--kernel-cache DIR [--warm]] [--pack-arg ARG]...
//
// --kernel-cache DIR   passed through to every pack (needs a pack that has the option)
// --warm               with --kernel-cache: one untimed pack per size first fills the kernel
//                      cache and the result cache's stat index, then the timed pack runs with
//                      other objects (the first object is left out: "the program changed")
//                      and the same result cache (no result reused, the stat index warm)
// --pack-arg ARG       any further pack argument, repeatable (e.g. --pack-arg --no-kernel-cache)
//
// Objects: the fixture corpus's objects that minimize on every archive kernel
// (test/fixtures/bpf/manifest.json: expect ok, target archive, no exceptions; it includes
// examples/prog.bpf.o), then renamed copies up to --objects (btfgen minimizes each distinct
// object once, so copies cost only their reading).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ARCHIVE, BIN, CPUS, ROOT, arg, argv, loadAverage, requireBuilt, withCopies } from './lib/common.mjs';

const all = (name) => argv.flatMap((a, i) => (a === name && i + 1 < argv.length ? [argv[i + 1]] : []));
const SIZES = arg('--sizes', '85,1000,4300').split(',').map(Number);
const NOBJ = Number(arg('--objects', '30'));
const JOBS = Number(arg('--jobs', String(CPUS)));
const KCACHE = arg('--kernel-cache', undefined);
const WARM = argv.includes('--warm');
const EXTRA = all('--pack-arg');

if (SIZES.some((n) => !Number.isInteger(n) || n < 1)) {
  console.error('bench/pack-scale: --sizes takes positive integers, e.g. 85,1000,4300');
  process.exit(2);
}
if (WARM && !KCACHE) {
  console.error('bench/pack-scale: --warm needs --kernel-cache DIR');
  process.exit(2);
}
requireBuilt('pack-scale', 'dist/pack/index.js');

const kernels = [];
const walk = (dir, rel) => {
  let names;
  try {
    names = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const n of names) {
    if (n === '.git') continue;
    const p = path.join(dir, n);
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isDirectory()) walk(p, [...rel, n]);
    else if (st?.isFile() && n.endsWith('.btf.tar.xz') && rel.length === 3) kernels.push({ path: p, rel, name: n });
  }
};
walk(ARCHIVE, []);
if (kernels.length === 0) {
  console.error(`bench/pack-scale: no kernels in ${ARCHIVE} (pass --archive DIR)`);
  process.exit(1);
}

const work = mkdtempSync(path.join(os.tmpdir(), 'btfgen-bench-scale-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// Objects.
const fixtures = path.join(ROOT, 'test/fixtures/bpf');
const manifest = JSON.parse(readFileSync(path.join(fixtures, 'manifest.json'), 'utf8'));
const distinct = [
  ...new Set(
    manifest.objects
      .filter((o) => o.expect === 'ok' && o.targets?.includes('archive') && !o.archiveExceptions?.length)
      .map((o) => path.resolve(fixtures, o.file)),
  ),
].sort();
const objects = withCopies(distinct, NOBJ, work);

const gcd = (a, b) => (b ? gcd(b, a % b) : a);
let STRIDE = Math.max(1, Math.round(kernels.length * 0.618));
while (gcd(STRIDE, kernels.length) !== 1) STRIDE++;

/** A synthetic archive of n kernels: copy k of each demo kernel under `<VERSION>.s<k>`. */
function synthetic(n) {
  const dir = path.join(work, `archive-${n}`);
  for (let i = 0; i < n; i++) {
    // A stride through the sorted list: the last, partial copy samples every distro alike
    // (in sorted order it would be the 44 MB centos kernels first).
    const k = kernels[((i % kernels.length) * STRIDE) % kernels.length];
    const copy = Math.floor(i / kernels.length);
    const [id, version, arch] = k.rel;
    const d = path.join(dir, id, copy === 0 ? version : `${version}.s${copy}`, arch);
    mkdirSync(d, { recursive: true });
    const dst = path.join(d, k.name);
    if (copy === 0) symlinkSync(k.path, dst);
    else {
      copyFileSync(k.path, dst);
      appendFileSync(dst, Buffer.alloc(4 * copy)); // xz stream padding: another identity, same tar
    }
  }
  return dir;
}

// The run is watched through /proc every 50 ms: the process tree's RSS (summed), pack's own
// VmHWM, and CPU time: the largest sum over the tree of each process's utime + stime + the
// times of the children it reaped. Not GNU time: pack's xz run under a helper shell that pack
// does not reap before it exits, so their CPU never reaches pack's rusage.
const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);
const procStat = (pid) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    // fields 14-17 of stat(5): utime stime cutime cstime (rest[] starts at field 3)
    return Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]);
  } catch {
    return 0;
  }
};
const statusKb = (pid, field) => {
  try {
    return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
};
const treeOf = (pid) => {
  const all = [pid];
  for (let i = 0; i < all.length; i++) {
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${all[i]}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        for (const c of readFileSync(`/proc/${all[i]}/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (c) all.push(Number(c));
      } catch {
        // gone
      }
    }
  }
  return all;
};

function watched(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let treeKb = 0;
    let hwmKb = 0;
    let ticks = 0;
    const poll = () => {
      let rss = 0;
      let t = 0;
      for (const p of treeOf(child.pid)) {
        rss += statusKb(p, 'VmRSS');
        t += procStat(p);
      }
      treeKb = Math.max(treeKb, rss);
      ticks = Math.max(ticks, t);
      hwmKb = Math.max(hwmKb, statusKb(child.pid, 'VmHWM'));
    };
    const timer = setInterval(poll, 50);
    child.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ ms: performance.now() - t0, code, stderr, treeKb, hwmKb, cpuMs: ticks * TICK_MS });
    });
  });
}

/** `cacheDir`: the result cache to use (--warm); else the result cache is off. */
async function pack(archive, objs, out, cacheDir) {
  const cache = cacheDir ? ['--cache-dir', cacheDir] : ['--no-cache'];
  const args = ['pack', ...objs, '--archive', archive, '-o', out, ...cache, '--jobs', String(JOBS), '-q', ...EXTRA];
  if (KCACHE) args.push('--kernel-cache', KCACHE);
  const r = await watched(BIN, args, { ...process.env, HOME: work });
  if (r.code !== 0) throw new Error(`btfgen pack failed (${r.code}): ${r.stderr.slice(0, 2000)}`);
  return r;
}

const fmtS = (ms) => `${(ms / 1000).toFixed(1)} s`;
const mb = (kb) => `${Math.round(kb / 1024)} MB`;

console.log(`archive: ${ARCHIVE} (${kernels.length} kernels), sizes ${SIZES.join(', ')}`);
console.log(`objects: ${objects.length} (${distinct.length} distinct), --jobs ${JOBS}, ${WARM ? 'result cache on (stat index warm)' : 'result cache off'}${KCACHE ? `, --kernel-cache ${KCACHE}${WARM ? ' (warm, objects changed)' : ''}` : ''}${EXTRA.length ? `, extra: ${EXTRA.join(' ')}` : ''}`);
console.log(`cpus: ${CPUS}, ${os.cpus()[0]?.model ?? ''}; node ${process.version}`);

const rows = [];
for (const n of SIZES) {
  const t0 = performance.now();
  const archive = synthetic(n);
  const buildMs = performance.now() - t0;
  let objs = objects;
  // --warm: the user's loop. A first pack fills the kernel cache and the result cache's stat
  // index; then the program changed (another object set): no result is reused, every kernel is
  // minimized again from the kernel cache, and the stat index spares reading the archive files.
  const rc = WARM ? path.join(work, `rc-${n}`) : undefined;
  if (WARM) {
    await pack(archive, objects, path.join(work, `fill-${n}.tar.gz`), rc);
    rmSync(path.join(work, `fill-${n}.tar.gz`), { force: true });
    objs = objects.slice(1);
  }
  const out = path.join(work, `out-${n}.tar.gz`);
  const load = os.loadavg()[0];
  const r = await pack(archive, objs, out, rc);
  if (rc) rmSync(rc, { recursive: true, force: true });
  const size = statSync(out).size;
  const sha = createHash('sha256').update(readFileSync(out)).digest('hex').slice(0, 16);
  rows.push({ n, ms: r.ms, perKernel: r.ms / n, cpuPerKernel: r.cpuMs / n, treeKb: r.treeKb, rssKb: r.hwmKb, size, sha, load });
  const row = rows.at(-1);
  const cpu = `, CPU ${fmtS(r.cpuMs)} = ${row.cpuPerKernel.toFixed(1)} ms/kernel (x${(row.cpuPerKernel / rows[0].cpuPerKernel).toFixed(2)})`;
  console.log(
    `${String(n).padStart(6)} kernels: ${fmtS(row.ms).padStart(8)}, ${row.perKernel.toFixed(1)} ms/kernel (x${(row.perKernel / rows[0].perKernel).toFixed(2)} of ${rows[0].n})${cpu}, ` +
      `peak RSS ${mb(row.rssKb)} (pack's VmHWM) / ${mb(row.treeKb)} (tree, sampled), output ${(size / 1e6).toFixed(1)} MB sha256 ${sha}…, load ${load.toFixed(2)} (archive built in ${fmtS(buildMs)})`,
  );
  rmSync(out, { force: true });
  rmSync(archive, { recursive: true, force: true });
}
console.log(`load average after: ${loadAverage()}`);
