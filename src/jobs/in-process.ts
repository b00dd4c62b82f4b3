/**
 * The in-process queue (the embedded default): the store's node_scans table is the queue and
 * this process's ClaimLoop claims from it, on-demand runs first (the claim's ORDER BY). Jobs
 * survive a restart because they are rows; a dead process's claims are taken back by
 * recoverInterrupted (same host: at once, by pid; elsewhere: by stale heartbeat). Retries of a
 * transient failure keep the claim and wait their backoff here.
 */
import { CLAIM_HEARTBEAT_MS, ClaimLoop } from './claim-loop.ts';
import type { FleetStore, NodeScan } from '../store/index.ts';
import { backoffDelay, DEFAULT_RETRY, MAX_CLAIMS, TransientJobError, WindowLimiter, type ConsumeOptions, type JobConsumer, type JobHandler, type JobQueue, type QueueDepth, type ScanJob } from './index.ts';

/** A claim whose heartbeat is older than this belongs to a dead worker (several missed beats). */
const STALE_AFTER_MS = 8 * CLAIM_HEARTBEAT_MS;
const IDLE_POLL_MS = 250;

export class InProcessQueue implements JobQueue {
  readonly kind = 'in-process' as const;
  readonly #store: FleetStore;
  readonly #consumers = new Set<JobConsumer>();

  constructor(store: FleetStore) {
    this.#store = store;
  }

  /** The rows are the queue (startRun wrote them, one per (run, node)): only wakes the consumers. */
  enqueue(jobs: readonly ScanJob[]): Promise<number> {
    for (const c of this.#consumers) c.wake();
    return Promise.resolve(jobs.length);
  }

  consume(handler: JobHandler, o: ConsumeOptions): JobConsumer {
    const now = o.now ?? (() => new Date());
    const limiter = o.rate ? new WindowLimiter(o.rate) : undefined;
    const store = this.#store;
    const pool = new ClaimLoop({
      store,
      worker: o.worker,
      log: o.log,
      ...(o.concurrency !== undefined && { concurrency: o.concurrency }),
      ...(o.perAccount !== undefined && { perAccount: o.perAccount }),
      ...(o.accounts !== undefined && { accounts: o.accounts }),
      ...(o.now !== undefined && { now: o.now }),
      ...(limiter !== undefined && {
        limited: () => {
          const t = now().getTime();
          const held = limiter.limited(t);
          // Look again when the window turns (the pool otherwise polls only every few seconds).
          if (held.length) setTimeout(() => pool.wake(), o.rate!.perMs - (t % o.rate!.perMs) + 1).unref();
          return held;
        },
      }),
      execute: async (scan) => {
        limiter?.take(scan.account, now().getTime());
        try {
          await runWithRetries(store, handler, scan, o);
        } finally {
          o.onEnded?.(scan.id);
        }
      },
    });
    const consumers = this.#consumers;
    let drained = false;
    let recovered: Promise<void> = Promise.resolve();
    const consumer: JobConsumer = {
      start() {
        consumers.add(consumer);
        // Stalled jobs: scans a dead worker of this store left active go back to the queue first.
        recovered = store
          .recoverInterrupted({ staleBefore: new Date(now().getTime() - STALE_AFTER_MS).toISOString(), isDead: (w) => o.isDead?.(w) ?? false, maxAttempts: MAX_CLAIMS }, now().toISOString())
          .then(async (r) => {
            for (const run of r.runs) await store.refreshRun(run, now().toISOString());
          })
          .catch((err: unknown) => o.log.error({ err: String(err) }, 'recovering interrupted scans failed'))
          .finally(() => {
            if (!drained) pool.start();
          });
      },
      wake: () => pool.wake(),
      get activeCount() {
        return pool.activeCount;
      },
      async idle() {
        // The pool is idle when nothing is claimable; scans held back (rate limit, a busy node) still wait.
        for (;;) {
          await pool.idle();
          const where = `state = 'queued'${o.accounts?.length ? ` AND account_id IN (${o.accounts.map(() => '?').join(', ')})` : ''}`;
          if (Number(await store.count('node_scans', where, [...(o.accounts ?? [])])) === 0) return;
          await new Promise((r) => setTimeout(r, IDLE_POLL_MS));
        }
      },
      async drain() {
        drained = true;
        consumers.delete(consumer);
        await recovered;
        await pool.drain();
      },
    };
    return consumer;
  }

  async cancelRun(run: string, at: string): Promise<void> {
    await this.#store.cancelRun(run, at);
  }

  async depth(): Promise<QueueDepth> {
    const by = await this.#store.nodeScanStates();
    return { waiting: by['queued'] ?? 0, active: (by['snapshot'] ?? 0) + (by['read'] ?? 0) + (by['match'] ?? 0), delayed: 0 };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The handler, again after a backoff while it fails transiently; the scan failed with the reason after the last attempt. */
async function runWithRetries(store: FleetStore, handler: JobHandler, scan: NodeScan, o: ConsumeOptions): Promise<void> {
  const policy = o.retry ?? DEFAULT_RETRY;
  const now = o.now ?? (() => new Date());
  for (let attempt = 1; ; attempt++) {
    try {
      await handler(scan, { worker: o.worker, attempt });
      return;
    } catch (err) {
      if (err instanceof TransientJobError && attempt < policy.attempts) {
        o.log.warn({ nodeScan: scan.id, attempt, reason: err.reason, err: err.message }, 'node scan failed transiently; retrying after a backoff');
        await new Promise((r) => setTimeout(r, backoffDelay(policy, attempt)));
        continue;
      }
      await failJob(store, scan, o.worker, err, attempt, now);
      return;
    }
  }
}

/** Ends a job's scan as failed: its transient reason after the last attempt, else internal-error. */
export async function failJob(store: FleetStore, scan: NodeScan, worker: string, err: unknown, attempts: number, now: () => Date): Promise<void> {
  const transient = err instanceof TransientJobError;
  const message = (err as Error)?.message ?? String(err);
  await store.failNodeScan(scan.id, worker, {
    reason: transient ? err.reason : 'internal-error',
    detail: transient ? `${message} (after ${attempts} attempts)` : message.slice(0, 2000),
    at: now().toISOString(),
  });
}
