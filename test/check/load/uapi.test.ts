// The uapi name tables against two independent routes: the C compiler evaluating the names in
// /usr/include/linux/bpf.h (Linux 6.1 headers here: a prefix of our tables), and the running
// kernel's enums as bpftool dumps them.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ATTACH_TYPE_NAMES, HELPER_NAMES, MAP_TYPE_NAMES, PROG_TYPE_NAMES } from '../../../src/check/load/uapi.js';
import { HAVE_BPFTOOL, HAVE_GCC, HAVE_UAPI_BPF_H, HAVE_VMLINUX, VMLINUX } from '../../helpers/env.js';
import { bpftoolFacts, run, tempDir } from './helpers.js';

describe('uapi name tables', () => {
  it.skipIf(!HAVE_GCC || !HAVE_UAPI_BPF_H)('agree with linux/bpf.h as the C compiler reads it (every name the header has)', () => {
    // The header's own counts bound which names it has: __MAX_BPF_ATTACH_TYPE, __BPF_FUNC_MAX_ID.
    const src = join(tempDir(), 'uapi.c');
    const hdr = readFileSync('/usr/include/linux/bpf.h', 'utf8');
    // Helpers are spelled FN(name, id, ...) inside __BPF_FUNC_MAPPER; the rest literally.
    const inHeader = (n: string) =>
      n.startsWith('BPF_FUNC_') ? new RegExp(`\\bFN\\(${n.slice(9)}\\b`).test(hdr) : new RegExp(`\\b${n}\\b`).test(hdr);
    const lines: string[] = [];
    const add = (names: readonly string[], prefix = '') => names.forEach((n) => inHeader(prefix + n) && lines.push(`  printf("%s %d\\n", "${prefix}${n}", (int)${prefix}${n});`));
    add(PROG_TYPE_NAMES);
    add(ATTACH_TYPE_NAMES);
    add(MAP_TYPE_NAMES);
    add(HELPER_NAMES, 'BPF_FUNC_');
    writeFileSync(src, `#include <stdio.h>\n#include <linux/bpf.h>\nint main(void) {\n${lines.join('\n')}\n  printf("max %d %d\\n", (int)__MAX_BPF_ATTACH_TYPE, (int)__BPF_FUNC_MAX_ID);\n  return 0;\n}\n`);
    const bin = join(tempDir(), 'uapi');
    run('gcc', ['-o', bin, src]);
    const out = run(bin, []).trim().split('\n');
    const [, maxAttach, maxFunc] = out.pop()!.split(' ').map(Number) as [string, number, number];
    const got = new Map(out.map((l) => l.split(' ') as [string, string]).map(([n, v]) => [n, Number(v)]));
    const ours = new Map<string, number>();
    PROG_TYPE_NAMES.forEach((n, i) => ours.set(n, i));
    ATTACH_TYPE_NAMES.forEach((n, i) => ours.set(n, i));
    MAP_TYPE_NAMES.forEach((n, i) => ours.set(n, i));
    HELPER_NAMES.forEach((n, i) => ours.set(`BPF_FUNC_${n}`, i));
    for (const [n, v] of got) expect([n, ours.get(n)]).toEqual([n, v]);
    // Every value below the header's maxima is named by the header (no gaps in our prefix).
    expect(ATTACH_TYPE_NAMES.slice(0, maxAttach).every((n) => got.has(n))).toBe(true);
    expect(HELPER_NAMES.slice(0, maxFunc).every((n) => got.has(`BPF_FUNC_${n}`))).toBe(true);
    expect(got.size).toBeGreaterThan(300);
  });

  it.skipIf(!HAVE_BPFTOOL || !HAVE_VMLINUX)('agree with the running kernel enums (bpftool raw dump)', () => {
    const raw = bpftoolFacts(VMLINUX);
    const check = (e: string, names: readonly string[], prefix = '') => {
      const m = raw.enums.get(e)!;
      names.forEach((n, i) => {
        if (m.has(prefix + n)) expect([prefix + n, m.get(prefix + n)]).toEqual([prefix + n, i]);
      });
      // Our table names every non-alias, non-sentinel value the running kernel has.
      for (const [n, v] of m) if (!n.startsWith('__') && !n.endsWith('_DEPRECATED')) expect([n, names[v] !== undefined]).toEqual([n, true]);
    };
    check('bpf_prog_type', PROG_TYPE_NAMES);
    check('bpf_attach_type', ATTACH_TYPE_NAMES);
    check('bpf_map_type', MAP_TYPE_NAMES);
    check('bpf_func_id', HELPER_NAMES, 'BPF_FUNC_');
  });
});
