// "Will it load?": per program and kernel, beside the CO-RE verdicts (docs/check.md).
export { SECTION_DEFS, findSecDef, secDefMatches, needsKernelBtf, attachTarget } from './sections.js';
export type { SecDef, TargetKind, AttachTarget } from './sections.js';
export { readObjectFacts } from './program.js';
export type { ObjectFacts, ProgramFacts, MapFacts } from './program.js';
export { readKernelFacts } from './kernel.js';
export type { KernelFacts, EnumFacts } from './kernel.js';
export { programVerdict, attachPoint, attachFuncNames, outcomeReasons, groupOutcomes } from './verdict.js';
export type { Check, Verdict, Reason, ProgramVerdict, VerdictOptions, Outcome } from './verdict.js';
export { progTypeName, attachTypeName, mapTypeName, helperName } from './uapi.js';
