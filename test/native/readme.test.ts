// The loader snippets of docs/runtime.md, run as written: the C loader with its Makefile
// lines, and the Node app (with the example loader as its child process).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/env.js';
import { buildHostArchive, buildLoaders, loaderToolsMissing, NATIVE, tempDir, thisHost } from './build.js';

const doc = readFileSync(join(REPO_ROOT, 'docs', 'runtime.md'), 'utf8');
const block = (lang: string, first: RegExp): string => {
  for (const m of doc.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))) if (first.test(m[1]!)) return m[1]!;
  throw new Error(`no \`\`\`${lang} block matching ${first} in docs/runtime.md`);
};

const missing = loaderToolsMissing();
if (missing) console.warn(`skipping the README snippet tests: ${missing}`);

describe.skipIf(missing !== undefined)('docs/runtime.md snippets', () => {
  let dir: string;
  let tmp: string;
  let archive: string;
  let exampleLoader: string;

  beforeAll(async () => {
    dir = await tempDir('btfgen-readme-');
    tmp = join(dir, 'tmp');
    await mkdir(tmp);
    const loaders = await buildLoaders(join(dir, 'example'), { none: undefined });
    exampleLoader = loaders.bin.none!;
    archive = (await buildHostArchive(dir, loaders.bpfObject, await thisHost())).archive;
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the C loader and Makefile lines build and load with the embedded archive', async () => {
    const app = join(dir, 'capp');
    await mkdir(app);
    // The program: the example's CO-RE source as prog.bpf.c, compiled like the example does.
    await copyFile(join(NATIVE, 'example', 'execwatch.bpf.c'), join(app, 'prog.bpf.c'));
    await copyFile(join(dir, 'example', 'vmlinux.h'), join(app, 'vmlinux.h'));
    const arch = execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim().replace('x86_64', 'x86').replace('aarch64', 'arm64');
    execFileSync('clang-19', ['-g', '-O2', '-target', 'bpf', `-D__TARGET_ARCH_${arch}`, '-I.', '-c', 'prog.bpf.c', '-o', 'prog.bpf.o'], { cwd: app });
    execFileSync('sh', ['-c', 'bpftool gen skeleton prog.bpf.o > prog.skel.h'], { cwd: app });
    await writeFile(join(app, 'loader.c'), block('c', /^\/\/ loader\.c/));
    await writeFile(
      join(app, 'Makefile'),
      block('make', /BTFGEN_NATIVE :=/).replace(/^BTFGEN_NATIVE := .*$/m, `BTFGEN_NATIVE := ${NATIVE}`),
    );
    // The archive the Makefile would `btfgen pack` (newer than prog.bpf.o: make keeps it).
    await copyFile(archive, join(app, 'min_core_btfs.tar.gz'));
    execFileSync('make', ['-s', 'loader'], { cwd: app, stdio: 'pipe' });
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: tmp };
    const forced = spawnSync(join(app, 'loader'), { encoding: 'utf8', env: { ...env, BTFGEN_FORCE_ARCHIVE: '1' } });
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(new RegExp(`^running with ${tmp}/btfgen-`, 'm'));
    const plain = spawnSync(join(app, 'loader'), { encoding: 'utf8', env });
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/^running with kernel BTF$/m);
    expect(await readdir(tmp)).toEqual([]);
  });

  it.skipIf(!existsSync(join(REPO_ROOT, 'dist', 'runtime', 'index.js')))(
    'the Node app hands the extracted BTF to its loader (skipped before `npm run build`)',
    async () => {
      const app = join(dir, 'napp');
      await mkdir(join(app, 'node_modules'), { recursive: true });
      await symlink(REPO_ROOT, join(app, 'node_modules', 'btfgen'));
      await writeFile(join(app, 'app.mjs'), block('js', /from 'btfgen\/runtime'/));
      await copyFile(archive, join(app, 'min_core_btfs.tar.gz'));
      await copyFile(exampleLoader, join(app, 'loader'));
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: tmp };
      const forced = spawnSync(process.execPath, ['app.mjs'], { cwd: app, encoding: 'utf8', env: { ...env, BTFGEN_FORCE_ARCHIVE: '1' } });
      expect(forced.status, forced.stderr).toBe(0);
      expect(forced.stdout).toMatch(new RegExp(`^loaded with btf_custom_path=${tmp}/btfgen-[0-9a-f]+\\.btf$`, 'm'));
      expect(forced.stdout).toMatch(/CO-RE reads correct/);
      expect(forced.stderr).toMatch(/^using .+\.btf from the archive$/m);
      const plain = spawnSync(process.execPath, ['app.mjs'], { cwd: app, encoding: 'utf8', env });
      expect(plain.status, plain.stderr).toBe(0);
      expect(plain.stdout).toMatch(/^loaded with kernel BTF$/m);
      expect(await readdir(tmp)).toEqual([]);
    },
  );
});
