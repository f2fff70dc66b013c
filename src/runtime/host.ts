// Host identity: os-release (ID, ID_LIKE, VERSION_ID) and uname (machine, release), as the C
// helper's btfgen_detect_host() reads them.
import { readFile } from 'node:fs/promises';
import { machine as osMachine, release as osRelease } from 'node:os';
import type { HostIdentity } from './lookup.js';

/** os-release locations, in the order os-release(5) gives. */
export const OS_RELEASE_PATHS: readonly string[] = ['/etc/os-release', '/usr/lib/os-release'];

/** What os-release says about the host. */
export interface OsRelease {
  id: string;
  idLike: string[];
  versionId: string;
}

/** ID_LIKE's value as a list: space (or tab) separated, empty entries dropped. */
export function splitIdLike(value: string): string[] {
  return value.split(/[ \t]+/).filter((s) => s !== '');
}

/**
 * `ID`, `ID_LIKE` and `VERSION_ID` from os-release text: lines `KEY=value` starting in column
 * 0, the last one wins, one pair of matching surrounding quotes is stripped, a trailing CR is
 * dropped; ID_LIKE is a space-separated list. Defaults: `ID=linux` (also for an empty ID),
 * no ID_LIKE, `VERSION_ID` empty.
 */
export function parseOsRelease(text: string): OsRelease {
  let id = 'linux';
  let idLike = '';
  let versionId = '';
  for (let line of text.split('\n')) {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const eq = line.indexOf('=');
    const name = line.slice(0, eq);
    if (eq < 0 || (name !== 'ID' && name !== 'ID_LIKE' && name !== 'VERSION_ID')) continue;
    let value = line.slice(eq + 1);
    const q = value[0];
    if (value.length >= 2 && (q === '"' || q === "'") && value.endsWith(q)) value = value.slice(1, -1);
    if (name === 'ID') id = value === '' ? 'linux' : value;
    else if (name === 'ID_LIKE') idLike = value;
    else versionId = value;
  }
  return { id, idLike: splitIdLike(idLike), versionId };
}

export interface DetectHostOptions {
  /** Overrides for any part of the identity (e.g. to ask about another host). */
  id?: string;
  /** ID_LIKE override (`[]`: none). */
  idLike?: readonly string[];
  versionId?: string;
  machine?: string;
  release?: string;
  /** Where to read os-release from, first readable wins (default {@link OS_RELEASE_PATHS}). */
  osReleasePaths?: readonly string[];
}

/** The running host's identity, with any of its parts overridden by `options`. */
export async function detectHost(options: DetectHostOptions = {}): Promise<HostIdentity> {
  let fromFile: OsRelease = { id: 'linux', idLike: [], versionId: '' };
  if (options.id === undefined || options.idLike === undefined || options.versionId === undefined) {
    for (const path of options.osReleasePaths ?? OS_RELEASE_PATHS) {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch {
        continue;
      }
      fromFile = parseOsRelease(text);
      break;
    }
  }
  return {
    id: options.id ?? fromFile.id,
    idLike: options.idLike ?? fromFile.idLike,
    versionId: options.versionId ?? fromFile.versionId,
    machine: options.machine ?? osMachine(),
    release: options.release ?? osRelease(),
  };
}
