/**
 * End-to-end accuracy (issue #5): real node disk images made by the real tools, scanned by
 * scanTarget — disk container → partition table → filesystem → analyzers → matcher against a
 * database imported by importFeeds — and the findings compared with an oracle computed
 * independently from the RAW feed with the distribution's own version comparison, over the
 * package set the real package manager reads from the same tree (dpkg-query, rpm -qa):
 *
 * 1. Ubuntu 22.04 AKS 202408.05.0 (trees.ts) → GPT ext4 disk → qcow2, against the derived Ubuntu
 *    OSV slice; oracle: raw UCT triage of 2024-08-09 + dpkg (helpers/accuracy.ts uctOracle).
 * 2. Azure Linux 3.0 AKS 202502.26.0 (real-looking rpmdb) → GPT ext4 disk → fixed VHD (Azure's
 *    upload format), against the OVAL of 2025-02-24; and the SYNTHETIC downgraded variant →
 *    bare XFS. Oracle: raw OVAL + rpm's rpm.vercmp (oracles.ts ovalOracle).
 * 3. Debian 12 debootstrap root (debianRoot()) → GPT ext4 → dynamic VHD, against the bundled
 *    Debian 12 slice (data/vulndb/, 7,057 records incl. linux); oracle: raw OSV ranges +
 *    python3-apt's apt_pkg.version_compare (dpkg --compare-versions when python3-apt is absent).
 *
 * Results and every difference: docs/scanning.md "Accuracy".
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Finding } from '../../src/match/index.ts';
import { scanTarget } from '../../src/scan/scan.ts';
import type { ScanResult } from '../../src/scan/result.ts';
import { importFeeds } from '../../src/vulndb/store.ts';
import { containerImage, debianRoot, fixtureOrSkip, fsImage, nodeDisk } from '../fixtures/node-image.ts';
import { dpkgLessThan, expectedFindingCount, hasDpkg, kernelBuildOf, uctOracle, type UctRecord } from '../match/helpers/accuracy.ts';
import { aptLessThan, debianOracle, debLessThan, hasAptPkg, hasRpmVercmp, ovalOracle, type OsvRecord } from '../match/oracles.ts';
import { compareWithOracle, dpkgQueryPackages, nva, rpmQaPackages, summary } from './helpers.ts';
import { AZL_DOWNGRADES, AZL_OLD_KERNEL, azlBootKernel, azureLinuxAksRoot, azureLinuxPackages, ubuntuAksRoot, ubuntuPackages, UBUNTU_KERNEL, type AzlVariant } from './trees.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const MATCH_DATA = join(ROOT, 'test/data/match');
const noDpkg = hasDpkg() ? false : 'dpkg is not installed: it is the oracle for the package set and versions';
const noRpm = hasRpmVercmp() ? false : 'rpm (with its lua rpm.vercmp) is not installed: it is the oracle';

function readJsonl<T>(path: string): T[] {
  return gunzipSync(readFileSync(path)).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
}

/** A fresh database of `feeds` in a temp dir, removed after the suite. */
function tempDb(prefix: string): { path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { path: join(dir, 'vuln.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function assertAgrees(label: string, result: ScanResult, expected: Parameters<typeof compareWithOracle>[1], minExpected: number, groups: number): void {
  const a = compareWithOracle(result.findings, expected);
  // Printed for the docs' accuracy table (docs/scanning.md).
  console.log(`${summary(label, result.inventory.packages.length, result.findings.length, expected.length, a)}; oracle findings (CVE, kernel build counted once) ${groups}`);
  assert.ok(expected.length >= minExpected, `the oracle should expect at least ${minExpected} findings, got ${expected.length}`);
  assert.deepEqual(a.falsePositives, []);
  assert.deepEqual(a.falseNegatives, []);
  assert.deepEqual(a.fixedVersionMismatches, []);
  assert.deepEqual(a.stateMismatches, []);
  assert.equal(result.findings.length, groups, 'one finding per (CVE, kernel build), one per (CVE, package) otherwise');
  assert.equal(result.coverage.vuln?.assessed, true);
}

/** The findings that list `name` among their packages, with their kernel marks. */
function kernelMarks(findings: Finding[], name: string, version?: string): Set<string> {
  const has = (p: { name: string; version: string }): boolean => p.name === name && (version === undefined || p.version === version);
  return new Set(findings.filter((f) => (f.packages ?? [f.package]).some(has)).map((f) => JSON.stringify(f.kernel ?? null)));
}

/**
 * One scan per image for the whole suite, started by whichever test needs it first: each test
 * asks for it itself (and skips itself when a fixture cannot be built), so none depends on
 * another having run.
 */
function once<T>(make: (t: TestContext) => Promise<T | undefined>): (t: TestContext) => Promise<T | undefined> {
  let pending: Promise<T | undefined> | undefined;
  return async (t) => {
    pending ??= make(t);
    const v = await pending;
    if (v === undefined) t.skip('fixture not available (see the first test of this suite for the reason)');
    return v;
  };
}

const UBUNTU_KERNEL_BUILD = kernelBuildOf(new Set(['linux', 'linux-azure']), (x) => x.replace(/^linux-signed-/, 'linux-'));
const AZL_KERNEL_BUILD = kernelBuildOf(new Set(['kernel']), (x) => x);

describe('e2e accuracy: Ubuntu 22.04 AKS 202408.05.0, GPT ext4 in qcow2, vs UCT 2024-08-09', { skip: noDpkg }, () => {
  let db: { path: string; cleanup(): void };
  before(async () => {
    db = tempDb('hullscan-e2e-ubuntu-');
    await importFeeds(db.path, ['ubuntu-22.04.osv.slice.jsonl.gz', 'kev.slice.json', 'epss_scores-2026-08-16.slice.csv'].map((f) => join(MATCH_DATA, f)));
  });
  after(() => db?.cleanup());

  const scan = once(async (t) => {
    const root = await fixtureOrSkip(t, ubuntuAksRoot());
    if (root === undefined) return undefined;
    const disk = await fixtureOrSkip(t, nodeDisk('gpt-ext4', { tree: root }));
    if (disk === undefined) return undefined;
    const image = await fixtureOrSkip(t, containerImage(disk, 'qcow2'));
    if (image === undefined) return undefined;
    return { root, result: await scanTarget(image, { dbPath: db.path }) };
  });

  it('the scan of the image equals the UCT oracle over dpkg-query\'s package set; the boot kernel is marked', async (t) => {
    const s = await scan(t);
    if (s === undefined) return;
    const { root, result } = s;

    // The disk path read exactly what the real dpkg reads from the tree, which is the AKS list.
    const truth = dpkgQueryPackages(root);
    assert.equal(truth.length, 714);
    assert.deepEqual(truth.map(nva).sort(), ubuntuPackages().map(nva).sort());
    assert.deepEqual(result.inventory.packages.map(nva).sort(), truth.map(nva).sort());
    assert.deepEqual([result.inventory.os?.id, result.inventory.os?.versionId], ['ubuntu', '22.04']);
    assert.deepEqual(result.coverage.vuln?.namespaces, [{ namespace: 'ubuntu:22.04', packages: 714 }]);

    const uct = readJsonl<UctRecord>(join(MATCH_DATA, 'uct-jammy.slice.jsonl.gz'));
    const expected = uctOracle(uct, truth);
    assertAgrees('e2e ubuntu 22.04 (qcow2)', result, expected, 500, expectedFindingCount(expected, truth, UBUNTU_KERNEL_BUILD));

    // Boot: grub.cfg's default entry is the image's only kernel; its findings carry the mark.
    assert.equal(result.inventory.kernel?.bootDefault, UBUNTU_KERNEL);
    const booting = JSON.stringify({ release: UBUNTU_KERNEL, bootsByDefault: true });
    for (const name of [`linux-image-${UBUNTU_KERNEL}`, `linux-modules-${UBUNTU_KERNEL}`]) assert.deepEqual(kernelMarks(result.findings, name), new Set([booting]), name);
    for (const f of result.findings) if (f.kernel !== undefined) assert.deepEqual(f.kernel, { release: UBUNTU_KERNEL, bootsByDefault: true }, f.id);
    for (const f of result.findings) assert.equal(f.evidence.package[0]?.path, '/var/lib/dpkg/status');
  });

  // docs/scanning.md "Kernels": headers are listed in the kernel's finding (they come from its
  // build) but do not carry the kernel; linux-libc-dev comes from "linux", not from the installed
  // linux-azure kernel, so its findings are grouped per source build and carry no boot mark.
  it(`linux-headers-${UBUNTU_KERNEL} is listed in the kernel's findings as a package that does not carry the kernel; linux-libc-dev has no boot mark`, async (t) => {
    const s = await scan(t);
    if (s === undefined) return;
    const findings = s.result.findings;
    const headers = findings.filter((f) => f.packages?.some((p) => p.name === `linux-headers-${UBUNTU_KERNEL}`));
    assert.ok(headers.length > 0, 'the headers have findings');
    for (const f of headers) {
      assert.equal(f.id, `${f.vulnerabilityId}|kernel:${UBUNTU_KERNEL}`);
      assert.equal(f.package.name, `linux-image-${UBUNTU_KERNEL}`);
      const detail = f.evidence.packages?.find((p) => p.packageId === f.packages!.find((x) => x.name === `linux-headers-${UBUNTU_KERNEL}`)!.id);
      assert.equal(detail?.carriesKernel, false);
    }
    assert.ok(!findings.some((f) => f.package.name === `linux-headers-${UBUNTU_KERNEL}`), 'no finding of its own');
    const libc = kernelMarks(findings, 'linux-libc-dev');
    assert.ok(libc.size > 0, 'linux-libc-dev has findings');
    assert.deepEqual(libc, new Set(['null']));
  });
});

describe('e2e accuracy: Azure Linux 3.0 AKS 202502.26.0 vs OVAL 2025-02-24', { skip: noRpm }, () => {
  let db: { path: string; cleanup(): void };
  let xml: string;
  before(async () => {
    db = tempDb('hullscan-e2e-azl-');
    const oval = join(MATCH_DATA, 'azurelinux-3.0-oval.xml.gz');
    await importFeeds(db.path, [oval]);
    xml = gunzipSync(readFileSync(oval)).toString('utf8');
  });
  after(() => db?.cleanup());

  async function scanVariant(t: TestContext, variant: AzlVariant, image: (root: string) => Promise<string>): Promise<{ result: ScanResult; root: string } | undefined> {
    const root = await fixtureOrSkip(t, azureLinuxAksRoot(variant));
    if (root === undefined) return undefined;
    const path = await fixtureOrSkip(t, image(root));
    if (path === undefined) return undefined;
    const result = await scanTarget(path, { dbPath: db.path });
    const truth = rpmQaPackages(root);
    assert.deepEqual(truth.map(nva).sort(), azureLinuxPackages(variant).map(nva).sort(), 'rpm reads the list back');
    assert.deepEqual(result.inventory.packages.map(nva).sort(), truth.map(nva).sort(), 'the disk path reads what rpm reads');
    assert.deepEqual(result.coverage.vuln?.namespaces, [{ namespace: 'azurelinux:3.0', packages: truth.length }]);
    assert.equal(result.inventory.kernel?.bootDefault, azlBootKernel(variant));
    return { result, root };
  }
  const downgradedScan = once((t) => scanVariant(t, 'downgraded', (root) => fsImage('xfs', root)));

  it('time-matched image (GPT ext4 in a fixed VHD): equals the OVAL oracle', async (t) => {
    const s = await scanVariant(t, 'time-matched', async (root) => containerImage(await nodeDisk('gpt-ext4', { tree: root }), 'vhd-fixed'));
    if (s === undefined) return;
    // Nearly fully patched two days after the OVAL: the oracle finds one vulnerable package.
    const truth = rpmQaPackages(s.root);
    const expected = ovalOracle(xml, truth);
    assertAgrees('e2e azurelinux 3.0 time-matched (vhd-fixed)', s.result, expected, 1, expectedFindingCount(expected, truth, AZL_KERNEL_BUILD));
  });

  it('downgraded variant (synthetic, bare XFS): equals the OVAL oracle', async (t) => {
    const s = await downgradedScan(t);
    if (s === undefined) return;
    const truth = rpmQaPackages(s.root);
    const expected = ovalOracle(xml, truth);
    assertAgrees('e2e azurelinux 3.0 downgraded (xfs)', s.result, expected, 200, expectedFindingCount(expected, truth, AZL_KERNEL_BUILD));
    for (const src of Object.keys(AZL_DOWNGRADES)) assert.ok(s.result.findings.some((f) => f.package.source?.name === src), `a downgraded ${src} is found vulnerable`);
    assert.ok(kernelMarks(s.result.findings, 'kernel', AZL_OLD_KERNEL).size > 0, 'the old kernel is found vulnerable');
    assert.ok(kernelMarks(s.result.findings, 'kernel', azlBootKernel('downgraded')).size > 0, 'the booting kernel is found vulnerable');
  });

  // Two installed kernels of one rpm name (tdnf installonly): each kernel's CVEs are one finding
  // per kernel, marked with that kernel's release; kernel-devel of the booting version is listed
  // in the booting kernel's findings but does not carry the kernel.
  it('downgraded variant: each kernel\'s findings carry its own release; only the booting one bootsByDefault', async (t) => {
    const s = await downgradedScan(t);
    if (s === undefined) return;
    const boot = azlBootKernel('downgraded');
    const findings = s.result.findings;
    assert.deepEqual(kernelMarks(findings, 'kernel', AZL_OLD_KERNEL), new Set([JSON.stringify({ release: AZL_OLD_KERNEL, bootsByDefault: false })]));
    assert.deepEqual(kernelMarks(findings, 'kernel', boot), new Set([JSON.stringify({ release: boot, bootsByDefault: true })]));
    const kernelFindings = findings.filter((f) => f.kernel !== undefined);
    assert.equal(new Set(kernelFindings.map((f) => f.id)).size, kernelFindings.length);
    for (const f of kernelFindings) {
      assert.equal(f.id, `${f.vulnerabilityId}|kernel:${f.kernel!.release}`);
      for (const p of f.evidence.packages!) {
        const name = f.packages!.find((x) => x.id === p.packageId)!.name;
        if (name === 'kernel-devel') assert.equal(p.carriesKernel, false, 'kernel-devel does not boot');
      }
    }
  });
});

describe('e2e accuracy: Debian 12 debootstrap root, GPT ext4 in a dynamic VHD, vs the bundled Debian 12 OSV slice', { skip: noDpkg }, () => {
  it('the scan of the image equals the raw-OSV oracle over dpkg-query\'s package set; kernels marked by the boot default', async (t) => {
    const root = await fixtureOrSkip(t, debianRoot());
    if (root === undefined) return;
    const disk = await fixtureOrSkip(t, nodeDisk('gpt-ext4', { tree: root }));
    if (disk === undefined) return;
    const image = await fixtureOrSkip(t, containerImage(disk, 'vhd-dynamic'));
    if (image === undefined) return;
    const db = tempDb('hullscan-e2e-debian-');
    try {
      const feed = join(ROOT, 'data/vulndb/debian-12.osv.slice.jsonl.gz');
      await importFeeds(db.path, [feed]);
      const result = await scanTarget(image, { dbPath: db.path });
      const truth = dpkgQueryPackages(root);
      assert.deepEqual(result.inventory.packages.map(nva).sort(), truth.map(nva).sort());
      assert.deepEqual(result.coverage.vuln?.namespaces, [{ namespace: 'debian:12', packages: truth.length }]);
      const records = readJsonl<OsvRecord>(feed);
      assert.ok(records.length > 7000);
      const expected = debianOracle(records, truth, debLessThan());
      assertAgrees(`e2e debian 12 (vhd-dynamic, comparator ${hasAptPkg() ? 'python3-apt' : 'dpkg'})`, result, expected, 200, expectedFindingCount(expected, truth, kernelBuildOf(new Set(['linux']), () => 'linux')));
      const kernels = result.findings.filter((f) => f.kernel !== undefined);
      assert.ok(kernels.length > 0, 'kernel image findings');
      for (const f of kernels) {
        assert.equal(f.kernel!.bootsByDefault, f.kernel!.release === result.inventory.kernel?.bootDefault, f.id);
        // The versioned image and the metapackage linux-image-cloud-amd64 (one build): one finding.
        assert.deepEqual(f.packages!.map((p) => p.name), [`linux-image-${f.kernel!.release}`, 'linux-image-cloud-amd64'], f.id);
      }
    } finally {
      db.cleanup();
    }
  });

  it('python3-apt and dpkg --compare-versions agree on a sample of the oracle\'s pairs', { skip: hasAptPkg() ? false : 'python3-apt is not installed' }, async (t) => {
    const root = await fixtureOrSkip(t, debianRoot());
    if (root === undefined) return;
    const versions = [...new Set(dpkgQueryPackages(root).flatMap((p) => [p.version, p.source!.version]))];
    const fixes = [...new Set(readJsonl<OsvRecord>(join(ROOT, 'data/vulndb/debian-12.osv.slice.jsonl.gz')).flatMap((r) => r.affected.flatMap((a) => (a.ranges ?? []).flatMap((rg) => rg.events.map((e) => e.fixed ?? e.introduced).filter((x): x is string => x !== undefined)))))];
    // Every 7th version against every 50th fix: a few hundred spawns of dpkg, a spread of shapes (epochs, ~, +b, +deb12u).
    const pairs: [string, string][] = [];
    for (let i = 0; i < versions.length; i += 7) for (let j = 0; j < fixes.length; j += 50) pairs.push([versions[i]!, fixes[j]!]);
    assert.ok(pairs.length > 100);
    assert.deepEqual(aptLessThan(pairs), dpkgLessThan(pairs));
  });
});
