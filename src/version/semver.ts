/**
 * Semantic Versioning 2.0.0 (https://semver.org/spec/v2.0.0.html), for ecosystems whose
 * advisories use it (npm, crates.io, NuGet and OSV "SEMVER" ranges).
 *
 * Reference: the specification, §2 (MAJOR.MINOR.PATCH, non-negative integers without leading
 * zeros), §9 (pre-release: dot-separated non-empty [0-9A-Za-z-] identifiers, numeric ones
 * without leading zeros), §10 (build metadata: same characters, leading zeros allowed, ignored
 * for precedence) and §11 (precedence). The BNF of the specification is the grammar; no regex is
 * used. One tolerance: a single leading "v" or "V" ("v1.2.3", as in git tags) is skipped.
 *
 * Numbers of any length compare exactly (by digit count, then digits).
 * `compare` puts invalid strings below every valid version and equal to each other (the
 * convention of golang.org/x/mod/semver), so that it stays a total order on any input.
 */
import type { ParsedVersion, VersionScheme } from './index.ts';
import { InvalidVersionError, MAX_VERSION_LENGTH, type Ordering, compareBytes, compareDigits, isAlphaCode, isDigitCode, tooLong } from './common.ts';

export interface SemVer extends ParsedVersion {
  readonly scheme: 'semver';
  /** Decimal digit strings (exact at any size). */
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
  /** Pre-release identifiers; empty for a release. */
  readonly prerelease: readonly string[];
  /** Build metadata identifiers (ignored by compare). */
  readonly build: readonly string[];
}

function isIdentChar(c: number): boolean {
  return isDigitCode(c) || isAlphaCode(c) || c === 0x2d;
}

function isNumeric(id: string): boolean {
  for (let i = 0; i < id.length; i++) if (!isDigitCode(id.charCodeAt(i))) return false;
  return id.length > 0;
}

/** Reads one numeric core part at `pos`; returns its end, or an error message. */
function readNumber(v: string, pos: number, what: string): number | string {
  let end = pos;
  while (end < v.length && isDigitCode(v.charCodeAt(end))) end++;
  if (end === pos) return `${what} version is missing or not a number`;
  if (v.charCodeAt(pos) === 0x30 && end - pos > 1) return `${what} version has a leading zero`;
  return end;
}

/** Splits dot-separated identifiers, checking characters and (for pre-release) leading zeros. */
function readIdentifiers(part: string, what: string, checkLeadingZero: boolean): string[] | string {
  const ids = part.split('.');
  for (const id of ids) {
    if (id === '') return `${what} has an empty identifier`;
    for (let i = 0; i < id.length; i++) if (!isIdentChar(id.charCodeAt(i))) return `${what} has a character outside [0-9A-Za-z-]`;
    if (checkLeadingZero && id.length > 1 && id.charCodeAt(0) === 0x30 && isNumeric(id)) return `${what} has a numeric identifier with a leading zero`;
  }
  return ids;
}

export function parseSemver(input: string): SemVer | InvalidVersionError {
  if (input.length > MAX_VERSION_LENGTH) return tooLong('semver', input);
  const fail = (why: string): InvalidVersionError => new InvalidVersionError(`semver '${input}': ${why}`);
  const v = input.charCodeAt(0) === 0x76 || input.charCodeAt(0) === 0x56 ? input.slice(1) : input;
  const parts: string[] = [];
  let pos = 0;
  for (const what of ['major', 'minor', 'patch']) {
    const end = readNumber(v, pos, what);
    if (typeof end === 'string') return fail(end);
    parts.push(v.slice(pos, end));
    pos = end;
    if (what !== 'patch') {
      if (v.charCodeAt(pos) !== 0x2e) return fail(`expected '.' after the ${what} version`);
      pos++;
    }
  }
  let prerelease: string[] = [];
  let build: string[] = [];
  const plus = v.indexOf('+', pos);
  const coreEnd = plus >= 0 ? plus : v.length;
  if (pos < coreEnd) {
    if (v.charCodeAt(pos) !== 0x2d) return fail('unexpected text after the patch version');
    const ids = readIdentifiers(v.slice(pos + 1, coreEnd), 'pre-release', true);
    if (typeof ids === 'string') return fail(ids);
    prerelease = ids;
  }
  if (plus >= 0) {
    const ids = readIdentifiers(v.slice(plus + 1), 'build metadata', false);
    if (typeof ids === 'string') return fail(ids);
    build = ids;
  }
  return { scheme: 'semver', input, major: parts[0]!, minor: parts[1]!, patch: parts[2]!, prerelease, build, warnings: [] };
}

/** Pre-release precedence (§11.3-11.4): a release is above any pre-release of the same core. */
export function comparePrerelease(a: readonly string[], b: readonly string[]): Ordering {
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : a.length === 0 ? 1 : -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    const nx = isNumeric(x);
    const ny = isNumeric(y);
    if (nx !== ny) return nx ? -1 : 1;
    return nx ? compareDigits(x, y) : compareBytes(x, y);
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function compareSemverParsed(a: SemVer, b: SemVer): Ordering {
  return (
    compareDigits(a.major, b.major) ||
    compareDigits(a.minor, b.minor) ||
    compareDigits(a.patch, b.patch) ||
    comparePrerelease(a.prerelease, b.prerelease)
  );
}

/** SemVer 2.0.0 precedence; invalid strings sort first and equal each other. Never throws. */
export function compareSemver(a: string, b: string): Ordering {
  const pa = parseSemver(a);
  const pb = parseSemver(b);
  const ia = pa instanceof InvalidVersionError;
  const ib = pb instanceof InvalidVersionError;
  if (ia || ib) return ia === ib ? 0 : ia ? -1 : 1;
  return compareSemverParsed(pa, pb);
}

export const semverScheme: VersionScheme<SemVer> = {
  id: 'semver',
  reference: 'Semantic Versioning 2.0.0 §2, §9-11 (leading v tolerated)',
  compare: compareSemver,
  parse: parseSemver,
  valid: (v) => !(parseSemver(v) instanceof InvalidVersionError),
};
