#!/usr/bin/env node
// Verify test/fixtures/bpf/manifest.json against reality (see check-fixtures.sh).
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCoreRelos } from '../test/helpers/core-relos.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FX = join(ROOT, 'test/fixtures/bpf');
const SHARED = resolve(process.env.BTFGEN_SHARED_DATA ?? join(ROOT, '../shared/data'));
const VMLINUX = '/sys/kernel/btf/vmlinux';

const args = process.argv.slice(2);
let archiveMode = 'sample';
let load = false;
let rebuild = false;
let only = null;
let verbose = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--archive') archiveMode = args[++i];
  else if (a === '--load') load = true;
  else if (a === '--rebuild') rebuild = true;
  else if (a === '--only') only = new Set(args[++i].split(','));
  else if (a === '-v' || a === '--verbose') verbose = true;
  else if (a === '-h' || a === '--help') {
    console.log(`usage: check-fixtures.sh [--archive none|sample|all] [--load] [--rebuild] [--only a,b] [-v]
  --archive  which archive kernels stand for the "archive" target (default sample: the
             committed examples/archive kernels + the first kernel of each directory of
             ../shared/data/btfhub-archive-{demo,extra}; all: every kernel there)
  --load     also check "loadable" by loading each object with test/fixtures/loader (root)
  --rebuild  also rebuild the objects with scripts/build-fixtures.sh --check (needs clang-19)
  --only     only these objects/combinations (names)`);
    process.exit(0);
  } else {
    console.error(`unknown argument ${a}`);
    process.exit(2);
  }
}

const manifest = JSON.parse(readFileSync(join(FX, 'manifest.json'), 'utf8'));
const problems = [];
const rows = [];

function sh(cmd, argv, opts = {}) {
  return new Promise((res) => {
    execFile(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts }, (err, stdout, stderr) => {
      if (err && typeof err.code === 'string') res({ code: -1, stdout: '', stderr: String(err.message) });
      else res({ code: err ? (err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

// ---- archive kernels ----
function listKernels(root) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.btf.tar.xz')) out.push(p);
    }
  };
  if (existsSync(root)) walk(root);
  return out.sort();
}

function archiveKernels() {
  if (archiveMode === 'none') return [];
  const ex = listKernels(join(ROOT, 'examples/archive'));
  const shared = [...listKernels(join(SHARED, 'btfhub-archive-demo')), ...listKernels(join(SHARED, 'btfhub-archive-extra'))];
  if (archiveMode === 'all') return [...ex, ...shared];
  const firstPerDir = new Map();
  for (const k of shared) if (!firstPerDir.has(dirname(k))) firstPerDir.set(dirname(k), k);
  return [...ex, ...firstPerDir.values()];
}

const cacheDir = join(tmpdir(), 'btfgen-test-cache', 'check-fixtures');
async function unpack(tarXz) {
  const st = statSync(tarXz);
  const out = join(cacheDir, `${relative(ROOT, tarXz).replace(/[/.]+/g, '_')}-${st.size}.btf`);
  if (existsSync(out)) return out;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = mkdtempSync(join(cacheDir, 'x-'));
  const r = await sh('tar', ['-xJf', tarXz, '-C', tmp]);
  if (r.code !== 0) throw new Error(`tar -xJf ${tarXz}: ${r.stderr}`);
  const [m] = readdirSync(tmp);
  renameSync(join(tmp, m), out);
  rmSync(tmp, { recursive: true, force: true });
  return out;
}

// resolve a manifest target to a list of {label, input}
const kernels = archiveKernels();
let archiveInputs = null;
async function inputsFor(target) {
  if (target === 'vmlinux') return existsSync(VMLINUX) ? [{ label: 'vmlinux', input: VMLINUX }] : [];
  if (target === 'archive') {
    if (!archiveInputs) {
      archiveInputs = [];
      for (const k of kernels) {
        const rel = relative(ROOT, k);
        const where = rel.startsWith('examples/') ? 'examples' : rel.includes('btfhub-archive-extra') ? 'extra' : 'demo';
        const label = `${where}:${rel.split('/').slice(-4, -1).join('/')}/${rel.split('/').pop().replace(/\.btf\.tar\.xz$/, '')}`;
        const release = k.split('/').pop().replace(/\.btf\.tar\.xz$/, '');
        archiveInputs.push({ label, input: await unpack(k), release });
      }
    }
    return archiveInputs;
  }
  return [{ label: target, input: join(FX, target) }];
}

// ---- bpftool ----
let bpftool = process.env.BPFTOOL ?? 'bpftool';
try {
  execFileSync(bpftool, ['version'], { stdio: 'ignore' });
} catch {
  bpftool = null;
}
const outDir = mkdtempSync(join(tmpdir(), 'btfgen-check-'));
let seq = 0;
async function minCore(input, objs) {
  const out = join(outDir, `o${seq++}.btf`);
  const r = await sh(bpftool, ['gen', 'min_core_btf', input, out, ...objs]);
  const size = existsSync(out) ? statSync(out).size : 0;
  rmSync(out, { force: true });
  return { ...r, size };
}

function judge(name, label, expect, expectError, expectCode, r) {
  const got = r.code === 0 ? 'ok' : 'fail';
  const errLine = r.stderr.trim().split('\n').filter((l) => l).slice(-2).join(' | ');
  let ok = got === expect;
  if (ok && expect === 'fail') {
    if (expectError && !r.stderr.includes(expectError)) ok = false;
    if (expectCode !== undefined && expectCode !== r.code) ok = false;
  }
  rows.push({ name, target: label, expect, got: `${got}(${r.code})${r.code === 0 ? ` ${r.size}B` : ''}`, ok, detail: r.code ? errLine : '' });
  if (!ok) problems.push(`${name} @ ${label}: expected ${expect}${expectError ? ` "${expectError}"` : ''}${expectCode !== undefined ? ` rc ${expectCode}` : ''}, got rc ${r.code}: ${errLine}`);
}

// ---- static checks ----
const names = new Set();
for (const o of manifest.objects) {
  if (names.has(o.name)) problems.push(`duplicate object name ${o.name}`);
  names.add(o.name);
  const f = join(FX, o.file);
  if (!existsSync(f)) {
    problems.push(`${o.name}: missing file ${o.file}`);
    continue;
  }
  if (o.source && !existsSync(join(FX, o.source))) problems.push(`${o.name}: missing source ${o.source}`);
  const r = readCoreRelos(readFileSync(f));
  const order = ['FIELD_BYTE_OFFSET', 'FIELD_BYTE_SIZE', 'FIELD_EXISTS', 'FIELD_SIGNED', 'FIELD_LSHIFT_U64',
    'FIELD_RSHIFT_U64', 'TYPE_ID_LOCAL', 'TYPE_ID_TARGET', 'TYPE_EXISTS', 'TYPE_SIZE', 'ENUMVAL_EXISTS',
    'ENUMVAL_VALUE', 'TYPE_MATCHES'];
  const actual = [...new Set(r.relos.map((x) => x.kindName))].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  if (JSON.stringify(actual) !== JSON.stringify(o.relocationKinds)) {
    problems.push(`${o.name}: relocationKinds ${JSON.stringify(o.relocationKinds)} but the object has ${JSON.stringify(actual)}`);
  }
}
for (const t of manifest.targets) if (!existsSync(join(FX, t.file))) problems.push(`target ${t.name}: missing ${t.file}`);
// every object file on disk is described
const described = new Set([...manifest.objects.map((o) => resolve(FX, o.file)), ...manifest.targets.map((t) => resolve(FX, t.file))]);
for (const d of [FX, join(FX, 'targets')]) {
  for (const n of readdirSync(d)) if (n.endsWith('.o') && !described.has(join(d, n))) problems.push(`${relative(FX, join(d, n))} is not in manifest.json`);
}

// ---- bpftool runs ----
if (!bpftool) {
  console.log('bpftool not found: only static checks');
} else {
  console.log(`${execFileSync(bpftool, ['version'], { encoding: 'utf8' }).split('\n')[0]}; archive kernels: ${kernels.length} (${archiveMode})`);
  for (const o of manifest.objects) {
    if (only && !only.has(o.name)) continue;
    for (const t of o.targets) {
      for (const { label, input, release } of await inputsFor(t)) {
        const r = await minCore(input, [join(FX, o.file)]);
        // per-kernel exceptions for "archive" targets (matched on the kernel release)
        const ex = release !== undefined ? (o.archiveExceptions ?? []).find((e) => new RegExp(e.release).test(release)) : undefined;
        const e = ex ?? o;
        judge(o.name, label, e.expect, e.expectError, e.expectExitCode, r);
      }
    }
  }
  for (const c of manifest.combinations ?? []) {
    if (only && !only.has(c.name)) continue;
    for (const { label, input } of await inputsFor(c.target)) {
      const r = await minCore(input, c.objects.map((x) => join(FX, x)));
      judge(`[${c.name}]`, label, c.expect, c.expectError, c.expectExitCode, r);
    }
  }
}

// ---- loader ----
const release = () => execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
if (load) {
  const bin = join(tmpdir(), 'btfgen-check-loader');
  const b = await sh('cc', ['-O2', '-o', bin, join(ROOT, 'test/fixtures/loader/loader.c'), '-lbpf', '-lelf', '-lz']);
  if (b.code !== 0) {
    problems.push(`building the loader failed: ${b.stderr.trim()}`);
  } else {
    for (const o of manifest.objects) {
      if (only && !only.has(o.name)) continue;
      if (o.kernelTypesFrom && o.kernelTypesFrom !== release()) {
        // struct names taken from another kernel: test/fixtures/fixtures.test.ts derives what
        // this kernel's libbpf must do from its BTF; here it is not checked.
        rows.push({ name: o.name, target: 'load (libbpf)', expect: 'skipped', got: '-', ok: true, detail: `made from ${o.kernelTypesFrom}'s types, this is ${release()}` });
        continue;
      }
      const r = await sh(bin, [join(FX, o.file)]);
      const got = r.code === 0;
      const last = r.stdout.trim().split('\n').pop();
      rows.push({ name: o.name, target: 'load (libbpf)', expect: o.loadable ? 'load' : 'no-load', got: got ? `load` : `no-load ${last}`, ok: got === o.loadable, detail: '' });
      if (got !== o.loadable) problems.push(`${o.name}: loadable=${o.loadable} but the loader says ${last}`);
    }
  }
}

// ---- rebuild ----
if (rebuild) {
  const r = await sh('bash', [join(ROOT, 'scripts/build-fixtures.sh'), '--check']);
  const diffs = r.stdout.split('\n').filter((l) => l.startsWith('DIFF'));
  if (r.code !== 0) problems.push(`build-fixtures.sh --check: ${diffs.length ? diffs.join('; ') : r.stderr.trim().split('\n').pop()}`);
  else console.log(`build-fixtures.sh --check: all ${r.stdout.split('\n').filter((l) => l.startsWith('same')).length} objects reproduce byte for byte`);
}
rmSync(outDir, { recursive: true, force: true });

// ---- table ----
const w = (s, n) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const wn = Math.max(6, ...rows.map((r) => r.name.length));
const wt = Math.max(6, ...rows.map((r) => r.target.length));
console.log(`${w('object', wn)}  ${w('target', wt)}  ${w('expect', 7)}  ${w('bpftool', 14)}  match`);
for (const r of rows) {
  if (!verbose && r.ok && r.target !== 'load (libbpf)' && rows.filter((x) => x.name === r.name).length > 6 && !/^(vmlinux|targets\/|examples:)/.test(r.target)) continue;
  console.log(`${w(r.name, wn)}  ${w(r.target, wt)}  ${w(r.expect, 7)}  ${w(r.got, 14)}  ${r.ok ? 'yes' : 'NO'}${r.detail && !r.ok ? `  ${r.detail}` : ''}`);
}
const okCount = rows.filter((r) => r.ok).length;
console.log(`\n${okCount}/${rows.length} runs as expected${verbose ? '' : ' (archive rows beyond the committed example kernels shown only on mismatch; -v for all)'}`);
if (problems.length) {
  console.log(`\n${problems.length} problem(s):`);
  for (const p of problems) console.log(`  - ${p}`);
  process.exit(1);
}
console.log('manifest OK');
