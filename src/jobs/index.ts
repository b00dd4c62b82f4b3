/**
 * The queue seam: how node-scan jobs reach workers. The store's node_scans rows stay the record
 * of every scan (state, owner, attempts); a queue only decides who runs which scan when. Two
 * implementations, one conformance suite (test/jobs/conformance.test.ts), listed in QUEUES:
 *
 * - `in-process` (the embedded default): the node_scans table is the queue; workers of this
 *   process claim from it (jobs/claim-loop.ts). Nothing to run besides the store.
 * - `bullmq`: BullMQ on Redis; any number of worker processes on any number of hosts.
 *
 * The same semantics in both: a job's id is its (run, node), so a duplicate enqueue is a no-op
 * and a duplicate delivery finds the scan ended and does nothing; TransientJobError (and only
 * it) is retried with exponential backoff, up to `attempts`; a job whose worker died is picked
 * up again (stalled-job recovery: the store's claim is taken over, the sweeper deletes the dead
 * worker's snapshot); a fixed-window rate limit per cloud account; on-demand before scheduled
 * before re-match; cancelling a run removes its queued jobs.
 */
import type { FleetStore, NodeScan, NodeScanReason, RunTrigger } from '../store/index.ts';

/** What the queues log through (a pino logger fits). */
export interface JobLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export type JobPriority = 'on-demand' | 'schedule' | 'data-update';

/** One node scan to run: the store row it names is the truth; the rest routes it. */
export interface ScanJob {
  nodeScan: string;
  run: string;
  node: string;
  account: string;
  priority: JobPriority;
  /** Runs that failed transiently so far (set by the queue). */
  retries?: number;
}

/** Lower runs first (BullMQ's order too). */
export const PRIORITY_RANK: Record<JobPriority, number> = { 'on-demand': 1, schedule: 2, 'data-update': 3 };

/** A transient failure (cloud throttling, a refused snapshot call): the job is retried with backoff. */
export class TransientJobError extends Error {
  readonly reason: NodeScanReason;
  constructor(reason: NodeScanReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransientJobError';
    this.reason = reason;
  }
}

/** The deterministic job id of a (run, node): a second enqueue of the same pair is a no-op. */
export function jobId(job: Pick<ScanJob, 'run' | 'node'>): string {
  // BullMQ refuses ':' in custom ids (its key separator).
  return `${job.run}_${job.node}`;
}

export function priorityOf(trigger: RunTrigger): JobPriority {
  return trigger === 'on-demand' ? 'on-demand' : trigger === 'data-update' ? 'data-update' : 'schedule';
}

export interface JobContext {
  /** The claim's owner (the store row's worker). */
  worker: string;
  /** 1 for the first run of this job. */
  attempt: number;
}

/**
 * Runs one claimed node scan to its end in the store (published or failed). Throws
 * TransientJobError to be retried; any other throw fails the scan as `internal-error`.
 */
export type JobHandler = (scan: NodeScan, ctx: JobContext) => Promise<void>;

export interface RateLimit {
  /** At most `max` node scans of one account started per `perMs`. */
  max: number;
  perMs: number;
}

export interface RetryPolicy {
  /** Runs of a job in all (the first included). */
  attempts: number;
  /** The first retry waits this long; each next one twice as long. */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, backoffMs: 5_000 };
/** Runs a scan may start across worker deaths before it fails as interrupted (store attempts). */
export const MAX_CLAIMS = 3;

export interface ConsumeOptions {
  /** The owner recorded on claims and leases (control/owner.ts). */
  worker: string;
  log: JobLog;
  /** True when a claim's owner is known dead (control/owner.ts): its scans are taken back at start. */
  isDead?: (owner: string) => boolean;
  concurrency?: number;
  /** Node scans of one account at once in this consumer (in-process). */
  perAccount?: number;
  /** Only scans of these accounts (run --once --account). */
  accounts?: readonly string[];
  rate?: RateLimit;
  retry?: RetryPolicy;
  /** Called after a job ended (metrics). */
  onEnded?: (scanId: string) => void;
  now?: () => Date;
}

/** A running consumer of jobs. */
export interface JobConsumer {
  start(): void;
  /** New work may be there now. */
  wake(): void;
  readonly activeCount: number;
  /** Resolves when nothing is active here and nothing is waiting (of this consumer's accounts). */
  idle(): Promise<void>;
  /** Stops taking jobs; waits for the active ones (graceful drain). */
  drain(): Promise<void>;
}

export interface QueueDepth {
  waiting: number;
  active: number;
  delayed: number;
}

export interface JobQueue {
  readonly kind: 'in-process' | 'bullmq';
  /** Adds jobs; those whose id is already queued are left as they are. Returns how many were new. */
  enqueue(jobs: readonly ScanJob[]): Promise<number>;
  consume(handler: JobHandler, options: ConsumeOptions): JobConsumer;
  /** Cancels a run: its queued scans end as skipped (reason interrupted) and their jobs are removed. */
  cancelRun(run: string, at: string): Promise<void>;
  depth(): Promise<QueueDepth>;
  close(): Promise<void>;
}

export interface QueueOptions {
  store: FleetStore;
  /** redis://… for BullMQ; undefined for the in-process default. */
  url?: string;
  /** BullMQ: a worker that has not renewed its job lock for this long is presumed dead. */
  stallMs?: number;
  /** Key prefix (tests give each queue its own). */
  prefix?: string;
}

/** Jobs of the queued node scans of a run (what startRun enqueues). */
export async function jobsOfRun(store: FleetStore, run: string, trigger: RunTrigger): Promise<ScanJob[]> {
  const scans = await store.listNodeScans({ run, states: ['queued'] });
  return scans.map((s) => ({ nodeScan: s.id, run: s.run, node: s.node, account: s.account, priority: priorityOf(trigger) }));
}

export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return policy.backoffMs * 2 ** Math.max(0, attempt - 1);
}

/** Fixed-window counter per account (the in-process limiter; BullMQ keeps the same windows in Redis). */
export class WindowLimiter {
  readonly #rate: RateLimit;
  readonly #windows = new Map<string, { start: number; n: number }>();
  constructor(rate: RateLimit) {
    this.#rate = rate;
  }
  /** ms to wait before `account` may start one more (0: now; counted). */
  take(account: string, now: number): number {
    const start = now - (now % this.#rate.perMs);
    const w = this.#windows.get(account);
    if (!w || w.start !== start) {
      this.#windows.set(account, { start, n: 1 });
      return 0;
    }
    if (w.n < this.#rate.max) {
      w.n++;
      return 0;
    }
    return start + this.#rate.perMs - now;
  }
  /** Accounts that may not start one more now. */
  limited(now: number): string[] {
    const start = now - (now % this.#rate.perMs);
    return [...this.#windows].filter(([, w]) => w.start === start && w.n >= this.#rate.max).map(([a]) => a);
  }
}
