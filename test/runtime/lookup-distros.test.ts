// Derivative distributions against one archive of real kernels: the published os-release files
// of Rocky 8/9, AlmaLinux 8/9, Linux Mint 21, Pop!_OS 22.04, Oracle Linux 8 and Amazon Linux 2
// (test/runtime/os-release/) as hosts, and real kernel BTFs of the demo archive
// (../shared/data) renamed to those distributions' releases. Both runtimes detect the host
// through the same hooks (BTFGEN_OS_RELEASE, BTFGEN_MACHINE, BTFGEN_RELEASE) and must pick the
// same member, by the same rule, byte for byte the kernel that was put there.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmbiguousBtfError, ensureCoreBtf, NoMatchingBtfError } from '../../src/runtime/index.js';
import { ARCHIVE_DEMO, onPath } from '../helpers/env.js';
import { writeTarFile } from '../helpers/tar.js';
import { cToolsMissing, make, NATIVE, tempDir } from '../native/build.js';

const OS_RELEASE = join(dirname(new URL(import.meta.url).pathname), 'os-release');

/** Real kernels of the demo archive, by a short name. */
const KERNELS = {
  centos80: 'centos/8/x86_64/4.18.0-80.el8.x86_64',
  centos807: 'centos/8/x86_64/4.18.0-80.7.1.el8_0.x86_64',
  ubuntu40: 'ubuntu/20.04/x86_64/5.4.0-40-generic',
  ubuntu45: 'ubuntu/20.04/x86_64/5.4.0-45-generic',
  debian17: 'debian/10/x86_64/4.19.0-17-amd64',
} as const;
type Kernel = keyof typeof KERNELS;

/** The archive: each key holds a real kernel's BTF (renamed), plus the kernels under their own keys. */
const MEMBERS: [key: string, kernel: Kernel][] = [
  ['centos/8/x86_64/4.18.0-372.9.1.el8_6.x86_64.btf', 'centos80'],
  ['rhel/9/x86_64/5.14.0-284.11.1.el9_2.x86_64.btf', 'centos807'],
  ['ol/8/x86_64/4.18.0-477.10.1.el8_8.x86_64.btf', 'centos807'],
  ['rocky/9.2/x86_64/5.14.0-284.30.1.el9_2.x86_64.btf', 'centos80'],
  ['ol/9/x86_64/5.14.0-284.30.1.el9_2.x86_64.btf', 'centos80'],
  ['ubuntu/22.04/x86_64/5.15.0-56-generic.btf', 'ubuntu40'],
  ['ubuntu/22.04/x86_64/6.2.6-76060206-generic.btf', 'ubuntu45'],
  ['ol/8/x86_64/5.4.17-2136.307.3.1.el8uek.x86_64.btf', 'debian17'],
  ['amzn/2/x86_64/4.14.320-242.534.amzn2.x86_64.btf', 'ubuntu45'],
  ['amzn/2/arm64/4.14.320-242.534.amzn2.aarch64.btf', 'centos807'],
  ['ubuntu/22.04/x86_64/5.15.0-60-generic.btf', 'ubuntu40'],
  ['pop/22.04/x86_64/5.15.0-60-generic.btf', 'ubuntu45'],
  ...Object.entries(KERNELS).map(([k, path]) => [`${path}.btf`, k as Kernel] as [string, Kernel]),
];

interface HostCase {
  what: string;
  osRelease: string;
  machine: string;
  release: string;
  /** The key and rule expected, or the candidates of an ambiguous release rule. */
  expected: { key: string; rule: string; kernel: Kernel } | { ambiguous: string[] };
}

const HOSTS: HostCase[] = [
  {
    what: 'Rocky 8.6 gets CentOS 8 through ID_LIKE',
    osRelease: 'rocky-8.6',
    machine: 'x86_64',
    release: '4.18.0-372.9.1.el8_6.x86_64',
    expected: { key: 'centos/8/x86_64/4.18.0-372.9.1.el8_6.x86_64.btf', rule: 'id-like', kernel: 'centos80' },
  },
  {
    what: 'Rocky 9.2 gets RHEL 9 through ID_LIKE',
    osRelease: 'rocky-9.2',
    machine: 'x86_64',
    release: '5.14.0-284.11.1.el9_2.x86_64',
    expected: { key: 'rhel/9/x86_64/5.14.0-284.11.1.el9_2.x86_64.btf', rule: 'id-like', kernel: 'centos807' },
  },
  {
    what: 'AlmaLinux 8.8 gets the Oracle Linux RHCK build of its release (not in its ID_LIKE): release rule',
    osRelease: 'almalinux-8.8',
    machine: 'x86_64',
    release: '4.18.0-477.10.1.el8_8.x86_64',
    expected: { key: 'ol/8/x86_64/4.18.0-477.10.1.el8_8.x86_64.btf', rule: 'release', kernel: 'centos807' },
  },
  {
    what: 'AlmaLinux 9.2: two byte-identical members of its release (Rocky, OL): release rule, the first',
    osRelease: 'almalinux-9.2',
    machine: 'x86_64',
    release: '5.14.0-284.30.1.el9_2.x86_64',
    expected: { key: 'rocky/9.2/x86_64/5.14.0-284.30.1.el9_2.x86_64.btf', rule: 'release', kernel: 'centos80' },
  },
  {
    what: "Linux Mint 21 (VERSION_ID 21) gets Ubuntu 22.04's kernel: release rule",
    osRelease: 'linuxmint-21',
    machine: 'x86_64',
    release: '5.15.0-56-generic',
    expected: { key: 'ubuntu/22.04/x86_64/5.15.0-56-generic.btf', rule: 'release', kernel: 'ubuntu40' },
  },
  {
    what: 'Linux Mint 21: two different BTFs of its release (Ubuntu, Pop!_OS): ambiguous, both listed',
    osRelease: 'linuxmint-21',
    machine: 'x86_64',
    release: '5.15.0-60-generic',
    expected: { ambiguous: ['ubuntu/22.04/x86_64/5.15.0-60-generic.btf', 'pop/22.04/x86_64/5.15.0-60-generic.btf'] },
  },
  {
    what: 'Pop!_OS 22.04 gets Ubuntu 22.04 through ID_LIKE',
    osRelease: 'pop-22.04',
    machine: 'x86_64',
    release: '6.2.6-76060206-generic',
    expected: { key: 'ubuntu/22.04/x86_64/6.2.6-76060206-generic.btf', rule: 'id-like', kernel: 'ubuntu45' },
  },
  {
    what: 'Oracle Linux 8.6 gets ol/8 by its major version',
    osRelease: 'ol-8.6',
    machine: 'x86_64',
    release: '5.4.17-2136.307.3.1.el8uek.x86_64',
    expected: { key: 'ol/8/x86_64/5.4.17-2136.307.3.1.el8uek.x86_64.btf', rule: 'major-version', kernel: 'debian17' },
  },
  {
    what: 'Amazon Linux 2 gets amzn/2 exactly',
    osRelease: 'amzn-2',
    machine: 'x86_64',
    release: '4.14.320-242.534.amzn2.x86_64',
    expected: { key: 'amzn/2/x86_64/4.14.320-242.534.amzn2.x86_64.btf', rule: 'exact', kernel: 'ubuntu45' },
  },
  {
    what: 'Amazon Linux 2 on aarch64 gets amzn/2/arm64 by the arch alias',
    osRelease: 'amzn-2',
    machine: 'aarch64',
    release: '4.14.320-242.534.amzn2.aarch64',
    expected: { key: 'amzn/2/arm64/4.14.320-242.534.amzn2.aarch64.btf', rule: 'arch-alias', kernel: 'centos807' },
  },
];

const missing = !existsSync(ARCHIVE_DEMO)
  ? `the demo archive is absent (${ARCHIVE_DEMO})`
  : !onPath('xz')
    ? 'xz is not installed (to unpack the demo kernels)'
    : undefined;
if (missing) console.warn(`skipping the derivative distribution tests: ${missing}`);

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe.skipIf(missing !== undefined)('derivative distributions, real kernels renamed', () => {
  let dir: string;
  let archive: string;
  const kernelSha = new Map<Kernel, string>();
  const kernelSize = new Map<Kernel, number>();

  beforeAll(async () => {
    dir = await tempDir('btfgen-distros-');
    const bytes = new Map<Kernel, Buffer>();
    for (const [name, path] of Object.entries(KERNELS) as [Kernel, string][]) {
      const btf = execFileSync('tar', ['-xJOf', join(ARCHIVE_DEMO, `${path}.btf.tar.xz`)], { maxBuffer: 256 * 1024 * 1024 });
      bytes.set(name, btf);
      kernelSha.set(name, sha(btf));
      kernelSize.set(name, btf.length);
    }
    // The kernels really differ (the ambiguous case depends on it; the demo archive's 5.4.0-40
    // and 5.4.0-42 BTFs, for one, are byte-identical).
    expect(new Set(kernelSha.values()).size).toBe(Object.keys(KERNELS).length);
    const tree = join(dir, 'tree');
    for (const [key, kernel] of MEMBERS) {
      const file = join(tree, 'btfhub-archive', key);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, bytes.get(kernel)!);
    }
    archive = join(dir, 'archive.tar.gz');
    // Members in MEMBERS order (the release rule reports the first of identical members, and
    // lists differing ones, in archive order).
    const files = MEMBERS.map(([key]) => `./btfhub-archive/${key}`);
    writeTarFile(archive, tree, files);
    await mkdir(join(dir, 'tmp'));
  }, 120_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const hooks = (h: HostCase): Record<string, string> => ({
    BTFGEN_OS_RELEASE: join(OS_RELEASE, h.osRelease),
    BTFGEN_MACHINE: h.machine,
    BTFGEN_RELEASE: h.release,
  });

  describe('TypeScript runtime (ensureCoreBtf, forced)', () => {
    it.each(HOSTS.map((h) => [h.what, h] as const))('%s', async (_, h) => {
      const tmpdir = join(dir, 'tmp');
      const res = await ensureCoreBtf(archive, { env: { BTFGEN_FORCE_ARCHIVE: '1', ...hooks(h) }, tmpdir }).catch(
        (e: unknown) => e,
      );
      if ('ambiguous' in h.expected) {
        expect(res).toBeInstanceOf(AmbiguousBtfError);
        expect(res).toBeInstanceOf(NoMatchingBtfError);
        expect((res as AmbiguousBtfError).candidates).toEqual(h.expected.ambiguous);
        expect((res as Error).message).toMatch(/differ, not guessing between /);
      } else {
        const btf = res as Awaited<ReturnType<typeof ensureCoreBtf>>;
        try {
          expect({ key: btf.key, rule: btf.rule }).toEqual({ key: h.expected.key, rule: h.expected.rule });
          expect(sha(await readFile(btf.path!))).toBe(kernelSha.get(h.expected.kernel));
        } finally {
          await btf.cleanup?.();
        }
      }
      expect(await readdir(tmpdir)).toEqual([]);
    });
  });

  const cMissing = cToolsMissing();
  describe.skipIf(cMissing !== undefined)(`C helper (btfgen_detect_host + btfgen_lookup)${cMissing ? `: ${cMissing}` : ''}`, () => {
    let harness: string;
    beforeAll(() => {
      make(['-C', NATIVE, `BUILD=${dir}/native`, `LIB=${dir}/native/libbpf_compatible.a`, 'tests']);
      harness = join(dir, 'native', 'lookup_test');
    }, 120_000);

    it.each(HOSTS.map((h) => [h.what, h] as const))('%s', (_, h) => {
      const r = spawnSync(harness, ['--detect', archive], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...hooks(h) },
      });
      expect(r.status, r.stderr).toBe(0);
      const line = r.stdout.trim();
      if ('ambiguous' in h.expected) {
        expect(line).toMatch(/^error ENOENT no BTF for this host in the archive: tried /);
        expect(line.endsWith(`differ, not guessing between ${h.expected.ambiguous.join(', ')}`)).toBe(true);
      } else {
        const size = kernelSize.get(h.expected.kernel);
        expect(line).toBe(`ok ${h.expected.key} ${h.expected.rule} ${size}`);
      }
    });
  });
});
