/**
 * The security commands as scripts run them (the real `bin/hullscan.js` in a child process) and
 * their JSON contracts: recommendations, findings --by cve and the CVE pane, remediation, image
 * check's exit code, exemptions add / list / remove, usage errors. The fleet is two pools of
 * ephemeral-OS-disk nodes, assessed from the node-image catalogue (no disk image needed).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { importFeeds } from '../../src/vulndb/store.ts';

const REPO = join(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'bin', 'hullscan.js');
const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const work = mkdtempSync(join(tmpdir(), 'hullscan-security-cli-'));
const data = join(work, 'data');
const dbPath = join(data, 'vuln.db');
after(() => rmSync(work, { recursive: true, force: true }));

function hs(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args, '--data', data], { encoding: 'utf8', timeout: 300_000, maxBuffer: 512 * 1024 * 1024 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function jsonOf<T>(r: { code: number; out: string; err: string }): T {
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as T;
}

before(async () => {
  await importFeeds(dbPath, [join(REPO, 'data/vulndb/ubuntu-22.04.osv.aks-slice.jsonl.gz')]);
  writeFileSync(
    join(work, 'env.yaml'),
    JSON.stringify({
      accounts: [
        {
          id: 'sub-a', provider: 'local', settings: { agentlessScanning: true },
          clusters: [{ name: 'c1', pools: [
            { name: 'old', nodeImage: `${UBUNTU}-202309.06.0`, nodes: [{ name: 'o0', ephemeralOsDisk: true }, { name: 'o1', ephemeralOsDisk: true }] },
            { name: 'new', nodeImage: `${UBUNTU}-202608.20.0`, nodes: [{ name: 'n0', ephemeralOsDisk: true }] },
          ] }],
        },
      ],
    }),
  );
  const run = hs('run', '--once', '--config', join(work, 'env.yaml'));
  assert.equal(run.code, 0, run.err);
});

test('recommendations --format json: title, cluster, status, counts', () => {
  const recs = jsonOf<{ title: string; cluster: string; status: string; counts: Record<string, number>; reason?: string }[]>(hs('recommendations', '--format', 'json'));
  assert.equal(recs.length, 1);
  assert.equal(recs[0]!.title, 'Kubernetes nodes should have vulnerability findings resolved');
  assert.equal(recs[0]!.cluster, 'c1');
  assert.equal(recs[0]!.status, 'unhealthy');
  assert.deepEqual(Object.keys(recs[0]!.counts), ['critical', 'high', 'medium', 'low', 'negligible', 'unknown']);
  const findings = jsonOf<{ vulnerabilityId: string }[]>(hs('findings', '--format', 'json'));
  assert.equal(Object.values(recs[0]!.counts).reduce((a, b) => a + b, 0), new Set(findings.map((f) => f.vulnerabilityId)).size);
});

test('findings --by cve pages and exports; --cve keeps its JSON rows and --pane gives the pane', () => {
  const rows = jsonOf<{ vulnerabilityId: string; node: { node: string } }[]>(hs('findings', '--format', 'json'));
  const page = jsonOf<{ total: number; items: { vulnerabilityId: string; nodes: number }[] }>(hs('findings', '--by', 'cve', '--page-size', '10', '--format', 'json'));
  assert.equal(page.total, new Set(rows.map((r) => r.vulnerabilityId)).size);
  assert.equal(page.items.length, 10);
  const csv = hs('findings', '--by', 'cve', '--export', 'csv');
  assert.equal(csv.code, 0, csv.err);
  assert.equal(csv.out.trimEnd().split('\r\n').length, page.total + 1);
  const id = page.items[0]!.vulnerabilityId;
  const perFinding = jsonOf<{ vulnerabilityId: string; node: { node: string } }[]>(hs('findings', '--cve', id, '--format', 'json'));
  assert.ok(perFinding.every((f) => f.vulnerabilityId === id), '#11 contract: the finding rows');
  const pane = jsonOf<{ vulnerabilityId: string; affected: { node: string }[] }>(hs('findings', '--cve', id, '--pane', '--format', 'json'));
  assert.deepEqual(pane.affected.map((a) => a.node).sort(), perFinding.map((f) => f.node.node).sort());
  const table = hs('findings', '--cve', id);
  assert.equal(table.code, 0, table.err);
  assert.match(table.out, new RegExp(`^${id} — `));
});

test('remediation --format json: per pool, fixed + remaining = what is open now; image check exits non-zero when the candidate introduces', () => {
  const rem = jsonOf<{ cluster: string; nodePool: string; currentImage: string; targetImage: string; fixed: { vulnerabilityId: string; packages: string[] }[]; remaining: unknown[]; introduced: unknown[] }[]>(hs('remediation', '--format', 'json'));
  const old = rem.find((r) => r.nodePool === 'old')!;
  assert.equal(old.currentImage, '202309.06.0');
  assert.equal(old.targetImage, '202608.20.0');
  const open = new Set(jsonOf<{ vulnerabilityId: string; node: { nodePool: string } }[]>(hs('findings', '--pool', 'old', '--format', 'json')).map((f) => f.vulnerabilityId));
  assert.equal(old.fixed.length + old.remaining.length, open.size);
  assert.ok(old.fixed.length > 0 && old.fixed.every((f) => f.packages.length > 0));
  // The old image as a candidate for the new pool brings back what the new image fixed.
  const gate = hs('image', 'check', '--catalog', '202309.06.0', '--against', 'new', '--exit-code', '7');
  assert.equal(gate.code, 7, gate.err);
  assert.match(gate.out, /FAIL: introduces/);
  const pass = hs('image', 'check', '--catalog', '202608.20.0', '--against', 'old');
  assert.equal(pass.code, 0, pass.err);
});

test('exemptions add, list, remove; bad input is a usage error', () => {
  const added = jsonOf<{ id: string; reason: string; scope: { label: string } }>(hs('exemptions', 'add', '--account', 'sub-a', '--cluster', 'c1', '--cve', 'CVE-*', '--reason', 'risk-accepted', '--owner', 'sec', '--expires', '2999-01-01', '--format', 'json'));
  assert.equal(added.scope.label, 'sub-a/c1');
  const recs = jsonOf<{ status: string }[]>(hs('recommendations', '--format', 'json'));
  assert.notEqual(recs[0]!.status, 'not-assessed');
  const list = jsonOf<{ id: string; status: string }[]>(hs('exemptions', 'list', '--format', 'json'));
  assert.deepEqual(list.map((e) => [e.id, e.status]), [[added.id, 'active']]);
  assert.equal(hs('exemptions', 'remove', added.id.slice(0, 8)).code, 0);
  assert.deepEqual(jsonOf<unknown[]>(hs('exemptions', '--format', 'json')), []);
  const bad = hs('exemptions', 'add', '--account', 'sub-a', '--cve', 'X', '--reason', 'because', '--owner', 'me');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /unknown reason 'because': use mitigated, risk-accepted, false-positive/);
  assert.equal(hs('remediation', 'extra').code, 2);
  assert.equal(hs('findings', '--by', 'node').code, 2);
});
