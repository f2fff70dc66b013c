// Archive-directory helpers shared by fetch and pack: the kernel walk and distro/arch filters.
export {
  listKernels,
  listKernelsWith,
  parseKernelPath,
  parseKernelFileName,
  kernelKey,
  compareBytes,
  type KernelEntry,
  type KernelFormat,
} from './walk.js';
export {
  parseKernelFilter,
  parseDistro,
  archDirectoryNames,
  kernelFilterMatches,
  distroMatches,
  archMatches,
  isEmptyFilter,
  describeFilter,
  type KernelFilter,
  type KernelFilterInput,
  type DistroFilter,
} from './filter.js';
