/**
 * Differential test of Go module versions against golang.org/x/mod/semver itself (Debian
 * packages golang-go + golang-golang-x-mod-dev, x/mod 0.7.0), built in GOPATH mode from the
 * Debian source tree. Debian 12's Go (1.19) predates go/version, so toolchain versions are
 * checked by the vectors from Go's own tests instead (vectors.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { compareGo, parseGo } from '../../src/version/go.ts';
import { InvalidVersionError } from '../../src/version/index.ts';
import { fixtureCacheDir, needTools } from '../helpers/tools.ts';
import { goVersion, pairs } from './generate.ts';

const PAIRS = Number(process.env['VERSION_DIFF_PAIRS'] ?? 5000);
const DEBIAN_GOPATH = '/usr/share/gocode';

const PROGRAM = `package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/semver"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		ab := strings.SplitN(in.Text(), "\\x1f", 2)
		fmt.Fprintf(out, "%d\\x1f%t\\x1f%t\\x1f%s\\n", semver.Compare(ab[0], ab[1]), semver.IsValid(ab[0]), semver.IsValid(ab[1]), semver.Canonical(ab[0]))
	}
}
`;

function goMissing(): string | false {
  const tools = needTools('go');
  if (tools) return tools;
  return existsSync(join(DEBIAN_GOPATH, 'src/golang.org/x/mod/semver/semver.go')) ? false : 'golang.org/x/mod is missing: install Debian package golang-golang-x-mod-dev';
}

/** Builds the oracle once into the fixture cache (GOPATH mode, no network). */
function buildOracle(): string {
  const dir = join(fixtureCacheDir(), 'xmod-semver-oracle');
  const bin = join(dir, 'oracle');
  mkdirSync(join(dir, 'src'), { recursive: true });
  const source = join(dir, 'src', 'main.go');
  writeFileSync(source, PROGRAM);
  const env = { ...process.env, GO111MODULE: 'off', GOPATH: DEBIAN_GOPATH, GOCACHE: join(dir, 'gocache'), GOFLAGS: '' };
  const r = spawnSync('go', ['build', '-o', bin, source], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`go build failed: ${r.stderr}`);
  return bin;
}

interface Answer {
  compare: number;
  validA: boolean;
  validB: boolean;
  canonicalA: string;
}

function oracle(bin: string, list: Array<[string, string]>): Answer[] {
  const input = list.map(([a, b]) => `${a}\x1f${b}\n`).join('');
  const r = spawnSync(bin, [], { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`oracle failed: ${r.stderr}`);
  return r.stdout
    .trimEnd()
    .split('\n')
    .map((line) => {
      const [c, validA, validB, canonicalA] = line.split('\x1f');
      return { compare: Number(c), validA: validA === 'true', validB: validB === 'true', canonicalA: canonicalA ?? '' };
    });
}

const skip = goMissing();

test('Go module versions agree with golang.org/x/mod/semver on generated pairs', { skip }, () => {
  const bin = buildOracle();
  // x/mod knows no OSV form: every string it sees starts with "v" or is not a version at all.
  const list = pairs((rnd) => goVersion(rnd, 'module'), PAIRS, 7).filter((pair) => pair.every((v) => !v.includes('\n') && !v.includes('\x1f') && !/^([0-9]|go)/.test(v)));
  const answers = oracle(bin, list);
  assert.equal(answers.length, list.length);
  const failures: string[] = [];
  let invalid = 0;
  list.forEach(([a, b], i) => {
    const want = answers[i]!;
    const pa = parseGo(a);
    const validA = !(pa instanceof InvalidVersionError);
    if (!want.validA) invalid++;
    if (validA !== want.validA) failures.push(`valid(${JSON.stringify(a)}) = ${validA}, x/mod = ${want.validA}`);
    if (validA && !(pa instanceof InvalidVersionError) && pa.canonical !== want.canonicalA) failures.push(`canonical(${JSON.stringify(a)}) = ${pa.canonical}, x/mod = ${want.canonicalA}`);
    const ours = compareGo(a, b);
    if (ours !== want.compare) failures.push(`compare(${JSON.stringify(a)}, ${JSON.stringify(b)}) = ${ours}, x/mod = ${want.compare}`);
  });
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} disagreements in ${list.length} pairs`);
  assert.ok(invalid > 0 && invalid < list.length / 2, `${invalid} invalid first versions: the generator must mix both`);
});
