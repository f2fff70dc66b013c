// Host identity: os-release (ID, VERSION_ID) and uname (machine, release), as the C helper's
// btfgen_detect_host() reads them.
import { readFile } from 'node:fs/promises';
import { machine as osMachine, release as osRelease } from 'node:os';
import type { HostIdentity } from './lookup.js';

/** os-release locations, in the order os-release(5) gives. */
export const OS_RELEASE_PATHS: readonly string[] = ['/etc/os-release', '/usr/lib/os-release'];

/**
 * `ID` and `VERSION_ID` from os-release text: lines `KEY=value` starting in column 0, the last
 * one wins, one pair of matching surrounding quotes is stripped, a trailing CR is dropped.
 * Defaults: `ID=linux` (also for an empty ID), `VERSION_ID` empty.
 */
export function parseOsRelease(text: string): { id: string; versionId: string } {
  let id = 'linux';
  let versionId = '';
  for (let line of text.split('\n')) {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    let key: 'id' | 'versionId';
    let value: string;
    if (line.startsWith('ID=')) {
      key = 'id';
      value = line.slice(3);
    } else if (line.startsWith('VERSION_ID=')) {
      key = 'versionId';
      value = line.slice(11);
    } else {
      continue;
    }
    const q = value[0];
    if (value.length >= 2 && (q === '"' || q === "'") && value.endsWith(q)) value = value.slice(1, -1);
    if (key === 'id') id = value === '' ? 'linux' : value;
    else versionId = value;
  }
  return { id, versionId };
}

export interface DetectHostOptions {
  /** Overrides for any part of the identity (e.g. to ask about another host). */
  id?: string;
  versionId?: string;
  machine?: string;
  release?: string;
  /** Where to read os-release from, first readable wins (default {@link OS_RELEASE_PATHS}). */
  osReleasePaths?: readonly string[];
}

/** The running host's identity, with any of its parts overridden by `options`. */
export async function detectHost(options: DetectHostOptions = {}): Promise<HostIdentity> {
  let fromFile = { id: 'linux', versionId: '' };
  if (options.id === undefined || options.versionId === undefined) {
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
    versionId: options.versionId ?? fromFile.versionId,
    machine: options.machine ?? osMachine(),
    release: options.release ?? osRelease(),
  };
}
