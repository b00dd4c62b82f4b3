/**
 * Security-views benchmark (issue #13), run as its own process by bench/run.ts: the Findings
 * list and the CVE pane over 1,000 nodes × 1,000 open findings each (1,000,000 rows) in the
 * embedded SQLite store.
 *  - the fleet: 20 pools × 50 nodes, each pool on another AKS Ubuntu 22.04 catalogue image; each
 *    node's findings are the first 1,000 (by id) of its image's real findings (the catalogue
 *    image matched against the bundled vulnerability data), published through the store's own
 *    publication path (FleetStore.publishNodeScan), so rows, indexes and shared details are what
 *    the control plane writes;
 *  - the reference, measured in the same run: the same Findings page computed straight from the
 *    findings rows (one GROUP BY over the million; the query the roll-up replaces);
 *  - measured: the first page after the fleet was published (builds the per-pool roll-up), a
 *    warm page, page 10, filtered pages (a cluster, high severity, KEV, a search), a page after
 *    one node published again (one pool rebuilt), the CVE pane of a vulnerability on every node
 *    and of one on a single pool, the recommendations; median of PASSES after one warm-up;
 *  - goal: ≤ 100 ms per page and per pane.
 * Prints a markdown section on stdout, progress on stderr. Not a test.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogInventory, loadCatalog } from '../src/catalog/index.ts';
import type { Finding } from '../src/match/index.ts';
import { matchInventory } from '../src/match/run.ts';
import { refreshRollup, loadFleet, scopeFor } from '../src/service/context.ts';
import { SecurityService } from '../src/service/index.ts';
import { openStore, type FleetStore } from '../src/store/index.ts';
import type { DiscoveredCluster } from '../src/store/fleet-store.ts';
import { importFeeds, openVulnDb } from '../src/vulndb/store.ts';

const REPO = join(import.meta.dirname, '..');
const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const FEEDS = ['data/vulndb/ubuntu-22.04.osv.aks-slice.jsonl.gz', 'data/vulndb/known_exploited_vulnerabilities.json.gz', 'data/vulndb/epss-2026-08-16.ubuntu-22.04-aks-slice.csv.gz'].map((f) => join(REPO, f));
const POOLS = 20;
const NODES_PER_POOL = 50;
const FINDINGS_PER_NODE = 1000;
const CLUSTERS = 4;
const PASSES = 7;
const PAGE_SIZE = 50;
const GOAL_MS = 100;

function log(msg: string): void {
  process.stderr.write(`[security] ${msg}\n`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

async function measure(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const xs: number[] = [];
  for (let i = 0; i < PASSES; i++) xs.push((await timed(fn)).ms);
  return median(xs);
}

async function publish(store: FleetStore, nodeId: string, findings: Finding[], at: string): Promise<void> {
  const s = await store.claimNodeScan('bench', at, { nodes: [nodeId] });
  if (!s) throw new Error(`no scan to claim for ${nodeId}`);
  await store.publishNodeScan({ nodeScanId: s.id, worker: 'bench', state: 'published', findings, bytesRead: 0, durationMs: 1, at });
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'hullscan-bench-security-'));
  // HULLSCAN_BENCH_STORE=DIR keeps the published fleet there and reuses it on the next run (profiling).
  const keep = process.env['HULLSCAN_BENCH_STORE'];
  try {
    const dbPath = join(work, 'vuln.db');
    log('importing the bundled vulnerability data');
    await importFeeds(dbPath, FEEDS);
    const db = openVulnDb(dbPath);
    const catalog = loadCatalog();
    const versions = catalog.versions(UBUNTU).slice(-POOLS);
    log(`matching ${versions.length} catalogue images`);
    const perPool = versions.map((v) => matchInventory(catalogInventory(catalog.get(UBUNTU, v)!), db).findings.sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, FINDINGS_PER_NODE));
    const storePath = join(keep ?? work, 'hullscan.db');
    const reuse = keep !== undefined && existsSync(storePath);
    const store = await openStore(storePath);
    const T0 = new Date().toISOString();
    if (!reuse) await store.upsertAccount({ id: 'sub-bench', provider: 'local', settings: { agentlessScanning: true } }, T0);
    const clusters: DiscoveredCluster[] = Array.from({ length: CLUSTERS }, (_, c) => ({
      name: `c${c}`,
      pools: versions.map((v, p) => ({ p, v })).filter(({ p }) => p % CLUSTERS === c).map(({ p, v }) => ({
        name: `p${p}`, imageFamily: UBUNTU, imageVersion: v, nodes: Array.from({ length: NODES_PER_POOL }, (_, n) => ({ name: `p${p}-n${n}` })),
      })),
    }));
    if (!reuse) await store.syncDiscovery('sub-bench', clusters, T0);
    const nodes = await store.listNodes();
    if (!reuse) {
      const run = await store.createRun({ account: 'sub-bench', trigger: 'on-demand', requestedBy: 'bench', at: T0 });
      await store.startRun(run.id, nodes.map((n) => ({ nodeId: n.node.id, state: 'queued' as const })), T0);
    }
    log(reuse ? `reusing ${storePath}` : `publishing ${nodes.length} nodes × ${FINDINGS_PER_NODE} findings`);
    const pub = await timed(async () => {
      for (const [i, n] of nodes.entries()) {
        if (reuse) break;
        const pool = Number(n.ref.nodePool.slice(1));
        await publish(store, n.node.id, perPool[pool]!, T0);
        if ((i + 1) % 100 === 0) log(`  ${i + 1} nodes published`);
      }
    });
    const rows = await store.count('findings', 'resolved_at IS NULL');
    const service = new SecurityService({ store, vulnDb: () => db });
    const sec = service.security;

    log('measuring');
    const first = await timed(() => service.findings({ pageSize: PAGE_SIZE }));
    const view = await loadFleet(store, sec, new Date().toISOString());
    const reference = await measure(() => sec.vulnerabilityPage(scopeFor(view), [], { sort: 'severity', limit: PAGE_SIZE, offset: 0 }));
    const warm = await measure(() => service.findings({ pageSize: PAGE_SIZE }));
    const page10 = await measure(() => service.findings({ pageSize: PAGE_SIZE, page: 10 }));
    const cluster = await measure(() => service.findings({ pageSize: PAGE_SIZE, cluster: 'c1' }));
    const high = await measure(() => service.findings({ pageSize: PAGE_SIZE, severities: ['high'] }));
    const kev = await measure(() => service.findings({ pageSize: PAGE_SIZE, kev: true }));
    const search = await measure(() => service.findings({ pageSize: PAGE_SIZE, search: 'openssl' }));
    const refresh = await measure(() => refreshRollup(view, sec));
    // Every node's findings: the CVE shared by all images (the widest pane), and one on one pool only.
    const counts = new Map<string, number>();
    for (const list of perPool) for (const id of new Set(list.map((f) => f.vulnerabilityId))) counts.set(id, (counts.get(id) ?? 0) + 1);
    const wide = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
    const narrow = [...counts].filter(([, n]) => n === 1).sort()[0]![0];
    const widePane = await service.cvePane(wide);
    const paneWide = await measure(() => service.cvePane(wide));
    const paneNarrow = await measure(() => service.cvePane(narrow));
    const narrowPane = await service.cvePane(narrow);
    const recs = await measure(() => service.recommendations());
    // One node publishes again (a changed image): its pool's roll-up is rebuilt on the next page.
    const again = nodes[0]!;
    const run2 = await store.createRun({ account: 'sub-bench', trigger: 'on-demand', requestedBy: 'bench', at: T0 });
    await store.startRun(run2.id, [{ nodeId: again.node.id, state: 'queued' }], T0);
    await publish(store, again.node.id, perPool[1]!, new Date().toISOString());
    const afterPublish = await timed(() => service.findings({ pageSize: PAGE_SIZE }));
    const total = (await service.findings({ pageSize: 1 })).total;
    db.close();
    await store.close();

    const f = (ms: number) => `${ms.toFixed(1)} ms`;
    const ok = (ms: number) => (ms <= GOAL_MS ? 'yes' : '**no**');
    const lines = [
      '## Security views (issue #13): the Findings list and the CVE pane on SQLite',
      '',
      `${nodes.length} nodes (${POOLS} pools on ${POOLS} AKS Ubuntu 22.04 catalogue images, ${CLUSTERS} clusters) × ${FINDINGS_PER_NODE} real findings each: ${rows.toLocaleString('en-US')} open finding rows, ${total.toLocaleString('en-US')} vulnerabilities; published through FleetStore.publishNodeScan${reuse ? ' (an earlier run\'s store)' : ` in ${(pub.ms / 1000).toFixed(0)} s`}. Median of ${PASSES} after a warm-up; page size ${PAGE_SIZE}.`,
      '',
      '| view | time | ≤ 100 ms | × reference |',
      '| --- | ---: | :---: | ---: |',
      `| reference: the page straight from the findings rows (GROUP BY over ${rows.toLocaleString('en-US')}) | ${f(reference)} | ${ok(reference)} | 1.00 |`,
      `| Findings list, page 1 (warm roll-up) | ${f(warm)} | ${ok(warm)} | ${(warm / reference).toFixed(3)} |`,
      `| Findings list, page 10 | ${f(page10)} | ${ok(page10)} | ${(page10 / reference).toFixed(3)} |`,
      `| … one cluster | ${f(cluster)} | ${ok(cluster)} | ${(cluster / reference).toFixed(3)} |`,
      `| … severity high | ${f(high)} | ${ok(high)} | ${(high / reference).toFixed(3)} |`,
      `| … KEV only | ${f(kev)} | ${ok(kev)} | ${(kev / reference).toFixed(3)} |`,
      `| … search "openssl" | ${f(search)} | ${ok(search)} | ${(search / reference).toFixed(3)} |`,
      `| CVE pane, ${wide} (${widePane.counts.findings.toLocaleString('en-US')} findings on ${widePane.counts.nodes} nodes) | ${f(paneWide)} | ${ok(paneWide)} | ${(paneWide / reference).toFixed(3)} |`,
      `| CVE pane, ${narrow} (${narrowPane.counts.findings} findings on ${narrowPane.counts.nodes} nodes) | ${f(paneNarrow)} | ${ok(paneNarrow)} | ${(paneNarrow / reference).toFixed(3)} |`,
      `| recommendations (${CLUSTERS} clusters) | ${f(recs)} | ${ok(recs)} | ${(recs / reference).toFixed(3)} |`,
      `| roll-up check, nothing changed | ${f(refresh)} | ${ok(refresh)} | ${(refresh / reference).toFixed(3)} |`,
      `| first page after publication (builds the roll-up of ${POOLS} pools) | ${f(first.ms)} | ${ok(first.ms)} | ${(first.ms / reference).toFixed(3)} |`,
      `| first page after one node published again (rebuilds its pool) | ${f(afterPublish.ms)} | ${ok(afterPublish.ms)} | ${(afterPublish.ms / reference).toFixed(3)} |`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
