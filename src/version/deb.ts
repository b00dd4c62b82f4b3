/**
 * Debian package versions: [epoch:]upstream_version[-debian_revision].
 *
 * Reference: dpkg 1.21.22 (Debian 12), read at guillemj/dpkg
 * - lib/dpkg/version.c `order`, `verrevcmp`, `dpkg_version_compare`;
 * - lib/dpkg/parsehelp.c `parseversion` (which problems are errors and which are warnings);
 * - src/main/enquiry.c `cmpversions` (`dpkg --compare-versions`: "" and "<unknown>" are the
 *   empty version, lower than any other; a warning is printed and the comparison goes on, an
 *   error stops dpkg).
 * Policy: Debian Policy §5.6.12 "Version" and deb-version(5).
 *
 * `compare` agrees with `dpkg --compare-versions` on every pair dpkg accepts, including strings
 * it only warns about (no leading digit, characters outside the allowed set). For strings dpkg
 * refuses outright (bad epoch, empty revision, embedded spaces) `compare` still returns a
 * consistent total order, documented at `laxFallback` below, and `parse` returns the error.
 */
import type { ParsedVersion, VersionScheme } from './index.ts';
import {
  InvalidVersionError,
  MAX_VERSION_LENGTH,
  type Ordering,
  cBytes,
  compareDigits,
  isAlphaCode,
  isAscii,
  isDigitCode,
  stripZeros,
  tooLong,
} from './common.ts';

export interface DebVersion extends ParsedVersion {
  readonly scheme: 'deb';
  /** Decimal epoch without leading zeros; "0" when absent. */
  readonly epoch: string;
  readonly upstream: string;
  /** Debian revision; "" when the version has no hyphen. */
  readonly revision: string;
}

/** dpkg stores the epoch in an int and refuses anything above INT_MAX. */
const MAX_EPOCH_DIGITS = '2147483647';

/** The split of one version string, with dpkg's verdict on it. */
interface Split {
  /** The empty version of `dpkg --compare-versions` ("" or "<unknown>"). */
  none: boolean;
  epoch: string;
  upstream: string;
  revision: string;
  /** dpkg's error message: dpkg would refuse this version. */
  error?: string;
  /** dpkg's warning message: dpkg accepts it with a warning. */
  warning?: string;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** The characters strtol(3) skips before a number (isspace in the C locale). */
function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * Splits like dpkg's parseversion. Where dpkg stops with an error, this records the error and
 * continues with a lax reading so that `compare` stays total (laxFallback):
 * - only blanks: the empty version;
 * - embedded blanks: kept as ordinary characters;
 * - an epoch that is empty, not a number or negative: no epoch, the colon stays in the upstream part;
 * - an epoch above INT_MAX: kept as an exact big number;
 * - nothing after the colon, an empty upstream or an empty revision: that part is "".
 */
function split(s: string, withWarnings: boolean): Split {
  const n = s.length;
  let start = 0;
  while (start < n && isBlank(s.charCodeAt(start))) start++;
  if (start === n) return { none: true, epoch: '0', upstream: '', revision: '', error: 'version string is empty' };

  let error: string | undefined;
  let end = start;
  while (end < n && !isBlank(s.charCodeAt(end))) end++;
  let p = end;
  while (p < n && isBlank(s.charCodeAt(p))) p++;
  if (p < n) {
    error = 'version string has embedded spaces';
    end = n;
    while (isBlank(s.charCodeAt(end - 1))) end--;
  }

  let epoch = '0';
  let versionStart = start;
  const colon = s.indexOf(':', start);
  if (colon >= 0 && colon < end) {
    // strtol(string, &end, 10): optional white space, an optional sign, then digits.
    let q = start;
    while (q < colon && isCSpace(s.charCodeAt(q))) q++;
    let negative = false;
    const signChar = s.charCodeAt(q);
    if (signChar === 0x2b || signChar === 0x2d) {
      negative = signChar === 0x2d;
      q++;
    }
    const digitsStart = q;
    while (q < end && isDigitCode(s.charCodeAt(q))) q++;
    const digits = stripZeros(s.slice(digitsStart, q));
    let epochError: string | undefined;
    if (q === digitsStart) epochError = 'epoch in version is empty';
    else if (q !== colon) epochError = 'epoch in version is not number';
    else if (negative && digits !== '0') epochError = 'epoch in version is negative';
    if (epochError !== undefined) {
      error ??= epochError;
    } else {
      if (compareDigits(digits, MAX_EPOCH_DIGITS) > 0) error ??= 'epoch in version is too big';
      if (colon + 1 === n) error ??= 'nothing after colon in version number';
      epoch = digits;
      versionStart = colon + 1;
    }
  }

  let upstream = s.slice(versionStart, Math.max(versionStart, end));
  let revision = '';
  const hyphen = upstream.lastIndexOf('-');
  if (hyphen >= 0) {
    revision = upstream.slice(hyphen + 1);
    upstream = upstream.slice(0, hyphen);
    if (revision === '') error ??= 'revision number is empty';
  }
  if (upstream === '') error ??= 'version number is empty';
  if (error !== undefined) return { none: false, epoch, upstream, revision, error };

  const warning = withWarnings ? checkCharacters(upstream, revision) : undefined;
  return warning === undefined
    ? { none: false, epoch, upstream, revision }
    : { none: false, epoch, upstream, revision, warning };
}

/** dpkg's lax checks, in its order: only the first problem is reported. */
function checkCharacters(upstream: string, revision: string): string | undefined {
  if (!isDigitCode(upstream.charCodeAt(0))) return 'version number does not start with digit';
  for (let i = 1; i < upstream.length; i++) {
    const c = upstream.charCodeAt(i);
    if (!isDigitCode(c) && !isAlphaCode(c) && '.-+~:'.indexOf(upstream[i]!) < 0) return 'invalid character in version number';
  }
  for (let i = 0; i < revision.length; i++) {
    const c = revision.charCodeAt(i);
    if (!isDigitCode(c) && !isAlphaCode(c) && '.+~'.indexOf(revision[i]!) < 0) return 'invalid character in revision number';
  }
  return undefined;
}

/**
 * dpkg's order(): the weight of one byte in the non-digit part. `~` sorts before everything,
 * even the end of the string; the end and digits weigh 0; letters weigh their code; every other
 * byte weighs more than any letter. dpkg reads `char`, signed on amd64 where the Debian tools
 * run, so a byte >= 0x80 weighs (byte - 256) + 256: between the letters and ASCII punctuation.
 */
function order(c: number): number {
  if (isDigitCode(c) || c === 0) return 0;
  if (isAlphaCode(c)) return c;
  if (c === 0x7e) return -1;
  return c >= 0x80 ? c : c + 256;
}

/** The byte at i, or 0 past the end (the C string terminator; cBytes cut any NUL before it). */
function byteAt(s: string, i: number): number {
  return i < s.length ? s.charCodeAt(i) : 0;
}

/** dpkg's verrevcmp over the byte strings a and b. Linear in their lengths. */
export function verrevcmp(a: string, b: string): Ordering {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let ca = byteAt(a, i);
    let cb = byteAt(b, j);
    while ((ca !== 0 && !isDigitCode(ca)) || (cb !== 0 && !isDigitCode(cb))) {
      const ac = order(ca);
      const bc = order(cb);
      if (ac !== bc) return ac < bc ? -1 : 1;
      ca = byteAt(a, ++i);
      cb = byteAt(b, ++j);
    }
    while (ca === 0x30) ca = byteAt(a, ++i);
    while (cb === 0x30) cb = byteAt(b, ++j);
    let firstDiff = 0;
    while (isDigitCode(ca) && isDigitCode(cb)) {
      if (firstDiff === 0) firstDiff = ca - cb;
      ca = byteAt(a, ++i);
      cb = byteAt(b, ++j);
    }
    if (isDigitCode(ca)) return 1;
    if (isDigitCode(cb)) return -1;
    if (firstDiff !== 0) return firstDiff < 0 ? -1 : 1;
  }
  return 0;
}

function splitForCompare(v: string): Split {
  const s = cBytes(v);
  if (s === '' || s === '<unknown>') return { none: true, epoch: '0', upstream: '', revision: '' };
  return split(s, false);
}

function compareSplits(a: Split, b: Split): Ordering {
  if (a.none || b.none) return a.none === b.none ? 0 : a.none ? -1 : 1;
  const e = compareDigits(a.epoch, b.epoch);
  if (e !== 0) return e;
  return verrevcmp(a.upstream, b.upstream) || verrevcmp(a.revision, b.revision);
}

/** Compares two Debian versions the way `dpkg --compare-versions` does. Never throws. */
export function compareDeb(a: string, b: string): Ordering {
  return compareSplits(splitForCompare(a), splitForCompare(b));
}

/** Compares two parsed versions (cheaper when one side is compared many times). */
export function compareDebParsed(a: DebVersion, b: DebVersion): Ordering {
  const e = compareDigits(a.epoch, b.epoch);
  if (e !== 0) return e;
  return verrevcmp(cBytes(a.upstream), cBytes(b.upstream)) || verrevcmp(cBytes(a.revision), cBytes(b.revision));
}

function fromBytes(s: string): string {
  return isAscii(s) ? s : Buffer.from(s, 'latin1').toString('utf8');
}

/**
 * Parses like dpkg's parseversion: an InvalidVersionError where dpkg errors, a DebVersion with
 * `warnings` where dpkg only warns.
 */
export function parseDeb(v: string): DebVersion | InvalidVersionError {
  if (v.length > MAX_VERSION_LENGTH) return tooLong('deb', v);
  if (v.includes('\0')) return new InvalidVersionError('deb version contains a NUL character');
  const s = split(cBytes(v), true);
  if (s.error !== undefined) return new InvalidVersionError(`deb version '${v}': ${s.error}`);
  return {
    scheme: 'deb',
    input: v,
    epoch: s.epoch,
    upstream: fromBytes(s.upstream),
    revision: fromBytes(s.revision),
    warnings: s.warning === undefined ? [] : [s.warning],
  };
}

export const debScheme: VersionScheme<DebVersion> = {
  id: 'deb',
  reference: 'dpkg 1.21.22 lib/dpkg/version.c verrevcmp + lib/dpkg/parsehelp.c parseversion',
  compare: compareDeb,
  parse: parseDeb,
  valid: (v) => !(parseDeb(v) instanceof InvalidVersionError),
};
