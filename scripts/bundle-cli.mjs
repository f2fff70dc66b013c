#!/usr/bin/env node
// Bundles the built CLI (dist/cli, from tsc) into one classic script, dist/cli-bundle/index.cjs
// (esbuild, CommonJS format: our modules and commander inlined, each command's modules still
// initialised only when that command runs), and writes V8's code cache for it next to it.
//
// Why: a one-shot `btfgen minimize` is ~0.1 s, and node 20's ES module loader spent ~16 ms of
// it loading our code (resolving, reading and linking modules). bin/btfgen, a CommonJS module,
// compiles this file with node:vm using the code cache (the bytecode of every function the
// warm-up below ran), which takes ~7 ms, half of it reading the cache.
//
// Other packages (execa, simple-git, tar, fflate, @napi-rs/lzma) stay external: they are not on
// the minimize path, and some load native code. execa is ES-module-only: the bundle reaches it
// through importExternal() (src/external.ts), which the launcher serves. pack's worker threads
// keep running dist/pack/worker.js (pool.ts finds it).
//
// bin/btfgen uses the bundle only while it is newer than dist/cli/index.js, so a later plain
// `tsc` (without this step) never runs stale code; it uses the cache only when the cache's tag
// is the bundle's (the first line of index.cjs), its checksum holds, and V8 accepts it (same
// node, same flags).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(ROOT, 'dist/cli-bundle');
const file = path.join(out, 'index.cjs');
// The function wrapper bin/btfgen compiles the bundle in: the code cache is only valid for the
// exact same source text, so both sides must use this very string.
const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const WRAP_TAIL = '\n})';

rmSync(out, { recursive: true, force: true });
const keep = new Set(['commander']);
const result = await build({
  entryPoints: [path.join(ROOT, 'dist/cli/index.js')],
  bundle: true,
  write: false,
  outfile: file,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // pool.ts finds the pack worker script from its own location
  define: { 'import.meta.url': '__btfgenImportMetaUrl' },
  banner: { js: "var __btfgenImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [
    {
      name: 'external-packages',
      setup(b) {
        // commander requires node:child_process at load time, for stand-alone executable
        // subcommands btfgen does not have; loading that built-in (and net, stream...) costs
        // ~3 ms of every run. Commander gets it on first property access instead.
        b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
          /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'lazy-builtin' } : undefined,
        );
        b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, () => ({
          contents: "let m; module.exports = new Proxy({}, { get: (_, k) => (m ??= require('node:child_process'))[k] });",
          loader: 'js',
        }));
        b.onResolve({ filter: /^[^./]/ }, (args) => {
          const pkg = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
          if (args.path.startsWith('node:') || !keep.has(pkg)) return { path: args.path, external: true };
          return undefined;
        });
      },
    },
  ],
});
const body = result.outputFiles[0].text;
const tag = createHash('sha1').update(body).digest('hex');
const source = `// btfgen-bundle ${tag}\n${body}`;
mkdirSync(out, { recursive: true });
writeFileSync(file, source);

// Code cache: compile the bundle as the launcher does, run one minimize (an object against its
// own BTF: the CLI, the BTF codec and the whole CO-RE engine), then serialise the bytecode of
// everything that ran. Failure here only costs start-up time: the launcher compiles without.
const script = new vm.Script(WRAP_HEAD + source + WRAP_TAIL, { filename: file });
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(file), module, file, out);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'btfgen-bundle-'));
const quiet = process.stdout.write;
try {
  const obj = path.join(ROOT, 'examples/prog.bpf.o');
  process.stdout.write = () => true;
  await module.exports.main(['node', 'btfgen', 'minimize', obj, path.join(tmp, 'out.btf'), obj]);
  await module.exports.main(['node', 'btfgen', 'minimize', '--help']);
} catch (e) {
  console.warn(`bundle-cli: code-cache warm-up failed (${e.message}); the cache covers less`);
} finally {
  process.stdout.write = quiet;
  process.exitCode = 0; // main() sets it for --help
  rmSync(tmp, { recursive: true, force: true });
}
// Header: the bundle's tag, then the sha1 of the V8 data (bin/btfgen checks both: V8 itself does
// not checksum a code cache in release builds, and a damaged one aborts node).
const data = script.createCachedData();
const sum = createHash('sha1').update(data).digest('hex');
writeFileSync(`${file}.cache`, Buffer.concat([Buffer.from(`${tag}\n${sum}\n`), data]));
