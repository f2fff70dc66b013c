// Name comparisons straight on string-section bytes (libbpf's strcmp / strncmp over
// btf__name_by_offset results), so hot loops over target members and candidates compare bytes
// instead of decoding strings. An invalid offset behaves like libbpf's NULL name.
import type { Btf } from '../btf/btf.js';

/** latin1 bytes of a JS string (names are bytes; strings here are latin1-decoded). */
export function latin1(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

// Scratch result of locate(): no tuple allocation in hot loops.
let locRaw: Uint8Array = new Uint8Array(0);
let locStart = 0;
let locEnd = 0;

/** Sets locRaw/locStart/locEnd for the string at `off`; false for an invalid offset (NULL). */
function locate(btf: Btf, off: number): boolean {
  let b: Btf = btf;
  while (off < b.startStrOff) {
    const base = b.base;
    if (!base) return false;
    b = base;
  }
  const rel = off - b.startStrOff;
  const h = b.header;
  if (rel >= h.strLen) return false;
  const start = h.hdrLen + h.strOff;
  locRaw = b.raw;
  locStart = start + rel;
  locEnd = start + h.strLen;
  return true;
}

/** strcmp(name_at(off), want) == 0; false for an invalid offset (NULL). */
export function nameEquals(btf: Btf, off: number, want: Uint8Array): boolean {
  if (!locate(btf, off)) return false;
  const raw = locRaw;
  const s = locStart;
  const n = want.length;
  if (s + n > locEnd) return false;
  for (let k = 0; k < n; k++) if (raw[s + k] !== want[k]) return false;
  return s + n === locEnd || raw[s + n] === 0;
}

/** str_is_empty(btf__name_by_offset(off)): NULL (invalid offset) or "". */
export function nameIsEmpty(btf: Btf, off: number): boolean {
  if (off === 0) return true;
  if (!locate(btf, off)) return true;
  return locStart >= locEnd || locRaw[locStart] === 0;
}

/** Essential length of the string at locRaw/locStart (after locate()). */
function essentialLenHere(): number {
  const raw = locRaw;
  const s = locStart;
  let e = s;
  while (e < locEnd && raw[e] !== 0) e++;
  for (let i = e - 5; i >= s; i--) {
    if (raw[i] !== 0x5f && raw[i + 1] === 0x5f && raw[i + 2] === 0x5f && raw[i + 3] === 0x5f && raw[i + 4] !== 0x5f) {
      return i + 1 - s;
    }
  }
  return e - s;
}

/** bpf_core_essential_name_len() of the name at `off` (0 for NULL or ""). */
export function essentialLenAt(btf: Btf, off: number): number {
  return locate(btf, off) ? essentialLenHere() : 0;
}

/**
 * Essential names of two names are equal: `la == lb && strncmp(a, b, la) == 0`. With
 * `anonymousMatches`, an empty essential name on either side also matches (the FWD/ENUM rule of
 * bpf_core_fields_are_compat).
 */
export function essentialNamesEqual(a: Btf, offA: number, b: Btf, offB: number, anonymousMatches = false): boolean {
  // quick exact reject: two non-empty names with different first bytes have different
  // essential names (an essential name keeps at least the first byte)
  let fa = -1;
  if (locate(a, offA) && locStart < locEnd) fa = locRaw[locStart]!;
  let fb = -1;
  if (locate(b, offB) && locStart < locEnd) fb = locRaw[locStart]!;
  if (fa > 0 && fb > 0 && fa !== fb) return false;
  let la = 0;
  let rawA: Uint8Array = locRaw;
  let sA = 0;
  if (locate(a, offA)) {
    la = essentialLenHere();
    rawA = locRaw;
    sA = locStart;
  }
  let lb = 0;
  if (locate(b, offB)) lb = essentialLenHere();
  if (anonymousMatches && (la === 0 || lb === 0)) return true;
  if (la !== lb) return false;
  const rawB = locRaw;
  const sB = locStart;
  for (let k = 0; k < la; k++) if (rawA[sA + k] !== rawB[sB + k]) return false;
  return true;
}
