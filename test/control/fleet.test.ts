/**
 * The control plane end to end on real node disks (AKS Ubuntu 22.04 package lists from the
 * node-image catalogue, built into GPT/ext4 disks by the real tools: test/fixtures/aks-node.ts)
 * through the local provider: discovery from an environment file, snapshots (hard links under
 * the data directory), the engine, publication into a real SQLite store, the lease ledger.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, openSync, ftruncateSync, closeSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { catalogInventory, loadCatalog } from '../../src/catalog/index.ts';
import { ControlPlane } from '../../src/control/control-plane.ts';
import { matchInventory } from '../../src/match/run.ts';
import { scanTarget } from '../../src/scan/scan.ts';
import type { FleetStore } from '../../src/store/index.ts';
import { importFeeds, openVulnDb } from '../../src/vulndb/store.ts';
import { aksNodeImage } from '../fixtures/aks-node.ts';
import { fixtureOrSkip } from '../fixtures/node-image.ts';

const REPO = join(import.meta.dirname, '..', '..');
const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const FEEDS = ['data/vulndb/ubuntu-22.04.osv.aks-slice.jsonl.gz', 'data/vulndb/known_exploited_vulnerabilities.json.gz'].map((f) => join(REPO, f));

interface Images {
  a: string; // 202309.06.0, qcow2
  aVhdx: string; // the same image in another container
  hot: string; // 202309.06.0 hot-patched (drifted)
  b: string; // 202608.20.0, fixed VHD
  infected: string; // 202408.05.0 with planted malware
}

let images: Images | undefined;
let work: string;
let dbPath: string;

function env(path: string, accounts: unknown): void {
  writeFileSync(path, JSON.stringify({ accounts }, null, 2)); // JSON is YAML
}

function key(f: { vulnerabilityId: string; package: { name: string; version: string } }): string {
  return `${f.vulnerabilityId}|${f.package.name}|${f.package.version}`;
}

async function directKeys(disk: string): Promise<Set<string>> {
  const r = await scanTarget(disk, { dbPath });
  return new Set(r.findings.map(key));
}

async function storeKeys(store: FleetStore, node: string, all = false): Promise<Set<string>> {
  return new Set((await store.listFindings({ node, all })).filter((f) => all || f.resolvedAt === undefined).map((f) => key(f.finding)));
}

function leftovers(data: string): string[] {
  const dir = join(data, 'snapshots');
  return existsSync(dir) ? readdirSync(dir) : [];
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hullscan-fleet-'));
  dbPath = join(work, 'vuln.db');
  await importFeeds(dbPath, FEEDS);
});

after(() => rmSync(work, { recursive: true, force: true }));

async function needImages(t: { skip(m?: string): void }): Promise<Images | undefined> {
  if (images) return images;
  const built = await fixtureOrSkip(
    t,
    Promise.all([
      aksNodeImage(UBUNTU, '202309.06.0', 'qcow2'),
      aksNodeImage(UBUNTU, '202309.06.0', 'vhdx'),
      aksNodeImage(UBUNTU, '202309.06.0', 'vhdx', { drift: 'hotpatch' }),
      aksNodeImage(UBUNTU, '202608.20.0', 'vhd-fixed'),
      aksNodeImage(UBUNTU, '202408.05.0', 'vhdx', { malware: true }),
    ]),
  );
  if (!built) return undefined;
  const [a, aVhdx, hot, b, infected] = built;
  images = { a, aVhdx, hot, b, infected };
  return images;
}

function fleetEnv(img: Images, n0Disk: string): unknown[] {
  return [
    {
      id: 'sub-a',
      provider: 'local',
      name: 'Team A',
      settings: { agentlessScanning: true, malware: true, exclusionTags: { 'hullscan-exclude': 'true' } },
      clusters: [
        {
          name: 'c1',
          pools: [
            { name: 'p1', nodeImage: `${UBUNTU}-202309.06.0`, nodes: [{ name: 'n0', disk: n0Disk }, { name: 'n1', disk: img.aVhdx }, { name: 'n2', disk: img.hot }] },
            // Excluded: its disk does not even exist, so reading it would fail the node scan.
            { name: 'p2', tags: { 'hullscan-exclude': 'true' }, nodes: [{ name: 'x0', disk: join(work, 'no-such-disk.qcow2') }] },
          ],
        },
        {
          name: 'c2',
          pools: [
            { name: 'p3', nodeImage: `${UBUNTU}-202608.20.0`, nodes: [{ name: 'b0', disk: img.b }, { name: 'm0', disk: img.infected }] },
            { name: 'eph', nodeImage: `${UBUNTU}-202508.20.0`, nodes: [{ name: 'e0', ephemeralOsDisk: true }] },
          ],
        },
      ],
    },
    { id: 'sub-off', provider: 'local', settings: { agentlessScanning: false }, clusters: [{ name: 'c9', pools: [{ name: 'q', nodes: [{ name: 'z0', disk: img.b }] }] }] },
  ];
}

describe('control plane on real node disks (local provider)', () => {
  const data = () => join(work, 'data');
  const config = () => join(work, 'env.yaml');

  test('a full cycle: findings per node equal a direct scan of the same disk; excluded never read; shared images inventoried once; nothing left behind', async (t) => {
    const img = await needImages(t);
    if (!img) return;
    env(config(), fleetEnv(img, img.a));
    const cp = await ControlPlane.open({ dataDir: data(), config: config(), dbPath, concurrency: 2 });
    try {
      const { runs, off } = await cp.runOnce();
      assert.deepEqual(off, ['sub-off']);
      assert.equal(runs.length, 1);
      const run = runs[0]!;
      assert.equal(run.state, 'completed');
      assert.deepEqual(run.counts, { total: 7, published: 6, failed: 0, skipped: 1 });

      const nodes = new Map((await cp.store.listNodes({ includeGone: true })).map((n) => [n.ref.node, n]));
      const x0 = nodes.get('x0')!;
      assert.equal(x0.lastScan?.state, 'skipped');
      assert.equal(x0.lastScan?.reason, 'excluded');
      assert.match(x0.lastScan?.reasonDetail ?? '', /node pool p2 is tagged hullscan-exclude: true/);
      assert.equal(await cp.store.count('snapshot_leases', 'node_id = ?', [x0.node.id]), 0, 'no snapshot was even attempted for the excluded node');
      assert.equal(nodes.get('z0')?.lastScan, undefined, 'scanning off: discovered, never scanned');

      for (const [name, disk] of [['n0', img.a], ['n1', img.aVhdx], ['n2', img.hot], ['b0', img.b], ['m0', img.infected]] as const) {
        const expected = await directKeys(disk);
        assert.ok(expected.size > 100, `${name}: the direct scan finds the image's CVEs`);
        assert.deepEqual(await storeKeys(cp.store, name), expected, `${name}: store findings = direct scan`);
        assert.equal(nodes.get(name)?.lastScan?.findings, expected.size);
      }
      // n0 and n1 are one image in two containers: read once, reused once; n2 drifted and got its own.
      const sources = ['n0', 'n1'].map((n) => nodes.get(n)!.lastScan!.inventorySource).sort();
      assert.deepEqual(sources, ['disk', 'reused']);
      assert.equal(nodes.get('n0')!.node.currentInventoryId, nodes.get('n1')!.node.currentInventoryId);
      assert.notEqual(nodes.get('n2')!.node.currentInventoryId, nodes.get('n0')!.node.currentInventoryId);
      assert.equal(nodes.get('n2')!.lastScan!.inventorySource, 'disk');

      // The ephemeral node: assessed from the catalogue, said so.
      const e0 = nodes.get('e0')!.lastScan!;
      assert.equal(e0.state, 'published');
      assert.equal(e0.reason, 'ephemeral-disk');
      assert.equal(e0.inventorySource, 'catalog');
      assert.equal(e0.bytesRead, 0);
      const image = loadCatalog().get(UBUNTU, '202508.20.0')!;
      const db = openVulnDb(dbPath);
      try {
        assert.deepEqual(await storeKeys(cp.store, 'e0'), new Set(matchInventory(catalogInventory(image), db).findings.map(key)));
      } finally {
        db.close();
      }

      // Malware: only the infected node has alerts, with the node they came from.
      const alerts = await cp.store.listAlerts();
      assert.ok(alerts.length >= 2);
      assert.ok(alerts.every((a) => a.ref.node === 'm0' && a.status === 'active'));
      assert.ok(alerts.some((a) => a.alert.path === '/var/tmp/.cache/kworker'));

      assert.deepEqual(await cp.store.openLeases(), []);
      assert.deepEqual(leftovers(data()), [], 'every snapshot deleted');
      assert.equal(await cp.store.count('snapshot_leases', "state = 'deleted'"), 5);
    } finally {
      await cp.close();
    }
  });

  test('a second run with no change adds no rows and resolves none; a changed disk resolves and adds exactly the difference', async (t) => {
    const img = await needImages(t);
    if (!img) return;
    env(config(), fleetEnv(img, img.a));
    const cp = await ControlPlane.open({ dataDir: data(), config: config(), dbPath });
    try {
      const before = await cp.store.count('findings');
      const beforeAlerts = await cp.store.count('alerts');
      const { runs } = await cp.runOnce();
      assert.equal(runs.at(-1)?.state, 'completed');
      assert.equal(await cp.store.count('findings'), before, 'no new rows');
      assert.equal(await cp.store.count('findings', 'resolved_at IS NOT NULL'), 0, 'nothing resolved');
      assert.equal(await cp.store.count('alerts'), beforeAlerts);
      assert.equal(await cp.store.count('inventories'), 5, 'the inventories of run 1 reused by fingerprint (4 disk images + 1 catalogue image)');

      const a = await storeKeys(cp.store, 'n0');
      const h = await directKeys(img.hot);
      // n0 is hot-patched now (its disk changes).
      env(config(), fleetEnv(img, img.hot));
      const { runs: runs3 } = await cp.runOnce();
      assert.equal(runs3.at(-1)?.state, 'completed');
      const open = await storeKeys(cp.store, 'n0');
      assert.deepEqual(open, h);
      const resolved = new Set((await cp.store.listFindings({ node: 'n0', all: true })).filter((f) => f.resolvedAt !== undefined).map((f) => f.finding));
      // Keyed by (CVE, package): a package that moved to another still-vulnerable version is the same row, not resolved.
      const byName = (s: Set<string>) => new Set([...s].map((k) => k.split('|').slice(0, 2).join('|')));
      const expectResolved = [...byName(a)].filter((k) => !byName(h).has(k)).sort();
      assert.deepEqual([...resolved].map((f) => `${f.vulnerabilityId}|${f.package.name}`).sort(), expectResolved);
      assert.ok(expectResolved.length > 0, 'the hot patch fixes something');
      const added = [...byName(h)].filter((k) => !byName(a).has(k));
      assert.ok(added.length > 0, 'the installed gdb brings new findings');
      const scans = await cp.store.listNodeScans({ node: (await cp.store.listNodes()).find((n) => n.ref.node === 'n0')!.node.id });
      assert.equal(scans.at(-1)?.state, 'published');
    } finally {
      await cp.close();
    }
  });

  test('a vulnerability-data update re-matches stored inventories without reading a disk', async (t) => {
    const img = await needImages(t);
    if (!img) return;
    env(config(), fleetEnv(img, img.hot));
    // New data: the same feed without KEV. Findings stay (same CVEs); nothing is read from a disk.
    const db2 = join(work, 'vuln2.db');
    await importFeeds(db2, FEEDS.slice(0, 1));
    const cp = await ControlPlane.open({ dataDir: data(), config: config(), dbPath: db2 });
    try {
      await cp.applyConfig();
      const before = await cp.store.count('findings', 'resolved_at IS NULL');
      const runs = await cp.rematch();
      assert.equal(runs.length, 1);
      assert.equal(runs[0]!.trigger, 'data-update');
      assert.equal(runs[0]!.state, 'completed');
      const scans = await cp.store.listNodeScans({ run: runs[0]!.id });
      assert.equal(scans.length, 6, 'every node with a current inventory');
      assert.ok(scans.every((s) => s.bytesRead === 0 && s.inventorySource === 'reused' && s.state === 'published'));
      assert.equal(await cp.store.count('findings', 'resolved_at IS NULL'), before);
      assert.equal((await cp.store.listFindings()).filter((f) => f.finding.kev !== undefined).length, 0, 'the new data has no KEV');
      assert.deepEqual(leftovers(data()), []);
    } finally {
      await cp.close();
    }
  });

  test('bad input: a missing file, random bytes, a truncated image, a directory with no OS, a snapshot that vanishes mid-read each fail with their reason; the run goes on', async (t) => {
    const img = await needImages(t);
    if (!img) return;
    // A disk served over HTTP range reads (as a cloud snapshot's read URL is) that disappears
    // after its first reads: the server answers 404 from then on.
    const bytes = readFileSync(img.b);
    let served = 0;
    const server: Server = createServer((req, res) => {
      served++;
      if (served > 6) {
        res.writeHead(404).end();
        return;
      }
      const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
      const start = m ? Number(m[1]) : 0;
      const end = m ? Math.min(Number(m[2]), bytes.length - 1) : bytes.length - 1;
      res.writeHead(m ? 206 : 200, { 'accept-ranges': 'bytes', 'content-length': String(end - start + 1), ...(m && { 'content-range': `bytes ${start}-${end}/${bytes.length}` }), etag: '"v1"' });
      res.end(req.method === 'HEAD' ? undefined : bytes.subarray(start, end + 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as { port: number }).port;
    const dir = join(work, 'bad');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'random.img'), Buffer.alloc(4 * 1024 * 1024, 0x5a));
    copyFileSync(img.a, join(dir, 'truncated.qcow2'));
    const fd = openSync(join(dir, 'truncated.qcow2'), 'r+');
    ftruncateSync(fd, Math.floor(statSync(img.a).size / 3));
    closeSync(fd);
    mkdirSync(join(dir, 'empty-root', 'etc'), { recursive: true });
    const badEnv = join(dir, 'env.yaml');
    env(badEnv, [
      {
        id: 'sub-bad',
        provider: 'local',
        settings: { agentlessScanning: true },
        clusters: [{ name: 'c', pools: [{ name: 'p', nodes: [
          { name: 'missing', disk: 'nope.vhd' },
          { name: 'random', disk: 'random.img' },
          { name: 'truncated', disk: 'truncated.qcow2' },
          { name: 'noos', disk: 'empty-root' },
          { name: 'vanishing', disk: `http://127.0.0.1:${port}/snapshot/disk.vhd` },
          { name: 'good', disk: img.b },
        ] }] }],
      },
    ]);
    const badData = join(dir, 'data');
    const cp = await ControlPlane.open({ dataDir: badData, config: badEnv, dbPath, allowPrivateUrls: true });
    try {
      const { runs } = await cp.runOnce();
      assert.equal(runs[0]!.state, 'completed');
      const by = new Map((await cp.store.listNodes()).map((n) => [n.ref.node, n.lastScan!]));
      assert.deepEqual(Object.fromEntries([...by].map(([k, s]) => [k, `${s.state}:${s.reason ?? ''}`])), {
        missing: 'failed:disk-not-found',
        random: 'failed:unreadable-disk',
        truncated: 'failed:unreadable-disk',
        noos: 'failed:unsupported-os',
        vanishing: 'failed:snapshot-lost',
        good: 'published:',
      });
      for (const [name, s] of by) if (s.state === 'failed') assert.ok((s.reasonDetail ?? '').length > 10, `${name}: the reason is explained`);
      assert.deepEqual(await cp.store.openLeases(), []);
      assert.deepEqual(leftovers(badData), []);
    } finally {
      await cp.close();
    }
  });

  test('kill -9 in the middle of a run, restart: nothing half-published, no lease left, the run completes', async (t) => {
    const img = await needImages(t);
    if (!img) return;
    const dir = join(work, 'crash');
    mkdirSync(dir, { recursive: true });
    const crashEnv = join(dir, 'env.yaml');
    // Six nodes, one at a time, on distinct files so that none reuses another's inventory quickly.
    const disks = [img.a, img.hot, img.b, img.infected, img.aVhdx, img.b];
    env(crashEnv, [{ id: 'sub-c', provider: 'local', settings: { agentlessScanning: true, malware: true }, clusters: [{ name: 'c', pools: [{ name: 'p', nodes: disks.map((d, i) => ({ name: `k${i}`, disk: d })) }] }] }]);
    const crashData = join(dir, 'data');
    const child = spawn(process.execPath, [join(REPO, 'bin', 'hullscan.js'), 'run', '--once', '--data', crashData, '--config', crashEnv, '--db', dbPath, '--concurrency', '1'], { stdio: 'ignore' });
    // Kill it once it holds a snapshot, after at least one node was published.
    const deadline = Date.now() + 120_000;
    let killed = false;
    while (Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 50));
      if (!existsSync(join(crashData, 'hullscan.db'))) continue;
      const probe = await ControlPlane.open({ dataDir: crashData, dbPath });
      try {
        const published = await probe.store.count('node_scans', "state = 'published'");
        const active = await probe.store.count('node_scans', "state IN ('snapshot', 'read', 'match')");
        if (published >= 1 && active >= 1 && leftovers(crashData).length > 0) {
          child.kill('SIGKILL');
          killed = true;
          break;
        }
      } finally {
        await probe.close();
      }
    }
    await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
    assert.ok(killed, 'the run was killed mid-scan (a node published, another in progress)');
    assert.ok(leftovers(crashData).length > 0, 'the crash left a snapshot behind');

    const cp = await ControlPlane.open({ dataDir: crashData, config: crashEnv, dbPath });
    try {
      const first = (await cp.store.listRuns())[0]!;
      assert.equal(first.state, 'running');
      const { runs } = await cp.runOnce();
      const again = await cp.store.getRun(first.id);
      assert.equal(again?.state, 'completed', 'the interrupted run completes');
      assert.deepEqual(again?.counts, { total: 6, published: 6, failed: 0, skipped: 0 });
      assert.ok(runs.every((r) => r.state === 'completed'));
      assert.equal(await cp.store.count('node_scans', "state IN ('queued', 'snapshot', 'read', 'match')"), 0);
      assert.deepEqual(await cp.store.openLeases(), []);
      assert.deepEqual(leftovers(crashData), [], 'the sweeper deleted the dead run\'s snapshot');
      // Nothing half-published: every node's open findings are exactly what its last scan published.
      for (const n of await cp.store.listNodes()) {
        assert.equal(n.lastScan?.state, 'published');
        assert.equal(await cp.store.count('findings', 'node_id = ? AND resolved_at IS NULL', [n.node.id]), n.lastScan?.findings, n.ref.node);
      }
      assert.deepEqual(await storeKeys(cp.store, 'k1'), await directKeys(img.hot));
    } finally {
      await cp.close();
    }
  });
});
