/**
 * Accuracy against real data, time-matched: the AKS Azure Linux 3.0 image 202502.26.0 package
 * list (built 2025-02-26) matched through the REAL database (importFeeds over Microsoft's Azure
 * Linux 3.0 OVAL of 2025-02-24, unmodified) versus an oracle evaluating the raw OVAL XML here:
 * each definition's rpminfo tests (object name, state EVR and operation, criteria AND) with
 * the real rpm's EVR comparison (`rpm --eval '%{lua: rpm.vercmp(a, b)}'`).
 *
 * The package list has binary names only (rpm -qa); test/data/match/README.md says how the
 * source RPM names in the TSV were derived (approximate, used by both sides alike).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { matchInventory } from '../../src/match/run.ts';
import { importFeeds, openVulnDb } from '../../src/vulndb/store.ts';
import { agreement, expectedFindingCount, kernelBuildOf } from './helpers/accuracy.ts';
import { inventory, os } from './helpers/build.ts';
import { hasRpmVercmp, ovalOracle, rpmPackagesFromTsv } from './oracles.ts';

const DATA = new URL('../data/match/', import.meta.url).pathname;
const hasRpm = hasRpmVercmp();

describe('accuracy: AKS Azure Linux 3.0 202502.26.0 vs OVAL 2025-02-24 (real DB, rpm oracle)', { skip: hasRpm ? false : 'rpm (with its lua rpm.vercmp) is not installed: it is the version oracle' }, () => {
  it('findings agree with the OVAL evaluated by rpm; kernel findings are marked as booting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hullscan-acc-azl-'));
    try {
      const oval = join(DATA, 'azurelinux-3.0-oval.xml.gz');
      await importFeeds(join(dir, 'vuln.db'), [oval]);
      const db = openVulnDb(join(dir, 'vuln.db'));
      try {
        const packages = rpmPackagesFromTsv(join(DATA, 'aks-azurelinux3-202502.26.0.packages.tsv'));
        const kernel = { installed: [{ release: '6.6.64.2-9.azl3', packageName: 'kernel', hasModules: true, evidence: [] }], bootDefault: '6.6.64.2-9.azl3' };
        const result = matchInventory(inventory(os('azurelinux', '3.0'), packages, kernel), db);
        const expected = ovalOracle(gunzipSync(readFileSync(oval)).toString('utf8'), packages);
        const a = agreement(result.findings, expected);
        const groups = expectedFindingCount(expected, packages, kernelBuildOf(new Set(['kernel']), (x) => x));
        console.log(`azurelinux 3.0 accuracy: packages ${packages.length}, findings ${result.findings.length}, oracle ${expected.length}, TP ${a.truePositives}, FP ${a.falsePositives.length}, FN ${a.falseNegatives.length}, fixed-version mismatches ${a.fixedVersionMismatches.length}, precision ${a.precision.toFixed(4)}, recall ${a.recall.toFixed(4)}`);
        // The image is two days newer than the OVAL and nearly fully patched: the oracle finds only a few.
        assert.ok(expected.length >= 1, `expected at least one finding, got ${expected.length}`);
        assert.ok(result.assessed[0]!.packages === packages.length);
        assert.deepEqual(a.falsePositives, []);
        assert.deepEqual(a.falseNegatives, []);
        assert.deepEqual(a.fixedVersionMismatches, []);
        assert.deepEqual(a.stateMismatches, []);
        assert.equal(result.findings.length, groups, 'one finding per (CVE, kernel build)');
        console.log(`azurelinux 3.0 findings: ${result.findings.map((f) => `${f.vulnerabilityId} ${f.package.name} ${f.package.version} < ${f.fixedVersion}`).join('; ')}`);
        for (const f of result.findings.filter((x) => x.package.name === 'kernel')) assert.deepEqual(f.kernel, { release: '6.6.64.2-9.azl3', bootsByDefault: true });
        for (const f of result.findings) assert.equal(f.vendorSeverity?.source !== undefined, true, `${f.id} carries the OVAL severity`);
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
