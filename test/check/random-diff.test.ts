// Differential test of `btfgen check` against libbpf 1.1 on the random C generator's objects
// (test/minimize/helpers/random-c.ts: CO-RE macros on random kernel types and local ___flavor
// copies, compiled by clang-19 against a vmlinux.h of the running kernel). Every decision
// libbpf logs (patched value, poison, failure) on the running kernel and on archive kernels
// must be ours, and the guarded analysis must agree with the verifier where it can judge.
//
//   BTFGEN_CHECK_RANDOM_OBJECTS=N   objects (default 16)
//   BTFGEN_CHECK_RANDOM_SEED=S      seed (default 0xc4ec0001)
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeObject } from '../../src/check/analyze.js';
import { decideObject, prepareCheckObject } from '../../src/check/decide.js';
import { ARCHIVE_DEMO, envNumber, HAVE_ARCHIVE_DEMO, HAVE_CLANG, HAVE_VMLINUX, IS_ROOT, NO_CLANG, VMLINUX } from '../helpers/env.js';
import { kernelFile, ourTarget, readBytes, tempDir } from '../minimize/helpers/differential.js';
import { generateProgram, indexKernel, parseHeader, renderProgram, type GenProgram } from '../minimize/helpers/random-c.js';
import { compareDecisions } from './compare.js';
import { buildHarness, failedCoreRelo, harnessSkipReason, parseReloLog, runHarness } from './helpers.js';

const OBJECTS = envNumber('BTFGEN_CHECK_RANDOM_OBJECTS', 16);
const SEED = envNumber('BTFGEN_CHECK_RANDOM_SEED', 0xc4ec0001) >>> 0;
const CFLAGS = ['-g', '-O2', '-target', 'bpf', '-mcpu=v3', '-D__TARGET_ARCH_x86', '-w'];
const bin = buildHarness();
const why = !HAVE_CLANG ? NO_CLANG : !bin ? harnessSkipReason() : !HAVE_VMLINUX ? 'no /sys/kernel/btf/vmlinux for vmlinux.h' : !IS_ROOT ? 'not root: libbpf loads the object' : '';

function run(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
    p.stderr.on('data', (d: Buffer) => (err += d.toString('latin1')));
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stdout: out, stderr: err }));
  });
}

/** Compiles, dropping the lines clang rejects (a few rounds); undefined when it still fails. */
async function compile(dir: string, pch: string | undefined, prog: GenProgram, name: string): Promise<string | undefined> {
  const drop = new Set<number>();
  const src = join(dir, `${name}.c`);
  const obj = join(dir, `${name}.o`);
  for (let round = 0; round < 6; round++) {
    writeFileSync(src, renderProgram(prog, drop));
    const r = await run('clang-19', [...CFLAGS, '-I', dir, ...(pch ? ['-include-pch', pch] : []), '-c', src, '-o', obj]);
    if (r.status === 0) return obj;
    let progress = false;
    for (const m of r.stderr.matchAll(new RegExp(`${name}\\.c:(\\d+):\\d+:`, 'g'))) {
      const l = Number(m[1]) - 1;
      if (prog.lines[l]?.droppable && !drop.has(l)) {
        drop.add(l);
        progress = true;
      }
    }
    if (!progress) return undefined;
  }
  return undefined;
}

describe.skipIf(why !== '')(`check vs libbpf 1.1 on random C objects${why ? ` (skipped: ${why})` : ''}`, () => {
  it('every decision and every judgeable guard verdict', async () => {
    const dir = join(tempDir(), 'check-random-c');
    mkdirSync(dir, { recursive: true });
    const dump = await run('bpftool', ['btf', 'dump', 'file', VMLINUX, 'format', 'c']);
    expect(dump.status).toBe(0);
    writeFileSync(join(dir, 'vmlinux.h'), dump.stdout);
    const pch = join(dir, 'vmlinux.h.pch');
    const pr = await run('clang-19', [...CFLAGS, '-x', 'c-header', join(dir, 'vmlinux.h'), '-o', pch]);
    const ix = indexKernel((await ourTarget(VMLINUX)).btf, parseHeader(dump.stdout));
    const kernels = [VMLINUX];
    if (HAVE_ARCHIVE_DEMO) {
      for (const k of ['centos/8/x86_64/4.18.0-80.el8.x86_64', 'debian/10/x86_64/4.19.0-17-amd64', 'ubuntu/20.04/x86_64/5.11.0-1028-gcp', 'ubuntu/20.04/x86_64/5.4.0-26-generic']) {
        kernels.push(join(ARCHIVE_DEMO, `${k}.btf.tar.xz`));
      }
    }
    let compiled = 0;
    let compared = 0;
    let judged = 0;
    const mismatches: string[] = [];
    for (let i = 0; i < OBJECTS; i++) {
      const path = await compile(dir, pr.status === 0 ? pch : undefined, generateProgram(ix, SEED, i), `obj${i}`);
      if (!path) continue;
      compiled++;
      const obj = prepareCheckObject(readBytes(path), basename(path));
      for (const k of kernels) {
        let btf: string;
        try {
          btf = kernelFile(k);
        } catch {
          continue; // kernel not in this archive copy
        }
        const target = await ourTarget(k);
        const ours = decideObject(obj, target);
        const runAll = await runHarness(bin!, path, btf);
        const c = compareDecisions(obj, ours, parseReloLog(runAll.log));
        compared += c.compared;
        mismatches.push(...c.mismatches.map((m) => `seed ${SEED} obj ${i} ${basename(k)}: ${m}`));
        // the verifier as judge of the guard analysis (whole object: one program per object)
        const out = analyzeObject(obj, target);
        if (out.decisions.some((d) => d?.verdict === 'error') || out.programs.length !== 1) continue;
        const p = out.programs[0]!;
        if (runAll.result === 0) {
          judged++;
          if (p.verdict !== 'loads-core') mismatches.push(`seed ${SEED} obj ${i} ${basename(k)}: loads, ours ${p.verdict}`);
        } else if (failedCoreRelo(runAll.log)) {
          judged++;
          if (p.verdict !== 'fails-core') mismatches.push(`seed ${SEED} obj ${i} ${basename(k)}: verifier fails on a poison, ours ${p.verdict}`);
        }
      }
    }
    console.log(`random C: ${compiled}/${OBJECTS} objects compiled, ${compared} decisions compared, ${judged} program loads judged`);
    expect(mismatches.slice(0, 30)).toEqual([]);
    expect(compiled).toBeGreaterThan(OBJECTS / 2);
    expect(compared).toBeGreaterThan(compiled * 5);
  }, 900_000);
});
