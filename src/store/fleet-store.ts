/**
 * The typed query layer: every SQL statement of the control plane lives here, written once for
 * both dialects. Callers get typed records, never rows. Publication of a node scan is one
 * transaction (`publishNodeScan`): its inventory, findings and alerts land together or not at all.
 */
import { createHash, randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Inventory } from '../inventory/index.ts';
import type { Alert } from '../malware/index.ts';
import type { Finding } from '../match/index.ts';
import { batches, ConflictError, StoreError, valuesList, type SqlDriver, type SqlExecutor, type SqlValue } from './driver.ts';
import {
  ACTIVE_NODE_SCAN_STATES,
  DEFAULT_SETTINGS,
  type Account,
  type AccountSettings,
  type AlertStatus,
  type Cluster,
  type InventorySource,
  type LeaseState,
  type Node,
  type NodePool,
  type NodeRef,
  type NodeScan,
  type NodeScanReason,
  type NodeScanState,
  type Provider,
  type RunState,
  type RunTrigger,
  type ScanRun,
  type SettingsVersion,
  type SnapshotLease,
  type Tags,
} from './model.ts';

const SEVERITY_RANK: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3, negligible: 4, unknown: 5 };

export function severityRank(severity: string): number {
  return SEVERITY_RANK[severity] ?? 5;
}

const ACTIVE = ACTIVE_NODE_SCAN_STATES.map((s) => `'${s}'`).join(', ');

/** Adds a WHERE clause and its parameters. */
function addWhere(where: string[], params: SqlValue[], clause: string, ...values: SqlValue[]): void {
  where.push(clause);
  params.push(...values);
}

function json(v: unknown): string {
  return JSON.stringify(v);
}

function parse<T>(s: unknown, fallback: T): T {
  if (typeof s !== 'string' || s === '') return fallback;
  return JSON.parse(s) as T;
}

function opt<T extends object, K extends string, V>(obj: T, key: K, value: V | null | undefined): T & Partial<Record<K, V>> {
  if (value !== null && value !== undefined) (obj as Record<string, unknown>)[key] = value;
  return obj as T & Partial<Record<K, V>>;
}

/** The store's key of a finding across scans: same CVE on the same package of the same node. */
export function findingKey(f: Finding): string {
  const p = f.package;
  return `${f.vulnerabilityId}|${p.type}:${p.name}:${p.arch ?? ''}:${p.binaryPath ?? ''}`;
}

/** Serialised details per Finding object: nodes that share an inventory share the match result's objects. */
const DETAILS = new WeakMap<Finding, { data: string; hash: string }>();

function detailOf(f: Finding): { data: string; hash: string } {
  let d = DETAILS.get(f);
  if (d === undefined) {
    const { node: _node, summary: _summary, aliases: _aliases, cvss: _cvss, epss: _epss, kev: _kev, ...rest } = f;
    const data = json(rest);
    d = { data, hash: createHash('sha256').update(data).digest('base64url') };
    DETAILS.set(f, d);
  }
  return d;
}

/** The store's key of an alert across scans: the engine's id (kind, engine, rule, path). */
export function alertKey(a: Alert): string {
  return a.id;
}

// ---- row shapes -------------------------------------------------------------------------

interface AccountRow {
  id: string;
  provider: string;
  external_id: string;
  name: string;
  settings: string;
  settings_version: number;
  config_settings: string | null;
  created_at: string;
  updated_at: string;
}

interface ClusterRow {
  id: string;
  account_id: string;
  name: string;
  provider_id: string | null;
  region: string | null;
  kubernetes_version: string | null;
  tags: string;
  first_seen: string;
  last_seen: string;
  gone_at: string | null;
}

interface PoolRow {
  id: string;
  cluster_id: string;
  account_id: string;
  name: string;
  os_sku: string | null;
  image_family: string | null;
  image_version: string | null;
  latest_image_version: string | null;
  vm_size: string | null;
  node_count: number;
  mode: string | null;
  tags: string;
  first_seen: string;
  last_seen: string;
  gone_at: string | null;
}

interface NodeRow {
  id: string;
  pool_id: string;
  cluster_id: string;
  account_id: string;
  name: string;
  provider_id: string | null;
  kernel: string | null;
  os_image: string | null;
  disk_ref: string | null;
  ephemeral_os_disk: number;
  tags: string;
  current_inventory_id: string | null;
  last_scan_id: string | null;
  last_published_at: string | null;
  first_seen: string;
  last_seen: string;
  gone_at: string | null;
}

interface RunRow {
  id: string;
  account_id: string;
  trigger: string;
  state: string;
  requested_by: string;
  scope: string | null;
  nodes_total: number;
  nodes_published: number;
  nodes_failed: number;
  nodes_skipped: number;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

interface NodeScanRow {
  id: string;
  run_id: string;
  node_id: string;
  account_id: string;
  state: string;
  reason: string | null;
  reason_detail: string | null;
  inventory_id: string | null;
  inventory_source: string | null;
  fingerprint: string | null;
  bytes_read: number;
  duration_ms: number | null;
  findings_count: number | null;
  alerts_count: number | null;
  coverage: string | null;
  attempts: number;
  worker: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

interface LeaseRow {
  id: string;
  provider: string;
  account_id: string;
  node_id: string | null;
  node_scan_id: string | null;
  disk_ref: string;
  snapshot_ref: string | null;
  state: string;
  owner: string;
  error: string | null;
  created_at: string;
  expires_at: string;
  deleted_at: string | null;
}

function accountOf(r: AccountRow): Account {
  return {
    id: r.id,
    provider: r.provider as Provider,
    externalId: r.external_id,
    name: r.name,
    settings: { ...DEFAULT_SETTINGS, ...parse<Partial<AccountSettings>>(r.settings, {}) },
    settingsVersion: r.settings_version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function clusterOf(r: ClusterRow): Cluster {
  const c: Cluster = { id: r.id, account: r.account_id, name: r.name, tags: parse<Tags>(r.tags, {}), firstSeen: r.first_seen, lastSeen: r.last_seen };
  opt(c, 'providerId', r.provider_id);
  opt(c, 'region', r.region);
  opt(c, 'kubernetesVersion', r.kubernetes_version);
  opt(c, 'goneAt', r.gone_at);
  return c;
}

function poolOf(r: PoolRow): NodePool {
  const p: NodePool = { id: r.id, account: r.account_id, cluster: r.cluster_id, name: r.name, nodeCount: r.node_count, tags: parse<Tags>(r.tags, {}), firstSeen: r.first_seen, lastSeen: r.last_seen };
  opt(p, 'osSku', r.os_sku);
  opt(p, 'imageFamily', r.image_family);
  opt(p, 'imageVersion', r.image_version);
  opt(p, 'latestImageVersion', r.latest_image_version);
  opt(p, 'vmSize', r.vm_size);
  opt(p, 'mode', r.mode);
  opt(p, 'goneAt', r.gone_at);
  return p;
}

function nodeOf(r: NodeRow): Node {
  const n: Node = {
    id: r.id,
    account: r.account_id,
    cluster: r.cluster_id,
    pool: r.pool_id,
    name: r.name,
    ephemeralOsDisk: r.ephemeral_os_disk === 1,
    tags: parse<Tags>(r.tags, {}),
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
  };
  opt(n, 'providerId', r.provider_id);
  opt(n, 'kernel', r.kernel);
  opt(n, 'osImage', r.os_image);
  opt(n, 'diskRef', r.disk_ref);
  opt(n, 'currentInventoryId', r.current_inventory_id);
  opt(n, 'lastScanId', r.last_scan_id);
  opt(n, 'lastPublishedAt', r.last_published_at);
  opt(n, 'goneAt', r.gone_at);
  return n;
}

function runOf(r: RunRow): ScanRun {
  const run: ScanRun = {
    id: r.id,
    account: r.account_id,
    trigger: r.trigger as RunTrigger,
    state: r.state as RunState,
    requestedBy: r.requested_by,
    counts: { total: r.nodes_total, published: r.nodes_published, failed: r.nodes_failed, skipped: r.nodes_skipped },
    createdAt: r.created_at,
  };
  if (r.scope) run.scope = parse(r.scope, {});
  opt(run, 'error', r.error);
  opt(run, 'startedAt', r.started_at);
  opt(run, 'finishedAt', r.finished_at);
  return run;
}

function nodeScanOf(r: NodeScanRow): NodeScan {
  const s: NodeScan = { id: r.id, run: r.run_id, node: r.node_id, account: r.account_id, state: r.state as NodeScanState, bytesRead: r.bytes_read, attempts: r.attempts, createdAt: r.created_at };
  opt(s, 'reason', r.reason as NodeScanReason | null);
  opt(s, 'reasonDetail', r.reason_detail);
  opt(s, 'inventoryId', r.inventory_id);
  opt(s, 'inventorySource', r.inventory_source as InventorySource | null);
  opt(s, 'fingerprint', r.fingerprint);
  opt(s, 'durationMs', r.duration_ms);
  opt(s, 'findings', r.findings_count);
  opt(s, 'alerts', r.alerts_count);
  if (r.coverage) s.coverage = parse(r.coverage, undefined);
  opt(s, 'worker', r.worker);
  opt(s, 'startedAt', r.started_at);
  opt(s, 'finishedAt', r.finished_at);
  return s;
}

function leaseOf(r: LeaseRow): SnapshotLease {
  const l: SnapshotLease = { id: r.id, provider: r.provider, account: r.account_id, diskRef: r.disk_ref, state: r.state as LeaseState, owner: r.owner, createdAt: r.created_at, expiresAt: r.expires_at };
  opt(l, 'node', r.node_id);
  opt(l, 'nodeScan', r.node_scan_id);
  opt(l, 'snapshotRef', r.snapshot_ref);
  opt(l, 'error', r.error);
  opt(l, 'deletedAt', r.deleted_at);
  return l;
}

// ---- inputs -----------------------------------------------------------------------------

export interface AccountInput {
  id: string;
  provider: Provider;
  externalId?: string;
  name?: string;
  /** Settings as the configuration file states them (applied when new or changed in the file). */
  settings?: Partial<AccountSettings>;
}

export interface DiscoveredNode {
  name: string;
  providerId?: string;
  kernel?: string;
  osImage?: string;
  diskRef?: string;
  ephemeralOsDisk?: boolean;
  tags?: Tags;
}

export interface DiscoveredPool {
  name: string;
  osSku?: string;
  imageFamily?: string;
  imageVersion?: string;
  latestImageVersion?: string;
  vmSize?: string;
  mode?: string;
  tags?: Tags;
  /** Defaults to nodes.length. */
  nodeCount?: number;
  nodes: DiscoveredNode[];
}

export interface DiscoveredCluster {
  name: string;
  providerId?: string;
  region?: string;
  kubernetesVersion?: string;
  tags?: Tags;
  pools: DiscoveredPool[];
}

export interface SyncSummary {
  clusters: number;
  pools: number;
  nodes: number;
  gone: { clusters: number; pools: number; nodes: number };
}

/** What a node scan needs to know about its node, read in one query. */
export interface NodeContext {
  node: Node;
  pool: NodePool;
  cluster: Cluster;
  account: Account;
}

export interface NodeScanPlan {
  nodeId: string;
  state: 'queued' | 'skipped';
  reason?: NodeScanReason;
  reasonDetail?: string;
}

/** What a finished node scan publishes, in one transaction. */
export interface Publication {
  nodeScanId: string;
  /** The worker that claimed the scan: a scan re-queued after a crash is not published twice. */
  worker: string;
  state: 'published' | 'failed';
  reason?: NodeScanReason;
  reasonDetail?: string;
  /** The node's inventory: new (stored under its fingerprint unless one is stored already) or an existing id. */
  inventory?: { fingerprint: string; source: 'disk' | 'catalog'; inventory: Inventory } | { id: string };
  inventorySource?: InventorySource;
  fingerprint?: string;
  /** The disk's quick key (metadata only): recorded as another way to this inventory. */
  quickKey?: string;
  /** Undefined: vulnerabilities were not assessed, the node's findings are left as they are. */
  findings?: Finding[];
  /** Undefined: malware was not scanned, the node's alerts are left as they are. */
  alerts?: Alert[];
  bytesRead: number;
  durationMs: number;
  coverage?: unknown;
  at: string;
}

export interface PublishSummary {
  findings: { open: number; added: number; resolved: number };
  alerts: { active: number; added: number; resolved: number };
}

export interface FindingFilter {
  account?: string;
  accounts?: readonly string[];
  cluster?: string;
  pool?: string;
  node?: string;
  vulnerabilityId?: string;
  severities?: readonly string[];
  /** Include resolved findings. */
  all?: boolean;
  limit?: number;
}

export interface StoredFinding {
  id: string;
  finding: Finding;
  ref: NodeRef;
  nodeId: string;
  firstSeen: string;
  lastSeen: string;
  resolvedAt?: string;
}

export interface AlertFilter {
  account?: string;
  cluster?: string;
  pool?: string;
  node?: string;
  statuses?: readonly AlertStatus[];
  limit?: number;
}

export interface StoredAlert {
  id: string;
  alert: Alert;
  ref: NodeRef;
  nodeId: string;
  status: AlertStatus;
  statusReason?: string;
  statusBy?: string;
  statusAt?: string;
  firstSeen: string;
  lastSeen: string;
  resolvedAt?: string;
}

export interface NodeFilter {
  account?: string;
  cluster?: string;
  pool?: string;
  includeGone?: boolean;
}

export interface NodeWithScan {
  node: Node;
  ref: NodeRef;
  lastScan?: NodeScan;
}

// ---- the store --------------------------------------------------------------------------

export class FleetStore {
  readonly driver: SqlDriver;
  constructor(driver: SqlDriver) {
    this.driver = driver;
  }

  get description(): string {
    return this.driver.description;
  }

  close(): Promise<void> {
    return this.driver.close();
  }

  // -- accounts --

  async listAccounts(): Promise<Account[]> {
    return (await this.driver.all<AccountRow>('SELECT * FROM accounts ORDER BY id')).map(accountOf);
  }

  async getAccount(id: string): Promise<Account | undefined> {
    const r = await this.driver.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', [id]);
    return r && accountOf(r);
  }

  /**
   * Creates or updates an account from configuration. The file's settings apply when the account
   * is new, or when the file's settings block changed since it was last applied; changes made
   * since through the CLI or API are kept otherwise.
   */
  async upsertAccount(input: AccountInput, at: string, by = 'config'): Promise<Account> {
    return this.driver.transaction(async (tx) => {
      const fileSettings = input.settings === undefined ? undefined : json(input.settings);
      const existing = await tx.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', [input.id]);
      if (!existing) {
        const settings: AccountSettings = { ...DEFAULT_SETTINGS, ...(input.settings ?? {}) };
        await tx.run(
          'INSERT INTO accounts (id, provider, external_id, name, settings, settings_version, config_settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)',
          [input.id, input.provider, input.externalId ?? input.id, input.name ?? input.id, json(settings), fileSettings ?? null, at, at],
        );
        await tx.run('INSERT INTO account_settings_history (account_id, version, settings, changed_by, changed_at) VALUES (?, 1, ?, ?, ?)', [input.id, json(settings), by, at]);
      } else {
        if (existing.provider !== input.provider) throw new StoreError(`account ${input.id} is a ${existing.provider} account; the configuration says ${input.provider}`);
        const name = input.name ?? existing.name;
        const externalId = input.externalId ?? existing.external_id;
        if (name !== existing.name || externalId !== existing.external_id) {
          await tx.run('UPDATE accounts SET name = ?, external_id = ?, updated_at = ? WHERE id = ?', [name, externalId, at, input.id]);
        }
        if (fileSettings !== undefined && fileSettings !== existing.config_settings) {
          const current = accountOf(existing).settings;
          await this.#writeSettings(tx, input.id, existing.settings_version, { ...current, ...input.settings }, by, at);
          await tx.run('UPDATE accounts SET config_settings = ? WHERE id = ?', [fileSettings, input.id]);
        }
      }
      return accountOf((await tx.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', [input.id]))!);
    });
  }

  /**
   * Changes settings as one new version. With `expectedVersion`, refuses (ConflictError) when
   * someone else changed them since (optimistic concurrency for the API and the portal).
   */
  async updateSettings(id: string, patch: Partial<AccountSettings>, options: { by: string; at: string; expectedVersion?: number }): Promise<Account> {
    return this.driver.transaction(async (tx) => {
      const r = await tx.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', [id]);
      if (!r) throw new StoreError(`no account '${id}'`);
      if (options.expectedVersion !== undefined && options.expectedVersion !== r.settings_version) {
        throw new ConflictError(`the settings of account ${id} changed since version ${options.expectedVersion} (now version ${r.settings_version})`);
      }
      await this.#writeSettings(tx, id, r.settings_version, { ...accountOf(r).settings, ...patch }, options.by, options.at);
      return accountOf((await tx.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', [id]))!);
    });
  }

  async #writeSettings(tx: SqlExecutor, id: string, fromVersion: number, settings: AccountSettings, by: string, at: string): Promise<void> {
    const version = fromVersion + 1;
    const changed = await tx.run('UPDATE accounts SET settings = ?, settings_version = ?, updated_at = ? WHERE id = ? AND settings_version = ?', [json(settings), version, at, id, fromVersion]);
    if (changed !== 1) throw new ConflictError(`the settings of account ${id} changed concurrently`);
    await tx.run('INSERT INTO account_settings_history (account_id, version, settings, changed_by, changed_at) VALUES (?, ?, ?, ?, ?)', [id, version, json(settings), by, at]);
  }

  async settingsHistory(id: string): Promise<SettingsVersion[]> {
    const rows = await this.driver.all<{ account_id: string; version: number; settings: string; changed_by: string; changed_at: string }>(
      'SELECT * FROM account_settings_history WHERE account_id = ? ORDER BY version',
      [id],
    );
    return rows.map((r) => ({ account: r.account_id, version: r.version, settings: { ...DEFAULT_SETTINGS, ...parse<Partial<AccountSettings>>(r.settings, {}) }, changedBy: r.changed_by, changedAt: r.changed_at }));
  }

  // -- discovery --

  /**
   * Upserts what discovery found for an account, in one transaction; clusters, pools and nodes
   * not found this time are marked gone (never deleted: their history stays), and come back
   * when seen again.
   */
  async syncDiscovery(accountId: string, clusters: readonly DiscoveredCluster[], at: string): Promise<SyncSummary> {
    return this.driver.transaction(async (tx) => {
      let pools = 0;
      let nodes = 0;
      for (const c of clusters) {
        const cid = await this.#upsertReturningId(
          tx,
          `INSERT INTO clusters (id, account_id, name, provider_id, region, kubernetes_version, tags, first_seen, last_seen, gone_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
           ON CONFLICT (account_id, name) DO UPDATE SET provider_id = excluded.provider_id, region = excluded.region, kubernetes_version = excluded.kubernetes_version, tags = excluded.tags, last_seen = excluded.last_seen, gone_at = NULL
           RETURNING id`,
          [randomUUID(), accountId, c.name, c.providerId ?? null, c.region ?? null, c.kubernetesVersion ?? null, json(c.tags ?? {}), at, at],
        );
        for (const p of c.pools) {
          pools++;
          const pid = await this.#upsertReturningId(
            tx,
            `INSERT INTO node_pools (id, cluster_id, account_id, name, os_sku, image_family, image_version, latest_image_version, vm_size, node_count, mode, tags, first_seen, last_seen, gone_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
             ON CONFLICT (cluster_id, name) DO UPDATE SET os_sku = excluded.os_sku, image_family = excluded.image_family, image_version = excluded.image_version, latest_image_version = excluded.latest_image_version, vm_size = excluded.vm_size, node_count = excluded.node_count, mode = excluded.mode, tags = excluded.tags, last_seen = excluded.last_seen, gone_at = NULL
             RETURNING id`,
            [randomUUID(), cid, accountId, p.name, p.osSku ?? null, p.imageFamily ?? null, p.imageVersion ?? null, p.latestImageVersion ?? null, p.vmSize ?? null, p.nodeCount ?? p.nodes.length, p.mode ?? null, json(p.tags ?? {}), at, at],
          );
          for (const n of p.nodes) {
            nodes++;
            await this.#upsertReturningId(
              tx,
              `INSERT INTO nodes (id, pool_id, cluster_id, account_id, name, provider_id, kernel, os_image, disk_ref, ephemeral_os_disk, tags, first_seen, last_seen, gone_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
               ON CONFLICT (pool_id, name) DO UPDATE SET provider_id = excluded.provider_id, kernel = excluded.kernel, os_image = excluded.os_image, disk_ref = excluded.disk_ref, ephemeral_os_disk = excluded.ephemeral_os_disk, tags = excluded.tags, last_seen = excluded.last_seen, gone_at = NULL
               RETURNING id`,
              [randomUUID(), pid, cid, accountId, n.name, n.providerId ?? null, n.kernel ?? null, n.osImage ?? null, n.diskRef ?? null, n.ephemeralOsDisk ? 1 : 0, json(n.tags ?? {}), at, at],
            );
          }
        }
      }
      const gone = {
        clusters: await tx.run('UPDATE clusters SET gone_at = ? WHERE account_id = ? AND last_seen < ? AND gone_at IS NULL', [at, accountId, at]),
        pools: await tx.run('UPDATE node_pools SET gone_at = ? WHERE account_id = ? AND last_seen < ? AND gone_at IS NULL', [at, accountId, at]),
        nodes: await tx.run('UPDATE nodes SET gone_at = ? WHERE account_id = ? AND last_seen < ? AND gone_at IS NULL', [at, accountId, at]),
      };
      return { clusters: clusters.length, pools, nodes, gone };
    });
  }

  async #upsertReturningId(tx: SqlExecutor, sql: string, params: SqlValue[]): Promise<string> {
    const r = await tx.get<{ id: string }>(sql, params);
    if (!r) throw new StoreError('upsert returned no id');
    return r.id;
  }

  async listClusters(filter: { account?: string; includeGone?: boolean } = {}): Promise<Cluster[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.account !== undefined) addWhere(where, params, 'account_id = ?', filter.account);
    if (!filter.includeGone) where.push('gone_at IS NULL');
    const rows = await this.driver.all<ClusterRow>(`SELECT * FROM clusters ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY account_id, name`, params);
    return rows.map(clusterOf);
  }

  async listPools(filter: { account?: string; cluster?: string; includeGone?: boolean } = {}): Promise<NodePool[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.account !== undefined) addWhere(where, params, 'account_id = ?', filter.account);
    if (filter.cluster !== undefined) addWhere(where, params, 'cluster_id = ?', filter.cluster);
    if (!filter.includeGone) where.push('gone_at IS NULL');
    const rows = await this.driver.all<PoolRow>(`SELECT * FROM node_pools ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY account_id, cluster_id, name`, params);
    return rows.map(poolOf);
  }

  async nodeContext(nodeId: string): Promise<NodeContext | undefined> {
    const n = await this.driver.get<NodeRow>('SELECT * FROM nodes WHERE id = ?', [nodeId]);
    if (!n) return undefined;
    const [p, c, a] = await Promise.all([
      this.driver.get<PoolRow>('SELECT * FROM node_pools WHERE id = ?', [n.pool_id]),
      this.driver.get<ClusterRow>('SELECT * FROM clusters WHERE id = ?', [n.cluster_id]),
      this.driver.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', [n.account_id]),
    ]);
    if (!p || !c || !a) throw new StoreError(`node ${nodeId} has no pool, cluster or account row`);
    return { node: nodeOf(n), pool: poolOf(p), cluster: clusterOf(c), account: accountOf(a) };
  }

  /** Nodes (present ones unless includeGone) with their names and their latest node scan. */
  async listNodes(filter: NodeFilter = {}): Promise<NodeWithScan[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.account !== undefined) addWhere(where, params, 'n.account_id = ?', filter.account);
    if (filter.cluster !== undefined) addWhere(where, params, 'c.name = ?', filter.cluster);
    if (filter.pool !== undefined) addWhere(where, params, 'p.name = ?', filter.pool);
    if (!filter.includeGone) where.push('n.gone_at IS NULL');
    const rows = await this.driver.all<NodeRow & { cluster_name: string; pool_name: string }>(
      `SELECT n.*, c.name AS cluster_name, p.name AS pool_name FROM nodes n JOIN node_pools p ON p.id = n.pool_id JOIN clusters c ON c.id = n.cluster_id
       ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY n.account_id, c.name, p.name, n.name`,
      params,
    );
    // Each node's newest node scan, in one query (a window over node_scans; both dialects have it).
    const latest = new Map<string, NodeScan>();
    if (rows.length > 0) {
      const scans = await this.driver.all<NodeScanRow>(
        `SELECT * FROM (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.node_id ORDER BY s.created_at DESC, s.id DESC) AS rn FROM node_scans s
           ${filter.account !== undefined ? 'WHERE s.account_id = ?' : ''}) latest WHERE rn = 1`,
        filter.account !== undefined ? [filter.account] : [],
      );
      for (const r of scans) latest.set(r.node_id, nodeScanOf(r));
    }
    const out: NodeWithScan[] = [];
    for (const r of rows) {
      const item: NodeWithScan = { node: nodeOf(r), ref: { account: r.account_id, cluster: r.cluster_name, nodePool: r.pool_name, node: r.name } };
      const last = latest.get(r.id);
      if (last) item.lastScan = last;
      out.push(item);
    }
    return out;
  }

  // -- runs --

  async createRun(input: { account: string; trigger: RunTrigger; requestedBy: string; scope?: ScanRun['scope']; at: string }): Promise<ScanRun> {
    const id = randomUUID();
    await this.driver.run(
      "INSERT INTO scan_runs (id, account_id, trigger, state, requested_by, scope, nodes_total, nodes_published, nodes_failed, nodes_skipped, created_at) VALUES (?, ?, ?, 'queued', ?, ?, 0, 0, 0, 0, ?)",
      [id, input.account, input.trigger, input.requestedBy, input.scope ? json(input.scope) : null, input.at],
    );
    return (await this.getRun(id))!;
  }

  async getRun(id: string): Promise<ScanRun | undefined> {
    const r = await this.driver.get<RunRow>('SELECT * FROM scan_runs WHERE id = ?', [id]);
    return r && runOf(r);
  }

  async listRuns(filter: { account?: string; states?: readonly RunState[]; limit?: number } = {}): Promise<ScanRun[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.account !== undefined) addWhere(where, params, 'account_id = ?', filter.account);
    if (filter.states?.length) addWhere(where, params, `state IN (${filter.states.map(() => '?').join(', ')})`, ...filter.states);
    params.push(filter.limit ?? 100);
    const rows = await this.driver.all<RunRow>(`SELECT * FROM scan_runs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, id DESC LIMIT ?`, params);
    return rows.map(runOf);
  }

  /** The newest run of an account started by a trigger (the scheduler's memory across restarts). */
  async lastRun(account: string, trigger: RunTrigger): Promise<ScanRun | undefined> {
    const r = await this.driver.get<RunRow>('SELECT * FROM scan_runs WHERE account_id = ? AND trigger = ? ORDER BY created_at DESC, id DESC LIMIT 1', [account, trigger]);
    return r && runOf(r);
  }

  /** Marks a run running and adds its node scans (queued, or skipped with their reason) in one transaction. */
  async startRun(runId: string, plans: readonly NodeScanPlan[], at: string): Promise<void> {
    await this.driver.transaction(async (tx) => {
      const run = await tx.get<RunRow>('SELECT * FROM scan_runs WHERE id = ?', [runId]);
      if (!run) throw new StoreError(`no run ${runId}`);
      const rows = plans.map((p) => [randomUUID(), runId, p.nodeId, run.account_id, p.state, p.reason ?? null, p.reasonDetail ?? null, 0, 0, at, p.state === 'skipped' ? at : null] as SqlValue[]);
      for (const batch of batches(rows, 11, this.driver.maxParams)) {
        await tx.run(
          `INSERT INTO node_scans (id, run_id, node_id, account_id, state, reason, reason_detail, bytes_read, attempts, created_at, finished_at) VALUES ${valuesList(batch.length, 11)} ON CONFLICT (run_id, node_id) DO NOTHING`,
          batch.flat(),
        );
      }
      await tx.run("UPDATE scan_runs SET state = 'running', started_at = COALESCE(started_at, ?), nodes_total = (SELECT COUNT(*) FROM node_scans WHERE run_id = ?) WHERE id = ?", [at, runId, runId]);
    });
    await this.refreshRun(runId, at);
  }

  async markRunRunning(runId: string, at: string): Promise<void> {
    await this.driver.run("UPDATE scan_runs SET state = 'running', started_at = COALESCE(started_at, ?) WHERE id = ? AND state = 'queued'", [at, runId]);
  }

  async failRun(runId: string, error: string, at: string): Promise<void> {
    await this.driver.run("UPDATE scan_runs SET state = 'failed', error = ?, finished_at = ? WHERE id = ? AND state IN ('queued', 'running')", [error, at, runId]);
  }

  /** Recounts a run's node scans; a run with nothing queued or active is completed. */
  async refreshRun(runId: string, at: string): Promise<ScanRun | undefined> {
    const counts = await this.driver.all<{ state: string; n: number }>('SELECT state, COUNT(*) AS n FROM node_scans WHERE run_id = ? GROUP BY state', [runId]);
    const by = new Map(counts.map((c) => [c.state, c.n]));
    const total = counts.reduce((s, c) => s + c.n, 0);
    const open = (by.get('queued') ?? 0) + ACTIVE_NODE_SCAN_STATES.reduce((s, st) => s + (by.get(st) ?? 0), 0);
    await this.driver.run(
      `UPDATE scan_runs SET nodes_total = ?, nodes_published = ?, nodes_failed = ?, nodes_skipped = ?,
        state = CASE WHEN state = 'running' AND ? = 0 THEN 'completed' ELSE state END,
        finished_at = CASE WHEN state = 'running' AND ? = 0 THEN ? ELSE finished_at END
       WHERE id = ?`,
      [total, by.get('published') ?? 0, by.get('failed') ?? 0, by.get('skipped') ?? 0, open, open, at, runId],
    );
    return this.getRun(runId);
  }

  async listNodeScans(filter: { run?: string; node?: string; states?: readonly NodeScanState[] } = {}): Promise<NodeScan[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.run !== undefined) addWhere(where, params, 'run_id = ?', filter.run);
    if (filter.node !== undefined) addWhere(where, params, 'node_id = ?', filter.node);
    if (filter.states?.length) addWhere(where, params, `state IN (${filter.states.map(() => '?').join(', ')})`, ...filter.states);
    const rows = await this.driver.all<NodeScanRow>(`SELECT * FROM node_scans ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at, id`, params);
    return rows.map(nodeScanOf);
  }

  async getNodeScan(id: string): Promise<NodeScan | undefined> {
    const r = await this.driver.get<NodeScanRow>('SELECT * FROM node_scans WHERE id = ?', [id]);
    return r && nodeScanOf(r);
  }

  /**
   * Claims the oldest queued node scan (of `accounts` when given, skipping `busyAccounts`) whose
   * node has no other scan in progress; marks it `snapshot`, owned by `worker`. Undefined when
   * nothing can be claimed now.
   */
  async claimNodeScan(worker: string, at: string, options: { accounts?: readonly string[]; busyAccounts?: readonly string[]; nodes?: readonly string[] } = {}): Promise<NodeScan | undefined> {
    return this.driver.transaction(async (tx) => {
      const where = ["q.state = 'queued'", `NOT EXISTS (SELECT 1 FROM node_scans a WHERE a.node_id = q.node_id AND a.state IN (${ACTIVE}))`];
      const params: SqlValue[] = [];
      if (options.accounts?.length) addWhere(where, params, `q.account_id IN (${options.accounts.map(() => '?').join(', ')})`, ...options.accounts);
      if (options.nodes?.length) addWhere(where, params, `q.node_id IN (${options.nodes.map(() => '?').join(', ')})`, ...options.nodes);
      if (options.busyAccounts?.length) addWhere(where, params, `q.account_id NOT IN (${options.busyAccounts.map(() => '?').join(', ')})`, ...options.busyAccounts);
      // On-demand runs first, re-match last, then by age (priorities of the queue seam, src/jobs/).
      const lock = tx.dialect === 'postgres' ? ' FOR UPDATE OF q SKIP LOCKED' : '';
      const cand = await tx.get<{ id: string }>(
        `SELECT q.id FROM node_scans q JOIN scan_runs r ON r.id = q.run_id WHERE ${where.join(' AND ')}
         ORDER BY CASE r.trigger WHEN 'on-demand' THEN 0 WHEN 'data-update' THEN 2 ELSE 1 END, q.created_at, q.id LIMIT 1${lock}`,
        params,
      );
      if (!cand) return undefined;
      const n = await tx.run("UPDATE node_scans SET state = 'snapshot', worker = ?, attempts = attempts + 1, started_at = ?, heartbeat_at = ? WHERE id = ? AND state = 'queued'", [worker, at, at, cand.id]);
      if (n !== 1) return undefined;
      return nodeScanOf((await tx.get<NodeScanRow>('SELECT * FROM node_scans WHERE id = ?', [cand.id]))!);
    });
  }

  /**
   * The queue seam's claim of one named node scan (a job delivered by a shared queue, src/jobs/):
   * a queued scan is claimed as by claimNodeScan; an active one whose owner `takeover` says is
   * gone (a stalled job: its worker died) is taken over — or failed as `interrupted` once it has
   * had `maxAttempts`; an ended one is returned as `ended` (a duplicate delivery: nothing to do).
   * `busy`: another scan of the same node is active now (try later).
   */
  async claimNodeScanById(id: string, worker: string, at: string, options: { takeover: (owner: string | null) => boolean; maxAttempts: number }): Promise<{ scan?: NodeScan; ended?: NodeScan; busy?: boolean }> {
    return this.driver.transaction(async (tx) => {
      const lock = tx.dialect === 'postgres' ? ' FOR UPDATE' : '';
      const row = await tx.get<NodeScanRow>(`SELECT * FROM node_scans WHERE id = ?${lock}`, [id]);
      if (!row) return {};
      const active = (ACTIVE_NODE_SCAN_STATES as readonly string[]).includes(row.state);
      if (row.state !== 'queued' && !active) return { ended: nodeScanOf(row) };
      if (active && row.worker === worker) return { scan: nodeScanOf(row) };
      if (active && !options.takeover(row.worker)) return { busy: true };
      const other = await tx.get<{ id: string }>(`SELECT id FROM node_scans WHERE node_id = ? AND id <> ? AND state IN (${ACTIVE}) LIMIT 1`, [row.node_id, id]);
      if (other) return { busy: true };
      if (active && row.attempts >= options.maxAttempts) {
        await tx.run(`UPDATE node_scans SET state = 'failed', reason = 'interrupted', reason_detail = ?, finished_at = ? WHERE id = ?`, [`the scan was interrupted ${row.attempts} times (its worker stopped while it ran)`, at, id]);
        return { ended: nodeScanOf((await tx.get<NodeScanRow>('SELECT * FROM node_scans WHERE id = ?', [id]))!) };
      }
      await tx.run("UPDATE node_scans SET state = 'snapshot', worker = ?, attempts = attempts + 1, started_at = ?, heartbeat_at = ? WHERE id = ?", [worker, at, at, id]);
      return { scan: nodeScanOf((await tx.get<NodeScanRow>('SELECT * FROM node_scans WHERE id = ?', [id]))!) };
    });
  }

  /** Gives a claimed scan back to the queue (a transient failure to be retried); false when the claim was lost. */
  async releaseNodeScan(id: string, worker: string): Promise<boolean> {
    return (await this.driver.run(`UPDATE node_scans SET state = 'queued', worker = NULL, heartbeat_at = NULL WHERE id = ? AND worker = ? AND state IN (${ACTIVE})`, [id, worker])) === 1;
  }

  /** Node scans by state (metrics). */
  async nodeScanStates(): Promise<Record<string, number>> {
    const rows = await this.driver.all<{ state: string; n: number | string }>('SELECT state, COUNT(*) AS n FROM node_scans GROUP BY state');
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }

  /** Open findings by severity (metrics). */
  async openFindingsBySeverity(): Promise<Record<string, number>> {
    const rows = await this.driver.all<{ severity: string; n: number | string }>('SELECT severity, COUNT(*) AS n FROM findings WHERE resolved_at IS NULL GROUP BY severity');
    return Object.fromEntries(rows.map((r) => [r.severity, Number(r.n)]));
  }

  /**
   * A lease on a named role (the scheduler's leadership): taken when free, expired or already
   * ours, for `ttlMs`. Compare-and-set on the stored value, so two contenders never both win.
   */
  async tryLeadership(key: string, owner: string, now: Date, ttlMs: number): Promise<boolean> {
    await this.driver.run("INSERT INTO store_meta (key, value) VALUES (?, '') ON CONFLICT (key) DO NOTHING", [key]);
    const row = await this.driver.get<{ value: string }>('SELECT value FROM store_meta WHERE key = ?', [key]);
    const current = row?.value ?? '';
    const sep = current.lastIndexOf('|');
    const holder = sep > 0 ? current.slice(0, sep) : '';
    const until = sep > 0 ? Date.parse(current.slice(sep + 1)) : 0;
    if (holder !== '' && holder !== owner && until > now.getTime()) return false;
    const next = `${owner}|${new Date(now.getTime() + ttlMs).toISOString()}`;
    return (await this.driver.run('UPDATE store_meta SET value = ? WHERE key = ? AND value = ?', [next, key, current])) === 1;
  }

  /** Gives a role's lease up (graceful stop), when it is still ours. */
  async resignLeadership(key: string, owner: string): Promise<void> {
    const row = await this.driver.get<{ value: string }>('SELECT value FROM store_meta WHERE key = ?', [key]);
    if (row && row.value.startsWith(`${owner}|`)) await this.driver.run("UPDATE store_meta SET value = '' WHERE key = ? AND value = ?", [key, row.value]);
  }

  /** Moves a claimed scan to its next active state (and beats its heartbeat); false when the claim was lost. */
  async advanceNodeScan(id: string, worker: string, state: 'snapshot' | 'read' | 'match', at: string): Promise<boolean> {
    return (await this.driver.run(`UPDATE node_scans SET state = ?, heartbeat_at = ? WHERE id = ? AND worker = ? AND state IN (${ACTIVE})`, [state, at, id, worker])) === 1;
  }

  async heartbeat(ids: readonly string[], worker: string, at: string): Promise<void> {
    for (const id of ids) await this.driver.run(`UPDATE node_scans SET heartbeat_at = ? WHERE id = ? AND worker = ? AND state IN (${ACTIVE})`, [at, id, worker]);
  }

  /**
   * After a crash: scans left active by a dead worker (`isDead`) or with a heartbeat older than
   * `staleBefore` go back to the queue while they have attempts left, else fail as
   * `interrupted`. Never left "running".
   */
  async recoverInterrupted(options: { staleBefore: string; isDead: (worker: string) => boolean; maxAttempts: number }, at: string): Promise<{ requeued: number; failed: number; runs: string[] }> {
    return this.driver.transaction(async (tx) => {
      const active = await tx.all<{ id: string; run_id: string; attempts: number; worker: string | null; heartbeat_at: string | null }>(`SELECT id, run_id, attempts, worker, heartbeat_at FROM node_scans WHERE state IN (${ACTIVE})`);
      const stale = active.filter((s) => s.worker === null || s.heartbeat_at === null || s.heartbeat_at < options.staleBefore || options.isDead(s.worker));
      let requeued = 0;
      let failed = 0;
      for (const s of stale) {
        if (s.attempts < options.maxAttempts) {
          requeued += await tx.run(`UPDATE node_scans SET state = 'queued', worker = NULL, heartbeat_at = NULL WHERE id = ? AND state IN (${ACTIVE})`, [s.id]);
        } else {
          failed += await tx.run(
            `UPDATE node_scans SET state = 'failed', reason = 'interrupted', reason_detail = ?, finished_at = ? WHERE id = ? AND state IN (${ACTIVE})`,
            [`the scan was interrupted ${s.attempts} times (the process stopped while it ran)`, at, s.id],
          );
        }
      }
      return { requeued, failed, runs: [...new Set(stale.map((s) => s.run_id))] };
    });
  }

  /** Ends a claimed scan without publishing (failed with its reason). False when the claim was lost. */
  async failNodeScan(id: string, worker: string, input: { reason: NodeScanReason; detail?: string; bytesRead?: number; durationMs?: number; coverage?: unknown; at: string }): Promise<boolean> {
    const n = await this.driver.run(
      `UPDATE node_scans SET state = 'failed', reason = ?, reason_detail = ?, bytes_read = ?, duration_ms = ?, coverage = ?, finished_at = ? WHERE id = ? AND worker = ? AND state IN (${ACTIVE})`,
      [input.reason, input.detail ?? null, input.bytesRead ?? 0, input.durationMs ?? null, input.coverage === undefined ? null : json(input.coverage), input.at, id, worker],
    );
    return n === 1;
  }

  /** Cancels the queued scans of a run (the active ones finish). */
  async cancelRun(runId: string, at: string): Promise<void> {
    await this.driver.transaction(async (tx) => {
      await tx.run("UPDATE node_scans SET state = 'skipped', reason = 'interrupted', reason_detail = 'run cancelled', finished_at = ? WHERE run_id = ? AND state = 'queued'", [at, runId]);
      await tx.run("UPDATE scan_runs SET state = 'cancelled', finished_at = ? WHERE id = ? AND state IN ('queued', 'running')", [at, runId]);
    });
  }

  // -- inventories --

  async findInventory(fingerprint: string): Promise<{ id: string; inventory: Inventory } | undefined> {
    const r = await this.driver.get<{ id: string; data: Uint8Array }>('SELECT id, data FROM inventories WHERE fingerprint = ?', [fingerprint]);
    return r && { id: r.id, inventory: decodeInventory(r.data) };
  }

  /** The inventory recorded under a quick key (see scan/node-scan.ts quickKey), with its fingerprint. */
  async findInventoryByKey(key: string): Promise<{ id: string; fingerprint: string; inventory: Inventory } | undefined> {
    const r = await this.driver.get<{ id: string; fingerprint: string; data: Uint8Array }>('SELECT i.id, i.fingerprint, i.data FROM inventory_keys k JOIN inventories i ON i.id = k.inventory_id WHERE k.key = ?', [key]);
    return r && { id: r.id, fingerprint: r.fingerprint, inventory: decodeInventory(r.data) };
  }

  async getInventory(id: string): Promise<Inventory | undefined> {
    const r = await this.driver.get<{ data: Uint8Array }>('SELECT data FROM inventories WHERE id = ?', [id]);
    return r && decodeInventory(r.data);
  }

  /** Nodes (present, with a current inventory) grouped by that inventory: what a re-match reads. */
  async currentInventories(account?: string): Promise<{ inventoryId: string; nodeIds: string[] }[]> {
    const rows = await this.driver.all<{ id: string; current_inventory_id: string }>(
      `SELECT id, current_inventory_id FROM nodes WHERE current_inventory_id IS NOT NULL AND gone_at IS NULL ${account !== undefined ? 'AND account_id = ?' : ''} ORDER BY current_inventory_id, id`,
      account !== undefined ? [account] : [],
    );
    const by = new Map<string, string[]>();
    for (const r of rows) by.set(r.current_inventory_id, [...(by.get(r.current_inventory_id) ?? []), r.id]);
    return [...by].map(([inventoryId, nodeIds]) => ({ inventoryId, nodeIds }));
  }

  // -- publication --

  /**
   * Publishes a claimed node scan in ONE transaction: the inventory (stored once per
   * fingerprint), the node's findings and alerts (upserted by key: same CVE on the same package
   * of the same node is one row across scans; rows not seen again are resolved), the node's
   * current inventory, and the scan's final state. Throws ConflictError when the claim was lost
   * (the scan was re-queued after its worker was presumed dead): nothing is written then.
   */
  async publishNodeScan(p: Publication): Promise<PublishSummary> {
    const summary: PublishSummary = { findings: { open: 0, added: 0, resolved: 0 }, alerts: { active: 0, added: 0, resolved: 0 } };
    await this.driver.transaction(async (tx) => {
      const scan = await tx.get<NodeScanRow>('SELECT * FROM node_scans WHERE id = ?', [p.nodeScanId]);
      if (!scan || scan.worker !== p.worker || !(ACTIVE_NODE_SCAN_STATES as readonly string[]).includes(scan.state)) {
        throw new ConflictError(`node scan ${p.nodeScanId} is no longer claimed by ${p.worker}`);
      }
      const node = (await tx.get<NodeRow>('SELECT * FROM nodes WHERE id = ?', [scan.node_id]))!;
      let inventoryId: string | undefined;
      if (p.inventory && 'id' in p.inventory) inventoryId = p.inventory.id;
      else if (p.inventory) {
        const inv = p.inventory;
        await tx.run(
          'INSERT INTO inventories (id, fingerprint, source, os, package_count, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (fingerprint) DO NOTHING',
          [randomUUID(), inv.fingerprint, inv.source, inv.inventory.os ? `${inv.inventory.os.family} ${inv.inventory.os.versionId}` : null, inv.inventory.packages.length, encodeInventory(inv.inventory), p.at],
        );
        inventoryId = (await tx.get<{ id: string }>('SELECT id FROM inventories WHERE fingerprint = ?', [inv.fingerprint]))!.id;
      }
      if (p.quickKey !== undefined && inventoryId !== undefined) {
        await tx.run('INSERT INTO inventory_keys (key, inventory_id, created_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET inventory_id = excluded.inventory_id, created_at = excluded.created_at', [p.quickKey, inventoryId, p.at]);
      }
      if (p.findings !== undefined) Object.assign(summary.findings, await this.#publishFindings(tx, node, scan.id, p.findings, p.at));
      if (p.alerts !== undefined) Object.assign(summary.alerts, await this.#publishAlerts(tx, node, scan.id, p.alerts, p.at));
      await tx.run(
        `UPDATE node_scans SET state = ?, reason = ?, reason_detail = ?, inventory_id = ?, inventory_source = ?, fingerprint = ?, bytes_read = ?, duration_ms = ?, findings_count = ?, alerts_count = ?, coverage = ?, finished_at = ? WHERE id = ?`,
        [
          p.state, p.reason ?? null, p.reasonDetail ?? null, inventoryId ?? null, p.inventorySource ?? null, p.fingerprint ?? null, p.bytesRead, p.durationMs,
          p.findings === undefined ? null : summary.findings.open, p.alerts === undefined ? null : summary.alerts.active,
          p.coverage === undefined ? null : json(p.coverage), p.at, p.nodeScanId,
        ],
      );
      await tx.run(
        'UPDATE nodes SET current_inventory_id = COALESCE(?, current_inventory_id), last_scan_id = ?, last_published_at = CASE WHEN ? = 1 THEN ? ELSE last_published_at END WHERE id = ?',
        [inventoryId ?? null, p.nodeScanId, p.findings !== undefined || p.alerts !== undefined ? 1 : 0, p.at, node.id],
      );
    });
    return summary;
  }

  async #publishFindings(tx: SqlExecutor, node: NodeRow, scanId: string, findings: readonly Finding[], at: string): Promise<PublishSummary['findings']> {
    // Vulnerability details once per CVE (the Findings list and the CVE pane read them there).
    const vulns = new Map<string, Finding>();
    for (const f of findings) if (!vulns.has(f.vulnerabilityId)) vulns.set(f.vulnerabilityId, f);
    const vulnRows = [...vulns.values()].map((f) => [
      f.vulnerabilityId, f.summary ?? null, json(f.aliases), json(f.cvss), Math.max(-1, ...f.cvss.map((c) => c.score ?? -1)) < 0 ? null : Math.max(...f.cvss.map((c) => c.score ?? -1)),
      f.epss?.score ?? null, f.epss?.percentile ?? null, f.kev ? json(f.kev) : null, at,
    ] as SqlValue[]);
    for (const batch of batches(vulnRows, 9, this.driver.maxParams)) {
      await tx.run(
        `INSERT INTO vulnerabilities (id, summary, aliases, cvss, cvss_score, epss, epss_percentile, kev, updated_at) VALUES ${valuesList(batch.length, 9)}
         ON CONFLICT (id) DO UPDATE SET summary = excluded.summary, aliases = excluded.aliases, cvss = excluded.cvss, cvss_score = excluded.cvss_score, epss = excluded.epss, epss_percentile = excluded.epss_percentile, kev = excluded.kev, updated_at = excluded.updated_at`,
        batch.flat(),
      );
    }
    const before = (await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM findings WHERE node_id = ?', [node.id]))!.n;
    const seen = new Set<string>();
    const rows: SqlValue[][] = [];
    // A finding's details (evidence, comparisons: kilobytes each) are the same on every node that
    // shares an inventory: stored once by content hash; each node's row keeps only its lifecycle.
    const details = new Map<string, string>();
    for (const f of [...findings].sort((a, b) => a.id.localeCompare(b.id))) {
      let key = findingKey(f);
      // Two installed versions of one package (rpm kernels): each its own row.
      if (seen.has(key)) key = `${key}@${f.package.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const { data, hash } = detailOf(f);
      details.set(hash, data);
      rows.push([
        randomUUID(), node.id, node.pool_id, node.cluster_id, node.account_id, key, f.vulnerabilityId, f.package.name, f.package.type, f.package.version,
        f.fixedVersion ?? null, f.state, f.severity, severityRank(f.severity), f.kernel?.release ?? null, hash, at, at, scanId,
      ]);
    }
    const known = new Set<string>();
    for (const batch of batches([...details.keys()], 1, this.driver.maxParams, 2000)) {
      for (const r of await tx.all<{ hash: string }>(`SELECT hash FROM finding_details WHERE hash IN (${batch.map(() => '?').join(', ')})`, batch)) known.add(r.hash);
    }
    const missing = [...details].filter(([h]) => !known.has(h)).map(([h, d]) => [h, d] as SqlValue[]);
    for (const batch of batches(missing, 2, this.driver.maxParams)) {
      await tx.run(`INSERT INTO finding_details (hash, data) VALUES ${valuesList(batch.length, 2)} ON CONFLICT (hash) DO NOTHING`, batch.flat());
    }
    for (const batch of batches(rows, 19, this.driver.maxParams)) {
      await tx.run(
        `INSERT INTO findings (id, node_id, pool_id, cluster_id, account_id, finding_key, vulnerability_id, package_name, package_type, installed_version, fixed_version, state, severity, severity_rank, kernel_release, detail_hash, first_seen, last_seen, last_scan_id)
         VALUES ${valuesList(batch.length, 19)}
         ON CONFLICT (node_id, finding_key) DO UPDATE SET installed_version = excluded.installed_version, fixed_version = excluded.fixed_version, state = excluded.state, severity = excluded.severity,
           severity_rank = excluded.severity_rank, kernel_release = excluded.kernel_release, detail_hash = excluded.detail_hash, last_seen = excluded.last_seen, resolved_at = NULL, last_scan_id = excluded.last_scan_id,
           pool_id = excluded.pool_id, cluster_id = excluded.cluster_id`,
        batch.flat(),
      );
    }
    const after = (await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM findings WHERE node_id = ?', [node.id]))!.n;
    const resolved = await tx.run('UPDATE findings SET resolved_at = ? WHERE node_id = ? AND resolved_at IS NULL AND last_scan_id <> ?', [at, node.id, scanId]);
    return { open: rows.length, added: after - before, resolved };
  }

  async #publishAlerts(tx: SqlExecutor, node: NodeRow, scanId: string, alerts: readonly Alert[], at: string): Promise<PublishSummary['alerts']> {
    const before = (await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM alerts WHERE node_id = ?', [node.id]))!.n;
    const seen = new Set<string>();
    const rows: SqlValue[][] = [];
    for (const a of alerts) {
      const key = alertKey(a);
      if (seen.has(key)) continue;
      seen.add(key);
      const { node: _node, ...rest } = a;
      rows.push([randomUUID(), node.id, node.pool_id, node.cluster_id, node.account_id, key, a.kind, a.engine, a.rule, a.path, a.sha256, a.severity, 'active', json(rest), at, at, scanId]);
    }
    for (const batch of batches(rows, 17, this.driver.maxParams)) {
      // A dismissed alert stays dismissed when seen again; a resolved one that comes back is active again.
      await tx.run(
        `INSERT INTO alerts (id, node_id, pool_id, cluster_id, account_id, alert_key, kind, engine, rule, path, sha256, severity, status, data, first_seen, last_seen, last_scan_id)
         VALUES ${valuesList(batch.length, 17)}
         ON CONFLICT (node_id, alert_key) DO UPDATE SET sha256 = excluded.sha256, severity = excluded.severity, data = excluded.data, last_seen = excluded.last_seen, last_scan_id = excluded.last_scan_id,
           status = CASE WHEN alerts.status = 'resolved' THEN 'active' ELSE alerts.status END,
           resolved_at = CASE WHEN alerts.status = 'resolved' THEN NULL ELSE alerts.resolved_at END`,
        batch.flat(),
      );
    }
    const after = (await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM alerts WHERE node_id = ?', [node.id]))!.n;
    // The file is gone from this scan: the alert resolves by itself.
    const resolved = await tx.run(
      "UPDATE alerts SET status = 'resolved', resolved_at = ?, status_reason = 'not found in a later scan', status_by = 'hullscan', status_at = ? WHERE node_id = ? AND status <> 'resolved' AND last_scan_id <> ?",
      [at, at, node.id, scanId],
    );
    return { active: rows.length, added: after - before, resolved };
  }

  /**
   * Opens a node scan already claimed by `worker` (re-match runs publish stored inventories
   * through the same path as disk scans, so they start at `match`).
   */
  async openNodeScan(runId: string, nodeId: string, worker: string, at: string): Promise<NodeScan> {
    const run = await this.driver.get<RunRow>('SELECT * FROM scan_runs WHERE id = ?', [runId]);
    if (!run) throw new StoreError(`no run ${runId}`);
    const id = randomUUID();
    await this.driver.run(
      "INSERT INTO node_scans (id, run_id, node_id, account_id, state, bytes_read, attempts, worker, heartbeat_at, created_at, started_at) VALUES (?, ?, ?, ?, 'match', 0, 1, ?, ?, ?, ?)",
      [id, runId, nodeId, run.account_id, worker, at, at, at],
    );
    return (await this.getNodeScan(id))!;
  }

  // -- reads for the CLI (the security views build on these) --

  async listFindings(filter: FindingFilter = {}): Promise<StoredFinding[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (!filter.all) where.push('f.resolved_at IS NULL');
    if (filter.account !== undefined) addWhere(where, params, 'f.account_id = ?', filter.account);
    if (filter.accounts !== undefined) addWhere(where, params, `f.account_id IN (${filter.accounts.map(() => '?').join(', ') || "''"})`, ...filter.accounts);
    if (filter.cluster !== undefined) addWhere(where, params, 'c.name = ?', filter.cluster);
    if (filter.pool !== undefined) addWhere(where, params, 'p.name = ?', filter.pool);
    if (filter.node !== undefined) addWhere(where, params, 'n.name = ?', filter.node);
    if (filter.vulnerabilityId !== undefined) addWhere(where, params, 'f.vulnerability_id = ?', filter.vulnerabilityId);
    if (filter.severities?.length) addWhere(where, params, `f.severity IN (${filter.severities.map(() => '?').join(', ')})`, ...filter.severities);
    const limit = filter.limit !== undefined ? ' LIMIT ?' : '';
    if (filter.limit !== undefined) params.push(filter.limit);
    const rows = await this.driver.all<{
      id: string; node_id: string; data: string; first_seen: string; last_seen: string; resolved_at: string | null; account_id: string; cluster_name: string; pool_name: string; node_name: string;
      summary: string | null; aliases: string | null; cvss: string | null; epss: number | null; epss_percentile: number | null; kev: string | null; vuln_updated: string | null; vulnerability_id: string;
    }>(
      `SELECT f.id, f.node_id, d.data, f.first_seen, f.last_seen, f.resolved_at, f.account_id, f.vulnerability_id, c.name AS cluster_name, p.name AS pool_name, n.name AS node_name,
              v.summary, v.aliases, v.cvss, v.epss, v.epss_percentile, v.kev, v.updated_at AS vuln_updated
       FROM findings f JOIN finding_details d ON d.hash = f.detail_hash JOIN nodes n ON n.id = f.node_id JOIN node_pools p ON p.id = f.pool_id JOIN clusters c ON c.id = f.cluster_id
       LEFT JOIN vulnerabilities v ON v.id = f.vulnerability_id
       ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       ORDER BY f.severity_rank, f.vulnerability_id, f.account_id, c.name, p.name, n.name, f.package_name${limit}`,
      params,
    );
    return rows.map((r) => {
      const rest = JSON.parse(r.data) as Omit<Finding, 'summary' | 'aliases' | 'cvss' | 'epss' | 'kev' | 'node'>;
      const ref: NodeRef = { account: r.account_id, cluster: r.cluster_name, nodePool: r.pool_name, node: r.node_name };
      const finding: Finding = { ...rest, aliases: parse<string[]>(r.aliases, []), cvss: parse(r.cvss, []) };
      if (r.summary !== null) finding.summary = r.summary;
      if (r.epss !== null && r.epss_percentile !== null) finding.epss = { cve: r.vulnerability_id, score: r.epss, percentile: r.epss_percentile, date: (r.vuln_updated ?? '').slice(0, 10) };
      if (r.kev) finding.kev = JSON.parse(r.kev);
      const out: StoredFinding = { id: r.id, finding, ref, nodeId: r.node_id, firstSeen: r.first_seen, lastSeen: r.last_seen };
      if (r.resolved_at !== null) out.resolvedAt = r.resolved_at;
      return out;
    });
  }

  async listAlerts(filter: AlertFilter = {}): Promise<StoredAlert[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.account !== undefined) addWhere(where, params, 'a.account_id = ?', filter.account);
    if (filter.cluster !== undefined) addWhere(where, params, 'c.name = ?', filter.cluster);
    if (filter.pool !== undefined) addWhere(where, params, 'p.name = ?', filter.pool);
    if (filter.node !== undefined) addWhere(where, params, 'n.name = ?', filter.node);
    if (filter.statuses?.length) addWhere(where, params, `a.status IN (${filter.statuses.map(() => '?').join(', ')})`, ...filter.statuses);
    const rows = await this.driver.all<{
      id: string; node_id: string; data: string; status: string; status_reason: string | null; status_by: string | null; status_at: string | null; first_seen: string; last_seen: string; resolved_at: string | null;
      account_id: string; cluster_name: string; pool_name: string; node_name: string;
    }>(
      `SELECT a.id, a.node_id, a.data, a.status, a.status_reason, a.status_by, a.status_at, a.first_seen, a.last_seen, a.resolved_at, a.account_id, c.name AS cluster_name, p.name AS pool_name, n.name AS node_name
       FROM alerts a JOIN nodes n ON n.id = a.node_id JOIN node_pools p ON p.id = a.pool_id JOIN clusters c ON c.id = a.cluster_id
       ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       ORDER BY CASE a.severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END, a.account_id, c.name, p.name, n.name, a.path${filter.limit !== undefined ? ' LIMIT ?' : ''}`,
      filter.limit !== undefined ? [...params, filter.limit] : params,
    );
    return rows.map((r) => {
      const out: StoredAlert = {
        id: r.id, alert: JSON.parse(r.data) as Alert, ref: { account: r.account_id, cluster: r.cluster_name, nodePool: r.pool_name, node: r.node_name }, nodeId: r.node_id,
        status: r.status as AlertStatus, firstSeen: r.first_seen, lastSeen: r.last_seen,
      };
      opt(out, 'statusReason', r.status_reason);
      opt(out, 'statusBy', r.status_by);
      opt(out, 'statusAt', r.status_at);
      opt(out, 'resolvedAt', r.resolved_at);
      return out;
    });
  }

  /** Counts rows of a table (tests and metrics). */
  async count(table: 'findings' | 'alerts' | 'inventories' | 'nodes' | 'node_scans' | 'scan_runs' | 'snapshot_leases', where = '', params: SqlValue[] = []): Promise<number> {
    return (await this.driver.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}${where ? ' WHERE ' + where : ''}`, params))!.n;
  }

  // -- snapshot lease ledger --

  /** Records the intent to create a snapshot BEFORE creating it: a crash in between leaves a lease the sweeper resolves. */
  async recordLeaseIntent(input: { provider: string; account: string; node?: string; nodeScan?: string; diskRef: string; owner: string; at: string; expiresAt: string }): Promise<SnapshotLease> {
    const id = randomUUID();
    await this.driver.run(
      "INSERT INTO snapshot_leases (id, provider, account_id, node_id, node_scan_id, disk_ref, state, owner, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, 'intent', ?, ?, ?)",
      [id, input.provider, input.account, input.node ?? null, input.nodeScan ?? null, input.diskRef, input.owner, input.at, input.expiresAt],
    );
    return (await this.getLease(id))!;
  }

  async confirmLease(id: string, snapshotRef: string): Promise<void> {
    await this.driver.run("UPDATE snapshot_leases SET state = 'created', snapshot_ref = ? WHERE id = ?", [snapshotRef, id]);
  }

  async markLeaseDeleted(id: string, at: string): Promise<void> {
    await this.driver.run("UPDATE snapshot_leases SET state = 'deleted', deleted_at = ?, error = NULL WHERE id = ?", [at, id]);
  }

  async markLeaseDeleteFailed(id: string, error: string): Promise<void> {
    await this.driver.run("UPDATE snapshot_leases SET state = 'delete-failed', error = ? WHERE id = ? AND state <> 'deleted'", [error, id]);
  }

  async getLease(id: string): Promise<SnapshotLease | undefined> {
    const r = await this.driver.get<LeaseRow>('SELECT * FROM snapshot_leases WHERE id = ?', [id]);
    return r && leaseOf(r);
  }

  /** Leases not known to be deleted; with `expiredBefore`, only those whose lease ran out. */
  async openLeases(options: { expiredBefore?: string; provider?: string } = {}): Promise<SnapshotLease[]> {
    const where = ["state <> 'deleted'"];
    const params: SqlValue[] = [];
    if (options.expiredBefore !== undefined) addWhere(where, params, 'expires_at < ?', options.expiredBefore);
    if (options.provider !== undefined) addWhere(where, params, 'provider = ?', options.provider);
    return (await this.driver.all<LeaseRow>(`SELECT * FROM snapshot_leases WHERE ${where.join(' AND ')} ORDER BY created_at`, params)).map(leaseOf);
  }

  // -- small facts the control plane remembers (the vulnerability data build it last matched against) --

  async getMeta(key: string): Promise<string | undefined> {
    return (await this.driver.get<{ value: string }>('SELECT value FROM store_meta WHERE key = ?', [key]))?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.driver.run('INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  // -- retention --

  /** Deletes resolved findings, resolved alerts and finished runs older than each account's retention. */
  async purge(now: Date): Promise<{ findings: number; alerts: number; runs: number }> {
    const out = { findings: 0, alerts: 0, runs: 0 };
    for (const a of await this.listAccounts()) {
      const before = new Date(now.getTime() - a.settings.retentionDays * 86_400_000).toISOString();
      await this.driver.transaction(async (tx) => {
        out.findings += await tx.run('DELETE FROM findings WHERE account_id = ? AND resolved_at IS NOT NULL AND resolved_at < ?', [a.id, before]);
        out.alerts += await tx.run("DELETE FROM alerts WHERE account_id = ? AND status = 'resolved' AND resolved_at < ?", [a.id, before]);
        // Keep each node's last scan (nodes point at it) and unfinished runs.
        const old = await tx.all<{ id: string }>(
          "SELECT id FROM scan_runs WHERE account_id = ? AND finished_at IS NOT NULL AND finished_at < ? AND NOT EXISTS (SELECT 1 FROM node_scans s JOIN nodes n ON n.last_scan_id = s.id WHERE s.run_id = scan_runs.id)",
          [a.id, before],
        );
        for (const r of old) {
          await tx.run('DELETE FROM node_scans WHERE run_id = ?', [r.id]);
          out.runs += await tx.run('DELETE FROM scan_runs WHERE id = ?', [r.id]);
        }
      });
    }
    if (out.findings > 0) await this.driver.run('DELETE FROM finding_details WHERE NOT EXISTS (SELECT 1 FROM findings f WHERE f.detail_hash = finding_details.hash)');
    return out;
  }
}

export function encodeInventory(inventory: Inventory): Uint8Array {
  return gzipSync(JSON.stringify(inventory));
}

export function decodeInventory(data: Uint8Array): Inventory {
  return JSON.parse(gunzipSync(data).toString('utf8')) as Inventory;
}
