// Never a crash: fixture objects with random byte mutations in their .BTF / .BTF.ext sections
// (seeded, reproducible) either minimize or fail with a typed BtfgenError (one-line message,
// exit status), never a TypeError/RangeError or an endless loop.
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseElf } from '../../src/btf/elf.js';
import { BtfgenError } from '../../src/errors.js';
import { minimize, prepareObject, prepareTarget, type PreparedObject, type PreparedTarget } from '../../src/minimize/index.js';
import { BPF_TARGETS_DIR, HAVE_VMLINUX, VMLINUX } from '../helpers/env.js';
import { fixtureObjects, ourTarget, readBytes, targetObjects } from './helpers/differential.js';

const ITERATIONS = Number(process.env.BTFGEN_FUZZ_ITERATIONS ?? 2000);

describe('mutated objects', () => {
  it(`${ITERATIONS} seeded mutations of .BTF/.BTF.ext give results or typed errors`, async () => {
    let seed = 0x5eed;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const targets: PreparedTarget[] = [await ourTarget(join(BPF_TARGETS_DIR, 'probes_target.o')), await ourTarget(join(BPF_TARGETS_DIR, 'reloc_target.o'))];
    if (HAVE_VMLINUX) targets.push(await ourTarget(VMLINUX));
    const objs = fixtureObjects().filter((p) => !p.includes('many_roots'));
    const crashes: string[] = [];
    let ok = 0;
    let typed = 0;
    const check = (e: unknown, what: string) => {
      if (e instanceof BtfgenError && e.exitCode > 0 && !e.message.includes('\n')) typed++;
      else crashes.push(`${what}: ${(e as Error)?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(e)}`);
    };
    for (let iter = 0; iter < ITERATIONS; iter++) {
      const src = objs[Math.floor(rnd() * objs.length)]!;
      const b = new Uint8Array(readBytes(src));
      let ranges: [number, number][] = [];
      try {
        const elf = parseElf(b);
        for (const n of ['.BTF', '.BTF.ext']) {
          const s = elf.section(n);
          if (s && s.size > 0) ranges.push([s.offset, s.size]);
        }
      } catch {
        ranges = [[0, b.length]];
      }
      if (ranges.length === 0) continue;
      const n = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < n; k++) {
        const [off, len] = ranges[Math.floor(rnd() * ranges.length)]!;
        const pos = off + Math.floor(rnd() * len);
        const r = rnd();
        if (r < 0.5) b[pos] = Math.floor(rnd() * 256);
        else if (r < 0.8) b[pos] = b[pos]! ^ (1 << Math.floor(rnd() * 8));
        else b[pos] = 0;
      }
      const what = `#${iter} ${basename(src)}`;
      let o;
      try {
        o = prepareObject(b, basename(src));
      } catch (e) {
        check(e, what);
        continue;
      }
      for (const t of targets) {
        try {
          minimize(t, [o]);
          ok++;
        } catch (e) {
          check(e, what);
        }
      }
    }
    expect(crashes).toEqual([]);
    expect(ok + typed).toBeGreaterThan(ITERATIONS);
  }, 300_000);

  it(`${ITERATIONS / 4} seeded mutations of target (kernel) BTF against every object; the candidates found in the parse (roots) give the same results`, () => {
    let seed = 0xbeef;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const objs: PreparedObject[] = [];
    for (const p of fixtureObjects().filter((x) => !x.includes('many_roots'))) {
      try {
        objs.push(prepareObject(readBytes(p), basename(p)));
      } catch {
        /* rejected objects are covered above */
      }
    }
    const roots = [...new Set(objs.flatMap((o) => [...o.roots]))];
    const crashes: string[] = [];
    const differ: string[] = [];
    let runs = 0;
    for (let iter = 0; iter < ITERATIONS / 4; iter++) {
      const tgts = targetObjects();
      const src = tgts[Math.floor(rnd() * tgts.length)]!;
      const b = new Uint8Array(readBytes(src));
      const sec = parseElf(b).section('.BTF')!;
      for (let k = 0, n = 1 + Math.floor(rnd() * 3); k < n; k++) {
        const pos = sec.offset + Math.floor(rnd() * sec.size);
        b[pos] = rnd() < 0.5 ? Math.floor(rnd() * 256) : b[pos]! ^ (1 << Math.floor(rnd() * 8));
      }
      const fail = (e: unknown, what: string) => {
        if (!(e instanceof BtfgenError) || e.message.includes('\n')) crashes.push(`#${iter} ${what}: ${(e as Error)?.stack?.split('\n').slice(0, 3).join(' | ')}`);
      };
      let t: PreparedTarget;
      let sieved: PreparedTarget;
      try {
        t = prepareTarget(b, { name: basename(src) });
        sieved = prepareTarget(b, { name: basename(src), roots });
      } catch (e) {
        fail(e, 'parse');
        continue;
      }
      const outcome = (target: PreparedTarget, o: PreparedObject): string => {
        try {
          return Buffer.from(minimize(target, [o])).toString('hex');
        } catch (e) {
          fail(e, o.name);
          return `error: ${(e as Error).message}`;
        }
      };
      for (const o of objs) {
        runs++;
        const plain = outcome(t, o);
        if (outcome(sieved, o) !== plain) differ.push(`#${iter} ${basename(src)} ${o.name}`);
      }
    }
    expect(crashes).toEqual([]);
    expect(differ).toEqual([]);
    expect(runs).toBeGreaterThan(0);
  }, 300_000);
});
