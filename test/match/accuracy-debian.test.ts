/**
 * Accuracy against real data: the debootstrapped Debian 12 fixture (debianRoot(): real dpkg
 * status, read by the real inventory path) matched through the REAL database (importFeeds over a
 * slice of osv.dev's Debian 12 export, 2025-02-12) versus an oracle computed here from the raw
 * OSV JSON of the same slice with the real `dpkg --compare-versions`.
 *
 * Oracle rules (OSV schema "Evaluation", Debian entries being single introduced/fixed pairs):
 * vulnerable when introduced ≤ source version < fixed (no fixed: every version), or the source
 * version is listed in `versions`. Per CVE, the tracker's own CVE-* record decides; a DSA naming
 * the CVE decides only when there is no CVE-* record. Signed kernel images (source
 * linux-signed-amd64) are the `linux` kernel at their binary version.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Package } from '../../src/inventory/index.ts';
import { matchInventory } from '../../src/match/run.ts';
import { inventoryTarget } from '../../src/scan/inventory.ts';
import { importFeeds, openVulnDb } from '../../src/vulndb/store.ts';
import { debianRoot, fixtureOrSkip } from '../fixtures/node-image.ts';
import { agreement, dpkgLessThan, hasDpkg, type Expected } from './helpers/accuracy.ts';

const DATA = new URL('../data/match/', import.meta.url).pathname;

interface OsvRecord {
  id: string;
  related?: string[];
  aliases?: string[];
  affected: { package: { name: string; ecosystem: string }; ranges?: { events: Record<string, string>[] }[]; versions?: string[] }[];
}

function debianOracle(records: OsvRecord[], packages: Package[]): Expected[] {
  const signed = (p: Package): boolean => /^linux-signed-/.test(p.source?.name ?? '');
  const bySource = new Map<string, Package[]>();
  for (const p of packages) {
    const src = signed(p) ? 'linux' : (p.source?.name ?? p.name);
    bySource.set(src, [...(bySource.get(src) ?? []), p]);
  }
  const version = (p: Package): string => (signed(p) ? p.version : (p.source?.version ?? p.version));
  const pairs: [string, string][] = [];
  for (const r of records) for (const a of r.affected) for (const p of bySource.get(a.package.name) ?? []) for (const rg of a.ranges ?? []) for (const e of rg.events) {
    if (e.introduced !== undefined && e.introduced !== '0') pairs.push([version(p), e.introduced]);
    if (e.fixed !== undefined) pairs.push([version(p), e.fixed]);
  }
  const lt = dpkgLessThan(pairs);
  // Per CVE: the CVE-* record if there is one, else every DSA/DLA naming it.
  const perCve = new Map<string, OsvRecord[]>();
  for (const r of records) {
    const cves = /^CVE-/.test(r.id) ? [r.id] : [...(r.aliases ?? []), ...(r.related ?? [])].filter((x) => /^CVE-/.test(x));
    for (const c of cves) perCve.set(c, [...(perCve.get(c) ?? []), r]);
  }
  const out: Expected[] = [];
  for (const [cve, list] of perCve) {
    const own = list.filter((r) => r.id === cve);
    const deciding = own.length > 0 ? own : list;
    for (const p of packages) {
      let hit: { fixed?: string } | undefined;
      for (const r of deciding) {
        for (const a of r.affected) {
          if (!(bySource.get(a.package.name) ?? []).includes(p)) continue;
          const v = version(p);
          for (const rg of a.ranges ?? []) {
            let introduced = '0';
            let fixed: string | undefined;
            for (const e of rg.events) {
              if (e.introduced !== undefined) introduced = e.introduced;
              if (e.fixed !== undefined) fixed = e.fixed;
            }
            const afterIntro = introduced === '0' || !lt.get(`${v}\0${introduced}`);
            const beforeFix = fixed === undefined || lt.get(`${v}\0${fixed}`) === true;
            if (afterIntro && beforeFix && (hit === undefined || (fixed !== undefined && hit.fixed === undefined))) hit = fixed === undefined ? {} : { fixed };
          }
          if (hit === undefined && (a.versions ?? []).includes(v)) hit = {};
        }
      }
      if (hit !== undefined) out.push({ key: `${cve}|${p.id}`, ...(hit.fixed !== undefined && { fixedVersion: hit.fixed }), why: hit.fixed ? `< ${hit.fixed}` : 'no fix' });
    }
  }
  return out;
}

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
        console.log(`debian 12 accuracy: packages ${inv.packages.length}, findings ${result.findings.length}, oracle ${expected.length}, TP ${a.truePositives}, FP ${a.falsePositives.length}, FN ${a.falseNegatives.length}, precision ${a.precision.toFixed(4)}, recall ${a.recall.toFixed(4)}`);
        assert.ok(expected.length > 50, `expected a real number of findings, got ${expected.length}`);
        assert.deepEqual(a.falsePositives, []);
        assert.deepEqual(a.falseNegatives, []);
        assert.deepEqual(a.fixedVersionMismatches, []);
        assert.deepEqual(result.assessed, [{ namespace: 'debian:12', packages: inv.packages.length }]);
        const kernel = result.findings.filter((f) => f.package.name.startsWith('linux-image-') && f.kernel !== undefined);
        assert.ok(kernel.length > 0, 'kernel image findings');
        for (const f of kernel) assert.equal(f.kernel!.bootsByDefault, f.kernel!.release === inv.kernel?.bootDefault);
      } finally {
        db.close();
      }
    } finally {
      await opened.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
