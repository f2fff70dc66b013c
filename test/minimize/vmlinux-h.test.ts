// Objects built the way most users build them: against a vmlinux.h generated from the kernel
// (`bpftool btf dump file ... format c`), with libbpf's BPF_CORE_READ macros. The fixture corpus
// declares its kernel types by hand; this suite covers the other style, compiled in the test
// (the vmlinux.h depends on the host, so nothing is committed), and compares btfgen with
// bpftool on the running kernel and a sample of archive kernels.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bpftoolMinCoreBtfBytes, hasBpftool } from '../helpers/bpftool.js';
import { data, HAVE_CLANG, HAVE_LIBBPF_DEV, HAVE_VMLINUX, REPO_ROOT, VMLINUX } from '../helpers/env.js';
import { listArchiveKernels, unpackBtfTarXz } from '../helpers/data.js';
import { minimize, prepareObject, prepareTarget } from '../../src/minimize/index.js';
import { RelocationError } from '../../src/errors.js';

const SRC = join(REPO_ROOT, 'test/minimize/vmlinux-h/openat_connect.bpf.c');
const skip = !hasBpftool()
  ? 'bpftool is not installed'
  : !HAVE_CLANG
    ? 'clang-19 is not installed'
    : !HAVE_VMLINUX
      ? `${VMLINUX} is missing`
      : !HAVE_LIBBPF_DEV
        ? 'libbpf-dev headers are missing'
        : undefined;
if (skip) console.warn(`skipping the vmlinux.h object suite: ${skip}`);

// Every 6th archive kernel (15 of 90): all distros, the 44 MB non-deduplicated and ENUM64 ones.
const kernels = [
  ...listArchiveKernels(data.demoArchive.path),
  ...listArchiveKernels(data.extraArchive.path),
].filter((_, i) => i % 6 === 0);

describe.skipIf(skip !== undefined)('objects compiled against a generated vmlinux.h', () => {
  let dir: string;
  let obj: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'btfgen-vmlinux-h-'));
    execFileSync('sh', ['-c', `bpftool btf dump file ${VMLINUX} format c > ${join(dir, 'vmlinux.h')}`]);
    obj = join(dir, 'openat_connect.o');
    const arch = process.arch === 'arm64' ? 'arm64' : 'x86';
    execFileSync('clang-19', ['-g', '-O2', '-target', 'bpf', `-D__TARGET_ARCH_${arch}`, `-I${dir}`, '-c', SRC, '-o', obj]);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const compare = async (kernel: string) => {
    const ref = await bpftoolMinCoreBtfBytes(kernel, [obj]);
    let ours: Uint8Array | undefined;
    let err: unknown;
    try {
      ours = minimize(prepareTarget(new Uint8Array(readFileSync(kernel))), [prepareObject(new Uint8Array(readFileSync(obj)), obj)]);
    } catch (e) {
      err = e;
    }
    if (ref.code === 0) {
      expect(err).toBeUndefined();
      expect(Buffer.from(ours!).equals(Buffer.from(ref.btf!))).toBe(true);
    } else {
      expect(err).toBeInstanceOf(RelocationError);
      expect((err as RelocationError).exitCode).toBe(ref.code);
    }
    return ref.code;
  };

  it('the running kernel: same bytes as bpftool', async () => {
    expect(await compare(VMLINUX)).toBe(0);
  });

  it.skipIf(kernels.length === 0)(`${kernels.length} archive kernels: same bytes or same failure as bpftool`, async () => {
    for (const k of kernels) await compare(await unpackBtfTarXz(k));
  }, 300_000);
});
