/**
 * Range boundaries the matcher must get right in every version scheme (deb, rpm, apk, semver,
 * go), pinned by real advisories:
 * - an installed version EQUAL to an advisory's `introduced` event is affected (OSV "Evaluation":
 *   introduced ≤ v), also when the two are spelled differently but equal in the scheme;
 * - when several ranges / entries cover the installed version, the reported fix is the one that
 *   leaves every covering range (a re-fixed CVE), never an earlier fix that is itself still
 *   affected.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluate } from '../../src/match/common.ts';
import { matchInventory } from '../../src/match/run.ts';
import { schemeFor, type VersionSchemeId } from '../../src/version/index.ts';
import type { AffectedPackage } from '../../src/vulndb/index.ts';
import { advisory, inventory, os, pkg } from './helpers/build.ts';
import { memoryDb } from './helpers/memory-db.ts';

/**
 * GO-2023-2170 (CVE-2023-3955, golang/vulndb data/osv/GO-2023-2170.json): k8s.io/kubernetes,
 * one SEMVER range with the events introduced 0 / fixed 1.24.17 / introduced 1.25.0 / fixed
 * 1.25.13 / introduced 1.26.0 / fixed 1.26.8 / introduced 1.27.0 / fixed 1.27.5 / introduced
 * 1.28.0 / fixed 1.28.1, as the OSV importer splits it into pairs.
 */
const K8S_RANGES = [{ fixed: '1.24.17' }, { introduced: '1.25.0', fixed: '1.25.13' }, { introduced: '1.26.0', fixed: '1.26.8' }, { introduced: '1.27.0', fixed: '1.27.5' }, { introduced: '1.28.0', fixed: '1.28.1' }];

function entry(scheme: VersionSchemeId, ranges: AffectedPackage['ranges'], state: AffectedPackage['state'] = 'fixed'): AffectedPackage {
  return { namespace: 'test', name: 'pkg', nameKind: 'source', versionScheme: scheme, state, ranges };
}

interface BoundaryCase {
  scheme: VersionSchemeId;
  /** Where the introduced / fixed values come from. */
  source: string;
  introduced: string;
  fixed: string;
  /** The introduced version as an installed package writes it, equal in the scheme's order. */
  equalSpelling: string;
  /** A real version just below introduced (not affected). */
  below: string;
}

const BOUNDARIES: BoundaryCase[] = [
  // Debian 12's e2fsprogs 1.47.0-2 and its +b binNMU-free epoch-0 spelling (dpkg: an absent epoch is 0).
  { scheme: 'deb', source: 'Debian 12 e2fsprogs 1.47.0-2 (fixture dpkg status)', introduced: '1.47.0-2', fixed: '1.47.0-2+deb12u1', equalSpelling: '0:1.47.0-2', below: '1.47.0-1' },
  // Azure Linux 3.0 openssh 9.8p1-2.azl3 (AKS 202502.26.0 rpm -qa) and rpm's explicit epoch 0.
  { scheme: 'rpm', source: 'Azure Linux 3.0 openssh 9.8p1-2.azl3 / OVAL fix 9.8p1-3', introduced: '9.8p1-2.azl3', fixed: '9.8p1-3', equalSpelling: '0:9.8p1-2.azl3', below: '9.8p1-1.azl3' },
  // Alpine intel-ucode releases listed in osv.dev's CVE-2018-12126 record; apk-tools: "-r0" is the default release.
  { scheme: 'apk', source: 'osv.dev Alpine CVE-2018-12126 intel-ucode versions', introduced: '20190514a-r0', fixed: '20190618-r0', equalSpelling: '20190514a-r0', below: '20180807a-r2' },
  // GO-2023-2170 in its SEMVER form; build metadata does not take part in precedence (SemVer 2.0.0 §10).
  { scheme: 'semver', source: 'GO-2023-2170 k8s.io/kubernetes', introduced: '1.27.0', fixed: '1.27.5', equalSpelling: '1.27.0+build.1', below: '1.27.0-rc.1' },
  // GO-2023-2170 as the Go matcher compares it: module version v1.27.0 against OSV's 1.27.0.
  { scheme: 'go', source: 'GO-2023-2170 k8s.io/kubernetes', introduced: '1.27.0', fixed: '1.27.5', equalSpelling: 'v1.27.0', below: 'v1.27.0-rc.1' },
];

describe('range boundary: installed version equal to `introduced`, in every scheme', () => {
  for (const c of BOUNDARIES) {
    it(`${c.scheme}: ${c.source}: ${c.introduced} is affected (introduced is inclusive), ${c.below} is not`, () => {
      const scheme = schemeFor(c.scheme);
      const e = entry(c.scheme, [{ introduced: c.introduced, fixed: c.fixed }]);
      const at = evaluate(e, c.introduced, scheme)!;
      assert.equal(at.vulnerable, true, at.comparison);
      assert.equal(at.fixedVersion, c.fixed);
      assert.equal(at.comparison, `${c.introduced} <= ${c.introduced} < ${c.fixed} (${c.scheme})`);
      const spelled = evaluate(e, c.equalSpelling, scheme)!;
      assert.equal(scheme.compare(c.equalSpelling, c.introduced), 0, `${c.equalSpelling} == ${c.introduced} in ${c.scheme}`);
      assert.equal(spelled.vulnerable, true, `${c.equalSpelling}: ${spelled.comparison}`);
      const below = evaluate(e, c.below, scheme)!;
      assert.equal(below.vulnerable, false, below.comparison);
      assert.equal(below.comparison, `${c.below} < introduced ${c.introduced}`);
      assert.equal(evaluate(e, c.fixed, scheme)!.vulnerable, false, 'the fix itself is not affected');
      // The same boundary on an introduced-only (unfixed) range and on a last_affected range.
      assert.equal(evaluate(entry(c.scheme, [{ introduced: c.introduced }], 'affected'), c.introduced, scheme)!.vulnerable, true);
      assert.equal(evaluate(entry(c.scheme, [{ introduced: c.introduced, lastAffected: c.introduced }], 'affected'), c.introduced, scheme)!.vulnerable, true);
      assert.equal(evaluate(entry(c.scheme, [{ introduced: c.introduced }], 'affected'), c.below, scheme)!.vulnerable, false);
    });
  }

  it('GO-2023-2170 through the Go matcher: k8s.io/kubernetes v1.27.0 (= introduced 1.27.0) → fix 1.27.5; v1.26.8 (branch fix) and v1.27.0-rc.1 (below introduced, above 1.26.8) are not affected', () => {
    const a = advisory({ id: 'GO-2023-2170', aliases: ['CVE-2023-3955', 'GHSA-q78c-gwqw-jcmc'], affected: [{ namespace: 'go', name: 'k8s.io/kubernetes', nameKind: 'module', versionScheme: 'semver', ranges: K8S_RANGES }] });
    const db = memoryDb({ advisories: [a] });
    const at = (v: string) => matchInventory(inventory(undefined, [pkg({ type: 'golang', name: 'k8s.io/kubernetes', version: v, versionScheme: 'go', binaryPath: '/usr/local/bin/kubelet' })]), db).findings;
    assert.deepEqual(at('v1.27.0').map((f) => [f.vulnerabilityId, f.fixedVersion]), [['CVE-2023-3955', '1.27.5']]);
    assert.deepEqual(at('v1.26.8'), []);
    assert.deepEqual(at('v1.27.0-rc.1'), []);
    assert.deepEqual(at('v1.28.0').map((f) => f.fixedVersion), ['1.28.1']);
  });
});

/**
 * osv.dev's Alpine export (Alpine:v3.21, 2025-02-16) lists CVE-2018-12126 for intel-ucode three
 * times, one affected entry per fix: [0, 20190514a-r0), [0, 20190618-r0), [0, 20191112-r0)
 * (the `versions[]` lists of the record are left out here: the ranges decide). An installed
 * 20180807a-r2 is in all three; upgrading to 20190514a-r0 or 20190618-r0 leaves it in the third.
 */
const INTEL_UCODE = advisory({
  id: 'CVE-2018-12126',
  affected: [
    { namespace: 'alpine:3.21', name: 'intel-ucode', ranges: [{ introduced: '0', fixed: '20191112-r0' }] },
    { namespace: 'alpine:3.21', name: 'intel-ucode', ranges: [{ introduced: '0', fixed: '20190514a-r0' }] },
    { namespace: 'alpine:3.21', name: 'intel-ucode', ranges: [{ introduced: '0', fixed: '20190618-r0' }] },
  ],
});

describe('several covering fixes: the reported fix leaves every covering range', () => {
  const apk = (v: string) => pkg({ type: 'apk', name: 'intel-ucode', version: v, versionScheme: 'apk', source: { name: 'intel-ucode', version: v } });
  const match = (v: string) => matchInventory(inventory(os('alpine', '3.21.2'), [apk(v)]), memoryDb({ advisories: [INTEL_UCODE] })).findings;

  it('osv.dev Alpine CVE-2018-12126 intel-ucode (three entries of one record): 20180807a-r2 → 20191112-r0, not the first-listed or lowest fix', () => {
    const f = match('20180807a-r2');
    assert.equal(f.length, 1);
    assert.equal(f[0]!.fixedVersion, '20191112-r0');
    assert.equal(f[0]!.evidence.comparison, '20180807a-r2 < 20191112-r0 (apk)');
  });

  it('20190514a-r0 (= the lowest fix) is still in two entries → 20191112-r0; 20191112-r0 is not affected', () => {
    assert.deepEqual(match('20190514a-r0').map((f) => f.fixedVersion), ['20191112-r0']);
    assert.deepEqual(match('20190618-r0').map((f) => f.fixedVersion), ['20191112-r0']);
    assert.deepEqual(match('20191112-r0'), []);
  });

  it('the same three fixes as ranges of ONE entry (evaluate): the fix that no range still covers wins, whatever the order', () => {
    const scheme = schemeFor('apk');
    const ranges = [{ fixed: '20190618-r0' }, { fixed: '20191112-r0' }, { fixed: '20190514a-r0' }];
    for (const order of [ranges, [...ranges].reverse()]) assert.equal(evaluate(entry('apk', order), '20180807a-r2', scheme)?.fixedVersion, '20191112-r0');
  });

  it('disjoint ranges cover a version once (GO-2023-2170): that range\'s fix, never another branch\'s', () => {
    assert.equal(evaluate(entry('go', K8S_RANGES), 'v1.25.3', schemeFor('go'))?.fixedVersion, '1.25.13');
    assert.equal(evaluate(entry('go', K8S_RANGES), 'v1.24.0', schemeFor('go'))?.fixedVersion, '1.24.17');
    // Two overlapping deb ranges: the lower fix is still inside the other range, so the higher one is reported.
    const overlap = entry('deb', [{ introduced: '1.46.0-1', fixed: '1.47.0-2+deb12u1' }, { fixed: '1.47.0-2+deb12u2' }]);
    assert.equal(evaluate(overlap, '1.47.0-2', schemeFor('deb'))?.fixedVersion, '1.47.0-2+deb12u2', 'deb12u1 is still below deb12u2');
  });
});
