/**
 * CVSS base scores computed from vectors (src/vulndb/cvss.ts) against scores published for
 * real CVEs (NVD) and the specifications' own examples.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cvss2BaseScore, cvss3BaseScore, cvssSeverity, parseCvssVector } from '../../src/vulndb/cvss.ts';

// [vector, base score, where the pair comes from]
const V3: [string, number, string][] = [
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8, 'NVD, e.g. CVE-2022-22965'],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10.0, 'NVD CVE-2021-44228 (Log4Shell)'],
  ['CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H', 7.4, 'NVD CVE-2023-0286 (openssl)'],
  ['CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H', 8.1, 'NVD CVE-2024-6387 (regreSSHion)'],
  ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 7.8, 'NVD CVE-2023-4911 (Looney Tunables)'],
  ['CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:H/A:N', 6.5, 'NVD CVE-2024-51988 (rabbitmq)'],
  ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H', 5.5, 'NVD, many local DoS kernel CVEs'],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1, 'NVD, the usual reflected XSS'],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N', 5.3, 'NVD CVE-2016-20012 (openssh)'],
  ['CVSS:3.1/AV:A/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H', 9.0, 'scope change with PR:L (0.68)'],
  ['CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N', 1.6, 'smallest non-zero impact, FIRST calculator'],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N', 0.0, 'no impact → 0 (§7.1)'],
  ['CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8, 'CVSS 3.0 vector, NVD'],
  ['CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:N/I:H/A:N', 5.3, 'NVD CVE-2018-20685 (scp)'],
  ['CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:N', 6.8, 'NVD CVE-2019-6109 (scp)'],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C', 9.8, 'temporal metrics do not change the base score'],
];

test('CVSS 3.x base scores match published vector → score pairs', () => {
  for (const [vector, score, where] of V3) assert.equal(cvss3BaseScore(vector), score, `${vector} (${where})`);
});

test('every CVSS 3 base vector scores in [0, 10] with one decimal, and 3.0 agrees with 3.1', () => {
  // 4·2·3·2·2·3·3·3 = 2,592 base vectors. The 3.1 Roundup (Appendix A) only removes
  // floating-point artefacts; on base scores it agrees with 3.0's plain ceiling everywhere.
  const values = { AV: 'NALP', AC: 'LH', PR: 'NLH', UI: 'NR', S: 'UC', C: 'HLN', I: 'HLN', A: 'HLN' };
  let vectors = [''];
  for (const [k, vs] of Object.entries(values)) vectors = vectors.flatMap((v) => [...vs].map((x) => `${v}/${k}:${x}`));
  assert.equal(vectors.length, 2592);
  for (const v of vectors) {
    const s31 = cvss3BaseScore(`CVSS:3.1${v}`);
    assert.ok(s31 !== undefined && s31 >= 0 && s31 <= 10 && Math.round(s31 * 10) === s31 * 10, v);
    assert.equal(cvss3BaseScore(`CVSS:3.0${v}`), s31, v);
  }
});

test('invalid CVSS 3 vectors are refused, not scored', () => {
  for (const bad of [
    'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H', // A missing
    'CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', // bad value
    'CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', // repeated metric
    'CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
    'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/toString:x/constructor',
    'CVSS:3.1/AV:__proto__/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
    'CVSS:3.1/' + 'X:Y/'.repeat(200),
  ]) {
    assert.equal(cvss3BaseScore(bad), undefined, bad);
  }
});

test('CVSS 2.0 base scores (NVD)', () => {
  assert.equal(cvss2BaseScore('AV:N/AC:L/Au:N/C:P/I:P/A:P'), 7.5);
  assert.equal(cvss2BaseScore('AV:N/AC:M/Au:N/C:N/I:P/A:N'), 4.3);
  assert.equal(cvss2BaseScore('AV:N/AC:L/Au:N/C:C/I:C/A:C'), 10.0);
  assert.equal(cvss2BaseScore('AV:L/AC:L/Au:N/C:C/I:C/A:C'), 7.2);
  assert.equal(cvss2BaseScore('(AV:N/AC:L/Au:N/C:N/I:N/A:P)'), 5.0);
  assert.equal(cvss2BaseScore('AV:N/AC:L/Au:N/C:N/I:N/A:N'), 0);
  assert.equal(cvss2BaseScore('AV:N/AC:L/Au:N/C:P/I:P'), undefined);
});

test('parseCvssVector: versions, 4.0 kept without a computed score, severities by band', () => {
  assert.deepEqual(parseCvssVector('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 'nvd'), { version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8, source: 'nvd' });
  const v4 = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N';
  assert.deepEqual(parseCvssVector(v4), { version: '4.0', vector: v4 });
  assert.deepEqual(parseCvssVector(v4, undefined, 9.3), { version: '4.0', vector: v4, score: 9.3 });
  assert.deepEqual(parseCvssVector('AV:N/AC:L/Au:N/C:P/I:P/A:P'), { version: '2.0', vector: 'AV:N/AC:L/Au:N/C:P/I:P/A:P', score: 7.5 });
  assert.equal(parseCvssVector('medium'), undefined);
  assert.deepEqual([0, 0.1, 3.9, 4, 6.9, 7, 8.9, 9, 10].map(cvssSeverity), ['unknown', 'low', 'low', 'medium', 'medium', 'high', 'high', 'critical', 'critical']);
});
