/**
 * Alpine (apk) package versions: digit{.digit}...{letter}{_suf{#}}...{~hash}{-r#}.
 *
 * Reference: apk-tools 3.x src/version.c (alpinelinux/apk-tools; `token_first`, `token_next`,
 * `token_cmp`, `apk_version_validate`, `apk_version_compare_fuzzy`, `apk_version_match`), with
 * src/ctype.c (suffix letters a-z, commit hash 0-9a-f) and src/blob.c `apk_blob_pull_uint`.
 * Its unit vectors (test/unit/version.data) pass here row for row.
 *
 * The rules, in apk's words: a version is read as a token stream. Tokens of the same kind
 * compare by value: numbers numerically, except that a non-first digit group with a leading zero
 * compares as a string (Gentoo rule); suffixes in the order _alpha < _beta < _pre < _rc < (none)
 * < _cvs < _svn < _git < _hg < _p; letters and commit hashes as bytes. At the first difference
 * in token kind, a pre-release suffix is older; otherwise the version whose token comes earlier
 * in the grammar is newer (1.0.1 > 1.0a > 1.0_p1 > 1.0-r1 > 1.0 > 1.0_rc1). An invalid tail
 * compares as older than any valid continuation and equal to any other invalid tail.
 *
 * apk keeps numbers in a uint64_t that wraps on overflow; this module computes the same wrapped
 * value (without going through a JS number) so that 20+ digit segments order as apk orders them.
 *
 * apk-tools 2.14 (Alpine 3.19 to 3.22) orders every valid version the same way; it differs only
 * on strings 3.x rejects: "1-r" (2.14: = 1-r0), "1_" (2.14: empty suffix = none), "1.a", and
 * "~hash", which 2.14 does not know.
 */
import type { ParsedVersion, VersionScheme } from './index.ts';
import { InvalidVersionError, MAX_VERSION_LENGTH, type Ordering, cBytes, compareBytes, isDigitCode, tooLong } from './common.ts';

export interface ApkVersion extends ParsedVersion {
  readonly scheme: 'apk';
  /** The part before "-r" (or the whole version). */
  readonly version: string;
  /** The package revision after "-r", as written; undefined when absent. */
  readonly revision: string | undefined;
  /** The commit hash after "~"; undefined when absent. */
  readonly commitHash: string | undefined;
}

const TOKEN_INITIAL_DIGIT = 0;
const TOKEN_DIGIT = 1;
const TOKEN_LETTER = 2;
const TOKEN_SUFFIX = 3;
const TOKEN_SUFFIX_NO = 4;
const TOKEN_COMMIT_HASH = 5;
const TOKEN_REVISION_NO = 6;
const TOKEN_END = 7;
const TOKEN_INVALID = 8;

/** Suffix values in apk order; SUFFIX_NONE separates pre-release from post-release suffixes. */
const SUFFIXES = ['', 'alpha', 'beta', 'pre', 'rc', '', 'cvs', 'svn', 'git', 'hg', 'p'] as const;
const SUFFIX_INVALID = 0;
const SUFFIX_NONE = 5;

/** apk_version_compare results, as bits so that `match` can mask them like apk does. */
const APK_EQUAL = 1;
const APK_LESS = 2;
const APK_GREATER = 4;
const APK_FUZZY = 8;
const APK_DEPMASK_ANY = APK_EQUAL | APK_LESS | APK_GREATER | APK_FUZZY;

/** One tokenizer over one byte string: the token kind and where its value lies. */
interface TokenState {
  s: string;
  pos: number;
  token: number;
  suffix: number;
  valueStart: number;
  valueEnd: number;
}

function isLower(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}

function isHexLower(c: number): boolean {
  return isDigitCode(c) || (c >= 0x61 && c <= 0x66);
}

function parseDigits(t: TokenState): void {
  const start = t.pos;
  while (t.pos < t.s.length && isDigitCode(t.s.charCodeAt(t.pos))) t.pos++;
  t.valueStart = start;
  t.valueEnd = t.pos;
  if (t.pos === start) t.token = TOKEN_INVALID;
}

function tokenFirst(s: string): TokenState {
  const t: TokenState = { s, pos: 0, token: TOKEN_INITIAL_DIGIT, suffix: SUFFIX_INVALID, valueStart: 0, valueEnd: 0 };
  parseDigits(t);
  return t;
}

function suffixValue(s: string, start: number, end: number): number {
  const word = s.slice(start, end);
  for (let v = 1; v < SUFFIXES.length; v++) if (v !== SUFFIX_NONE && SUFFIXES[v] === word) return v;
  return SUFFIX_INVALID;
}

function tokenNext(t: TokenState): void {
  const s = t.s;
  if (t.pos >= s.length) {
    t.token = TOKEN_END;
    return;
  }
  const c = s.charCodeAt(t.pos);
  if (isLower(c)) {
    if (t.token > TOKEN_DIGIT) return invalid(t);
    t.valueStart = t.pos;
    t.valueEnd = ++t.pos;
    t.token = TOKEN_LETTER;
  } else if (c === 0x2e /* . */ || isDigitCode(c)) {
    if (c === 0x2e) {
      if (t.token > TOKEN_DIGIT) return invalid(t);
      t.pos++;
    }
    if (t.token === TOKEN_INITIAL_DIGIT || t.token === TOKEN_DIGIT) t.token = TOKEN_DIGIT;
    else if (t.token === TOKEN_SUFFIX) t.token = TOKEN_SUFFIX_NO;
    else return invalid(t);
    parseDigits(t);
  } else if (c === 0x5f /* _ */) {
    if (t.token > TOKEN_SUFFIX_NO) return invalid(t);
    const start = ++t.pos;
    while (t.pos < s.length && isLower(s.charCodeAt(t.pos))) t.pos++;
    t.valueStart = start;
    t.valueEnd = t.pos;
    t.suffix = suffixValue(s, start, t.pos);
    if (t.suffix === SUFFIX_INVALID) return invalid(t);
    t.token = TOKEN_SUFFIX;
  } else if (c === 0x7e /* ~ */) {
    if (t.token >= TOKEN_COMMIT_HASH) return invalid(t);
    const start = ++t.pos;
    while (t.pos < s.length && isHexLower(s.charCodeAt(t.pos))) t.pos++;
    if (t.pos === start) return invalid(t);
    t.valueStart = start;
    t.valueEnd = t.pos;
    t.token = TOKEN_COMMIT_HASH;
  } else if (c === 0x2d /* - */) {
    if (t.token >= TOKEN_REVISION_NO) return invalid(t);
    if (s.charCodeAt(t.pos + 1) !== 0x72 /* r */) return invalid(t);
    t.pos += 2;
    t.token = TOKEN_REVISION_NO;
    parseDigits(t);
  } else {
    invalid(t);
  }
}

function invalid(t: TokenState): void {
  t.token = TOKEN_INVALID;
}

const TWO_32 = 4294967296;

/**
 * The digit run s[start, end) as apk_blob_pull_uint reads it: a uint64_t that wraps modulo
 * 2^64, returned as [high 32 bits, low 32 bits]. Linear, exact, no JS number above 2^36.
 */
function u64Wrapped(s: string, start: number, end: number): [number, number] {
  let hi = 0;
  let lo = 0;
  for (let i = start; i < end; i++) {
    const lo10 = lo * 10 + (s.charCodeAt(i) - 0x30);
    const carry = Math.floor(lo10 / TWO_32);
    lo = lo10 - carry * TWO_32;
    hi = (hi * 10 + carry) % TWO_32;
  }
  return [hi, lo];
}

function compareNumbers(a: TokenState, b: TokenState): Ordering {
  const [ah, al] = u64Wrapped(a.s, a.valueStart, a.valueEnd);
  const [bh, bl] = u64Wrapped(b.s, b.valueStart, b.valueEnd);
  if (ah !== bh) return ah < bh ? -1 : 1;
  return al === bl ? 0 : al < bl ? -1 : 1;
}

function tokenCmp(a: TokenState, b: TokenState): Ordering {
  switch (a.token) {
    case TOKEN_DIGIT:
      // A leading zero makes the group a string (Gentoo's rule for "1.05" vs "1.1").
      if (a.s.charCodeAt(a.valueStart) === 0x30 || b.s.charCodeAt(b.valueStart) === 0x30) {
        return compareBytes(a.s.slice(a.valueStart, a.valueEnd), b.s.slice(b.valueStart, b.valueEnd));
      }
      return compareNumbers(a, b);
    case TOKEN_INITIAL_DIGIT:
    case TOKEN_SUFFIX_NO:
    case TOKEN_REVISION_NO:
      return compareNumbers(a, b);
    case TOKEN_LETTER: {
      const d = a.s.charCodeAt(a.valueStart) - b.s.charCodeAt(b.valueStart);
      return d < 0 ? -1 : d > 0 ? 1 : 0;
    }
    case TOKEN_SUFFIX:
      return a.suffix < b.suffix ? -1 : a.suffix > b.suffix ? 1 : 0;
    default:
      return compareBytes(a.s.slice(a.valueStart, a.valueEnd), b.s.slice(b.valueStart, b.valueEnd));
  }
}

/** apk_version_compare_fuzzy over byte strings: APK_LESS, APK_EQUAL or APK_GREATER. */
function compareFuzzy(a: string, b: string, fuzzy: boolean): number {
  const ta = tokenFirst(a);
  const tb = tokenFirst(b);
  while (ta.token === tb.token && ta.token < TOKEN_END) {
    const r = tokenCmp(ta, tb);
    if (r !== 0) return r < 0 ? APK_LESS : APK_GREATER;
    tokenNext(ta);
    tokenNext(tb);
  }
  if (ta.token === tb.token) return APK_EQUAL;
  if (tb.token === TOKEN_END && fuzzy) return APK_EQUAL;
  if (ta.token === TOKEN_SUFFIX && ta.suffix < SUFFIX_NONE) return APK_LESS;
  if (tb.token === TOKEN_SUFFIX && tb.suffix < SUFFIX_NONE) return APK_GREATER;
  if (ta.token > tb.token) return APK_LESS;
  if (tb.token > ta.token) return APK_GREATER;
  return APK_EQUAL;
}

/** Compares two apk versions like apk_version_compare (`apk version -t a b`). Never throws. */
export function compareApk(a: string, b: string): Ordering {
  const r = compareFuzzy(cBytes(a), cBytes(b), false);
  return r === APK_LESS ? -1 : r === APK_GREATER ? 1 : 0;
}

/**
 * apk_version_match: whether "a op b" holds, for a dependency operator made of `<`, `>`, `=`
 * and `~` (fuzzy: b is a prefix of a, as in "foo~3.6"). An unknown operator never matches.
 */
export function apkVersionMatch(a: string, op: string, b: string): boolean {
  let mask = 0;
  for (const ch of op) {
    if (ch === '<') mask |= APK_LESS;
    else if (ch === '>') mask |= APK_GREATER;
    else if (ch === '=') mask |= APK_EQUAL;
    else if (ch === '~') mask |= APK_FUZZY | APK_EQUAL;
    else return false;
  }
  if ((mask & APK_DEPMASK_ANY) === APK_DEPMASK_ANY) return true;
  return (compareFuzzy(cBytes(a), cBytes(b), (mask & APK_FUZZY) !== 0) & mask) !== 0;
}

/** apk_version_validate: whether the whole string is one valid token stream. */
function validateBytes(s: string): { ok: boolean; failedAt: number } {
  const t = tokenFirst(s);
  while (t.token < TOKEN_END) tokenNext(t);
  return { ok: t.token === TOKEN_END, failedAt: t.pos };
}

export function parseApk(v: string): ApkVersion | InvalidVersionError {
  if (v.length > MAX_VERSION_LENGTH) return tooLong('apk', v);
  if (v.includes('\0')) return new InvalidVersionError('apk version contains a NUL character');
  const s = cBytes(v);
  const { ok, failedAt } = validateBytes(s);
  if (!ok) return new InvalidVersionError(`apk version '${v}' is not valid (apk_version_validate fails near offset ${failedAt})`);
  // A valid version is ASCII, so indexes in s are indexes in v.
  const rev = v.lastIndexOf('-r');
  const hash = v.indexOf('~');
  return {
    scheme: 'apk',
    input: v,
    version: rev >= 0 ? v.slice(0, rev) : v,
    revision: rev >= 0 ? v.slice(rev + 2) : undefined,
    commitHash: hash >= 0 ? v.slice(hash + 1, rev >= 0 ? rev : v.length) : undefined,
    warnings: [],
  };
}

export const apkScheme: VersionScheme<ApkVersion> = {
  id: 'apk',
  reference: 'apk-tools 3.x src/version.c apk_version_compare / apk_version_validate',
  compare: compareApk,
  parse: parseApk,
  valid: (v) => !(parseApk(v) instanceof InvalidVersionError),
};
