// Public API of the CO-RE engine and BTFGen (bpftool gen min_core_btf). Pure: bytes in,
// bytes or values out.
//
//   const objs = [prepareObject(bytesOfProgO, 'prog.o')];     // parse once
//   for (const kernel of kernels) {
//     const out = minimize(prepareTarget(kernel), objs);      // per target
//   }
export { prepareObject, rootKeys, ObjectError, LIBBPF_ERRNO_FORMAT } from './object.js';
export type { PreparedObject, PreparedRelo } from './object.js';
export { prepareTarget, minimize, relocate, Minimizer } from './minimizer.js';
export type { PreparedTarget, PrepareTargetOptions, RelocationResult, MinimizeOptions } from './minimizer.js';
export { CandidateIndex, essentialName, essentialNameLen, kindCoreCompat, rootKey } from './candidates.js';
export { CoreSpec, parseSpec, specMatch, SPEC_MAX_LEN } from './spec.js';
export type { Accessor } from './spec.js';
export { fieldsAreCompat, typesAreCompat, typesMatch, namesMatch } from './compat.js';
export { calcRelo, calcReloInsn } from './relo.js';
export type { ReloResult, CalcOutcome } from './relo.js';
export { Marks, MarkError } from './marks.js';
export { emitBtf } from './emit.js';
export { unpackKernelBtf, readTar, isTar, isXz } from './input.js';
export type { TarMember } from './input.js';
