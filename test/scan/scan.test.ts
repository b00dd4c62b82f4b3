/**
 * scanTarget end to end on real fixtures (the debootstrapped Debian 12 root and the small tree)
 * with the REAL vulnerability database built by importFeeds from the Debian 12 OSV slice;
 * malware on the same open filesystem; re-matching a stored SBOM; the "not assessed" path; and
 * the `hullscan scan` CLI (spawned, as a user runs it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeCycloneDx } from '../../src/inventory/sbom/cyclonedx.ts';
import { renderReport } from '../../src/report/index.ts';
import type { ScanResult } from '../../src/scan/result.ts';
import { scanTarget } from '../../src/scan/scan.ts';
import { UsageError } from '../../src/util/errors.ts';
import { importFeeds } from '../../src/vulndb/store.ts';
import { openVulnDb } from '../../src/vulndb/store.ts';
import type { VulnDb } from '../../src/vulndb/index.ts';
import { debianRoot, fixtureOrSkip, nodeDisk, smallTree } from '../fixtures/node-image.ts';
import { eicarBytes } from '../malware/samples.ts';

const MATCH_DATA = new URL('../data/match/', import.meta.url).pathname;
const BIN = new URL('../../bin/hullscan.js', import.meta.url).pathname;
const NODE = { cluster: 'prod-eu', nodePool: 'np1', node: 'aks-np1-0' };

describe('scanTarget and hullscan scan', () => {
  let dir: string;
  let dbPath: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hullscan-scan-'));
    dbPath = join(dir, 'vuln.db');
    await importFeeds(dbPath, [join(MATCH_DATA, 'debian-12.osv.slice.jsonl.gz')]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A copy of the small tree (Debian 12, 4 dpkg records) to plant files in. */
  async function smallCopy(t: { skip(m?: string): void }, name: string): Promise<string | undefined> {
    const src = await fixtureOrSkip(t, smallTree());
    if (src === undefined) return undefined;
    const dst = join(dir, name);
    // cp -a: the tree holds symlink loops on purpose, which node's cpSync cannot copy.
    const cp = spawnSync('cp', ['-a', src, dst]);
    assert.equal(cp.status, 0, cp.stderr?.toString());
    return dst;
  }

  it('Debian 12 root: findings carry the node identity; coverage names the namespace and the database', async (t) => {
    const root = await fixtureOrSkip(t, debianRoot());
    if (root === undefined) return;
    const r = await scanTarget(root, { dbPath, node: NODE });
    assert.equal(r.coverage.vuln?.assessed, true);
    assert.deepEqual(r.coverage.vuln?.namespaces, [{ namespace: 'debian:12', packages: r.inventory.packages.length }]);
    assert.equal(r.coverage.vuln?.db?.path, dbPath);
    assert.ok(r.findings.length > 50);
    for (const f of r.findings) assert.deepEqual(f.node, NODE);
    assert.deepEqual(r.node, NODE);
    assert.equal(r.alerts.length, 0);
    assert.equal(r.coverage.malware, undefined, 'malware not requested');

    // Re-match without rescanning: the inventory as our CycloneDX SBOM gives the same findings.
    const sbom = join(dir, 'debian.cdx.json');
    writeFileSync(sbom, writeCycloneDx(r.inventory));
    const again = await scanTarget('', { dbPath, sbom });
    assert.deepEqual(again.findings.map((f) => f.id).sort(), r.findings.map((f) => f.id).sort());
    assert.deepEqual(again.node, NODE, 'the SBOM carries the node identity');
  });

  it('vuln + malware on the same filesystem: EICAR planted in /usr/local/bin is an alert with the node identity', async (t) => {
    const root = await smallCopy(t, 'planted');
    if (root === undefined) return;
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
    writeFileSync(join(root, 'usr/local/bin/eicar.com'), eicarBytes());
    const r = await scanTarget(root, { dbPath, node: NODE, scanners: ['vuln', 'malware'], malware: { workers: 1 } });
    assert.deepEqual(r.scanners, ['vuln', 'malware']);
    assert.ok(r.alerts.some((a) => a.path === '/usr/local/bin/eicar.com'), JSON.stringify(r.alerts));
    for (const a of r.alerts) assert.deepEqual(a.node, NODE);
    assert.equal(r.coverage.malware?.assessed, true);
    assert.ok(r.findings.some((f) => f.package.name === 'libssl3'), 'openssl 3.0.11-1~deb12u2 has later Debian fixes');
    const text = renderReport(r, 'table', { toolVersion: 'test' });
    assert.match(text, /MALWARE ALERTS/);
  });

  it('an OS without data (flatcar) is NOT ASSESSED with the reason, never "0 vulnerabilities"', async (t) => {
    const root = await smallCopy(t, 'flatcar');
    if (root === undefined) return;
    writeFileSync(join(root, 'etc/os-release'), 'NAME="Flatcar Container Linux by Kinvolk"\nID=flatcar\nVERSION_ID=3815.2.5\n');
    const r = await scanTarget(root, { dbPath });
    assert.equal(r.coverage.vuln?.assessed, false);
    assert.equal(r.findings.length, 0);
    assert.match(r.coverage.vuln!.issues.map((i) => i.message).join('\n'), /no vulnerability data for flatcar 3815\.2\.5/);
    const text = renderReport(r, 'table', { toolVersion: 'test' });
    assert.match(text, /Vulnerabilities: NOT ASSESSED: no vulnerability data for flatcar/);
  });

  it('a disk image: everything opened is closed, on success and when matching fails mid-scan (no fd leak)', async (t) => {
    const image = await fixtureOrSkip(t, nodeDisk('gpt-ext4'));
    if (image === undefined) return;
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const real = openVulnDb(dbPath);
    try {
      const before = fds();
      const ok = await scanTarget(image, { db: real });
      assert.equal(ok.coverage.vuln?.assessed, true);
      assert.equal(fds(), before, 'the disk image is closed after a scan');
      // Failure injection: the database fails after the target was opened and inventoried.
      const failing: VulnDb = { ...real, lookup: () => { throw new Error('injected lookup failure'); } };
      await assert.rejects(scanTarget(image, { db: failing }), /injected lookup failure/);
      assert.equal(fds(), before, 'the disk image is closed when the scan fails');
    } finally {
      real.close();
    }
  });

  it('a missing database is a usage error naming the path (nothing is left open)', async () => {
    await assert.rejects(scanTarget(dir, { dbPath: join(dir, 'absent.db') }), (e: unknown) => e instanceof UsageError && e.message.includes('absent.db'));
  });

  it('CLI: json to --output, --exit-code when findings remain, no progress on a non-TTY stderr', async (t) => {
    const root = await smallCopy(t, 'cli');
    if (root === undefined) return;
    const out = join(dir, 'r.json');
    const run = (...args: string[]) => spawnSync(process.execPath, [BIN, 'scan', ...args], { encoding: 'utf8' });
    const r = run(root, '--db', dbPath, '--format', 'json', '--output', out, '--exit-code', '7', '--cluster', 'c1', '--node-pool', 'p1', '--node', 'n1');
    assert.equal(r.status, 7, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, '');
    const result = JSON.parse(readFileSync(out, 'utf8')) as ScanResult;
    assert.deepEqual(result.node, { node: 'n1', cluster: 'c1', nodePool: 'p1' });
    assert.ok(result.findings.length > 0);

    // Ignore every finding: exit 0, and they are listed as suppressed.
    const ignore = join(dir, '.hullscanignore');
    writeFileSync(ignore, result.findings.map((f) => `${f.vulnerabilityId} ${f.package.name} # accepted`).join('\n') + '\n');
    const quiet = run(root, '--db', dbPath, '--format', 'json', '--ignorefile', ignore, '--exit-code', '7');
    assert.equal(quiet.status, 0, quiet.stderr);
    const q = JSON.parse(quiet.stdout) as ScanResult;
    assert.equal(q.findings.length, 0);
    assert.equal(q.suppressed?.length, result.findings.length);

    // OpenVEX: not_affected for the first finding's (CVE, package purl) suppresses exactly that one.
    const first = result.findings[0]!;
    const vex = join(dir, 'node.vex.json');
    writeFileSync(vex, JSON.stringify({ '@context': 'https://openvex.dev/ns/v0.2.0', '@id': 'https://example.com/vex/node', author: 'test', timestamp: '2026-11-01T00:00:00Z', version: 1, statements: [{ vulnerability: { name: first.vulnerabilityId }, products: [{ '@id': `pkg:deb/debian/${first.package.name}` }], status: 'not_affected', justification: 'vulnerable_code_not_present' }] }));
    const vexed = run(root, '--db', dbPath, '--format', 'json', '--vex', vex);
    assert.equal(vexed.status, 0, vexed.stderr);
    const v = JSON.parse(vexed.stdout) as ScanResult;
    assert.deepEqual(v.suppressed?.map((x) => x.finding.id), [first.id]);
    assert.equal(v.findings.length, result.findings.length - 1);

    const table = run(root, '--db', dbPath);
    assert.equal(table.status, 0);
    assert.match(table.stdout, /^Vulnerabilities: \d+ .* in debian:12/m);

    const bad = run(root, '--format', 'xml');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown --format 'xml'/);
  });
  it('CLI malware flags: engines, suppression file and exclusions reach the scan; misuse is a usage error', async (t) => {
    const root = await smallCopy(t, 'cli-malware');
    if (root === undefined) return;
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
    mkdirSync(join(root, 'srv'), { recursive: true });
    writeFileSync(join(root, 'usr/local/bin/eicar.com'), eicarBytes());
    writeFileSync(join(root, 'srv/eicar.txt'), eicarBytes());
    const run = (...args: string[]) => spawnSync(process.execPath, [BIN, 'scan', root, '--db', dbPath, ...args], { encoding: 'utf8' });
    const malwareAlerts = (stdout: string) => (JSON.parse(stdout) as ScanResult).alerts.filter((a) => a.kind === 'malware' && a.suppressed === undefined);

    // Only the hash engine: EICAR is found by its SHA-256 in both places, by no other engine.
    const hashOnly = run('--scanners', 'vuln,malware', '--malware-engines', 'hash', '--format', 'json', '--exit-code', '9');
    assert.equal(hashOnly.status, 9, hashOnly.stderr);
    const found = malwareAlerts(hashOnly.stdout);
    assert.deepEqual([...new Set(found.map((a) => a.engine))], ['hash']);
    assert.deepEqual(found.map((a) => a.path).sort(), ['/srv/eicar.txt', '/usr/local/bin/eicar.com']);
    assert.deepEqual((JSON.parse(hashOnly.stdout) as ScanResult).coverage.malware?.engines.map((e) => e.id), ['hash']);

    // An exclusion glob and a suppression file (by path, with a reason) each take one away.
    const suppress = join(dir, 'suppress.json');
    writeFileSync(suppress, JSON.stringify({ suppressions: [{ path: '/srv/**', reason: 'test fixture share' }] }));
    const narrowed = run('--scanners', 'malware', '--malware-engines', 'hash,yara', '--malware-suppress', suppress, '--malware-exclude', '/usr/local/**', '--workers', '1', '--format', 'json');
    assert.equal(narrowed.status, 0, narrowed.stderr);
    const r = JSON.parse(narrowed.stdout) as ScanResult;
    assert.deepEqual(malwareAlerts(narrowed.stdout), []);
    assert.ok(r.alerts.some((a) => a.path === '/srv/eicar.txt' && a.suppressed?.reason === 'test fixture share'), JSON.stringify(r.alerts));
    assert.ok(!r.alerts.some((a) => a.path.startsWith('/usr/local/')), 'excluded paths are not scanned');

    const misuse = run('--malware-engines', 'hash');
    assert.equal(misuse.status, 2);
    assert.match(misuse.stderr, /malware options need --scanners malware/);
    const badEngine = run('--scanners', 'malware', '--malware-engines', 'mcafee');
    assert.equal(badEngine.status, 2);
    assert.match(badEngine.stderr, /unknown malware engine 'mcafee'/);
    const badSize = run('--scanners', 'malware', '--max-file-size', 'lots');
    assert.equal(badSize.status, 2);
    assert.match(badSize.stderr, /--max-file-size expects a size/);
  });
});
