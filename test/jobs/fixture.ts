/**
 * The queue suites' fixtures: a store with one account per name and N nodes each, runs started
 * through the store's own startRun (queued node scans), and the two queue implementations on
 * real services — in-process on a SQLite file, BullMQ on the test Redis with a PostgreSQL store.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobsOfRun, type JobQueue, type ScanJob } from '../../src/jobs/index.ts';
import { openQueue } from '../../src/jobs/registry.ts';
import { openStore, type FleetStore, type NodeScan, type RunTrigger } from '../../src/store/index.ts';
import { postgresDatabase } from '../helpers/postgres.ts';
import { redisUrl } from '../helpers/redis.ts';

export interface QueueFixture {
  store: FleetStore;
  queue: JobQueue;
  /** Where another process opens the same store and queue. */
  storeUrl: string;
  queueUrl?: string;
  prefix: string;
  stallMs: number;
  close(): Promise<void>;
}

export interface Impl {
  name: 'in-process' | 'bullmq';
  open(t: { skip(m?: string): void }): Promise<QueueFixture | undefined>;
}

/** A short stall time so that a killed worker's job comes back within a test. */
export const TEST_STALL_MS = 1_500;

export const IMPLS: readonly Impl[] = [
  {
    name: 'in-process',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'hullscan-jobs-'));
      const storeUrl = join(dir, 'hullscan.db');
      const store = await openStore(storeUrl);
      const queue = openQueue({ store });
      return { store, queue, storeUrl, prefix: '', stallMs: TEST_STALL_MS, close: async () => (await queue.close(), await store.close(), rmSync(dir, { recursive: true, force: true })) };
    },
  },
  {
    name: 'bullmq',
    async open(t) {
      const url = redisUrl(t);
      if (!url) return undefined;
      const db = await postgresDatabase(t);
      if (!db) return undefined;
      const store = await openStore(db.url);
      const prefix = `t${randomBytes(5).toString('hex')}`;
      const queue = openQueue({ store, url, prefix, stallMs: TEST_STALL_MS });
      return {
        store,
        queue,
        storeUrl: db.url,
        queueUrl: url,
        prefix,
        stallMs: TEST_STALL_MS,
        close: async () => {
          await (queue as { obliterate?: () => Promise<void> }).obliterate?.().catch(() => undefined);
          await queue.close();
          await store.close();
          await db.drop();
        },
      };
    },
  },
];

const AT = () => new Date().toISOString();

/** Accounts with `nodes` nodes each (local provider; no disks are read by these tests). */
export async function seed(store: FleetStore, accounts: Record<string, number>): Promise<void> {
  for (const [id, n] of Object.entries(accounts)) {
    await store.upsertAccount({ id, provider: 'local', settings: { agentlessScanning: true } }, AT());
    await store.syncDiscovery(id, [{ name: 'c', pools: [{ name: 'p', nodes: Array.from({ length: n }, (_, i) => ({ name: `n${i}`, diskRef: `/dev/null/${id}/${i}` })) }] }], AT());
  }
}

/** A run of every node of the account, its node scans queued; returns the run and its jobs. */
export async function startRun(store: FleetStore, account: string, trigger: RunTrigger): Promise<{ run: string; jobs: ScanJob[] }> {
  const run = await store.createRun({ account, trigger, requestedBy: 'test', at: AT() });
  const nodes = await store.listNodes({ account });
  await store.startRun(run.id, nodes.map((n) => ({ nodeId: n.node.id, state: 'queued' as const })), AT());
  return { run: run.id, jobs: await jobsOfRun(store, run.id, trigger) };
}

/** The handler's end of a scan: published with nothing found (the queue is under test, not the engine). */
export async function publishEmpty(store: FleetStore, scan: NodeScan, worker: string): Promise<void> {
  await store.publishNodeScan({ nodeScanId: scan.id, worker, state: 'published', bytesRead: 0, durationMs: 1, at: AT() });
}
