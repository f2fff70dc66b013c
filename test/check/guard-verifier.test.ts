// Guarded or not, judged by the kernel verifier: each program of the guard fixtures (and of
// test/fixtures/bpf) is relocated by libbpf 1.1 against an archive kernel's BTF
// (btf_custom_path) and loaded ALONE into the running kernel. A program whose load fails on a
// poisoned instruction (libbpf rewrites the verifier log: "failed to resolve CO-RE relocation")
// must have an unguarded poison in our analysis; a program that loads must have none. Programs
// failing for other reasons (attach target, offsets meant for another kernel...) are counted and
// left out.
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeObject } from '../../src/check/analyze.js';
import { prepareCheckObject } from '../../src/check/decide.js';
import { HAVE_CLANG, HAVE_VMLINUX, IS_ROOT, REPO_ROOT, VMLINUX } from '../helpers/env.js';
import { defaultKernels, fixtureObjects, kernelFile, ourTarget, pool, readBytes, tempFile } from '../minimize/helpers/differential.js';
import { buildHarness, failedCoreRelo, harnessSkipReason, runHarness } from './helpers.js';

const bin = buildHarness();
const GUARDS_SRC = join(REPO_ROOT, 'test/check/fixtures/guards.bpf.c');

/** The guard fixture compiled now with clang-19 (the committed .o when clang is missing). */
function guardsObject(): string {
  if (!HAVE_CLANG) return join(REPO_ROOT, 'test/check/fixtures/guards.o');
  const out = tempFile('guards.o');
  const r = spawnSync('clang-19', ['-g', '-O2', '-target', 'bpf', '-mcpu=v3', '-D__TARGET_ARCH_x86',
    '-I', join(REPO_ROOT, 'test/fixtures/bpf/src/include'), '-c', GUARDS_SRC, '-o', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`clang-19 guards.bpf.c: ${r.stderr}`);
  return out;
}

const kernels = [...(HAVE_VMLINUX ? [VMLINUX] : []), ...defaultKernels().filter((k) => !k.includes('aarch64') && !k.includes('4.18.0-147'))];
const why = !bin ? harnessSkipReason() : !IS_ROOT ? 'not root: loading BPF programs needs CAP_BPF/CAP_SYS_ADMIN' : '';

describe.skipIf(why !== '')(`guarded/unguarded poisons vs the kernel verifier${why ? ` (skipped: ${why})` : ''}`, () => {
  async function judge(objPaths: string[]) {
    const agree: string[] = [];
    const wrong: string[] = [];
    const other: string[] = [];
    for (const k of kernels) {
      const btf = kernelFile(k);
      const target = await ourTarget(k);
      for (const path of objPaths) {
        let obj;
        try {
          obj = prepareCheckObject(readBytes(path), basename(path));
        } catch {
          continue;
        }
        const out = analyzeObject(obj, target);
        if (out.decisions.some((d) => d?.verdict === 'error')) continue; // libbpf refuses the object
        await pool(out.programs, 2, async (p) => {
          const run = await runHarness(bin!, path, btf, p.program);
          const label = `${basename(k)} ${obj.file} ${p.program}`;
          const failedOn = failedCoreRelo(run.log);
          const unguarded = p.because.length > 0;
          if (run.result === 0) (unguarded ? wrong : agree).push(`${label}: loads; ours ${p.verdict} ${p.because.map((i) => obj.relos[i]!.path).join(', ')}`);
          else if (failedOn) (unguarded ? agree : wrong).push(`${label}: verifier fails on ${failedOn}; ours ${p.verdict}`);
          else other.push(`${label}: load failed for another reason (${run.result})`);
        });
      }
    }
    return { agree, wrong, other };
  }

  it('guard fixtures: every verdict the verifier can judge agrees', async () => {
    const r = await judge([guardsObject()]);
    console.log(`guards: ${r.agree.length} agree, ${r.wrong.length} disagree, ${r.other.length} failed for other reasons`);
    expect(r.wrong).toEqual([]);
    // both sides occur: poisons that the verifier trips on, and guarded ones that load
    expect(r.agree.some((a) => a.includes('verifier fails'))).toBe(true);
    expect(r.agree.some((a) => a.includes('loads') && /guarded/.test(a))).toBe(true);
  }, 600_000);

  it('fixture corpus: every verdict the verifier can judge agrees', async () => {
    const r = await judge(fixtureObjects());
    console.log(`corpus: ${r.agree.length} agree, ${r.wrong.length} disagree, ${r.other.length} failed for other reasons`);
    expect(r.wrong).toEqual([]);
    expect(r.agree.length).toBeGreaterThan(0);
  }, 900_000);
});
