/**
 * Scale-out (issue #16): nodes per hour of the same 200 local nodes (three cached AKS Ubuntu
 * images: 150 + 20 drifted + 30) on a PostgreSQL store, by
 * - the embedded default (`hullscan run --once`: in-process queue, scans in this process), and
 * - BullMQ on Redis with 1, 2 and 4 `serve --role worker` processes (node scans in child
 *   processes) and one `serve --role scheduler`, timed from the run's creation to its end;
 * and the queue's own overhead per job: 200 no-op node-scan jobs through BullMqQueue (claim by
 * id in the store, publish, refresh) against a bare BullMQ job round trip (add → no-op → done),
 * both measured in this run. PostgreSQL and Redis are started like the tests' (test/helpers/).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import pg from 'pg';
import { silentLogger } from '../src/control/log.ts';
import { ownerId } from '../src/control/owner.ts';
import { openQueue } from '../src/jobs/registry.ts';
import { jobsOfRun } from '../src/jobs/index.ts';
import { openStore } from '../src/store/index.ts';
import { importFeeds } from '../src/vulndb/store.ts';
import { aksNodeImage } from '../test/fixtures/aks-node.ts';
import { startPostgres } from '../test/helpers/postgres.ts';
import { startRedis } from '../test/helpers/redis.ts';

const REPO = join(import.meta.dirname, '..');
const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const FEEDS = ['data/vulndb/ubuntu-22.04.osv.aks-slice.jsonl.gz', 'data/vulndb/known_exploited_vulnerabilities.json.gz'].map((f) => join(REPO, f));
const WORKERS = [1, 2, 4];
const NOOP_JOBS = 200;
const log = (m: string) => void process.stderr.write(`[scale] ${m}\n`);

async function newDatabase(base: string): Promise<string> {
  const name = `b_${randomBytes(5).toString('hex')}`;
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

async function runSeconds(storeUrl: string): Promise<{ seconds: number; nodes: number; published: number }> {
  const store = await openStore(storeUrl);
  try {
    for (;;) {
      const [r] = await store.listRuns({ limit: 1 });
      if (r && r.finishedAt !== undefined) return { seconds: (Date.parse(r.finishedAt) - Date.parse(r.createdAt)) / 1000, nodes: r.counts.total, published: r.counts.published };
      await new Promise((res) => setTimeout(res, 500));
    }
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  log('building (or reusing) the node images');
  const [a, hot, b] = await Promise.all([aksNodeImage(UBUNTU, '202309.06.0', 'qcow2'), aksNodeImage(UBUNTU, '202309.06.0', 'vhdx', { drift: 'hotpatch' }), aksNodeImage(UBUNTU, '202608.20.0', 'vhd-fixed')]);
  const work = mkdtempSync(join(tmpdir(), 'hullscan-bench-scale-'));
  const postgres = await startPostgres();
  const redis = await startRedis();
  try {
    const db = join(work, 'vuln.db');
    await importFeeds(db, FEEDS);
    const nodes = (p: string, n: number, disk: string) => Array.from({ length: n }, (_, i) => ({ name: `${p}${i}`, disk }));
    const env = join(work, 'env.yaml');
    writeFileSync(env, JSON.stringify({ accounts: [{ id: 'bench', provider: 'local', settings: { agentlessScanning: true, malware: false }, clusters: [{ name: 'c', pools: [
      { name: 'a', nodeImage: `${UBUNTU}-202309.06.0`, nodes: nodes('a', 150, a) },
      { name: 'hot', nodeImage: `${UBUNTU}-202309.06.0`, nodes: nodes('h', 20, hot) },
      { name: 'b', nodeImage: `${UBUNTU}-202608.20.0`, nodes: nodes('b', 30, b) },
    ] }] }] }));
    const cli = join(REPO, 'bin', 'hullscan.js');
    // The embedded default.
    const embeddedStore = await newDatabase(postgres.url);
    log('embedded default: run --once');
    spawnSync(process.execPath, [cli, 'run', '--once', '--data', join(work, 'd0'), '--store', embeddedStore, '--config', env, '--db', db], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, HULLSCAN_LOG_LEVEL: 'error' } });
    const embedded = await runSeconds(embeddedStore);
    const rows: string[] = [];
    for (const w of WORKERS) {
      log(`BullMQ with ${w} worker process(es)`);
      const storeUrl = await newDatabase(postgres.url);
      const common = ['--data', join(work, `d${w}`), '--store', storeUrl, '--queue', redis.url, '--config', env, '--db', db, '--listen', 'off', '--concurrency', '1'];
      const envs = { ...process.env, HULLSCAN_QUEUE_PREFIX: `bench${w}`, HULLSCAN_LOG_LEVEL: 'error' };
      const procs = [spawn(process.execPath, [cli, 'serve', '--role', 'scheduler', ...common], { stdio: 'ignore', env: envs }), ...Array.from({ length: w }, () => spawn(process.execPath, [cli, 'serve', '--role', 'worker', ...common], { stdio: 'ignore', env: envs }))];
      const r = await runSeconds(storeUrl);
      for (const p of procs) p.kill('SIGTERM');
      rows.push(`| BullMQ, ${w} worker${w > 1 ? 's' : ''} | ${r.nodes} | ${r.published} | ${r.seconds.toFixed(1)} s | ${Math.round((r.nodes / r.seconds) * 3600).toLocaleString('en')} | ${((r.nodes / r.seconds) / (embedded.nodes / embedded.seconds)).toFixed(2)}× |`);
    }
    // Queue overhead per job.
    log('queue overhead: bare BullMQ round trips and no-op node-scan jobs');
    const bare = new Queue('bench-bare', { connection: { url: redis.url, maxRetriesPerRequest: null } });
    let done = 0;
    const bareWorker = new Worker('bench-bare', async () => void done++, { connection: { url: redis.url, maxRetriesPerRequest: null }, concurrency: 1 });
    const t0 = performance.now();
    for (let i = 0; i < NOOP_JOBS; i++) {
      const before = done;
      await bare.add('noop', {}, { removeOnComplete: true });
      while (done === before) await new Promise((res) => setImmediate(res));
    }
    const bareMs = (performance.now() - t0) / NOOP_JOBS;
    await bareWorker.close();
    await bare.close();
    const storeUrl = await newDatabase(postgres.url);
    const store = await openStore(storeUrl);
    await store.upsertAccount({ id: 'q', provider: 'local', settings: { agentlessScanning: true } }, new Date().toISOString());
    await store.syncDiscovery('q', [{ name: 'c', pools: [{ name: 'p', nodes: Array.from({ length: NOOP_JOBS }, (_, i) => ({ name: `n${i}`, diskRef: `/x/${i}` })) }] }], new Date().toISOString());
    const run = await store.createRun({ account: 'q', trigger: 'on-demand', requestedBy: 'bench', at: new Date().toISOString() });
    await store.startRun(run.id, (await store.listNodes({ account: 'q' })).map((n) => ({ nodeId: n.node.id, state: 'queued' as const })), new Date().toISOString());
    const queue = openQueue({ store, url: redis.url, prefix: 'benchq' });
    const worker = ownerId();
    const c = queue.consume(async (scan) => void (await store.publishNodeScan({ nodeScanId: scan.id, worker, state: 'published', bytesRead: 0, durationMs: 0, at: new Date().toISOString() })), { worker, log: silentLogger(), concurrency: 1 });
    const t1 = performance.now();
    await queue.enqueue(await jobsOfRun(store, run.id, 'on-demand'));
    c.start();
    await c.idle();
    const seamMs = (performance.now() - t1) / NOOP_JOBS;
    await c.drain();
    await queue.close();
    await store.close();
    const per = (r: { nodes: number; seconds: number }) => Math.round((r.nodes / r.seconds) * 3600).toLocaleString('en');
    process.stdout.write([
      '### Scale-out: the same 200 nodes, embedded default vs BullMQ workers (issue #16)',
      '',
      `PostgreSQL store in both; 200 nodes on 3 images (150 + 20 drifted + 30), malware off; BullMQ workers run one node scan at a time each, in a child process. ${process.env['HULLSCAN_BENCH_NOTE'] ?? ''}`,
      '',
      '| deployment | nodes | published | run time | nodes per hour | vs embedded |',
      '| --- | --- | --- | --- | --- | --- |',
      `| embedded default (run --once) | ${embedded.nodes} | ${embedded.published} | ${embedded.seconds.toFixed(1)} s | ${per(embedded)} | 1.00× |`,
      ...rows,
      '',
      `Queue overhead per job: ${seamMs.toFixed(1)} ms through the seam (BullMQ job + claim by id + publish of an empty scan + run refresh, PostgreSQL) against ${bareMs.toFixed(2)} ms for a bare BullMQ round trip (add → no-op → completed): ${(seamMs / bareMs).toFixed(1)}×.`,
    ].join('\n') + '\n');
  } finally {
    redis.stop();
    postgres.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
