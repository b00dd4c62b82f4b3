/**
 * The vulnerability database end to end on real feed slices (test/data/vulndb/README.md):
 * import counts, real advisories normalized exactly as the raw records say, malformed records
 * counted, atomic replacement, raw feeds kept and re-normalized, directory and zip inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { unzipSync } from 'fflate';
import { defaultDbPath, importFeeds, importRawFeeds, openVulnDb, rawDir, rebuildFromRaw } from '../../src/vulndb/store.ts';
import { CorruptError, UsageError } from '../../src/util/errors.ts';
import type { AffectedRecord, VulnDb } from '../../src/vulndb/index.ts';
import { SLICES, tempDir } from './helpers.ts';

function find(db: VulnDb, ns: string, name: string, id: string): AffectedRecord {
  const hit = db.lookup(ns, name).find((r) => r.advisory.id === id);
  assert.ok(hit, `${id} for ${ns}/${name}`);
  return hit;
}

test('every real slice imports with the record counts the raw files have; malformed only where the raw data is', async (t) => {
  const db = join(tempDir(t), 'vuln.db');
  const report = await importFeeds(db, Object.values(SLICES));
  const by = Object.fromEntries(report.feeds.map((f) => [f.name.split('/').pop()!, f]));
  // Counts from an independent read of the slices (python json, see the README table).
  assert.deepEqual(
    Object.fromEntries(Object.entries(by).map(([k, f]) => [k, [f.source, f.advisories, f.affected, f.kev, f.epss, f.malformed]])),
    {
      'debian-12.osv.jsonl.gz': ['osv', 146, 157, 0, 0, 0],
      'ubuntu-22.04.osv.jsonl': ['osv', 87, 215, 0, 0, 0],
      'ubuntu-osv-samples.jsonl': ['osv', 3, 13, 0, 0, 0],
      'alpine-v3.21.osv.all.zip': ['osv', 70, 71, 0, 0, 0],
      'azurelinux-3.0-oval.xml.gz': ['azurelinux-oval', 71, 71, 0, 0, 0],
      'known_exploited_vulnerabilities.json': ['kev', 103, 0, 103, 0, 0],
      'epss_scores-2026-08-16.csv.gz': ['epss', 405, 0, 0, 405, 0],
      'v3.21-main.json.gz': ['alpine-secdb', 2455, 2524, 0, 0, 1],
      'vedge-community.json.gz': ['alpine-secdb', 4082, 5432, 0, 0, 4],
      // One advisory per CVE, one affected entry per jammy / esm-apps/jammy package entry.
      'uct-jammy.sample.jsonl': ['ubuntu-uct', 10, 42, 0, 0, 0],
      'uct-jammy.slice.jsonl.gz': ['ubuntu-uct', 359, 389, 0, 0, 0],
    },
  );
  const v = openVulnDb(db);
  t.after(() => v.close());
  const status = v.status();
  assert.equal(status.schemaVersion, 2);
  assert.equal(status.kevEntries, 103);
  assert.equal(status.epssScores, 405);
  assert.equal(status.epssDate, '2026-08-16');
  assert.deepEqual(
    status.namespaces.map((n) => n.namespace),
    [
      'alpine:3.21',
      'alpine:edge',
      'azurelinux:3.0',
      'debian:12',
      // LSN-0108-1 (Livepatch) is Ubuntu Pro only: its own namespaces.
      'ubuntu-pro:14.04',
      'ubuntu-pro:16.04',
      'ubuntu-pro:18.04',
      'ubuntu-pro:20.04',
      'ubuntu-pro:22.04',
      'ubuntu-pro:24.04',
      'ubuntu:20.04', 'ubuntu:22.04', 'ubuntu:24.04', 'ubuntu:24.10'],
  );
  assert.equal(status.namespaces.find((n) => n.namespace === 'debian:12')!.advisories, 146);
  assert.ok(v.hasNamespace('ubuntu:22.04') && v.hasNamespace('azurelinux:3.0'));
  assert.equal(v.hasNamespace('flatcar:3815'), false);
  assert.equal(v.hasNamespace('ubuntu:22'), false);
});

test('Debian OSV: source-package keyed records normalized as the tracker export says', async (t) => {
  const db = join(tempDir(t), 'vuln.db');
  await importFeeds(db, [SLICES.debian]);
  const v = openVulnDb(db);
  t.after(() => v.close());

  // CVE-2023-0286: openssl fixed in 3.0.8-1, CVSS:3.1 AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H = 7.4 (NVD).
  const ossl = find(v, 'debian:12', 'openssl', 'CVE-2023-0286');
  assert.deepEqual(ossl.affected, {
    namespace: 'debian:12',
    name: 'openssl',
    nameKind: 'source',
    versionScheme: 'deb',
    state: 'fixed',
    ranges: [{ fixed: '3.0.8-1' }],
    vendorSeverity: { source: 'debian', level: 'not yet assigned', severity: 'unknown' },
  });
  assert.deepEqual(ossl.advisory.cvss, [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H', score: 7.4 }]);
  // The record's own aliases follow the CVE.
  assert.deepEqual(ossl.advisory.aliases, ['CVE-2023-0286', 'GHSA-x4qr-2fvf-3mr5', 'RUSTSEC-2023-0006']);
  assert.equal(ossl.advisory.source, 'osv');
  assert.equal(ossl.advisory.feed, 'debian-12.osv.jsonl.gz');

  // CVE-2024-6387 (regreSSHion): epoch kept in the fixed version, versions[] kept.
  const ssh = find(v, 'debian:12', 'openssh', 'CVE-2024-6387');
  assert.deepEqual(ssh.affected.ranges, [{ fixed: '1:9.2p1-2+deb12u3' }]);
  assert.equal(ssh.affected.versions?.length, 3);
  assert.equal(ssh.advisory.cvss[0]!.score, 8.1);

  // CVE-2023-0597: linux, "introduced 0" only = unfixed in bookworm.
  const unfixed = find(v, 'debian:12', 'linux', 'CVE-2023-0597');
  assert.equal(unfixed.affected.state, 'affected');
  assert.deepEqual(unfixed.affected.ranges, [{}]);
  assert.equal(unfixed.affected.versions?.length, 123);

  // DSA-5418-1: a DSA names its CVEs in `related`; no ecosystem_specific, so no urgency.
  const dsa = find(v, 'debian:12', 'chromium', 'DSA-5418-1');
  assert.equal(dsa.advisory.aliases.length, 14);
  assert.equal(dsa.advisory.aliases[0], 'CVE-2023-2929');
  assert.equal(dsa.affected.vendorSeverity, undefined);
  assert.equal(dsa.advisory.summary, 'chromium - security update');

  // Debian "unimportant" urgency is the tracker's negligible.
  const unimportant = find(v, 'debian:12', 'uw-imap', 'CVE-2002-1782');
  assert.deepEqual(unimportant.affected.vendorSeverity, { source: 'debian', level: 'unimportant', severity: 'negligible' });
  assert.deepEqual(unimportant.affected.ranges, [{ fixed: '7:2002ddebian1-2' }]);
  assert.equal(unimportant.advisory.published, '2002-12-31T05:00:00.000Z');
});

test('Ubuntu OSV (Canonical shape): priority, fixed and unfixed entries, Pro kept apart', async (t) => {
  const db = join(tempDir(t), 'vuln.db');
  await importFeeds(db, [SLICES.ubuntu, SLICES.ubuntuSamples]);
  const v = openVulnDb(db);
  t.after(() => v.close());

  const ossl = find(v, 'ubuntu:22.04', 'openssl', 'UBUNTU-CVE-2023-0286');
  assert.equal(ossl.affected.state, 'fixed');
  assert.deepEqual(ossl.affected.ranges, [{ fixed: '3.0.2-0ubuntu1.8' }]);
  assert.deepEqual(ossl.affected.vendorSeverity, { source: 'ubuntu', level: 'high', severity: 'high' });
  assert.deepEqual(ossl.advisory.aliases, ['CVE-2023-0286']);
  // edk2 in the same record has no fix ("introduced 0" only): affected.
  const edk2 = find(v, 'ubuntu:22.04', 'edk2', 'UBUNTU-CVE-2023-0286');
  assert.equal(edk2.affected.state, 'affected');
  assert.deepEqual(edk2.affected.vendorSeverity, { source: 'ubuntu', level: 'low', severity: 'low' });

  const xz = find(v, 'ubuntu:22.04', 'xz-utils', 'UBUNTU-CVE-2024-3094');
  assert.equal(xz.affected.vendorSeverity?.severity, 'critical');
  const untriaged = find(v, 'ubuntu:22.04', 'python-clickhouse-driver', 'UBUNTU-CVE-2020-26759');
  assert.deepEqual(untriaged.affected.vendorSeverity, { source: 'ubuntu', level: 'untriaged', severity: 'unknown' });

  // Log4Shell: two identical CVSS vectors in the record are kept once; S:C → 10.0.
  const log4j = find(v, 'ubuntu:22.04', 'apache-log4j2', 'UBUNTU-CVE-2021-44228');
  assert.deepEqual(log4j.advisory.cvss, [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', score: 10 }]);

  // Real Canonical samples: a USN lists CVEs (not UBUNTU-CVE duplicates) as aliases; LSN is Pro-only.
  const usn = v.lookup('ubuntu:22.04', 'linux-nvidia-6.8').find((r) => r.advisory.id === 'USN-7095-1');
  assert.ok(usn);
  assert.ok(usn.advisory.aliases.every((a) => a.startsWith('CVE-')));
  assert.equal(usn.advisory.aliases[0], 'CVE-2023-52887');
  assert.deepEqual(usn.affected.ranges, [{ fixed: '6.8.0-1017.19~22.04.1' }]);
  assert.equal(v.lookup('ubuntu:14.04', 'linux-lts-xenial').length, 0);
  assert.equal(v.lookup('ubuntu-pro:14.04', 'linux-lts-xenial')[0]?.advisory.id, 'LSN-0108-1');
  const rabbit = find(v, 'ubuntu:24.10', 'rabbitmq-server', 'UBUNTU-CVE-2024-51988');
  assert.equal(rabbit.affected.versions?.[0], '3.12.1-1ubuntu1');
  assert.equal(rabbit.advisory.cvss[0]!.score, 6.5);
});

test('Alpine OSV all.zip: every entry read, apk scheme, versions kept', async (t) => {
  const db = join(tempDir(t), 'vuln.db');
  await importFeeds(db, [SLICES.alpine]);
  const v = openVulnDb(db);
  t.after(() => v.close());
  const sasl = find(v, 'alpine:3.21', 'cyrus-sasl', 'CVE-2013-4122');
  assert.deepEqual(sasl.affected.ranges, [{ fixed: '2.1.26-r7' }]);
  assert.equal(sasl.affected.versionScheme, 'apk');
  assert.equal(sasl.affected.versions?.length, 22);
});

test('Alpine secdb: secfixes versions become fixed, "0" not-affected, re-fixes keep the higher version', async (t) => {
  const db = join(tempDir(t), 'vuln.db');
  const r = await importFeeds(db, [SLICES.secdb, SLICES.secdbEdge]);
  // Counted from the raw files (python json): distinct ids per file; the malformed entries are
  // real typos in secdb: "CVE-46838" (linux-lts), "CVE-????-?????" (tailscale), and versions
  // apk-tools rejects ("10.0.11-0", "6.6.2p1-r0", "2021-03-27-r5").
  assert.deepEqual(r.feeds.map((f) => [f.source, f.advisories, f.affected, f.malformed]), [
    ['alpine-secdb', 2455, 2524, 1],
    ['alpine-secdb', 4082, 5432, 4],
  ]);
  assert.match(r.feeds[0]!.malformedExamples[0]!, /linux-lts 6\.6\.13-r1: "CVE-46838" is not an advisory id/);
  const v = openVulnDb(db);
  t.after(() => v.close());
  assert.deepEqual(find(v, 'alpine:3.21', 'openssl', 'CVE-2024-6119').affected, {
    namespace: 'alpine:3.21',
    name: 'openssl',
    nameKind: 'source',
    versionScheme: 'apk',
    state: 'fixed',
    ranges: [{ fixed: '3.3.2-r0' }],
  });
  assert.equal(find(v, 'alpine:3.21', 'openssl', 'CVE-2022-1292').affected.state, 'not-affected');
  // libarchive lists CVE-2024-26256 under 3.7.4-r0 and again under 3.7.5-r0.
  assert.deepEqual(find(v, 'alpine:3.21', 'libarchive', 'CVE-2024-26256').affected.ranges, [{ fixed: '3.7.5-r0' }]);
  // "CVE-2021-27219 GHSL-2021-045": the second word is an alias.
  assert.deepEqual(find(v, 'alpine:3.21', 'glib', 'CVE-2021-27219').advisory.aliases, ['CVE-2021-27219', 'GHSL-2021-045']);
  assert.equal(find(v, 'alpine:3.21', 'busybox', 'ALPINE-13661').affected.ranges[0]!.fixed, '1.35.0-r7');
  assert.ok(v.hasNamespace('alpine:edge'));
});

test('Azure Linux OVAL: rpminfo name + "less than" evr, severity, placeholder lower bound dropped', async (t) => {
  const db = join(tempDir(t), 'vuln.db');
  await importFeeds(db, [SLICES.oval]);
  const v = openVulnDb(db);
  t.after(() => v.close());
  const ssh = v.lookup('azurelinux:3.0', 'openssh').find((r) => r.advisory.aliases[0] === 'CVE-2024-6387');
  assert.ok(ssh);
  assert.match(ssh.advisory.id, /^oval:com\.microsoft\.azurelinux:def:\d+$/);
  assert.deepEqual(ssh.affected.ranges, [{ fixed: '0:9.8p1-1.azl3' }]);
  assert.equal(ssh.affected.state, 'fixed');
  assert.equal(ssh.affected.nameKind, 'source');
  assert.equal(ssh.advisory.summary, 'CVE-2024-6387 affecting package openssh for versions less than 9.8p1-1');
  assert.deepEqual(ssh.advisory.references, ['https://nvd.nist.gov/vuln/detail/CVE-2024-6387']);
  // CVE-2023-29409 golang has a second criterion "greater than 0:0.0.0.azl3": a placeholder.
  const go = v.lookup('azurelinux:3.0', 'golang').find((r) => r.advisory.aliases[0] === 'CVE-2023-29409');
  assert.ok(go);
  assert.deepEqual(go.affected.ranges, [{ fixed: '0:1.20.7-1.azl3' }]);
  assert.equal(go.affected.vendorSeverity?.source, 'microsoft');
});

test('KEV and EPSS are attached by CVE id', async (t) => {
  const db = join(tempDir(t), 'vuln.db');
  await importFeeds(db, [SLICES.kev, SLICES.epss]);
  const v = openVulnDb(db);
  t.after(() => v.close());
  assert.deepEqual(v.kev('CVE-2021-44228'), {
    cve: 'CVE-2021-44228',
    dateAdded: '2021-12-10',
    dueDate: '2021-12-24',
    knownRansomwareCampaignUse: 'Known',
    vendorProject: 'Apache',
    product: 'Log4j2',
  });
  assert.equal(v.kev('CVE-2023-0286'), undefined);
  assert.deepEqual(v.epss('CVE-2021-44228'), { cve: 'CVE-2021-44228', score: 0.99999, percentile: 1, date: '2026-08-16' });
  assert.equal(v.epss('CVE-1999-0000'), undefined);
});

test('malformed OSV lines and records are counted with examples; the rest imports', async (t) => {
  const dir = tempDir(t);
  const good = readFileSync(SLICES.ubuntu, 'utf8').trimEnd().split('\n');
  const broken = [
    '{"id": "UBUNTU-CVE-BROKEN-1", "affected": [', // not JSON
    '{"affected": []}', // no id
    '{"id": "X-1", "affected": [{"package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "p"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": 7}]}]}]}',
    '{"id": "X-2", "affected": [{"package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "p"}}]}', // no ranges, no versions
    '{"id": "X-3", "withdrawn": "2024-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "p"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}',
    '{"id": "X-4", "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}',
    '{"id": "X-5", "affected": [{"package": {"ecosystem": "Go", "name": "example.com/m"}, "ranges": [{"type": "GIT", "repo": "https://x", "events": [{"introduced": "0"}]}, {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}]}]}',
    '{"id": "X-6", "affected": [{"package": {"ecosystem": "Debian:12", "name": "zlib"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "0"}]}]}]}',
  ];
  const file = join(dir, 'mixed.jsonl');
  writeFileSync(file, [...good.slice(0, 10), ...broken, ...good.slice(10)].join('\n') + '\n');
  const db = join(dir, 'vuln.db');
  const [feed] = (await importFeeds(db, [file])).feeds;
  assert.ok(feed);
  assert.equal(feed.advisories, 87 + 2); // X-5 (Go) and X-6 (Debian not-affected)
  assert.equal(feed.malformed, 4);
  assert.equal(feed.malformedExamples.length, 4);
  assert.match(feed.malformedExamples[0]!, /mixed\.jsonl:11: JSON does not parse/);
  assert.match(feed.malformedExamples[1]!, /record\.id is not a non-empty string/);
  assert.match(feed.malformedExamples[2]!, /fixed is not a string/);
  assert.match(feed.malformedExamples[3]!, /has no ranges and no versions/);
  assert.deepEqual(feed.skipped, { withdrawn: 1, 'unsupported-ecosystem:PyPI': 1, 'no-supported-affected': 1, 'git-range': 1 });
  const v = openVulnDb(db);
  t.after(() => v.close());
  const go = v.lookup('go', 'example.com/m')[0];
  assert.deepEqual(go?.affected, { namespace: 'go', name: 'example.com/m', nameKind: 'module', versionScheme: 'go', state: 'fixed', ranges: [{ fixed: '1.2.3' }] });
  // fixed "0" is the Debian tracker's <not-affected> placeholder, never a fixed version.
  const zlib = v.lookup('debian:12', 'zlib')[0];
  assert.equal(zlib?.affected.state, 'not-affected');
  assert.deepEqual(zlib?.affected.ranges, []);
});

test('a failed import (truncated gzip, unknown file) keeps the previous database byte for byte', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'vuln.db');
  await importFeeds(db, [SLICES.debian]);
  const before = readFileSync(db);
  const truncated = join(dir, 'ubuntu.jsonl.gz');
  const gz = gzipSync(readFileSync(SLICES.ubuntu));
  writeFileSync(truncated, gz.subarray(0, Math.floor(gz.length / 2)));
  await assert.rejects(importFeeds(db, [SLICES.kev, truncated]), CorruptError);
  assert.deepEqual(readFileSync(db), before);
  const unknown = join(dir, 'notes.csv');
  writeFileSync(unknown, 'a,b,c\n1,2,3\n');
  await assert.rejects(importFeeds(db, [unknown]), /no vulnerability source recognises/);
  assert.deepEqual(readFileSync(db), before);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.includes('.tmp-')),
    [],
    'no temporary database left behind',
  );
  const v = openVulnDb(db);
  t.after(() => v.close());
  assert.equal(v.status().sources.length, 1);
  assert.equal(v.kev('CVE-2021-44228'), undefined);
});

test('re-importing a feed replaces it; another feed is kept; a new KEV catalogue replaces the old', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'vuln.db');
  await importFeeds(db, [SLICES.debian, SLICES.kev]);
  const kev2 = join(dir, 'kev-copy.json');
  copyFileSync(SLICES.kev, kev2);
  const r = await importFeeds(db, [SLICES.debian, kev2]);
  assert.deepEqual(r.replaced, [SLICES.kev]);
  const v = openVulnDb(db);
  t.after(() => v.close());
  const s = v.status();
  assert.deepEqual(s.sources.map((x) => [x.source, x.feeds.length, x.advisories]), [
    ['kev', 1, 103],
    ['osv', 1, 146],
  ]);
  assert.equal(v.lookup('debian:12', 'openssl').filter((x) => x.advisory.id === 'CVE-2023-0286').length, 1);
});

test('raw feeds are kept content-addressed beside the database and re-normalize to the same data', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'vuln.db');
  const first = await importFeeds(db, [SLICES.debian, SLICES.oval]);
  const raws = readdirSync(rawDir(db)).sort();
  assert.deepEqual(raws, first.feeds.map((f) => f.sha256).sort());
  assert.deepEqual(readFileSync(join(rawDir(db), first.feeds[0]!.sha256)), readFileSync(SLICES.debian));
  const rebuilt = await rebuildFromRaw(db);
  assert.deepEqual(
    rebuilt.feeds.map((f) => [f.name, f.advisories, f.affected]),
    first.feeds.map((f) => [f.name, f.advisories, f.affected]),
  );
  // A replaced feed's raw file is collected.
  await importFeeds(db, [SLICES.kev], { replace: true });
  assert.equal(readdirSync(rawDir(db)).length, 1);
});

test('a directory of OSV JSON files imports as one feed; other feed files in it import on their own', async (t) => {
  const dir = tempDir(t);
  const feedDir = join(dir, 'feeds');
  mkdirSync(join(feedDir, 'osv', '2013'), { recursive: true });
  const zip = unzipSync(readFileSync(SLICES.alpine));
  for (const [name, bytes] of Object.entries(zip).slice(0, 5)) writeFileSync(join(feedDir, 'osv', '2013', name), bytes);
  copyFileSync(SLICES.kev, join(feedDir, 'kev.json'));
  writeFileSync(join(feedDir, 'README.md'), 'ignored');
  const db = join(dir, 'vuln.db');
  const r = await importFeeds(db, [feedDir]);
  assert.deepEqual(r.feeds.map((f) => [f.name.slice(feedDir.length), f.source, f.advisories]), [
    ['/', 'osv', 5],
    ['/kev.json', 'kev', 103],
  ]);
});

test('an EPSS file with the daily-file comment line takes its score date from it', async (t) => {
  const dir = tempDir(t);
  const rows = gunzipSync(readFileSync(SLICES.epss)).toString('utf8').split('\n').slice(0, 6);
  const file = join(dir, 'scores.csv');
  writeFileSync(file, ['#model_version:v2025.03.14,score_date:2026-08-15T00:00:00+0000', ...rows, 'CVE-2020-1,2.5,0.1', 'not,a,row,really', ''].join('\n'));
  const db = join(dir, 'vuln.db');
  const [feed] = (await importFeeds(db, [file])).feeds;
  assert.equal(feed?.epss, 5);
  assert.equal(feed?.malformed, 2);
  const v = openVulnDb(db);
  t.after(() => v.close());
  const cve = rows[1]!.split(',')[0]!;
  assert.equal(v.epss(cve)?.date, '2026-08-15');
  // Without the comment, a dated file name ("epss_scores-…" or "epss-…") gives the date.
  const named = join(dir, 'epss-2026-08-14.slice.csv');
  writeFileSync(named, rows.join('\n') + '\n');
  await importFeeds(db, [named]);
  const w = openVulnDb(db);
  t.after(() => w.close());
  assert.equal(w.epss(cve)?.date, '2026-08-14');
  // Without the comment and without a date in the name there is no score date: refused.
  const nodate = join(dir, 'scores2.csv');
  writeFileSync(nodate, rows.join('\n') + '\n');
  await assert.rejects(importFeeds(db, [nodate]), /no score_date/);
});

test('opening a missing database or another schema version is a usage error naming the fix', async (t) => {
  const dir = tempDir(t);
  assert.throws(() => openVulnDb(join(dir, 'none.db')), (e: unknown) => e instanceof UsageError && /hullscan db update/.test(e.message));
  const { DatabaseSync } = await import('node:sqlite');
  const other = join(dir, 'other.db');
  const d = new DatabaseSync(other);
  d.exec('PRAGMA user_version = 99');
  d.close();
  assert.throws(() => openVulnDb(other), /schema version 99/);
  // An import over a database of another schema version rebuilds it instead of mixing.
  await importFeeds(other, [SLICES.kev]);
  const v = openVulnDb(other);
  t.after(() => v.close());
  assert.equal(v.status().kevEntries, 103);
  // A file that is not SQLite at all: refused on open, replaced by an import.
  const junk = join(dir, 'junk.db');
  writeFileSync(junk, 'this is not a database, just some text that is long enough to have a header.....');
  assert.throws(() => openVulnDb(junk), (e: unknown) => e instanceof UsageError && /is not a vulnerability database/.test(e.message));
  await importFeeds(junk, [SLICES.kev]);
  const w = openVulnDb(junk);
  t.after(() => w.close());
  assert.equal(w.status().kevEntries, 103);
});

test('default database path: --db, then HULLSCAN_DB, then XDG_DATA_HOME, then ~/.local/share', () => {
  assert.equal(defaultDbPath('/x/y.db', { HULLSCAN_DB: '/e.db' }), '/x/y.db');
  assert.equal(defaultDbPath(undefined, { HULLSCAN_DB: '/e.db', XDG_DATA_HOME: '/xdg' }), '/e.db');
  assert.equal(defaultDbPath(undefined, { XDG_DATA_HOME: '/xdg', HOME: '/home/u' }), '/xdg/hullscan/vuln.db');
  // A relative XDG_DATA_HOME is invalid per the XDG Base Directory spec and is ignored.
  assert.equal(defaultDbPath(undefined, { XDG_DATA_HOME: 'rel', HOME: '/home/u' }), '/home/u/.local/share/hullscan/vuln.db');
});

test('lookups are indexed: 2,000 lookups over an imported feed finish and use the index', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'vuln.db');
  await importFeeds(db, [SLICES.debian, SLICES.ubuntu]);
  const v = openVulnDb(db);
  t.after(() => v.close());
  let rows = 0;
  for (let i = 0; i < 2000; i++) rows += v.lookup(i % 2 ? 'debian:12' : 'ubuntu:22.04', i % 3 ? 'openssl' : `no-such-package-${i}`).length;
  assert.ok(rows > 0);
  // Answers are cached per (namespace, name) and shared.
  assert.equal(v.lookup('debian:12', 'openssl'), v.lookup('debian:12', 'openssl'));
  assert.deepEqual(v.lookup('debian:12', 'no-such-package'), []);
  const { DatabaseSync } = await import('node:sqlite');
  const raw = new DatabaseSync(db, { readOnly: true });
  const plan = raw.prepare('EXPLAIN QUERY PLAN SELECT * FROM affected WHERE namespace = ? AND name = ?').all('debian:12', 'openssl') as { detail: string }[];
  raw.close();
  assert.match(plan.map((p) => p.detail).join(' '), /USING INDEX affected_lookup/);
});

test('importRawFeeds with storeRaw=false keeps no raw files and refuses a rebuild', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'vuln.db');
  await importRawFeeds(db, [{ name: 'https://example.org/kev.json', bytes: readFileSync(SLICES.kev) }], { storeRaw: false });
  assert.equal(existsSync(rawDir(db)), false);
  assert.ok(statSync(db).size > 0);
  await assert.rejects(rebuildFromRaw(db), /without keeping its raw file/);
});

test('a reader opened before an update keeps its consistent view; a new reader sees the new data', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'vuln.db');
  await importFeeds(db, [SLICES.debian]);
  const before = openVulnDb(db);
  t.after(() => before.close());
  await importFeeds(db, [SLICES.kev], { replace: true });
  assert.equal(before.lookup('debian:12', 'openssl').some((r) => r.advisory.id === 'CVE-2023-0286'), true);
  assert.equal(before.kev('CVE-2021-44228'), undefined);
  const after = openVulnDb(db);
  t.after(() => after.close());
  assert.equal(after.lookup('debian:12', 'openssl').length, 0);
  assert.equal(after.hasNamespace('debian:12'), false);
  assert.equal(after.kev('CVE-2021-44228')?.dateAdded, '2021-12-10');
});
