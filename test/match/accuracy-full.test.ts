/**
 * Optional full-data accuracy run: the whole derived Ubuntu 22.04 OSV (17,675 records) against
 * the whole raw UCT jammy triage, for the AKS 202408.05.0 package list; and the whole Debian 12
 * OSV export against the Debian fixture. Needs the shared real-data snapshot: set
 * HULLSCAN_REAL_DATA to its folder (the one holding osv/, ubuntu-cve-tracker/, debian/). Skipped
 * with the reason otherwise; the sliced tests beside this one always run.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { matchInventory } from '../../src/match/run.ts';
import { importFeeds, openVulnDb } from '../../src/vulndb/store.ts';
import { agreement, expectedFindingCount, hasDpkg, kernelBuildOf, packagesFromTsv, uctOracle, type UctRecord } from './helpers/accuracy.ts';
import { inventory, os } from './helpers/build.ts';

const DATA = new URL('../data/match/', import.meta.url).pathname;
const REAL = process.env.HULLSCAN_REAL_DATA;
const skip = REAL === undefined ? 'set HULLSCAN_REAL_DATA to the real-data snapshot folder to run the full-data accuracy test'
  : !existsSync(join(REAL, 'ubuntu-cve-tracker', 'uct-jammy.jsonl.gz')) ? `HULLSCAN_REAL_DATA=${REAL} has no ubuntu-cve-tracker/uct-jammy.jsonl.gz`
  : !hasDpkg() ? 'dpkg is not installed: it is the version oracle' : false;

describe('accuracy (full data): Ubuntu 22.04 AKS 202408.05.0 vs all of UCT jammy', { skip }, () => {
  it('precision and recall against the raw UCT triage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hullscan-acc-full-'));
    try {
      await importFeeds(join(dir, 'vuln.db'), [join(REAL!, 'osv', 'ubuntu', 'ubuntu-22.04.osv.jsonl.gz')], { storeRaw: false });
      const db = openVulnDb(join(dir, 'vuln.db'));
      try {
        const packages = packagesFromTsv(join(DATA, 'aks-ubuntu2204-202408.05.0.packages.tsv'));
        const kernel = { installed: [{ release: '5.15.0-1068-azure', packageName: 'linux-image-5.15.0-1068-azure', hasModules: true, evidence: [] }], bootDefault: '5.15.0-1068-azure' };
        const result = matchInventory(inventory(os('ubuntu', '22.04'), packages, kernel), db);
        const uct = gunzipSync(readFileSync(join(REAL!, 'ubuntu-cve-tracker', 'uct-jammy.jsonl.gz'))).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as UctRecord);
        const expected = uctOracle(uct, packages);
        const a = agreement(result.findings, expected);
        const groups = expectedFindingCount(expected, packages, kernelBuildOf(new Set(['linux', 'linux-azure']), (x) => x.replace(/^linux-signed-/, 'linux-')));
        console.log(`full ubuntu 22.04 accuracy: findings ${result.findings.length}, oracle ${groups} findings (${expected.length} (CVE, package) pairs), TP ${a.truePositives}, FP ${a.falsePositives.length}, FN ${a.falseNegatives.length}, fixed-version mismatches ${a.fixedVersionMismatches.length}, precision ${a.precision.toFixed(4)}, recall ${a.recall.toFixed(4)}`);
        if (a.falsePositives.length > 0) console.log(`first false positives: ${a.falsePositives.slice(0, 10).join('; ')}`);
        if (a.falseNegatives.length > 0) console.log(`first false negatives: ${a.falseNegatives.slice(0, 10).join('; ')}`);
        assert.ok(a.precision >= 0.999 && a.recall >= 0.999, `precision ${a.precision}, recall ${a.recall}`);
        assert.equal(result.findings.length, groups, 'one finding per (CVE, kernel build)');
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('accuracy (full data): Ubuntu 22.04 AKS 202408.05.0 vs all of UCT jammy imported as UCT', { skip }, () => {
  it('precision, recall and states (won\'t fix, deferred) against the raw UCT triage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hullscan-acc-full-uct-'));
    try {
      const feed = join(REAL!, 'ubuntu-cve-tracker', 'uct-jammy.jsonl.gz');
      await importFeeds(join(dir, 'vuln.db'), [feed], { storeRaw: false });
      const db = openVulnDb(join(dir, 'vuln.db'));
      try {
        const packages = packagesFromTsv(join(DATA, 'aks-ubuntu2204-202408.05.0.packages.tsv'));
        const kernel = { installed: [{ release: '5.15.0-1068-azure', packageName: 'linux-image-5.15.0-1068-azure', hasModules: true, evidence: [] }], bootDefault: '5.15.0-1068-azure' };
        const result = matchInventory(inventory(os('ubuntu', '22.04'), packages, kernel), db);
        const uct = gunzipSync(readFileSync(feed)).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as UctRecord);
        const expected = uctOracle(uct, packages, { states: true });
        const a = agreement(result.findings, expected);
        const groups = expectedFindingCount(expected, packages, kernelBuildOf(new Set(['linux', 'linux-azure']), (x) => x.replace(/^linux-signed-/, 'linux-')));
        const states = new Map<string, number>();
        for (const f of result.findings) states.set(f.state, (states.get(f.state) ?? 0) + 1);
        console.log(`full ubuntu 22.04 accuracy (UCT source): findings ${result.findings.length}, oracle ${groups} findings (${expected.length} (CVE, package) pairs), TP ${a.truePositives}, FP ${a.falsePositives.length}, FN ${a.falseNegatives.length}, fixed-version mismatches ${a.fixedVersionMismatches.length}, state mismatches ${a.stateMismatches.length}; states ${JSON.stringify(Object.fromEntries(states))}`);
        assert.deepEqual(a.falsePositives.slice(0, 10), []);
        assert.deepEqual(a.falseNegatives.slice(0, 10), []);
        assert.deepEqual(a.fixedVersionMismatches.slice(0, 10), []);
        assert.deepEqual(a.stateMismatches.slice(0, 10), []);
        assert.equal(result.findings.length, groups);
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
