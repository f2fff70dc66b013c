// Sizes as users write them on a command line: `2G`, `500M`, `1.5GiB`, `1048576`.
import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/**
 * Bytes in `text`: a number with an optional unit K, M, G or T (powers of 1024, as `du -h`
 * prints them; `KB`/`KiB`, any case, mean the same), e.g. `2G`, `500M`, `1.5g`, `4096`.
 * @throws UsageError naming `what` (the option) for anything else, a negative size, or more
 * than Number.MAX_SAFE_INTEGER bytes.
 */
export function parseSize(text: string, what = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  const bad = (): UsageError => new UsageError(`${what}: '${text}' is not a size (examples: 2G, 500M, 1.5G, 1048576)`);
  if (!m) throw bad();
  const n = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  if (!Number.isFinite(n) || n > Number.MAX_SAFE_INTEGER) throw bad();
  return Math.floor(n);
}

/** `n` bytes for people: `1.5 GiB`, `500 MiB`, `12 KiB`, `7 B`. */
export function formatSize(n: number): string {
  for (const [u, f] of [
    ['TiB', 2 ** 40],
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (n >= f) {
      const v = n / f;
      return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1).replace(/\.0$/, '') : v.toFixed(2).replace(/\.?0+$/, '')} ${u}`;
    }
  }
  return `${n} B`;
}
