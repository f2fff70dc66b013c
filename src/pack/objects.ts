// The objects stage: each BPF object read, validated and parsed once on the main thread (an
// unusable object fails the pack, not each kernel), exact repeats dropped, one fingerprint (the
// result cache's object key), and for --report / --verify the objects as the checks read them.
// Also pack's --json file, read and checked here before any work.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { prepareCheckObject, type CheckObject } from '../check/decide.js';
import { combineFingerprints, preparedFingerprint } from './fingerprint.js';
import { ObjectParses, type ObjectBytes } from './minimizer.js';
import type { PackObject } from './types.js';

export interface PackObjects {
  /** How many objects were given. */
  given: number;
  /** Those the workers minimize for: exact CO-RE repeats dropped. */
  distinct: ObjectBytes[];
  /** combineFingerprints() of the distinct objects. */
  fingerprint: string;
  /**
   * With `check` (--report / --verify): every object given, in order (check's report names
   * each), as the checks read it.
   */
  checked: { o: ObjectBytes; c: CheckObject }[] | undefined;
}

/**
 * The objects, each parsed once here (prepareObject: an unusable object fails the pack, not
 * each kernel); the fingerprint and the checks read that parse. A byte-identical copy is the
 * same object (the first occurrence speaks for it, in errors too). Exact CO-RE repeats (the
 * same fingerprint) are minimized for once: marks are a union and each object has its own
 * candidate cache, so a repeat marks nothing new and leaves every output byte, and the first
 * failing object, unchanged.
 */
export function loadObjects(given: readonly PackObject[], cwd: string, check: boolean): PackObjects {
  const all: ObjectBytes[] = given.map((o) => {
    if (typeof o !== 'string') return { name: o.name, bytes: o.bytes };
    try {
      return { name: o, bytes: new Uint8Array(readFileSync(path.resolve(cwd, o))) }; // a few small files: sync
    } catch (err) {
      throw new UsageError(`${o}: cannot read BPF object (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  });
  const parses = new ObjectParses();
  const parseOf = all.map((o) => parses.parse(o));
  const distinct: ObjectBytes[] = [];
  const fingerprints: string[] = [];
  // byte-identical copies: the first occurrence speaks for them
  for (const { o, prepared } of parses.distinct()) {
    const f = preparedFingerprint(o, prepared);
    if (fingerprints.includes(f)) continue;
    fingerprints.push(f);
    distinct.push(o);
  }
  // --report / --verify: read by the checks here first so that an object they cannot use fails
  // the run, not each kernel
  const checked = check ? all.map((o, i) => ({ o, c: prepareCheckObject(o.bytes, o.name, parseOf[i]) })) : undefined;
  return { given: all.length, distinct, fingerprint: combineFingerprints(fingerprints), checked };
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
