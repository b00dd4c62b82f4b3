/**
 * One conformance suite run against every registered VersionScheme: the registry, the order
 * properties the matcher relies on (reflexive, antisymmetric, transitive: a total preorder, on
 * valid and invalid strings alike), hostile input (never throws, bounded length, linear time).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidVersionError, MAX_VERSION_LENGTH, VERSION_SCHEMES, VERSION_SCHEME_IDS, isVersionSchemeId, schemeFor, type VersionSchemeId } from '../../src/version/index.ts';
import { UsageError } from '../../src/util/errors.ts';
import { fuzzCases, prng } from '../helpers/fuzz.ts';
import { GENERATORS, pairs, type Rng } from './generate.ts';

test('the registry lists each scheme once and schemeFor finds every id', () => {
  assert.deepEqual(VERSION_SCHEMES.map((s) => s.id), [...VERSION_SCHEME_IDS]);
  for (const id of VERSION_SCHEME_IDS) assert.equal(schemeFor(id).id, id);
  assert.ok(isVersionSchemeId('deb') && !isVersionSchemeId('pypi'));
  assert.throws(() => schemeFor('pypi' as VersionSchemeId), UsageError);
});

/** A few hundred versions, half of them edits of others so that many share prefixes. */
function sample(id: VersionSchemeId, count: number, seed: number): string[] {
  return pairs(GENERATORS[id], count / 2, seed).flat();
}

const PROPERTY_CASES = fuzzCases(400);

/** Random strings of hostile characters: NUL, controls, non-ASCII, lone surrogates, separators. */
function garbage(rnd: Rng): string {
  const alphabet = ['0', '1', '9', 'a', 'Z', '.', '-', '+', '~', '^', '_', ':', 'v', 'go', 'r', ' ', '\t', '\n', '\0', 'é', '\u{1F600}', '\ud800', '\x7f', '\xff'];
  let s = '';
  const n = Math.floor(rnd() * 24);
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rnd() * alphabet.length)]!;
  return s;
}

for (const scheme of VERSION_SCHEMES) {
  const id = scheme.id;

  test(`${id}: compare is reflexive and antisymmetric on generated versions`, () => {
    for (const [a, b] of pairs(GENERATORS[id], PROPERTY_CASES * 5, 11)) {
      assert.equal(scheme.compare(a, a), 0, `compare(${JSON.stringify(a)}, itself)`);
      assert.equal(scheme.compare(a, b), -scheme.compare(b, a) || 0, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
  });

  test(`${id}: compare is transitive on random triples`, () => {
    const rnd = prng(17);
    const pool = sample(id, PROPERTY_CASES, 23);
    for (let i = 0; i < PROPERTY_CASES * 10; i++) {
      const [a, b, c] = [0, 1, 2].map(() => pool[Math.floor(rnd() * pool.length)]!) as [string, string, string];
      const ab = scheme.compare(a, b);
      const bc = scheme.compare(b, c);
      const ac = scheme.compare(a, c);
      const triple = `${JSON.stringify(a)}, ${JSON.stringify(b)}, ${JSON.stringify(c)}`;
      if (ab <= 0 && bc <= 0) assert.ok(ac <= 0, `a<=b<=c but a>c: ${triple}`);
      if (ab >= 0 && bc >= 0) assert.ok(ac >= 0, `a>=b>=c but a<c: ${triple}`);
      if (ab === 0 && bc === 0) assert.equal(ac, 0, `a=b=c but a!=c: ${triple}`);
    }
  });

  test(`${id}: a sorted sample is consistent across every pair (total preorder)`, () => {
    const sorted = sample(id, 300, 29).sort((a, b) => scheme.compare(a, b));
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length; j++) {
        assert.ok(scheme.compare(sorted[i]!, sorted[j]!) <= 0, `${JSON.stringify(sorted[i])} sorted before ${JSON.stringify(sorted[j])} but compares greater`);
      }
    }
  });

  test(`${id}: parse and compare never throw on hostile strings, and valid matches parse`, () => {
    const rnd = prng(31);
    for (let i = 0; i < PROPERTY_CASES * 5; i++) {
      const a = garbage(rnd);
      const b = rnd() < 0.5 ? garbage(rnd) : GENERATORS[id](rnd);
      const p = scheme.parse(a);
      if (!(p instanceof InvalidVersionError)) {
        assert.equal(p.scheme, id);
        assert.equal(p.input, a);
      }
      assert.equal(scheme.valid(a), !(p instanceof InvalidVersionError));
      const c = scheme.compare(a, b);
      assert.ok(c === -1 || c === 0 || c === 1);
      assert.equal(scheme.compare(a, a), 0);
      assert.equal(c, -scheme.compare(b, a) || 0);
    }
  });

  test(`${id}: parse refuses a version longer than MAX_VERSION_LENGTH; compare stays fast on 256 KiB worst cases`, () => {
    const long = '1.' + '1'.repeat(MAX_VERSION_LENGTH);
    assert.ok(scheme.parse(long) instanceof InvalidVersionError);
    assert.equal(scheme.valid(long), false);
    // Worst cases for each algorithm: long digit runs, long separator runs, long tilde runs.
    const huge = 256 * 1024;
    const inputs = ['9'.repeat(huge), '0'.repeat(huge) + '1', '.'.repeat(huge), '~'.repeat(huge), 'v1.0.0-' + 'a.'.repeat(huge / 2) + 'a', '1' + '.1'.repeat(huge / 2)];
    const started = performance.now();
    for (const a of inputs) {
      for (const b of inputs) {
        const c = scheme.compare(a, b);
        assert.ok(c === -1 || c === 0 || c === 1);
      }
    }
    const ms = performance.now() - started;
    assert.ok(ms < 5000, `${inputs.length ** 2} comparisons of 256 KiB strings took ${ms.toFixed(0)} ms`);
  });
}
