#!/usr/bin/env node
// The CommonJS build of the public entry points, for `require('btfgen')` and
// `require('btfgen/runtime')` (loaders are often CommonJS apps): esbuild bundles the ES modules
// tsc wrote (dist/index.js, dist/runtime/index.js) into dist/cjs/index.js and
// dist/cjs/runtime/index.js, other packages left to require() (execa, ES-module-only, is reached
// through import(), see src/external.ts). dist/cjs/package.json says "type": "commonjs", so
// TypeScript reads the declarations copied next to the bundles as CommonJS ones (what a
// `require` consumer under "moduleResolution": "node16" needs).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
const OUT = path.join(DIST, 'cjs');

rmSync(OUT, { recursive: true, force: true });
for (const entry of ['index.js', 'runtime/index.js']) {
  await build({
    entryPoints: [path.join(DIST, entry)],
    outfile: path.join(OUT, entry),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
    // pack's pool finds dist/pack/worker.js from its own location (../pack/worker.js from dist/cjs)
    define: { 'import.meta.url': '__btfgenImportMetaUrl' },
    banner: { js: "var __btfgenImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
}
writeFileSync(path.join(OUT, 'package.json'), '{ "type": "commonjs" }\n');
// The declarations, same tree (the bundles export what the ES entry points export).
for (const rel of readdirSync(DIST, { recursive: true })) {
  const top = rel.split(path.sep)[0];
  if (!rel.endsWith('.d.ts') || top === 'cjs' || top === 'cli' || top === 'cli-bundle') continue;
  mkdirSync(path.dirname(path.join(OUT, rel)), { recursive: true });
  copyFileSync(path.join(DIST, rel), path.join(OUT, rel));
}
