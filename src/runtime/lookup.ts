// The lookup rules: which archive member a host gets. Pure functions, mirrored one for one by
// native/btf_helpers.c (btfgen_candidate_keys, btfgen_member_key, btfgen_nearest,
// btfgen_release_candidate); select.ts applies them to an archive in one pass. The shared table
// test/runtime/lookup-cases.tsv tests both runtimes.
//
// Order: (a) the host's ID with the four key rules (exact, arch alias, major version, both);
// (b) the same four rules with each ID of os-release ID_LIKE, in its order (`id-like`); (c) the
// release rule: any member whose arch (or its alias) and release are the host's, under any
// ID/VERSION_ID, taken only when all such members are byte-identical (`release`).

/** What identifies a kernel in a btfhub archive: os-release ID/VERSION_ID (and ID_LIKE) and uname -m/-r. */
export interface HostIdentity {
  /** os-release `ID` (default `linux`). */
  id: string;
  /**
   * os-release `ID_LIKE`: the distributions this one derives from, closest first (e.g.
   * `['rhel', 'centos', 'fedora']` on Rocky Linux). Default none.
   */
  idLike?: readonly string[];
  /** os-release `VERSION_ID` (default empty). */
  versionId: string;
  /** `uname -m`, e.g. `x86_64`, `aarch64`. */
  machine: string;
  /** `uname -r`, e.g. `5.4.0-40-generic`. */
  release: string;
}

/**
 * How a member was found, in lookup order: the four key rules with the host's ID, `id-like`
 * (any of them with an ID of ID_LIKE), then `release` (same arch and `uname -r`, any ID).
 */
export type MatchRule = 'exact' | 'arch-alias' | 'major-version' | 'arch-alias+major-version' | 'id-like' | 'release';

/** At most this many ID_LIKE entries are used (the C helper's fixed key table). */
export const ID_LIKE_MAX = 7;

export interface CandidateKey {
  key: string;
  rule: MatchRule;
}

/** `aarch64` <-> `arm64` (upstream btfhub says arm64, uname and some archives say aarch64). */
export function archAlias(machine: string): string | undefined {
  if (machine === 'aarch64') return 'arm64';
  if (machine === 'arm64') return 'aarch64';
  return undefined;
}

/** `8.6` -> `8`; undefined when VERSION_ID has no `.` after a non-empty major part. */
export function majorVersion(versionId: string): string | undefined {
  const dot = versionId.indexOf('.');
  return dot > 0 ? versionId.slice(0, dot) : undefined;
}

/** `<ID>/<VERSION_ID>/<machine>/<release>.btf` */
export function hostKey(host: HostIdentity): string {
  return `${host.id}/${host.versionId}/${host.machine}/${host.release}.btf`;
}

/**
 * The IDs whose keys are tried, in order: the host's ID, then ID_LIKE's entries (at most
 * {@link ID_LIKE_MAX}, empty ones, duplicates and the host's own ID dropped).
 */
export function lookupIds(host: HostIdentity): string[] {
  const ids = [host.id];
  for (const like of host.idLike ?? []) {
    if (ids.length > ID_LIKE_MAX) break;
    if (like !== '' && !ids.includes(like)) ids.push(like);
  }
  return ids;
}

/**
 * The keys to try, best first: for the host's ID, then for each ID_LIKE entry, the exact key,
 * the arch alias, VERSION_ID's major version, then alias and major version together.
 * Duplicates are dropped. Keys of ID_LIKE entries carry the rule `id-like`.
 */
export function candidateKeys(host: HostIdentity): CandidateKey[] {
  const alias = archAlias(host.machine);
  const major = majorVersion(host.versionId);
  const out: CandidateKey[] = [];
  lookupIds(host).forEach((id, i) => {
    const add = (versionId: string, machine: string, rule: MatchRule): void => {
      const key = hostKey({ ...host, id, versionId, machine });
      if (!out.some((c) => c.key === key)) out.push({ key, rule: i === 0 ? rule : 'id-like' });
    };
    add(host.versionId, host.machine, 'exact');
    if (alias) add(host.versionId, alias, 'arch-alias');
    if (major !== undefined) {
      add(major, host.machine, 'major-version');
      if (alias) add(major, alias, 'arch-alias+major-version');
    }
  });
  return out;
}

/**
 * The release rule's test: is `key` a kernel of the host's arch (or its alias) and `uname -r`,
 * under any ID/VERSION_ID? `key` is a normalized member key (see {@link memberKey}).
 */
export function isReleaseCandidate(host: HostIdentity, key: string): boolean {
  const [, , arch, file] = key.split('/') as [string, string, string, string];
  return (arch === host.machine || arch === archAlias(host.machine)) && file === `${host.release}.btf`;
}

/**
 * Normalizes a tar member name to a kernel key, or undefined for anything else. Accepts both
 * layouts (`./btfhub-archive/<key>` and bcc's `./<key>`); `.` components and leading empty
 * ones are dropped; absolute names and names with `..` are hostile and ignored; the result
 * must be exactly `<ID>/<VERSION_ID>/<arch>/<release>.btf` (VERSION_ID may be empty).
 */
export function memberKey(name: string): string | undefined {
  if (name.startsWith('/')) return undefined;
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '..') return undefined;
    if (c === '.') continue;
    if (c === '' && parts.length === 0) continue;
    parts.push(c);
  }
  if (parts[0] === 'btfhub-archive') parts.shift();
  if (parts.length !== 4) return undefined;
  const [id, , arch, file] = parts as [string, string, string, string];
  if (!id || !arch || file.length <= 4 || !file.endsWith('.btf')) return undefined;
  return parts.join('/');
}

/** Numeric release tokens longer than this are compared as text only (as in C). */
const TOKEN_DIGITS_MAX = 15;

function tokens(s: string): string[] {
  return s.match(/\d+|\D+/g) ?? [];
}

/**
 * Release similarity: equal leading tokens (digit runs and non-digit runs), then the numeric
 * distance of the first differing tokens when both are numbers (else Infinity).
 */
function releaseSimilarity(a: string, b: string): { common: number; distance: number } {
  const ta = tokens(a);
  const tb = tokens(b);
  let i = 0;
  while (i < ta.length && i < tb.length && ta[i] === tb[i]) i++;
  const x = ta[i];
  const y = tb[i];
  const numeric = (t: string | undefined): t is string =>
    t !== undefined && /^\d+$/.test(t) && t.length <= TOKEN_DIGITS_MAX;
  const distance = numeric(x) && numeric(y) ? Math.abs(Number(x) - Number(y)) : Infinity;
  return { common: i, distance };
}

/**
 * The kernels of an archive nearest to a host, best first, for "no match" messages. The pool
 * is the keys of the host's arch (or its alias), or all keys when the archive has none of
 * that arch. Ranked by: same ID; same VERSION_ID, then same major version; more equal
 * leading release tokens; smaller numeric distance at the first differing token; key order.
 */
export function nearestKernels(host: HostIdentity, keys: Iterable<string>, limit = 5): string[] {
  const arches = new Set([host.machine, archAlias(host.machine)]);
  const all = [...keys];
  const sameArch = all.filter((k) => arches.has(k.split('/')[2]));
  const pool = sameArch.length > 0 ? sameArch : all;
  const hostMajor = majorVersion(host.versionId) ?? host.versionId;
  const scored = pool.map((key) => {
    const [id, vid, , file] = key.split('/') as [string, string, string, string];
    const release = file.slice(0, -'.btf'.length);
    const vidScore = vid === host.versionId ? 2 : (majorVersion(vid) ?? vid) === hostMajor ? 1 : 0;
    return { key, id: id === host.id ? 1 : 0, vidScore, ...releaseSimilarity(host.release, release) };
  });
  scored.sort(
    (a, b) =>
      b.id - a.id ||
      b.vidScore - a.vidScore ||
      b.common - a.common ||
      (a.distance === b.distance ? 0 : a.distance < b.distance ? -1 : 1) ||
      (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
  return scored.slice(0, limit).map((s) => s.key);
}
