// renderHtml() on a real report: self-contained (nothing to fetch), the matrix readable without
// JavaScript, the known failures shown (their expectation from bpftool's dump of each kernel),
// a cell opening its reasons and the CSS-only filters working in headless Chromium.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { collapseRun, describeRun, kernelGroups } from '../../../src/check/kernel-runs.js';
import { renderHtml } from '../../../src/check/html/render.js';
import type { CheckReport } from '../../../src/check/report.js';
import { assertDistFresh, data, HAVE_BPFTOOL, HAVE_CLANG, missing } from '../../helpers/env.js';
import { bpftoolFacts } from '../load/helpers.js';
import { buildCliReport, buildReport, REPORT_KERNELS } from './report-fixture.js';

const CHROMIUM = ['chromium', 'chromium-browser', 'google-chrome'].find((c) => spawnSync('which', [c]).status === 0);
const why = missing(data.demoArchive) || (!HAVE_BPFTOOL ? 'bpftool missing' : '') || (!HAVE_CLANG ? 'clang-19 missing' : '');

describe('kernel runs', () => {
  it('collapses runs as the text report does', () => {
    expect(collapseRun('5.4.0-26-generic', '5.4.0-42-generic')).toBe('5.4.0-26..-42');
    expect(collapseRun('4.19.0-17-amd64', '4.19.0-20-amd64')).toBe('4.19.0-17..-20');
    const ks = ['5.4.0-26-generic', '5.4.0-28-generic', '5.4.0-29-generic', '5.4.0-31-generic', '5.8.0-43-generic'].map((release) => ({ key: `ubuntu/20.04/x86_64/${release}`, id: 'ubuntu', version: '20.04', arch: 'x86_64', release }));
    const [g] = kernelGroups(ks);
    expect(describeRun(ks, g!, new Set([0, 1, 2, 4]))).toBe('5.4.0-26..-29, 5.8.0-43-generic');
    expect(describeRun(ks, g!, new Set([0, 1, 2, 3, 4]))).toBe('all 5');
  });
});

const SOURCES: [string, () => Promise<{ report: CheckReport; html: string; files: string[] }>][] = [
  ['renderHtml on a report built from src/check/load', async () => {
    const { report, files } = await buildReport();
    return { report, files, html: renderHtml(report) };
  }],
  ['btfgen check --format html -o report.html (the CLI on the demo kernels)', async () => {
    assertDistFresh();
    return buildCliReport();
  }],
];

for (const [title, build] of SOURCES) describe.skipIf(!!why)(why ? `${title}: skipped (${why})` : title, () => {
  let report: CheckReport;
  let html: string;
  let files: string[];
  let dir: string;
  beforeAll(async () => {
    ({ report, files, html } = await build());
    dir = mkdtempSync(join(tmpdir(), 'btfgen-html-'));
    return () => rmSync(dir, { recursive: true, force: true });
  }, 300_000);

  it('is one self-contained file: no script, no external resource, a CSP forbidding any fetch', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|@font-face/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:|\/\/)/i);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    // Every program is a matrix row, every group a column.
    for (const o of report.objects) for (const p of o.programs) expect(html).toContain(`<tr data-program="${p.name}">`);
    for (const g of ['centos/8/x86_64', 'debian/10/x86_64', 'ubuntu/20.04/x86_64']) expect(html).toContain(`scope="col" data-group="${g}"`);
  });

  it('the ring buffer cell for Debian 10 shows as many failing kernels as bpftool finds without BPF_MAP_TYPE_RINGBUF', () => {
    const debian = REPORT_KERNELS.map((k, i) => [k, i] as const).filter(([k]) => k.startsWith('debian/10/'));
    const lacking = debian.filter(([, i]) => ![...(bpftoolFacts(files[i]!).enums.get('bpf_map_type') ?? new Map()).values()].includes(27));
    expect(lacking.length).toBeGreaterThan(0);
    const cell = new RegExp(`<tr data-program="rb_output">.*?data-group="debian/10/x86_64"><details><summary>${lacking.length}/${debian.length} fail</summary>(.*?)</details>`, 's').exec(html);
    expect(cell).not.toBeNull();
    expect(cell![1]).toContain('<code>BPF_MAP_TYPE_RINGBUF</code>');
    expect(cell![1]).toContain('4.19.0-17..-20');
  });

  const chromium = (args: string[]) => {
    const profile = mkdtempSync(join(tmpdir(), 'btfgen-chromium-'));
    try {
      const r = spawnSync(CHROMIUM!, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 28 });
      if (r.status !== 0) throw new Error(`chromium failed (${r.status}): ${r.stderr}`);
      return r.stdout;
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  };

  it.skipIf(!CHROMIUM)(CHROMIUM ? 'Chromium parses the page (it has no script: the matrix needs no JavaScript) with its failures' : 'Chromium tests skipped: no chromium (apt-get install chromium)', () => {
    const page = join(dir, 'report.html');
    writeFileSync(page, html);
    // --dump-dom itself needs scripting on; the page has none (checked above).
    const dom = chromium(['--dump-dom', `file://${page}`]);
    expect(dom).toMatch(/<table class="matrix" id="matrix">/);
    expect(dom).toMatch(/data-group="debian\/10\/x86_64"><details><summary>\d+\/5 fail<\/summary>/);
    expect(dom).toContain('BPF_MAP_TYPE_RINGBUF');
  });

  it.skipIf(!CHROMIUM)(CHROMIUM ? 'Chromium: a cell opens its reasons; unticking a distro hides its column; screenshot' : 'Chromium interaction test skipped: no chromium (apt-get install chromium)', () => {
    // The test's copy drops the page's CSP so that this probe script may run: it clicks like a user.
    const probe = `<script>
      const r = {};
      const td = document.querySelector('tr[data-program="rb_output"] td[data-group="debian/10/x86_64"]');
      const why = td.querySelector('.why');
      r.before = { open: td.querySelector('details').open, visible: why.checkVisibility() };
      td.querySelector('summary').click();
      r.after = { open: td.querySelector('details').open, visible: why.checkVisibility(), height: why.offsetHeight, text: why.innerText };
      const col = (g) => document.querySelector('th[data-group="' + g + '"]').offsetParent !== null;
      r.visibleBefore = [col('debian/10/x86_64'), col('ubuntu/20.04/x86_64')];
      document.querySelector('label[for="fd1"]').click();
      r.visibleAfter = [col('debian/10/x86_64'), col('ubuntu/20.04/x86_64')];
      r.cellHidden = td.offsetParent === null;
      document.querySelector('label[for="fd1"]').click();
      document.body.setAttribute('data-probe', JSON.stringify(r));
    </script>`;
    const page = join(dir, 'probe.html');
    writeFileSync(page, html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '').replace('</body>', `${probe}</body>`));
    const dom = chromium(['--dump-dom', `file://${page}`]);
    const m = /data-probe="([^"]*)"/.exec(dom);
    expect(m).not.toBeNull();
    const r = JSON.parse(m![1]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>'));
    expect(r.before).toEqual({ open: false, visible: false });
    expect(r.after.open).toBe(true);
    expect(r.after.visible).toBe(true);
    expect(r.after.height).toBeGreaterThan(0);
    expect(r.after.text).toContain('BPF_MAP_TYPE_RINGBUF');
    expect(r.after.text).toContain('BPF_FUNC_ringbuf_output');
    // fd1 is "debian" (distros sorted: centos, debian, ubuntu).
    expect(r.visibleBefore).toEqual([true, true]);
    expect(r.visibleAfter).toEqual([false, true]);
    expect(r.cellHidden).toBe(true);
    const shot = join(process.env.BTFGEN_SCREENSHOT_DIR ?? dir, 'check-report.png');
    chromium(['--window-size=1500,1100', `--screenshot=${shot}`, `file://${page}`]);
    expect(existsSync(shot)).toBe(true);
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
  });
});
