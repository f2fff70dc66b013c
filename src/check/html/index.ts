// `btfgen check --format html` (docs/check-load.md).
export { renderHtml, esc } from './render.js';
export { kernelGroups, collapseRun, describeRun, groupKey } from './kernels.js';
export type { KernelGroup } from './kernels.js';
export type * from './types.js';
