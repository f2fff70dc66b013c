// The objects stage: each BPF object read and validated once on the main thread (an unusable
// object fails the pack, not each kernel), exact repeats dropped, one fingerprint (the result
// cache's object key). Also pack's --json file, read and checked here before any work.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { combineFingerprints, distinctObjects } from './fingerprint.js';
import { prepareObjects, type ObjectBytes } from './minimizer.js';
import type { PackObject } from './types.js';

export interface PackObjects {
  /** How many objects were given. */
  given: number;
  /** Every object given, in order (check's report names each). */
  all: ObjectBytes[];
  /** Those the workers minimize for: exact CO-RE repeats dropped. */
  distinct: ObjectBytes[];
  /** combineFingerprints() of the distinct objects. */
  fingerprint: string;
}

/**
 * The objects, read and validated once here (an unusable object fails the pack, not each
 * kernel). A byte-identical copy is the same object (the first occurrence speaks for it, in
 * errors too); exact CO-RE repeats add nothing to the union and are minimized for once.
 */
export function loadObjects(given: readonly PackObject[], cwd: string): PackObjects {
  const all: ObjectBytes[] = given.map((o) => {
    if (typeof o !== 'string') return { name: o.name, bytes: o.bytes };
    try {
      return { name: o, bytes: new Uint8Array(readFileSync(path.resolve(cwd, o))) }; // a few small files: sync
    } catch (err) {
      throw new UsageError(`${o}: cannot read BPF object (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  });
  const unique: ObjectBytes[] = [];
  for (const o of all) if (!unique.some((u) => u.bytes.length === o.bytes.length && Buffer.compare(u.bytes, o.bytes) === 0)) unique.push(o);
  prepareObjects(unique);
  const d = distinctObjects(unique);
  return { given: all.length, all, distinct: d.objects, fingerprint: combineFingerprints(d.fingerprints) };
}

/** `--json`: the file's bytes, packed as ./package.json once they parse as JSON. */
export async function readJson(file: string, cwd: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path.resolve(cwd, file)));
  } catch (err) {
    throw new UsageError(`${file}: cannot read JSON file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    JSON.parse(Buffer.from(bytes).toString('utf8').replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new UsageError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return bytes;
}
