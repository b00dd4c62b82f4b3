/**
 * Vendor states the OSV rendering loses: the Ubuntu CVE Tracker source (real UCT jammy records,
 * test/data/vulndb/uct-jammy.sample.jsonl) keeps "ignored" / "deferred" / "needs-triage" and
 * their notes; osv.dev's Debian records keep the tracker urgency "unimportant". Each case is a
 * real record; the expected values are read off the raw line next to it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Advisory, AffectedPackage, EpssScore, KevEntry, NormalizeSink } from '../../src/vulndb/index.ts';
import { osvSource } from '../../src/vulndb/sources/osv/index.ts';
import { ubuntuUctSource, uctReleaseNamespace } from '../../src/vulndb/sources/ubuntu-uct/index.ts';
import { importFeeds, openVulnDb } from '../../src/vulndb/store.ts';
import { SLICES, tempDir } from './helpers.ts';

async function normalize(source: typeof osvSource, file: string, bytes?: Uint8Array): Promise<{ advisories: Advisory[]; malformed: number; skipped: Record<string, number> }> {
  const advisories: Advisory[] = [];
  const sink: NormalizeSink = { advisory: (a) => advisories.push(a), kev: (_: KevEntry) => undefined, epss: (_: EpssScore) => undefined };
  const r = await source.normalize(file, bytes ?? new Uint8Array(readFileSync(file)), sink);
  return { advisories, malformed: r.malformed, skipped: r.skipped ?? {} };
}

function entry(advisories: Advisory[], id: string, namespace: string, name: string): AffectedPackage | undefined {
  return advisories.find((a) => a.id === id)?.affected.find((p) => p.namespace === namespace && p.name === name);
}

describe('ubuntu-uct source: real UCT jammy records', () => {
  it('release keys: jammy → ubuntu:22.04, esm-apps/jammy → ubuntu-pro:22.04 (Pro-only fixes), other keys unmapped', () => {
    assert.equal(uctReleaseNamespace('jammy'), 'ubuntu:22.04');
    assert.equal(uctReleaseNamespace('noble'), 'ubuntu:24.04');
    assert.equal(uctReleaseNamespace('esm-apps/jammy'), 'ubuntu-pro:22.04');
    assert.equal(uctReleaseNamespace('esm-infra/focal'), 'ubuntu-pro:20.04');
    assert.equal(uctReleaseNamespace('upstream'), undefined);
    assert.equal(uctReleaseNamespace('fips/jammy'), undefined);
  });

  it('each UCT status becomes its state; the word and the note are kept; priority and CVSS as given', async () => {
    const { advisories, malformed } = await normalize(ubuntuUctSource, SLICES.uct);
    assert.equal(malformed, 0);
    assert.equal(advisories.length, 10);
    // CVE-2024-6387 openssh: released 1:8.9p1-3ubuntu0.10, priority high, nvd CVSS 3.1.
    const ssh = advisories.find((a) => a.id === 'CVE-2024-6387')!;
    assert.deepEqual(ssh.aliases, ['CVE-2024-6387']);
    assert.equal(ssh.source, 'ubuntu-uct');
    assert.equal(ssh.published, '2024-07-01T13:15:00.000Z');
    assert.equal(ssh.cvss[0]?.source, 'nvd');
    assert.equal(ssh.cvss[0]?.score, 8.1);
    assert.deepEqual(entry(advisories, 'CVE-2024-6387', 'ubuntu:22.04', 'openssh'), {
      namespace: 'ubuntu:22.04', name: 'openssh', nameKind: 'source', versionScheme: 'deb', state: 'fixed', ranges: [{ fixed: '1:8.9p1-3ubuntu0.10' }],
      vendorStatus: { source: 'ubuntu', status: 'released', note: '1:8.9p1-3ubuntu0.10' }, vendorSeverity: { source: 'ubuntu', level: 'high', severity: 'high' },
    });
    // not-affected ("introduced in v8.5p1") stays a non-finding entry.
    assert.equal(entry(advisories, 'CVE-2024-6387', 'ubuntu:22.04', 'openssh-ssh1')?.state, 'not-affected');
    // CVE-2015-9019 libxslt: ignored, "see notes" → won't fix.
    assert.deepEqual(entry(advisories, 'CVE-2015-9019', 'ubuntu:22.04', 'libxslt')?.vendorStatus, { source: 'ubuntu', status: 'ignored', note: 'see notes' });
    assert.equal(entry(advisories, 'CVE-2015-9019', 'ubuntu:22.04', 'libxslt')?.state, 'wont-fix');
    // CVE-2012-0880 xerces-c: deferred (2024-01-08), in jammy and in esm-apps/jammy.
    assert.equal(entry(advisories, 'CVE-2012-0880', 'ubuntu:22.04', 'xerces-c')?.state, 'deferred');
    assert.equal(entry(advisories, 'CVE-2012-0880', 'ubuntu:22.04', 'xerces-c')?.vendorStatus?.note, '2024-01-08');
    assert.equal(entry(advisories, 'CVE-2012-0880', 'ubuntu-pro:22.04', 'xerces-c')?.state, 'deferred');
    // CVE-2023-0286 edk2: needs-triage (affected) with its own priority "low" over the CVE's "high".
    const edk2 = entry(advisories, 'CVE-2023-0286', 'ubuntu:22.04', 'edk2')!;
    assert.equal(edk2.state, 'affected');
    assert.equal(edk2.vendorStatus?.status, 'needs-triage');
    assert.equal(edk2.vendorSeverity?.level, 'low');
    assert.equal(entry(advisories, 'CVE-2023-0286', 'ubuntu:22.04', 'openssl')?.vendorSeverity?.level, 'high');
    // CVE-2020-19860 ldns: needed in jammy, released only in esm-apps (Pro).
    assert.equal(entry(advisories, 'CVE-2020-19860', 'ubuntu:22.04', 'ldns')?.state, 'affected');
    assert.deepEqual(entry(advisories, 'CVE-2020-19860', 'ubuntu-pro:22.04', 'ldns')?.ranges, [{ fixed: '1.7.1-2ubuntu4+esm1' }]);
    // CVE-2021-3530 gdb: pending with a version note is still unfixed (pending is not released).
    assert.deepEqual(entry(advisories, 'CVE-2021-3530', 'ubuntu:22.04', 'gdb')?.ranges, [{}]);
    // CVE-2020-26759: priority "untriaged" → unknown; two CVSS sources of CVE-2020-10713 both kept.
    assert.equal(entry(advisories, 'CVE-2020-26759', 'ubuntu:22.04', 'python-clickhouse-driver')?.vendorSeverity?.severity, 'unknown');
    assert.deepEqual(advisories.find((a) => a.id === 'CVE-2020-10713')!.cvss.map((c) => c.source), ['nvd', 'upstream']);
  });

  it('a released note that is not a version, an unknown status and a non-CVE candidate are counted malformed; DNE is skipped', async () => {
    const lines = [
      // CVE-2022-23639 rustc in the full jammy export: the note is " (1.58.1+dfsg1~ubuntu1-0ubuntu1" (a typo in UCT).
      JSON.stringify({ candidate: 'CVE-2022-23639', priority: 'medium', packages: { jammy: { rustc: { name: 'rustc', status: 'released', note: ' (1.58.1+dfsg1~ubuntu1-0ubuntu1' }, cargo: { name: 'cargo', status: 'DNE' } } } }),
      JSON.stringify({ candidate: 'CVE-2024-0001', packages: { jammy: { foo: { name: 'foo', status: 'bogus' } } } }),
      JSON.stringify({ candidate: 'not-a-cve', packages: {} }),
    ].join('\n');
    const r = await normalize(ubuntuUctSource, 'hand.jsonl', new TextEncoder().encode(lines));
    assert.equal(r.malformed, 3);
    assert.equal(r.advisories.length, 0);
    assert.equal(r.skipped['status:DNE'], 1);
  });

  it('db import detects a UCT JSONL(.gz) by content and keeps the states through the database', async (t) => {
    const dir = tempDir(t);
    const report = await importFeeds(join(dir, 'vuln.db'), [SLICES.uct, SLICES.uctSlice]);
    assert.deepEqual(report.feeds.map((f) => f.source), ['ubuntu-uct', 'ubuntu-uct']);
    const db = openVulnDb(join(dir, 'vuln.db'));
    try {
      const [row] = db.lookup('ubuntu:22.04', 'libxslt').filter((r) => r.advisory.id === 'CVE-2015-9019');
      assert.equal(row?.affected.state, 'wont-fix');
      assert.deepEqual(row?.affected.vendorStatus, { source: 'ubuntu', status: 'ignored', note: 'see notes' });
      assert.ok(db.hasNamespace('ubuntu-pro:22.04'));
    } finally {
      db.close();
    }
  });
});

describe('osv source: Debian urgency "unimportant"', () => {
  it('an unfixed entry rated unimportant becomes state unimportant (CVE-2005-2541 tar); a fixed one stays fixed (CVE-2004-2760 openssh)', async () => {
    const { advisories } = await normalize(osvSource, SLICES.debian);
    const raw = gunzipSync(readFileSync(SLICES.debian)).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; affected: { package: { name: string }; ecosystem_specific?: { urgency?: string } }[] });
    assert.equal(raw.find((r) => r.id === 'CVE-2005-2541')?.affected[0]?.ecosystem_specific?.urgency, 'unimportant');
    const tar = entry(advisories, 'CVE-2005-2541', 'debian:12', 'tar')!;
    assert.equal(tar.state, 'unimportant');
    assert.deepEqual(tar.ranges, [{}]);
    assert.deepEqual(tar.vendorStatus, { source: 'debian', status: 'unimportant', note: 'Debian security tracker urgency: unimportant' });
    assert.equal(tar.vendorSeverity?.severity, 'negligible');
    const ssh = entry(advisories, 'CVE-2004-2760', 'debian:12', 'openssh')!;
    assert.equal(ssh.state, 'fixed');
    assert.equal(ssh.vendorStatus, undefined);
    // Every unfixed unimportant entry of the slice, and only those.
    const unimportant = advisories.flatMap((a) => a.affected.filter((p) => p.state === 'unimportant').map((p) => `${a.id} ${p.name}`)).sort();
    const expected = raw.flatMap((r) => r.affected.filter((a) => a.ecosystem_specific?.urgency === 'unimportant' && !JSON.stringify(a).includes('"fixed"')).map((a) => `${r.id} ${a.package.name}`)).sort();
    assert.ok(expected.length >= 3);
    assert.deepEqual(unimportant, expected);
  });
});
