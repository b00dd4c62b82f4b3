/**
 * REST API benchmark (issue #14), run as its own process by bench/run.ts: the Findings list
 * endpoint (GET /api/v1/findings, a page of 50) at 1,000 nodes × 1,000 open findings each
 * (1,000,000 rows; the fleet of bench/security.ts: 20 pools × 50 nodes on 20 AKS Ubuntu 22.04
 * catalogue images, published through FleetStore.publishNodeScan) in the embedded SQLite store,
 * over HTTP on loopback with autocannon at concurrency 16: p50 / p99 latency and requests/s.
 *  - the floor, measured in the same run on the same server: a static JSON answer of the same
 *    size behind the same middleware (request id, log line, bearer-token authentication);
 *  - measured: the first page (tenant owner token), the first page as an account-scoped reader,
 *    a filtered page (high severity), page 10 (cursor).
 * The rate limit is off for the measurement (it would cap one token at 50 requests/s).
 * Prints a markdown section on stdout, progress on stderr. Not a test.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRoute } from '@hono/zod-openapi';
import autocannon from 'autocannon';
import pino from 'pino';
import { createApi, hashSecret, listen } from '../src/api/index.ts';
import { defineRoute } from '../src/api/route.ts';
import { catalogInventory, loadCatalog } from '../src/catalog/index.ts';
import type { Finding } from '../src/match/index.ts';
import { matchInventory } from '../src/match/run.ts';
import { SecurityService } from '../src/service/index.ts';
import { AuthStore, openStore, type FleetStore } from '../src/store/index.ts';
import type { DiscoveredCluster } from '../src/store/fleet-store.ts';
import { importFeeds, openVulnDb } from '../src/vulndb/store.ts';

const REPO = join(import.meta.dirname, '..');
const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const FEEDS = ['data/vulndb/ubuntu-22.04.osv.aks-slice.jsonl.gz', 'data/vulndb/known_exploited_vulnerabilities.json.gz', 'data/vulndb/epss-2026-08-16.ubuntu-22.04-aks-slice.csv.gz'].map((f) => join(REPO, f));
const POOLS = 20;
const NODES_PER_POOL = 50;
const FINDINGS_PER_NODE = 1000;
const CLUSTERS = 4;
const CONNECTIONS = 16;
const SECONDS = 10;

function log(msg: string): void {
  process.stderr.write(`[api] ${msg}\n`);
}

async function publish(store: FleetStore, nodeId: string, findings: Finding[], at: string): Promise<void> {
  const s = await store.claimNodeScan('bench', at, { nodes: [nodeId] });
  if (!s) throw new Error(`no scan to claim for ${nodeId}`);
  await store.publishNodeScan({ nodeScanId: s.id, worker: 'bench', state: 'published', findings, bytesRead: 0, durationMs: 1, at });
}

interface Load {
  p50: number;
  p99: number;
  rps: number;
  errors: number;
}

async function load(url: string, token: string): Promise<Load> {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, headers: { authorization: `Bearer ${token}` } });
  return { p50: r.latency.p50, p99: r.latency.p99, rps: r.requests.average, errors: r.non2xx + r.errors + r.timeouts };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'hullscan-bench-api-'));
  const keep = process.env['HULLSCAN_BENCH_STORE'];
  try {
    const dbPath = join(work, 'vuln.db');
    log('importing the bundled vulnerability data');
    await importFeeds(dbPath, FEEDS);
    const db = openVulnDb(dbPath);
    const catalog = loadCatalog();
    const versions = catalog.versions(UBUNTU).slice(-POOLS);
    const perPool = versions.map((v) => matchInventory(catalogInventory(catalog.get(UBUNTU, v)!), db).findings.sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, FINDINGS_PER_NODE));
    const storePath = join(keep ?? work, 'hullscan-api.db');
    const reuse = keep !== undefined && existsSync(storePath);
    const store = await openStore(storePath);
    const T0 = new Date().toISOString();
    if (!reuse) {
      await store.upsertAccount({ id: 'sub-bench', provider: 'local', settings: { agentlessScanning: true } }, T0);
      await store.upsertAccount({ id: 'sub-empty', provider: 'local', settings: { agentlessScanning: true } }, T0);
      const clusters: DiscoveredCluster[] = Array.from({ length: CLUSTERS }, (_, c) => ({
        name: `c${c}`,
        pools: versions.map((v, p) => ({ p, v })).filter(({ p }) => p % CLUSTERS === c).map(({ p, v }) => ({ name: `p${p}`, imageFamily: UBUNTU, imageVersion: v, nodes: Array.from({ length: NODES_PER_POOL }, (_, n) => ({ name: `p${p}-n${n}` })) })),
      }));
      await store.syncDiscovery('sub-bench', clusters, T0);
      const nodes = await store.listNodes();
      const run = await store.createRun({ account: 'sub-bench', trigger: 'on-demand', requestedBy: 'bench', at: T0 });
      await store.startRun(run.id, nodes.map((n) => ({ nodeId: n.node.id, state: 'queued' as const })), T0);
      log(`publishing ${nodes.length} nodes × ${FINDINGS_PER_NODE} findings`);
      for (const [i, n] of nodes.entries()) {
        await publish(store, n.node.id, perPool[Number(n.ref.nodePool.slice(1))]!, T0);
        if ((i + 1) % 200 === 0) log(`  ${i + 1} nodes published`);
      }
    }
    const nodes = (await store.listNodes()).length;
    const rows = await store.count('findings', 'resolved_at IS NULL');
    const auth = new AuthStore(store.driver);
    const owner = 'hs_bench-owner-token-0000000000000000000000000';
    const reader = 'hs_bench-reader-token-000000000000000000000000';
    if (!reuse) {
      await auth.createToken({ name: 'bench-owner', role: 'owner', tokenHash: hashSecret(owner), createdBy: 'bench', at: T0 });
      await auth.createToken({ name: 'bench-reader', role: 'reader', accounts: ['sub-bench'], tokenHash: hashSecret(reader), createdBy: 'bench', at: T0 });
    }
    const service = new SecurityService({ store, vulnDb: () => db });
    const page = await service.findings({ pageSize: 50 });
    const staticBody = JSON.stringify({ items: page.items, next: null, total: page.total });
    const floor = defineRoute(
      createRoute({ method: 'get', path: '/api/v1/bench-static', security: [], responses: { 200: { description: 'static' } } }),
      { kind: 'authenticated', role: 'reader' },
      async () => new Response(staticBody, { status: 200, headers: { 'content-type': 'application/json' } }),
    );
    const api = createApi({
      store, auth, service,
      scans: { start: () => Promise.reject(new Error('not in the benchmark')) },
      vulnDbStatus: () => db.status(),
      ready: () => true,
      log: pino({ level: 'info' }, { write: () => undefined }),
      rateLimit: false,
      extraRoutes: [floor],
    });
    const server = await listen(api, { host: '127.0.0.1', port: 0 });
    try {
      const warm = await fetch(`${server.url}/api/v1/findings?limit=50`, { headers: { authorization: `Bearer ${owner}` } });
      const body = (await warm.json()) as { total: number; next: string };
      if (warm.status !== 200) throw new Error(`findings answered ${warm.status}`);
      const page10 = `limit=50&cursor=${Buffer.from(JSON.stringify({ k: 450 })).toString('base64url')}`;
      log(`measuring: ${CONNECTIONS} connections × ${SECONDS} s each`);
      const results: [string, Load][] = [
        ['static JSON (floor, same size, same middleware)', await load(`${server.url}/api/v1/bench-static`, owner)],
        ['Findings list, first page (tenant owner)', await load(`${server.url}/api/v1/findings?limit=50`, owner)],
        ['Findings list, first page (account-scoped reader)', await load(`${server.url}/api/v1/findings?limit=50`, reader)],
        ['Findings list, high severity', await load(`${server.url}/api/v1/findings?limit=50&severity=high`, owner)],
        ['Findings list, page 10 (cursor)', await load(`${server.url}/api/v1/findings?${page10}`, owner)],
      ];
      const floorRps = results[0]![1].rps;
      const out: string[] = [
        '## REST API: the Findings list over HTTP (bench/api.ts, issue #14)',
        '',
        `${nodes.toLocaleString('en-US')} nodes, ${rows.toLocaleString('en-US')} open findings (${body.total} vulnerabilities), SQLite; GET /api/v1/findings?limit=50 on loopback, autocannon, ${CONNECTIONS} connections × ${SECONDS} s; bearer token, request log line, response validation on; rate limit off. Page size ${staticBody.length.toLocaleString('en-US')} bytes.`,
        '',
        '| request | p50 ms | p99 ms | requests/s | vs floor | errors |',
        '| --- | ---: | ---: | ---: | ---: | ---: |',
        ...results.map(([name, r]) => `| ${name} | ${r.p50} | ${r.p99} | ${Math.round(r.rps).toLocaleString('en-US')} | ${(r.rps / floorRps).toFixed(3)}× | ${r.errors} |`),
        '',
      ];
      process.stdout.write(out.join('\n') + '\n');
    } finally {
      await server.close();
      service.close();
      db.close();
      await store.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
