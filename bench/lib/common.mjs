// What every bench script opens with: the checkout's root, `--name value` options, the archive
// (--archive, the shared demo archive by default), the CLI entry point, the CPU count, the
// built-dist and archive checks, the load average line, and the fixture objects the pack benches use.
import os from 'node:os';
import path from 'node:path';
import { copyFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const argv = process.argv.slice(2);

/** The value after `name` on the command line, or `def`. */
export function arg(name, def) {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : def;
}

export const ARCHIVE = path.resolve(arg('--archive', path.join(ROOT, '../shared/data/btfhub-archive-demo')));
export const BIN = path.join(ROOT, 'bin/btfgen');
export const CPUS = os.availableParallelism?.() ?? os.cpus().length;

/** Exits 1 with a one-line message when --archive names nothing. */
export function requireArchive(bench) {
  try {
    statSync(ARCHIVE);
  } catch {
    console.error(`bench/${bench}: archive ${ARCHIVE} not found (pass --archive DIR)`);
    process.exit(1);
  }
}

/** Exits 1 with a one-line message when `npm run build` has not produced `distFile`. */
export function requireBuilt(bench, distFile) {
  try {
    statSync(path.join(ROOT, distFile));
  } catch {
    console.error(`bench/${bench}: dist/ not built: run npm run build`);
    process.exit(1);
  }
}

/** os.loadavg() as "1.23 0.98 0.76". */
export const loadAverage = (digits = 2) => os.loadavg().map((x) => x.toFixed(digits)).join(' ');

/**
 * The fixture corpus's realistic tracing objects that bpftool minimizes for every archive kernel
 * (test/fixtures/bpf/manifest.json: group realistic, expect ok, target archive, no exceptions),
 * sorted by file name.
 */
export function realisticObjects() {
  const fixtures = path.join(ROOT, 'test/fixtures/bpf');
  const manifest = JSON.parse(readFileSync(path.join(fixtures, 'manifest.json'), 'utf8'));
  return manifest.objects
    .filter((o) => o.group === 'realistic' && o.expect === 'ok' && o.targets?.includes('archive') && !o.archiveExceptions?.length)
    .map((o) => path.resolve(fixtures, o.file))
    .sort((a, b) => path.basename(a).localeCompare(path.basename(b)));
}

/** `distinct`, then renamed copies of them (in `work`/objs) until there are `n` objects. */
export function withCopies(distinct, n, work) {
  const objects = [...distinct];
  mkdirSync(path.join(work, 'objs'));
  for (let i = 0; objects.length < n; i++) {
    const src = distinct[i % distinct.length];
    const dst = path.join(work, 'objs', `copy${Math.floor(i / distinct.length) + 1}-${path.basename(src)}`);
    copyFileSync(src, dst);
    objects.push(dst);
  }
  return objects;
}
