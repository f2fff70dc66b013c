// pack() end to end on small archives: real kernels from ../shared/data and the committed
// examples/archive, and an archive made from committed fixture targets. Every member is compared
// live with `bpftool gen min_core_btf` of the same kernel and with our minimize(); plus layouts,
// --json, filters, determinism, failure policy, hostile archive entries and the cache.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as PackApi from '../../src/pack/index.js';
import type * as MinimizeApi from '../../src/minimize/index.js';
import { hasBpftool, bpftoolMinCoreBtfBytes } from '../helpers/bpftool.js';
import { assertDistFresh, BPF_FIXTURES_DIR, data, DIST, EXAMPLE_ARCHIVE, EXAMPLE_OBJECT, fixtures, FULL, missing, SHARED_DATA } from '../helpers/env.js';
import { readTar, readTarGz, tarArchive, xz } from '../helpers/tar.js';
import { unpackBtfTarXz } from '../helpers/data.js';
import { archiveFailingObjects, buildArchive, cleanupTemps, listFiles, rawBtfOfElf, tempDir, traceObjects } from './helpers.js';

assertDistFresh();
const api = (await import(pathToFileURL(join(DIST, 'pack/index.js')).href)) as typeof PackApi;
const mini = (await import(pathToFileURL(join(DIST, 'minimize/index.js')).href)) as typeof MinimizeApi;
const { pack, PackError } = api;
const { minimizersNeeded } = (await import(pathToFileURL(join(DIST, 'pack/pool.js')).href)) as typeof import('../../src/pack/pool.js');
const { scratchAvailable } = (await import(pathToFileURL(join(DIST, 'pack/decompress.js')).href)) as typeof import('../../src/pack/decompress.js');

afterAll(cleanupTemps);

const DEMO = data.demoArchive.path;
const fixture = (n: string) => join(BPF_FIXTURES_DIR, n);
const noBpftool = hasBpftool() ? '' : 'bpftool not installed';

/** Counts of members compared byte for byte, printed at the end (the parity figure). */
const parity = { bpftool: 0, minimize: 0 };
afterAll(() => {
  console.log(`pack parity: ${parity.bpftool} members identical to bpftool, ${parity.minimize} identical to minimize()`);
});

/** Options shared by every run: private cache, quiet environment. */
function base(cacheRoot: string): Pick<PackApi.PackOptions, 'cacheDir' | 'env'> {
  return { cacheDir: join(cacheRoot, 'pack-cache'), env: { HOME: cacheRoot } };
}

/**
 * Raw kernel BTF for an archive file: .btf as is; a real .btf.tar.xz unpacked by tar + xz (cached);
 * the test-made ones (path prefixes inside) through `xz -dc` and the independent tar reader.
 */
const unpacked = new Map<string, string>();
async function rawKernel(file: string): Promise<string> {
  if (file.endsWith('.btf')) return file;
  if (file.startsWith(SHARED_DATA) || file.startsWith(EXAMPLE_ARCHIVE)) return unpackBtfTarXz(file);
  let out = unpacked.get(file);
  if (!out) {
    const members = readTar(execFileSync('xz', ['-dc', file], { maxBuffer: 1 << 30 })).filter((e) => e.type === '0');
    expect(members.length).toBe(1);
    out = join(tempDir('btfgen-raw-'), 'kernel.btf');
    writeFileSync(out, members[0]!.data);
    unpacked.set(file, out);
  }
  return out;
}

/**
 * Every member of `out` equals bpftool's output for that kernel and our minimize(); the member
 * set is exactly the packed kernels.
 */
async function expectParity(r: PackApi.PackResult, archive: string, objects: string[], outFile = r.output): Promise<void> {
  const tar = outFile.endsWith('.tar') ? readTar(readFileSync(outFile)) : readTarGz(outFile);
  const byName = new Map(tar.map((e) => [e.name, e.data]));
  const prepared = objects.map((o) => mini.prepareObject(new Uint8Array(readFileSync(o)), o));
  for (const m of r.members) {
    const data = byName.get(m.name);
    expect(data, m.name).toBeDefined();
    const raw = await rawKernel(join(archive, m.kernel));
    const ours = mini.minimize(new Uint8Array(readFileSync(raw)), prepared);
    expect(Buffer.compare(data!, Buffer.from(ours)), `${m.kernel} vs minimize()`).toBe(0);
    parity.minimize++;
    if (!noBpftool) {
      const b = await bpftoolMinCoreBtfBytes(raw, objects);
      expect(b.code, `bpftool on ${m.kernel}: ${b.stderr}`).toBe(0);
      expect(Buffer.compare(data!, Buffer.from(b.btf!)), `${m.kernel} vs bpftool`).toBe(0);
      parity.bpftool++;
    }
  }
}

// A committed-fixture archive: target objects' .BTF as raw .btf and as .btf.tar.xz, plus noise.
let FIX = '';
const FIX_OBJECTS = ['reloc_fields.o', 'reloc_types.o', 'reloc_enums.o', 'edge_union.o', 'j_prune.o', 'i_union.o'].map(fixture);
beforeAll(async () => {
  FIX = tempDir('btfgen-fixarchive-');
  const probes = await rawBtfOfElf(fixture('targets/probes_target.o'));
  const reloc = await rawBtfOfElf(fixture('targets/reloc_target.o'));
  const deep = await rawBtfOfElf(fixture('targets/deep_target.o'));
  buildArchive(FIX, [
    { rel: 'fixture/1/x86_64/probes-1.0.btf.tar.xz', data: xz(tarArchive([{ name: 'probes-1.0.btf', data: probes }])) },
    { rel: 'fixture/1/x86_64/reloc-1.0.btf', data: reloc },
    { rel: 'fixture/2/arm64/deep-2.0.btf.tar.xz', data: xz(tarArchive([{ name: './deep-2.0.btf', data: deep }])) },
    { rel: 'fixture/2/aarch64/reloc-2.0.btf.tar.xz', data: xz(tarArchive([{ name: 'some/dir/reloc-2.0.btf', data: reloc }])) },
    { rel: 'other/9/x86_64/probes 9 ü.btf', data: probes },
    // noise that is not a kernel
    { rel: 'LICENSE', data: 'license text' },
    { rel: 'README.md', data: '# archive' },
    { rel: '.github/workflows/ci.yml', data: 'on: push' },
    { rel: 'fixture/buster', data: '1' },
    { rel: 'fixture/1/x86_64/notes.txt', data: 'x' },
    { rel: 'fixture/1/x86_64/.hidden.btf', data: reloc },
    { rel: 'fixture/1/x86_64/package.json', data: '{"stale":true}' },
    { rel: 'fixture/one', symlink: '1' }, // codename alias: must not count kernels twice
    { rel: 'escape', symlink: '/' }, // a directory symlink out of the tree: never followed
  ]);
});

describe.skipIf(!!noBpftool)('parity with bpftool', () => {
  it('every member of a fixture archive equals bpftool and minimize() (raw, tar.xz, prefixes, odd names)', async () => {
    const root = tempDir();
    const out = join(root, 'out.tar.gz');
    const r = await pack({ objects: FIX_OBJECTS, output: out, archive: FIX, jobs: 2, ...base(root) });
    expect(r.members.map((m) => m.name)).toEqual([
      './btfhub-archive/fixture/1/x86_64/probes-1.0.btf',
      './btfhub-archive/fixture/1/x86_64/reloc-1.0.btf',
      './btfhub-archive/fixture/2/aarch64/reloc-2.0.btf',
      './btfhub-archive/fixture/2/arm64/deep-2.0.btf',
      './btfhub-archive/other/9/x86_64/probes 9 ü.btf',
    ]);
    expect(readTarGz(out).map((e) => e.name)).toEqual(r.members.map((m) => m.name));
    expect(r.counts).toMatchObject({ total: 5, packed: 5, minimized: 5, cached: 0, failed: 0 });
    // the 'some/dir/' prefix of reloc-2.0 is accepted and stripped
    await expectParity(r, FIX, FIX_OBJECTS);
  });

  it('repeated objects are minimized for once; the output still equals bpftool with every repeat', async () => {
    const root = tempDir();
    // the same path twice, and a byte-identical copy under another name
    const copy = join(root, 'copy-of-first.o');
    copyFileSync(FIX_OBJECTS[0]!, copy);
    const objects = [FIX_OBJECTS[0]!, FIX_OBJECTS[1]!, FIX_OBJECTS[0]!, FIX_OBJECTS[2]!, FIX_OBJECTS[1]!, copy];
    const r = await pack({ objects, output: join(root, 'rep.tar.gz'), archive: FIX, ...base(root) });
    expect(r.objects).toEqual({ given: 6, distinct: 3 });
    const once = await pack({ objects: FIX_OBJECTS.slice(0, 3), output: join(root, 'once.tar.gz'), archive: FIX, ...base(root), useCache: false });
    expect(readFileSync(r.output).equals(readFileSync(once.output))).toBe(true);
    await expectParity(r, FIX, objects);
  });

  it.skipIf(!!missing(data.demoArchive))('real kernels (debian, ubuntu, centos) with the tracing objects', async () => {
    const root = tempDir();
    const arch = join(root, 'archive');
    const pick = [
      'debian/10/x86_64/4.19.0-17-cloud-amd64.btf.tar.xz',
      'debian/10/x86_64/4.19.0-17-amd64.btf.tar.xz',
      'ubuntu/20.04/x86_64/5.11.0-1028-gcp.btf.tar.xz',
      'ubuntu/20.04/x86_64/5.4.0-26-generic.btf.tar.xz',
      'centos/8/x86_64/4.18.0-80.el8.x86_64.btf.tar.xz',
    ];
    buildArchive(arch, [
      ...pick.map((rel) => ({ rel, copy: join(DEMO, rel) })),
      { rel: 'debian/buster', copy: join(DEMO, 'debian/buster') },
      { rel: 'LICENSE', copy: join(DEMO, 'LICENSE') },
      { rel: 'ubuntu/focal', symlink: '20.04' },
    ]);
    const objects = [...traceObjects(), EXAMPLE_OBJECT];
    expect(objects.length).toBeGreaterThanOrEqual(5);
    const r = await pack({ objects, output: join(root, 'o.tar.gz'), archive: arch, jobs: 2, ...base(root) });
    expect(r.counts).toMatchObject({ total: 5, packed: 5, failed: 0 });
    expect(r.groups).toEqual([
      { id: 'centos', version: '8', arch: 'x86_64', kernels: 1 },
      { id: 'debian', version: '10', arch: 'x86_64', kernels: 2 },
      { id: 'ubuntu', version: '20.04', arch: 'x86_64', kernels: 2 },
    ]);
    await expectParity(r, arch, objects);
  });

  it.skipIf(!!missing(data.extraArchive))('--arch arm64 selects aarch64 directories of a second repository (ENUM64, 27 MB non-dedup)', async () => {
    const root = tempDir();
    const objects = traceObjects();
    const r = await pack({ objects, output: join(root, 'o.tar.gz'), archive: data.extraArchive.path, arches: ['arm64'], ...base(root) });
    expect(r.members.map((m) => m.kernel)).toEqual([
      'centos/8/aarch64/4.18.0-147.5.1.el8_1.aarch64.btf.tar.xz',
      'kylin/V10/aarch64/4.19.90-24.4.v2101.ky10.aarch64.btf.tar.xz',
      'kylin/V10/aarch64/4.19.90-25.41.v2101.ky10.aarch64.btf.tar.xz',
      'kylin/V10/aarch64/4.19.90-52.22.v2207.ky10.aarch64.btf.tar.xz',
    ]);
    await expectParity(r, data.extraArchive.path, objects);
  });

  it.skipIf(!!missing(data.centosHuge))('a 44 MB non-deduplicated centos kernel', async () => {
    const root = tempDir();
    const arch = join(root, 'a');
    const rel = 'centos/8/x86_64/4.18.0-147.0.3.el8_1.x86_64.btf.tar.xz';
    buildArchive(arch, [{ rel, copy: data.centosHuge.path }]);
    const objects = traceObjects();
    const r = await pack({ objects, output: join(root, 'o.tar.gz'), archive: arch, jobs: 1, useCache: false, ...base(root) });
    expect(r.counts.packed).toBe(1);
    await expectParity(r, arch, objects);
  });

  it.skipIf(!!missing(fixtures.exampleArchive))('the committed examples/archive with examples/prog.bpf.o (bcc layout, plain tar)', async () => {
    const root = tempDir();
    const out = join(root, 'o.tar');
    const r = await pack({ objects: [EXAMPLE_OBJECT], output: out, archive: EXAMPLE_ARCHIVE, layout: 'bcc', format: 'tar', ...base(root) });
    expect(r.members.length).toBeGreaterThanOrEqual(4);
    for (const m of r.members) expect(m.name).toBe(`./${m.kernel.replace(/\.btf\.tar\.xz$/, '.btf')}`);
    expect(readFileSync(out).subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(false);
    await expectParity(r, EXAMPLE_ARCHIVE, [EXAMPLE_OBJECT], out);
  });

  it.skipIf(!FULL || !!missing(data.demoArchive))('BTFGEN_FULL=1: all 85 demo kernels', async () => {
    const root = tempDir();
    const objects = [...traceObjects(), EXAMPLE_OBJECT];
    const r = await pack({ objects, output: join(root, 'o.tar.gz'), archive: DEMO, ...base(root) });
    expect(r.counts).toMatchObject({ total: 85, packed: 85, failed: 0 });
    await expectParity(r, DEMO, objects);
  }, 900_000);
});

describe('output format', () => {
  it('layouts, --json and formats; members sorted with fixed metadata', async () => {
    const root = tempDir();
    const json = join(root, 'package.json');
    writeFileSync(json, '{"name":"prog","version":"1"}\n');
    const a = await pack({ objects: FIX_OBJECTS, output: join(root, 'a.tar.gz'), archive: FIX, json, ...base(root) });
    const ta = readTarGz(a.output);
    expect(ta.map((e) => e.name)).toEqual([...a.members.map((m) => m.name), './package.json']);
    expect(ta.at(-1)!.data.toString()).toBe('{"name":"prog","version":"1"}\n');
    const names = ta.map((e) => e.name);
    expect([...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))).toEqual(names);
    for (const e of ta) expect(e).toMatchObject({ type: '0', mode: 0o644, uid: 0, gid: 0, mtime: 0, uname: '', gname: '' });
    const gz = readFileSync(a.output);
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]); // no timestamp, no name
    expect(a.json).toBe(true);

    const b = await pack({ objects: FIX_OBJECTS, output: join(root, 'b.tar'), archive: FIX, json, layout: 'bcc', format: 'tar', ...base(root) });
    const tb = readTar(readFileSync(b.output));
    expect(tb.map((e) => e.name)).toEqual(
      [...ta.map((e) => e.name.replace('./btfhub-archive/', './'))].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))),
    );
    for (const e of tb) expect(e.data.equals(ta.find((x) => x.name.replace('./btfhub-archive/', './') === e.name)!.data)).toBe(true);
    expect(readFileSync(b.output).length % 10240).toBe(0);

    // SOURCE_DATE_EPOCH sets the member mtime
    const c = await pack({ objects: FIX_OBJECTS, output: join(root, 'c.tar.gz'), archive: FIX, ...base(root), env: { HOME: root, SOURCE_DATE_EPOCH: '1700000000' } });
    expect(readTarGz(c.output).every((e) => e.mtime === 1700000000)).toBe(true);
  });

  it('rejects invalid --json, a directory as output, and empty selections', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'bad.json'), '{nope');
    await expect(pack({ objects: FIX_OBJECTS, output: join(root, 'o.tar.gz'), archive: FIX, json: join(root, 'bad.json'), ...base(root) })).rejects.toThrow(/not valid JSON/);
    await expect(pack({ objects: FIX_OBJECTS, output: root, archive: FIX, ...base(root) })).rejects.toThrow(/is a directory/);
    await expect(pack({ objects: FIX_OBJECTS, output: join(root, 'o.tar.gz'), archive: FIX, distros: ['nosuch'], ...base(root) })).rejects.toThrow(/no kernels matching nosuch in/);
    await expect(pack({ objects: FIX_OBJECTS, output: join(root, 'o.tar.gz'), archive: join(root, 'none'), ...base(root) })).rejects.toThrow(/archive directory not found/);
    await expect(pack({ objects: [join(root, 'missing.o')], output: join(root, 'o.tar.gz'), archive: FIX, ...base(root) })).rejects.toThrow(/cannot read BPF object/);
    await expect(pack({ objects: [fixture('btf_noext.o')], output: join(root, 'o.tar.gz'), archive: FIX, ...base(root) })).rejects.toThrow(/btf_noext\.o/);
    expect(listFiles(root)).toEqual(['bad.json']);
  });
});

describe('filters', () => {
  it('--distro ID and ID/VERSION, --arch with arm64 <-> aarch64 aliases', async () => {
    const root = tempDir();
    const run = async (o: Partial<PackApi.PackOptions>) =>
      (await pack({ objects: FIX_OBJECTS, output: join(root, 'o.tar.gz'), archive: FIX, ...base(root), ...o })).members.map((m) => m.kernel);
    expect(await run({ distros: ['other'] })).toEqual(['other/9/x86_64/probes 9 ü.btf']);
    expect(await run({ distros: ['fixture/2'] })).toEqual(['fixture/2/aarch64/reloc-2.0.btf.tar.xz', 'fixture/2/arm64/deep-2.0.btf.tar.xz']);
    expect(await run({ arches: ['arm64'] })).toEqual(['fixture/2/aarch64/reloc-2.0.btf.tar.xz', 'fixture/2/arm64/deep-2.0.btf.tar.xz']);
    expect(await run({ arches: ['aarch64'] })).toEqual(['fixture/2/aarch64/reloc-2.0.btf.tar.xz', 'fixture/2/arm64/deep-2.0.btf.tar.xz']);
    expect(await run({ distros: ['fixture/1,other'], arches: ['x86_64'] })).toEqual([
      'fixture/1/x86_64/probes-1.0.btf.tar.xz',
      'fixture/1/x86_64/reloc-1.0.btf',
      'other/9/x86_64/probes 9 ü.btf',
    ]);
    await expect(run({ distros: ['../etc'] })).rejects.toThrow(/invalid --distro/);
  });
});

describe('determinism', () => {
  it('identical bytes across runs, --jobs, cache on/off, decompressors and xz lanes', async () => {
    const root = tempDir();
    const outs: Buffer[] = [];
    const variants: Partial<PackApi.PackOptions>[] = [
      { jobs: 1 },
      { jobs: 3 },
      { jobs: 2 },
      { jobs: 2, useCache: false },
      { jobs: 2, useCache: false, decompressor: 'lzma' },
      // 2 threads with 4 xz lanes of 3 kernels each (mixed raw and .tar.xz kernels go through the lanes)
      { jobs: 8, useCache: false },
      // no tmpfs scratch files: one kernel at a time per thread, xz through execa
      { jobs: 2, useCache: false, noScratch: true } as Partial<PackApi.PackOptions>,
    ];
    for (const [i, v] of variants.entries()) {
      const { noScratch, ...opts } = v as Partial<PackApi.PackOptions> & { noScratch?: boolean };
      if (noScratch) process.env.BTFGEN_XZ_SCRATCH = '0';
      try {
        const r = await pack({ objects: FIX_OBJECTS, output: join(root, `o${i}.tar.gz`), archive: FIX, ...base(root), ...opts });
        outs.push(readFileSync(r.output));
      } finally {
        delete process.env.BTFGEN_XZ_SCRATCH;
      }
    }
    for (const o of outs.slice(1)) expect(o.equals(outs[0]!)).toBe(true);
    // an independent cache directory gives the same bytes as well
    const other = tempDir();
    const r = await pack({ objects: FIX_OBJECTS, output: join(other, 'x.tar.gz'), archive: FIX, ...base(other) });
    expect(readFileSync(r.output).equals(outs[0]!)).toBe(true);
  });
});

describe('failure policy', () => {
  // d_ambig.o is ambiguous against probes_target (bpftool fails), fine against the others.
  const objects = [...FIX_OBJECTS, fixture('d_ambig.o')];

  it('fails listing each failing kernel and writes nothing; --skip-failed packs the rest', async () => {
    const root = tempDir();
    const out = join(root, 'o.tar.gz');
    writeFileSync(out, 'previous output');
    let err: unknown;
    try {
      await pack({ objects, output: out, archive: FIX, ...base(root) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PackError);
    const pe = err as InstanceType<typeof PackError>;
    expect(pe.message).toMatch(/^2 of 5 kernels failed; nothing was written/);
    expect(pe.failures.map((f) => f.kernel)).toEqual(['fixture/1/x86_64/probes-1.0.btf.tar.xz', 'other/9/x86_64/probes 9 ü.btf']);
    for (const f of pe.failures) expect(f.message).toMatch(/d_ambig\.o.*ambigu/);
    expect(readFileSync(out, 'utf8')).toBe('previous output'); // untouched
    // the caches aside (the kernel cache keeps the kernels it decompressed, failing or not)
    expect(listFiles(root).filter((f) => !f.startsWith('pack-cache/') && !f.startsWith('.cache/eunomia/btfhub/kernel-cache/'))).toEqual(['o.tar.gz']);

    if (!noBpftool) {
      const raw = await rawKernel(join(FIX, pe.failures[0]!.kernel));
      expect((await bpftoolMinCoreBtfBytes(raw, objects)).code).not.toBe(0);
    }

    const r = await pack({ objects, output: out, archive: FIX, skipFailed: true, ...base(root) });
    expect(r.counts).toMatchObject({ total: 5, packed: 3, failed: 2 });
    expect(r.failures.every((f) => f.cached)).toBe(true); // remembered from the first run
    expect(readTarGz(out).map((e) => e.name)).toEqual([
      './btfhub-archive/fixture/1/x86_64/reloc-1.0.btf',
      './btfhub-archive/fixture/2/aarch64/reloc-2.0.btf',
      './btfhub-archive/fixture/2/arm64/deep-2.0.btf',
    ]);
    if (!noBpftool) await expectParity(r, FIX, objects);
  });

  it('a worker that dies fails only the kernel it died on: the others it held are retried alone', async () => {
    const root = tempDir();
    const normal = await pack({ objects: FIX_OBJECTS, output: join(root, 'n.tar.gz'), archive: FIX, jobs: 2, useCache: false, ...base(root) });
    expect(normal.counts.failed).toBe(0);
    // worker.ts's test hook: exit the worker thread when it reaches this kernel, with the other
    // kernels of this small archive in its xz lanes
    process.env.BTFGEN_TEST_WORKER_EXIT_ON = 'reloc-1.0';
    let r: PackApi.PackResult;
    try {
      r = await pack({ objects: FIX_OBJECTS, output: join(root, 'o.tar.gz'), archive: FIX, jobs: 2, skipFailed: true, useCache: false, ...base(root) });
      const err = await pack({ objects: FIX_OBJECTS, output: join(root, 'x.tar.gz'), archive: FIX, jobs: 2, useCache: false, ...base(root) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PackError);
      expect((err as InstanceType<typeof PackError>).failures.map((f) => f.kernel)).toEqual(['fixture/1/x86_64/reloc-1.0.btf']);
    } finally {
      delete process.env.BTFGEN_TEST_WORKER_EXIT_ON;
    }
    expect(r.counts).toMatchObject({ total: 5, packed: 4, failed: 1 });
    expect(r.failures.map((f) => f.kernel)).toEqual(['fixture/1/x86_64/reloc-1.0.btf']);
    expect(r.failures[0]!.message).toMatch(/worker crashed: exited with code 70/);
    const expected = readTarGz(join(root, 'n.tar.gz')).filter((e) => !e.name.includes('reloc-1.0'));
    expect(readTarGz(join(root, 'o.tar.gz'))).toEqual(expected);
  });

  it.skipIf(!!missing(data.demoArchive) || !!noBpftool)('a real kernel/object combination bpftool rejects (manifest archiveExceptions) fails the same way', async () => {
    const failing = archiveFailingObjects();
    expect(failing.length).toBeGreaterThan(0);
    const { file, release, error } = failing[0]!;
    const root = tempDir();
    const arch = join(root, 'a');
    const rels = ['debian/10/x86_64/4.19.0-17-cloud-amd64.btf.tar.xz', 'ubuntu/20.04/x86_64/5.11.0-1028-gcp.btf.tar.xz', 'ubuntu/20.04/x86_64/5.4.0-26-generic.btf.tar.xz'];
    buildArchive(arch, rels.map((rel) => ({ rel, copy: join(DEMO, rel) })));
    const objects = [EXAMPLE_OBJECT, file];
    const expectFail = rels.filter((r) => release.test(r.split('/').pop()!.replace(/\.btf\.tar\.xz$/, '')));
    const err = await pack({ objects, output: join(root, 'o.tar.gz'), archive: arch, ...base(root) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PackError);
    const pe = err as InstanceType<typeof PackError>;
    expect(pe.failures.map((f) => f.kernel)).toEqual(expectFail);
    for (const f of pe.failures) {
      expect(f.message).toContain(error);
      const b = await bpftoolMinCoreBtfBytes(await rawKernel(join(arch, f.kernel)), objects);
      expect(b.code).not.toBe(0);
      expect(b.stderr).toContain(error);
    }
    const r = await pack({ objects, output: join(root, 'o.tar.gz'), archive: arch, skipFailed: true, ...base(root) });
    expect(r.members.map((m) => m.kernel)).toEqual(rels.filter((x) => !expectFail.includes(x)));
    await expectParity(r, arch, objects);
  });

  it('hostile kernel files fail alone with a clear reason and are never packed', async () => {
    const root = tempDir();
    const arch = join(root, 'archive');
    const reloc = await rawBtfOfElf(fixture('targets/reloc_target.o'));
    buildArchive(arch, [
      { rel: 'ok/1/x86_64/good.btf', data: reloc },
      { rel: 'bad/1/x86_64/symlink-member.btf.tar.xz', data: xz(tarArchive([{ name: 'symlink-member.btf', type: '2', linkname: '/etc/passwd' }])) },
      { rel: 'bad/1/x86_64/two-members.btf.tar.xz', data: xz(tarArchive([{ name: 'a.btf', data: reloc }, { name: 'b.btf', data: reloc }])) },
      { rel: 'bad/1/x86_64/dotdot.btf.tar.xz', data: xz(tarArchive([{ name: '../x.btf', data: reloc }])) },
      { rel: 'bad/1/x86_64/not-xz.btf.tar.xz', data: 'plain text' },
      { rel: 'bad/1/x86_64/garbage.btf', data: 'not BTF at all' },
      { rel: 'bad/1/x86_64/passwd.btf', symlink: '/etc/passwd' }, // a link out of the tree to a non-kernel
      // named like kernels but unreadable: failing kernels, never silently dropped (issue 13.3)
      { rel: 'bad/1/x86_64/dangling.btf', symlink: join(root, 'nowhere') },
      { rel: 'bad/1/x86_64/loop.btf.tar.xz', symlink: 'loop.btf.tar.xz' },
    ]);
    mkdirSync(join(arch, 'bad/1/x86_64/dir.btf.tar.xz'));
    const r = await pack({ objects: FIX_OBJECTS, output: join(root, 'o.tar.gz'), archive: arch, skipFailed: true, ...base(root) });
    expect(r.members.map((m) => m.kernel)).toEqual(['ok/1/x86_64/good.btf']);
    const why = Object.fromEntries(r.failures.map((f) => [f.kernel.replace('bad/1/x86_64/', ''), f.message]));
    expect(Object.keys(why).sort()).toEqual([
      'dangling.btf',
      'dir.btf.tar.xz',
      'dotdot.btf.tar.xz',
      'garbage.btf',
      'loop.btf.tar.xz',
      'not-xz.btf.tar.xz',
      'passwd.btf',
      'symlink-member.btf.tar.xz',
      'two-members.btf.tar.xz',
    ]);
    expect(why['dangling.btf']).toMatch(/dangling symbolic link/);
    expect(why['loop.btf.tar.xz']).toMatch(/symbolic link loop/);
    expect(why['dir.btf.tar.xz']).toMatch(/a directory/);
    // without --skip-failed they fail the pack, listed, and nothing is written
    const err = await pack({ objects: FIX_OBJECTS, output: join(root, 'o2.tar.gz'), archive: arch, ...base(root) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PackError);
    expect((err as InstanceType<typeof PackError>).failures.map((f) => f.kernel)).toContain('bad/1/x86_64/dangling.btf');
    expect(existsSync(join(root, 'o2.tar.gz'))).toBe(false);
    expect(why['symlink-member.btf.tar.xz']).toMatch(/is a symbolic link/);
    expect(why['two-members.btf.tar.xz']).toMatch(/more than one member/);
    expect(why['dotdot.btf.tar.xz']).toMatch(/'\.\.' component/);
    expect(why['not-xz.btf.tar.xz']).toMatch(/not an xz file/);
    expect(why['garbage.btf']).toMatch(/BTF/);
    expect(why['passwd.btf']).toMatch(/BTF/);
    const tar = readTarGz(r.output);
    expect(tar.map((e) => e.name)).toEqual(['./btfhub-archive/ok/1/x86_64/good.btf']);
    expect(tar[0]!.data.includes(Buffer.from('root:'))).toBe(false);
  });

  it('all kernels failing is an error even with --skip-failed', async () => {
    const root = tempDir();
    const arch = buildArchive(join(root, 'a'), [{ rel: 'x/1/x86_64/k.btf', data: 'junk' }]);
    await expect(pack({ objects: FIX_OBJECTS, output: join(root, 'o.tar.gz'), archive: arch, skipFailed: true, ...base(root) })).rejects.toThrow(/all 1 kernel failed/);
    expect(existsSync(join(root, 'o.tar.gz'))).toBe(false);
  });
});

describe('incremental cache', () => {
  it('a re-run minimizes nothing; a changed kernel or relocation re-minimizes only what changed', async () => {
    const root = tempDir();
    const arch = join(root, 'archive');
    const reloc = await rawBtfOfElf(fixture('targets/reloc_target.o'));
    const probes = await rawBtfOfElf(fixture('targets/probes_target.o'));
    buildArchive(arch, [
      { rel: 'a/1/x86_64/k1.btf', data: reloc },
      { rel: 'a/1/x86_64/k2.btf.tar.xz', data: xz(tarArchive([{ name: 'k2.btf', data: probes }])) },
      { rel: 'a/1/x86_64/k3.btf', data: probes },
    ]);
    // Files older than the racy window, so that their stat is trusted.
    const old = new Date(Date.now() - 3600_000);
    for (const f of listFiles(arch)) utimesSync(join(arch, f), old, old);
    const opts = { objects: FIX_OBJECTS, archive: arch, ...base(root) };

    const r1 = await pack({ ...opts, output: join(root, 'o1.tar.gz') });
    expect(r1.counts).toMatchObject({ minimized: 3, cached: 0 });
    const r2 = await pack({ ...opts, output: join(root, 'o2.tar.gz') });
    expect(r2.counts).toMatchObject({ minimized: 0, cached: 3 });
    expect(r2.outputCached).toBe(true);
    expect(readFileSync(r2.output).equals(readFileSync(r1.output))).toBe(true);

    // Same content, new mtime: re-hashed, not re-minimized.
    utimesSync(join(arch, 'a/1/x86_64/k1.btf'), new Date(), new Date());
    const r3 = await pack({ ...opts, output: join(root, 'o3.tar.gz') });
    expect(r3.counts).toMatchObject({ minimized: 0, cached: 3 });

    // New content for one kernel: only that one.
    writeFileSync(join(arch, 'a/1/x86_64/k3.btf'), await rawBtfOfElf(fixture('targets/deep_target.o')));
    const r4 = await pack({ ...opts, output: join(root, 'o4.tar.gz') });
    expect(r4.counts).toMatchObject({ minimized: 1, cached: 2 });
    expect(r4.outputCached).toBe(false);

    // Objects whose relocations are unchanged (moved instructions, other line info): cached.
    const moved = new Uint8Array(readFileSync(FIX_OBJECTS[0]!));
    const { parseElf } = await import('../../src/btf/index.js');
    const ext = parseElf(moved).section('.BTF.ext')!;
    const dv = new DataView(moved.buffer);
    const hdr = dv.getUint32(ext.offset + 4, true);
    const lineOff = ext.offset + hdr + dv.getUint32(ext.offset + 16, true);
    dv.setUint32(lineOff + 12, dv.getUint32(lineOff + 12, true) + 8, true); // first line_info insn_off
    const movedPath = join(root, 'moved.o');
    writeFileSync(movedPath, moved);
    const r5 = await pack({ ...opts, objects: [movedPath, ...FIX_OBJECTS.slice(1)], output: join(root, 'o5.tar.gz') });
    expect(r5.counts).toMatchObject({ minimized: 0, cached: 3 });

    // Another object set: everything again. --no-cache: everything, and nothing written to the cache.
    const r6 = await pack({ ...opts, objects: FIX_OBJECTS.slice(1), output: join(root, 'o6.tar.gz') });
    expect(r6.counts).toMatchObject({ minimized: 3, cached: 0 });
    const before = listFiles(join(root, 'pack-cache'));
    const r7 = await pack({ ...opts, useCache: false, output: join(root, 'o7.tar.gz') });
    expect(r7.counts).toMatchObject({ minimized: 3, cached: 0 });
    expect(r7.cacheDir).toBeUndefined();
    expect(listFiles(join(root, 'pack-cache'))).toEqual(before);
    expect(readFileSync(r7.output).equals(readFileSync(r4.output))).toBe(true);
    expect(before.some((f) => f.includes('.tmp-'))).toBe(false);
  });

  it('.btf.tar.xz kernels the stat index vouches for go to xz unread: re-packs through lanes, without scratch files and with lzma equal a fresh pack, a corrupt kernel failing alike', async () => {
    const root = tempDir();
    const arch = join(root, 'archive');
    const reloc = await rawBtfOfElf(fixture('targets/reloc_target.o'));
    const probes = await rawBtfOfElf(fixture('targets/probes_target.o'));
    const good = xz(tarArchive([{ name: 'k2.btf', data: probes }]));
    const corrupt = Buffer.from(good);
    corrupt[corrupt.length >> 1] ^= 0xff;
    buildArchive(arch, [
      { rel: 'a/1/x86_64/k1.btf.tar.xz', data: xz(tarArchive([{ name: 'k1.btf', data: reloc }])) },
      { rel: 'a/1/x86_64/k2.btf.tar.xz', data: good },
      { rel: 'a/1/x86_64/k3.btf.tar.xz', data: corrupt },
    ]);
    const old = new Date(Date.now() - 3600_000);
    for (const f of listFiles(arch)) utimesSync(join(arch, f), old, old);
    await new Promise((r) => setTimeout(r, 2100)); // the files' ctime out of the stat index's racy window (2 s)
    const common = { archive: arch, skipFailed: true, kernelCache: false as const, jobs: 2, env: { HOME: root } };
    // the first pack hashes every file and records it in the stat index
    const seed = join(root, 'seed');
    await pack({ ...common, objects: [FIX_OBJECTS[0]!], output: join(root, 'seed.tar.gz'), cacheDir: seed });
    const index = JSON.parse(readFileSync(join(seed, 'v1/stat-index.json'), 'utf8')) as { entries: Record<string, unknown> };
    expect(Object.keys(index.entries)).toHaveLength(3);

    // other objects (no result cached): a fresh result cache, then ones seeded with that stat index
    const objects = FIX_OBJECTS.slice(1);
    const ref = await pack({ ...common, objects, output: join(root, 'ref.tar.gz'), cacheDir: join(root, 'fresh') });
    expect(ref.counts).toMatchObject({ minimized: 2, failed: 1 });
    expect(ref.failures[0]!.message).toMatch(/xz: .*corrupt/i);
    const variants: [string, Partial<PackApi.PackOptions>, string | undefined][] = [
      ['lanes', {}, undefined],
      ['no-scratch', {}, '0'],
      ['lzma', { decompressor: 'lzma' }, undefined],
    ];
    for (const [name, opts, scratch] of variants) {
      const cacheDir = join(root, name);
      mkdirSync(join(cacheDir, 'v1'), { recursive: true });
      copyFileSync(join(seed, 'v1/stat-index.json'), join(cacheDir, 'v1/stat-index.json'));
      if (scratch !== undefined) process.env.BTFGEN_XZ_SCRATCH = scratch;
      try {
        const r = await pack({ ...common, ...opts, objects, output: join(root, `${name}.tar.gz`), cacheDir });
        expect(r.counts, name).toMatchObject({ minimized: 2, failed: 1 });
        expect(readFileSync(r.output).equals(readFileSync(ref.output)), name).toBe(true);
        if (name !== 'lzma') expect(r.failures, name).toEqual(ref.failures);
        else expect(r.failures[0]!.kernel, name).toBe(ref.failures[0]!.kernel);
      } finally {
        delete process.env.BTFGEN_XZ_SCRATCH;
      }
    }
  });

  it('a copy of the cache key material elsewhere (another path, same bytes) is a hit', async () => {
    const root = tempDir();
    const reloc = await rawBtfOfElf(fixture('targets/reloc_target.o'));
    const a1 = buildArchive(join(root, 'a1'), [{ rel: 'a/1/x86_64/k.btf', data: reloc }]);
    const a2 = buildArchive(join(root, 'a2'), [{ rel: 'b/2/arm64/other-name.btf', data: reloc }]);
    const r1 = await pack({ objects: FIX_OBJECTS, archive: a1, output: join(root, '1.tar.gz'), ...base(root) });
    const r2 = await pack({ objects: FIX_OBJECTS, archive: a2, output: join(root, '2.tar.gz'), ...base(root) });
    expect(r1.counts.minimized).toBe(1);
    expect(r2.counts).toMatchObject({ minimized: 0, cached: 1 });
  });
});

describe('stale temp files', () => {
  it('removes temp outputs of dead processes, keeps live ones', async () => {
    const root = tempDir();
    const dead = join(root, '.o.tar.gz.btfgen-999999999-0badf00d.tmp');
    const live = join(root, `.o.tar.gz.btfgen-${process.ppid}-0badf00d.tmp`);
    const unrelated = join(root, '.other.btfgen-999999999-0badf00d.tmp');
    for (const f of [dead, live, unrelated]) writeFileSync(f, 'partial');
    await pack({ objects: FIX_OBJECTS, output: join(root, 'o.tar.gz'), archive: FIX, ...base(root) });
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(unrelated)).toBe(true);
  });
});

describe('abort', () => {
  it('an aborted pack rejects, writes nothing and leaves no temp file', async () => {
    const root = tempDir();
    const ac = new AbortController();
    const p = pack({ objects: FIX_OBJECTS, output: join(root, 'o.tar.gz'), archive: FIX, useCache: false, signal: ac.signal, ...base(root), onProgress: (e) => e.phase === 'minimize' && ac.abort() });
    await expect(p).rejects.toThrow(/interrupted/);
    expect(listFiles(root)).toEqual([]);
  });
});


/** An archive (`root`/a) of `n` tiny .btf.tar.xz kernels, deep-0 ... deep-(n-1): decompressing each is cheap next to minimizing it. */
async function tinyXzArchive(root: string, n: number): Promise<string> {
  const arch = join(root, 'a');
  const deep = await rawBtfOfElf(fixture('targets/deep_target.o'));
  buildArchive(
    arch,
    Array.from({ length: n }, (_, i) => ({ rel: `fixture/${i}/x86_64/deep-${i}.btf.tar.xz`, data: xz(tarArchive([{ name: `deep-${i}.btf`, data: deep }])) })),
  );
  return arch;
}

describe('minimizing threads', () => {
  it('minimizersNeeded: threads to keep up with the decompressions on N cores', () => {
    expect(minimizersNeeded(2, 1.1, 6.1)).toBe(1); // the demo archive: xz dominates
    expect(minimizersNeeded(8, 1.1, 6.1)).toBe(2);
    expect(minimizersNeeded(2, 5, 5)).toBe(1); // one thread exactly keeps up
    expect(minimizersNeeded(2, 9, 1)).toBe(2);
    expect(minimizersNeeded(4, 0, 0)).toBe(1);
  });

  it('one thread per 4 jobs for an xz archive, more when minimizing turns out dear', async (ctx) => {
    // Without tmpfs scratch files there are no lanes: one thread per job from the start.
    if (!scratchAvailable()) return ctx.skip('no tmpfs scratch files (xz lanes off): pack starts one thread per job, nothing grows');
    const root = tempDir();
    const arch = await tinyXzArchive(root, 16);
    // Minimizing is made dear by a fixed 60 ms wait in the worker (a test hook): measured, a
    // tiny kernel's minimize alone could come out cheaper than its xz on a loaded machine, and
    // the pool then rightly kept one thread (a CI run failed so).
    process.env.BTFGEN_TEST_MINIMIZE_DELAY_MS = '60';
    let r: Awaited<ReturnType<typeof pack>>;
    try {
      r = await pack({ objects: FIX_OBJECTS, output: join(root, 'o.tar.gz'), archive: arch, jobs: 2, useCache: false, ...base(root) });
    } finally {
      delete process.env.BTFGEN_TEST_MINIMIZE_DELAY_MS;
    }
    expect(r.counts.packed).toBe(16);
    // with xz lanes it starts with one thread and grows to jobs; without, one per job from the start
    expect(r.work.threads).toBe(2);
    // the same bytes as with one thread per job from the start (no lanes)
    const plain = await pack({ objects: FIX_OBJECTS, output: join(root, 'p.tar.gz'), archive: arch, jobs: 1, useCache: false, ...base(root) });
    expect(plain.work.threads).toBe(1);
    expect(readFileSync(join(root, 'p.tar.gz')).equals(readFileSync(join(root, 'o.tar.gz')))).toBe(true);
  });
});

describe('xz lanes', () => {
  it('queue their kernels: xz keeps running while the minimizing thread is held, never more at once than jobs', async (ctx) => {
    if (!scratchAvailable()) return ctx.skip('no tmpfs scratch files: no xz lanes');
    const realXz = execFileSync('sh', ['-c', 'command -v xz'], { encoding: 'utf8' }).trim();
    const root = tempDir();
    const arch = await tinyXzArchive(root, 6);
    // An `xz` first on PATH that logs when each run starts and ends (ms), then runs the real one.
    const bin = join(root, 'bin');
    const log = join(root, 'xz.log');
    mkdirSync(bin);
    writeFileSync(join(bin, 'xz'), `#!/bin/sh\necho "s $(date +%s%N)" >>'${log}'\n'${realXz}' "$@"\nrc=$?\necho "e $(date +%s%N)" >>'${log}'\nexit $rc\n`, { mode: 0o755 });
    // Each minimize holds its thread for 0.8 s (the event loop too), as a large kernel's does.
    const HOLD_MS = 800;
    process.env.BTFGEN_TEST_MINIMIZE_DELAY_MS = String(HOLD_MS);
    const path0 = process.env.PATH;
    process.env.PATH = `${bin}:${path0}`;
    try {
      const r = await pack({ objects: FIX_OBJECTS, output: join(root, 'o.tar.gz'), archive: arch, jobs: 2, useCache: false, kernelCache: false, ...base(root) });
      expect(r.counts.packed).toBe(6);
    } finally {
      process.env.PATH = path0;
      delete process.env.BTFGEN_TEST_MINIMIZE_DELAY_MS;
    }
    const events = readFileSync(log, 'utf8').trim().split('\n').map((l) => ({ start: l.startsWith('s'), ms: Number(BigInt(l.slice(2)) / 1_000_000n) }));
    const ends = events.filter((e) => !e.start).map((e) => e.ms);
    expect(ends.length).toBe(6);
    // One lane per job: never more than 2 xz at once.
    let running = 0;
    let most = 0;
    for (const e of [...events].sort((a, b) => a.ms - b.ms || Number(a.start) - Number(b.start))) most = Math.max(most, (running += e.start ? 1 : -1));
    expect(most).toBeLessThanOrEqual(2);
    // Every kernel's xz ran while the thread was held on the first kernel: two lanes with three
    // kernels each start the next xz themselves. (With one kernel per lane and four lanes, the
    // fifth and sixth xz could only start once the thread took a tar after the first hold.)
    expect(Math.max(...ends) - Math.min(...ends)).toBeLessThan(HOLD_MS);
  });
});
