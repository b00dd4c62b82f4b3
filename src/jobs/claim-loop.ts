/**
 * The in-process queue's claim loop: node scans are claimed from the store (the queue is the
 * node_scans table, so queued work survives a restart) and run in this process, at most
 * `concurrency` at a time and `perAccount` per account (cloud API budgets). One node is never
 * scanned twice at once (the claim query checks it). Claimed scans beat a heartbeat so that a
 * restart can tell a dead worker's scans from live ones.
 */
import type { FleetStore, NodeScan } from '../store/index.ts';
import type { JobLog as Logger } from './index.ts';

const DEFAULT_CONCURRENCY = 2;
const DEFAULT_PER_ACCOUNT = 2;
/** How often an idle pool looks for work it was not woken for (another process queued it). */
const POLL_MS = 2_000;
export const CLAIM_HEARTBEAT_MS = 15_000;

export interface ClaimLoopOptions {
  store: FleetStore;
  worker: string;
  execute: (scan: NodeScan) => Promise<void>;
  log: Logger;
  concurrency?: number;
  perAccount?: number;
  /** Only claim scans of these accounts (run --once --account). */
  accounts?: readonly string[];
  /** Accounts not to claim for now (a rate limit, src/jobs/in-process.ts). */
  limited?: () => readonly string[];
  now?: () => Date;
}

export class ClaimLoop {
  readonly #o: ClaimLoopOptions;
  readonly #active = new Map<string, { scan: NodeScan; done: Promise<void> }>();
  #running = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #idleWaiters: (() => void)[] = [];

  constructor(options: ClaimLoopOptions) {
    this.#o = options;
  }

  get activeCount(): number {
    return this.#active.size;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#heartbeat = setInterval(() => {
      const ids = [...this.#active.keys()];
      if (ids.length) void this.#o.store.heartbeat(ids, this.#o.worker, this.#now()).catch((err: unknown) => this.#o.log.warn({ err: String(err) }, 'heartbeat failed'));
    }, CLAIM_HEARTBEAT_MS);
    this.#heartbeat.unref();
    this.#loop = this.#run();
  }

  /** New work may be claimable now. */
  wake(): void {
    this.#wake?.();
  }

  #now(): string {
    return (this.#o.now ?? (() => new Date()))().toISOString();
  }

  async #run(): Promise<void> {
    const concurrency = this.#o.concurrency ?? DEFAULT_CONCURRENCY;
    const perAccount = this.#o.perAccount ?? DEFAULT_PER_ACCOUNT;
    while (this.#running) {
      let claimed = false;
      if (this.#active.size < concurrency) {
        const busy = new Map<string, number>();
        for (const { scan } of this.#active.values()) busy.set(scan.account, (busy.get(scan.account) ?? 0) + 1);
        let scan: NodeScan | undefined;
        try {
          scan = await this.#o.store.claimNodeScan(this.#o.worker, this.#now(), {
            ...(this.#o.accounts !== undefined && { accounts: this.#o.accounts }),
            busyAccounts: [...[...busy].filter(([, n]) => n >= perAccount).map(([a]) => a), ...(this.#o.limited?.() ?? [])],
          });
        } catch (err) {
          this.#o.log.error({ err: String(err) }, 'claiming a node scan failed');
        }
        if (scan) {
          claimed = true;
          const s = scan;
          const done = this.#o.execute(s).catch((err: unknown) => this.#o.log.error({ err: String(err) }, 'node scan crashed')).finally(() => {
            this.#active.delete(s.id);
            this.wake();
          });
          this.#active.set(s.id, { scan: s, done });
        }
      }
      if (claimed) continue;
      if (this.#active.size === 0) for (const w of this.#idleWaiters.splice(0)) w();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, POLL_MS);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** Resolves when no scan is active and none could be claimed (the queue of these accounts is empty). */
  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.wake();
    });
  }

  /** Stops claiming; waits for the active scans to finish (graceful drain). */
  async drain(): Promise<void> {
    this.#running = false;
    this.wake();
    await this.#loop;
    await Promise.all([...this.#active.values()].map((a) => a.done));
    if (this.#heartbeat) clearInterval(this.#heartbeat);
  }
}
