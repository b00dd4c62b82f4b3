/**
 * `hullscan sbom` on a real image: the debootstrapped Debian bookworm node tree
 * (test/fixtures/node-image.ts debianRoot()). The SBOM's deb purls must name exactly the packages
 * `dpkg-query` (the distro's own tool, the oracle) reports installed in that tree, the documents
 * must validate against the official schemas, and `readSbom` must give back the inventory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sbomCommand, SBOM_HELP } from '../../../src/cli/commands/sbom.ts';
import type { Inventory } from '../../../src/inventory/index.ts';
import { parsePurl, readSbom } from '../../../src/inventory/sbom/index.ts';
import { UsageError } from '../../../src/util/errors.ts';
import { debianRoot, fixtureOrSkip } from '../../fixtures/node-image.ts';
import { assertValid, cycloneDx16Validator, spdx23Validator } from './helpers.ts';

const run = promisify(execFile);
const ROOT_DIR = join(import.meta.dirname, '..', '..', '..');

async function capture(args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  const code = await sbomCommand(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { out, err, code };
}

/** name → version of every package dpkg-query reports installed (third Status word "installed"). */
async function dpkgInstalled(root: string): Promise<Map<string, string>> {
  const { stdout } = await run('dpkg-query', [`--admindir=${join(root, 'var/lib/dpkg')}`, '-W', '-f', '${Package}\t${Version}\t${Status}\n'], { maxBuffer: 16 * 1024 * 1024 });
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [name, version, status] = line.split('\t');
    if (name && status?.split(' ')[2] === 'installed') out.set(name, version!);
  }
  return out;
}

test('hullscan sbom --format cyclonedx --output on the Debian node tree: valid, dpkg-query package set, readable back', async (t) => {
  const root = await fixtureOrSkip(t, debianRoot());
  if (root === undefined) return;
  const dir = await mkdtemp(join(tmpdir(), 'hullscan-sbom-'));
  try {
    const file = join(dir, 'node.cdx.json');
    const r = await capture([root, '--format', 'cyclonedx', '--output', file]);
    assert.equal(r.code, 0);
    assert.equal(r.out, '', 'nothing on stdout when --output is given');
    assert.match(r.err, /wrote cyclonedx SBOM of \d+ packages to /);
    assert.deepEqual(await readdir(dir), ['node.cdx.json'], 'no temporary file left behind');
    const text = await readFile(file, 'utf8');
    const doc = JSON.parse(text) as { components: { type: string; purl?: string }[] };
    assertValid(cycloneDx16Validator(), doc, 'CycloneDX of the Debian tree');
    const fromSbom = new Map<string, string>();
    for (const c of doc.components) {
      if (c.purl === undefined) continue;
      const p = parsePurl(c.purl);
      if (p.type !== 'deb') continue;
      assert.equal(p.namespace, 'debian');
      assert.equal(p.qualifiers.distro, 'debian-12');
      fromSbom.set(p.name, p.version!);
    }
    const oracle = await dpkgInstalled(root);
    assert.ok(oracle.size > 50, `dpkg-query lists ${oracle.size} packages`);
    assert.deepEqual(new Map([...fromSbom].sort()), new Map([...oracle].sort()));
    const back = readSbom(text);
    assert.equal(back.os?.family, 'debian');
    assert.equal(back.os?.versionId, '12');
    assert.ok(back.kernel?.bootDefault, 'the boot default kernel survives the SBOM');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('hullscan sbom --format spdx and json to stdout on the Debian node tree', async (t) => {
  const root = await fixtureOrSkip(t, debianRoot());
  if (root === undefined) return;
  const spdx = await capture([root, '--format', 'spdx']);
  assert.equal(spdx.code, 0);
  assertValid(spdx23Validator(), JSON.parse(spdx.out), 'SPDX of the Debian tree');
  const json = await capture([root, '--format', 'json']);
  const inv = JSON.parse(json.out) as Inventory;
  assert.deepEqual(readSbom(json.out), inv, 'the JSON form reads back unchanged');
  const spdxNames = new Set((JSON.parse(spdx.out) as { packages: { name: string }[] }).packages.map((p) => p.name));
  for (const p of inv.packages) assert.ok(spdxNames.has(p.name), `${p.name} is in the SPDX document`);
});

test('hullscan sbom argument errors are UsageErrors', async () => {
  await assert.rejects(capture(['/x', '--format', 'xml']), (e: unknown) => e instanceof UsageError && /unknown --format 'xml' \(cyclonedx, spdx, json\)/.test(e.message));
  await assert.rejects(capture([]), (e: unknown) => e instanceof UsageError && /sbom takes one target/.test(e.message));
  assert.deepEqual(await capture(['--help']), { out: SBOM_HELP, err: '', code: 0 });
});

test('the hullscan binary dispatches "sbom" (main.ts) and lists it in the main help', async () => {
  const help = await run(process.execPath, [join(ROOT_DIR, 'bin', 'hullscan.js'), 'sbom', '--help']);
  assert.equal(help.stdout, SBOM_HELP);
  const main = await run(process.execPath, [join(ROOT_DIR, 'bin', 'hullscan.js'), '--help']);
  assert.match(main.stdout, /^ {2}sbom <target> /m);
});

test('re-match without rescanning: scan --sbom of our CycloneDX and JSON gives the findings of scanning the disk', async (t) => {
  const root = await fixtureOrSkip(t, debianRoot());
  if (root === undefined) return;
  const dir = await mkdtemp(join(tmpdir(), 'hullscan-sbom-rematch-'));
  const cli = (args: string[]) => run(process.execPath, [join(ROOT_DIR, 'bin', 'hullscan.js'), ...args], { maxBuffer: 64 * 1024 * 1024 });
  try {
    const db = join(dir, 'vuln.db');
    // Debian 12 OSV records (a slice of the osv.dev export, test/data/match/README.md).
    await cli(['db', 'import', join(ROOT_DIR, 'test', 'data', 'match', 'debian-12.osv.slice.jsonl.gz'), '--db', db]);
    const cdxFile = join(dir, 'node.cdx.json');
    const jsonFile = join(dir, 'node.json');
    assert.equal((await capture([root, '-o', cdxFile])).code, 0);
    assert.equal((await capture([root, '--format', 'json', '-o', jsonFile])).code, 0);
    const findings = async (args: string[]) => (JSON.parse((await cli(['scan', ...args, '--db', db, '--format', 'json'])).stdout) as { findings: unknown[] }).findings;
    const fromDisk = await findings([root]);
    assert.ok(fromDisk.length > 10, `the disk scan finds ${fromDisk.length} vulnerabilities in bookworm packages`);
    assert.deepEqual(await findings(['--sbom', cdxFile]), fromDisk);
    assert.deepEqual(await findings(['--sbom', jsonFile]), fromDisk);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
