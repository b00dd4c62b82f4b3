/**
 * Table tests: every row of the public vectors in test/version/data (see its README for the
 * sources). Small hand-written tables get one named case per row; the large generated ones (real
 * distro versions in sorted order) are one case each that lists every failing row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { apkVersionMatch, compareApk, parseApk } from '../../src/version/apk.ts';
import { compareDeb } from '../../src/version/deb.ts';
import { compareGo, goToolchainToSemver, parseGo } from '../../src/version/go.ts';
import { InvalidVersionError } from '../../src/version/index.ts';
import { compareRpm, rpmvercmp } from '../../src/version/rpm.ts';
import { compareSemver, parseSemver } from '../../src/version/semver.ts';

const DATA = join(import.meta.dirname, 'data');

/** Rows of a TSV file (header dropped), each split on tabs. */
function rows(file: string): string[][] {
  const bytes = readFileSync(join(DATA, file));
  const text = file.endsWith('.gz') ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
  return text
    .split('\n')
    .slice(1)
    .filter((line) => line !== '')
    .map((line) => line.split('\t'));
}

function opResult(op: string): -1 | 0 | 1 {
  if (op === '<') return -1;
  if (op === '>') return 1;
  if (op === '=') return 0;
  throw new Error(`unknown operator ${op}`);
}

const OP_NAME = { '-1': '<', '0': '=', '1': '>' } as const;

function symbol(n: number): string {
  return OP_NAME[String(n) as keyof typeof OP_NAME];
}

/** Asserts `compare` on a pair and on the swapped pair (antisymmetry on real data). */
function assertOrder(compare: (a: string, b: string) => number, a: string, b: string, want: -1 | 0 | 1): void {
  assert.equal(symbol(compare(a, b)), symbol(want), `${a} ${symbol(want)} ${b}`);
  assert.equal(symbol(compare(b, a)), symbol(-want), `${b} ${symbol(-want)} ${a}`);
}

/** Runs a large sorted table as one case, collecting every failing row. */
function assertAllOrdered(file: string, compare: (a: string, b: string) => number, rowsOf: string[][]): void {
  const failures: string[] = [];
  for (const [a, op, b, line] of rowsOf) {
    const want = opResult(op!);
    if (compare(a!, b!) !== want || compare(b!, a!) !== -want) failures.push(`${file}:${line} ${a} ${op} ${b} (got ${symbol(compare(a!, b!))})`);
  }
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} of ${rowsOf.length} rows fail`);
}

// ---- Debian -------------------------------------------------------------------------------

for (const [a, b, cmp, comment, line] of rows('dpkg-apt-versions-lst.tsv')) {
  test(`deb (apt versions.lst:${line}) ${a} ${symbol(Number(cmp))} ${b}${comment ? ` — ${comment}` : ''}`, () => {
    assertOrder(compareDeb, a!, b!, Number(cmp) as -1 | 0 | 1);
  });
}

for (const [a, op, b, line] of rows('osv-scalibr-debian-versions.tsv')) {
  test(`deb (osv-scalibr debian-versions:${line}) ${a} ${op} ${b}`, () => assertOrder(compareDeb, a!, b!, opResult(op!)));
}

test('deb: 14,442 consecutive real Debian versions from OSV data are in ascending order', () => {
  assertAllOrdered('osv-scalibr-debian-versions-generated', compareDeb, rows('osv-scalibr-debian-versions-generated.tsv.gz'));
});

// ---- RPM ----------------------------------------------------------------------------------

for (const [a, b, cmp, active, line] of rows('rpm-rpmvercmp.tsv')) {
  const kind = active === 'true' ? 'rpmvercmp.at' : 'rpmvercmp.at documented oddity';
  test(`rpm (${kind}:${line}) rpmvercmp(${a}, ${b}) = ${cmp}`, () => {
    assert.equal(rpmvercmp(a!, b!), Number(cmp));
  });
}

for (const [a, op, b, line] of rows('osv-scalibr-redhat-versions.tsv')) {
  test(`rpm EVR (osv-scalibr redhat-versions:${line}) ${a} ${op} ${b}`, () => assertOrder(compareRpm, a!, b!, opResult(op!)));
}

// ---- Alpine -------------------------------------------------------------------------------

for (const [kind, a, op, b, negated, comment, line] of rows('apk-version-data.tsv')) {
  const not = negated === 'true';
  if (kind === 'validate') {
    test(`apk (version.data:${line}) '${a}' is ${not ? 'invalid' : 'valid'}`, () => {
      assert.equal(!(parseApk(a!) instanceof InvalidVersionError), !not);
    });
  } else {
    test(`apk (version.data:${line}) ${not ? 'not ' : ''}${a} ${op} ${b}${comment ? ` — ${comment}` : ''}`, () => {
      assert.equal(apkVersionMatch(a!, op!, b!), !not);
      if (['<', '>', '='].includes(op!) && !not) assert.equal(compareApk(a!, b!), opResult(op!));
    });
  }
}

/**
 * osv-scalibr's Alpine tables were written for an older, laxer apk (2.10 and its Go ports),
 * which accepted a digit after a letter ("6.0.2p1") and "1-r". apk-tools 3.x (and 2.14) reject
 * those strings and compare them only up to the first invalid token. Rows whose versions are
 * both valid must all agree; rows with an invalid version may differ, and are counted.
 */
function assertValidRowsAgree(file: string, expectedInvalidDisagreements: number): void {
  const failures: string[] = [];
  let invalidDisagreements = 0;
  for (const [a, op, b, line] of rows(file)) {
    if (compareApk(a!, b!) === opResult(op!)) continue;
    const bothValid = !(parseApk(a!) instanceof InvalidVersionError) && !(parseApk(b!) instanceof InvalidVersionError);
    if (bothValid) failures.push(`${file}:${line} ${a} ${op} ${b} (got ${symbol(compareApk(a!, b!))})`);
    else invalidDisagreements++;
  }
  assert.deepEqual(failures, []);
  assert.equal(invalidDisagreements, expectedInvalidDisagreements, 'rows with a version apk 3 rejects that order differently');
}

test('apk: osv-scalibr alpine-versions rows with valid versions all agree with apk-tools 3', () => {
  assertValidRowsAgree('osv-scalibr-alpine-versions.tsv', 12);
});

test('apk: 13,979 consecutive real Alpine versions from OSV data are in order where apk-tools 3 accepts them', () => {
  assertValidRowsAgree('osv-scalibr-alpine-versions-generated.tsv.gz', 32);
});

// ---- Go -----------------------------------------------------------------------------------

for (const [kind, a, b, result, source] of rows('go-toolchain-versions.tsv')) {
  if (kind === 'compare') {
    test(`go/version ${source}: Compare(${JSON.stringify(a)}, ${JSON.stringify(b)}) = ${result}`, () => {
      if (/^[0-9]/.test(a!) && /^[0-9]/.test(b!)) {
        // go/version: no "go" prefix, so both invalid and equal. This scheme reads digit-first
        // strings as module versions in OSV form (v1, v1.1) instead; it never takes them for
        // toolchain versions, which is what this row is about.
        for (const v of [a!, b!]) assert.notEqual((parseGo(v) as { kind?: string }).kind, 'toolchain', v);
        return;
      }
      assertOrder(compareGo, a!, b!, Number(result) as -1 | 0 | 1);
    });
  } else {
    test(`go/version ${source}: IsValid(${JSON.stringify(a)}) = ${result}`, () => {
      const p = parseGo(a!);
      // "1.2.3" is an invalid toolchain version, but a valid module version in OSV form.
      const valid = !(p instanceof InvalidVersionError) && p.kind === 'toolchain';
      assert.equal(valid, result === 'true');
    });
  }
}

const XMOD = rows('go-xmod-semver.tsv');
test('x/mod semver tests: Canonical and IsValid of every row', () => {
  for (const [input, canonical] of XMOD) {
    const p = parseGo(input!);
    assert.equal(p instanceof InvalidVersionError ? '' : p.canonical, canonical, input);
  }
});

test('x/mod semver tests: the table is in ascending order, equal canonical forms compare equal', () => {
  for (let i = 0; i < XMOD.length; i++) {
    for (let j = 0; j < XMOD.length; j++) {
      const [vi, ci] = XMOD[i]!;
      const [vj, cj] = XMOD[j]!;
      const want = ci === cj ? 0 : i < j ? -1 : 1;
      assert.equal(compareGo(vi!, vj!), want, `Compare(${vi}, ${vj})`);
    }
  }
  assert.equal(compareGo('v1.19', 'v1.2'), 1, 'numbers compare as numbers, not strings');
});

test('go: pseudo-versions and +incompatible are recognised and ordered as pre-releases', () => {
  const pseudo = parseGo('v0.0.0-20191109021931-daa7c04131f5');
  assert.ok(!(pseudo instanceof InvalidVersionError) && pseudo.pseudo);
  const patchPseudo = parseGo('v1.2.4-0.20191109021931-daa7c04131f5');
  assert.ok(!(patchPseudo instanceof InvalidVersionError) && patchPseudo.pseudo);
  const notPseudo = parseGo('v1.2.3-pre');
  assert.ok(!(notPseudo instanceof InvalidVersionError) && !notPseudo.pseudo);
  assert.equal(compareGo('v1.2.3', 'v1.2.4-0.20191109021931-daa7c04131f5'), -1);
  assert.equal(compareGo('v1.2.4-0.20191109021931-daa7c04131f5', 'v1.2.4'), -1);
  const incompatible = parseGo('v2.0.0+incompatible');
  assert.ok(!(incompatible instanceof InvalidVersionError) && incompatible.incompatible);
  assert.equal(compareGo('v2.0.0+incompatible', 'v2.0.0'), 0);
  assert.equal(compareGo('1.2.3', 'v1.2.3'), 0, 'OSV form without v');
  assert.equal(goToolchainToSemver('go1.21rc1'), 'v1.21.0-rc.1');
  assert.equal(goToolchainToSemver('go1.21.3'), 'v1.21.3');
  assert.equal(compareGo('go1.21.3', 'v1.21.3'), 0);
});

// ---- SemVer 2.0.0 -------------------------------------------------------------------------

/** The precedence example of SemVer 2.0.0 §11.4, in ascending order. */
const SPEC_ORDER = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '2.0.0', '2.1.0', '2.1.1'];

test('semver: the specification example is in ascending order (§11)', () => {
  for (let i = 0; i < SPEC_ORDER.length; i++) {
    for (let j = 0; j < SPEC_ORDER.length; j++) assert.equal(compareSemver(SPEC_ORDER[i]!, SPEC_ORDER[j]!), Math.sign(i - j) || 0, `${SPEC_ORDER[i]} vs ${SPEC_ORDER[j]}`);
  }
});

const SEMVER_CASES: Array<[string, string, -1 | 0 | 1, string]> = [
  ['1.0.0+build.1', '1.0.0+build.2', 0, 'build metadata is ignored (§10)'],
  ['v1.2.3', '1.2.3', 0, 'a leading v is tolerated'],
  ['1.0.0-2', '1.0.0-10', -1, 'numeric identifiers compare numerically'],
  ['1.0.0-a', '1.0.0-10', 1, 'numeric identifiers sort before alphanumeric ones'],
  ['1.0.0-alpha-1', '1.0.0-alpha', 1, 'hyphens belong to the identifier'],
  ['1.0.0-B', '1.0.0-a', -1, 'identifiers compare in ASCII order'],
  ['123456789012345678901234567890.0.0', '123456789012345678901234567891.0.0', -1, 'numbers beyond 2^53 compare exactly'],
];
for (const [a, b, want, why] of SEMVER_CASES) {
  test(`semver: ${a} ${symbol(want)} ${b} — ${why}`, () => assertOrder(compareSemver, a, b, want));
}

const SEMVER_INVALID = ['1.0', '01.0.0', '1.0.0-01', '1.0.0-', '1.0.0+', '1.0.0-a..b', '1.0.0-a_b', 'vv1.0.0', '1.0.0 ', ''];
for (const v of SEMVER_INVALID) {
  test(`semver: '${v}' is invalid and sorts before every valid version`, () => {
    assert.ok(parseSemver(v) instanceof InvalidVersionError);
    assert.equal(compareSemver(v, '0.0.0-0'), -1);
  });
}
