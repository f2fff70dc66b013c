#!/usr/bin/env node
// Bundles the built CLI (dist/cli, from tsc) into dist/cli-bundle: one ES module per command
// (esbuild code splitting keeps each command's dynamic import), our own modules and commander
// inlined. Loading ~25 small modules, and commander through node's CommonJS loader, is ~20 ms
// of a one-shot `btfgen minimize` that takes ~0.1 s in all; the bundle loads in about half.
// Other packages (execa, simple-git, tar, fflate, @napi-rs/lzma) stay external: they are not
// on the minimize path, and some load native code. pack's worker threads keep running
// dist/pack/worker.js (pool.ts finds it).
//
// bin/btfgen uses the bundle only while it is newer than dist/cli/index.js, so a later plain
// `tsc` (without this step) never runs stale code.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(ROOT, 'dist/cli-bundle');
rmSync(out, { recursive: true, force: true });
const keep = new Set(['commander']);
await build({
  entryPoints: [path.join(ROOT, 'dist/cli/index.js')],
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // commander is CommonJS and requires node built-ins: give the bundle a real require().
  banner: { js: "import { createRequire as __btfgenCreateRequire } from 'node:module'; const require = __btfgenCreateRequire(import.meta.url);" },
  plugins: [
    {
      name: 'external-packages',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) => {
          const pkg = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
          if (args.path.startsWith('node:') || !keep.has(pkg)) return { path: args.path, external: true };
          return undefined;
        });
      },
    },
  ],
});
