#!/usr/bin/env node
// bench/kernel-cache: how to keep decompressed kernel BTF between packs. Every kernel of the
// archive is decompressed once (today's path, xz), then stored as each candidate would store it
// in the kernel cache, one file per kernel on the disk that holds the cache; the table shows
// size on disk, write cost, and the read cost of the whole set, side by side in alternating
// rounds (median): from the page cache (a cache used again soon), and an estimate from the
// device (its O_DIRECT read speed, measured by dd, times the bytes stored, plus decoding: a
// cache read after the page cache forgot it).
//
//   npm run build && node bench/kernel-cache.mjs [--archive DIR] [--rounds N] [--dir DIR]
//                                                [--zstd-npm NODE_MODULES_DIR]
//
// Candidates: raw; raw with the kernel cache's own entry format (dist/kcache: a header and a
// CRC-32 checked on every read); zstd -1 / -3 and lz4 (the system tools, one process per
// kernel, output through a pipe, or into a tmpfs file that is then read, as pack's xz lanes
// do); node's zlib gzip level 1 and brotli quality 1-4 (in process); @mongodb-js/zstd (in
// process, napi) when --zstd-npm names a node_modules directory holding it. Node 20 has no
// built-in zstd (zlib.zstdCompress arrived in node 22.15 / 23.8). --only a,b keeps the
// candidates whose name contains one of the words.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { ARCHIVE, ROOT, arg, loadAverage, requireBuilt } from './lib/common.mjs';

const ROUNDS = Number(arg('--rounds', '3'));
const BASE = arg('--dir', os.tmpdir());
const ZSTD_NPM = arg('--zstd-npm', undefined);
const ONLY = arg('--only', undefined)?.split(',');
const SHM = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();

requireBuilt('kernel-cache', 'dist/pack/decompress.js');
const { extractKernelBtf: decompress } = await import(path.join(ROOT, 'dist/pack/decompress.js'));
const has = (tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;

const kernels = [];
(function walk(dir) {
  for (const n of readdirSync(dir).sort()) {
    if (n === '.git') continue;
    const p = path.join(dir, n);
    const st = statSync(p);
    if (st.isDirectory()) walk(p);
    else if (n.endsWith('.btf.tar.xz')) kernels.push(p);
  }
})(ARCHIVE);
if (!kernels.length) {
  console.error(`bench/kernel-cache: no kernels in ${ARCHIVE}`);
  process.exit(1);
}

const work = mkdtempSync(path.join(BASE, 'btfgen-bench-kcache-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// Today's read: the archive's .btf.tar.xz through xz (what a cache hit replaces).
const btfs = [];
let xzMs = 0;
let compressed = 0;
for (const k of kernels) {
  const bytes = readFileSync(k);
  compressed += bytes.length;
  const t0 = performance.now();
  btfs.push((await decompress(bytes, 'xz', { label: k })).btf.slice());
  xzMs += performance.now() - t0;
}
const total = btfs.reduce((s, b) => s + b.length, 0);

const big = { maxBuffer: 1 << 30 };
const kcache = await import(path.join(ROOT, 'dist/kcache/index.js'));
const idOf = (i) => createHash('sha256').update(`kernel ${i}`).digest('hex');
const scratch = path.join(SHM, `btfgen-bench-kcache-${process.pid}`);
process.on('exit', () => rmSync(scratch, { force: true }));
/** The tool decodes into a tmpfs file, which is then read (no pipe). */
const viaShm = (tool, f) => {
  execFileSync(tool, tool === 'lz4' ? ['-d', '-q', '-f', f, scratch] : ['-d', '-q', '-f', f, '-o', scratch], { stdio: 'ignore' });
  const b = readFileSync(scratch);
  unlinkSync(scratch);
  return b;
};
let candidates = [
  { name: 'raw', enc: (b) => b, dec: (f) => readFileSync(f) },
  {
    name: 'raw + CRC-32 (btfgen kernel cache)',
    module: true,
    enc: async (b, i, dir) => {
      await kcache.open({ dir, maxBytes: 2 ** 40 }).put(idOf(i), { btf: b, member: 'x.btf' });
      return statSync(path.join(dir, 'v1', idOf(i).slice(0, 2), `${idOf(i)}.kbtf`)).size;
    },
    dec: async (_f, i, dir) => (await kcache.open({ dir }).get(idOf(i))).btf,
  },
  ...(has('lz4')
    ? [
        { name: 'lz4 -1 (tool, pipe)', enc: (b) => execFileSync('lz4', ['-1', '-q', '-c'], { input: b, ...big }), dec: (f) => execFileSync('lz4', ['-d', '-q', '-c', f], big) },
        { name: 'lz4 -1 (tool, tmpfs)', enc: (b) => execFileSync('lz4', ['-1', '-q', '-c'], { input: b, ...big }), dec: (f) => viaShm('lz4', f) },
      ]
    : []),
  ...(has('zstd')
    ? [1, 3].flatMap((l) => [
        {
          name: `zstd -${l} (tool, pipe)`,
          enc: (b) => execFileSync('zstd', [`-${l}`, '-q', '-c', '-T1'], { input: b, ...big }),
          dec: (f) => execFileSync('zstd', ['-d', '-q', '-c', f], big),
        },
        { name: `zstd -${l} (tool, tmpfs)`, enc: (b) => execFileSync('zstd', [`-${l}`, '-q', '-c', '-T1'], { input: b, ...big }), dec: (f) => viaShm('zstd', f) },
      ])
    : []),
  { name: 'gzip -1 (node zlib)', enc: (b) => zlib.gzipSync(b, { level: 1 }), dec: (f) => zlib.gunzipSync(readFileSync(f)) },
  ...[1, 2, 3, 4].map((q) => ({
    name: `brotli q${q} (node zlib)`,
    enc: (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: q, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length } }),
    dec: (f) => zlib.brotliDecompressSync(readFileSync(f)),
  })),
];
if (ZSTD_NPM) {
  const zstd = createRequire(path.join(path.resolve(ZSTD_NPM), 'x.js'))('@mongodb-js/zstd');
  for (const l of [1, 3]) {
    candidates.push({ name: `zstd -${l} (@mongodb-js/zstd)`, enc: (b) => zstd.compress(Buffer.from(b), l), dec: (f) => zstd.decompress(readFileSync(f)) });
  }
}

if (ONLY) candidates = candidates.filter((c) => ONLY.some((w) => c.name.includes(w)));

// Write: encode + write one file per kernel.
for (const c of candidates) {
  c.dir = path.join(work, c.name.replace(/[^a-z0-9]+/gi, '_'));
  mkdirSync(c.dir);
  const t0 = performance.now();
  c.size = 0;
  for (let i = 0; i < btfs.length; i++) {
    if (c.module) {
      c.size += await c.enc(btfs[i], i, c.dir);
      continue;
    }
    const out = await c.enc(btfs[i]);
    c.size += out.length;
    writeFileSync(path.join(c.dir, String(i)), out);
  }
  c.writeMs = performance.now() - t0;
  c.reads = [];
}

// Read rounds, candidates alternating (rotated each round); the first round checks every byte.
const readAll = async (c, check) => {
  const t0 = performance.now();
  for (let i = 0; i < btfs.length; i++) {
    const got = await c.dec(path.join(c.dir, String(i)), i, c.dir);
    if (check && Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.length), Buffer.from(btfs[i].buffer, btfs[i].byteOffset, btfs[i].length)) !== 0) {
      throw new Error(`${c.name}: kernel ${i} read back different bytes`);
    }
  }
  return performance.now() - t0;
};
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const loadBefore = loadAverage();
for (let r = 0; r < ROUNDS; r++) {
  for (let j = 0; j < candidates.length; j++) {
    const c = candidates[(j + r) % candidates.length];
    c.reads.push(await readAll(c, r === 0));
  }
}
// The device's read speed: one file of every kernel's BTF, read with O_DIRECT (past the page
// cache) by dd; a candidate's entries would come off the device at that speed.
const bigFile = path.join(work, 'all.btf');
writeFileSync(bigFile, Buffer.concat(btfs));
const dev = [];
for (let r = 0; r < ROUNDS; r++) {
  const t0 = performance.now();
  execFileSync('dd', [`if=${bigFile}`, 'of=/dev/null', 'bs=4M', 'iflag=direct'], { stdio: 'ignore' });
  dev.push(performance.now() - t0);
}
const deviceMBps = total / 1e6 / (med(dev) / 1000);
rmSync(bigFile);

const MB = (n) => `${(n / 1e6).toFixed(0)} MB`;
const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
console.log(`archive: ${ARCHIVE}: ${kernels.length} kernels, ${MB(compressed)} as .btf.tar.xz, ${MB(total)} of BTF`);
console.log(`cache dir: ${work} (${os.cpus()[0]?.model ?? ''}, ${os.cpus().length} cpus, node ${process.version}); rounds ${ROUNDS}`);
console.log(`load average before reads: ${loadBefore}, after: ${loadAverage()}`);
console.log(`today (xz -dc of every .btf.tar.xz, from the page cache): ${s(xzMs)}, ${(total / 1e6 / (xzMs / 1000)).toFixed(0)} MB/s of BTF`);
console.log(`device read speed (dd iflag=direct, ${MB(total)} file): ${deviceMBps.toFixed(0)} MB/s`);
console.log('');
console.log('| stored as | size on disk | vs raw | vs .tar.xz | write (encode + write) | read, page cache | read MB/s of BTF | read vs xz | device read at that speed | device + decode |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const c of candidates) {
  const rd = med(c.reads);
  const dev = ((c.size / 1e6) / deviceMBps) * 1000;
  console.log(
    `| ${c.name} | ${MB(c.size)} | ${(c.size / total).toFixed(3)} | ${(c.size / compressed).toFixed(2)}x | ${s(c.writeMs)} | ${s(rd)} | ${(total / 1e6 / (rd / 1000)).toFixed(0)} | ${(rd / xzMs).toFixed(3)} | ${s(dev)} | ${s(rd + dev)} |`,
  );
}
