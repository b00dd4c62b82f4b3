/**
 * Differential test of the rpm scheme against rpm's own library through its Python binding
 * (Debian packages rpm + python3-rpm, rpm 4.18): `rpm.labelCompare` for bare rpmvercmp and
 * `rpm.ver(a)` ordering for full "[E:]V[-R]" strings. One Python process answers every pair.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { compareRpm, rpmvercmp } from '../../src/version/rpm.ts';
import { pairs, rpmVersion } from './generate.ts';

const PAIRS = Number(process.env['VERSION_DIFF_PAIRS'] ?? 5000);
/** Debian's python3-rpm installs into the system interpreter, not into pyenv or venvs. */
const PYTHON = '/usr/bin/python3';

const ORACLE = `
import json, sys, rpm
out = []
for line in sys.stdin:
    a, b = json.loads(line)
    vercmp = rpm.labelCompare(("0", a, ""), ("0", b, ""))
    try:
        va, vb = rpm.ver(a), rpm.ver(b)
        evr = (va > vb) - (va < vb)
    except ValueError:
        evr = "E"
    out.append([vercmp, evr])
json.dump(out, sys.stdout)
`;

function rpmMissing(): string | false {
  const r = spawnSync(PYTHON, ['-c', 'import rpm'], { stdio: 'ignore' });
  return r.status === 0 ? false : `${PYTHON} cannot import rpm: install Debian packages rpm and python3-rpm (bash .ci/run installs them)`;
}

function oracle(list: Array<[string, string]>): Array<[number, number | 'E']> {
  const input = list.map((p) => JSON.stringify(p)).join('\n') + '\n';
  const r = spawnSync(PYTHON, ['-c', ORACLE], { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`rpm oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Array<[number, number | 'E']>;
}

const skip = rpmMissing();

test('rpmvercmp and EVR compare agree with rpm 4.18 on generated tricky pairs', { skip }, () => {
  const list = pairs(rpmVersion, PAIRS, 4180).filter(([a, b]) => a !== '' && b !== '' && !(a + b).includes('\0'));
  const answers = oracle(list);
  assert.equal(answers.length, list.length);
  const failures: string[] = [];
  list.forEach(([a, b], i) => {
    const [vercmp, evr] = answers[i]!;
    const ours = rpmvercmp(a, b);
    if (ours !== vercmp) failures.push(`rpmvercmp(${JSON.stringify(a)}, ${JSON.stringify(b)}) = ${ours}, rpm = ${vercmp}`);
    if (evr !== 'E' && compareRpm(a, b) !== evr) failures.push(`compareRpm(${JSON.stringify(a)}, ${JSON.stringify(b)}) = ${compareRpm(a, b)}, rpm.ver = ${evr}`);
  });
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} disagreements with rpm in ${list.length} pairs`);
});

test('rpm compare agrees with rpm on hand-picked edge cases', { skip }, () => {
  const list: Array<[string, string]> = [
    ['1.0^', '1.0'],
    ['1.0^~', '1.0'],
    ['1.0~^', '1.0~'],
    ['1.0', '1.0-'],
    ['1.0-', '1.0-0'],
    [':1.0', '0:1.0'],
    ['1:1.0', '01:1.0'],
    ['1.0-1-2', '1.0-1'],
    ['1.α', '1.β'],
    ['a', '1'],
    ['1a', '1.a'],
    ['1.0.', '1.0'],
    ['000001', '1'],
    ['123456789012345678901234567890', '123456789012345678901234567891'],
    ['18446744073709551616:1', '1:1'],
    ['1:2:3-4', '1:2:3-5'],
  ];
  const answers = oracle(list);
  const failures = list.flatMap(([a, b], i) => {
    const [vercmp, evr] = answers[i]!;
    const ours: Array<[string, string, string]> = [];
    if (rpmvercmp(a, b) !== vercmp) ours.push([a, b, `rpmvercmp ${rpmvercmp(a, b)} vs ${vercmp}`]);
    if (evr !== 'E' && compareRpm(a, b) !== evr) ours.push([a, b, `compareRpm ${compareRpm(a, b)} vs ${evr}`]);
    return ours;
  });
  assert.deepEqual(failures, []);
});
