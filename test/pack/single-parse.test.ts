// Issue 11: pack's main thread reads, validates and fingerprints each object once. The objects
// stage parses each distinct object (by bytes) with one loadBtf() (one ELF parse); the
// fingerprint, the --report / --verify checks (their code and load facts) and the report read
// that parse. Counted at the module boundary: every loadBtf() and parseElf() of this thread
// (the workers run dist/ and parse on their own).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseElf } from '../../src/btf/elf.js';
import { pack } from '../../src/pack/index.js';
import { assertDistFresh, BPF_FIXTURES_DIR, data, EXAMPLE_OBJECT, missing, REPO_ROOT } from '../helpers/env.js';
import { cleanupTemps, tempDir } from './helpers.js';

const calls = vi.hoisted(() => ({ loadBtf: [] as Uint8Array[], parseElf: [] as Uint8Array[] }));
vi.mock('../../src/btf/object.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/btf/object.js')>();
  return {
    ...m,
    loadBtf: (bytes: Uint8Array, o?: Parameters<typeof m.loadBtf>[1]) => {
      calls.loadBtf.push(bytes);
      return m.loadBtf(bytes, o);
    },
  };
});
vi.mock('../../src/btf/elf.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/btf/elf.js')>();
  return {
    ...m,
    parseElf: (bytes: Uint8Array) => {
      calls.parseElf.push(bytes);
      return m.parseElf(bytes);
    },
  };
});

const DEMO = data.demoArchive.path;
const noDemo = missing(data.demoArchive);
const read = (f: string) => new Uint8Array(readFileSync(f));

/** trace_exec.o with another line number in its first line_info record: a CO-RE repeat. */
function lineMoved(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const sec = parseElf(out).section('.BTF.ext')!;
  const dv = new DataView(out.buffer, out.byteOffset);
  const hdrLen = dv.getUint32(sec.offset + 4, true);
  const rec = sec.offset + hdrLen + dv.getUint32(sec.offset + 16, true) + 4 + 8;
  dv.setUint32(rec + 12, dv.getUint32(rec + 12, true) ^ 0x400, true); // line_col: the line number
  return out;
}

beforeAll(() => assertDistFresh());
afterAll(() => cleanupTemps());

describe.skipIf(!!noDemo)(`pack's main thread parses each object once ${noDemo ? `(${noDemo})` : ''}`, () => {
  const example = read(EXAMPLE_OBJECT);
  const exec = read(join(BPF_FIXTURES_DIR, 'trace_exec.o'));
  const objects = [
    EXAMPLE_OBJECT,
    { name: 'copy-of-prog.bpf.o', bytes: example.slice() }, // byte-identical, another name
    join(REPO_ROOT, 'test/check/fixtures/guards.o'),
    { name: 'trace_exec.o', bytes: exec },
    { name: 'trace_exec-moved.o', bytes: lineMoved(exec) }, // same fingerprint, other bytes
  ];
  const distinctBytes = [example, read(join(REPO_ROOT, 'test/check/fixtures/guards.o')), exec, lineMoved(exec)];
  const countOf = (list: Uint8Array[], bytes: Uint8Array) => list.filter((b) => b.length === bytes.length && Buffer.compare(b, bytes) === 0).length;

  for (const mode of [{ report: true, verify: true }, {}] as const) {
    it(`one loadBtf() and one ELF parse per distinct object${'report' in mode ? ' with --report --verify' : ''}`, async () => {
      calls.loadBtf.length = 0;
      calls.parseElf.length = 0;
      const r = await pack({ objects, archive: DEMO, distros: ['centos'], output: join(tempDir(), 'o.tar.gz'), useCache: false, ...mode });
      expect(r.counts).toMatchObject({ total: 7, packed: 7, failed: 0 });
      expect(r.objects).toEqual({ given: 5, distinct: 3 });
      if ('report' in mode) expect(r.report!.kernels).toHaveLength(7);
      for (const b of distinctBytes) {
        expect(countOf(calls.loadBtf, b)).toBe(1);
        expect(countOf(calls.parseElf, b)).toBe(1);
      }
      // nothing else of the objects is parsed on this thread
      expect(calls.loadBtf).toHaveLength(distinctBytes.length);
    });
  }
});
