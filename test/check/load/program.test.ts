// Per-program facts of compiled fixtures, checked against independent tools: llvm-objdump's
// disassembly for helper calls and the legacy map bytes, bpftool's raw BTF dump of the object
// for BTF-defined map types. Call graphs (which subprogram a program reaches) come from the
// fixture sources.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readObjectFacts, type ObjectFacts } from '../../../src/check/load/program.js';
import { BtfgenError } from '../../../src/errors.js';
import { HAVE_BPFTOOL, HAVE_CLANG, HAVE_GCC, HAVE_LLVM_OBJDUMP } from '../../helpers/env.js';
import { compileFixture, run } from './helpers.js';

const READY = HAVE_CLANG && HAVE_GCC && HAVE_BPFTOOL && HAVE_LLVM_OBJDUMP;

/** Helper ids called by each function, from `llvm-objdump -d` (call with src_reg 0: "85 00"). */
function objdumpHelpers(obj: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  let fn: number[] | undefined;
  for (const line of run('llvm-objdump-19', ['-d', obj]).split('\n')) {
    const f = /^[0-9a-f]+ <(\w+)>:$/.exec(line);
    if (f) out.set(f[1]!, (fn = []));
    const c = /:\s+85 00 00 00 ((?:[0-9a-f]{2}\s){4})\s*call/.exec(line);
    if (c && fn) fn.push(Buffer.from(c[1]!.replace(/\s/g, ''), 'hex').readInt32LE(0));
  }
  return out;
}

/** .maps VAR -> the nr_elems of the ARRAY its `type` member points to (bpftool raw dump). */
function bpftoolMapTypes(obj: string): Map<string, number> {
  const text = run('bpftool', ['btf', 'dump', 'file', obj, 'format', 'raw']);
  const rec = new Map<number, string>();
  let cur = -1;
  for (const line of text.split('\n')) {
    const m = /^\[(\d+)\] /.exec(line);
    if (m) rec.set((cur = Number(m[1])), line);
    else if (cur >= 0) rec.set(cur, `${rec.get(cur)}\n${line}`);
  }
  const out = new Map<string, number>();
  for (const r of rec.values()) {
    if (!r.startsWith(`[${/^\[(\d+)\]/.exec(r)![1]}] DATASEC '.maps'`)) continue;
    for (const v of r.matchAll(/type_id=(\d+) offset=\d+ size=\d+ \(VAR '(\w+)'\)/g)) {
      const st = Number(/VAR '\w+' type_id=(\d+)/.exec(rec.get(Number(v[1]))!)![1]);
      const ptr = Number(/'type' type_id=(\d+)/.exec(rec.get(st)!)![1]);
      const arr = Number(/PTR '\(anon\)' type_id=(\d+)/.exec(rec.get(ptr)!)![1]);
      out.set(v[2]!, Number(/nr_elems=(\d+)/.exec(rec.get(arr)!)![1]));
    }
  }
  return out;
}

function facts(name: string): { obj: string; f: ObjectFacts } {
  const obj = compileFixture(name);
  return { obj, f: readObjectFacts(new Uint8Array(readFileSync(obj)), obj) };
}

const prog = (f: ObjectFacts, name: string) => {
  const p = f.programs.find((x) => x.name === name);
  if (!p) throw new Error(`no program ${name}`);
  return p;
};

describe.skipIf(!READY)(READY ? 'program facts' : 'program facts: skipped (needs clang-19, gcc, bpftool, llvm-objdump-19)', () => {
  it('helpers: direct calls, .text subprograms and bpf_loop callbacks, as llvm-objdump disassembles them', () => {
    const { obj, f } = facts('helpers');
    const d = objdumpHelpers(obj);
    const union = (...fns: string[]) => [...new Set(fns.flatMap((n) => d.get(n)!))].sort((a, b) => a - b);
    // new_helpers calls read_kernel; loop_helper passes loop_cb to bpf_loop (fixture source).
    expect(prog(f, 'new_helpers').helpers).toEqual(union('new_helpers', 'read_kernel'));
    expect(prog(f, 'loop_helper').helpers).toEqual(union('loop_helper', 'loop_cb'));
    expect(prog(f, 'old_helpers').helpers).toEqual(union('old_helpers'));
    // Subprograms are not programs (libbpf's prog_is_subprog).
    expect(f.programs.map((p) => p.name).sort()).toEqual(['loop_helper', 'new_helpers', 'old_helpers']);
    // The objdump route found what the fixture source calls (ids of include/uapi/linux/bpf.h).
    expect(union('new_helpers', 'read_kernel')).toEqual([113, 125]);
    expect(union('loop_helper', 'loop_cb')).toEqual([7, 181]);
  });

  it('BTF-defined .maps: the type as bpftool dumps __uint(type, N), and which program uses which', () => {
    const { obj, f } = facts('ringbuf');
    const types = bpftoolMapTypes(obj);
    expect([...types.entries()].sort()).toEqual([['counts', 1], ['events', 27]]);
    expect(f.maps.map((m) => [m.name, m.type, m.source]).sort()).toEqual([...types.entries()].sort().map(([n, t]) => [n, t, '.maps']));
    expect(prog(f, 'rb_output').maps.map((m) => [m.name, m.type])).toEqual([['events', types.get('events')]]);
    expect(prog(f, 'hash_count').maps.map((m) => [m.name, m.type])).toEqual([['counts', types.get('counts')]]);
    expect(prog(f, 'rb_output').secDef?.progType).toBe('BPF_PROG_TYPE_KPROBE');
    expect(prog(f, 'rb_output').target).toEqual({ kind: 'kprobe', name: 'do_nanosleep' });
  });

  it('map-in-map: the inner definition\'s type, as bpftool dumps `values` -> PTR -> STRUCT -> type', () => {
    const { obj, f } = facts('mapinmap');
    const text = run('bpftool', ['btf', 'dump', 'file', obj, 'format', 'raw']);
    const rec = (id: number) => new RegExp(`^\\[${id}\\] [^\\n]*(?:\\n\\t[^\\n]*)*`, 'm').exec(text)![0];
    const outer = Number(/VAR 'outer' type_id=(\d+)/.exec(text)![1]);
    const values = Number(/'values' type_id=(\d+)/.exec(rec(outer))![1]);
    const ptr = Number(/ARRAY '\(anon\)' type_id=(\d+)/.exec(rec(values))![1]);
    const inner = Number(/PTR '\(anon\)' type_id=(\d+)/.exec(rec(ptr))![1]);
    const typePtr = Number(/'type' type_id=(\d+)/.exec(rec(inner))![1]);
    const arr = Number(/PTR '\(anon\)' type_id=(\d+)/.exec(rec(typePtr))![1]);
    const innerType = Number(/nr_elems=(\d+)/.exec(rec(arr))![1]);
    expect(innerType).toBe(27); // the fixture's inner ring buffer
    expect(f.maps).toEqual([{ name: 'outer', type: bpftoolMapTypes(obj).get('outer'), source: '.maps', innerType }]);
    expect(prog(f, 'lookup_outer').maps).toEqual(f.maps);
  });

  it('legacy maps: struct bpf_map_def type is the first u32 of the symbol (llvm-objdump -s)', () => {
    const { obj, f } = facts('legacy');
    const hex = run('llvm-objdump-19', ['-s', '-j', 'maps', obj]);
    const first = /^ 0000 ([0-9a-f]{8})/m.exec(hex)![1]!;
    const type = Buffer.from(first, 'hex').readUInt32LE(0);
    expect(type).toBe(22); // BPF_MAP_TYPE_QUEUE in the fixture
    expect(f.maps).toEqual([{ name: 'queue', type, source: 'maps' }]);
    expect(prog(f, 'push').maps).toEqual([{ name: 'queue', type, source: 'maps' }]);
    expect(prog(f, 'push').helpers).toEqual(objdumpHelpers(obj).get('push'));
    expect(prog(f, 'unknown_sec').secDef).toBeUndefined();
  });

  it('SEC("?...") programs: autoload off, typed as the section without its "?"', () => {
    const { f } = facts('tracepoint');
    const p = prog(f, 'optional_switch');
    expect([p.section, p.autoload, p.secDef?.progType, p.target]).toEqual(['?tp/sched/sched_switch', false, 'BPF_PROG_TYPE_TRACEPOINT', { kind: 'tracepoint', category: 'sched', name: 'sched_switch' }]);
    expect(prog(f, 'raw_switch').autoload).toBe(true);
  });

  it('damaged objects: a clear BtfgenError or facts, never a crash (truncations and flipped bytes)', () => {
    const { obj } = facts('helpers');
    const good = new Uint8Array(readFileSync(obj));
    let errors = 0;
    const attempt = (bytes: Uint8Array) => {
      try {
        readObjectFacts(bytes, 'x.o');
      } catch (e) {
        expect(e).toBeInstanceOf(BtfgenError);
        expect((e as Error).message).toMatch(/^x\.o: /);
        errors++;
      }
    };
    for (let n = 0; n < good.length; n += 97) attempt(good.subarray(0, n));
    for (let i = 0; i < good.length; i += 13) {
      const bad = good.slice();
      bad[i] = bad[i]! ^ 0xff;
      attempt(bad);
    }
    expect(errors).toBeGreaterThan(0);
  });

  it('rejects a non-ELF with a one-line error naming the file', () => {
    expect(() => readObjectFacts(new Uint8Array([1, 2, 3, 4, 5]), 'x.o')).toThrow(/^x\.o: not an ELF file/);
  });
});
