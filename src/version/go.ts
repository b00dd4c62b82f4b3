/**
 * Go versions: module versions ("v1.2.3", pseudo-versions, "+incompatible") and Go toolchain
 * versions ("go1.21.3", "go1.22rc1", "go1.21"), as found in Go binaries' build info and in the
 * Go vulnerability database.
 *
 * References:
 * - Module versions: golang.org/x/mod/semver (semver.go `parse`, `Compare`, `Canonical`;
 *   Debian's golang-golang-x-mod-dev 0.7.0, the differential oracle). vMAJOR[.MINOR[.PATCH
 *   [-PRERELEASE][+BUILD]]]; "v1" and "v1.2" mean v1.0.0 and v1.2.0; build metadata (so
 *   "+incompatible") is ignored; numbers compare by length, then digits. Pseudo-versions are
 *   ordinary pre-releases (golang.org/x/mod/module/pseudo.go says which strings are pseudo).
 *   The "v" may be left out, as OSV's Go ecosystem writes ranges ("1.2.3"); this is a warning.
 * - Toolchain versions: go/version `Compare` (src/go/version/version.go: "go" prefix required,
 *   a "-suffix" such as "-bigcorp" ignored) over src/internal/gover/gover.go `Parse`/`Compare`:
 *   go1.21 (the language version) < go1.21rc1 < go1.21.0; before 1.21 a missing patch means
 *   .0 (go1.20 == go1.20.0); go1.9.2rc2 < go1.9.2.
 *
 * `compare` is exact within each kind. Across kinds (a toolchain against a module version) it
 * compares the numbers the same way, then orders go1.21 (language) < pre-releases < release, so
 * go1.21.3 == v1.21.3; the result is still a total order. Invalid strings sort first and equal
 * each other, as both Go packages specify.
 */
import type { ParsedVersion, VersionScheme } from './index.ts';
import { InvalidVersionError, MAX_VERSION_LENGTH, type Ordering, compareDigits, isAlphaCode, isDigitCode, tooLong } from './common.ts';
import { comparePrerelease } from './semver.ts';

export interface GoVersion extends ParsedVersion {
  readonly scheme: 'go';
  readonly kind: 'module' | 'toolchain';
  /** Decimal strings; `patch` is "" for a toolchain language version or a "go1.21rc1" pre-release. */
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
  /** Module: the pre-release identifiers. Toolchain: [kind] or [kind, number], e.g. ["rc", "1"]. */
  readonly prerelease: readonly string[];
  /** Module: build metadata without "+"; "" when absent. */
  readonly build: string;
  /** x/mod Canonical for modules ("v1.2.0-pre"), "go" + the stripped version for toolchains. */
  readonly canonical: string;
  readonly pseudo: boolean;
  readonly incompatible: boolean;
  /** Toolchain language version ("go1.21": below its release candidates). */
  readonly language: boolean;
}

/** gover: the first release where "1.N" stopped meaning "1.N.0". */
const FIRST_LANGUAGE_MINOR = '21';
/** Digits in a pseudo-version timestamp (yyyymmddhhmmss). */
const PSEUDO_TIMESTAMP_DIGITS = 14;

const TAIL_LANGUAGE = 0;
const TAIL_PRERELEASE = 1;
const TAIL_RELEASE = 2;

function isIdentChar(c: number): boolean {
  return isDigitCode(c) || isAlphaCode(c) || c === 0x2d;
}

/** x/mod parseInt and gover cutInt: digits without an unnecessary leading zero; returns the end or -1. */
function cutInt(v: string, pos: number): number {
  let end = pos;
  while (end < v.length && isDigitCode(v.charCodeAt(end))) end++;
  if (end === pos || (v.charCodeAt(pos) === 0x30 && end - pos > 1)) return -1;
  return end;
}

/** x/mod parsePrerelease / parseBuild over v[start, end) (after the '-' or '+'). */
function identifiers(v: string, start: number, end: number, rejectLeadingZero: boolean): string[] | undefined {
  if (start >= end) return undefined;
  const ids = v.slice(start, end).split('.');
  for (const id of ids) {
    if (id === '') return undefined;
    let numeric = true;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      if (!isIdentChar(c)) return undefined;
      if (!isDigitCode(c)) numeric = false;
    }
    if (rejectLeadingZero && numeric && id.length > 1 && id.charCodeAt(0) === 0x30) return undefined;
  }
  return ids;
}

interface Core {
  major: string;
  minor: string;
  patch: string;
  prerelease: string[];
  build: string;
  canonical: string;
}

/** golang.org/x/mod/semver parse; `v` starts with "v". */
function parseModule(v: string): Core | undefined {
  let pos = 1;
  let end = cutInt(v, pos);
  if (end < 0) return undefined;
  const major = v.slice(pos, end);
  if (end === v.length) return { major, minor: '0', patch: '0', prerelease: [], build: '', canonical: `${v}.0.0` };
  if (v.charCodeAt(end) !== 0x2e) return undefined;
  pos = end + 1;
  end = cutInt(v, pos);
  if (end < 0) return undefined;
  const minor = v.slice(pos, end);
  if (end === v.length) return { major, minor, patch: '0', prerelease: [], build: '', canonical: `${v}.0` };
  if (v.charCodeAt(end) !== 0x2e) return undefined;
  pos = end + 1;
  end = cutInt(v, pos);
  if (end < 0) return undefined;
  const patch = v.slice(pos, end);
  pos = end;
  let prerelease: string[] = [];
  let build = '';
  const plus = v.indexOf('+', pos);
  const preEnd = plus >= 0 ? plus : v.length;
  if (pos < preEnd) {
    if (v.charCodeAt(pos) !== 0x2d) return undefined;
    const ids = identifiers(v, pos + 1, preEnd, true);
    if (ids === undefined) return undefined;
    prerelease = ids;
  }
  if (plus >= 0) {
    if (identifiers(v, plus + 1, v.length, false) === undefined) return undefined;
    build = v.slice(plus + 1);
  }
  return { major, minor, patch, prerelease, build, canonical: v.slice(0, preEnd) };
}

/** gover.Parse; `x` is the version after "go" and before any "-suffix". */
function parseToolchain(x: string): Core | undefined {
  let end = cutInt(x, 0);
  if (end < 0) return undefined;
  const major = x.slice(0, end);
  const canonical = `go${x}`;
  if (end === x.length) return { major, minor: '0', patch: '0', prerelease: [], build: '', canonical };
  if (x.charCodeAt(end) !== 0x2e) return undefined;
  const minorStart = end + 1;
  end = cutInt(x, minorStart);
  if (end < 0) return undefined;
  const minor = x.slice(minorStart, end);
  if (end === x.length) {
    // Before Go 1.21 a missing patch is the same as ".0"; from 1.21 on it names the language.
    const patch = compareDigits(minor, FIRST_LANGUAGE_MINOR) < 0 ? '0' : '';
    return { major, minor, patch, prerelease: [], build: '', canonical };
  }
  let patch = '';
  let rest = end;
  if (x.charCodeAt(end) === 0x2e) {
    const patchEnd = cutInt(x, end + 1);
    if (patchEnd < 0) return undefined;
    patch = x.slice(end + 1, patchEnd);
    if (patchEnd === x.length) return { major, minor, patch, prerelease: [], build: '', canonical };
    rest = patchEnd;
  }
  // gover parsePreRelease: a lowercase word, then optionally a number and nothing after it.
  let i = rest;
  while (i < x.length && !isDigitCode(x.charCodeAt(i))) {
    const c = x.charCodeAt(i);
    if (c < 0x61 || c > 0x7a) return undefined;
    i++;
  }
  if (i === rest) return undefined;
  const kind = x.slice(rest, i);
  if (i === x.length) return { major, minor, patch, prerelease: [kind], build: '', canonical };
  const preEnd = cutInt(x, i);
  if (preEnd !== x.length) return undefined;
  return { major, minor, patch, prerelease: [kind, x.slice(i)], build: '', canonical };
}

/** golang.org/x/mod/module IsPseudoVersion, without its regular expression. */
function isPseudo(c: Core): boolean {
  const p = c.prerelease.join('.');
  const dash = p.lastIndexOf('-');
  if (dash < 0 || dash === p.length - 1) return false;
  for (let i = dash + 1; i < p.length; i++) {
    const ch = p.charCodeAt(i);
    if (!isDigitCode(ch) && !isAlphaCode(ch)) return false;
  }
  const stampStart = dash - PSEUDO_TIMESTAMP_DIGITS;
  if (stampStart < 0) return false;
  for (let i = stampStart; i < dash; i++) if (!isDigitCode(p.charCodeAt(i))) return false;
  const prefix = p.slice(0, stampStart);
  if (prefix === '') return c.minor === '0' && c.patch === '0';
  return prefix === '0.' || prefix.endsWith('.0.');
}

function tail(c: { readonly prerelease: readonly string[]; readonly patch: string }, kind: GoVersion['kind']): number {
  if (c.prerelease.length > 0) return TAIL_PRERELEASE;
  return kind === 'toolchain' && c.patch === '' ? TAIL_LANGUAGE : TAIL_RELEASE;
}

export function parseGo(input: string): GoVersion | InvalidVersionError {
  if (input.length > MAX_VERSION_LENGTH) return tooLong('go', input);
  const fail = (why: string): InvalidVersionError => new InvalidVersionError(`go version '${input}': ${why}`);
  const warnings: string[] = [];
  let kind: GoVersion['kind'];
  let core: Core | undefined;
  if (input.startsWith('go')) {
    kind = 'toolchain';
    const dash = input.indexOf('-');
    if (dash >= 0) warnings.push(`toolchain suffix '${input.slice(dash)}' is ignored`);
    core = parseToolchain(input.slice(2, dash >= 0 ? dash : input.length));
    if (core === undefined) return fail('not a Go toolchain version (go/version IsValid is false)');
  } else {
    kind = 'module';
    let v = input;
    if (isDigitCode(input.charCodeAt(0))) {
      v = `v${input}`;
      warnings.push("missing 'v' prefix (OSV form): read as " + v);
    }
    core = v.startsWith('v') ? parseModule(v) : undefined;
    if (core === undefined) return fail('not a Go module version (golang.org/x/mod/semver IsValid is false)');
  }
  const language = kind === 'toolchain' && tail(core, kind) === TAIL_LANGUAGE;
  return {
    scheme: 'go',
    input,
    kind,
    major: core.major,
    minor: core.minor,
    patch: core.patch,
    prerelease: core.prerelease,
    build: core.build,
    canonical: core.canonical,
    pseudo: kind === 'module' && isPseudo(core),
    incompatible: core.build === 'incompatible',
    language,
    warnings,
  };
}

export function compareGoParsed(a: GoVersion, b: GoVersion): Ordering {
  const c = compareDigits(a.major, b.major) || compareDigits(a.minor, b.minor);
  if (c !== 0) return c;
  // gover CmpInt: the missing patch ("") sorts before every number, even "0".
  if (a.patch === '' || b.patch === '') {
    if (a.patch !== b.patch) return a.patch === '' ? -1 : 1;
  } else {
    const p = compareDigits(a.patch, b.patch);
    if (p !== 0) return p;
  }
  const ta = tail(a, a.kind);
  const tb = tail(b, b.kind);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return ta === TAIL_PRERELEASE ? comparePrerelease(a.prerelease, b.prerelease) : 0;
}

/** Compares two Go versions (module or toolchain); invalid strings sort first. Never throws. */
export function compareGo(a: string, b: string): Ordering {
  const pa = parseGo(a);
  const pb = parseGo(b);
  const ia = pa instanceof InvalidVersionError;
  const ib = pb instanceof InvalidVersionError;
  if (ia || ib) return ia === ib ? 0 : ia ? -1 : 1;
  return compareGoParsed(pa, pb);
}

/**
 * The semver form the Go vulnerability database uses for the standard library and toolchain
 * (golang.org/x/vuln's GoTagToSemver): go1.21.3 -> v1.21.3, go1.21rc1 -> v1.21.0-rc.1,
 * go1.21 -> v1.21.0. Undefined for anything that is not a valid toolchain version.
 */
export function goToolchainToSemver(v: string): string | undefined {
  const p = parseGo(v);
  if (p instanceof InvalidVersionError || p.kind !== 'toolchain') return undefined;
  const core = `v${p.major}.${p.minor}.${p.patch === '' ? '0' : p.patch}`;
  return p.prerelease.length === 0 ? core : `${core}-${p.prerelease.join('.')}`;
}

export const goScheme: VersionScheme<GoVersion> = {
  id: 'go',
  reference: 'golang.org/x/mod/semver Compare (v0.7.0) + go/version Compare (internal/gover)',
  compare: compareGo,
  parse: parseGo,
  valid: (v) => !(parseGo(v) instanceof InvalidVersionError),
};
