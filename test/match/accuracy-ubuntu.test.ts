/**
 * Accuracy against real data: the AKS Ubuntu 22.04 image 202408.05.0 package list (built
 * 2024-08-05) matched through the REAL database (importFeeds over a slice of the derived
 * Ubuntu 22.04 OSV, KEV and EPSS) versus an independent oracle computed here straight from the
 * raw Ubuntu CVE Tracker triage of 2024-08-09 for the same CVEs, with the real
 * `dpkg --compare-versions` as the version comparator. Slices: test/data/match/README.md.
 *
 * The oracle's rules are UCT's own (ubuntu-cve-tracker README "status"): released (version) →
 * vulnerable below the version; released without one, needed, needs-triage, pending, deferred,
 * ignored → vulnerable, no fix; not-affected and DNE → not vulnerable. One stated rule more: the
 * signed kernel image (source linux-signed-azure) is the linux-azure kernel, so it takes
 * linux-azure's status (UCT tracks no linux-signed-* package).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { matchInventory } from '../../src/match/run.ts';
import type { MatchResult } from '../../src/match/index.ts';
import { importFeeds, openVulnDb } from '../../src/vulndb/store.ts';
import type { VulnDb } from '../../src/vulndb/index.ts';
import { agreement, expectedFindingCount, hasDpkg, kernelBuildOf, packagesFromTsv, uctOracle, type UctRecord } from './helpers/accuracy.ts';
import { inventory, os } from './helpers/build.ts';

const DATA = new URL('../data/match/', import.meta.url).pathname;
const KERNEL = '5.15.0-1068-azure';
/** The kernel sources of the AKS Ubuntu list; its signed image (linux-signed-azure) is the linux-azure kernel. */
const UBUNTU_KERNEL_BUILD = kernelBuildOf(new Set(['linux', 'linux-azure']), (s) => s.replace(/^linux-signed-/, 'linux-'));

describe('accuracy: AKS Ubuntu 22.04 202408.05.0 vs UCT 2024-08-09 (real DB from the derived OSV slice)', { skip: hasDpkg() ? false : 'dpkg is not installed: it is the version oracle' }, () => {
  let dir: string;
  let db: VulnDb;
  let result: MatchResult;
  const packages = packagesFromTsv(join(DATA, 'aks-ubuntu2204-202408.05.0.packages.tsv'));
  const uct = gunzipSync(readFileSync(join(DATA, 'uct-jammy.slice.jsonl.gz'))).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as UctRecord);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hullscan-acc-ubuntu-'));
    await importFeeds(join(dir, 'vuln.db'), [join(DATA, 'ubuntu-22.04.osv.slice.jsonl.gz'), join(DATA, 'kev.slice.json'), join(DATA, 'epss_scores-2026-08-16.slice.csv')]);
    db = openVulnDb(join(dir, 'vuln.db'));
    const kernel = { installed: [{ release: KERNEL, packageName: `linux-image-${KERNEL}`, hasModules: true, evidence: [] }], bootDefault: KERNEL };
    result = matchInventory(inventory(os('ubuntu', '22.04'), packages, kernel), db);
  });
  after(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });


  it('agrees with the UCT oracle: precision and recall 1.0 on (CVE, package) pairs, same fixed versions; one finding per (CVE, kernel build)', () => {
    const expected = uctOracle(uct, packages);
    const a = agreement(result.findings, expected);
    const groups = expectedFindingCount(expected, packages, UBUNTU_KERNEL_BUILD);
    // Printed for the docs' accuracy table (docs/scanning.md).
    console.log(`ubuntu 22.04 accuracy: findings ${result.findings.length}, oracle ${groups} findings (${expected.length} (CVE, package) pairs), TP ${a.truePositives}, FP ${a.falsePositives.length}, FN ${a.falseNegatives.length}, precision ${a.precision.toFixed(4)}, recall ${a.recall.toFixed(4)}`);
    assert.ok(expected.length > 100, `the slice should give a real number of expected findings, got ${expected.length}`);
    assert.deepEqual(a.falsePositives, []);
    assert.deepEqual(a.falseNegatives, []);
    assert.deepEqual(a.fixedVersionMismatches, []);
    assert.equal(result.findings.length, groups, 'kernel packages of one build are one finding per CVE');
    assert.ok(groups < expected.length, 'the slice has kernel CVEs that hit several binary packages');
  });

  it('kernel findings: one per linux-azure CVE on the booting kernel, listing the image, modules and headers; ids stable by release', () => {
    const kernelFindings = result.findings.filter((f) => f.kernel !== undefined);
    assert.ok(kernelFindings.length > 0);
    const ids = new Set<string>();
    for (const f of kernelFindings) {
      assert.deepEqual(f.kernel, { release: KERNEL, bootsByDefault: true });
      assert.equal(f.id, `${f.vulnerabilityId}|kernel:${KERNEL}`);
      assert.equal(f.package.name, `linux-image-${KERNEL}`, 'the image is the finding\'s package');
      assert.equal(f.evidence.comparedName, 'linux-azure');
      const names = f.packages!.map((p) => p.name);
      assert.ok(names.includes(`linux-modules-${KERNEL}`) && names.includes(`linux-headers-${KERNEL}`), names.join(', '));
      assert.deepEqual(f.evidence.packages!.map((p) => p.packageId), f.packages!.map((p) => p.id));
      for (const p of f.evidence.packages!) assert.equal(p.carriesKernel, /^linux-(image|modules)/.test(packages.find((x) => x.id === p.packageId)!.name), p.packageId);
      ids.add(f.id);
    }
    assert.equal(ids.size, kernelFindings.length, 'one finding per (CVE, kernel)');
    // linux-libc-dev and linux-tools-common come from "linux", not the installed linux-azure kernel: grouped per source build, no boot mark.
    const libc = result.findings.filter((f) => f.packages?.some((p) => p.name === 'linux-libc-dev'));
    assert.ok(libc.length > 0);
    for (const f of libc) {
      assert.equal(f.kernel, undefined);
      assert.match(f.id, /\|kernel-source:linux@5\.15\.0-117\.127$/);
      assert.deepEqual(f.packages!.map((p) => p.name).sort(), ['linux-cloud-tools-common', 'linux-libc-dev', 'linux-tools-common']);
    }
  });

  it('vendor severity is the UCT priority; KEV and EPSS come from the imported slices', () => {
    const priority = new Map(uct.map((r) => [r.candidate, r.priority]));
    for (const f of result.findings) {
      const p = priority.get(f.vulnerabilityId);
      if (p && p !== 'untriaged') assert.equal(f.vendorSeverity?.level, p, f.id);
    }
    assert.ok(result.findings.some((f) => f.epss !== undefined), 'EPSS attached');
    const kev = JSON.parse(readFileSync(join(DATA, 'kev.slice.json'), 'utf8')) as { vulnerabilities: { cveID: string }[] };
    const kevIds = new Set(kev.vulnerabilities.map((v) => v.cveID));
    for (const f of result.findings) assert.equal(f.kev !== undefined, kevIds.has(f.vulnerabilityId), f.id);
  });

  it('every finding names its evidence: the dpkg record, the advisory and the comparison', () => {
    for (const f of result.findings) {
      assert.equal(f.evidence.package[0]?.path, '/var/lib/dpkg/status');
      assert.match(f.evidence.advisory.id, /^UBUNTU-CVE-/);
      assert.equal(f.evidence.namespace, 'ubuntu:22.04');
      assert.ok(f.evidence.comparison.length > 0);
    }
  });
});
