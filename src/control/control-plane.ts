/**
 * The control plane on one machine: the store, the providers, the workers, the scheduler, the
 * sweeper and re-match, wired once. `hullscan run --once` and `hullscan serve` are thin layers
 * over this class; the API (later) calls the same methods.
 */
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadCatalog, type NodeImageCatalog } from '../catalog/index.ts';
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
import { HEARTBEAT_MS, WorkerPool } from './worker-pool.ts';

/** A scan whose heartbeat is older than this belongs to a dead worker (several missed beats). */
const STALE_AFTER_MS = 8 * HEARTBEAT_MS;
/** Attempts a node scan gets across crashes before it fails as interrupted. */
export const MAX_ATTEMPTS = 3;
const SCHEDULER_TICK_MS = 30_000;
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
  now?: () => Date;
}

export interface RunOnceResult {
  runs: ScanRun[];
  /** Accounts skipped because scanning is off. */
  off: string[];
}

export class ControlPlane {
  readonly store: FleetStore;
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

  private constructor(store: FleetStore, o: ControlPlaneOptions) {
    this.store = store;
    this.#o = o;
    this.dataDir = o.dataDir;
    this.dbPath = resolve(o.dbPath ?? join(o.dataDir, 'vuln.db'));
    this.log = o.log ?? silentLogger();
    this.#catalog = o.catalog ?? loadCatalog();
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

  #pool(accounts?: readonly string[]): WorkerPool {
    const deps = this.#deps();
    return new WorkerPool({
      store: this.store,
      worker: this.worker,
      log: this.log,
      execute: async (scan) => {
        await executeNodeScan(scan, deps);
        await this.store.refreshRun(scan.run, this.#now().toISOString());
      },
      ...(this.#o.concurrency !== undefined && { concurrency: this.#o.concurrency }),
      ...(this.#o.perAccount !== undefined && { perAccount: this.#o.perAccount }),
      ...(accounts !== undefined && { accounts }),
      ...(this.#o.now !== undefined && { now: this.#o.now }),
    });
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
    return startAccountRun(account, { store: this.store, discovery: (a) => this.#providers.discovery(a), catalog: this.#catalog, log: this.log, trigger, requestedBy, ...(scope !== undefined && { scope }), ...(this.#o.now !== undefined && { now: this.#o.now }) });
  }

  /**
   * One discovery + scan cycle for every account with scanning on (or one account), in this
   * process, until every node scan of those runs has ended.
   */
  async runOnce(options: { account?: string; requestedBy?: string; onProgress?: (run: ScanRun) => void } = {}): Promise<RunOnceResult> {
    await this.applyConfig();
    await this.recover();
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
      out.push(await rematchAccount(a, this.store, db, this.worker, this.log, this.#o.now));
    }
    const built = db.status().builtAt;
    if (built !== undefined) await this.store.setMeta(META_DB_BUILT, built);
    return out;
  }

  /** One scheduler step: config re-read, re-match on new data, due scheduled runs started. */
  async schedulerTick(pool?: WorkerPool): Promise<ScanRun[]> {
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

  /** Scheduler + workers until `signal` aborts; then drains the workers (graceful shutdown). */
  async serve(signal: AbortSignal, options: { tickMs?: number; onReady?: () => void } = {}): Promise<void> {
    await this.applyConfig();
    await this.recover();
    const pool = this.#pool();
    pool.start();
    let lastSweep = this.#now().getTime();
    let lastPurge = 0;
    this.log.info({ store: this.store.description, db: this.dbPath, worker: this.worker }, 'hullscan serve started');
    options.onReady?.();
    try {
      while (!signal.aborted) {
        await this.schedulerTick(pool);
        const t = this.#now().getTime();
        if (t - lastSweep >= SWEEP_EVERY_MS) {
          lastSweep = t;
          await this.sweep().catch((err: unknown) => this.log.error({ err: String(err) }, 'sweep failed'));
        }
        if (t - lastPurge >= PURGE_EVERY_MS) {
          lastPurge = t;
          const purged = await this.store.purge(this.#now());
          if (purged.findings || purged.alerts || purged.runs) this.log.info(purged, 'purged history past retention');
        }
        await new Promise<void>((r) => {
          const timer = setTimeout(r, options.tickMs ?? SCHEDULER_TICK_MS);
          signal.addEventListener('abort', () => (clearTimeout(timer), r()), { once: true });
        });
      }
    } finally {
      this.log.info({ active: pool.activeCount }, 'stopping: waiting for active node scans');
      await pool.drain();
      this.log.info({}, 'hullscan serve stopped');
    }
  }

  async close(): Promise<void> {
    this.#db?.db.close();
    this.#db = undefined;
    await this.store.close();
  }
}
