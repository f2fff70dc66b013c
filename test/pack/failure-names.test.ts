// A failure the result cache remembers is keyed by the objects' CO-RE content, not their paths:
// the same object under another path reads the failure back. Its message must then name the
// object as this run was given it, exactly as a run without the cache words it (before, the
// stored message kept the path of the run that first failed).
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type * as PackApi from '../../src/pack/index.js';
import { assertDistFresh, data, DIST, EXAMPLE_OBJECT, missing } from '../helpers/env.js';
import { archiveFailingObjects, buildArchive, cleanupTemps, tempDir } from './helpers.js';

assertDistFresh();
const { pack } = (await import(pathToFileURL(join(DIST, 'pack/index.js')).href)) as typeof PackApi;
afterAll(cleanupTemps);

const DEMO = data.demoArchive.path;
const noDemo = missing(data.demoArchive);

describe.skipIf(!!noDemo)(`stored failures name this run's objects${noDemo ? ` (skipped: ${noDemo})` : ''}`, () => {
  it('a failure read from the result cache names the object by the path this run gave, as a run without the cache does', async () => {
    const failing = archiveFailingObjects()[0];
    expect(failing).toBeDefined();
    const root = tempDir();
    const arch = join(root, 'archive');
    const rels = ['debian/10/x86_64/4.19.0-17-cloud-amd64.btf.tar.xz', 'ubuntu/20.04/x86_64/5.4.0-26-generic.btf.tar.xz', 'ubuntu/20.04/x86_64/5.11.0-1028-gcp.btf.tar.xz'];
    buildArchive(arch, rels.map((rel) => ({ rel, copy: join(DEMO, rel) })));
    const place = (dir: string, name: string): string => {
      mkdirSync(join(root, dir), { recursive: true });
      copyFileSync(failing!.file, join(root, dir, name));
      return join(root, dir, name);
    };
    const first = place('first', 'prog.o');
    const second = place('second', 'renamed.o');
    const run = (object: string, cacheDir: string, out: string): Promise<PackApi.PackResult> =>
      pack({ objects: [EXAMPLE_OBJECT, object], output: join(root, out), archive: arch, cacheDir: join(root, cacheDir), kernelCache: false, skipFailed: true, jobs: 2, env: { HOME: root } });

    const a = await run(first, 'rc', 'a.tar.gz');
    expect(a.failures.length).toBeGreaterThan(0);
    expect(a.failures.every((f) => !f.cached && f.message.includes(first))).toBe(true);

    const b = await run(second, 'rc', 'b.tar.gz'); // the same CO-RE content: every failure from the cache
    const fresh = await run(second, 'rc-fresh', 'c.tar.gz'); // the reference: no cache at all
    expect(b.failures.every((f) => f.cached)).toBe(true);
    expect(fresh.failures.every((f) => !f.cached)).toBe(true);
    expect(b.failures.map((f) => [f.kernel, f.message])).toEqual(fresh.failures.map((f) => [f.kernel, f.message]));
    for (const f of b.failures) expect(f.message).not.toContain(first);
  });
});
