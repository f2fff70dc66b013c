// Test helpers for the runtime: the shared lookup-cases table and the `archive` variants
// (defined identically in native/test/lookup_test.c), built with test/helpers/tar.ts.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { HostIdentity } from '../../src/runtime/index.js';
import { REPO_ROOT } from '../helpers/env.js';
import { concat, gzip, paxRaw, paxRecord, tarEnd, tarHeader, tarMember, type NameStyle } from '../helpers/tar.js';

export const CASES_PATH = join(REPO_ROOT, 'test/runtime/lookup-cases.tsv');

export interface Member {
  name: string;
  /** tar typeflag, default '0' */
  type: string;
  /** The member's bytes (as text); default its name. */
  content?: string;
}

/** What a `match` case expects: a member (by name) and its rule, no match, or ambiguity. */
export type MatchExpectation =
  | { kind: 'member'; name: string; rule: string }
  | { kind: 'none' }
  | { kind: 'ambiguous'; candidates: string[] };

export type Case =
  | { kind: 'osrelease'; line: number; text: string; id: string; versionId: string; idLike: string[] }
  | { kind: 'osfile'; line: number; file: string; id: string; versionId: string; idLike: string[] }
  | { kind: 'keys'; line: number; host: HostIdentity; keys: { rule: string; key: string }[] }
  | { kind: 'member'; line: number; name: string; key: string | undefined }
  | { kind: 'match'; line: number; host: HostIdentity; members: Member[]; expected: MatchExpectation }
  | { kind: 'nearest'; line: number; host: HostIdentity; keys: string[]; limit: number; expected: string[] }
  | { kind: 'archive'; line: number; variant: string; expected: 'ok' | 'EINVAL' | 'ENOENT' };

const list = (s: string): string[] => (s === '' ? [] : s.split('|'));
const host = (f: string[], idLike?: string): HostIdentity => ({
  id: f[0]!,
  versionId: f[1]!,
  machine: f[2]!,
  release: f[3]!,
  ...(idLike === undefined ? {} : { idLike: list(idLike) }),
});
/** `[T:]NAME[=CONTENT]` */
function member(m: string): Member {
  const [type, rest] = m[1] === ':' ? [m[0]!, m.slice(2)] : ['0', m];
  const eq = rest.indexOf('=');
  return eq < 0 ? { type, name: rest } : { type, name: rest.slice(0, eq), content: rest.slice(eq + 1) };
}
function expectation(expected: string, rule: string): MatchExpectation {
  if (expected === '-') return { kind: 'none' };
  if (expected === '?') return { kind: 'ambiguous', candidates: list(rule) };
  return { kind: 'member', name: expected, rule };
}
const unescape = (s: string): string =>
  s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : c));

export function readCases(): Case[] {
  const out: Case[] = [];
  readFileSync(CASES_PATH, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      const line = i + 1;
      if (text === '' || text.startsWith('#')) return;
      const [kind, ...f] = text.split('\t');
      switch (kind) {
        case 'osrelease':
          out.push({ kind, line, text: unescape(f[0]!), id: f[1]!, versionId: f[2]!, idLike: list(f[3]!) });
          break;
        case 'osfile':
          out.push({ kind, line, file: join(dirname(CASES_PATH), 'os-release', f[0]!), id: f[1]!, versionId: f[2]!, idLike: list(f[3]!) });
          break;
        case 'keys':
          out.push({
            kind,
            line,
            host: host(f, f[4]!),
            keys: list(f[5]!).map((k) => ({ rule: k.slice(0, k.indexOf(':')), key: k.slice(k.indexOf(':') + 1) })),
          });
          break;
        case 'member':
          out.push({ kind, line, name: f[0]!, key: f[1] === '-' ? undefined : f[1] });
          break;
        case 'match':
          out.push({ kind, line, host: host(f, f[4]!), members: list(f[5]!).map(member), expected: expectation(f[6]!, f[7]!) });
          break;
        case 'nearest':
          out.push({ kind, line, host: host(f), keys: list(f[4]!), limit: Number(f[5]), expected: list(f[6]!) });
          break;
        case 'archive':
          out.push({ kind, line, variant: f[0]!, expected: f[1] as 'ok' | 'EINVAL' | 'ENOENT' });
          break;
        default:
          throw new Error(`${CASES_PATH}:${line}: unknown case kind ${kind}`);
      }
    });
  return out;
}

// ---- archives (built with test/helpers/tar.ts) ---------------------------------------------

export function tarOf(members: Member[], style: NameStyle): Uint8Array {
  // Each member's content is its name unless given, so the test sees which one was extracted.
  return concat([...members.flatMap((m) => tarMember(m.name, m.content ?? m.name, m.type, style)), tarEnd()]);
}

const enc = new TextEncoder();

// ---- the `archive` variants (host debian/12/x86_64/6.1.0-test), as in lookup_test.c ----------

export const VARIANT_HOST: HostIdentity = { id: 'debian', versionId: '12', machine: 'x86_64', release: '6.1.0-test' };
export const VARIANT_TARGET = './btfhub-archive/debian/12/x86_64/6.1.0-test.btf';
export const VARIANT_TARGET_DATA = 'BTF for 6.1.0-test';

function others(): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < 4; i++) {
    const data = new Uint8Array(4096);
    for (let j = 0; j < data.length; j++) data[j] = (j * 31 + i) & 0xff;
    parts.push(...tarMember(`./btfhub-archive/debian/12/x86_64/6.1.0-other${i}.btf`, data));
  }
  return parts;
}

const target = (): Uint8Array[] => tarMember(VARIANT_TARGET, VARIANT_TARGET_DATA);

export function archiveVariant(variant: string): Uint8Array {
  switch (variant) {
    case 'empty':
      return new Uint8Array(0);
    case 'garbage':
      return enc.encode('not an archive\n'.repeat(70)).subarray(0, 1024);
    case 'truncated-gzip': {
      const gz = gzip(concat([...others(), tarEnd()]));
      return gz.subarray(0, Math.floor(gz.length / 2));
    }
    case 'truncated-tar':
      return concat([...others(), tarEnd()]).subarray(0, 512 + 1000);
    case 'bad-checksum': {
      const t = concat([...others(), ...target(), tarEnd()]);
      t[0] = 'X'.charCodeAt(0);
      return t;
    }
    case 'no-end-marker':
      return concat([...others(), ...target()]);
    case 'multi-member-gzip':
      return concat([gzip(concat(others())), gzip(concat([...target(), tarEnd()]))]);
    case 'only-others':
      return gzip(concat([...others(), tarEnd()]));
    case 'gzip-trailing-garbage':
      return concat([gzip(concat([...others(), ...target(), tarEnd()])), enc.encode('trailing garbage')]);
    case 'gzip-zero-padding':
      return concat([gzip(concat([...others(), ...target(), tarEnd()])), new Uint8Array(100)]);
    case 'huge-name-record':
      return concat([tarHeader({ name: '././@LongLink', type: 'L', size: 2 * 1024 * 1024 }), new Uint8Array(4096)]);
    // ---- issue 13 (reliability): the rules both readers follow; see docs/reliability.md ----
    case 'pax-record-shorter-than-its-length':
      // "2 " and "1 " count no more than their digits and the space: skipped, not a crash.
      return gzip(concat([...others(), ...paxRaw('2 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'), ...target(), tarEnd()]));
    case 'pax-size-2^53':
      return gzip(concat([...others(), ...paxRecord({ size: '9007199254740992' }), ...target(), tarEnd()]));
    case 'pax-size-2^53-1-beyond-end':
      return gzip(concat([...others(), ...paxRecord({ size: '9007199254740991' }), ...target(), tarEnd()]));
    case 'pax-size-2^64':
      return gzip(concat([...others(), ...paxRecord({ size: '18446744073709551616' }), ...target(), tarEnd()]));
    case 'base256-size-2^53':
      return gzip(concat([...others(), tarHeader({ name: VARIANT_TARGET, type: '0', size: 2 ** 53, base256Size: true }), enc.encode(VARIANT_TARGET_DATA), new Uint8Array(512 - VARIANT_TARGET_DATA.length), tarEnd()]));
    case 'size-beyond-end': {
      const t = concat([...others(), tarHeader({ name: VARIANT_TARGET, type: '0', size: 1024 * 1024 }), enc.encode(VARIANT_TARGET_DATA), new Uint8Array(512 - VARIANT_TARGET_DATA.length), tarEnd()]);
      return gzip(t);
    }
    case 'gzip-then-lone-1f':
      return concat([gzip(concat([...others(), ...target(), tarEnd()])), Uint8Array.of(0x1f)]);
    case 'gzip-then-1f8b-junk':
      return concat([gzip(concat([...others(), ...target(), tarEnd()])), Uint8Array.of(0x1f, 0x8b), enc.encode('junk after a gzip magic')]);
    case 'gzip-then-truncated-member': {
      const second = gzip(enc.encode('x'.repeat(100)));
      return concat([gzip(concat([...others(), ...target(), tarEnd()])), second.subarray(0, second.length - 4)]);
    }
    case 'gzip-then-empty-member':
      return concat([gzip(concat([...others(), ...target(), tarEnd()])), gzip(new Uint8Array(0))]);
    case 'gzip-three-members':
      return concat([gzip(concat(others().slice(0, 4))), gzip(concat(others().slice(4))), gzip(concat([...target(), tarEnd()]))]);
    case 'member-over-128MiB': {
      // The target holds 128 MiB + 1 zero bytes (128 KiB gzipped): over the member cap.
      const size = 128 * 1024 * 1024 + 1;
      return gzip(concat([...others(), tarHeader({ name: VARIANT_TARGET, type: '0', size: size }), new Uint8Array(size + 511 - ((size + 511) % 512)), tarEnd()]));
    }
    default:
      throw new Error(`unknown archive variant ${variant}`);
  }
}
