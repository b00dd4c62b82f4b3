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
import { applyPolicy, parseFixStates } from '../../src/scan/policy.ts';
import { SCAN_RESULT_SCHEMA_VERSION, type ScanResult } from '../../src/scan/result.ts';
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
    assert.deepEqual(a.stateMismatches, []);
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

/**
 * The same image against the Ubuntu CVE Tracker records THEMSELVES (the UCT slice imported by the
 * ubuntu-uct source), so the vendor's "won't fix" and "deferred" survive: the oracle is the same
 * raw-UCT evaluation with UCT's words kept (ignored → wont-fix, deferred → deferred).
 */
describe('accuracy: AKS Ubuntu 22.04 202408.05.0 vs UCT 2024-08-09 imported as UCT (real DB, dpkg oracle)', { skip: hasDpkg() ? false : 'dpkg is not installed: it is the version oracle' }, () => {
  let dir: string;
  let db: VulnDb;
  let result: MatchResult;
  const packages = packagesFromTsv(join(DATA, 'aks-ubuntu2204-202408.05.0.packages.tsv'));
  const uct = gunzipSync(readFileSync(join(DATA, 'uct-jammy.slice.jsonl.gz'))).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as UctRecord);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hullscan-acc-uct-'));
    const report = await importFeeds(join(dir, 'vuln.db'), [join(DATA, 'uct-jammy.slice.jsonl.gz')]);
    assert.equal(report.feeds[0]?.source, 'ubuntu-uct', 'detected by content as UCT');
    db = openVulnDb(join(dir, 'vuln.db'));
    const kernel = { installed: [{ release: KERNEL, packageName: `linux-image-${KERNEL}`, hasModules: true, evidence: [] }], bootDefault: KERNEL };
    result = matchInventory(inventory(os('ubuntu', '22.04'), packages, kernel), db);
  });
  after(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('agrees with the raw-UCT oracle on pairs, fixed versions and states (won\'t fix, deferred); one finding per (CVE, kernel build)', () => {
    const expected = uctOracle(uct, packages, { states: true });
    const a = agreement(result.findings, expected);
    const groups = expectedFindingCount(expected, packages, UBUNTU_KERNEL_BUILD);
    const states = new Map<string, number>();
    for (const f of result.findings) states.set(f.state, (states.get(f.state) ?? 0) + 1);
    // Printed for the docs' accuracy table (docs/scanning.md).
    console.log(`ubuntu 22.04 accuracy (UCT source): findings ${result.findings.length}, oracle ${groups} findings (${expected.length} (CVE, package) pairs), TP ${a.truePositives}, FP ${a.falsePositives.length}, FN ${a.falseNegatives.length}, state mismatches ${a.stateMismatches.length}, precision ${a.precision.toFixed(4)}, recall ${a.recall.toFixed(4)}; states ${JSON.stringify(Object.fromEntries(states))}`);
    assert.deepEqual(a.falsePositives, []);
    assert.deepEqual(a.falseNegatives, []);
    assert.deepEqual(a.fixedVersionMismatches, []);
    assert.deepEqual(a.stateMismatches, []);
    assert.equal(result.findings.length, groups);
    assert.ok((states.get('wont-fix') ?? 0) > 0 && (states.get('deferred') ?? 0) > 0, 'the slice has ignored and deferred entries');
  });

  it('a "won\'t fix" finding carries UCT\'s status and note; --ignore-status drops the named states, --ignore-unfixed every unfixed one, each saying the vendor\'s words', () => {
    const wontFix = result.findings.filter((f) => f.state === 'wont-fix');
    for (const f of wontFix) {
      assert.equal(f.vendorStatus?.source, 'ubuntu');
      assert.equal(f.vendorStatus?.status, 'ignored');
      assert.equal(f.fixedVersion, undefined);
    }
    // Real notes: UCT writes why it will not fix ("end of kernel support", "see notes", …).
    const raw = new Map(uct.flatMap((r) => Object.entries(r.packages.jammy ?? {}).map(([src, e]) => [`${r.candidate}|${src}`, e] as const)));
    for (const f of wontFix) assert.equal(f.vendorStatus?.note, raw.get(`${f.vulnerabilityId}|${f.evidence.comparedName}`)?.note, f.id);
    for (const f of result.findings.filter((x) => x.state === 'deferred')) assert.equal(f.vendorStatus?.status, 'deferred');

    const scan: ScanResult = { schemaVersion: SCAN_RESULT_SCHEMA_VERSION, target: 'aks-202408.05.0', startedAt: '2026-12-01T00:00:00.000Z', finishedAt: '2026-12-01T00:00:01.000Z', scanners: ['vuln'], inventory: inventory(os('ubuntu', '22.04'), packages), findings: result.findings, alerts: [], coverage: { vuln: { assessed: true, namespaces: result.assessed, issues: [] }, target: [] } };
    const byStatus = applyPolicy(scan, { ignoreStates: parseFixStates('wont-fix,fix_deferred') });
    assert.deepEqual(new Set(byStatus.findings.map((f) => f.state)), new Set(['affected', 'fixed']));
    assert.equal(byStatus.suppressed?.length, wontFix.length + result.findings.filter((x) => x.state === 'deferred').length);
    const one = byStatus.suppressed!.find((x) => x.finding.state === 'wont-fix' && x.finding.vendorStatus?.note !== undefined)!;
    assert.equal(one.by, 'ignore-status');
    assert.ok(one.rule.includes(`ubuntu: ignored, ${one.finding.vendorStatus!.note!}`), one.rule);
    const unfixed = applyPolicy(scan, { ignoreUnfixed: true });
    assert.deepEqual(new Set(unfixed.findings.map((f) => f.state)), new Set(['fixed']));
    assert.ok(unfixed.suppressed!.some((x) => x.by === 'ignore-unfixed' && /state wont-fix; ubuntu: ignored/.test(x.rule)));
  });
});
