/**
 * Differential test of the semver scheme against node-semver (npm's implementation, strict
 * mode), when it is installed (it arrives with the dev tool chain; it is not a dependency of
 * Hullscan). Inputs stay inside what node-semver can represent: numbers below 2^53, no
 * surrounding white space (node-semver trims it), lowercase "v" only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { compareSemver, parseSemver } from '../../src/version/semver.ts';
import { InvalidVersionError } from '../../src/version/index.ts';
import { pairs, semverVersion } from './generate.ts';

const PAIRS = Number(process.env['VERSION_DIFF_PAIRS'] ?? 5000);

interface NodeSemver {
  valid(v: string): string | null;
  compare(a: string, b: string): number;
}

function loadNodeSemver(): NodeSemver | undefined {
  try {
    return createRequire(import.meta.url)('semver') as NodeSemver;
  } catch {
    return undefined;
  }
}

const nodeSemver = loadNodeSemver();

test('semver precedence agrees with node-semver on generated pairs', { skip: nodeSemver ? false : 'node-semver is not installed (it comes with the dev dependencies)' }, () => {
  const oracle = nodeSemver!;
  const list = pairs((rnd) => semverVersion(rnd), PAIRS, 200).filter(([a, b]) => a.trim() === a && b.trim() === b && !/[0-9]{16}/.test(a + b));
  const failures: string[] = [];
  let invalid = 0;
  for (const [a, b] of list) {
    const validA = !(parseSemver(a) instanceof InvalidVersionError);
    const validB = !(parseSemver(b) instanceof InvalidVersionError);
    if (validA !== (oracle.valid(a) !== null)) failures.push(`valid(${JSON.stringify(a)}) = ${validA}, node-semver disagrees`);
    if (!validA) invalid++;
    if (validA && validB) {
      const want = oracle.compare(a, b);
      const ours = compareSemver(a, b);
      if (ours !== want) failures.push(`compare(${a}, ${b}) = ${ours}, node-semver = ${want}`);
    }
  }
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} disagreements in ${list.length} pairs`);
  assert.ok(invalid > 0 && invalid < list.length / 2, `${invalid} invalid first versions: the generator must mix both`);
});
