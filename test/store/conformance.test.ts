/**
 * One conformance suite for both store implementations: SQLite (node:sqlite, a temporary file)
 * and PostgreSQL (a real server started once per test run by test/global-setup.ts; each test
 * gets its own database). Every behaviour the control plane relies on is asserted on both.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { Finding } from '../../src/match/index.ts';
import type { Alert } from '../../src/malware/index.ts';
import { ConflictError, FleetStore, StoreError, openStore } from '../../src/store/index.ts';
import type { DiscoveredCluster, NodeScanPlan } from '../../src/store/fleet-store.ts';
import { MIGRATIONS, migrate } from '../../src/store/migrations.ts';
import { openDriver } from '../../src/store/open.ts';
import { postgresDatabase } from '../helpers/postgres.ts';

const T0 = '2026-12-01T00:00:00.000Z';
const T1 = '2026-12-02T00:00:00.000Z';
const T2 = '2026-12-03T00:00:00.000Z';

interface Backend {
  name: string;
  open(t: TestContext): Promise<{ location: string; store: FleetStore } | undefined>;
}

const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    async open(t) {
      const dir = mkdtempSync(join(tmpdir(), 'hullscan-store-'));
      const location = join(dir, 'hullscan.db');
      const store = await openStore(location);
      t.after(async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      });
      return { location, store };
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
      return { location: db.url, store };
    },
  },
];

/** A finding as the engine's matcher writes it (real-shaped: Ubuntu OSV on a deb package). */
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
    cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', score: 7.5, source: 'nvd' }],
    summary: `${vuln} in ${name}`,
    evidence: {
      package: [{ path: '/var/lib/dpkg/status', line: 1 }],
      advisory: { id: `UBUNTU-${vuln}`, source: 'osv', feed: 'ubuntu-22.04.osv.jsonl.gz' },
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
  return { id: `malware|yara|${rule}|${path}`, kind: 'malware', severity: 'high', engine: 'yara', rule, path, sha256: '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f', size: 68, mtimeMs: 0 };
}

const CLUSTERS: DiscoveredCluster[] = [
  {
    name: 'aks-dev',
    tags: { env: 'dev' },
    pools: [
      { name: 'np1', imageFamily: 'AKSUbuntu-2204gen2containerd', imageVersion: '202309.06.0', nodes: [{ name: 'n0', diskRef: '/d/n0.qcow2' }, { name: 'n1', diskRef: '/d/n1.qcow2' }] },
      { name: 'np2', tags: { 'hullscan-exclude': 'true' }, nodes: [{ name: 'm0', diskRef: '/d/m0.raw', ephemeralOsDisk: true }] },
    ],
  },
];

/** An account with the clusters above and one running run with every node queued. */
async function fleet(store: FleetStore, trigger: 'schedule' | 'on-demand' = 'schedule'): Promise<{ run: string; nodes: Map<string, string> }> {
  await store.upsertAccount({ id: 'sub-1', provider: 'local', settings: { agentlessScanning: true } }, T0);
  await store.syncDiscovery('sub-1', CLUSTERS, T0);
  const nodes = new Map((await store.listNodes({ account: 'sub-1' })).map((n) => [n.ref.node, n.node.id]));
  const run = await store.createRun({ account: 'sub-1', trigger, requestedBy: 'test', at: T0 });
  const plans: NodeScanPlan[] = [...nodes.values()].map((id) => ({ nodeId: id, state: 'queued' }));
  await store.startRun(run.id, plans, T0);
  return { run: run.id, nodes };
}

async function claimFor(store: FleetStore, worker: string, nodeId: string, at = T0): Promise<string> {
  const s = await store.claimNodeScan(worker, at, { nodes: [nodeId] });
  assert.ok(s, `a node scan of ${nodeId} to claim`);
  return s.id;
}

for (const backend of BACKENDS) {
  describe(`store conformance: ${backend.name}`, () => {
    test('migrations apply once, are recorded, and a newer schema is refused', async (t) => {
      const o = await backend.open(t);
      if (!o) return;
      const driver = openDriver(o.location);
      try {
        assert.deepEqual(await migrate(driver), [], 'already migrated by openStore');
        const rows = await driver.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
        assert.deepEqual(rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));
        assert.equal(typeof rows[0]!.version, 'number');
        await driver.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [999, 'from the future', T0]);
        await assert.rejects(migrate(driver), (err: unknown) => err instanceof StoreError && /newer than this Hullscan/.test((err as Error).message));
      } finally {
        await driver.close();
      }
    });

    test('accounts: defaults, the file\'s settings applied once, versioned changes with who and when, optimistic concurrency', async (t) => {
      const o = await backend.open(t);
      if (!o) return;
      const { store } = o;
      const a = await store.upsertAccount({ id: 'sub-1', provider: 'local', name: 'Dev', settings: { agentlessScanning: true } }, T0);
      assert.equal(a.settings.agentlessScanning, true);
      assert.equal(a.settings.malware, false, 'malware off by default');
      assert.deepEqual(a.settings.schedule, { kind: 'interval', hours: 24 }, 'daily by default');
      assert.equal(a.settingsVersion, 1);
      const b = await store.upsertAccount({ id: 'sub-2', provider: 'local' }, T0);
      assert.equal(b.settings.agentlessScanning, false, 'Agentless scanning for machines is off by default');

      // A CLI change, then the same file again: the file does not undo it.
      await store.updateSettings('sub-1', { malware: true }, { by: 'cli:alice', at: T1 });
      const again = await store.upsertAccount({ id: 'sub-1', provider: 'local', name: 'Dev', settings: { agentlessScanning: true } }, T1);
      assert.equal(again.settings.malware, true);
      assert.equal(again.settingsVersion, 2);
      // The file's settings change: applied as a new version by the file.
      const changed = await store.upsertAccount({ id: 'sub-1', provider: 'local', settings: { agentlessScanning: false } }, T2, 'config:env.yaml');
      assert.equal(changed.settings.agentlessScanning, false);
      assert.equal(changed.settings.malware, true);
      assert.equal(changed.settingsVersion, 3);
      const history = await store.settingsHistory('sub-1');
      assert.deepEqual(history.map((h) => [h.version, h.changedBy, h.changedAt]), [[1, 'config', T0], [2, 'cli:alice', T1], [3, 'config:env.yaml', T2]]);

      await assert.rejects(store.updateSettings('sub-1', { malware: false }, { by: 'bob', at: T2, expectedVersion: 2 }), ConflictError);
      const ok = await store.updateSettings('sub-1', { malware: false }, { by: 'bob', at: T2, expectedVersion: 3 });
      assert.equal(ok.settingsVersion, 4);
      await assert.rejects(store.upsertAccount({ id: 'sub-1', provider: 'azure' }, T2), /local account/);
    });

    test('discovery: upserts by name, marks what disappeared gone (never deletes), brings it back when seen again', async (t) => {
      const o = await backend.open(t);
      if (!o) return;
      const { store } = o;
      await store.upsertAccount({ id: 'sub-1', provider: 'local' }, T0);
      const first = await store.syncDiscovery('sub-1', CLUSTERS, T0);
      assert.deepEqual(first, { clusters: 1, pools: 2, nodes: 3, gone: { clusters: 0, pools: 0, nodes: 0 } });
      const ids = new Map((await store.listNodes()).map((n) => [n.ref.node, n.node.id]));
      const pool = (await store.listPools()).find((p) => p.name === 'np1')!;
      assert.equal(pool.imageVersion, '202309.06.0');
      assert.equal(pool.nodeCount, 2);
      assert.equal(typeof pool.nodeCount, 'number');

      const fewer: DiscoveredCluster[] = [{ ...CLUSTERS[0]!, pools: [{ ...CLUSTERS[0]!.pools[0]!, imageVersion: '202608.20.0', nodes: [CLUSTERS[0]!.pools[0]!.nodes[0]!] }] }];
      const second = await store.syncDiscovery('sub-1', fewer, T1);
      assert.deepEqual(second.gone, { clusters: 0, pools: 1, nodes: 2 });
      assert.deepEqual((await store.listNodes()).map((n) => n.ref.node), ['n0']);
      const all = await store.listNodes({ includeGone: true });
      assert.equal(all.length, 3, 'gone nodes stay, with their history');
      assert.equal(all.find((n) => n.ref.node === 'n1')!.node.goneAt, T1);
      assert.equal(all.find((n) => n.ref.node === 'n0')!.node.id, ids.get('n0'), 'same id across syncs');
      assert.equal((await store.listPools()).find((p) => p.name === 'np1')!.imageVersion, '202608.20.0');

      await store.syncDiscovery('sub-1', CLUSTERS, T2);
      const back = (await store.listNodes()).find((n) => n.ref.node === 'n1')!;
      assert.equal(back.node.goneAt, undefined);
      assert.equal(back.node.id, ids.get('n1'));
      assert.equal(back.node.firstSeen, T0);
    });

    test('claims: on-demand before scheduled, one scan per node at a time, per-account limits, lost claims', async (t) => {
      const o = await backend.open(t);
      if (!o) return;
      const { store } = o;
      const { run, nodes } = await fleet(store, 'schedule');
      const onDemand = await store.createRun({ account: 'sub-1', trigger: 'on-demand', requestedBy: 'test', at: T1 });
      await store.startRun(onDemand.id, [{ nodeId: nodes.get('n0')! }].map((p) => ({ ...p, state: 'queued' as const })), T1);
      const first = await store.claimNodeScan('w1', T1);
      assert.equal(first?.run, onDemand.id, 'on-demand work first');
      assert.equal(first?.state, 'snapshot');
      assert.equal(first?.attempts, 1);
      // n0 is being scanned: the scheduled run's n0 scan must wait.
      const claimed = [];
      for (let s = await store.claimNodeScan('w2', T1); s; s = await store.claimNodeScan('w2', T1)) claimed.push(s);
      assert.deepEqual(claimed.map((s) => s.node).sort(), [nodes.get('m0'), nodes.get('n1')].sort());
      assert.equal(await store.claimNodeScan('w2', T1, { busyAccounts: ['sub-1'] }), undefined);
      assert.equal(await store.advanceNodeScan(first!.id, 'w2', 'read', T1), false, 'another worker cannot move my claim');
      assert.equal(await store.advanceNodeScan(first!.id, 'w1', 'read', T1), true);
      assert.equal(await store.failNodeScan(first!.id, 'w1', { reason: 'unreadable-disk', detail: 'CorruptError: bad superblock', bytesRead: 4096, at: T1 }), true);
      const next = await store.claimNodeScan('w3', T1);
      assert.equal(next?.node, nodes.get('n0'), 'n0 free again');
      assert.equal(next?.run, run);
      const failed = await store.getNodeScan(first!.id);
      assert.equal(failed?.reason, 'unreadable-disk');
      assert.equal(failed?.bytesRead, 4096);
    });

    test('recovery: a dead worker\'s scans go back to the queue, and fail as interrupted after the attempts run out', async (t) => {
      const o = await backend.open(t);
      if (!o) return;
      const { store } = o;
      const { run, nodes } = await fleet(store);
      const id = await claimFor(store, 'dead:1', nodes.get('n0')!);
      const alive = await claimFor(store, 'alive:2', nodes.get('n1')!);
      const r1 = await store.recoverInterrupted({ staleBefore: '2000-01-01T00:00:00.000Z', isDead: (w) => w === 'dead:1', maxAttempts: 2 }, T1);
      assert.deepEqual([r1.requeued, r1.failed, r1.runs], [1, 0, [run]]);
      assert.equal((await store.getNodeScan(id))?.state, 'queued');
      assert.equal((await store.getNodeScan(alive))?.state, 'snapshot', 'a live worker keeps its claim');
      const again = await claimFor(store, 'dead:1', nodes.get('n0')!, T1);
      assert.equal(again, id);
      assert.equal((await store.getNodeScan(id))?.attempts, 2);
      const r2 = await store.recoverInterrupted({ staleBefore: '2000-01-01T00:00:00.000Z', isDead: (w) => w === 'dead:1', maxAttempts: 2 }, T2);
      assert.deepEqual([r2.requeued, r2.failed], [0, 1]);
      const s = await store.getNodeScan(id);
      assert.equal(s?.state, 'failed');
      assert.equal(s?.reason, 'interrupted');
      // Stale heartbeat alone also counts as dead.
      const r3 = await store.recoverInterrupted({ staleBefore: T2, isDead: () => false, maxAttempts: 5 }, T2);
      assert.equal(r3.requeued, 1, "alive:2's heartbeat (T0) is older than T2");
    });

    test('publication: one row per (node, CVE, package) across scans; no change adds and resolves nothing; a changed disk resolves and adds the right ones', async (t) => {
      const o = await backend.open(t);
      if (!o) return;
      const { store } = o;
      const { nodes } = await fleet(store);
      const n0 = nodes.get('n0')!;
      const inv = { schemaVersion: 1 as const, target: 'x', scannedAt: T0, packages: [], analyzers: {}, issues: [] };
      const f1 = [finding('CVE-2024-0001', 'openssl', '3.0.2-0ubuntu1.10'), finding('CVE-2024-0002', 'bash', '5.1-6ubuntu1'), finding('CVE-2024-0003', 'bash', '5.1-6ubuntu1')];
      let scan = await claimFor(store, 'w', n0);
      const s1 = await store.publishNodeScan({ nodeScanId: scan, worker: 'w', state: 'published', inventory: { fingerprint: 'fp1', source: 'disk', inventory: inv }, inventorySource: 'disk', fingerprint: 'fp1', findings: f1, alerts: [alert('/tmp/x')], bytesRead: 1000, durationMs: 5, at: T0 });
      assert.deepEqual(s1, { findings: { open: 3, added: 3, resolved: 0 }, alerts: { active: 1, added: 1, resolved: 0 } });
      const published = await store.getNodeScan(scan);
      assert.equal(published?.state, 'published');
      assert.equal(published?.findings, 3);
      assert.equal(typeof published?.findings, 'number');
      assert.ok(published?.inventoryId);

      // Same findings again (a later run): nothing added, nothing resolved; the upgraded-but-still-vulnerable package stays one row.
      const run2 = await store.createRun({ account: 'sub-1', trigger: 'schedule', requestedBy: 'test', at: T1 });
      await store.startRun(run2.id, [{ nodeId: n0, state: 'queued' }], T1);
      scan = await claimFor(store, 'w', n0, T1);
      const f2 = [finding('CVE-2024-0001', 'openssl', '3.0.2-0ubuntu1.12'), f1[1]!, f1[2]!];
      const s2 = await store.publishNodeScan({ nodeScanId: scan, worker: 'w', state: 'published', inventory: { fingerprint: 'fp1', source: 'disk', inventory: inv }, findings: f2, alerts: [alert('/tmp/x')], bytesRead: 0, durationMs: 5, at: T1 });
      assert.deepEqual(s2, { findings: { open: 3, added: 0, resolved: 0 }, alerts: { active: 1, added: 0, resolved: 0 } });
      assert.equal(await store.count('inventories'), 1, 'one inventory per fingerprint');
      const rows = await store.listFindings({ node: 'n0' });
      assert.equal(rows.length, 3);
      const ossl = rows.find((r) => r.finding.package.name === 'openssl')!;
      assert.equal(ossl.firstSeen, T0);
      assert.equal(ossl.lastSeen, T1);
      assert.equal(ossl.finding.package.version, '3.0.2-0ubuntu1.12', 'the row shows the version seen last');
      assert.equal(ossl.finding.summary, 'CVE-2024-0001 in openssl');
      assert.equal(ossl.finding.cvss[0]?.score, 7.5);
      assert.deepEqual(ossl.ref, { account: 'sub-1', cluster: 'aks-dev', nodePool: 'np1', node: 'n0' });

      // The disk changed: bash fixed (two CVEs resolved), a new CVE; the alert's file is gone.
      const run3 = await store.createRun({ account: 'sub-1', trigger: 'schedule', requestedBy: 'test', at: T2 });
      await store.startRun(run3.id, [{ nodeId: n0, state: 'queued' }], T2);
      scan = await claimFor(store, 'w', n0, T2);
      const s3 = await store.publishNodeScan({ nodeScanId: scan, worker: 'w', state: 'published', inventory: { fingerprint: 'fp2', source: 'disk', inventory: inv }, findings: [f2[0]!, finding('CVE-2024-0009', 'curl', '7.81.0-1')], alerts: [], bytesRead: 0, durationMs: 5, at: T2 });
      assert.deepEqual(s3, { findings: { open: 2, added: 1, resolved: 2 }, alerts: { active: 0, added: 0, resolved: 1 } });
      const open = await store.listFindings({ node: 'n0' });
      assert.deepEqual(open.map((f) => f.finding.vulnerabilityId).sort(), ['CVE-2024-0001', 'CVE-2024-0009']);
      const all = await store.listFindings({ node: 'n0', all: true });
      assert.equal(all.length, 4);
      assert.deepEqual(all.filter((f) => f.resolvedAt === T2).map((f) => f.finding.vulnerabilityId).sort(), ['CVE-2024-0002', 'CVE-2024-0003']);
      const alerts = await store.listAlerts({ node: 'n0' });
      assert.equal(alerts[0]?.status, 'resolved');
      assert.equal(alerts[0]?.statusReason, 'not found in a later scan');
      assert.equal(await store.count('inventories'), 2);
      assert.equal((await store.nodeContext(n0))?.node.lastPublishedAt, T2);
    });

    test('publication is atomic: a failing statement or a lost claim writes nothing', async (t) => {
      const o = await backend.open(t);
      if (!o) return;
      const { store } = o;
      const { nodes } = await fleet(store);
      const n0 = nodes.get('n0')!;
      const inv = { schemaVersion: 1 as const, target: 'x', scannedAt: T0, packages: [], analyzers: {}, issues: [] };
      const scan = await claimFor(store, 'w', n0);
      // A finding whose severity is missing violates NOT NULL half-way through the transaction.
      const broken = [finding('CVE-2024-0001', 'openssl', '1'), finding('CVE-2024-0002', 'bash', '1', { severity: undefined as unknown as 'low' })];
      await assert.rejects(store.publishNodeScan({ nodeScanId: scan, worker: 'w', state: 'published', inventory: { fingerprint: 'fpx', source: 'disk', inventory: inv }, findings: broken, alerts: [alert('/a')], bytesRead: 0, durationMs: 1, at: T0 }));
      assert.equal(await store.count('findings'), 0);
      assert.equal(await store.count('alerts'), 0);
      assert.equal(await store.count('inventories'), 0);
      assert.equal((await store.getNodeScan(scan))?.state, 'snapshot', 'still claimed, not half-published');
      await assert.rejects(store.publishNodeScan({ nodeScanId: scan, worker: 'someone-else', state: 'published', findings: [finding('CVE-1', 'a', '1')], bytesRead: 0, durationMs: 1, at: T0 }), ConflictError);
      assert.equal(await store.count('findings'), 0);
    });

    test('publication batches past the bind-parameter limit (5,000 findings on one node)', async (t) => {
      const o = await backend.open(t);
      if (!o) return;
      const { store } = o;
      const { nodes } = await fleet(store);
      const scan = await claimFor(store, 'w', nodes.get('n0')!);
      const many = Array.from({ length: 5000 }, (_, i) => finding(`CVE-2025-${String(10000 + i)}`, `pkg${i % 700}`, '1.0-1'));
      const s = await store.publishNodeScan({ nodeScanId: scan, worker: 'w', state: 'published', findings: many, bytesRead: 0, durationMs: 1, at: T0 });
      assert.deepEqual(s.findings, { open: 5000, added: 5000, resolved: 0 });
      assert.equal(await store.count('findings'), 5000);
      assert.equal(await store.count('findings', 'node_id = ?', [nodes.get('n0')!]), 5000);
    });

    test('readers in another connection never see a half-written transaction', async (t) => {
      const o = await backend.open(t);
      if (!o) return;
      const { store } = o;
      await fleet(store);
      const reader = await openStore(o.location);
      t.after(() => reader.close());
      const before = await reader.count('scan_runs');
      let during = -1;
      await store.driver.transaction(async (tx) => {
        await tx.run("INSERT INTO scan_runs (id, account_id, trigger, state, requested_by, nodes_total, nodes_published, nodes_failed, nodes_skipped, created_at) VALUES ('r-x', 'sub-1', 'schedule', 'queued', 't', 0, 0, 0, 0, ?)", [T1]);
        during = await reader.count('scan_runs');
      });
      assert.equal(during, before);
      assert.equal(await reader.count('scan_runs'), before + 1);
    });

    test('runs complete when every node scan has ended; counts are numbers', async (t) => {
      const o = await backend.open(t);
      if (!o) return;
      const { store } = o;
      const { run, nodes } = await fleet(store);
      const r0 = await store.getRun(run);
      assert.equal(r0?.state, 'running');
      assert.deepEqual(r0?.counts, { total: 3, published: 0, failed: 0, skipped: 0 });
      for (const n of nodes.values()) {
        const id = await claimFor(store, 'w', n);
        await store.failNodeScan(id, 'w', { reason: 'disk-not-found', at: T1 });
      }
      const r1 = await store.refreshRun(run, T1);
      assert.equal(r1?.state, 'completed');
      assert.equal(r1?.finishedAt, T1);
      assert.deepEqual(r1?.counts, { total: 3, published: 0, failed: 3, skipped: 0 });
      assert.equal(typeof r1?.counts.total, 'number');
      assert.equal((await store.lastRun('sub-1', 'schedule'))?.id, run);
    });

    test('snapshot lease ledger: intent before create, confirmed, deleted; open and expired leases listed', async (t) => {
      const o = await backend.open(t);
      if (!o) return;
      const { store } = o;
      await store.upsertAccount({ id: 'sub-1', provider: 'local' }, T0);
      const a = await store.recordLeaseIntent({ provider: 'local', account: 'sub-1', diskRef: '/d/a', owner: 'w', at: T0, expiresAt: T1 });
      const b = await store.recordLeaseIntent({ provider: 'local', account: 'sub-1', diskRef: '/d/b', owner: 'w', at: T0, expiresAt: T2 });
      assert.equal(a.state, 'intent');
      await store.confirmLease(a.id, 'snap-a');
      assert.equal((await store.getLease(a.id))?.snapshotRef, 'snap-a');
      assert.deepEqual((await store.openLeases({ expiredBefore: T2 })).map((l) => l.id), [a.id]);
      await store.markLeaseDeleteFailed(b.id, 'throttled');
      assert.equal((await store.getLease(b.id))?.state, 'delete-failed');
      await store.markLeaseDeleted(a.id, T1);
      await store.markLeaseDeleted(b.id, T1);
      assert.deepEqual(await store.openLeases(), []);
    });

    test('retention purges resolved findings and old runs, keeps open ones and each node\'s last scan', async (t) => {
      const o = await backend.open(t);
      if (!o) return;
      const { store } = o;
      const { nodes } = await fleet(store);
      await store.updateSettings('sub-1', { retentionDays: 1 }, { by: 't', at: T0 });
      const n0 = nodes.get('n0')!;
      let scan = await claimFor(store, 'w', n0);
      await store.publishNodeScan({ nodeScanId: scan, worker: 'w', state: 'published', findings: [finding('CVE-1', 'a', '1'), finding('CVE-2', 'b', '1')], bytesRead: 0, durationMs: 1, at: T0 });
      const run2 = await store.createRun({ account: 'sub-1', trigger: 'schedule', requestedBy: 't', at: T1 });
      await store.startRun(run2.id, [{ nodeId: n0, state: 'queued' }], T1);
      scan = await claimFor(store, 'w', n0, T1);
      await store.publishNodeScan({ nodeScanId: scan, worker: 'w', state: 'published', findings: [finding('CVE-1', 'a', '1')], bytesRead: 0, durationMs: 1, at: T1 });
      const purged = await store.purge(new Date('2026-12-10T00:00:00.000Z'));
      assert.equal(purged.findings, 1);
      assert.equal(await store.count('findings'), 1, 'the open finding stays');
      assert.ok((await store.getNodeScan(scan)) !== undefined, "the node's last scan stays");
    });
  });
}
