/**
 * Differential test of the deb scheme against the real `dpkg --compare-versions` on thousands
 * of generated pairs. dpkg is the reference: any disagreement is a bug in ours.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareDeb, parseDeb } from '../../src/version/deb.ts';
import { InvalidVersionError } from '../../src/version/index.ts';
import { needTools, tempDir } from '../helpers/tools.ts';
import { debVersion, pairs } from './generate.ts';

const PAIRS = Number(process.env['VERSION_DIFF_PAIRS'] ?? 1500);
const WORKERS = 2;
/** Field separator of the batch files (ASCII unit separator). */
const US = '\x1f';

/**
 * One bash process per chunk runs dpkg for each "a<US>b" line (US = 0x1f: not white space, so
 * `read` keeps empty fields) and prints -1, 0, 1, or E when dpkg refuses a version (exit 2).
 * `lt` first, `gt` only when needed: ~1.5 dpkg runs per pair. `--` ends dpkg's options, so a
 * version starting with '-' is not taken for one.
 */
const SCRIPT = `while IFS=$'\\x1f' read -r a b; do
  if dpkg --compare-versions -- "$a" lt "$b" 2>/dev/null; then echo -1
  else rc=$?
    if [ "$rc" -ne 1 ]; then echo E
    elif dpkg --compare-versions -- "$a" gt "$b" 2>/dev/null; then echo 1
    else echo 0; fi
  fi
done`;

function runChunk(file: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `${SCRIPT} < "$1"`, 'dpkg-batch', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`dpkg batch failed (${code}): ${err}`))));
  });
}

async function dpkgCompare(list: Array<[string, string]>, dir: string): Promise<string[]> {
  const size = Math.ceil(list.length / WORKERS);
  const chunks = Array.from({ length: WORKERS }, (_, w) => list.slice(w * size, (w + 1) * size));
  const results = await Promise.all(
    chunks.map((chunk, w) => {
      const file = join(dir, `pairs-${w}.tsv`);
      writeFileSync(file, chunk.map(([a, b]) => `${a}${US}${b}\n`).join(''));
      return runChunk(file);
    }),
  );
  return results.flat();
}

function verdict(a: string, b: string, dpkg: string): string | undefined {
  const refused = parseDeb(a) instanceof InvalidVersionError || parseDeb(b) instanceof InvalidVersionError;
  if (dpkg === 'E') return refused ? undefined : 'dpkg refused a version that parseDeb accepts';
  if (refused && a !== '' && b !== '') return 'parseDeb refused a version that dpkg accepts';
  const ours = compareDeb(a, b);
  return String(ours) === dpkg ? undefined : `compareDeb = ${ours}, dpkg = ${dpkg}`;
}

test('deb compare agrees with dpkg --compare-versions on generated tricky pairs', { skip: needTools('dpkg', 'bash') }, async () => {
  const list = pairs(debVersion, PAIRS, 20240601).filter(([a, b]) => !(a + b).includes('\n') && !(a + b).includes(US));
  const { dir, cleanup } = tempDir();
  try {
    const answers = await dpkgCompare(list, dir);
    assert.equal(answers.length, list.length, 'one dpkg answer per pair');
    const failures: string[] = [];
    let refused = 0;
    list.forEach(([a, b], i) => {
      if (answers[i] === 'E') refused++;
      const why = verdict(a, b, answers[i]!);
      if (why !== undefined) failures.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: ${why}`);
    });
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} of ${list.length} pairs disagree with dpkg`);
    // The generator must exercise both paths, or the test proves little.
    assert.ok(refused > list.length * 0.05 && refused < list.length * 0.6, `dpkg refused ${refused} of ${list.length} pairs`);
  } finally {
    cleanup();
  }
});

test('deb compare agrees with dpkg on hand-picked edge cases', { skip: needTools('dpkg', 'bash') }, async () => {
  const list: Array<[string, string]> = [
    ['1.0~~', '1.0~'],
    ['1.0~', '1.0'],
    ['1.0', '1.0+'],
    ['1.0a', '1.0+'],
    ['1.0é', '1.0+'],
    ['1.0é', '1.0z'],
    ['1.0é', '1.0ü'],
    ['00:1', '0:1'],
    ['\v1:2', '1:2'],
    ['+1:2', '1:2'],
    ['-0:2', '2'],
    ['2147483647:1', '2147483646:9'],
    ['1:1-', '1:1'],
    ['a1', '1a'],
    ['<unknown>', '0'],
    ['', '0'],
    ['1.0-1-1', '1.0-1'],
    ['1:2:3', '1:2.3'],
    ['1.0 ', '1.0'],
    [' 1.0', '1.0'],
    ['1.00000000000000000000000000000001', '1.1'],
    ['1.123456789012345678901234567890', '1.123456789012345678901234567891'],
    ['1.0-0', '1.0'],
    ['1.0-~', '1.0'],
  ];
  const { dir, cleanup } = tempDir();
  try {
    const answers = await dpkgCompare(list, dir);
    const failures = list.map(([a, b], i) => [a, b, verdict(a, b, answers[i]!)]).filter(([, , why]) => why !== undefined);
    assert.deepEqual(failures, []);
  } finally {
    cleanup();
  }
});
