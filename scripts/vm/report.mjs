#!/usr/bin/env node
// Turns the VM harness's records (scripts/vm/init.sh -> <out>/<suite>/records.txt) into
// <out>/results.json and prints a per-kernel table (program x way).
//
//   node scripts/vm/report.mjs OUT KERNELS_DIR
//
// results.json (version 1):
//   run         the run's settings and stage times (run.sh's run.json) + per-kernel wall times
//   skipped     [{suite, reason}] kernels that could not be fetched
//   notPacked   [{object, reason}] objects btfgen pack rejected for one of the kernels
//   archive     {file, objects, members}: the packed min_core_btfs.tar.gz (kept with the run's
//               output), the objects packed into it, and its members
//   kernels[]   suite, os ("debian/12"), release, package, archiveKey (the member the helper
//               should pick: <ID>/<VERSION_ID>/x86_64/<release>.btf), kernelBtf (/sys/kernel/btf/
//               vmlinux readable at boot), btfHidden (the tmpfs hid it), complete (init reached
//               the end), bootSeconds (guest uptime when /init started), wallMs (qemu start to
//               exit), qemuExit, timedOut (killed by run.sh's --timeout), lastRecord, waySeconds {way: guest seconds}, node {way: {rc, source, key, seconds}},
//               btf {way: {object: "kernel -" | "archive <path>" | "given <path>" | "err <N>"}},
//               programs[]: {object, program, section, needsKernelBtf, packed,
//                            outcomes: {way: "ok" | "err <N>" | "open err <N>" | "btf err <N>"},
//                            relos: {way: ["#<n> <kind> <libbpf's decision>", ...]}} (vmload.c)
//   ways        kernel, forced, hidden[, node-forced, node-hidden]
//
// HOOK for `btfgen check` part two (issue 17 item 3): kernels[].programs[].outcomes.hidden is
// what the real kernel did with the archive member kernels[].archiveKey and no kernel BTF,
// program by program; check's verdict for (archive.file, archiveKey, object, program) is to be
// compared against it (test/vm/vm.test.ts has the placeholder).
import { readFileSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import path from 'node:path';

const [out, kernelsDir] = process.argv.slice(2);
if (!out || !kernelsDir) {
  console.error('usage: report.mjs OUT KERNELS_DIR');
  process.exit(2);
}

const OS = { bullseye: 11, bookworm: 12, trixie: 13 };
// Program types whose attach target libbpf resolves in the kernel's own vmlinux BTF
// (libbpf_find_attach_btf_id / find_kernel_btf_id): they cannot load when it is hidden,
// whatever btf_custom_path says. Also typed __ksym users, not among our fixtures.
const NEEDS_KERNEL_BTF = /^(fentry|fexit|fmod_ret|tp_btf|lsm|lsm\.s|lsm_cgroup|iter|iter\.s|struct_ops|freplace|fentry\.s|fexit\.s|fmod_ret\.s|kfunc|kretfunc)(\/|$)/;

const read = (f, d = '') => (existsSync(f) ? readFileSync(f, 'utf8') : d);
const tsv = (f) =>
  read(f)
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'));

const run = JSON.parse(read(path.join(out, 'run.json'), '{}'));
const wall = Object.fromEntries(tsv(path.join(out, 'boot-times.tsv')).map(([s, ms, rc]) => [s, { ms: Number(ms), rc: Number(rc) }]));
const skipped = tsv(path.join(out, 'skipped.tsv')).map(([suite, reason]) => ({ suite, reason }));
const notPacked = tsv(path.join(out, 'not-packed.tsv')).map(([object, reason]) => ({ object, reason }));
const notPackedSet = new Set(notPacked.map((n) => n.object));
const suites = read(path.join(out, 'booted.txt')).split('\n').filter(Boolean);

function parseRecords(text) {
  const k = { kernelBtf: false, btfHidden: false, complete: false, bootSeconds: null, waySeconds: {}, node: {}, btf: {}, programs: new Map(), relos: new Map() };
  const wayStart = {};
  let way = null;
  let obj = null;
  for (const raw of text.split(/\r?\n/)) {
    const t = raw.trim().split(/\s+/);
    if (t[0] === 'vm' && t[1] === 'begin') {
      k.unameR = t[2];
      k.kernelBtf = raw.includes('kbtf=yes');
      k.bootSeconds = Number(/boot=([\d.]+)/.exec(raw)?.[1] ?? NaN);
    } else if (t[0] === 'vm' && t[1] === 'done') {
      k.complete = true;
      k.doneSeconds = Number(t[2]);
    } else if (t[0] === 'way' && t[2] === 'begin') {
      way = t[1];
      wayStart[way] = Number(t[3]);
      k.btf[way] = {};
    } else if (t[0] === 'way' && t[2] === 'end') {
      k.waySeconds[t[1]] = Math.round((Number(t[3]) - wayStart[t[1]]) * 100) / 100;
      way = null;
    } else if (t[0] === 'hide') {
      k.btfHidden = t[1] === 'yes';
    } else if (t[0] === 'node' && t[2] === 'begin') {
      k.node[t[1]] = { start: Number(t[3]) };
    } else if (t[0] === 'node' && t[2] === 'picked') {
      const n = k.node[t[1]] ?? (k.node[t[1]] = {});
      n.rc = Number(t[3].replace('rc=', ''));
      const rest = t.slice(4);
      const end = Number(rest.pop());
      if (n.rc === 0) [n.source, n.key, n.path] = rest;
      n.seconds = Math.round((end - n.start) * 100) / 100;
      delete n.start;
    } else if (t[0] === 'obj' && way) {
      obj = t[1];
    } else if (t[0] === 'btf' && way && obj) {
      k.btf[way][obj] = t.slice(1).join(' ');
      if (t[1] === 'err') record(k, obj, '*', '', way, `btf err ${t[2]}`);
    } else if (t[0] === 'open' && way && obj) {
      record(k, obj, '*', '', way, `open err ${t[2]}`);
    } else if (t[0] === 'relo' && way && obj) {
      const id = `${obj}\t${t[1]}`;
      const r = k.relos.get(id) ?? k.relos.set(id, {}).get(id);
      (r[way] ??= []).push(t.slice(2).join(' '));
    } else if (t[0] === 'prog' && way && obj) {
      record(k, obj, t[1], t[2], way, t.slice(3).join(' '));
    }
  }
  return k;
}

function record(k, object, program, section, way, outcome) {
  const id = `${object}\t${program}`;
  let p = k.programs.get(id);
  if (!p) {
    p = { object, program, section, needsKernelBtf: NEEDS_KERNEL_BTF.test(section), packed: !notPackedSet.has(object), outcomes: {} };
    k.programs.set(id, p);
  }
  if (section && !p.section) {
    p.section = section;
    p.needsKernelBtf = NEEDS_KERNEL_BTF.test(section);
  }
  p.outcomes[way] = outcome;
}

// An object that failed to open or get its BTF has one '*' row per way; spread it over the
// object's programs seen in other ways so every program has an outcome in every way.
function spreadObjectRows(k) {
  for (const [id, star] of [...k.programs].filter(([, p]) => p.program === '*')) {
    const named = [...k.programs.values()].filter((p) => p.object === star.object && p.program !== '*');
    if (!named.length) continue;
    for (const p of named) for (const [w, o] of Object.entries(star.outcomes)) p.outcomes[w] ??= o;
    k.programs.delete(id);
  }
}

const kernels = [];
for (const suite of suites) {
  const kd = path.join(kernelsDir, suite);
  const release = read(path.join(kd, 'release')).trim();
  const k = parseRecords(read(path.join(out, suite, 'records.txt')));
  spreadObjectRows(k);
  for (const [id, p] of k.programs) p.relos = k.relos.get(id) ?? {};
  const os = `debian/${OS[suite]}`;
  kernels.push({
    suite,
    os,
    release,
    package: read(path.join(kd, 'package')).trim(),
    archiveKey: `${os}/x86_64/${release}.btf`,
    unameR: k.unameR ?? null,
    kernelBtf: k.kernelBtf,
    btfHidden: k.btfHidden,
    complete: k.complete,
    bootSeconds: k.bootSeconds,
    guestSeconds: k.doneSeconds ?? null,
    wallMs: wall[suite]?.ms ?? null,
    qemuExit: wall[suite]?.rc ?? null,
    timedOut: wall[suite]?.rc === 124 || wall[suite]?.rc === 137,
    lastRecord: read(path.join(out, suite, 'records.txt')).trim().split('\n').pop() ?? '',
    waySeconds: k.waySeconds,
    node: k.node,
    btf: k.btf,
    programs: [...k.programs.values()].sort((a, b) => (a.object + a.program).localeCompare(b.object + b.program)),
  });
}

const ways = ['kernel', 'forced', 'hidden', ...(run.withNode ? ['node-forced', 'node-hidden'] : [])];
const lines0 = (f) => read(f).split('\n').filter(Boolean);
const archive = {
  file: path.join(out, 'build', 'min_core_btfs.tar.gz'),
  objects: lines0(path.join(out, 'packed.txt')),
  members: lines0(path.join(out, 'archive-members.txt')),
};
const results = { version: 1, generatedBy: 'scripts/vm/run.sh', run, ways, skipped, notPacked, archive, kernels };
const file = path.join(out, 'results.json');
writeFileSync(`${file}.tmp`, JSON.stringify(results, null, 2) + '\n');
renameSync(`${file}.tmp`, file);

// --- the table ---
const lines = [];
for (const s of skipped) lines.push(`${s.suite}: SKIPPED: ${s.reason}`);
for (const k of kernels) {
  lines.push('');
  lines.push(
    `== ${k.suite} ${k.release} (${k.os}): boot ${k.bootSeconds ?? '?'} s, guest ${k.guestSeconds ?? '?'} s, wall ${k.wallMs ?? '?'} ms` +
      `, kernel BTF ${k.kernelBtf ? 'present' : 'ABSENT'}, hidden ${k.btfHidden ? 'yes' : 'NO'}${k.complete ? '' : ', INCOMPLETE'}`,
  );
  lines.push(`   way seconds: ${Object.entries(k.waySeconds).map(([w, s]) => `${w} ${s}`).join(', ')}`);
  for (const [w, n] of Object.entries(k.node)) lines.push(`   ${w}: ensureCoreBtf rc=${n.rc} ${n.source ?? ''} ${n.key ?? ''} in ${n.seconds} s`);
  const wid = Math.max(20, ...k.programs.map((p) => `${p.object}:${p.program}`.length));
  lines.push(`   ${'object:program'.padEnd(wid)}  ${ways.map((w) => w.padEnd(14)).join('')}relos  verdict`);
  let bad = 0;
  for (const p of k.programs) {
    const o = p.outcomes;
    const r = (w) => JSON.stringify(p.relos[w] ?? []);
    const ab = o.kernel !== undefined && o.kernel === o.forced && r('forced') === r('kernel');
    // with the kernel BTF hidden, a program that needs it to attach is recorded, not judged
    const others = ways.filter((w) => w !== 'kernel' && w !== 'forced' && !(p.needsKernelBtf && w.endsWith('hidden')));
    const rest = others.every((w) => o[w] === o.kernel && r(w) === r('kernel'));
    const same = p.needsKernelBtf ? 'same (hidden: needs kernel BTF, not judged)' : 'same';
    const verdict = !p.packed ? 'not packed' : ab && rest ? same : 'DIFF';
    if (verdict === 'DIFF') bad++;
    const nrelo = String((p.relos.kernel ?? []).length).padStart(5);
    lines.push(`   ${`${p.object}:${p.program}`.padEnd(wid)}  ${ways.map((w) => String(o[w] ?? '-').padEnd(14)).join('')}${nrelo}  ${verdict}`);
  }
  lines.push(`   ${k.programs.length} programs, ${bad} differing (verdict "same": equal outcomes and equal CO-RE decisions)`);
}
if (notPacked.length) lines.push('', `not packed: ${notPacked.map((n) => `${n.object} (${n.reason})`).join('; ')}`);
lines.push('', `results: ${file}`);
process.stdout.write(lines.join('\n') + '\n');
