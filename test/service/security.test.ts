/**
 * The security views on a real multi-pool environment: real AKS node disks (the catalogue's real
 * package lists built into GPT disks by the real tools, test/fixtures/aks-node.ts) on three
 * Ubuntu 22.04 image versions, a hot-patched node, an infected node, an excluded pool, an
 * ephemeral pool assessed from the catalogue and an account with scanning off, scanned by the
 * control plane through the local provider into a real SQLite store. Every figure the service
 * gives is checked against an independent computation: the store's own finding rows, or the
 * target image's package list matched directly — exact counts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { catalogInventory, loadCatalog } from '../../src/catalog/index.ts';
import { ControlPlane } from '../../src/control/control-plane.ts';
import { matchInventory } from '../../src/match/run.ts';
import { SecurityService, SEVERITY_ORDER, type Severity } from '../../src/service/index.ts';
import type { StoredFinding } from '../../src/store/fleet-store.ts';
import type { VulnDb } from '../../src/vulndb/index.ts';
import { importFeeds, openVulnDb } from '../../src/vulndb/store.ts';
import { aksNodeImage, HOTPATCH, MALWARE_SAMPLES } from '../fixtures/aks-node.ts';
import { fixtureOrSkip } from '../fixtures/node-image.ts';

const REPO = join(import.meta.dirname, '..', '..');
const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const FEEDS = ['data/vulndb/ubuntu-22.04.osv.aks-slice.jsonl.gz', 'data/vulndb/known_exploited_vulnerabilities.json.gz'].map((f) => join(REPO, f));
const DAY_MS = 86_400_000;

let work: string;
let cp: ControlPlane | undefined;
let db: VulnDb;
let skipped: string | undefined;

/** The service at a given time (exemption expiry is tested by moving it). */
function service(now?: Date): SecurityService {
  return new SecurityService({ store: cp!.store, vulnDb: () => db, ...(now !== undefined && { now: () => now }) });
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hullscan-security-'));
  const dbPath = join(work, 'vuln.db');
  await importFeeds(dbPath, FEEDS);
  db = openVulnDb(dbPath);
  let skipWhy: string | undefined;
  const built = await fixtureOrSkip(
    { skip: (m?: string) => void (skipWhy = m ?? 'fixtures unavailable') },
    Promise.all([
      aksNodeImage(UBUNTU, '202309.06.0', 'qcow2'),
      aksNodeImage(UBUNTU, '202309.06.0', 'vhdx', { drift: 'hotpatch' }),
      aksNodeImage(UBUNTU, '202408.05.0', 'vhdx', { malware: true }),
      aksNodeImage(UBUNTU, '202608.20.0', 'vhd-fixed'),
    ]),
  );
  if (!built) {
    skipped = skipWhy;
    return;
  }
  const [old, hot, infected, newest] = built;
  const env = {
    accounts: [
      {
        id: 'sub-a',
        provider: 'local',
        settings: { agentlessScanning: true, malware: true, exclusionTags: { 'hullscan-exclude': 'true' } },
        clusters: [
          {
            name: 'c1',
            pools: [
              { name: 'np1', nodeImage: `${UBUNTU}-202309.06.0`, nodes: [{ name: 'n0', disk: old, kernel: '5.15.0-1041-azure' }, { name: 'n1', disk: old }, { name: 'n2', disk: hot }] },
              { name: 'np2', nodeImage: `${UBUNTU}-202408.05.0`, tags: { 'hullscan-exclude': 'true' }, nodes: [{ name: 'x0', disk: join(work, 'no-such-disk.raw') }] },
            ],
          },
          {
            name: 'c2',
            pools: [
              { name: 'web', nodeImage: `${UBUNTU}-202408.05.0`, latestNodeImage: `${UBUNTU}-202508.20.0`, nodes: [{ name: 'w0', disk: infected }] },
              { name: 'sys', nodeImage: `${UBUNTU}-202608.20.0`, nodes: [{ name: 's0', disk: newest }] },
              { name: 'eph', nodeImage: `${UBUNTU}-202508.20.0`, nodes: [{ name: 'e0', ephemeralOsDisk: true }] },
            ],
          },
          // Every pool excluded: the recommendation does not apply.
          { name: 'c3', tags: { 'hullscan-exclude': 'true' }, pools: [{ name: 'q', nodeImage: `${UBUNTU}-202608.20.0`, nodes: [{ name: 'q0', disk: newest }] }] },
          // No node can be assessed: not assessed, never healthy.
          { name: 'c4', pools: [{ name: 'broken', nodes: [{ name: 'b0', disk: join(work, 'missing.vhd') }] }] },
        ],
      },
      { id: 'sub-off', provider: 'local', settings: { agentlessScanning: false }, clusters: [{ name: 'c9', pools: [{ name: 'p', nodes: [{ name: 'z0', disk: newest }] }] }] },
    ],
  };
  writeFileSync(join(work, 'env.yaml'), JSON.stringify(env));
  cp = await ControlPlane.open({ dataDir: join(work, 'data'), config: join(work, 'env.yaml'), dbPath, concurrency: 2 });
  const { runs } = await cp.runOnce();
  assert.equal(runs[0]?.state, 'completed');
});

after(async () => {
  await cp?.close();
  db?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Open findings of the nodes whose findings count (every node but the excluded, failed and scanning-off ones). */
let allOpen: StoredFinding[] | undefined;
async function countedFindings(filter: { cluster?: string; pool?: string } = {}): Promise<StoredFinding[]> {
  // Read once: no test changes findings (exemptions and alert reviews do not).
  allOpen ??= await cp!.store.listFindings({ account: 'sub-a' });
  return allOpen.filter((f) => f.ref.nodePool !== 'np2' && f.ref.cluster !== 'c3' && (filter.cluster === undefined || f.ref.cluster === filter.cluster) && (filter.pool === undefined || f.ref.nodePool === filter.pool));
}

function distinctBySeverity(list: readonly StoredFinding[]): Record<Severity, number> {
  const worst = new Map<string, number>();
  for (const f of list) {
    const r = SEVERITY_ORDER.indexOf(f.finding.severity);
    worst.set(f.finding.vulnerabilityId, Math.min(worst.get(f.finding.vulnerabilityId) ?? 99, r));
  }
  const out = Object.fromEntries(SEVERITY_ORDER.map((s) => [s, 0])) as Record<Severity, number>;
  for (const r of worst.values()) out[SEVERITY_ORDER[r]!]++;
  return out;
}

describe('security views on real node disks', () => {
  test('recommendations: unhealthy with exact counts; excluded and scanning-off not applicable; unreadable not assessed', async (t) => {
    if (skipped) return t.skip(skipped);
    const recs = await service().recommendations();
    const by = new Map(recs.map((r) => [`${r.account}/${r.cluster}`, r]));
    assert.deepEqual([...by.keys()].sort(), ['sub-a/c1', 'sub-a/c2', 'sub-a/c3', 'sub-a/c4', 'sub-off/c9']);
    for (const c of ['c1', 'c2']) {
      const r = by.get(`sub-a/${c}`)!;
      const expected = await countedFindings({ cluster: c });
      assert.equal(r.status, 'unhealthy');
      assert.deepEqual(r.counts, distinctBySeverity(expected), `${c}: counts = distinct vulnerabilities of the store's open findings`);
      const findings = Object.values(r.findings).reduce((a, b) => a + b, 0);
      assert.equal(findings, expected.length, `${c}: finding rows`);
      assert.equal(r.severity, SEVERITY_ORDER.find((s) => r.counts[s] > 0));
      assert.deepEqual(r.affectedPools, [...new Set(expected.map((f) => f.ref.nodePool))].sort());
      assert.equal(r.affectedNodes, new Set(expected.map((f) => f.nodeId)).size);
      assert.ok(r.lastScanned !== null);
    }
    const c1 = by.get('sub-a/c1')!;
    assert.equal(c1.nodes.assessed, 3);
    assert.match(c1.reason ?? '', /np2\/x0 \(node pool np2 is tagged hullscan-exclude: true\)/);
    assert.equal(by.get('sub-a/c3')!.status, 'not-applicable');
    assert.match(by.get('sub-a/c3')!.reason ?? '', /excluded: cluster c3 is tagged hullscan-exclude: true/);
    assert.equal(by.get('sub-a/c4')!.status, 'not-assessed');
    assert.match(by.get('sub-a/c4')!.reason ?? '', /no node could be assessed \(broken\/b0: failed: disk-not-found/);
    assert.equal(by.get('sub-off/c9')!.status, 'not-applicable');
    assert.match(by.get('sub-off/c9')!.reason ?? '', /scanning is off/);

    // A threshold above every open severity makes a cluster healthy — with data, not for lack of it.
    const s = service();
    await s.setThreshold('sub-a', 'critical', 'test');
    const strict = new Map((await s.recommendations()).map((r) => [r.cluster, r]));
    assert.equal(strict.get('c2')!.status, distinctBySeverity(await countedFindings({ cluster: 'c2' })).critical > 0 ? 'unhealthy' : 'healthy');
    assert.equal(strict.get('c4')!.status, 'not-assessed');
    await s.setThreshold('sub-a', 'unknown', 'test');
    const roll = await s.accountRollups();
    assert.equal(roll.find((r) => r.account === 'sub-a')!.status, 'unhealthy');
    assert.equal(roll.find((r) => r.account === 'sub-off')!.status, 'not-applicable');
  });

  test('Findings list: one row per vulnerability with exact node / pool / cluster counts; filters and pages', async (t) => {
    if (skipped) return t.skip(skipped);
    const s = service();
    const expected = await countedFindings();
    const byCve = new Map<string, StoredFinding[]>();
    for (const f of expected) byCve.set(f.finding.vulnerabilityId, [...(byCve.get(f.finding.vulnerabilityId) ?? []), f]);
    const all = [];
    for (let page = 1; ; page++) {
      const p = await s.findings({ page, pageSize: 500 });
      assert.equal(p.total, byCve.size);
      all.push(...p.items);
      if (p.items.length < 500) break;
    }
    assert.equal(all.length, byCve.size);
    for (const i of all) {
      const rows = byCve.get(i.vulnerabilityId)!;
      assert.equal(i.findings, rows.length, i.vulnerabilityId);
      assert.equal(i.nodes, new Set(rows.map((f) => f.nodeId)).size, i.vulnerabilityId);
      assert.equal(i.pools, new Set(rows.map((f) => `${f.ref.cluster}/${f.ref.nodePool}`)).size, i.vulnerabilityId);
      assert.equal(i.clusters, new Set(rows.map((f) => f.ref.cluster)).size, i.vulnerabilityId);
      assert.deepEqual(i.packages, [...new Set(rows.map((f) => f.finding.package.name))].sort(), i.vulnerabilityId);
    }
    // Sorted by severity, then CVSS.
    const ranks = all.map((i) => SEVERITY_ORDER.indexOf(i.severity));
    assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b));
    const kev = await s.findings({ kev: true, pageSize: 1000 });
    assert.equal(kev.total, [...byCve.values()].filter((rows) => rows[0]!.finding.kev !== undefined).length);
    assert.ok(kev.total > 0, 'the KEV catalogue names some of these CVEs');
    const c2 = await s.findings({ cluster: 'c2', pageSize: 1000 });
    assert.equal(c2.total, new Set(expected.filter((f) => f.ref.cluster === 'c2').map((f) => f.finding.vulnerabilityId)).size);
    const gdb = await s.findings({ package: HOTPATCH.installed.name, pageSize: 1000 });
    assert.deepEqual(gdb.items.map((i) => i.vulnerabilityId).sort(), [...new Set(expected.filter((f) => f.finding.package.name === 'gdb').map((f) => f.finding.vulnerabilityId))].sort());
    assert.ok(gdb.total > 0);
  });

  test('CVE pane: the affected resources are exactly the store\'s findings of that CVE; kernel findings say whether the node runs that kernel', async (t) => {
    if (skipped) return t.skip(skipped);
    const s = service();
    const expected = await countedFindings();
    const cves = [...new Set(expected.map((f) => f.finding.vulnerabilityId))];
    const kernelCve = expected.find((f) => f.finding.kernel !== undefined && f.ref.node === 'n0')!.finding.vulnerabilityId;
    for (const id of [cves[0]!, cves[Math.floor(cves.length / 2)]!, kernelCve]) {
      const pane = await s.cvePane(id);
      const want = expected.filter((f) => f.finding.vulnerabilityId === id).map((f) => `${f.ref.cluster}/${f.ref.nodePool}/${f.ref.node}|${f.finding.package.name}|${f.finding.package.version}|${f.finding.fixedVersion ?? ''}|${f.firstSeen}`).sort();
      const got = pane.affected.map((a) => `${a.cluster}/${a.nodePool}/${a.node}|${a.package}|${a.installedVersion}|${a.fixedVersion ?? ''}|${a.firstSeen}`).sort();
      assert.deepEqual(got, want, id);
      assert.equal(pane.counts.nodes, new Set(pane.affected.map((a) => a.node)).size);
      assert.ok(pane.references.length > 0, `${id}: references from the advisory`);
    }
    const kernel = await s.cvePane(kernelCve);
    const n0 = kernel.affected.find((a) => a.node === 'n0' && a.kernelRelease !== null)!;
    assert.equal(n0.kernelRelease, '5.15.0-1041-azure');
    assert.equal(n0.runsVulnerableKernel, true, 'the cluster reports n0 running the vulnerable kernel');
    assert.equal(kernel.affected.find((a) => a.node === 'n1' && a.kernelRelease !== null)!.runsVulnerableKernel, null, 'n1 reports no kernel');
    assert.ok(kernel.affected.filter((a) => a.kernelRelease === null).every((a) => a.runsVulnerableKernel === null), 'kernel-source packages of no installed kernel');
  });

  test('remediation: fixes N of M equals the target image\'s package list matched directly; drift names the hot-patched packages', async (t) => {
    if (skipped) return t.skip(skipped);
    const s = service();
    const catalog = loadCatalog();
    const list = await s.remediation();
    const by = new Map(list.map((r) => [`${r.cluster}/${r.nodePool}`, r]));
    assert.equal(by.get('c2/web')!.targetImage, '202508.20.0', 'the upgrade profile\'s newest');
    assert.equal(by.get('c2/web')!.targetFrom, 'upgrade-profile');
    assert.equal(by.get('c1/np1')!.targetImage, catalog.latest(UBUNTU)!.version);
    assert.match(by.get('c1/np2')!.note ?? '', /no node of the pool was assessed/);
    for (const key of ['c1/np1', 'c2/web', 'c2/sys', 'c2/eph']) {
      const r = by.get(key)!;
      const [cluster, pool] = key.split('/') as [string, string];
      const now = new Set((await countedFindings({ cluster, pool })).map((f) => f.finding.vulnerabilityId));
      const target = new Set(matchInventory(catalogInventory(catalog.get(UBUNTU, r.targetImage!)!), db).findings.map((f) => f.vulnerabilityId));
      const fixed = [...now].filter((v) => !target.has(v)).sort();
      const remaining = [...now].filter((v) => target.has(v)).sort();
      const introduced = [...target].filter((v) => !now.has(v)).sort();
      assert.deepEqual(r.fixed.map((x) => x.vulnerabilityId).sort(), fixed, `${key}: fixed`);
      assert.deepEqual(r.remaining.map((x) => x.vulnerabilityId).sort(), remaining, `${key}: remaining`);
      assert.deepEqual(r.introduced.map((x) => x.vulnerabilityId).sort(), introduced, `${key}: introduced`);
    }
    assert.ok(by.get('c1/np1')!.fixed.length > 100, 'three years of image updates fix many');
    // A requested older target.
    const to = await s.remediation({ cluster: 'c1', pool: 'np1', to: '202408.05.0' });
    assert.equal(to[0]!.targetImage, '202408.05.0');
    // Drift: only n2, and exactly the hot patch.
    const drift = by.get('c1/np1')!.drift;
    assert.deepEqual(drift.map((d) => d.node), ['n2']);
    assert.deepEqual(drift[0]!.added.map((p) => p.name), [HOTPATCH.installed.name]);
    const image = new Map(catalog.get(UBUNTU, '202309.06.0')!.packages.map((p) => [p.name, p]));
    const opensslBinaries = [...image.values()].filter((p) => p.source.name === HOTPATCH.upgradedSource).map((p) => p.name).sort();
    assert.deepEqual(drift[0]!.changed.map((p) => p.name), opensslBinaries);
    assert.deepEqual(drift[0]!.removed, []);
    assert.deepEqual(by.get('c2/eph')!.drift, [], 'assessed from the catalogue: no drift by construction');

    // The candidate-image gate for the same pool and version agrees with remediation.
    const gate = await s.checkCatalogImage(r0Target(by), { cluster: 'c1', pool: 'np1' });
    assert.deepEqual(gate.pools[0]!.fixed.map((x) => x.vulnerabilityId), by.get('c1/np1')!.fixed.map((x) => x.vulnerabilityId));
    assert.deepEqual(gate.pools[0]!.introduced.map((x) => x.vulnerabilityId), by.get('c1/np1')!.introduced.map((x) => x.vulnerabilityId));
  });

  test('exemptions hide findings from the status, keep them visible as exempt, and expiry brings them back', async (t) => {
    if (skipped) return t.skip(skipped);
    const t0 = new Date();
    const s = service(t0);
    const expiry = new Date(t0.getTime() + DAY_MS).toISOString();
    // Everything on c2/sys, and everything else in c2 by CVE pattern: c2 becomes healthy with data.
    const e1 = await s.addExemption({ account: 'sub-a', cluster: 'c2', vulnerability: 'CVE-*', reason: 'risk-accepted', owner: 'platform', expires: expiry, by: 'test' });
    const e2 = await s.addExemption({ account: 'sub-a', cluster: 'c2', vulnerability: '*', reason: 'mitigated', owner: 'platform', expires: expiry, by: 'test' });
    const c2 = (await s.recommendations({ cluster: 'c2' }))[0]!;
    assert.equal(c2.status, 'healthy');
    assert.equal(c2.exempt, new Set((await countedFindings({ cluster: 'c2' })).map((f) => f.finding.vulnerabilityId)).size);
    assert.deepEqual(Object.values(c2.counts).reduce((a, b) => a + b, 0), 0);
    const page = await s.findings({ cluster: 'c2', pageSize: 5 });
    assert.ok(page.items.every((i) => i.status === 'exempt' && i.exemptFindings === i.findings), 'still listed, as exempt');
    assert.equal((await s.recommendations({ cluster: 'c1' }))[0]!.status, 'unhealthy', 'c1 untouched');
    // A package exemption scoped to one node: only that node's rows.
    const e3 = await s.addExemption({ account: 'sub-a', cluster: 'c1', pool: 'np1', node: 'n2', package: 'GDB', reason: 'false-positive', owner: 'sec', by: 'test' });
    const gdbCve = (await countedFindings({ cluster: 'c1' })).find((f) => f.finding.package.name === 'gdb')!.finding.vulnerabilityId;
    const pane = await s.cvePane(gdbCve);
    assert.ok(pane.affected.filter((a) => a.package === 'gdb').every((a) => a.exempt), 'package patterns ignore case');
    assert.ok(pane.affected.filter((a) => a.package !== 'gdb').every((a) => !a.exempt));

    // A day later the c2 exemptions have expired: the findings count again.
    const later = service(new Date(t0.getTime() + 2 * DAY_MS));
    const back = (await later.recommendations({ cluster: 'c2' }))[0]!;
    assert.equal(back.status, 'unhealthy');
    assert.deepEqual(back.counts, distinctBySeverity(await countedFindings({ cluster: 'c2' })));
    const listed = await later.listExemptions({ all: true });
    assert.deepEqual(listed.filter((e) => e.id === e1.id || e.id === e2.id).map((e) => e.status), ['expired', 'expired']);
    await s.removeExemption(e3.id.slice(0, 8), 'test');
    assert.equal((await s.listExemptions({ all: true })).find((e) => e.id === e3.id)!.status, 'removed');
    assert.ok((await s.cvePane(gdbCve)).affected.every((a) => !a.exempt));
  });

  test('alerts: dismiss with a reason, resolve, reactivate, history; suppression rules dismiss alerts that appear after them', async (t) => {
    if (skipped) return t.skip(skipped);
    // A rule made "before" the scan (the service's clock at the epoch) covers the alerts found since.
    const early = service(new Date('2020-01-01T00:00:00.000Z'));
    const { rule } = await early.addSuppression({ account: 'sub-a', cluster: 'c2', pool: 'web', path: '/VAR/tmp/.cache/config.*', reason: 'lab miner config', by: 'test' });
    const s = service();
    const list = await s.alerts();
    const config = list.find((a) => a.alert.path === MALWARE_SAMPLES.minerConfig.path)!;
    assert.equal(config.status, 'dismissed');
    assert.match(config.statusReason ?? '', /suppressed by rule/);
    const eicar = list.find((a) => a.alert.path === MALWARE_SAMPLES.eicar.path && a.status === 'active')!;
    assert.ok(eicar, 'the EICAR file is not covered by the rule');
    await assert.rejects(s.dismissAlert(eicar.id.slice(0, 8), '', 'alice'), /needs a reason/);
    await s.dismissAlert(eicar.id.slice(0, 8), 'test file of the red team', 'alice');
    await s.reactivateAlert(eicar.id, 'bob');
    await s.resolveAlert(eicar.id, 'node reimaged', 'bob');
    await assert.rejects(s.dismissAlert(eicar.id, 'x', 'alice'), /is resolved, not active/);
    const h = await s.alertHistory(eicar.id);
    assert.deepEqual(h.map((x) => [x.status, x.by]), [['dismissed', 'alice'], ['active', 'bob'], ['resolved', 'bob']]);
    assert.ok(!(await s.alerts()).some((a) => a.id === eicar.id), 'resolved alerts are listed only with all statuses');
    assert.equal((await s.alerts({ statuses: ['resolved'] })).find((a) => a.id === eicar.id)?.resolvedAt !== undefined, true);
    await s.removeSuppression(rule.id, 'test');
    assert.equal((await s.listSuppressions()).length, 0);
  });

  test('history: open findings per day and severity end today at the open counts', async (t) => {
    if (skipped) return t.skip(skipped);
    const h = await service().history({ cluster: 'c1', days: 7 });
    assert.equal(h.length, 1);
    assert.equal(h[0]!.days.length, 7);
    const today = h[0]!.days.at(-1)!.open;
    const all = await cp!.store.listFindings({ account: 'sub-a', cluster: 'c1' });
    assert.equal(Object.values(today).reduce((a, b) => a + b, 0), all.length);
    assert.equal(Object.values(h[0]!.days[0]!.open).reduce((a, b) => a + b, 0), 0, 'nothing open a week before the first scan');
  });
});

function r0Target(by: Map<string, { targetImage: string | null }>): string {
  return by.get('c1/np1')!.targetImage!;
}
