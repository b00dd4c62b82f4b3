/**
 * Optional: imports the FULL real feeds (not in the repository) and checks the counts their
 * READMEs state. Runs when HULLSCAN_FULL_FEEDS names a directory with the layout of the
 * project's shared data folder (debian/, osv/ubuntu/, osv/alpine/, azurelinux/, kev/, epss/);
 * skipped otherwise, e.g. in CI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { importFeeds, openVulnDb } from '../../src/vulndb/store.ts';
import { tempDir } from './helpers.ts';

const ROOT = process.env['HULLSCAN_FULL_FEEDS'];
const FILES = {
  debian: 'debian/osv-debian-12.jsonl.gz',
  ubuntu2204: 'osv/ubuntu/ubuntu-22.04.osv.jsonl.gz',
  ubuntu2404: 'osv/ubuntu/ubuntu-24.04.osv.jsonl.gz',
  alpine: 'osv/alpine/osv-alpine-v3.21.jsonl.gz',
  oval: 'azurelinux/azurelinux-3.0-oval.xml.gz',
  kev: 'kev/known_exploited_vulnerabilities.json.gz',
  epss: 'epss/epss_scores-2026-08-16.first-api-dump.csv.gz',
};
const present = ROOT !== undefined && Object.values(FILES).every((f) => existsSync(join(ROOT, f)));
const skip = present ? false : 'set HULLSCAN_FULL_FEEDS to a directory holding the full feeds to run this test';

test('full feeds import with the counts their READMEs state', { skip, timeout: 600_000 }, async (t) => {
  const db = join(tempDir(t), 'vuln.db');
  const r = await importFeeds(
    db,
    Object.values(FILES).map((f) => join(ROOT!, f)),
    { storeRaw: false },
  );
  const by = Object.fromEntries(r.feeds.map((f) => [f.name.slice(ROOT!.length + 1), f]));
  const counts = (k: keyof typeof FILES): [number, number, number] => [by[FILES[k]]!.advisories, by[FILES[k]]!.affected, by[FILES[k]]!.malformed];
  // debian/README.md: 31,332 records, 33,568 Debian:12 affected entries.
  assert.deepEqual(counts('debian'), [31_332, 33_568, 0]);
  // osv/ubuntu/README.md: 17,675 records / 188,718 entries; 14,985 / 66,725.
  assert.deepEqual(counts('ubuntu2204'), [17_675, 188_718, 0]);
  assert.deepEqual(counts('ubuntu2404'), [14_985, 66_725, 0]);
  // osv/README index: 2,448 Alpine:v3.21 records.
  assert.deepEqual([by[FILES.alpine]!.advisories, by[FILES.alpine]!.malformed], [2_448, 0]);
  // azurelinux/README.md: 2,266 definitions.
  assert.deepEqual(counts('oval'), [2_266, 2_266, 0]);
  assert.equal(by[FILES.kev]!.kev, 1_404);
  assert.equal(by[FILES.epss]!.epss, 360_142);

  const v = openVulnDb(db);
  t.after(() => v.close());
  const { DatabaseSync } = await import('node:sqlite');
  const raw = new DatabaseSync(db, { readOnly: true });
  t.after(() => raw.close());
  const q = (sql: string, ...p: string[]): number => (raw.prepare(sql).get(...p) as { n: number }).n;
  // debian/README.md: 30,274 have a fixed event, 3,294 introduced only.
  assert.equal(q("SELECT count(*) AS n FROM affected WHERE namespace = 'debian:12' AND state = 'fixed'"), 30_274);
  assert.equal(q("SELECT count(*) AS n FROM affected WHERE namespace = 'debian:12' AND state = 'affected'"), 3_294);
  // osv/ubuntu/README.md totals: 82,322 fixed + 106,396 unfixed (22.04); 50,996 + 15,729 (24.04).
  assert.equal(q("SELECT count(*) AS n FROM affected WHERE namespace = 'ubuntu:22.04' AND state = 'fixed'"), 82_322);
  assert.equal(q("SELECT count(*) AS n FROM affected WHERE namespace = 'ubuntu:22.04' AND state = 'affected'"), 106_396);
  assert.equal(q("SELECT count(*) AS n FROM affected WHERE namespace = 'ubuntu:24.04' AND state = 'fixed'"), 50_996);
  assert.equal(q("SELECT count(*) AS n FROM affected WHERE namespace = 'ubuntu:24.04' AND state = 'affected'"), 15_729);
  // azurelinux/README.md: Critical 124, High 915, Medium 1,170, Low 57; 261 package names.
  const sev = raw.prepare("SELECT vendor_level AS l, count(*) AS n FROM affected WHERE namespace = 'azurelinux:3.0' GROUP BY vendor_level ORDER BY vendor_level").all() as { l: string; n: number }[];
  assert.deepEqual(sev.map((x) => [x.l, x.n]), [['Critical', 124], ['High', 915], ['Low', 57], ['Medium', 1_170]]);
  assert.equal(q("SELECT count(DISTINCT name) AS n FROM affected WHERE namespace = 'azurelinux:3.0'"), 261);
  // kev/README.md: 88 KEV CVEs have a record in the 22.04 file.
  assert.equal(q("SELECT count(DISTINCT k.cve) AS n FROM kev k JOIN advisories a ON a.id = 'UBUNTU-' || k.cve JOIN affected f ON f.advisory = a.rowid AND f.namespace = 'ubuntu:22.04'"), 88);
});
