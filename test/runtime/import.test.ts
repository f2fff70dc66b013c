// btfgen/runtime must stay light: node builtins and ../errors.js only, and cheap to import.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = join(root, 'src');

/** Every module reachable from src/runtime/index.ts, with the bare specifiers it imports. */
function importGraph(): { files: string[]; external: string[] } {
  const files = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/gm)) {
      const spec = (m[1] ?? m[2] ?? m[3])!;
      if (spec.startsWith('.')) visit(normalize(join(dirname(file), spec.replace(/\.js$/, '.ts'))));
      else external.add(spec);
    }
  };
  visit(join(src, 'runtime', 'index.ts'));
  return { files: [...files].map((f) => relative(src, f)).sort(), external: [...external].sort() };
}

describe('btfgen/runtime import cost', () => {
  it('imports only node builtins, its own modules and src/errors.ts', () => {
    const { files, external } = importGraph();
    expect(external.every((s) => s.startsWith('node:')), external.join(', ')).toBe(true);
    expect(files.every((f) => f.startsWith('runtime/') || f === 'errors.ts'), files.join(', ')).toBe(true);
    // Every runtime source file is reachable (nothing heavy hides in an unlisted module).
    const all = readdirSync(join(src, 'runtime')).filter((f) => f.endsWith('.ts'));
    expect(files.filter((f) => f.startsWith('runtime/')).length).toBe(all.length);
  });

  const built = join(root, 'dist', 'runtime', 'index.js');
  it.skipIf(!existsSync(built))('imports in a few milliseconds (dist build; skipped before `npm run build`)', () => {
    const probe = 'const t = performance.now(); await import(process.argv[1]); console.log(performance.now() - t);';
    const runs = Array.from({ length: 5 }, () =>
      Number(execFileSync(process.execPath, ['--input-type=module', '-e', probe, built], { encoding: 'utf8' })),
    );
    const best = Math.min(...runs);
    console.log(`btfgen/runtime import: ${best.toFixed(1)} ms (best of 5)`);
    // Generous bound for a loaded 2-core CI machine; typical is ~10 ms, node-tar alone is ~14 ms.
    expect(best).toBeLessThan(150);
  });
});
