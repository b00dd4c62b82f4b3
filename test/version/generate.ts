/**
 * Seeded generators of tricky version strings, one per scheme, for the differential tests
 * against the real tools and for the order properties. Pairs are often near-misses (one token
 * changed) so that comparisons reach deep into both strings.
 */
import { prng } from '../helpers/fuzz.ts';
import type { VersionSchemeId } from '../../src/version/index.ts';

export type Rng = () => number;

function pick<T>(rnd: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

function repeat(rnd: Rng, min: number, max: number, f: () => string): string {
  const n = min + Math.floor(rnd() * (max - min + 1));
  let s = '';
  for (let i = 0; i < n; i++) s += f();
  return s;
}

const NUMBERS = ['0', '1', '2', '9', '10', '01', '007', '00', '11', '99', '100', '2024', '20240101', '18446744073709551615', '18446744073709551616', '123456789012345678901234567890'];
const WORDS = ['a', 'b', 'z', 'A', 'Z', 'rc', 'beta', 'alpha', 'pre', 'p', 'git', 'dfsg', 'ubuntu', 'deb', 'el', 'fc', 'bpo', 'really', 'svn', 'cvs', 'hg'];

/** Debian: epochs (also invalid), ~ + . - : separators, letters, long numbers, odd characters. */
export function debVersion(rnd: Rng): string {
  const epoch = rnd() < 0.6 ? '' : pick(rnd, ['0:', '1:', '2:', '10:', '00:', '01:', '2147483647:', '2147483648:', '99999999999999999999:', 'a:', '-1:', '+1:', ':', '-0:']);
  const token = (): string =>
    rnd() < 0.45 ? pick(rnd, NUMBERS) : rnd() < 0.6 ? pick(rnd, WORDS) : pick(rnd, ['.', '.', '+', '~', '~', '-', ':', '~~', '+~', '.~', '_', '%', 'é', ' ', '']);
  let upstream = repeat(rnd, 1, 6, token);
  if (rnd() < 0.85 && !/^[0-9]/.test(upstream)) upstream = pick(rnd, NUMBERS) + upstream;
  const revision = rnd() < 0.4 ? '' : '-' + repeat(rnd, 0, 4, token);
  return epoch + upstream + revision;
}

/** RPM: epochs, ~ and ^, alpha/numeric segments, separators, releases, non-ASCII bytes. */
export function rpmVersion(rnd: Rng): string {
  const epoch = rnd() < 0.6 ? '' : pick(rnd, ['0:', '1:', '2:', '10:', '00:', ':', '18446744073709551616:']);
  const token = (): string =>
    rnd() < 0.45 ? pick(rnd, NUMBERS) : rnd() < 0.6 ? pick(rnd, WORDS) : pick(rnd, ['.', '.', '_', '+', '~', '~', '^', '^', '~~', '^~', '.^', 'α', '%', '']);
  const version = repeat(rnd, 1, 6, token);
  const release = rnd() < 0.3 ? '' : '-' + repeat(rnd, 0, 4, token);
  const out = epoch + version + release;
  return out === '' ? '0' : out;
}

/** apk: the grammar digit{.digit}...{letter}{_suf{#}}...{~hash}{-r#}, often broken on purpose. */
export function apkVersion(rnd: Rng): string {
  let s = pick(rnd, NUMBERS);
  s += repeat(rnd, 0, 3, () => '.' + pick(rnd, NUMBERS));
  if (rnd() < 0.25) s += pick(rnd, ['a', 'b', 'z']);
  s += repeat(rnd, 0, 2, () => '_' + pick(rnd, ['alpha', 'beta', 'pre', 'rc', 'cvs', 'svn', 'git', 'hg', 'p']) + (rnd() < 0.6 ? pick(rnd, NUMBERS) : ''));
  if (rnd() < 0.15) s += '~' + pick(rnd, ['abc123', '0', 'deadbeef', 'f']);
  if (rnd() < 0.6) s += '-r' + pick(rnd, NUMBERS);
  if (rnd() < 0.15) {
    // Break it: apk orders invalid tails too, and the order must stay consistent.
    const junk = pick(rnd, ['', '_', '_foo', '.', '-', '-r', 'A', '1a2', '.a', '~', '~xyz', '-r1-r2', '+1']);
    const at = Math.floor(rnd() * (s.length + 1));
    s = s.slice(0, at) + junk + s.slice(at);
  }
  return s;
}

const SEMVER_NUMBERS = ['0', '1', '2', '9', '10', '11', '99', '100', '123456789012345'];
const SEMVER_IDS = ['alpha', 'beta', 'rc', 'a', 'A', 'Z', 'x-y', '-', '0', '1', '2', '10', '11', '0a', 'a0', '01', '123456789012345'];

/**
 * SemVer 2.0.0 (and Go module) strings: pre-releases and build metadata, plus broken forms.
 * Numbers stay below 2^53 so that node-semver (which uses JS numbers) can be an oracle.
 */
export function semverVersion(rnd: Rng, prefix: 'v' | '' = rnd() < 0.5 ? 'v' : ''): string {
  let s = `${prefix}${pick(rnd, SEMVER_NUMBERS)}.${pick(rnd, SEMVER_NUMBERS)}.${pick(rnd, SEMVER_NUMBERS)}`;
  if (rnd() < 0.5) s += '-' + Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(rnd, SEMVER_IDS)).join('.');
  if (rnd() < 0.2) s += '+' + Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => pick(rnd, ['build', '001', 'sha', 'incompatible', 'x-1'])).join('.');
  if (rnd() < 0.1) {
    const junk = pick(rnd, ['', '.', '..', '-', '+', '01', ' ', '_', 'x']);
    const at = Math.floor(rnd() * (s.length + 1));
    s = s.slice(0, at) + junk + s.slice(at);
  }
  return s;
}

/** Go: module versions (shorthand v1 / v1.2, pseudo-versions, +incompatible) and toolchains. */
export function goVersion(rnd: Rng, kinds: 'module' | 'both' = 'both'): string {
  const r = rnd();
  if (kinds === 'both' && r < 0.35) {
    let s = `go1.${pick(rnd, ['0', '9', '19', '20', '21', '22', '99999999999999999999'])}`;
    if (rnd() < 0.5) s += `.${pick(rnd, ['0', '1', '3', '10'])}`;
    if (rnd() < 0.35) s += pick(rnd, ['rc', 'beta', 'alpha', 'testmod']) + (rnd() < 0.8 ? pick(rnd, ['1', '2', '10']) : '');
    if (rnd() < 0.1) s += pick(rnd, ['-bigcorp', '+auto', '.', 'RC1', '01']);
    return rnd() < 0.05 ? pick(rnd, ['go', 'go1.', 'go01', 'go1.021', '']) : s;
  }
  if (r < 0.5) return pick(rnd, ['v1', 'v2', 'v1.2', 'v1.19', 'v0', 'v0.0', 'v01', 'v1.2.03', 'vx', 'bad', '']);
  if (r < 0.65) {
    const base = pick(rnd, ['v0.0.0-', 'v1.2.4-0.', 'v1.2.3-pre.0.', 'v2.0.0-']);
    return `${base}${pick(rnd, ['20191109021931', '20240101000000', '2019110902193'])}-${pick(rnd, ['daa7c04131f5', 'abc', 'ABC123'])}${rnd() < 0.2 ? '+incompatible' : ''}`;
  }
  return semverVersion(rnd, 'v');
}

export const GENERATORS: Record<VersionSchemeId, (rnd: Rng) => string> = {
  deb: debVersion,
  rpm: rpmVersion,
  apk: apkVersion,
  semver: (rnd) => semverVersion(rnd),
  go: (rnd) => goVersion(rnd),
};

/**
 * `count` pairs from `gen`, seeded. Half the second versions are the first with one small edit,
 * so that many pairs share long prefixes.
 */
export function pairs(gen: (rnd: Rng) => string, count: number, seed: number): Array<[string, string]> {
  const rnd = prng(seed);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < count; i++) {
    const a = gen(rnd);
    let b = gen(rnd);
    if (rnd() < 0.5 && a.length > 0) {
      const at = Math.floor(rnd() * a.length);
      const edit = rnd();
      const other = b.charAt(Math.floor(rnd() * b.length)) || '0';
      b = edit < 0.4 ? a.slice(0, at) + other + a.slice(at + 1) : edit < 0.7 ? a.slice(0, at) + other + a.slice(at) : a.slice(0, at) + a.slice(at + 1);
    }
    if (rnd() < 0.05) b = a;
    out.push([a, b]);
  }
  return out;
}
