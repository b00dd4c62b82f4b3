/**
 * OSV containers and schema corners on real records: a single JSON record, a JSON array, gzip of
 * either, schema 1.7 fields (`upstream`, Ubuntu priority as `severity[]` type "Ubuntu", CVSS 4.0),
 * `last_affected`, and the zip expansion budget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import type { Advisory, NormalizeSink } from '../../src/vulndb/index.ts';
import { osvSource } from '../../src/vulndb/sources/osv/index.ts';
import { MAX_ZIP_RATIO, ZIP_RATIO_FLOOR_BYTES } from '../../src/vulndb/sources/common.ts';
import { SLICES } from './helpers.ts';

function collect(): { sink: NormalizeSink; advisories: Advisory[] } {
  const advisories: Advisory[] = [];
  return { advisories, sink: { advisory: (a) => advisories.push(a), kev: () => undefined, epss: () => undefined } };
}

const SAMPLES = readFileSync(SLICES.ubuntuSamples, 'utf8').trimEnd().split('\n');
/** The sample line of a record id. */
const sample = (id: string): string => SAMPLES.find((l) => (JSON.parse(l) as { id: string }).id === id)!;
const ORDER = ['UBUNTU-CVE-2024-51988', 'LSN-0108-1', 'USN-7095-1'];
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

test('one pretty-printed JSON record, a JSON array and their gzip forms give the same advisories', async () => {
  const records = SAMPLES.map((l) => JSON.parse(l) as unknown);
  const forms: [string, Uint8Array][] = [
    ['record.json', enc(JSON.stringify(JSON.parse(sample('UBUNTU-CVE-2024-51988')), null, 2))],
    ['array.json', enc(JSON.stringify(records))],
    ['array.json.gz', gzipSync(enc(JSON.stringify(records, null, 1)))],
    ['lines.jsonl', enc(SAMPLES.join('\r\n') + '\r\n')],
  ];
  const ids: string[][] = [];
  for (const [name, bytes] of forms) {
    const c = collect();
    const r = await osvSource.normalize(name, bytes, c.sink);
    assert.equal(r.malformed, 0, name);
    ids.push(c.advisories.map((a) => a.id));
  }
  assert.deepEqual(ids, [['UBUNTU-CVE-2024-51988'], ORDER, ORDER, ORDER]);
});

test('schema 1.7 Ubuntu shape: CVE in upstream, priority in severity[] type "Ubuntu", CVSS 4.0 kept', async () => {
  // UBUNTU-CVE-2024-51988 rewritten the way Canonical's 1.7.0 records carry the same facts.
  const r = JSON.parse(sample('UBUNTU-CVE-2024-51988')) as Record<string, unknown> & { affected: Record<string, unknown>[] };
  r['schema_version'] = '1.7.0';
  r['upstream'] = ['CVE-2024-51988'];
  r['related'] = ['USN-7158-1'];
  r['severity'] = [
    { type: 'Ubuntu', score: 'medium' },
    { type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:N/VI:H/VA:N/SC:N/SI:N/SA:N' },
  ];
  for (const a of r.affected) delete (a['ecosystem_specific'] as Record<string, unknown>)['ubuntu_priority'];
  const c = collect();
  await osvSource.normalize('r.json', enc(JSON.stringify(r)), c.sink);
  const a = c.advisories[0]!;
  assert.deepEqual(a.aliases, ['CVE-2024-51988']);
  assert.deepEqual(a.cvss, [{ version: '4.0', vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:N/VI:H/VA:N/SC:N/SI:N/SA:N' }]);
  assert.ok(a.affected.every((p) => p.vendorSeverity?.level === 'medium' && p.vendorSeverity.severity === 'medium'));
});

test('last_affected closes a range with no fix; a second introduced opens another range', async () => {
  const rec = {
    id: 'GO-2099-0001',
    modified: '2025-01-01T00:00:00Z',
    affected: [
      {
        package: { ecosystem: 'Go', name: 'example.com/mod' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.2.0' }, { introduced: '1.3.0' }, { last_affected: '1.3.4' }] }],
      },
    ],
  };
  const c = collect();
  await osvSource.normalize('go.json', enc(JSON.stringify(rec)), c.sink);
  assert.deepEqual(c.advisories[0]!.affected[0]!.ranges, [{ fixed: '1.2.0' }, { introduced: '1.3.0', lastAffected: '1.3.4' }]);
  assert.equal(c.advisories[0]!.affected[0]!.state, 'affected');
});

test('a zip entry that expands beyond the ratio budget is counted malformed; the others import', async () => {
  const big = new Uint8Array(ZIP_RATIO_FLOOR_BYTES * 4).fill(0x20); // 4 MiB of spaces: deflates ~1000:1
  const zip = zipSync({ 'A.json': enc(sample('UBUNTU-CVE-2024-51988')), 'bomb.json': big }, { level: 9 });
  assert.ok(big.length / zip.length > MAX_ZIP_RATIO);
  const c = collect();
  const r = await osvSource.normalize('all.zip', zip, c.sink);
  assert.equal(c.advisories.length, 1);
  assert.equal(r.malformed, 1);
  assert.match(r.malformedExamples[0]!, /all\.zip!bomb\.json: zip entry expands more than 200:1/);
  // A truncated archive is corrupt as a whole.
  await assert.rejects(osvSource.normalize('all.zip', zip.subarray(0, 100), collect().sink), /zip/);
});
