// End to end, Node: ensureCoreBtf picks this host's BTF out of a real archive (this kernel's
// BTF minimized by the reference tool) and hands the path to a libbpf loader child process
// (native/example, linked without an archive, reading BTF_FILE_PATH), which loads and runs
// the CO-RE program with it. The same cases as test/native/e2e.test.ts.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CorruptArchiveError,
  ensureCoreBtf,
  NoArchiveError,
  NoMatchingBtfError,
  type CoreBtf,
} from '../../src/runtime/index.js';
import { BIN, REPO_ROOT, VMLINUX } from '../helpers/env.js';
import { buildCorruptArchive, buildForeignArchive, buildHostArchive, buildLoaders, loaderToolsMissing, structId, tempDir, thisHost } from '../native/build.js';

const missing = loaderToolsMissing();
if (missing) console.warn(`skipping the runtime end-to-end tests: ${missing}`);

describe.skipIf(missing !== undefined)('ensureCoreBtf + a libbpf loader child process', () => {
  let build: string;
  let tmp: string;
  let loader: string;
  let archive: { archive: string; btf: string; key: string };
  let bcc: string;
  let foreign: string;
  let corrupt: string;
  let noBpf: string | undefined;
  let bpfObject: string;
  let host: Awaited<ReturnType<typeof thisHost>>;

  /** Runs the loader the way a Node app would: BTF_FILE_PATH when there is a path. */
  const load = (btf: CoreBtf) => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: tmp };
    if (btf.path) env.BTF_FILE_PATH = btf.path;
    const r = spawnSync(loader, ['-v'], { encoding: 'utf8', env, timeout: 30_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  beforeAll(async () => {
    build = await tempDir('btfgen-e2e-runtime-');
    const loaders = await buildLoaders(build, { none: undefined });
    loader = loaders.bin.none!;
    bpfObject = loaders.bpfObject;
    host = await thisHost();
    archive = await buildHostArchive(build, bpfObject, host);
    bcc = (await buildHostArchive(build, bpfObject, host, { layout: 'bcc', gzip: false, name: 'bcc' })).archive;
    foreign = await buildForeignArchive(build, bpfObject);
    corrupt = await buildCorruptArchive(build, archive.archive);
    tmp = join(build, 'tmp');
    await mkdir(tmp);
    const probe = spawnSync(loader, ['--no-attach'], { encoding: 'utf8' });
    if (probe.status !== 0 && /Operation not permitted/.test(probe.stderr)) {
      noBpf = `cannot load BPF programs here (no CAP_BPF?): ${probe.stderr.trim().split('\n').at(-1)}`;
      console.warn(`skipping the runtime end-to-end tests: ${noBpf}`);
    }
  });
  afterAll(async () => {
    if (build) await rm(build, { recursive: true, force: true });
  });
  beforeEach((ctx) => {
    if (noBpf) ctx.skip(noBpf);
  });

  it('forced: the extracted BTF is the minimized one and libbpf loads the program with it', async () => {
    const btf = await ensureCoreBtf(archive.archive, { force: true, tmpdir: tmp });
    expect(btf).toMatchObject({ source: 'archive', key: archive.key });
    expect(btf.path!.startsWith(`${tmp}/btfgen-`)).toBe(true);
    expect(await readFile(btf.path!)).toEqual(await readFile(archive.btf));
    const r = load(btf);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`loaded with btf_custom_path=${btf.path}`);
    expect(r.stdout).toMatch(/CO-RE reads correct/);
    expect(r.stderr).toContain(`found target candidate [${structId(archive.btf, 'task_struct')}] struct task_struct in [vmlinux]`);
    expect(r.stderr).not.toContain(`loading kernel BTF '${VMLINUX}'`);
    // The loader never deletes a BTF_FILE_PATH; cleanup() does.
    expect(existsSync(btf.path!)).toBe(true);
    await btf.cleanup();
    expect(await readdir(tmp)).toEqual([]);
  });

  it('forced by BTFGEN_FORCE_ARCHIVE=1, from a stream, bcc layout in a plain tar', async () => {
    const btf = await ensureCoreBtf(createReadStream(bcc), { env: { BTFGEN_FORCE_ARCHIVE: '1' }, tmpdir: tmp });
    expect(btf.source).toBe('archive');
    const r = load(btf);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/CO-RE reads correct/);
    await btf.cleanup();
  });

  it('plain run: the kernel has BTF, nothing is extracted, the loader uses the kernel BTF', async () => {
    const btf = await ensureCoreBtf(archive.archive, { env: {}, tmpdir: tmp });
    expect(btf).toMatchObject({ source: 'kernel' });
    expect(btf.path).toBeUndefined();
    const r = load(btf);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^loaded with kernel BTF$/m);
    expect(r.stderr).toContain(`loading kernel BTF '${VMLINUX}'`);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('no match: NoMatchingBtfError (ENOENT) with the keys tried and the nearest kernels', async () => {
    const err = (await ensureCoreBtf(foreign, { force: true, tmpdir: tmp }).catch((e: unknown) => e)) as NoMatchingBtfError;
    expect(err).toBeInstanceOf(NoMatchingBtfError);
    expect(err.code).toBe('ENOENT');
    expect(err.keysTried[0]).toBe(archive.key);
    expect(err.nearest[0]).toMatch(/^nosuchdistro\/1\//);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('nothing given: NoArchiveError (EOPNOTSUPP)', async () => {
    const err = await ensureCoreBtf(null, { force: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoArchiveError);
    expect((err as NoArchiveError).code).toBe('EOPNOTSUPP');
  });

  it('corrupt archive: CorruptArchiveError (EINVAL), nothing left behind', async () => {
    const err = await ensureCoreBtf(corrupt, { force: true, tmpdir: tmp }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptArchiveError);
    expect((err as CorruptArchiveError).code).toBe('EINVAL');
    expect(await readdir(tmp)).toEqual([]);
  });

  // The whole pipeline with btfgen's own pack (built CLI) instead of the test's archive builder.
  const cli = join(REPO_ROOT, 'dist', 'cli', 'pack.js');
  it.skipIf(!existsSync(cli))('btfgen pack -> ensureCoreBtf -> libbpf (skipped before `npm run build`)', async () => {
    const key = `${host.id}/${host.versionId}/${host.machine}/${host.release}.btf`;
    const tree = join(build, 'pack-archive');
    await mkdir(dirname(join(tree, key)), { recursive: true });
    await copyFile(VMLINUX, join(tree, key)); // btfhub archives may hold raw .btf files
    const packed = join(build, 'packed.tar.gz');
    const r = spawnSync(process.execPath, [BIN, 'pack', bpfObject, '-o', packed, '--archive', tree, '-q', '-j', '1'], {
      encoding: 'utf8',
      env: { ...process.env, BTFHUB_CACHE: join(build, 'btfhub-cache') },
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const btf = await ensureCoreBtf(packed, { force: true, tmpdir: tmp });
    expect(btf).toMatchObject({ source: 'archive', key });
    // pack's members are byte-for-byte what the reference tool makes.
    expect(await readFile(btf.path!)).toEqual(await readFile(archive.btf));
    const run = load(btf);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/CO-RE reads correct/);
    await btf.cleanup();
  });
});
