// End to end, C: the example loader (native/example) with an embedded archive whose key is this
// host, made from this kernel's BTF minimized by the reference tool. libbpf 1.1 must load and
// run the CO-RE program with the extracted BTF (forced), with the kernel BTF (plain), and
// report -ENOENT (no match), -EOPNOTSUPP (nothing linked) and -EINVAL (corrupt archive).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  buildCorruptArchive,
  buildForeignArchive,
  buildHostArchive,
  buildLoaders,
  KERNEL_BTF,
  loaderToolsMissing,
  make,
  NATIVE,
  structId,
  tempDir,
  thisHost,
  type Loaders,
} from './build.js';

const missing = loaderToolsMissing();
if (missing) console.warn(`skipping the native end-to-end tests: ${missing}`);

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

describe.skipIf(missing !== undefined)('native example loader, end to end', () => {
  let build: string;
  let tmp: string;
  let loaders: Loaders;
  let host: Awaited<ReturnType<typeof thisHost>>;
  let minimized: { archive: string; btf: string; key: string };
  let noBpf: string | undefined;

  const run = (variant: string, env: Record<string, string> = {}, args: string[] = ['-v']): Run => {
    const r = spawnSync(loaders.bin[variant]!, args, {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: tmp, ...env },
      timeout: 30_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  beforeAll(async () => {
    build = await tempDir('btfgen-e2e-native-');
    make(['-C', join(NATIVE, 'example'), `BUILD=${build}`, 'bpf']);
    const obj = join(build, 'execwatch.bpf.o');
    host = await thisHost();
    minimized = await buildHostArchive(build, obj, host);
    const bcc = await buildHostArchive(build, obj, host, { layout: 'bcc', gzip: false, name: 'bcc' });
    const foreign = await buildForeignArchive(build, obj);
    const corrupt = await buildCorruptArchive(build, minimized.archive);
    loaders = await buildLoaders(build, { archive: minimized.archive, bcc: bcc.archive, foreign, corrupt, none: undefined });
    tmp = join(build, 'tmp');
    await mkdir(tmp);
    // Can we load BPF programs at all (CAP_BPF / CAP_SYS_ADMIN)?
    const probe = run('none', {}, ['--no-attach']);
    if (probe.status !== 0 && /Operation not permitted|EPERM|-1 \(/.test(probe.stderr)) {
      noBpf = `cannot load BPF programs here (no CAP_BPF?): ${probe.stderr.trim().split('\n').at(-1)}`;
      console.warn(`skipping the native end-to-end tests: ${noBpf}`);
    }
  });
  afterAll(async () => {
    if (build) await rm(build, { recursive: true, force: true });
  });
  beforeEach((ctx) => {
    if (noBpf) ctx.skip(noBpf);
  });

  it('forced: libbpf loads the CO-RE program with the extracted BTF, and it runs correctly', async () => {
    const r = run('archive', { BTFGEN_FORCE_ARCHIVE: '1' });
    expect(r.status, r.stderr).toBe(0);
    const m = r.stdout.match(/^loaded with btf_custom_path=(.+)$/m);
    expect(m, r.stdout).not.toBeNull();
    const path = m![1]!;
    expect(path.startsWith(`${tmp}/btfgen-`), 'TMPDIR honoured').toBe(true);
    expect(r.stdout).toMatch(/CO-RE reads correct/);
    // libbpf relocated against the minimized BTF (its own type ids), not the kernel's.
    const minId = structId(minimized.btf, 'task_struct');
    const kernelId = structId(KERNEL_BTF, 'task_struct');
    expect(minId).toBeDefined();
    expect(minId).not.toBe(kernelId);
    expect(r.stderr).toContain(`found target candidate [${minId}] struct task_struct in [vmlinux]`);
    expect(r.stderr).not.toContain(`loading kernel BTF '${KERNEL_BTF}'`);
    // cleanup_core_btf removed the temp file; nothing else was written.
    expect(existsSync(path)).toBe(false);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('forced, bcc layout in a plain (uncompressed) tar', async () => {
    const r = run('bcc', { BTFGEN_FORCE_ARCHIVE: '1' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^loaded with btf_custom_path=/m);
    expect(r.stdout).toMatch(/CO-RE reads correct/);
  });

  it('plain run: the kernel BTF is used and nothing is extracted', async () => {
    const r = run('archive');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^loaded with kernel BTF$/m);
    expect(r.stdout).toMatch(/CO-RE reads correct/);
    expect(r.stderr).toContain(`loading kernel BTF '${KERNEL_BTF}'`);
    expect(r.stderr).toContain(`found target candidate [${structId(KERNEL_BTF, 'task_struct')}] struct task_struct in [vmlinux]`);
    expect(await readdir(tmp)).toEqual([]);
    // Nothing linked is fine too while the kernel has BTF.
    expect(run('none').stdout).toMatch(/^loaded with kernel BTF$/m);
  });

  it('no match: -ENOENT, naming the keys tried and the nearest kernels', async () => {
    const r = run('foreign', { BTFGEN_FORCE_ARCHIVE: '1' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/ensure_core_btf: -2 \(No such file or directory\)/);
    expect(r.stderr).toContain(`btf_helpers: no BTF for this host in the archive: tried ${minimized.key}`);
    expect(r.stderr).toMatch(/nearest kernels in the archive \(2 in all\): nosuchdistro\/1\//);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('nothing linked: -EOPNOTSUPP', async () => {
    const r = run('none', { BTFGEN_FORCE_ARCHIVE: '1' });
    expect(r.status).toBe(95);
    expect(r.stderr).toMatch(/ensure_core_btf: -95 \(Operation not supported\)/);
  });

  it('corrupt archive: -EINVAL, nothing left behind', async () => {
    const r = run('corrupt', { BTFGEN_FORCE_ARCHIVE: '1' });
    expect(r.status).toBe(22);
    expect(r.stderr).toMatch(/ensure_core_btf: -22 \(Invalid argument\)/);
    expect(r.stderr).toMatch(/btf_helpers: (corrupt|truncated) gzip data/);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('BTF_FILE_PATH: used as is, even when forced, and never deleted', async () => {
    const r = run('none', { BTF_FILE_PATH: minimized.btf, BTFGEN_FORCE_ARCHIVE: '1' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`loaded with btf_custom_path=${minimized.btf}`);
    expect(r.stdout).toMatch(/CO-RE reads correct/);
    expect(existsSync(minimized.btf)).toBe(true);
    const gone = run('none', { BTF_FILE_PATH: join(build, 'no-such.btf') });
    expect(gone.status).toBe(2);
    expect(gone.stderr).toMatch(/btf_helpers: BTF_FILE_PATH=.*no-such\.btf: No such file or directory/);
  });
});
