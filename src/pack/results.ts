// The result cache stage: one scan before the pool runs (a kernel whose file is unchanged since
// it was hashed is answered from its stored result or failure without being read), and the
// record of each result the pool sends back. The workers look up what the scan could not (a
// file not in the stat index is hashed there) through the same ResultStore.
import { mkdtemp, rm } from 'node:fs/promises';
import { statSync, type BigIntStats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KernelEntry } from '../archive/index.js';
import { cachePaths, cacheTempDir, OutputCache, ResultStore, resultKey, StatIndex } from './cache.js';
import { removeStaleCacheTemps, removeStaleSpools, spoolPrefix } from './leftovers.js';
import type { PackSettings } from './options.js';
import type { ResultMessage } from './protocol.js';

export type Outcome =
  | { kind: 'ok'; source: 'minimized' | 'cached'; key: string; size: number }
  | { kind: 'failed'; message: string; cached: boolean };

/** One kernel of the run, in member order. */
export interface Item {
  entry: KernelEntry;
  /** Its member name in the output. */
  name: string;
  /** Settled by the scan or by the pool's result. */
  outcome?: Outcome;
  /** The file's stat at scan time (the stat index records it with the hash). */
  st?: BigIntStats;
  /** The file's sha256, when the stat index knows it (the file is unchanged since hashed). */
  sha256?: string;
}

export interface Results {
  store: ResultStore;
  outputCache: OutputCache | undefined;
  counts: { done: number; minimized: number; cached: number; failed: number };
  /** Settles what the cache (or a kernel's `problem`) answers; returns the kernels left to minimize. */
  scan(items: readonly Item[]): Promise<Item[]>;
  /** Settles a kernel from the pool's result. */
  record(item: Item, r: ResultMessage): void;
  /** Saves the stat index (best effort). */
  save(): Promise<void>;
  /** Removes the --no-cache spool. */
  close(): Promise<void>;
}

function stripLabel(message: string, label: string): string {
  return message.startsWith(`${label}: `) ? message.slice(label.length + 2) : message;
}

/** The persistent cache, or with useCache false a throw-away spool; leftovers of killed runs removed. */
/** `objectNames`: the distinct objects' names, in key order (ResultStore). */
export async function openResults(s: PackSettings, keyPrefix: string, objectNames: readonly string[]): Promise<Results> {
  await removeStaleSpools(os.tmpdir());
  let spool: string | undefined;
  let store: ResultStore;
  let statIndex: StatIndex | undefined;
  const cp = cachePaths(s.cacheDir);
  if (s.useCache) {
    store = new ResultStore(s.cacheDir, true, objectNames);
    await removeStaleCacheTemps(cacheTempDir(s.cacheDir));
    statIndex = new StatIndex(cp.stats);
    await statIndex.load();
  } else {
    spool = await mkdtemp(path.join(os.tmpdir(), spoolPrefix()));
    store = new ResultStore(spool, false, objectNames);
  }
  const counts = { done: 0, minimized: 0, cached: 0, failed: 0 };
  const settle = (it: Item, o: Outcome): void => {
    it.outcome = o;
    counts.done++;
    if (o.kind === 'failed') counts.failed++;
    else if (o.source === 'cached') counts.cached++;
    else counts.minimized++;
  };
  return {
    store,
    outputCache: s.useCache ? new OutputCache(cp.outputs) : undefined,
    counts,
    async scan(items) {
      const todo: Item[] = [];
      for (const it of items) {
        if (it.entry.problem !== undefined) {
          // named like a kernel file but none (a dangling link, a directory): a failing kernel
          settle(it, { kind: 'failed', message: it.entry.problem, cached: false });
          continue;
        }
        if (statIndex) {
          let st: BigIntStats | undefined;
          try {
            st = statSync(it.entry.path, { bigint: true });
          } catch {
            st = undefined;
          }
          if (st) {
            it.st = st;
            const sha = statIndex.get(it.entry.path, st);
            if (sha) it.sha256 = sha;
            // --report / --verify read every kernel (the workers verify a stored result)
            if (s.verify || s.report) {
              todo.push(it);
              continue;
            }
            const key = sha ? resultKey(keyPrefix, sha) : undefined;
            const hit = key ? store.lookup(key) : undefined;
            if (hit?.status === 'ok') {
              settle(it, { kind: 'ok', source: 'cached', key: key!, size: hit.size });
              continue;
            }
            if (hit?.status === 'failed') {
              settle(it, { kind: 'failed', message: hit.message, cached: true });
              continue;
            }
          }
        }
        todo.push(it);
      }
      return todo;
    },
    record(it, r) {
      if (r.status === 'checked') return; // `check`'s pool results never come here
      if (r.status === 'failed') settle(it, { kind: 'failed', message: stripLabel(r.message, it.entry.relPath), cached: r.cached });
      else settle(it, { kind: 'ok', source: r.status, key: r.key, size: r.size });
      if (statIndex && r.sha256 && r.hashedAt !== undefined && it.st) statIndex.set(it.entry.path, it.st, r.sha256, r.hashedAt);
    },
    async save() {
      await statIndex?.save().catch(() => undefined);
    },
    async close() {
      if (spool) await rm(spool, { recursive: true, force: true });
    },
  };
}
