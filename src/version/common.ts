/**
 * Helpers shared by the version schemes: the typed parse error, the input bound, digit-string
 * arithmetic that never goes through a JS number, and the byte view the C reference
 * implementations see.
 *
 * Every scheme here re-implements a C or Go function that works on bytes (dpkg, rpm, apk-tools)
 * or on ASCII (Go, semver). To agree with them on any input, non-ASCII text is compared as its
 * UTF-8 bytes, exactly what those tools receive on the command line or read from a database.
 */
import { HullscanError } from '../util/errors.ts';

/**
 * Longest version string `parse` accepts, in UTF-16 code units. Real package versions stay
 * under 200; Debian and RPM put no limit on them, so this only stops hostile input. `compare`
 * still accepts longer strings (its cost is linear in their length).
 */
export const MAX_VERSION_LENGTH = 1024;

/** A version string that its scheme rejects (the message says why, in the reference tool's words). */
export class InvalidVersionError extends HullscanError {}

/** Shorthand for the -1 | 0 | 1 every `compare` returns. */
export type Ordering = -1 | 0 | 1;

export function sign(n: number): Ordering {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** The error `parse` returns for input longer than MAX_VERSION_LENGTH. */
export function tooLong(scheme: string, v: string): InvalidVersionError {
  return new InvalidVersionError(`${scheme} version is ${v.length} characters long, more than the ${MAX_VERSION_LENGTH} accepted`);
}

/** Whether every code unit is 7-bit ASCII (the common case, which needs no conversion). */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * The string a C tool sees: its UTF-8 bytes, one byte per code unit (0..255), cut at the first
 * NUL as a C string would be.
 */
export function cBytes(s: string): string {
  const nul = s.indexOf('\0');
  const t = nul >= 0 ? s.slice(0, nul) : s;
  return isAscii(t) ? t : Buffer.from(t, 'utf8').toString('latin1');
}

export function isDigitCode(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export function isAlphaCode(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/**
 * Compares the decimal digit runs a[aStart, aEnd) and b[bStart, bEnd) as unbounded integers:
 * leading zeros are skipped, then the longer run is larger, then the first differing digit
 * decides. Never converts to a number, so 30-digit segments compare exactly.
 */
export function compareDigitRuns(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): Ordering {
  while (aStart < aEnd && a.charCodeAt(aStart) === 0x30) aStart++;
  while (bStart < bEnd && b.charCodeAt(bStart) === 0x30) bStart++;
  const la = aEnd - aStart;
  const lb = bEnd - bStart;
  if (la !== lb) return la < lb ? -1 : 1;
  for (let i = 0; i < la; i++) {
    const d = a.charCodeAt(aStart + i) - b.charCodeAt(bStart + i);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Whole-string form of compareDigitRuns for strings made only of digits ("" counts as zero). */
export function compareDigits(a: string, b: string): Ordering {
  return compareDigitRuns(a, 0, a.length, b, 0, b.length);
}

/** The digit string without its leading zeros ("0" for all zeros or empty). */
export function stripZeros(digits: string): string {
  let i = 0;
  while (i < digits.length - 1 && digits.charCodeAt(i) === 0x30) i++;
  return digits.length === 0 ? '0' : digits.slice(i);
}

/** Byte-wise comparison of two strings (both already in cBytes form or ASCII), like memcmp + length. */
export function compareBytes(a: string, b: string): Ordering {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
