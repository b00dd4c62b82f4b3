/**
 * RPM versions: [epoch:]version[-release] (EVR).
 *
 * Reference: rpm 4.18 (Debian 12's rpm 4.18.0, the test oracle), rpm-software-management/rpm
 * - rpmio/rpmvercmp.c `rpmvercmp` (4.16+; lib/rpmvercmp.c before): segments of ASCII letters or
 *   digits, everything else separates; `~` sorts before everything, even the end; `^` sorts after
 *   the end but before any other segment; a numeric segment beats an alphabetic one; digits
 *   compare as numbers of any length (leading zeros dropped, then longer wins, then strcmp).
 * - rpmio/rpmver.c `parseEVR` + `rpmverCmp` (the `rpm.ver()` comparison): the epoch is the run
 *   of leading digits before a ':' ("" means "0", missing compares as "0"); the release follows
 *   the LAST '-'; a missing release sorts before any release, even an empty one.
 *
 * `compare` agrees with Python `rpm.ver(a) < / == / > rpm.ver(b)`; `rpmvercmp` with
 * `rpm.labelCompare` on bare version strings. Both compare bytes as rpm does (non-ASCII text is
 * a run of separators, so "1.α" equals "1.β", as rpm's own test suite documents).
 */
import type { ParsedVersion, VersionScheme } from './index.ts';
import {
  InvalidVersionError,
  MAX_VERSION_LENGTH,
  type Ordering,
  cBytes,
  compareBytes,
  compareDigitRuns,
  isAlphaCode,
  isDigitCode,
  tooLong,
} from './common.ts';

export interface RpmVersion extends ParsedVersion {
  readonly scheme: 'rpm';
  /** The epoch as written (digits), or undefined when the string has none (compares as "0"). */
  readonly epoch: string | undefined;
  readonly version: string;
  /** The release, or undefined when the string has no '-'. */
  readonly release: string | undefined;
}

/** An EVR triple as rpm headers and Python's labelCompare hold it. */
export interface Evr {
  epoch?: string | undefined;
  version: string;
  release?: string | undefined;
}

const TILDE = 0x7e;
const CARET = 0x5e;

function isAlnum(c: number): boolean {
  return isDigitCode(c) || isAlphaCode(c);
}

/** rpm's rpmvercmp over two byte strings (see cBytes). Linear in their lengths. */
function vercmpBytes(a: string, b: string): Ordering {
  if (a === b) return 0;
  const la = a.length;
  const lb = b.length;
  let i = 0;
  let j = 0;
  while (i < la || j < lb) {
    while (i < la && !isAlnum(a.charCodeAt(i)) && a.charCodeAt(i) !== TILDE && a.charCodeAt(i) !== CARET) i++;
    while (j < lb && !isAlnum(b.charCodeAt(j)) && b.charCodeAt(j) !== TILDE && b.charCodeAt(j) !== CARET) j++;
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);

    if (ca === TILDE || cb === TILDE) {
      if (ca !== TILDE) return 1;
      if (cb !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    // Like '~', except that the end of the other string (the base version) sorts lower.
    if (ca === CARET || cb === CARET) {
      if (i >= la) return -1;
      if (j >= lb) return 1;
      if (ca !== CARET) return 1;
      if (cb !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (i >= la || j >= lb) break;

    let endA = i;
    let endB = j;
    const numeric = isDigitCode(ca);
    if (numeric) {
      while (endA < la && isDigitCode(a.charCodeAt(endA))) endA++;
      while (endB < lb && isDigitCode(b.charCodeAt(endB))) endB++;
    } else {
      while (endA < la && isAlphaCode(a.charCodeAt(endA))) endA++;
      while (endB < lb && isAlphaCode(b.charCodeAt(endB))) endB++;
    }
    // Segments of different types: the numeric one is newer.
    if (endB === j) return numeric ? 1 : -1;
    const c = numeric ? compareDigitRuns(a, i, endA, b, j, endB) : compareBytes(a.slice(i, endA), b.slice(j, endB));
    if (c !== 0) return c;
    i = endA;
    j = endB;
  }
  if (i >= la && j >= lb) return 0;
  return i >= la ? -1 : 1;
}

/** rpmvercmp(a, b) on one version or release string (no epoch or release splitting). */
export function rpmvercmp(a: string, b: string): Ordering {
  return vercmpBytes(cBytes(a), cBytes(b));
}

/** rpmver.c compare_values: a missing part sorts before a present one. */
function compareValues(a: string | undefined, b: string | undefined): Ordering {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  return vercmpBytes(a, b);
}

interface Split {
  epoch: string | undefined;
  version: string;
  release: string | undefined;
}

/** rpmver.c parseEVR over a byte string. */
function splitEvr(s: string): Split {
  let k = 0;
  while (k < s.length && isDigitCode(s.charCodeAt(k))) k++;
  let epoch: string | undefined;
  let versionStart = 0;
  if (s.charCodeAt(k) === 0x3a) {
    epoch = k === 0 ? '0' : s.slice(0, k);
    versionStart = k + 1;
  }
  const hyphen = s.lastIndexOf('-');
  if (hyphen >= versionStart) return { epoch, version: s.slice(versionStart, hyphen), release: s.slice(hyphen + 1) };
  return { epoch, version: s.slice(versionStart), release: undefined };
}

function compareSplits(a: Split, b: Split): Ordering {
  return (
    vercmpBytes(a.epoch ?? '0', b.epoch ?? '0') ||
    vercmpBytes(a.version, b.version) ||
    compareValues(a.release, b.release)
  );
}

/**
 * Compares two "[E:]V[-R]" strings like rpm's rpmverCmp. The empty string (which rpm refuses to
 * parse) sorts before every other version. Never throws.
 */
export function compareRpm(a: string, b: string): Ordering {
  const sa = cBytes(a);
  const sb = cBytes(b);
  if (sa === '' || sb === '') return sa === sb ? 0 : sa === '' ? -1 : 1;
  return compareSplits(splitEvr(sa), splitEvr(sb));
}

/** Compares EVR triples like Python's rpm.labelCompare (missing epoch = "0"). */
export function compareEvr(a: Evr, b: Evr): Ordering {
  return compareSplits(
    { epoch: a.epoch === undefined ? undefined : cBytes(a.epoch), version: cBytes(a.version), release: a.release === undefined ? undefined : cBytes(a.release) },
    { epoch: b.epoch === undefined ? undefined : cBytes(b.epoch), version: cBytes(b.version), release: b.release === undefined ? undefined : cBytes(b.release) },
  );
}

/** Characters rpmbuild accepts in Version and Release (build/parsePreamble.c checkForValidVersion). */
function unusualCharacter(s: string): string | undefined {
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (!isAlnum(c) && '._+%{}~^'.indexOf(ch) < 0) return ch;
  }
  return undefined;
}

/**
 * Splits "[E:]V[-R]". rpm itself refuses only the empty string; too long input and NUL are
 * refused here too. Characters rpmbuild would not accept are reported as warnings.
 */
export function parseRpm(v: string): RpmVersion | InvalidVersionError {
  if (v.length > MAX_VERSION_LENGTH) return tooLong('rpm', v);
  if (v === '') return new InvalidVersionError('rpm version is empty');
  if (v.includes('\0')) return new InvalidVersionError('rpm version contains a NUL character');
  const s = splitEvr(v);
  const warnings: string[] = [];
  if (s.version === '') warnings.push('version part is empty');
  const badV = unusualCharacter(s.version);
  if (badV !== undefined) warnings.push(`character '${badV}' is not allowed in an rpm version`);
  const badR = s.release === undefined ? undefined : unusualCharacter(s.release);
  if (badR !== undefined) warnings.push(`character '${badR}' is not allowed in an rpm release`);
  return { scheme: 'rpm', input: v, epoch: s.epoch, version: s.version, release: s.release, warnings };
}

export const rpmScheme: VersionScheme<RpmVersion> = {
  id: 'rpm',
  reference: 'rpm 4.18 rpmio/rpmvercmp.c rpmvercmp + rpmio/rpmver.c parseEVR/rpmverCmp',
  compare: compareRpm,
  parse: parseRpm,
  valid: (v) => !(parseRpm(v) instanceof InvalidVersionError),
};
