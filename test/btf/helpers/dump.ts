// The dump suites' tools: bpftool's dump of a file (the oracle), kernels extracted with tar/xz
// into a per-process temp directory, the fixture objects, and a compact first difference of two
// dumps. Paths, tools and skip messages: test/helpers/env.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BPF_FIXTURES_DIR } from '../../helpers/env.js';
import { processTempDir } from '../../helpers/temp.js';

/** A temp directory removed at process exit. */
export const tempDir = (): string => processTempDir('btfgen-btf-test-');

const BIG = 1 << 30;

/** `xz -dc FILE` into a temp file; returns its path. */
export function xzToTemp(file: string, name: string): string {
  const r = spawnSync('xz', ['-dc', file], { maxBuffer: BIG });
  if (r.status !== 0) throw new Error(`xz -dc ${file} failed: ${r.stderr}`);
  const out = join(tempDir(), name);
  writeFileSync(out, r.stdout);
  return out;
}

/** Extracts the single member of a btfhub `.btf.tar.xz` into its own temp dir; returns its path. */
export function untarBtf(file: string): string {
  const dir = mkdtempSync(join(tempDir(), 'k-'));
  const r = spawnSync('tar', ['-xJf', file, '-C', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar -xJf ${file} failed: ${r.stderr}`);
  const members = readdirSync(dir);
  if (members.length !== 1) throw new Error(`${file}: expected one member, got ${members.join(', ')}`);
  return join(dir, members[0]!);
}

/** `bpftool btf dump file FILE [-B BASE]` stdout bytes (throws with stderr on failure). */
export function bpftoolDump(file: string, base?: string): Buffer {
  const args = base ? ['btf', 'dump', '-B', base, 'file', file] : ['btf', 'dump', 'file', file];
  const r = spawnSync('bpftool', args, { maxBuffer: BIG });
  if (r.status !== 0) throw new Error(`bpftool ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** bpftool's exit status and one-line error for a file it cannot read. */
export function bpftoolTry(file: string, base?: string): { ok: boolean; stdout: Buffer; stderr: string } {
  const args = base ? ['btf', 'dump', '-B', base, 'file', file] : ['btf', 'dump', 'file', file];
  const r = spawnSync('bpftool', args, { maxBuffer: BIG });
  return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** BPF objects under test/fixtures/bpf (recursively), made by the fixtures script. */
export function fixtureObjects(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.o') && statSync(p).size > 0) out.push(p);
    }
  };
  walk(BPF_FIXTURES_DIR);
  return out.sort();
}

export function readBytes(path: string): Uint8Array {
  return readFileSync(path);
}

/**
 * A compact first-difference report for two large texts: line number and both lines, so a
 * failing 150 MB comparison prints a few lines, not the whole dump.
 */
export function firstDifference(ours: Uint8Array, ref: Uint8Array): string | undefined {
  const a = Buffer.from(ours.buffer, ours.byteOffset, ours.byteLength);
  const b = Buffer.from(ref.buffer, ref.byteOffset, ref.byteLength);
  if (a.equals(b)) return undefined;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  const lineStart = a.lastIndexOf(0x0a, i - 1) + 1;
  let line = 1;
  for (let p = a.indexOf(0x0a); p >= 0 && p < lineStart; p = a.indexOf(0x0a, p + 1)) line++;
  const endOf = (buf: Buffer) => {
    const e = buf.indexOf(0x0a, lineStart);
    return buf.toString('latin1', lineStart, e < 0 ? Math.min(buf.length, lineStart + 200) : e);
  };
  return `first difference at byte ${i}, line ${line} (ours ${a.length} bytes, bpftool ${b.length} bytes)\n  ours:    ${JSON.stringify(endOf(a))}\n  bpftool: ${JSON.stringify(endOf(b))}`;
}
