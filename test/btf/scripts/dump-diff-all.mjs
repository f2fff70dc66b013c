#!/usr/bin/env node
// Differential check of `btfgen dump` against `bpftool btf dump file` on every kernel of one or
// more btfhub-archive trees (`.btf.tar.xz` members) and on raw `.btf` files given directly.
// Uses the built dist/ (run `npx tsc -p .` first). Usage:
//   node test/btf/scripts/dump-diff-all.mjs [DIR_OR_FILE...]   (default: ../shared/data archives)
// Exits 1 if any file differs; prints one line per file and a summary.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const { loadBtf } = await import(join(repo, 'dist/btf/object.js'));
const { dumpBtfBytes } = await import(join(repo, 'dist/btf/dump.js'));

const args = process.argv.slice(2);
const roots = args.length
  ? args
  : [join(repo, '../shared/data/btfhub-archive-demo'), join(repo, '../shared/data/btfhub-archive-extra')];

const files = [];
const walk = (p) => {
  const st = statSync(p);
  if (st.isDirectory()) for (const e of readdirSync(p).sort()) walk(join(p, e));
  else if (p.endsWith('.btf.tar.xz') || p.endsWith('.btf')) files.push(p);
};
for (const r of roots) walk(r);

const tmp = mkdtempSync(join(tmpdir(), 'btfgen-diff-'));
let same = 0;
let differ = 0;
const t0 = Date.now();
try {
  for (const f of files) {
    let path = f;
    if (f.endsWith('.tar.xz')) {
      const dir = mkdtempSync(join(tmp, 'k-'));
      const r = spawnSync('tar', ['-xJf', f, '-C', dir]);
      if (r.status !== 0) {
        console.log(`ERROR  ${f}: tar failed`);
        differ++;
        continue;
      }
      path = join(dir, readdirSync(dir)[0]);
    }
    const ref = spawnSync('bpftool', ['btf', 'dump', 'file', path], { maxBuffer: 1 << 30 });
    let ours;
    try {
      ours = Buffer.from(dumpBtfBytes(loadBtf(readFileSync(path), { name: path }).btf));
    } catch (e) {
      ours = e;
    }
    if (ref.status !== 0 || ours instanceof Error) {
      const both = ref.status !== 0 && ours instanceof Error;
      console.log(`${both ? 'BOTH-FAIL' : 'DIFF'}  ${f}: bpftool ${ref.status === 0 ? 'ok' : ref.stderr.toString().trim()}; btfgen ${ours instanceof Error ? ours.message : 'ok'}`);
      both ? same++ : differ++;
    } else if (ours.equals(ref.stdout)) {
      console.log(`SAME   ${f}`);
      same++;
    } else {
      console.log(`DIFF   ${f}`);
      differ++;
    }
    if (path !== f) rmSync(resolve(path, '..'), { recursive: true, force: true });
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`${same} identical, ${differ} different, ${files.length} files, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(differ ? 1 : 0);
