// Real reports for the HTML tests. buildReport(): the load-check fixtures on a spread of demo-archive kernels
// (Debian 4.19 runs, Debian 5.10, Ubuntu 5.4 runs, CentOS 8.0), verdicts by src/check/load, and
// one CO-RE relocation outcome so the relocation sections render too.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseBtf } from '../../../src/btf/btf.js';
import type { CheckReport, ReportKernel, ReportObject } from '../../../src/check/report.js';
import { readKernelFacts, type KernelFacts } from '../../../src/check/load/kernel.js';
import { readObjectFacts } from '../../../src/check/load/program.js';
import { groupOutcomes, programVerdict } from '../../../src/check/load/verdict.js';
import { BIN, data } from '../../helpers/env.js';
import { unpackBtfTarXz } from '../../helpers/data.js';
import { compileFixture, tempDir } from '../load/helpers.js';

export const REPORT_KERNELS = [
  'debian/10/x86_64/4.19.0-17-amd64',
  'debian/10/x86_64/4.19.0-18-amd64',
  'debian/10/x86_64/4.19.0-19-amd64',
  'debian/10/x86_64/4.19.0-20-amd64',
  'debian/10/x86_64/5.10.0-0.deb10.17-amd64',
  'ubuntu/20.04/x86_64/5.4.0-26-generic',
  'ubuntu/20.04/x86_64/5.4.0-28-generic',
  'ubuntu/20.04/x86_64/5.4.0-29-generic',
  'centos/8/x86_64/4.18.0-80.el8.x86_64',
];

/** Path of the demo-archive kernel with this key. */
export const archivePath = (key: string) => join(data.demoArchive.path, `${key}.btf.tar.xz`);

export async function buildReport(): Promise<{ report: CheckReport; files: string[] }> {
  const kernels: ReportKernel[] = [];
  const facts: KernelFacts[] = [];
  const files: string[] = [];
  for (const key of REPORT_KERNELS) {
    const [id, version, arch, release] = key.split('/') as [string, string, string, string];
    kernels.push({ key, id, version, arch, release });
    const file = await unpackBtfTarXz(archivePath(key));
    files.push(file);
    facts.push(readKernelFacts(parseBtf(new Uint8Array(readFileSync(file)))));
  }
  const objects: ReportObject[] = [];
  for (const fx of ['ringbuf', 'fentry', 'tracepoint']) {
    const obj = compileFixture(fx);
    const of = readObjectFacts(new Uint8Array(readFileSync(obj)), obj);
    objects.push({
      file: `${fx}.bpf.o`,
      programs: of.programs.map((p) => ({
        name: p.name,
        section: p.section,
        ...(p.secDef ? { type: p.secDef.progType } : {}),
        outcomes: groupOutcomes(facts.map((k) => programVerdict(p, k))),
      })),
      relocations: [],
    });
  }
  // One CO-RE relocation poisoned on the CentOS kernel (shape of issue 15's json).
  objects[0]!.relocations.push({
    program: 'rb_output', section: 'kprobe/do_nanosleep', index: 0, insn: 3, kind: 'byte_off', type: 'struct task_struct',
    access: '0:57', path: 'task_struct->loginuid',
    outcomes: [{ verdict: 'ok', value: 2360, kernels: [0, 1, 2, 3, 4, 5, 6, 7] }, { verdict: 'poison', guarded: false, kernels: [8] }],
  });
  const relocations = objects.reduce((n, o) => n + o.relocations.length, 0);
  const summary = { kernels: kernels.length, objects: objects.length, relocations, failingKernels: 0, unreadableKernels: 0 };
  return { report: { schema: 'btfgen-check', version: 2, kernels, objects, summary }, files };
}

/**
 * The same kernels and fixtures through the built CLI: `btfgen check --format json` and
 * `--format html -o report.html` over an archive holding copies of REPORT_KERNELS.
 */
export async function buildCliReport(): Promise<{ report: CheckReport; html: string; files: string[] }> {
  const dir = join(tempDir(), 'cli');
  const files: string[] = [];
  for (const key of REPORT_KERNELS) {
    const dst = join(dir, 'archive', `${key}.btf.tar.xz`);
    mkdirSync(dirname(dst), { recursive: true });
    copyFileSync(archivePath(key), dst);
    files.push(await unpackBtfTarXz(archivePath(key)));
  }
  const objects = ['ringbuf', 'fentry', 'tracepoint'].map(compileFixture);
  const cli = (format: string) => {
    const out = join(dir, `report.${format}`);
    const r = spawnSync(process.execPath, [BIN, 'check', ...objects, '--archive', join(dir, 'archive'), '--format', format, '-o', out, '-q'], { encoding: 'utf8' });
    // exit 1: some program fails on some kernel (the ring buffer one on Debian 4.19)
    if (r.status !== 1) throw new Error(`btfgen check --format ${format}: exit ${r.status}: ${r.stderr}`);
    return readFileSync(out, 'utf8');
  };
  const report = JSON.parse(cli('json')) as CheckReport;
  return { report, html: cli('html'), files };
}
