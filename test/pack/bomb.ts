// A decompression bomb as issue 13 probed it: a `<release>.btf.tar.xz` whose one member is
// `mib` MiB of zeros (xz makes 1000 MiB into ~150 KB). Generated, never committed.
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { tarHeader } from '../helpers/tar.js';

/** Writes (once per machine and size) the bomb and returns its path. */
export async function xzBomb(release: string, mib: number): Promise<string> {
  const dir = join(tmpdir(), `btfgen-test-bomb-${mib}m`);
  const file = join(dir, `${release}.btf.tar.xz`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}`;
  const child = spawn('sh', ['-c', `exec xz -0 -T1 > '${tmp}'`], { stdio: ['pipe', 'ignore', 'inherit'] });
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  const write = (b: Uint8Array): Promise<void> => new Promise((resolve, reject) => child.stdin!.write(b, (e) => (e ? reject(e) : resolve())));
  await write(tarHeader({ name: `${release}.btf`, size: mib * 1024 * 1024 }));
  const zeros = new Uint8Array(1 << 20);
  for (let i = 0; i < mib; i++) await write(zeros);
  await write(new Uint8Array(1024));
  child.stdin!.end();
  if ((await done) !== 0) throw new Error('xz failed to make the bomb');
  renameSync(tmp, file);
  return file;
}
