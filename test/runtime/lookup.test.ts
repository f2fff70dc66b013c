// The shared lookup table (lookup-cases.tsv) against the TypeScript runtime. The same table
// runs against the C helper in test/native/lookup.test.ts.
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AmbiguousBtfError,
  candidateKeys,
  CorruptArchiveError,
  extractHostBtf,
  memberKey,
  nearestKernels,
  NoMatchingBtfError,
  parseOsRelease,
  type HostIdentity,
} from '../../src/runtime/index.js';
import { gzip, type NameStyle } from '../helpers/tar.js';
import { archiveVariant, type Case, readCases, tarOf, VARIANT_HOST, VARIANT_TARGET_DATA } from './helpers.js';

const cases = readCases();
const of = <K extends Case['kind']>(kind: K): Extract<Case, { kind: K }>[] =>
  cases.filter((c): c is Extract<Case, { kind: K }> => c.kind === kind);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'btfgen-lookup-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('the table has cases of every kind', () => {
  for (const kind of ['osrelease', 'osfile', 'keys', 'member', 'match', 'nearest', 'archive'] as const) {
    expect(of(kind).length, kind).toBeGreaterThan(0);
  }
});

describe('os-release', () => {
  it.each(of('osrelease').map((c) => [c.line, c] as const))('line %i', (_, c) => {
    expect(parseOsRelease(c.text)).toEqual({ id: c.id, versionId: c.versionId, idLike: c.idLike });
  });
});

describe('published os-release files', () => {
  it.each(of('osfile').map((c) => [c.line, c] as const))('line %i', (_, c) => {
    expect(parseOsRelease(readFileSync(c.file, 'utf8'))).toEqual({ id: c.id, versionId: c.versionId, idLike: c.idLike });
  });
});

describe('candidate keys', () => {
  it.each(of('keys').map((c) => [c.line, c] as const))('line %i', (_, c) => {
    expect(candidateKeys(c.host)).toEqual(c.keys);
  });
});

describe('member names', () => {
  it.each(of('member').map((c) => [c.line, c] as const))('line %i', (_, c) => {
    expect(memberKey(c.name)).toBe(c.key);
  });
});

describe('nearest kernels', () => {
  it.each(of('nearest').map((c) => [c.line, c] as const))('line %i', (_, c) => {
    expect(nearestKernels(c.host, c.keys, c.limit)).toEqual(c.expected);
  });
});

/** Runs a lookup into the private directory; checks mode and that nothing else is left. */
async function lookup(host: HostIdentity, archive: Uint8Array | Readable | string) {
  try {
    const { path, key, rule } = await extractHostBtf(archive, host, { tmpdir: dir });
    const st = await stat(path);
    expect(st.mode & 0o777).toBe(0o600);
    expect(path.startsWith(dir + '/')).toBe(true);
    expect(await readdir(dir)).toHaveLength(1);
    const content = await readFile(path, 'utf8');
    await rm(path);
    return { ok: true as const, key, rule, content };
  } catch (err) {
    expect(await readdir(dir), 'nothing left behind after an error').toEqual([]);
    return { ok: false as const, err };
  }
}

describe('matching members (every encoding, tar and tar.gz)', () => {
  const styles: NameStyle[] = ['ustar', 'gnu', 'pax'];
  it.each(of('match').map((c) => [c.line, c] as const))('line %i', async (_, c) => {
    for (const style of styles) {
      for (const compressed of [false, true]) {
        const tar = tarOf(c.members, style);
        const res = await lookup(c.host, compressed ? gzip(tar) : tar);
        const where = `${style}${compressed ? '.gz' : ''}`;
        const want = c.expected;
        if (want.kind === 'member') {
          const m = c.members.find((x) => x.name === want.name)!;
          expect(res.ok ? res.content : res.err, where).toBe(m.content ?? m.name);
          if (res.ok) expect({ key: res.key, rule: res.rule }, where).toEqual({ key: memberKey(want.name), rule: want.rule });
          continue;
        }
        expect(res.ok, where).toBe(false);
        if (res.ok) continue;
        const err = res.err as NoMatchingBtfError;
        expect(err, where).toBeInstanceOf(NoMatchingBtfError);
        expect(err.code).toBe('ENOENT');
        expect(err.keysTried).toEqual(candidateKeys(c.host).map((k) => k.key));
        if (want.kind === 'none') {
          expect(err, where).not.toBeInstanceOf(AmbiguousBtfError);
        } else {
          expect(err, where).toBeInstanceOf(AmbiguousBtfError);
          expect((err as AmbiguousBtfError).candidates).toEqual(want.candidates);
          // The same ending as the C helper's message (checked by lookup_test.c).
          expect(err.message).toMatch(new RegExp(`differ, not guessing between ${want.candidates.join(', ').replace(/[.+]/g, '\\$&')}$`));
        }
      }
    }
  });
});

describe('archive variants', () => {
  it.each(of('archive').map((c) => [c.variant, c] as const))('%s', async (_, c) => {
    const res = await lookup(VARIANT_HOST, archiveVariant(c.variant));
    if (c.expected === 'ok') {
      expect(res.ok ? res.content : res.err).toBe(VARIANT_TARGET_DATA);
    } else {
      expect(res.ok).toBe(false);
      if (!res.ok) {
        expect((res.err as { code?: string }).code).toBe(c.expected);
        expect(res.err).toBeInstanceOf(c.expected === 'EINVAL' ? CorruptArchiveError : NoMatchingBtfError);
      }
    }
  });
});
