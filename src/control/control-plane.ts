/**
 * The control plane on one machine: the store, the providers, the workers, the scheduler, the
 * sweeper and re-match, wired once. `hullscan run --once` and `hullscan serve` are thin layers
 * over this class; the API (later) calls the same methods.
 */
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { catalogDirForDb, loadCatalog, type NodeImageCatalog } from '../catalog/index.ts';
import type { DiscoveredCluster } from '../cloud/index.ts';
import { createProviders, type ProviderSet } from '../cloud/registry.ts';
import { openStore, type Account, type FleetStore, type RunTrigger, type ScanRun } from '../store/index.ts';
import { defaultStoreLocation } from '../store/open.ts';
import { UsageError } from '../util/errors.ts';
import type { VulnDb } from '../vulndb/index.ts';
import { openVulnDb } from '../vulndb/store.ts';
import { loadEnvironment, type Environment } from './environment.ts';
import { silentLogger, type Logger } from './log.ts';
import { createCaches, executeNodeScan, type NodeScanDeps } from './node-scan.ts';
import { ownerId, ownerIsDead } from './owner.ts';
import { rematchAccount } from './rematch.ts';
import { discoverOnly, startAccountRun } from './runs.ts';
import { nextDue } from './settings.ts';
import { sweepSnapshots, type SweepResult } from './sweeper.ts';
import { CLAIM_HEARTBEAT_MS as HEARTBEAT_MS } from '../jobs/claim-loop.ts';
export { DEFAULT_RETRY } from '../jobs/index.ts';
import { jobsOfRun, TransientJobError, type JobConsumer, type JobHandler, type JobQueue, type RateLimit, type RetryPolicy } from '../jobs/index.ts';
import { openQueue } from '../jobs/registry.ts';
import type { NodeScan } from '../store/index.ts';
import { IsolatedScans, type IsolationOptions } from './isolation.ts';
import { bindMetrics, observeScanEnd } from './metrics.ts';
import { rematchNodeScan } from './rematch-job.ts';
import type { MatchResult } from '../match/index.ts';
import { DEFAULT_NODE_TIME_BUDGET_MS } from './node-scan.ts';
import { WeightedLru } from '../util/lru.ts';

/** A scan whose heartbeat is older than this belongs to a dead worker (several missed beats). */
const STALE_AFTER_MS = 8 * HEARTBEAT_MS;
/** Attempts a node scan gets across crashes before it fails as interrupted. */
export const MAX_ATTEMPTS = 3;
const SCHEDULER_TICK_MS = 30_000;
/** The scheduler's leadership lease (store_meta key) and how many ticks it outlives its last renewal. */
const LEADER_KEY = 'scheduler.leader';
const LEADER_TTL_TICKS = 3;
/** Node scan failures worth retrying (a cloud API call that failed or was throttled), when retries are on. */
const TRANSIENT_REASONS: ReadonlySet<string> = new Set(['snapshot-failed']);

/** Process roles of `hullscan serve --role` (docs/deployment.md). */
export const ROLES = ['all', 'api', 'scheduler', 'worker'] as const;
export type Role = (typeof ROLES)[number];
const SWEEP_EVERY_MS = 10 * 60_000;
const PURGE_EVERY_MS = 24 * 60 * 60_000;
const META_DB_BUILT = 'vulndb.builtAt';
/** How often accounts with scanning off are discovered (coverage only). */
const DISCOVER_OFF_EVERY_MS = 60 * 60_000;

/** The user's data directory: $HULLSCAN_DATA, else $XDG_DATA_HOME/hullscan, else ~/.local/share/hullscan. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['HULLSCAN_DATA']) return resolve(env['HULLSCAN_DATA']);
  const base = env['XDG_DATA_HOME'] && env['XDG_DATA_HOME'].startsWith('/') ? env['XDG_DATA_HOME'] : join(env['HOME'] ?? homedir(), '.local', 'share');
  return join(base, 'hullscan');
}

export interface ControlPlaneOptions {
  dataDir: string;
  /** The environment file (accounts; local clusters). */
  config?: string;
  /** Vulnerability database (default: the data directory's vuln.db). */
  dbPath?: string;
  /** Store location: a SQLite path or postgres:// URL (default: the data directory's hullscan.db). */
  store?: string;
  log?: Logger;
  /** Node scans at once, overall and per account. */
  concurrency?: number;
  perAccount?: number;
  /** Time budget of one node scan (ms). */
  timeBudgetMs?: number;
  leaseMs?: number;
  catalog?: NodeImageCatalog;
  malwareOptions?: NodeScanDeps['malwareOptions'];
  /** Always walk and fingerprint every disk instead of reusing inventories by quick key (docs/control-plane.md). */
  fullFingerprint?: boolean;
  /** Allow http:// and loopback / private addresses for URL disks (labs, internal mirrors; off by default). */
  allowPrivateUrls?: boolean;
  /** The job queue: a redis:// URL (BullMQ, shared by many worker processes) or undefined (in-process). */
  queue?: string;
  /** BullMQ: key prefix and stall time (a job lock not renewed for this long means a dead worker). */
  queuePrefix?: string;
  stallMs?: number;
  /** Retry transiently failed node scans (snapshot calls that failed) with backoff; off: they fail at once. */
  retry?: RetryPolicy;
  /** At most this many node scans of one account started per window (cloud API budgets). */
  rate?: RateLimit;
  /** Run each node scan in a child process with a heap limit and a kill on its time budget. */
  isolate?: IsolationOptions;
  now?: () => Date;
}

export interface RunOnceResult {
  runs: ScanRun[];
  /** Accounts skipped because scanning is off. */
  off: string[];
}

export class ControlPlane {
  readonly store: FleetStore;
  readonly queue: JobQueue;
  readonly worker = ownerId();
  readonly dataDir: string;
  readonly dbPath: string;
  readonly log: Logger;
  readonly #o: ControlPlaneOptions;
  readonly #providers: ProviderSet;
  readonly #catalog: NodeImageCatalog;
  readonly #caches = createCaches();
  #env: Environment | undefined;
  #db: { db: VulnDb; ino: number; mtimeMs: number } | undefined;
  #isolated: IsolatedScans | undefined;
  readonly #rematches = new WeightedLru<string, MatchResult>(32);
  readonly #triggers = new Map<string, RunTrigger>();

  private constructor(store: FleetStore, o: ControlPlaneOptions) {
    this.store = store;
    this.queue = openQueue({ store, ...(o.queue !== undefined && { url: o.queue }), ...(o.queuePrefix !== undefined && { prefix: o.queuePrefix }), ...(o.stallMs !== undefined && { stallMs: o.stallMs }) });
    this.#o = o;
    this.dataDir = o.dataDir;
    this.dbPath = resolve(o.dbPath ?? join(o.dataDir, 'vuln.db'));
    this.log = o.log ?? silentLogger();
    this.#catalog = o.catalog ?? loadCatalog({ extraDirs: [catalogDirForDb(this.dbPath)] });
    this.#providers = createProviders({ dataDir: o.dataDir, localClusters: () => this.#localClusters(), cloudAccounts: () => this.#env?.accounts ?? [] });
  }

  static async open(o: ControlPlaneOptions): Promise<ControlPlane> {
    const store = await openStore(o.store ?? defaultStoreLocation(o.dataDir));
    return new ControlPlane(store, o);
  }

  #now(): Date {
    return (this.#o.now ?? (() => new Date()))();
  }

  #localClusters(): ReadonlyMap<string, readonly DiscoveredCluster[]> {
    const m = new Map<string, readonly DiscoveredCluster[]>();
    for (const a of this.#env?.accounts ?? []) if (a.clusters !== undefined) m.set(a.id, a.clusters);
    return m;
  }

  /** Reads the environment file (when there is one) without writing the store (a scan child's view). */
  async loadConfig(): Promise<void> {
    if (this.#o.config !== undefined) this.#env = loadEnvironment(this.#o.config);
  }

  /** Reads the environment file (when there is one) and upserts its accounts. */
  async applyConfig(): Promise<Account[]> {
    if (this.#o.config === undefined) return this.store.listAccounts();
    this.#env = loadEnvironment(this.#o.config);
    const at = this.#now().toISOString();
    for (const a of this.#env.accounts) {
      await this.store.upsertAccount({ id: a.id, provider: a.provider, ...(a.name !== undefined && { name: a.name }), ...(a.externalId !== undefined && { externalId: a.externalId }), ...(a.settings !== undefined && { settings: a.settings }) }, at, `config:${this.#env.path}`);
    }
    return this.store.listAccounts();
  }

  /** The vulnerability database, reopened when the file was replaced (an update renames a new file in). */
  vulnDb(): VulnDb | undefined {
    let st;
    try {
      st = statSync(this.dbPath);
    } catch {
      // Replaced right now (or removed): keep reading the open copy rather than failing node scans.
      return this.#db?.db;
    }
    if (this.#db && this.#db.ino === st.ino && this.#db.mtimeMs === st.mtimeMs) return this.#db.db;
    const db = openVulnDb(this.dbPath);
    this.#db?.db.close();
    this.#db = { db, ino: st.ino, mtimeMs: st.mtimeMs };
    return db;
  }

  #requireDb(): VulnDb {
    const db = this.vulnDb();
    if (db === undefined) throw new UsageError(`no vulnerability database at ${this.dbPath}: import one first (hullscan db import --db ${this.dbPath} FILE…, or hullscan db update --db ${this.dbPath})`);
    return db;
  }

  #deps(): NodeScanDeps {
    const deps: NodeScanDeps = {
      store: this.store,
      snapshots: (p) => this.#providers.snapshots(p),
      db: () => this.vulnDb(),
      catalog: this.#catalog,
      worker: this.worker,
      log: this.log,
      matches: this.#caches.matches,
      inventories: this.#caches.inventories,
      inflight: this.#caches.inflight,
    };
    if (this.#o.timeBudgetMs !== undefined) deps.timeBudgetMs = this.#o.timeBudgetMs;
    if (this.#o.leaseMs !== undefined) deps.leaseMs = this.#o.leaseMs;
    if (this.#o.malwareOptions !== undefined) deps.malwareOptions = this.#o.malwareOptions;
    if (this.#o.now !== undefined) deps.now = this.#o.now;
    if (this.#o.fullFingerprint) deps.fullFingerprint = true;
    if (this.#o.allowPrivateUrls) deps.targetOptions = { http: { allowHttp: true, allowPrivateNetwork: true } };
    return deps;
  }

  /** The workers of this process: a consumer of the queue running node scans (and re-match jobs). */
  #pool(accounts?: readonly string[]): JobConsumer {
    return this.queue.consume(this.#handler(), {
      worker: this.worker,
      log: this.log,
      isDead: (w) => ownerIsDead(w, this.worker),
      ...(this.#o.concurrency !== undefined && { concurrency: this.#o.concurrency }),
      ...(this.#o.perAccount !== undefined && { perAccount: this.#o.perAccount }),
      ...(accounts !== undefined && { accounts }),
      ...(this.#o.rate !== undefined && { rate: this.#o.rate }),
      ...(this.#o.retry !== undefined && { retry: this.#o.retry }),
      ...(this.#o.now !== undefined && { now: this.#o.now }),
      onEnded: (id) => void this.store.getNodeScan(id).then((s) => s && observeScanEnd(s)).catch(() => undefined),
    });
  }

  async #trigger(run: string): Promise<RunTrigger | undefined> {
    let t = this.#triggers.get(run);
    if (t === undefined) {
      t = (await this.store.getRun(run))?.trigger;
      if (t !== undefined) this.#triggers.set(run, t);
    }
    return t;
  }

  #handler(): JobHandler {
    const deps = this.#deps();
    return async (scan, ctx) => {
      if ((await this.#trigger(scan.run)) === 'data-update') {
        await rematchNodeScan(scan, { store: this.store, db: this.vulnDb(), worker: ctx.worker, cache: this.#rematches, ...(this.#o.now !== undefined && { now: this.#o.now }) });
      } else if (this.#o.isolate !== undefined) {
        this.#isolated ??= new IsolatedScans({ child: this.#childOptions(), ...(this.#o.isolate.memoryMib !== undefined && { memoryMib: this.#o.isolate.memoryMib }), timeBudgetMs: this.#o.timeBudgetMs ?? DEFAULT_NODE_TIME_BUDGET_MS, log: this.log });
        const r = await this.#isolated.run(scan, ctx.worker, this.#o.retry !== undefined);
        if (!r.ended && r.notStarted) throw new TransientJobError('internal-error', r.detail);
        if (!r.ended) {
          await this.store.failNodeScan(scan.id, ctx.worker, { reason: r.reason, detail: r.detail, at: this.#now().toISOString() });
          await this.releaseLeases(scan.id);
        } else if (r.transient) throw new TransientJobError(r.transient.reason as NodeScan['reason'] & string, r.transient.message);
      } else {
        const r = await this.#runNodeScan(scan, { ...deps, worker: ctx.worker }, this.#o.retry !== undefined);
        if (r.transient) throw new TransientJobError(r.transient.reason as NodeScan['reason'] & string, r.transient.message);
      }
      await this.store.refreshRun(scan.run, this.#now().toISOString());
    };
  }

  #childOptions(): import('./scan-child.ts').ChildOptions {
    const { log: _log, now: _now, catalog: _catalog, isolate: _isolate, queue: _queue, ...rest } = this.#o;
    return { ...rest, store: this.#o.store ?? defaultStoreLocation(this.#o.dataDir) };
  }

  /**
   * Runs one claimed node scan in this process as `worker` (a scan child's entry). With
   * `interceptTransient`, a transient failure is returned instead of recorded (the queue retries it).
   */
  async runNodeScan(scan: NodeScan, worker: string, o: { interceptTransient: boolean }): Promise<{ transient?: { reason: string; message: string } }> {
    return this.#runNodeScan(scan, { ...this.#deps(), worker }, o.interceptTransient);
  }

  async #runNodeScan(scan: NodeScan, deps: NodeScanDeps, interceptTransient: boolean): Promise<{ transient?: { reason: string; message: string } }> {
    if (!interceptTransient) {
      await executeNodeScan(scan, deps);
      return {};
    }
    let transient: { reason: string; message: string } | undefined;
    const store = deps.store;
    // executeNodeScan records every failure itself; a transient one is held back here for the queue to retry.
    const intercepting = new Proxy(store, {
      get(target, prop) {
        if (prop === 'failNodeScan') {
          return async (id: string, w: string, input: Parameters<FleetStore['failNodeScan']>[2]) => {
            if (TRANSIENT_REASONS.has(input.reason)) {
              transient = { reason: input.reason, message: input.detail ?? input.reason };
              return true;
            }
            return target.failNodeScan(id, w, input);
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    await executeNodeScan(scan, { ...deps, store: intercepting });
    return transient ? { transient } : {};
  }

  /** Deletes the snapshots of one node scan whose process was killed (its worker, the lease's owner, lives on). */
  async releaseLeases(nodeScanId: string): Promise<void> {
    const at = this.#now().toISOString();
    for (const lease of (await this.store.openLeases()).filter((l) => l.nodeScan === nodeScanId)) {
      try {
        const provider = this.#providers.allSnapshots().find((p) => p.provider === lease.provider);
        for (const s of (await provider?.listOurs()) ?? []) if (s.tags.lease === lease.id) await provider!.delete(s.snapshot);
        await this.store.markLeaseDeleted(lease.id, at);
      } catch (err) {
        await this.store.markLeaseDeleteFailed(lease.id, String(err)).catch(() => undefined);
        this.log.error({ lease: lease.id, err: String(err) }, 'snapshot of a killed scan not deleted; the sweeper will retry');
      }
    }
  }

  /** Jobs for every queued node scan of the open runs (a shared queue that lost them, a crash between start and enqueue). */
  async reconcile(): Promise<number> {
    if (this.queue.kind === 'in-process') return 0;
    let n = 0;
    for (const r of await this.store.listRuns({ states: ['queued', 'running'], limit: 1000 })) n += await this.queue.enqueue(await jobsOfRun(this.store, r.id, r.trigger));
    return n;
  }

  /**
   * After a crash: re-queues (or fails, after MAX_ATTEMPTS) the node scans a dead worker left
   * active, sweeps leftover snapshots, and recounts the affected runs.
   */
  async recover(): Promise<{ requeued: number; failed: number; swept: SweepResult }> {
    const now = this.#now();
    const r = await this.store.recoverInterrupted({ staleBefore: new Date(now.getTime() - STALE_AFTER_MS).toISOString(), isDead: (w) => ownerIsDead(w, this.worker), maxAttempts: MAX_ATTEMPTS }, now.toISOString());
    for (const run of r.runs) await this.store.refreshRun(run, now.toISOString());
    const swept = await sweepSnapshots(this.store, this.#providers.allSnapshots(), this.worker, this.log, now);
    if (r.requeued || r.failed || swept.deleted) this.log.info({ requeued: r.requeued, failed: r.failed, swept: swept.deleted }, 'recovered from an earlier stop');
    return { requeued: r.requeued, failed: r.failed, swept };
  }

  async sweep(): Promise<SweepResult> {
    return sweepSnapshots(this.store, this.#providers.allSnapshots(), this.worker, this.log, this.#now());
  }

  /** Starts a run for one account (on demand: scanning must be on). */
  async startRun(accountId: string, trigger: RunTrigger, requestedBy: string, scope?: { cluster?: string; pool?: string }): Promise<ScanRun> {
    this.#requireDb();
    const account = await this.store.getAccount(accountId);
    if (!account) throw new UsageError(`no account '${accountId}'`);
    const run = await startAccountRun(account, { store: this.store, discovery: (a) => this.#providers.discovery(a), catalog: this.#catalog, log: this.log, trigger, requestedBy, ...(scope !== undefined && { scope }), ...(this.#o.now !== undefined && { now: this.#o.now }) });
    if (run.state === 'running') await this.queue.enqueue(await jobsOfRun(this.store, run.id, trigger));
    return run;
  }

  /**
   * One discovery + scan cycle for every account with scanning on (or one account), in this
   * process, until every node scan of those runs has ended.
   */
  async runOnce(options: { account?: string; requestedBy?: string; onProgress?: (run: ScanRun) => void } = {}): Promise<RunOnceResult> {
    await this.applyConfig();
    await this.recover();
    await this.reconcile();
    this.#requireDb();
    let accounts = await this.store.listAccounts();
    if (options.account !== undefined) {
      accounts = accounts.filter((a) => a.id === options.account);
      if (accounts.length === 0) throw new UsageError(`no account '${options.account}'${this.#o.config === undefined ? ' (no --config given)' : ` in the store or ${this.#o.config}`}`);
    }
    const off = accounts.filter((a) => !a.settings.agentlessScanning).map((a) => a.id);
    if (options.account !== undefined && off.length) {
      throw new UsageError(`scanning is off for account ${options.account}: turn on "Agentless scanning for machines" (hullscan accounts set ${options.account} agentlessScanning=on)`);
    }
    const on = accounts.filter((a) => a.settings.agentlessScanning);
    for (const a of accounts.filter((x) => !x.settings.agentlessScanning)) await this.#discoverOnly(a);
    const runs: ScanRun[] = [];
    // Runs a crash left open (their scans were re-queued by recover()) finish in this cycle too.
    for (const a of on) runs.push(...(await this.store.listRuns({ account: a.id, states: ['queued', 'running'], limit: 1000 })));
    for (const a of on) runs.push(await this.startRun(a.id, 'on-demand', options.requestedBy ?? 'cli: run --once'));
    const pool = this.#pool(on.map((a) => a.id));
    pool.start();
    try {
      for (;;) {
        await pool.idle();
        const fresh = await Promise.all(runs.map((r) => this.store.refreshRun(r.id, this.#now().toISOString())));
        for (const r of fresh) if (r) options.onProgress?.(r);
        if (fresh.every((r) => r === undefined || !['queued', 'running'].includes(r.state))) break;
        // Queued scans whose nodes another process is scanning: wait for it.
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await pool.drain();
    }
    return { runs: (await Promise.all(runs.map((r) => this.store.getRun(r.id)))).filter((r): r is ScanRun => r !== undefined), off };
  }

  #discoverOnly(account: Account): Promise<void> {
    return discoverOnly(account, { store: this.store, discovery: (a) => this.#providers.discovery(a), log: this.log, ...(this.#o.now !== undefined && { now: this.#o.now }) });
  }

  /** Re-matches every account's stored inventories against the current vulnerability data (no disk read). */
  async rematch(accountId?: string): Promise<ScanRun[]> {
    const db = this.#requireDb();
    const out: ScanRun[] = [];
    for (const a of await this.store.listAccounts()) {
      if (accountId !== undefined && a.id !== accountId) continue;
      if (!a.settings.agentlessScanning) continue;
      // A shared queue: one job per node, fanned out over the workers; in-process: here and now.
      out.push(this.queue.kind === 'in-process' ? await rematchAccount(a, this.store, db, this.worker, this.log, this.#o.now) : await this.#rematchFanOut(a));
    }
    const built = db.status().builtAt;
    if (built !== undefined) await this.store.setMeta(META_DB_BUILT, built);
    return out;
  }

  async #rematchFanOut(a: Account): Promise<ScanRun> {
    const at = () => this.#now().toISOString();
    const run = await this.store.createRun({ account: a.id, trigger: 'data-update', requestedBy: 'vulnerability data update', at: at() });
    const plans = (await this.store.currentInventories(a.id)).flatMap((g) => g.nodeIds.map((nodeId) => ({ nodeId, state: 'queued' as const })));
    await this.store.startRun(run.id, plans, at());
    await this.queue.enqueue(await jobsOfRun(this.store, run.id, 'data-update'));
    this.log.info({ account: a.id, run: run.id, nodes: plans.length }, 're-match fanned out to the workers');
    return (await this.store.refreshRun(run.id, at()))!;
  }

  /** One scheduler step: config re-read, re-match on new data, due scheduled runs started. */
  async schedulerTick(pool?: JobConsumer): Promise<ScanRun[]> {
    const started: ScanRun[] = [];
    try {
      await this.applyConfig();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'environment file not applied; keeping the accounts as they are');
    }
    const db = this.vulnDb();
    if (db === undefined) {
      this.log.warn({ db: this.dbPath }, 'no vulnerability database yet; scheduled runs wait for one');
      return started;
    }
    const built = db.status().builtAt;
    const last = await this.store.getMeta(META_DB_BUILT);
    if (built !== undefined && last !== undefined && built !== last) {
      this.log.info({ from: last, to: built }, 'vulnerability data changed: re-matching stored inventories');
      started.push(...(await this.rematch()));
    } else if (built !== undefined && last === undefined) {
      await this.store.setMeta(META_DB_BUILT, built);
    }
    const now = this.#now();
    for (const a of await this.store.listAccounts()) {
      if (!a.settings.agentlessScanning) {
        // Coverage of accounts with scanning off: their nodes are listed (not scanned, and why), hourly.
        const key = `discovered:${a.id}`;
        const last = await this.store.getMeta(key);
        if (last === undefined || now.getTime() - Date.parse(last) >= DISCOVER_OFF_EVERY_MS) {
          await this.#discoverOnly(a);
          await this.store.setMeta(key, now.toISOString());
        }
        continue;
      }
      const open = await this.store.listRuns({ account: a.id, states: ['queued', 'running'], limit: 1 });
      if (open.some((r) => r.trigger === 'schedule')) continue;
      const previous = await this.store.lastRun(a.id, 'schedule');
      if (nextDue(a.settings.schedule, previous ? new Date(previous.createdAt) : undefined, now) > now) continue;
      try {
        started.push(await this.startRun(a.id, 'schedule', 'scheduler'));
      } catch (err) {
        this.log.error({ account: a.id, err: (err as Error).message }, 'scheduled run not started');
      }
    }
    if (started.length) pool?.wake();
    return started;
  }

  /**
   * This process's roles until `signal` aborts; then drains the workers (graceful shutdown).
   * `worker`: consumes node-scan jobs. `scheduler`: due runs, re-match on new data, sweeps,
   * purges — only while it holds the store's leadership lease, so that with any number of
   * scheduler processes one fires each schedule. `api`: nothing here (the listener serves).
   */
  async serve(signal: AbortSignal, options: { tickMs?: number; onReady?: () => void; role?: Role } = {}): Promise<void> {
    const role = options.role ?? 'all';
    const working = role === 'all' || role === 'worker';
    const scheduling = role === 'all' || role === 'scheduler';
    const tickMs = options.tickMs ?? SCHEDULER_TICK_MS;
    if (role !== 'worker') await this.applyConfig();
    else await this.loadConfig();
    if (role !== 'api') await this.recover();
    bindMetrics({ store: this.store, queue: this.queue });
    const pool = working ? this.#pool() : undefined;
    pool?.start();
    let lastSweep = this.#now().getTime();
    let lastPurge = 0;
    let leader: boolean = false;
    this.log.info({ store: this.store.description, queue: this.queue.kind, role, db: this.dbPath, worker: this.worker }, 'hullscan serve started');
    options.onReady?.();
    try {
      while (!signal.aborted) {
        if (scheduling) {
          const was: boolean = leader;
          leader = await this.store.tryLeadership(LEADER_KEY, this.worker, this.#now(), LEADER_TTL_TICKS * tickMs).catch((err: unknown) => (this.log.error({ err: String(err) }, 'scheduler leadership check failed'), false));
          if (leader !== was) this.log.info({ leader }, leader ? 'this process is the active scheduler' : 'another process is the active scheduler');
        }
        if (scheduling && leader) {
          await this.reconcile().catch((err: unknown) => this.log.error({ err: String(err) }, 'queue reconcile failed'));
          await this.schedulerTick(pool);
          const t = this.#now().getTime();
          if (t - lastSweep >= SWEEP_EVERY_MS) {
            lastSweep = t;
            // A shared queue: dead workers' scans of other hosts (stale heartbeats) are re-queued too.
            await (this.queue.kind === 'in-process' ? this.sweep() : this.recover()).catch((err: unknown) => this.log.error({ err: String(err) }, 'sweep failed'));
          }
          if (t - lastPurge >= PURGE_EVERY_MS) {
            lastPurge = t;
            const purged = await this.store.purge(this.#now());
            if (purged.findings || purged.alerts || purged.runs) this.log.info(purged, 'purged history past retention');
          }
        }
        await new Promise<void>((r) => {
          const timer = setTimeout(r, tickMs);
          signal.addEventListener('abort', () => (clearTimeout(timer), r()), { once: true });
        });
      }
    } finally {
      this.log.info({ active: pool?.activeCount ?? 0 }, 'stopping: waiting for active node scans');
      await pool?.drain();
      this.#isolated?.close();
      if (leader) await this.store.resignLeadership(LEADER_KEY, this.worker).catch(() => undefined);
      this.log.info({}, 'hullscan serve stopped');
    }
  }

  async close(): Promise<void> {
    this.#isolated?.close();
    await this.queue.close();
    this.#db?.db.close();
    this.#db = undefined;
    await this.store.close();
  }
}
