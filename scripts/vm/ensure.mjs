// Runs inside the VM (copied to /node/ensure.mjs next to dist/): the Node runtime's
// ensureCoreBtf picks this host's BTF from the archive, as a Node loader would before opening
// its object.
//
//   node ensure.mjs ARCHIVE [--force]
//
// Prints "<source> <key or -> <path or ->" (source: kernel | archive | env); exit 1 with the
// error on stderr when ensureCoreBtf throws. The extracted file is left for the caller
// (it passes it to vmload --btf, then removes it).
import { ensureCoreBtf } from './dist/runtime/index.js';

const [archive, flag] = process.argv.slice(2);
try {
  const r = await ensureCoreBtf(archive, { force: flag === '--force' });
  process.stdout.write(`${r.source} ${r.key ?? '-'} ${r.path ?? '-'}\n`);
} catch (err) {
  process.stderr.write(`ensure.mjs: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
