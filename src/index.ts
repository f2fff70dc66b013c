// Public API of btfgen. Keep it small and typed.
export { VERSION } from './version.js';
export * from './errors.js';
export { fetch } from './fetch/index.js';
export type { FetchOptions, FetchResult, FetchEvent, FetchedRepo, KernelGroup } from './fetch/index.js';
export { listKernels, parseKernelFilter } from './archive/index.js';
export type { KernelEntry, KernelFilter, KernelFilterInput, KernelFormat } from './archive/index.js';
export { minimize, prepareObject, prepareTarget, relocate, rootKeys, Minimizer, ObjectError, unpackKernelBtf } from './minimize/index.js';
export type { PreparedObject, PreparedTarget, MinimizeOptions, PrepareTargetOptions, RelocationResult } from './minimize/index.js';
export { pack, PackError, AbortError } from './pack/index.js';
export type {
  PackOptions, PackResult, PackProgress, PackedMember, KernelFailure, PackGroup, PackObject, Layout, OutputFormat,
} from './pack/index.js';
