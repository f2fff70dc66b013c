// Shared helpers of the load-check tests: temp dirs, compiling the
// BPF fixtures, and the independent route to kernel BTF facts (bpftool's raw dump, parsed here,
// never our reader).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../helpers/env.js';
import { processTempDir } from '../../helpers/temp.js';

export const LOAD_FIXTURES = join(REPO_ROOT, 'test/check/load/fixtures');

/** One temp directory per test process, removed at exit (never inside the repository). */
export const tempDir = (): string => processTempDir('btfgen-check-load-');

export function run(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** Compiles test/check/load/fixtures/<name>.bpf.c with clang-19 for bpfel; returns the object path. */
export function compileFixture(name: string): string {
  const triple = run('gcc', ['-dumpmachine']).trim();
  const obj = join(tempDir(), `${name}.bpf.o`);
  run('clang-19', ['-g', '-O2', '-target', 'bpf', `-I/usr/include/${triple}`, '-c', join(LOAD_FIXTURES, `${name}.bpf.c`), '-o', obj]);
  return obj;
}

/** Kernel facts read from `bpftool btf dump file F format raw` text. */
export interface RawFacts {
  /** enum name -> member name -> value (only for the four bpf enums). */
  enums: Map<string, Map<string, number>>;
  funcs: Set<string>;
  structs: Set<string>;
  typedefs: Set<string>;
}

const ENUMS = new Set(['bpf_prog_type', 'bpf_attach_type', 'bpf_map_type', 'bpf_func_id']);

/** Parses bpftool's raw dump: "[N] ENUM 'x' ... vlen=M" followed by "\t'NAME' val=V" lines. */
export function bpftoolFacts(btfFile: string): RawFacts {
  const text = run('bpftool', ['btf', 'dump', 'file', btfFile, 'format', 'raw']);
  const facts: RawFacts = { enums: new Map(), funcs: new Set(), structs: new Set(), typedefs: new Set() };
  let cur: Map<string, number> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('\t')) {
      const m = /^\t'(\w+)' val=(-?\d+)/.exec(line);
      if (cur && m) cur.set(m[1]!, Number(m[2]));
      continue;
    }
    cur = undefined;
    const m = /^\[\d+\] (\w+) '([^']*)'/.exec(line);
    if (!m) continue;
    const [, kind, name] = m as unknown as [string, string, string];
    if (kind === 'ENUM' || kind === 'ENUM64') {
      if (ENUMS.has(name) && !/vlen=0$/.test(line)) {
        cur = facts.enums.get(name) ?? new Map();
        facts.enums.set(name, cur);
      }
    } else if (kind === 'FUNC') facts.funcs.add(name);
    else if (kind === 'STRUCT') facts.structs.add(name);
    else if (kind === 'TYPEDEF') facts.typedefs.add(name);
  }
  return facts;
}
