// `btfgen check --format html` (docs/check.md). The report type is check's own (report.ts).
export { renderHtml, esc } from './render.js';
