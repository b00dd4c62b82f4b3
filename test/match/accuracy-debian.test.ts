/**
 * Accuracy against real data: the debootstrapped Debian 12 fixture (debianRoot(): real dpkg
 * status, read by the real inventory path) matched through the REAL database (importFeeds over a
 * slice of osv.dev's Debian 12 export, 2025-02-12) versus an oracle computed here from the raw
 * OSV JSON of the same slice with the real `dpkg --compare-versions`.
 *
 * Oracle: oracles.ts `debianOracle` (OSV schema "Evaluation" on the raw records; its rules are
 * in its comment), shared with the end-to-end test (test/e2e/accuracy.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { matchInventory } from '../../src/match/run.ts';
import { inventoryTarget } from '../../src/scan/inventory.ts';
import { importFeeds, openVulnDb } from '../../src/vulndb/store.ts';
import { debianRoot, fixtureOrSkip } from '../fixtures/node-image.ts';
import { agreement, expectedFindingCount, hasDpkg, kernelBuildOf } from './helpers/accuracy.ts';
import { debianOracle, type OsvRecord } from './oracles.ts';

const DATA = new URL('../data/match/', import.meta.url).pathname;

describe('accuracy: Debian 12 fixture vs Debian 12 OSV slice (real DB, dpkg oracle)', { skip: hasDpkg() ? false : 'dpkg is not installed: it is the version oracle' }, () => {
  it('findings agree with the oracle; the kernel image is matched as "linux" and marked as booting', async (t) => {
    const root = await fixtureOrSkip(t, debianRoot());
    if (root === undefined) return;
    const dir = mkdtempSync(join(tmpdir(), 'hullscan-acc-debian-'));
    const opened = await inventoryTarget(root);
    try {
      await importFeeds(join(dir, 'vuln.db'), [join(DATA, 'debian-12.osv.slice.jsonl.gz')]);
      const db = openVulnDb(join(dir, 'vuln.db'));
      try {
        const inv = opened.inventory;
        const result = matchInventory(inv, db);
        const records = gunzipSync(readFileSync(join(DATA, 'debian-12.osv.slice.jsonl.gz'))).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as OsvRecord);
        const expected = debianOracle(records, inv.packages);
        const a = agreement(result.findings, expected);
        // Debian's kernel source is "linux"; a signed image (linux-signed-amd64) is that kernel at its binary version.
        const groups = expectedFindingCount(expected, inv.packages, kernelBuildOf(new Set(['linux']), () => 'linux'));
        console.log(`debian 12 accuracy: packages ${inv.packages.length}, findings ${result.findings.length}, oracle ${groups} findings (${expected.length} (CVE, package) pairs), TP ${a.truePositives}, FP ${a.falsePositives.length}, FN ${a.falseNegatives.length}, precision ${a.precision.toFixed(4)}, recall ${a.recall.toFixed(4)}`);
        assert.ok(expected.length > 50, `expected a real number of findings, got ${expected.length}`);
        assert.deepEqual(a.falsePositives, []);
        assert.deepEqual(a.falseNegatives, []);
        assert.deepEqual(a.fixedVersionMismatches, []);
        assert.deepEqual(a.stateMismatches, []);
        assert.equal(result.findings.length, groups, 'one finding per (CVE, kernel build)');
        assert.deepEqual(result.assessed, [{ namespace: 'debian:12', packages: inv.packages.length }]);
        const kernel = result.findings.filter((f) => f.kernel !== undefined);
        assert.ok(kernel.length > 0, 'kernel image findings');
        for (const f of kernel) {
          assert.equal(f.kernel!.bootsByDefault, f.kernel!.release === inv.kernel?.bootDefault);
          assert.equal(f.id, `${f.vulnerabilityId}|kernel:${f.kernel!.release}`);
          assert.match(f.package.name, /^linux-image-\d/, 'the versioned image, not the metapackage, is the finding\'s package');
        }
      } finally {
        db.close();
      }
    } finally {
      await opened.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
