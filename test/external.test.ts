// importExternal(): the bundled CLI's way to ES-module-only packages (see src/external.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { importExternal } from '../src/external.js';

const g = globalThis as { __btfgenImport?: (s: string) => Promise<unknown> };

describe('importExternal', () => {
  afterEach(() => {
    delete g.__btfgenImport;
  });

  it('uses the plain import() without a launcher hook', async () => {
    const m = await importExternal<typeof import('node:path')>('node:path');
    expect(typeof m.join).toBe('function');
  });

  it("uses the launcher's import() when it is there", async () => {
    const seen: string[] = [];
    g.__btfgenImport = (s) => {
      seen.push(s);
      return import(s);
    };
    const m = await importExternal<typeof import('execa')>('execa');
    expect(typeof m.execa).toBe('function');
    expect(seen).toEqual(['execa']);
  });
});
