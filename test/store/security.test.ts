/**
 * The security views' queries (store/security-store.ts, migration 2) on both store
 * implementations: SQLite and a real PostgreSQL (test/global-setup.ts). Same data, same answers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { Alert } from '../../src/malware/index.ts';
import type { Finding } from '../../src/match/index.ts';
import { FleetStore, openStore } from '../../src/store/index.ts';
import { globToLike, SecurityStore, type Exemption, type PoolStamp } from '../../src/store/security-store.ts';
import { postgresDatabase } from '../helpers/postgres.ts';

const T0 = '2026-12-01T00:00:00.000Z';
const T1 = '2026-12-02T00:00:00.000Z';
const T2 = '2026-12-03T00:00:00.000Z';

interface Backend {
  name: string;
  open(t: TestContext): Promise<FleetStore | undefined>;
}

const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    async open(t) {
      const dir = mkdtempSync(join(tmpdir(), 'hullscan-security-store-'));
      const store = await openStore(join(dir, 'hullscan.db'));
      t.after(async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      });
      return store;
    },
  },
  {
    name: 'postgres',
    async open(t) {
      const db = await postgresDatabase(t);
      if (db === undefined) return undefined;
      const store = await openStore(db.url);
      t.after(async () => {
        await store.close();
        await db.drop();
      });
      return store;
    },
  },
];

function finding(vuln: string, name: string, version: string, extra: Partial<Finding> = {}): Finding {
  const pkgId = `deb:${name}@${version}:amd64:`;
  return {
    id: `${vuln}|${pkgId}`,
    vulnerabilityId: vuln,
    aliases: [],
    package: { id: pkgId, type: 'deb', name, version, arch: 'amd64', source: { name, version } },
    state: 'fixed',
    fixedVersion: `${version}.1`,
    severity: 'medium',
    cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', score: 7.5 }],
    summary: `${vuln} in ${name}`,
    evidence: {
      package: [{ path: '/var/lib/dpkg/status', line: 1 }],
      advisory: { id: `UBUNTU-${vuln}`, source: 'osv', feed: 'ubuntu.jsonl.gz' },
      namespace: 'ubuntu:22.04',
      matchedOn: 'source',
      comparedName: name,
      comparedVersion: version,
      comparison: `${version} < ${version}.1 (deb)`,
    },
    ...extra,
  } as Finding;
}

function alert(path: string, rule = 'EICAR_Test_File'): Alert {
  return { id: `malware|yara|${rule}|${path}`, kind: 'malware', severity: 'high', engine: 'yara', rule, path, sha256: 'a'.repeat(64), size: 68, mtimeMs: 0 };
}

/** sub-1: c1/p1 (n0, n1), c1/p2 (n2); findings published on each at `at`. */
async function seed(store: FleetStore, at = T0): Promise<Map<string, { id: string; pool: string; cluster: string }>> {
  await store.upsertAccount({ id: 'sub-1', provider: 'local', settings: { agentlessScanning: true } }, T0);
  await store.syncDiscovery('sub-1', [{ name: 'c1', pools: [{ name: 'p1', nodes: [{ name: 'n0' }, { name: 'n1' }] }, { name: 'p2', nodes: [{ name: 'n2' }] }] }], T0);
  const nodes = new Map((await store.listNodes()).map((n) => [n.ref.node, { id: n.node.id, pool: n.node.pool, cluster: n.node.cluster }]));
  const run = await store.createRun({ account: 'sub-1', trigger: 'on-demand', requestedBy: 't', at });
  await store.startRun(run.id, [...nodes.values()].map((n) => ({ nodeId: n.id, state: 'queued' as const })), at);
  const perNode: Record<string, Finding[]> = {
    n0: [finding('CVE-2024-0001', 'openssl', '3.0.2', { severity: 'high' }), finding('CVE-2024-0001', 'libssl3', '3.0.2', { severity: 'high' }), finding('CVE-2024-0002', 'bash', '5.1', { fixedVersion: undefined, state: 'affected' })],
    n1: [finding('CVE-2024-0001', 'openssl', '3.0.2', { severity: 'high' }), finding('CVE-2024-0003', 'gdb', '12.1', { severity: 'low' })],
    n2: [finding('CVE-2024-0002', 'bash', '5.1', { fixedVersion: undefined, state: 'affected' })],
  };
  for (const [name, n] of nodes) {
    const s = await store.claimNodeScan('w', at, { nodes: [n.id] });
    await store.publishNodeScan({ nodeScanId: s!.id, worker: 'w', state: 'published', findings: perNode[name]!, alerts: name === 'n0' ? [alert('/var/tmp/x'), alert('/opt/y', 'Miner')] : [], bytesRead: 0, durationMs: 1, at });
  }
  return nodes;
}

/** One stamp per pool; nodes not in `counted` (default: all) are the pool's left-out nodes. */
function stamps(nodes: Map<string, { id: string; pool: string; cluster: string }>, stamp: string, counted?: ReadonlySet<string>): PoolStamp[] {
  const byPool = new Map<string, PoolStamp & { nodeIds: string[]; excludeNodeIds: string[] }>();
  for (const [name, n] of nodes) {
    const p = byPool.get(n.pool) ?? { poolId: n.pool, accountId: 'sub-1', clusterId: n.cluster, nodeIds: [], excludeNodeIds: [], stamp };
    if (counted === undefined || counted.has(name)) p.nodeIds.push(n.id);
    else p.excludeNodeIds.push(n.id);
    byPool.set(n.pool, p);
  }
  return [...byPool.values()];
}

test('globs become LIKE patterns with their LIKE characters escaped', () => {
  assert.equal(globToLike('CVE-2024-*'), 'CVE-2024-%');
  assert.equal(globToLike('lib?ssl_3%'), 'lib_ssl\\_3\\%');
});

for (const backend of BACKENDS) {
  describe(`security store: ${backend.name}`, () => {
    test('roll-up: one row per (pool, vulnerability); pages, filters, packages and clusters; rebuilt only when a stamp changes', async (t) => {
      const store = await backend.open(t);
      if (!store) return;
      const sec = new SecurityStore(store.driver);
      const nodes = await seed(store);
      assert.equal(await sec.refreshRollup(stamps(nodes, 's1'), [], T0), 2);
      assert.equal(await sec.refreshRollup(stamps(nodes, 's1'), [], T0), 0, 'nothing changed');
      const page = await sec.rollupPage({}, { sort: 'severity', limit: 10, offset: 0 });
      assert.equal(page.total, 3);
      assert.deepEqual(page.rows.map((r) => [r.vulnerabilityId, r.severityRank, r.findings, r.nodes, r.pools, r.clusters, r.fixable]), [
        ['CVE-2024-0001', 1, 3, 2, 1, 1, true],
        ['CVE-2024-0002', 2, 2, 2, 2, 1, false],
        ['CVE-2024-0003', 3, 1, 1, 1, 1, true],
      ]);
      assert.equal(page.rows[0]!.title, 'CVE-2024-0001 in openssl');
      assert.equal(typeof page.rows[0]!.findings, 'number');
      const second = await sec.rollupPage({}, { sort: 'severity', limit: 2, offset: 2 });
      assert.deepEqual([second.total, second.rows.map((r) => r.vulnerabilityId)], [3, ['CVE-2024-0003']]);
      assert.deepEqual((await sec.rollupPage({ packageName: 'BASH' }, { sort: 'id', limit: 10, offset: 0 })).rows.map((r) => r.vulnerabilityId), ['CVE-2024-0002'], 'package names ignore case');
      assert.deepEqual((await sec.rollupPage({ fixAvailable: false }, { sort: 'id', limit: 10, offset: 0 })).rows.map((r) => r.vulnerabilityId), ['CVE-2024-0002']);
      assert.deepEqual((await sec.rollupPage({ search: 'gdb' }, { sort: 'id', limit: 10, offset: 0 })).rows.map((r) => r.vulnerabilityId), ['CVE-2024-0003']);
      assert.deepEqual((await sec.rollupPage({ search: '100%' }, { sort: 'id', limit: 10, offset: 0 })).total, 0, 'LIKE characters in a search are literal');
      assert.deepEqual((await sec.rollupPage({ severityRanks: [1] }, { sort: 'id', limit: 10, offset: 0 })).rows.map((r) => r.vulnerabilityId), ['CVE-2024-0001']);
      const pkgs = await sec.rollupPackages(['CVE-2024-0001', 'CVE-2024-0002'], {});
      assert.deepEqual(pkgs.get('CVE-2024-0001')?.packages, ['libssl3', 'openssl']);
      assert.deepEqual(pkgs.get('CVE-2024-0002')?.states, ['affected']);
      const clusters = await sec.rollupClusters({});
      assert.equal(clusters.length, 3);
      assert.deepEqual(clusters.find((c) => c.vulnerabilityId === 'CVE-2024-0002')?.pools.sort(), [nodes.get('n0')!.pool, nodes.get('n2')!.pool].sort());
      const affected = await sec.rollupAffectedNodes();
      assert.deepEqual(affected.get(nodes.get('n0')!.pool), [nodes.get('n0')!.id, nodes.get('n1')!.id].sort());
      // n1 leaves the counted set: its pool is rebuilt without it.
      const fewer = stamps(nodes, 's2', new Set(['n0', 'n2']));
      assert.equal(await sec.refreshRollup(fewer, [], T1), 2);
      assert.equal((await sec.rollupPage({}, { sort: 'id', limit: 10, offset: 0 })).total, 2, 'CVE-2024-0003 was only on n1');
    });

    test('exemptions: active until expiry or removal; glob patterns over ids and packages, case-insensitive; scope by node', async (t) => {
      const store = await backend.open(t);
      if (!store) return;
      const sec = new SecurityStore(store.driver);
      const nodes = await seed(store);
      const e1 = await sec.addExemption({ scope: { account: 'sub-1', label: 'sub-1' }, vulnerability: 'cve-2024-000?', package: 'LIB*', reason: 'mitigated', owner: 'sec', expiresAt: T1, by: 't', at: T0 });
      const e2 = await sec.addExemption({ scope: { account: 'sub-1', cluster: nodes.get('n2')!.cluster, pool: nodes.get('n2')!.pool, node: nodes.get('n2')!.id, label: 'sub-1/c1/p2/n2' }, package: 'bash', reason: 'false-positive', owner: 'sec', by: 't', at: T0 });
      await assert.rejects(sec.addExemption({ scope: { account: 'sub-1', label: 'x' }, reason: 'mitigated', owner: 'x', by: 't', at: T0 }), /vulnerability or a package/);
      assert.deepEqual((await sec.activeExemptions(T0)).map((e) => e.id).sort(), [e1.id, e2.id].sort());
      assert.deepEqual((await sec.activeExemptions(T2)).map((e) => e.id), [e2.id], 'e1 expired');
      const active: Exemption[] = await sec.activeExemptions(T0);
      const rows = await sec.affected('CVE-2024-0001', {}, active);
      assert.deepEqual(rows.map((r) => [r.ref.node, r.finding.package.name, r.exempt]), [['n0', 'libssl3', true], ['n0', 'openssl', false], ['n1', 'openssl', false]]);
      const bash = await sec.affected('CVE-2024-0002', {}, active);
      assert.deepEqual(bash.map((r) => [r.ref.node, r.exempt]), [['n0', false], ['n2', true]]);
      await sec.refreshRollup(stamps(nodes, 'x'), active, T0);
      const page = await sec.rollupPage({}, { sort: 'id', limit: 10, offset: 0 });
      assert.deepEqual(page.rows.map((r) => [r.vulnerabilityId, r.exemptFindings]), [['CVE-2024-0001', 1], ['CVE-2024-0002', 1], ['CVE-2024-0003', 0]]);
      assert.equal(await sec.removeExemption(e2.id, 'bob', T1), true);
      assert.equal(await sec.removeExemption(e2.id, 'bob', T1), false, 'already removed');
      assert.equal((await sec.getExemption(e2.id))?.removedBy, 'bob');
      assert.equal((await sec.listExemptions({ includeRemoved: true })).length, 2);
    });

    test('alerts: status changes with history; a suppression rule dismisses matching alerts first seen after it', async (t) => {
      const store = await backend.open(t);
      if (!store) return;
      const sec = new SecurityStore(store.driver);
      await seed(store, T1);
      const alerts = await store.listAlerts();
      assert.equal(alerts.length, 2);
      const before = await sec.addSuppression({ scope: { account: 'sub-1', label: 'sub-1' }, pathGlob: '/VAR/*', reason: 'lab', by: 't', at: T0 });
      const after = await sec.addSuppression({ scope: { account: 'sub-1', label: 'sub-1' }, rule: 'Miner', reason: 'later', by: 't', at: T2 });
      assert.equal((await sec.applySuppression(before, T2)).length, 1, 'the /var alert appeared after the rule');
      assert.equal((await sec.applySuppression(after, T2)).length, 0, 'the miner alert was there before this rule');
      assert.equal((await sec.applySuppression(after, T2, { existing: true })).length, 1);
      const now = await store.listAlerts();
      assert.ok(now.every((a) => a.status === 'dismissed'));
      const id = now.find((a) => a.alert.path === '/var/tmp/x')!.id;
      assert.deepEqual(await sec.alertIdsByPrefix(id.slice(0, 8)), [id]);
      await sec.setAlertStatus({ alertId: id, status: 'resolved', reason: 'reimaged', by: 'alice', at: T2 });
      const resolved = (await store.listAlerts()).find((a) => a.id === id)!;
      assert.equal(resolved.resolvedAt, T2);
      const h = await sec.alertHistory(id);
      assert.deepEqual(h.map((x) => [x.status, x.by]), [['dismissed', `rule:${before.id}`], ['resolved', 'alice']]);
      await assert.rejects(sec.setAlertStatus({ alertId: 'nope', status: 'resolved', by: 'x', at: T2 }), /no alert/);
      assert.equal(await sec.removeSuppression(before.id, 't', T2), true);
      assert.equal((await sec.listSuppressions()).length, 1);
    });

    test('thresholds, node states, freshness and history groups', async (t) => {
      const store = await backend.open(t);
      if (!store) return;
      const sec = new SecurityStore(store.driver);
      const nodes = await seed(store);
      await sec.setThreshold('sub-1', 'high', 'a', T0);
      await sec.setThreshold('sub-1', 'critical', 'b', T1);
      assert.equal(await sec.getThreshold('sub-1'), 'critical');
      const states = await sec.nodeStates();
      assert.deepEqual(states.map((s) => [s.ref.node, s.lastScan?.state, s.lastPublishedAt]), [['n0', 'published', T0], ['n1', 'published', T0], ['n2', 'published', T0]]);
      assert.equal(await sec.lastPublished([...nodes.values()].map((n) => n.id)), T0);
      // n2 republished a day later without its finding: resolved at T1.
      const run = await store.createRun({ account: 'sub-1', trigger: 'on-demand', requestedBy: 't', at: T1 });
      await store.startRun(run.id, [{ nodeId: nodes.get('n2')!.id, state: 'queued' }], T1);
      const s = await store.claimNodeScan('w', T1, { nodes: [nodes.get('n2')!.id] });
      await store.publishNodeScan({ nodeScanId: s!.id, worker: 'w', state: 'published', findings: [], bytesRead: 0, durationMs: 1, at: T1 });
      const groups = await sec.historyGroups({ clusterIds: [nodes.get('n0')!.cluster] });
      const total = groups.reduce((a, g) => a + g.count, 0);
      assert.equal(total, 6);
      assert.deepEqual(groups.filter((g) => g.resolvedAt !== undefined).map((g) => [g.severityRank, g.firstSeen, g.resolvedAt, g.count]), [[2, T0, T1, 1]]);
    });
  });
}
