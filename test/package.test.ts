// btfgen as a consumer installs it: `npm pack`, the tarball installed into a fresh project
// offline (from the tarball and npm's local cache, with our lock file's versions), then the
// installed CLI, an ES module and a CommonJS script using the API, and tsc type-checking
// TypeScript consumers of both module kinds (and the README's API block) against the shipped
// declarations.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, EXAMPLE_ARCHIVE, EXAMPLE_OBJECT, REPO_ROOT } from './helpers/env.js';

interface LockEntry { dev?: boolean; [k: string]: unknown }
interface Pkg { name: string; version: string; dependencies: Record<string, string>; scripts: Record<string, string>; bin: Record<string, string>; engines: Record<string, string>; license: string; files: string[] }

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as Pkg;
const npm = spawnSync('npm', ['--version'], { encoding: 'utf8' });
const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const why = !existsSync(join(REPO_ROOT, 'dist', 'cjs', 'index.js'))
  ? 'dist/ is not built (npm run build)'
  : npm.status !== 0
    ? 'npm is not on PATH'
    : !existsSync(tsc)
      ? 'typescript is not installed (npm ci)'
      : undefined;
if (why) console.warn(`skipping the package install test: ${why}`);

// The example archive's kernels as the runtime keys them (<ID>/<VERSION_ID>/<arch>/<release>.btf),
// read from its directory tree.
const exampleKeys = (): string[] => {
  const keys: string[] = [];
  for (const id of readdirSync(EXAMPLE_ARCHIVE, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const v of readdirSync(join(EXAMPLE_ARCHIVE, id.name))) {
      for (const a of readdirSync(join(EXAMPLE_ARCHIVE, id.name, v))) {
        for (const f of readdirSync(join(EXAMPLE_ARCHIVE, id.name, v, a))) keys.push(`${id.name}/${v}/${a}/${f.replace(/\.tar\.xz$/, '')}`);
      }
    }
  }
  return keys.sort();
};

describe.skipIf(why !== undefined)('the npm package, installed from its tarball', () => {
  let dir = '';
  let app = '';
  let tarball = '';
  let files: string[] = [];
  const sh = (cmd: string, args: string[], cwd = app) => {
    const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' }, timeout: 120_000 });
    return { ...r, what: `${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}` };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'btfgen-package-'));
    // dist/ is already built (prepare builds it on `npm ci`; rebuilding here would pull it from
    // under the other suites running at the same time): pack it as it is.
    const packed = sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], REPO_ROOT);
    expect(packed.status, packed.what).toBe(0);
    const info = (JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>)[0]!;
    tarball = join(dir, info.filename);
    files = info.files.map((f) => f.path);

    // The consumer project, locked to our lock file's versions of btfgen's dependencies so that
    // the offline install needs only npm's cache (filled by `npm ci` here), not registry metadata.
    app = join(dir, 'app');
    mkdirSync(app);
    const spec = `file:../${info.filename}`;
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module', dependencies: { btfgen: spec } }, null, 2));
    const ours = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
    const packages: Record<string, unknown> = {
      '': { name: 'consumer', version: '1.0.0', dependencies: { btfgen: spec } },
      'node_modules/btfgen': {
        version: pkg.version,
        resolved: spec,
        integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
        license: pkg.license,
        dependencies: pkg.dependencies,
        bin: pkg.bin,
        engines: pkg.engines,
      },
    };
    for (const [k, v] of Object.entries(ours.packages)) if (k.startsWith('node_modules/') && !v.dev) packages[k] = v;
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
    const install = sh('npm', ['install', '--offline', '--no-audit', '--no-fund']);
    expect(install.status, install.what).toBe(0);
  }, 240_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('holds what it needs: the builds, LICENSE, the sources its source maps name; prepare builds', () => {
    expect(pkg.scripts.prepare).toBe('npm run build');
    for (const f of ['LICENSE', 'README.md', 'package.json', 'bin/btfgen', 'dist/index.js', 'dist/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/package.json', 'dist/runtime/index.js', 'dist/cjs/runtime/index.js', 'dist/cjs/runtime/index.d.ts', 'dist/cli-bundle/index.cjs', 'dist/pack/worker.js']) {
      expect(files, f).toContain(f);
    }
    expect(readFileSync(join(REPO_ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    // every page the README links ships with it
    for (const m of readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').matchAll(/\]\((docs\/[^)#]+\.md)/g)) {
      if (existsSync(join(REPO_ROOT, m[1]!))) expect(files, m[1]).toContain(m[1]);
    }
    const installed = join(app, 'node_modules', 'btfgen');
    for (const map of files.filter((f) => f.endsWith('.map'))) {
      const { sources } = JSON.parse(readFileSync(join(installed, map), 'utf8')) as { sources: string[] };
      for (const s of sources) expect(existsSync(join(installed, map, '..', s)), `${map} -> ${s}`).toBe(true);
    }
    expect(files.filter((f) => /^(test|bench|scripts|examples)\//.test(f) || f.includes('node_modules'))).toEqual([]);
  });

  it('npx btfgen --help, and a pack of the example equal to the source tree\'s', () => {
    const help = sh('npx', ['--offline', 'btfgen', '--help']);
    expect(help.status, help.what).toBe(0);
    expect(help.stdout).toContain('Usage: btfgen');
    const packed = sh('npx', ['--offline', 'btfgen', 'pack', EXAMPLE_OBJECT, '--archive', EXAMPLE_ARCHIVE, '--no-cache', '-q', '-o', 'min_core_btfs.tar.gz']);
    expect(packed.status, packed.what).toBe(0);
    const ref = join(dir, 'ref.tar.gz');
    execFileSync(process.execPath, [BIN, 'pack', EXAMPLE_OBJECT, '--archive', EXAMPLE_ARCHIVE, '--no-cache', '-q', '-o', ref]);
    expect(readFileSync(join(app, 'min_core_btfs.tar.gz')).equals(readFileSync(ref))).toBe(true);
  }, 120_000);

  // The same program as an ES module and as CommonJS: pack the example with the API, then the
  // runtime finds each kernel of the example archive in the result.
  const program = (load: string) => `${load}
const keys = ${JSON.stringify(exampleKeys())};
(async () => {
  const r = await btfgen.pack({ objects: [${JSON.stringify(EXAMPLE_OBJECT)}], archive: ${JSON.stringify(EXAMPLE_ARCHIVE)}, output: 'api.tar.gz', useCache: false });
  const found = [];
  for (const key of keys) {
    const [id, versionId, machine, file] = key.split('/');
    const b = await runtime.extractCoreBtf('api.tar.gz', { id, versionId, machine, release: file.replace(/\\.btf$/, '') });
    found.push(b.key);
    await b.cleanup();
  }
  console.log(JSON.stringify({ version: btfgen.VERSION, packed: r.counts.packed, found }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

  it.each([
    ['an ES module', 'esm.mjs', "import * as btfgen from 'btfgen';\nimport * as runtime from 'btfgen/runtime';"],
    ['a CommonJS script', 'cjs.cjs', "const btfgen = require('btfgen');\nconst runtime = require('btfgen/runtime');"],
  ])('%s uses the API', (_what, file, load) => {
    writeFileSync(join(app, file), program(load));
    const r = sh(process.execPath, [file]);
    expect(r.status, r.what).toBe(0);
    const keys = exampleKeys();
    expect(JSON.parse(r.stdout)).toEqual({ version: pkg.version, packed: keys.length, found: keys });
  }, 120_000);

  // The declarations name Node's AbortSignal, URL and worker_threads types: a consumer needs
  // @types/node (docs/api.md says so), taken here from our own devDependencies.
  it('tsc type-checks TypeScript consumers (ES module and CommonJS), with @types/node', () => {
    const use = `
const host: HostIdentity = { id: 'debian', versionId: '12', machine: 'x86_64', release: '6.1.0' };
export async function main(): Promise<number> {
  const r: PackResult = await pack({ objects: ['prog.bpf.o'], output: 'out.tar.gz' });
  const b: CoreBtf = await extractCoreBtf('out.tar.gz', host);
  const e: CoreBtf = await ensureCoreBtf('out.tar.gz');
  await b.cleanup();
  return r.counts.packed + (e.path ?? '').length + VERSION.length;
}
`;
    writeFileSync(join(app, 'consumer.ts'), `import { pack, VERSION, type PackResult } from 'btfgen';\nimport { ensureCoreBtf, extractCoreBtf, type CoreBtf, type HostIdentity } from 'btfgen/runtime';\n${use}`);
    writeFileSync(join(app, 'consumer-cjs.cts'), `import { pack, VERSION, type PackResult } from 'btfgen';\nimport { ensureCoreBtf, extractCoreBtf, type CoreBtf, type HostIdentity } from 'btfgen/runtime';\n${use}`);
    // the README's "API at a glance" block, as written (an ES module with top-level await)
    const api = /^## The API at a glance$[\s\S]*?^```ts\n([\s\S]*?)^```/m.exec(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));
    expect(api, "README.md: no ```ts block under '## The API at a glance'").not.toBeNull();
    writeFileSync(join(app, 'readme-api.ts'), `${api![1]}export {};\n`);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022'], strict: true, noEmit: true,
        types: ['node'], typeRoots: [join(REPO_ROOT, 'node_modules', '@types')], skipLibCheck: false },
      files: ['consumer.ts', 'consumer-cjs.cts', 'readme-api.ts'],
    }));
    const r = sh(process.execPath, [tsc, '-p', 'tsconfig.json']);
    expect(r.status, r.what).toBe(0);
    // and the checker does fail a wrong use (the check above is not vacuous)
    writeFileSync(join(app, 'wrong.cts'), "import { pack } from 'btfgen';\nexport const p: Promise<string> = pack({ objects: [] , output: 1 });\n");
    writeFileSync(join(app, 'tsconfig.wrong.json'), JSON.stringify({ extends: './tsconfig.json', files: ['wrong.cts'] }));
    const bad = sh(process.execPath, [tsc, '-p', 'tsconfig.wrong.json']);
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/wrong\.cts.*error TS/);
  }, 120_000);
});
