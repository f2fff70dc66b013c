// renderHtml() on hand-made reports: CO-RE failures, guarded poisons, unreadable
// kernels, hostile names (escaped, never markup), an empty report.
import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../../src/check/html/render.js';
import type { CheckReport } from '../../../src/check/report.js';

const k = (id: string, version: string, arch: string, release: string, error?: string) => ({ key: `${id}/${version}/${arch}/${release}`, id, version, arch, release, ...(error ? { error } : {}) });

const report: CheckReport = {
  schema: 'btfgen-check',
  version: 2,
  kernels: [
    k('ubuntu', '20.04', 'x86_64', '5.4.0-26-generic'),
    k('ubuntu', '20.04', 'x86_64', '5.4.0-28-generic'),
    k('ubuntu', '20.04', 'arm64', '5.4.0-26-generic'),
    k('fedora', '31', 'x86_64', '5.3.7-301.fc31.x86_64', 'truncated BTF'),
  ],
  objects: [
    {
      file: 'a<b>.bpf.o',
      programs: [
        { name: 'x"><script>alert(1)</script>', section: 'kprobe/vfs_read', outcomes: [
          { verdict: 'fails', reasons: [{ check: 'core', name: 'task_struct->loginuid', relocation: 0, detail: 'relo #0 byte_off: poison' }], kernels: [0] },
          { verdict: 'loads', reasons: [], kernels: [1, 2] },
        ] },
      ],
      relocations: [
        { program: 'p', section: 'kprobe/vfs_read', index: 0, insn: 3, kind: 'byte_off', type: 'struct task_struct', access: '0:57', path: 'task_struct->loginuid',
          outcomes: [{ verdict: 'poison', guarded: false, kernels: [0] }, { verdict: 'ok', value: 2360, kernels: [1, 2] }] },
        { program: 'p', section: 'kprobe/vfs_read', index: 1, insn: 9, kind: 'field_exists', type: 'struct task_struct', access: '0:58', path: 'task_struct->sessionid',
          outcomes: [{ verdict: 'poison', guarded: true, kernels: [0, 1] }] },
      ],
    },
  ],
  summary: { kernels: 4, objects: 1, relocations: 2, failingKernels: 2, unreadableKernels: 1 },
};

describe('renderHtml on hand-made reports', () => {
  const html = renderHtml(report);
  it('escapes every name: no markup from the report reaches the page', () => {
    expect(html).not.toContain('<script>');
    expect(html).toContain('x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<code>a&lt;b&gt;.bpf.o</code>');
  });
  it('a core failure counts as a failure; columns per distro/version/arch; arch filters', () => {
    expect(html).toMatch(/data-group="ubuntu\/20\.04\/x86_64"><details><summary>1\/2 fail<\/summary>/);
    expect(html).toMatch(/class="ok d1 a0" data-group="ubuntu\/20\.04\/arm64">ok<\/td>/);
    expect(html).toContain('<label for="fa0">arm64</label>');
    expect(html).toContain('#fa0:not(:checked)~main .a0');
  });
  it('unguarded poisons are failing relocations, guarded ones expected misses; unreadable kernels listed', () => {
    const failing = html.slice(html.indexOf('id="relocations"'), html.indexOf('id="guarded"'));
    expect(failing).toContain('task_struct-&gt;loginuid');
    expect(failing).not.toContain('sessionid');
    const guarded = html.slice(html.indexOf('id="guarded"'));
    expect(guarded).toContain('task_struct-&gt;sessionid');
    expect(guarded).toContain('<code>ubuntu/20.04/x86_64</code> <span class="mono">all 2</span>');
    expect(html).toContain('<code>fedora/31/x86_64/5.3.7-301.fc31.x86_64</code>: truncated BTF');
    // An unreadable kernel has no column.
    expect(html).not.toContain('data-group="fedora/31/x86_64"');
  });
  it('renders an empty report', () => {
    const empty = renderHtml({ schema: 'btfgen-check', version: 2, kernels: [], objects: [], summary: { kernels: 0, objects: 0, relocations: 0, failingKernels: 0, unreadableKernels: 0 } });
    expect(empty).toContain('0 objects, 0 programs');
    expect(empty).toContain('No failing relocation');
  });
});
