// End to end, C: the example loader (native/example) with an embedded archive whose key is this
// host, made from this kernel's BTF minimized by the reference tool. libbpf 1.1 must load and
// run the CO-RE program with the extracted BTF (forced), with the kernel BTF (plain), and
// report -ENOENT (no match), -EOPNOTSUPP (nothing linked) and -EINVAL (corrupt archive). Then,
// as other hosts (os-release and uname overridden through the helper's test hooks), it must
// find the BTF through each lookup rule: exact, arch alias, major version, both, ID_LIKE and
// the release rule, and refuse to guess between differing BTFs of one release.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VMLINUX } from '../helpers/env.js';
import { writeTarFile } from '../helpers/tar.js';
import { buildCorruptArchive, buildForeignArchive, buildHostArchive, buildLoaders, type Loaders, loaderToolsMissing, make, NATIVE, structId, tempDir, thisHost } from './build.js';

const OS_RELEASE = join(NATIVE, '..', 'test', 'runtime', 'os-release');

/**
 * One lookup rule on a host the C helper is told it runs on (an os-release file, uname -m and
 * -r). The archive holds this kernel's minimized BTF only under `key`, and a decoy (bytes libbpf
 * cannot load) under each key of `decoys`: keys of worse rules, or keys no rule accepts. A
 * loaded program proves that the helper took `key`.
 */
interface RuleCase {
  rule: string;
  osRelease: string;
  machine: string;
  release: string;
  key: string;
  decoys: string[];
  /** Further copies of the real BTF (byte-identical members). */
  copies?: string[];
}

const RULES: RuleCase[] = [
  {
    rule: 'exact',
    osRelease: 'rocky-8.6',
    machine: 'x86_64',
    release: '4.18.0-e2e.1.el8_6.x86_64',
    key: 'rocky/8.6/x86_64/4.18.0-e2e.1.el8_6.x86_64.btf',
    decoys: ['rocky/8/x86_64/4.18.0-e2e.1.el8_6.x86_64.btf', 'centos/8.6/x86_64/4.18.0-e2e.1.el8_6.x86_64.btf'],
  },
  {
    rule: 'arch-alias',
    osRelease: 'amzn-2',
    machine: 'aarch64',
    release: '4.14.e2e-2.amzn2.aarch64',
    key: 'amzn/2/arm64/4.14.e2e-2.amzn2.aarch64.btf',
    decoys: ['centos/2/aarch64/4.14.e2e-2.amzn2.aarch64.btf', 'amzn/2/x86_64/4.14.e2e-2.amzn2.aarch64.btf'],
  },
  {
    rule: 'major-version',
    osRelease: 'ol-8.6',
    machine: 'x86_64',
    release: '5.4.17-e2e.3.el8uek.x86_64',
    key: 'ol/8/x86_64/5.4.17-e2e.3.el8uek.x86_64.btf',
    decoys: ['fedora/8.6/x86_64/5.4.17-e2e.3.el8uek.x86_64.btf', 'ol/8.5/x86_64/5.4.17-e2e.3.el8uek.x86_64.btf'],
  },
  {
    rule: 'arch-alias+major-version',
    osRelease: 'rocky-9.2',
    machine: 'aarch64',
    release: '5.14.0-e2e.4.el9_2.aarch64',
    key: 'rocky/9/arm64/5.14.0-e2e.4.el9_2.aarch64.btf',
    decoys: ['rhel/9.2/aarch64/5.14.0-e2e.4.el9_2.aarch64.btf', 'centos/9/aarch64/5.14.0-e2e.4.el9_2.aarch64.btf'],
  },
  {
    rule: 'id-like',
    osRelease: 'pop-22.04',
    machine: 'x86_64',
    release: '6.2.6-e2e5-generic',
    key: 'ubuntu/22.04/x86_64/6.2.6-e2e5-generic.btf',
    decoys: ['debian/22.04/x86_64/6.2.6-e2e5-generic.btf', 'neon/22.04/x86_64/6.2.6-e2e5-generic.btf'],
  },
  {
    rule: 'release',
    osRelease: 'linuxmint-21',
    machine: 'x86_64',
    release: '5.15.0-e2e6-generic',
    key: 'ubuntu/22.04/x86_64/5.15.0-e2e6-generic.btf',
    copies: ['pop/22.04/x86_64/5.15.0-e2e6-generic.btf'],
    decoys: ['ubuntu/22.04/arm64/5.15.0-e2e6-generic.btf', 'ubuntu/22.04/x86_64/5.15.0-e2e6-generic-x.btf'],
  },
];

/** A release that two distributions have with different BTFs: the release rule must not guess. */
const AMBIGUOUS = {
  release: '5.15.0-e2e7-generic',
  keys: ['ubuntu/22.04/x86_64/5.15.0-e2e7-generic.btf', 'pop/22.04/x86_64/5.15.0-e2e7-generic.btf'],
};

/** The archive of RULES: decoys first (so that a wrong rule would meet one), the real BTF last. */
async function buildRulesArchive(dir: string, btf: string): Promise<string> {
  const tree = join(dir, 'rules-tree');
  const files: string[] = [];
  const put = async (key: string, from: string | undefined): Promise<void> => {
    const file = join(tree, 'btfhub-archive', key);
    await mkdir(dirname(file), { recursive: true });
    if (from) await copyFile(from, file);
    else await writeFile(file, 'decoy: not BTF');
    files.push(`./btfhub-archive/${key}`);
  };
  for (const r of RULES) {
    for (const d of r.decoys) await put(d, undefined);
    for (const c of r.copies ?? []) await put(c, btf);
    await put(r.key, btf);
  }
  await put(AMBIGUOUS.keys[0]!, btf);
  await put(AMBIGUOUS.keys[1]!, undefined);
  const archive = join(dir, 'rules.tar.gz');
  writeTarFile(archive, tree, files);
  return archive;
}

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
    const rules = await buildRulesArchive(build, minimized.btf);
    loaders = await buildLoaders(build, { archive: minimized.archive, bcc: bcc.archive, foreign, corrupt, rules, none: undefined });
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
    const kernelId = structId(VMLINUX, 'task_struct');
    expect(minId).toBeDefined();
    expect(minId).not.toBe(kernelId);
    expect(r.stderr).toContain(`found target candidate [${minId}] struct task_struct in [vmlinux]`);
    expect(r.stderr).not.toContain(`loading kernel BTF '${VMLINUX}'`);
    // cleanup_core_btf removed the temp file; nothing else was written.
    expect(existsSync(path)).toBe(false);
    expect(await readdir(tmp)).toEqual([]);
  });

  it.each(RULES.map((r) => [r.rule, r] as const))(
    'forced, another host (os-release, uname overridden): the %s rule finds the BTF and the program loads',
    async (_, r) => {
      const hooks = { BTFGEN_OS_RELEASE: join(OS_RELEASE, r.osRelease), BTFGEN_MACHINE: r.machine, BTFGEN_RELEASE: r.release };
      const res = run('rules', { BTFGEN_FORCE_ARCHIVE: '1', ...hooks });
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^loaded with btf_custom_path=/m);
      expect(res.stdout).toMatch(/CO-RE reads correct/);
      // libbpf relocated against the minimized BTF that was put under the rule's key.
      expect(res.stderr).toContain(`found target candidate [${structId(minimized.btf, 'task_struct')}] struct task_struct in [vmlinux]`);
      expect(await readdir(tmp)).toEqual([]);
      // Without the rule's member the helper fails cleanly (it does not fall back to a decoy).
      const other = run('rules', { BTFGEN_FORCE_ARCHIVE: '1', ...hooks, BTFGEN_RELEASE: `${r.release}-absent` });
      expect(other.status).toBe(2);
      expect(other.stderr).toMatch(/btf_helpers: no BTF for this host in the archive: tried /);
    },
  );

  it('the decoys are bytes libbpf refuses (so a wrong pick above would have failed)', async () => {
    const decoy = join(build, 'rules-tree', 'btfhub-archive', RULES[0]!.decoys[0]!);
    const res = run('none', { BTF_FILE_PATH: decoy });
    expect(res.status).not.toBe(0);
    expect(res.stdout).not.toMatch(/^loaded with/m);
  });

  it('forced, release rule with differing BTFs: -ENOENT naming the candidates, nothing loaded', async () => {
    const hooks = { BTFGEN_OS_RELEASE: join(OS_RELEASE, 'linuxmint-21'), BTFGEN_MACHINE: 'x86_64', BTFGEN_RELEASE: AMBIGUOUS.release };
    const res = run('rules', { BTFGEN_FORCE_ARCHIVE: '1', ...hooks });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/ensure_core_btf: -2 \(No such file or directory\)/);
    expect(res.stderr).toContain(`differ, not guessing between ${AMBIGUOUS.keys.join(', ')}\n`);
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
    expect(r.stderr).toContain(`loading kernel BTF '${VMLINUX}'`);
    expect(r.stderr).toContain(`found target candidate [${structId(VMLINUX, 'task_struct')}] struct task_struct in [vmlinux]`);
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
