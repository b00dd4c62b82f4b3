/**
 * The BullMQ queue (Redis): one job per (run, node) with that pair as its id, so a second
 * enqueue is a no-op while the job exists (and, once it is gone, the store's claim finds the
 * scan ended and does nothing). Priorities are BullMQ's (lower first). A worker that dies
 * stops renewing its job lock; BullMQ's stalled check (any live worker runs it) puts the job
 * back, and the next worker takes the store's claim over — the store fences the dead worker's
 * late writes (publishNodeScan checks the owner) and decides, by attempts, when a scan that
 * keeps killing its workers fails as interrupted. Transient failures release the claim and are
 * retried by BullMQ with exponential backoff. The per-account rate limit is a fixed window
 * counted in Redis (INCR + PEXPIRE) shared by every worker; a job over it is moved to delayed.
 *
 * Reference: BullMQ docs, "Stalled Jobs", "Retrying failing jobs", "Manually rate-limited jobs"
 * (https://docs.bullmq.io, bullmq 6.7).
 */
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { FleetStore } from '../store/index.ts';
import { failJob } from './in-process.ts';
import { backoffDelay, DEFAULT_RETRY, jobId, MAX_CLAIMS, PRIORITY_RANK, TransientJobError, type ConsumeOptions, type JobConsumer, type JobHandler, type JobQueue, type QueueDepth, type ScanJob } from './index.ts';

export const QUEUE_NAME = 'hullscan-node-scans';
/** Default: a job lock not renewed for this long means its worker is gone. */
export const DEFAULT_STALL_MS = 30_000;
/** A job whose node another scan is reading right now waits this long. */
const BUSY_DELAY_MS = 1_000;
const HEARTBEAT_MS = 15_000;
const IDLE_POLL_MS = 250;

export class BullMqQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  readonly #store: FleetStore;
  readonly #url: string;
  readonly #prefix: string;
  readonly #stallMs: number;
  readonly #queue: Queue<ScanJob>;
  #redis: Redis | undefined;

  constructor(o: { store: FleetStore; url: string; prefix?: string; stallMs?: number }) {
    this.#store = o.store;
    this.#url = o.url;
    this.#prefix = o.prefix ?? 'hullscan';
    this.#stallMs = o.stallMs ?? DEFAULT_STALL_MS;
    this.#queue = new Queue<ScanJob>(QUEUE_NAME, { connection: { url: o.url, maxRetriesPerRequest: null }, prefix: this.#prefix });
  }

  #client(): Redis {
    this.#redis ??= new Redis(this.#url, { maxRetriesPerRequest: null, lazyConnect: false });
    return this.#redis;
  }

  async enqueue(jobs: readonly ScanJob[]): Promise<number> {
    if (jobs.length === 0) return 0;
    const ids = jobs.map(jobId);
    const before = await Promise.all(ids.map((id) => this.#queue.getJob(id)));
    await this.#queue.addBulk(
      jobs.map((j, i) => ({
        name: 'node-scan',
        data: j,
        // Retries are driven by the handler (TransientJobError); removal frees the id for a later re-enqueue.
        opts: { jobId: ids[i]!, priority: PRIORITY_RANK[j.priority], removeOnComplete: true, removeOnFail: true },
      })),
    );
    return before.filter((b) => b === undefined || b === null).length;
  }

  consume(handler: JobHandler, o: ConsumeOptions): JobConsumer {
    const store = this.#store;
    const policy = o.retry ?? DEFAULT_RETRY;
    const now = o.now ?? (() => new Date());
    const active = new Map<string, string>(); // scan id → account
    const rate = o.rate;
    const client = rate ? this.#client() : undefined;
    const prefix = this.#prefix;
    const waitForRate = async (account: string): Promise<number> => {
      if (!rate || !client) return 0;
      const t = Date.now();
      const start = t - (t % rate.perMs);
      const key = `${prefix}:rate:${account}:${start}`;
      const n = await client.incr(key);
      if (n === 1) await client.pexpire(key, rate.perMs * 2);
      return n <= rate.max ? 0 : start + rate.perMs - t;
    };
    const process = async (job: Job<ScanJob>, token?: string): Promise<string> => {
      const d = job.data;
      if (o.accounts !== undefined && !o.accounts.includes(d.account)) {
        await job.moveToDelayed(Date.now() + BUSY_DELAY_MS, token);
        throw new DelayedError();
      }
      const wait = await waitForRate(d.account);
      if (wait > 0) {
        await job.moveToDelayed(Date.now() + wait, token);
        throw new DelayedError();
      }
      // Whoever held this job before lost its lock (BullMQ gave it to us): its claim is taken over.
      const claim = await store.claimNodeScanById(d.nodeScan, o.worker, now().toISOString(), { takeover: () => true, maxAttempts: MAX_CLAIMS });
      if (claim.busy) {
        await job.moveToDelayed(Date.now() + BUSY_DELAY_MS, token);
        throw new DelayedError();
      }
      if (!claim.scan) {
        if (claim.ended) {
          o.onEnded?.(claim.ended.id);
          await store.refreshRun(claim.ended.run, now().toISOString());
        }
        return 'ended';
      }
      const scan = claim.scan;
      // Delays (rate, busy node, backoff) are not BullMQ attempts: the job's data counts the runs.
      const attempt = (d.retries ?? 0) + 1;
      active.set(scan.id, scan.account);
      try {
        await handler(scan, { worker: o.worker, attempt });
      } catch (err) {
        if (err instanceof TransientJobError && attempt < policy.attempts) {
          o.log.warn({ nodeScan: scan.id, attempt, reason: err.reason, err: err.message }, 'node scan failed transiently; retrying after a backoff');
          await store.releaseNodeScan(scan.id, o.worker);
          await job.updateData({ ...d, retries: attempt });
          await job.moveToDelayed(Date.now() + backoffDelay(policy, attempt), token);
          throw new DelayedError();
        }
        await failJob(store, scan, o.worker, err, attempt, now);
      } finally {
        active.delete(scan.id);
      }
      await store.refreshRun(scan.run, now().toISOString());
      o.onEnded?.(scan.id);
      return 'done';
    };
    let worker: Worker<ScanJob> | undefined;
    let heartbeat: NodeJS.Timeout | undefined;
    const depth = () => this.depth();
    return {
      start: () => {
        if (worker) return;
        worker = new Worker<ScanJob>(QUEUE_NAME, process, {
          connection: { url: this.#url, maxRetriesPerRequest: null },
          prefix,
          concurrency: o.concurrency ?? 2,
          lockDuration: this.#stallMs,
          stalledInterval: Math.max(500, Math.floor(this.#stallMs / 2)),
          // The store's attempts decide when a scan that keeps stalling fails (as interrupted).
          maxStalledCount: 1000,
        });
        worker.on('error', (err) => o.log.error({ err: String(err) }, 'queue worker error'));
        heartbeat = setInterval(() => {
          const ids = [...active.keys()];
          if (ids.length) void store.heartbeat(ids, o.worker, now().toISOString()).catch((err: unknown) => o.log.warn({ err: String(err) }, 'heartbeat failed'));
        }, HEARTBEAT_MS);
        heartbeat.unref();
      },
      wake: () => {},
      get activeCount() {
        return active.size;
      },
      async idle() {
        for (;;) {
          if (active.size === 0) {
            const d = await depth();
            if (d.waiting + d.active + d.delayed === 0) return;
          }
          await new Promise((r) => setTimeout(r, IDLE_POLL_MS));
        }
      },
      async drain() {
        if (heartbeat) clearInterval(heartbeat);
        // close() waits for the active jobs (graceful); their locks are renewed until they end.
        await worker?.close();
      },
    };
  }

  async cancelRun(run: string, at: string): Promise<void> {
    const queued = await this.#store.listNodeScans({ run, states: ['queued'] });
    await this.#store.cancelRun(run, at);
    for (const s of queued) {
      // An active job (taken a moment ago) cannot be removed: its claim finds the scan skipped.
      await this.#queue.remove(jobId({ run, node: s.node })).catch(() => 0);
    }
  }

  async depth(): Promise<QueueDepth> {
    const c = await this.#queue.getJobCounts('wait', 'prioritized', 'active', 'delayed');
    return { waiting: (c['wait'] ?? 0) + (c['prioritized'] ?? 0), active: c['active'] ?? 0, delayed: c['delayed'] ?? 0 };
  }

  /** Removes every job (tests, benchmarks). */
  async obliterate(): Promise<void> {
    await this.#queue.obliterate({ force: true });
  }

  async close(): Promise<void> {
    await this.#queue.close();
    if (this.#redis) await this.#redis.quit().catch(() => undefined);
  }
}
