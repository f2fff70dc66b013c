// btfgen/runtime: what a loader needs on the target host, and nothing else. Importable alone:
// node builtins and ../errors.js only (no commander, simple-git, tar or the minimizer).
export {
  ensureCoreBtf,
  extractCoreBtf,
  isForced,
  KERNEL_BTF_PATH,
  type CoreBtf,
  type CoreBtfSource,
  type EnsureCoreBtfOptions,
} from './ensure.js';
export { tarBytes, type ArchiveSource, type OutputTarget } from './archive.js';
export {
  detectHost,
  parseOsRelease,
  splitIdLike,
  OS_RELEASE_PATHS,
  type DetectHostOptions,
  type OsRelease,
} from './host.js';
export { extractHostBtf, extractMember, type ExtractedMember, type FoundMember } from './select.js';
export {
  archAlias,
  candidateKeys,
  hostKey,
  ID_LIKE_MAX,
  isReleaseCandidate,
  lookupIds,
  majorVersion,
  memberKey,
  nearestKernels,
  type CandidateKey,
  type HostIdentity,
  type MatchRule,
} from './lookup.js';
export { TarReader, META_MAX, type TarEntry, type TarEntryType, type TarEvent } from './tar.js';
export { AmbiguousBtfError, BtfFilePathError, CorruptArchiveError, NoArchiveError, NoMatchingBtfError, OutputFileError } from './errors.js';
export { ArchiveError, BtfgenError, LookupError } from '../errors.js';
