// The programs of an object as libbpf sees them (one per STT_FUNC symbol of an executable
// section; .text ones are subprograms), checked against llvm-objdump's symbol table.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readObjectCode } from '../../src/check/programs.js';
import { HAVE_LLVM_OBJDUMP, REPO_ROOT } from '../helpers/env.js';
import { fixtureObjects } from '../minimize/helpers/differential.js';

const OBJDUMP = 'llvm-objdump-19';

describe.skipIf(!HAVE_LLVM_OBJDUMP)(`programs of an object ${HAVE_LLVM_OBJDUMP ? '' : '(skipped: llvm-objdump-19 not installed)'}`, () => {
  it.each([join(REPO_ROOT, 'test/check/fixtures/guards.o'), ...fixtureObjects().filter((f) => /trace_|reloc_|edge_/.test(f))])('%s', (path) => {
    let code;
    try {
      code = readObjectCode(new Uint8Array(readFileSync(path)));
    } catch {
      return; // big-endian or not an object: covered elsewhere
    }
    const ref = execFileSync(OBJDUMP, ['-t', path], { encoding: 'utf8' })
      .split('\n')
      .map((l) => /^([0-9a-f]{16}) ([lgw])\s+F (\S+)\s+([0-9a-f]{16}) (\S+)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({
        name: m[5]!,
        section: m[3]!.replace(/^\?/, ''),
        secInsnOff: parseInt(m[1]!, 16) / 8,
        insnCount: parseInt(m[4]!, 16) / 8,
        subprog: m[3] === '.text',
        global: m[2] !== 'l',
      }));
    const ours = code.programs.map((p) => ({ name: p.name, section: p.section, secInsnOff: p.secInsnOff, insnCount: p.insnCount, subprog: p.subprog, global: p.global }));
    const key = (x: { section: string; secInsnOff: number }) => `${x.section}:${String(x.secInsnOff).padStart(8, '0')}`;
    expect([...ours].sort((a, b) => key(a).localeCompare(key(b)))).toEqual([...ref].sort((a, b) => key(a).localeCompare(key(b))));
  });
});
