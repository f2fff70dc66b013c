// `btfgen check --format html`: one self-contained file (no network, no script, no external
// font or stylesheet). The matrix is plain HTML; each cell that is not a clean "ok" is a
// <details> whose summary opens the reasons on that group's kernels. Filters by distro and
// arch are checkboxes driving CSS alone (`#f:not(:checked) ~ main .col { display: none }`), so
// they work with JavaScript off too.
import { describeRun, kernelGroups, type KernelGroup } from '../kernel-runs.js';
import { failedRelocations, type CheckReport, type ProgramOutcomeGroup as ReportProgramOutcome, type ProgramReason as ReportReason, type ReportKernel, type ReportProgram } from '../report.js';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Escapes text for element content and quoted attribute values. */
export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ESC[c]!);
}

const isFail = (o: ReportProgramOutcome) => o.verdict === 'fails';
const isUnknown = (o: ReportProgramOutcome) => o.verdict === 'unknown';

interface Columns {
  groups: KernelGroup[];
  distros: string[];
  arches: string[];
  /** CSS classes of a group's column: its distro and arch filter classes. */
  cls: (g: KernelGroup) => string;
  /** The classes of the group a kernel belongs to. */
  kernelCls: (k: ReportKernel) => string;
}

function columns(r: CheckReport): Columns {
  const groups = kernelGroups(r.kernels);
  const distros = [...new Set(r.kernels.map((k) => k.id))].sort();
  const arches = [...new Set(r.kernels.map((k) => k.arch))].sort();
  const d = (id: string) => `d${distros.indexOf(id)}`;
  const a = (arch: string) => `a${arches.indexOf(arch)}`;
  return { groups, distros, arches, cls: (g) => `${d(g.id)} ${a(g.arch)}`, kernelCls: (k) => `${d(k.id)} ${a(k.arch)}` };
}

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em;color:#1d1d1f;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.6em 0 .5em}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
body>input{margin:0 .15em 0 .6em;vertical-align:middle}body>label{cursor:pointer}
table.matrix{border-collapse:collapse;margin-top:.6em}
.matrix th,.matrix td{border:1px solid #d0d0d7;padding:.3em .55em;vertical-align:top;text-align:left}
.matrix thead th{background:#f3f3f6;font-weight:600}.matrix thead small{font-weight:400;color:#555}
.matrix thead ul{margin:.2em 0 0;padding-left:1.1em;font-weight:400}
.matrix tr.obj th{background:#e9eef8;font-weight:600}
.matrix th.prog small{color:#555;font-weight:400}
td.ok{background:#e8f6ea;color:#185c25}td.fail{background:#fde8e8;color:#8a1414}
td.unknown{background:#fff6d8;color:#6b5100}td.none{color:#888}
td summary{cursor:pointer;font-weight:600}td details[open]{min-width:22em}
.why{color:#1d1d1f;font-weight:400;margin-top:.3em}.why p{margin:.4em 0 .2em}.why ul{margin:0;padding-left:1.2em}
.check{display:inline-block;min-width:7.5em;font-weight:600}
.heur{color:#6b5100;font-style:italic}
.legend dt{font-weight:600}.legend dd{margin:0 0 .4em 1em}
section details{margin:.3em 0}section summary{cursor:pointer}
.muted{color:#666}
`;

/** The whole report as one HTML document. */
export function renderHtml(r: CheckReport): string {
  const c = columns(r);
  const css =
    STYLE +
    c.distros.map((_, i) => `#fd${i}:not(:checked)~main .d${i}`).concat(c.arches.map((_, i) => `#fa${i}:not(:checked)~main .a${i}`)).join(',\n') +
    (c.distros.length + c.arches.length ? '{display:none}\n' : '');
  const nPrograms = r.objects.reduce((n, o) => n + o.programs.length, 0);
  const nRelos = r.objects.reduce((n, o) => n + o.relocations.length, 0);
  const out: string[] = [];
  out.push(
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // No network: nothing may be fetched, not even a favicon or an inline script.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<title>btfgen check</title>',
    `<style>${css}</style></head><body>`,
    '<h1>btfgen check</h1>',
    `<p class="muted">${esc(r.objects.length)} object${r.objects.length === 1 ? '' : 's'}, ${esc(nPrograms)} program${nPrograms === 1 ? '' : 's'}, ${esc(nRelos)} CO-RE relocation${nRelos === 1 ? '' : 's'}, ${esc(r.kernels.length)} kernel${r.kernels.length === 1 ? '' : 's'} (report schema ${esc(r.schema)} v${esc(r.version)}).</p>`,
  );
  // Filters: the inputs are siblings before <main> so that CSS can hide columns.
  out.push('<span class="filters"><b>Show distributions:</b></span>');
  c.distros.forEach((d, i) => out.push(`<input type="checkbox" id="fd${i}" checked><label for="fd${i}">${esc(d)}</label>`));
  out.push('<span class="filters"><b style="margin-left:1.5em">architectures:</b></span>');
  c.arches.forEach((a, i) => out.push(`<input type="checkbox" id="fa${i}" checked><label for="fa${i}">${esc(a)}</label>`));
  out.push('<main>');
  out.push(matrix(r, c));
  out.push(needsKernelBtf(r));
  out.push(relocations(r, c));
  const unreadable = r.kernels.filter((k) => k.error !== undefined);
  if (unreadable.length) {
    out.push('<section id="unreadable"><h2>Unreadable kernels</h2><ul>');
    for (const k of unreadable) out.push(`<li class="${c.kernelCls(k)}"><code>${esc(k.key)}</code>: ${esc(k.error!)}</li>`);
    out.push('</ul></section>');
  }
  out.push(LEGEND, '</main></body></html>', '');
  return out.join('\n');
}

function matrix(r: CheckReport, c: Columns): string {
  const out: string[] = ['<h2>Programs &times; kernels</h2>', '<table class="matrix" id="matrix"><thead><tr><th>program</th>'];
  for (const g of c.groups) {
    const n = g.kernels.length;
    const releases = g.kernels.map((i) => `<li>${esc(r.kernels[i]!.release)}</li>`).join('');
    out.push(
      `<th class="${c.cls(g)}" scope="col" data-group="${esc(g.key)}">${esc(g.key)}<details class="kernels"><summary><small>${n} kernel${n === 1 ? '' : 's'}</small></summary><ul class="mono">${releases}</ul></details></th>`,
    );
  }
  out.push('</tr></thead><tbody>');
  for (const o of r.objects) {
    out.push(`<tr class="obj"><th colspan="${c.groups.length + 1}" scope="rowgroup"><code>${esc(o.file)}</code></th></tr>`);
    if (!o.programs.length) out.push(`<tr><td colspan="${c.groups.length + 1}" class="muted">no programs</td></tr>`);
    for (const p of o.programs) {
      out.push(`<tr data-program="${esc(p.name)}"><th class="prog" scope="row">${esc(p.name)}<br><small><code>${esc(p.section)}</code>${p.type ? ` ${esc(p.type)}` : ''}</small></th>`);
      for (const g of c.groups) out.push(cell(r, c, p, g));
      out.push('</tr>');
    }
  }
  out.push('</tbody></table>');
  return out.join('\n');
}

/** One matrix cell: the program's outcomes on the kernels of one group. */
function cell(r: CheckReport, c: Columns, p: ReportProgram, g: KernelGroup): string {
  const inGroup = new Set(g.kernels);
  const here = p.outcomes
    .map((o) => ({ o, ks: o.kernels.filter((k) => inGroup.has(k)) }))
    .filter((x) => x.ks.length > 0);
  const count = (f: (o: ReportProgramOutcome) => boolean) => here.filter((x) => f(x.o)).reduce((n, x) => n + x.ks.length, 0);
  const n = g.kernels.length;
  const fails = count(isFail);
  const unknown = count(isUnknown);
  const covered = here.reduce((m, x) => m + x.ks.length, 0);
  const attrs = `class="CLS ${c.cls(g)}" data-group="${esc(g.key)}"`;
  if (covered === 0) return `<td ${attrs.replace('CLS', 'none')}>&mdash;</td>`;
  const parts: string[] = [];
  if (fails) parts.push(`${fails}/${n} fail`);
  if (unknown) parts.push(`${unknown}/${n} unknown`);
  const nkb = here.some((x) => x.o.reasons.some((rs) => rs.check === 'needs-kernel-btf'));
  const label = (parts.length ? parts.join(', ') : 'ok') + (nkb ? ' †' : '');
  const cls = fails ? 'fail' : unknown ? 'unknown' : 'ok';
  const withReasons = here.filter((x) => x.o.reasons.length > 0);
  if (!withReasons.length) return `<td ${attrs.replace('CLS', cls)}>${esc(label)}</td>`;
  const why: string[] = [];
  for (const { o, ks } of withReasons) {
    const verdict = isFail(o) ? 'fails' : isUnknown(o) ? 'unknown' : 'loads';
    const run = describeRun(r.kernels, g, new Set(ks));
    why.push(`<p class="v-${verdict}"><b>${esc(verdict)}</b> on <span class="mono kernels">${esc(run)}</span>${o.approximate ? ' <span class="muted">(approximate)</span>' : ''}:</p><ul>`);
    for (const rs of o.reasons) why.push(`<li>${reason(rs)}</li>`);
    why.push('</ul>');
  }
  return `<td ${attrs.replace('CLS', cls)}><details><summary>${esc(label)}</summary><div class="why">${why.join('')}</div></details></td>`;
}

function reason(rs: ReportReason): string {
  const heuristic = rs.check === 'attach-point' ? ' <span class="heur">(heuristic)</span>' : '';
  return `<span class="check">${esc(rs.check)}</span> <code>${esc(rs.name)}</code>${heuristic}${rs.detail ? ` &mdash; ${esc(rs.detail)}` : ''}`;
}

function needsKernelBtf(r: CheckReport): string {
  const rows: string[] = [];
  for (const o of r.objects) {
    for (const p of o.programs) {
      const rs = p.outcomes.flatMap((x) => x.reasons).find((x) => x.check === 'needs-kernel-btf');
      if (rs) rows.push(`<li><code>${esc(o.file)}</code>: <b>${esc(p.name)}</b> (<code>${esc(p.section)}</code>): <code>${esc(rs.name)}</code>${rs.detail ? ` &mdash; ${esc(rs.detail)}` : ''}</li>`);
    }
  }
  if (!rows.length) return '';
  return [
    '<section id="needs-kernel-btf"><h2>Needs kernel BTF (marked &dagger;)</h2>',
    '<p>These programs resolve their attach target in the running kernel&rsquo;s BTF. A host that needs an archive BTF has no <code>/sys/kernel/btf/vmlinux</code>, so they cannot load there; they are usually fallback variants chosen at run time and count as failures only with <code>--strict</code>.</p>',
    '<ul>',
    ...rows,
    '</ul></section>',
  ].join('\n');
}

function relocations(r: CheckReport, c: Columns): string {
  const failing: string[] = [];
  const guarded: string[] = [];
  for (const { file, rel, outcome: oc, guarded: expected } of failedRelocations(r)) {
    const head = `<code>${esc(file)}</code>: prog '${esc(rel.program)}' relo #${esc(rel.index)} insn #${esc(rel.insn)}: ${esc(rel.kind)} <code>${esc(rel.path)}</code> <span class="muted">(${esc(rel.type)}, access ${esc(rel.access)})</span>`;
    const what = oc.verdict === 'error' ? `error: ${oc.message ?? ''}` : oc.message ? `poison: ${oc.message}` : 'poison (no candidate matched)';
    const members = new Set(oc.kernels);
    const items = c.groups
      .filter((g) => g.kernels.some((k) => members.has(k)))
      .map((g) => `<li class="${c.cls(g)}"><code>${esc(g.key)}</code> <span class="mono">${esc(describeRun(r.kernels, g, members))}</span></li>`);
    const block = `<details><summary>${head}</summary><p>${esc(what)} on ${oc.kernels.length} kernel${oc.kernels.length === 1 ? '' : 's'}:</p><ul>${items.join('')}</ul></details>`;
    (expected ? guarded : failing).push(block);
  }
  const out = ['<section id="relocations"><h2>Failing CO-RE relocations</h2>'];
  out.push(failing.length ? failing.join('\n') : '<p>No failing relocation: every program passes CO-RE relocation on every kernel.</p>');
  out.push('</section>');
  if (guarded.length) {
    out.push('<section id="guarded"><h2>Expected misses</h2><p>Poisoned, but guarded: no program reaches the instruction.</p>', ...guarded, '</section>');
  }
  return out.join('\n');
}

const LEGEND = `<section class="legend" id="legend"><h2>What the verdicts mean</h2><dl>
<dt>ok / loads</dt><dd>Every check passed on those kernels: CO-RE relocations, program and attach type, helpers, map types, attach point.</dd>
<dt>n/m fail</dt><dd>On n of the group&rsquo;s m kernels the program does not load; open the cell for every reason and the kernels it holds on. Enum checks (program type, attach type, helper, map type) and CO-RE relocations are exact: they read the kernel&rsquo;s own enums and apply libbpf&rsquo;s relocation logic.</dd>
<dt>n/m unknown</dt><dd>That kernel&rsquo;s BTF cannot answer a check (no such enum, no FUNC entries, no tracepoint data); nothing is guessed.</dd>
<dt>attach-point (heuristic)</dt><dd>Functions and tracepoints are looked up in what kernel BTF records (FUNC, <code>btf_trace_&lt;event&gt;</code>, <code>struct trace_event_raw_&lt;event&gt;</code>); module code is not in it.</dd>
<dt>ksym</dt><dd>The object has typed <code>__ksym</code> externs or kfuncs: libbpf resolves them in the running kernel&rsquo;s BTF, so the whole object fails to load on every archive kernel (exact: libbpf&rsquo;s <code>obj_needs_vmlinux_btf()</code>).</dd>
<dt>&dagger; needs kernel BTF</dt><dd>fentry, fexit, fmod_ret, tp_btf, lsm, iter and struct_ops programs: see the section above.</dd>
</dl></section>`;
