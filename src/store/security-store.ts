/**
 * The security views' queries (service/ builds recommendations, the Findings list, the CVE pane,
 * remediation, exemptions, alert review and history on them). Written once for both dialects
 * over the same SqlDriver as FleetStore; the tables are migration 2's (exemptions, alert
 * suppression rules, alert status history, per-account thresholds) and migration 1's findings,
 * alerts and nodes.
 *
 * Exemption and suppression patterns are globs (`*`, `?`) turned into LIKE patterns, matched
 * without regard to ASCII case on both dialects (SQLite's LIKE is case-insensitive; PostgreSQL
 * gets ILIKE), so that one store answers the same on either.
 */
import { randomUUID } from 'node:crypto';
import type { Alert } from '../malware/index.ts';
import type { Finding } from '../match/index.ts';
import { batches, StoreError, valuesList, type Dialect, type SqlDriver, type SqlValue } from './driver.ts';
import { severityRank } from './fleet-store.ts';
import type { AlertStatus, NodeRef, NodeScanReason, NodeScanState } from './model.ts';

export const EXEMPTION_REASONS = ['mitigated', 'risk-accepted', 'false-positive'] as const;
export type ExemptionReason = (typeof EXEMPTION_REASONS)[number];

/** Where an exemption or a suppression rule applies: an account, or one of its clusters, pools or nodes (by id). */
export interface Scope {
  account: string;
  cluster?: string;
  pool?: string;
  node?: string;
  /** "sub-1/aks-dev/np1": how the scope reads, kept with the row (names may later be reused). */
  label: string;
}

export interface Exemption {
  id: string;
  scope: Scope;
  /** Glob over the vulnerability id ("CVE-2024-1234", "CVE-2023-*"). */
  vulnerability?: string;
  /** Glob over the package name ("openssl", "linux-*"). */
  package?: string;
  reason: ExemptionReason;
  owner: string;
  note?: string;
  expiresAt?: string;
  createdBy: string;
  createdAt: string;
  removedBy?: string;
  removedAt?: string;
}

export interface ExemptionInput {
  scope: Scope;
  vulnerability?: string;
  package?: string;
  reason: ExemptionReason;
  owner: string;
  note?: string;
  expiresAt?: string;
  by: string;
  at: string;
}

export interface Suppression {
  id: string;
  scope: Scope;
  pathGlob?: string;
  rule?: string;
  sha256?: string;
  reason: string;
  createdBy: string;
  createdAt: string;
  expiresAt?: string;
  removedBy?: string;
  removedAt?: string;
}

export interface SuppressionInput {
  scope: Scope;
  pathGlob?: string;
  rule?: string;
  sha256?: string;
  reason: string;
  expiresAt?: string;
  by: string;
  at: string;
}

export interface AlertStatusChange {
  alertId: string;
  status: AlertStatus;
  reason?: string;
  by: string;
  at: string;
}

/** One node with its names and the state of its latest node scan. */
export interface NodeState {
  id: string;
  ref: NodeRef;
  clusterId: string;
  poolId: string;
  kernel?: string;
  goneAt?: string;
  lastPublishedAt?: string;
  currentInventoryId?: string;
  lastScan?: { state: NodeScanState; reason?: NodeScanReason; reasonDetail?: string; finishedAt?: string; inventorySource?: string };
}

/** Which open findings a query covers. Ids, not names: service/ resolves names first. */
export interface FindingScope {
  accounts?: readonly string[];
  clusterIds?: readonly string[];
  poolIds?: readonly string[];
  nodeIds?: readonly string[];
  /** Nodes whose findings do not count (gone, excluded, in accounts with scanning off). */
  excludeNodeIds?: readonly string[];
  vulnerabilityId?: string;
  /** Severities by rank (store/fleet-store.ts severityRank). */
  severityRanks?: readonly number[];
  /** Findings of this package (exact name). */
  packageName?: string;
  /** Only findings with a fixed version (true) or without (false). */
  fixAvailable?: boolean;
  /** Known exploited (CISA KEV) only. */
  kev?: boolean;
  /** Substring of the vulnerability id, its title or a package name. */
  search?: string;
}

export const VULNERABILITY_SORTS = ['severity', 'cvss', 'epss', 'nodes', 'first-seen', 'id'] as const;
export type VulnerabilitySort = (typeof VULNERABILITY_SORTS)[number];

/** One row of the Findings list: one vulnerability over the scope. */
export interface VulnerabilityRow {
  vulnerabilityId: string;
  severityRank: number;
  title?: string;
  cvssScore?: number;
  cvss: Finding['cvss'];
  aliases: string[];
  epss?: { score: number; percentile: number };
  kev?: NonNullable<Finding['kev']>;
  findings: number;
  exemptFindings: number;
  nodes: number;
  pools: number;
  clusters: number;
  /** Whether any of its findings has a fixed version. */
  fixable: boolean;
  firstSeen: string;
}

/** Per vulnerability: the packages, fix states and fixed versions of its findings in the scope. */
export interface VulnerabilityPackages {
  vulnerabilityId: string;
  packages: string[];
  states: Finding['state'][];
  fixedVersions: string[];
}

/** One finding of the CVE pane: the resource it is on and what was found there. */
export interface AffectedRow {
  findingId: string;
  nodeId: string;
  ref: NodeRef;
  clusterId: string;
  poolId: string;
  nodeKernel?: string;
  finding: Omit<Finding, 'summary' | 'aliases' | 'cvss' | 'epss' | 'kev' | 'node'>;
  exempt: boolean;
  firstSeen: string;
  lastSeen: string;
}

/** Open vulnerabilities of one cluster (the recommendation's counts), per vulnerability. */
export interface ClusterVulnerability {
  clusterId: string;
  vulnerabilityId: string;
  severityRank: number;
  findings: number;
  exemptFindings: number;
  /** Whether every finding of it in the cluster is exempt. */
  allExempt: boolean;
  pools: string[];
}

/** Open vulnerabilities of one pool with their packages (remediation's "now"). */
export interface PoolVulnerability {
  poolId: string;
  vulnerabilityId: string;
  severityRank: number;
  packages: string[];
  exempt: boolean;
}

/** A group of findings with the same cluster, severity, first seen and resolved times (history is built from these). */
export interface HistoryGroup {
  clusterId: string;
  severityRank: number;
  firstSeen: string;
  resolvedAt?: string;
  count: number;
}

// ---- helpers ----------------------------------------------------------------------------

/** A glob (`*`, `?`) as a LIKE pattern with `\` as its escape. */
export function globToLike(glob: string): string {
  return glob.replace(/[\\%_]/g, (c) => `\\${c}`).replaceAll('*', '%').replaceAll('?', '_');
}

/** Text matched literally inside a LIKE pattern (`\` escape). */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function likeOp(dialect: Dialect): string {
  return dialect === 'postgres' ? 'ILIKE' : 'LIKE';
}

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

function parseJson<T>(s: string | null, fallback: T): T {
  return s === null || s === '' ? fallback : (JSON.parse(s) as T);
}

/** Whether an exemption is in force at `at`. */
export function exemptionActive(e: Pick<Exemption, 'removedAt' | 'expiresAt'>, at: string): boolean {
  return e.removedAt === undefined && (e.expiresAt === undefined || e.expiresAt > at);
}

/** SQL (and its parameters) that is 1 for a finding row `f` some exemption covers, else 0. */
function exemptExpr(exemptions: readonly Exemption[], dialect: Dialect): { sql: string; params: SqlValue[] } {
  if (exemptions.length === 0) return { sql: '0', params: [] };
  const like = likeOp(dialect);
  const params: SqlValue[] = [];
  const ors = exemptions.map((e) => {
    const and = ['f.account_id = ?'];
    params.push(e.scope.account);
    if (e.scope.cluster !== undefined) {
      and.push('f.cluster_id = ?');
      params.push(e.scope.cluster);
    }
    if (e.scope.pool !== undefined) {
      and.push('f.pool_id = ?');
      params.push(e.scope.pool);
    }
    if (e.scope.node !== undefined) {
      and.push('f.node_id = ?');
      params.push(e.scope.node);
    }
    if (e.vulnerability !== undefined) {
      and.push(`f.vulnerability_id ${like} ? ESCAPE '\\'`);
      params.push(globToLike(e.vulnerability));
    }
    if (e.package !== undefined) {
      and.push(`f.package_name ${like} ? ESCAPE '\\'`);
      params.push(globToLike(e.package));
    }
    return `(${and.join(' AND ')})`;
  });
  return { sql: `(CASE WHEN ${ors.join(' OR ')} THEN 1 ELSE 0 END)`, params };
}

/** WHERE clauses over open findings `f` for a scope. */
function scopeWhere(scope: FindingScope, dialect: Dialect): { sql: string; params: SqlValue[] } {
  const where = ['f.resolved_at IS NULL'];
  const params: SqlValue[] = [];
  const inList = (col: string, ids: readonly SqlValue[] | undefined, not = false) => {
    if (ids === undefined) return;
    if (ids.length === 0) {
      if (!not) where.push('1 = 0');
      return;
    }
    where.push(`${col} ${not ? 'NOT IN' : 'IN'} (${placeholders(ids.length)})`);
    params.push(...ids);
  };
  inList('f.account_id', scope.accounts);
  inList('f.cluster_id', scope.clusterIds);
  inList('f.pool_id', scope.poolIds);
  inList('f.node_id', scope.nodeIds);
  inList('f.node_id', scope.excludeNodeIds, true);
  inList('f.severity_rank', scope.severityRanks);
  if (scope.vulnerabilityId !== undefined) {
      where.push('f.vulnerability_id = ?');
      params.push(scope.vulnerabilityId);
    }
  if (scope.packageName !== undefined) {
      where.push('f.package_name = ?');
      params.push(scope.packageName);
    }
  if (scope.fixAvailable === true) where.push('f.fixed_version IS NOT NULL');
  if (scope.fixAvailable === false) where.push('f.fixed_version IS NULL');
  if (scope.kev === true) where.push('f.vulnerability_id IN (SELECT id FROM vulnerabilities WHERE kev IS NOT NULL)');
  if (scope.search !== undefined && scope.search !== '') {
    const like = likeOp(dialect);
    const pattern = `%${escapeLike(scope.search)}%`;
    where.push(`(f.vulnerability_id ${like} ? ESCAPE '\\' OR f.package_name ${like} ? ESCAPE '\\' OR f.vulnerability_id IN (SELECT id FROM vulnerabilities WHERE summary ${like} ? ESCAPE '\\'))`);
    params.push(pattern, pattern, pattern);
  }
  return { sql: where.join(' AND '), params };
}

// ---- rows -------------------------------------------------------------------------------

interface ExemptionRow {
  id: string;
  account_id: string;
  cluster_id: string | null;
  pool_id: string | null;
  node_id: string | null;
  scope_label: string;
  vulnerability_pattern: string | null;
  package_pattern: string | null;
  reason: string;
  owner: string;
  note: string | null;
  expires_at: string | null;
  created_by: string;
  created_at: string;
  removed_by: string | null;
  removed_at: string | null;
}

interface SuppressionRow {
  id: string;
  account_id: string;
  cluster_id: string | null;
  pool_id: string | null;
  node_id: string | null;
  scope_label: string;
  path_glob: string | null;
  rule: string | null;
  sha256: string | null;
  reason: string;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  removed_by: string | null;
  removed_at: string | null;
}

function scopeOf(r: { account_id: string; cluster_id: string | null; pool_id: string | null; node_id: string | null; scope_label: string }): Scope {
  return {
    account: r.account_id,
    ...(r.cluster_id !== null && { cluster: r.cluster_id }),
    ...(r.pool_id !== null && { pool: r.pool_id }),
    ...(r.node_id !== null && { node: r.node_id }),
    label: r.scope_label,
  };
}

function exemptionOf(r: ExemptionRow): Exemption {
  return {
    id: r.id,
    scope: scopeOf(r),
    ...(r.vulnerability_pattern !== null && { vulnerability: r.vulnerability_pattern }),
    ...(r.package_pattern !== null && { package: r.package_pattern }),
    reason: r.reason as ExemptionReason,
    owner: r.owner,
    ...(r.note !== null && { note: r.note }),
    ...(r.expires_at !== null && { expiresAt: r.expires_at }),
    createdBy: r.created_by,
    createdAt: r.created_at,
    ...(r.removed_by !== null && { removedBy: r.removed_by }),
    ...(r.removed_at !== null && { removedAt: r.removed_at }),
  };
}

function suppressionOf(r: SuppressionRow): Suppression {
  return {
    id: r.id,
    scope: scopeOf(r),
    ...(r.path_glob !== null && { pathGlob: r.path_glob }),
    ...(r.rule !== null && { rule: r.rule }),
    ...(r.sha256 !== null && { sha256: r.sha256 }),
    reason: r.reason,
    createdBy: r.created_by,
    createdAt: r.created_at,
    ...(r.expires_at !== null && { expiresAt: r.expires_at }),
    ...(r.removed_by !== null && { removedBy: r.removed_by }),
    ...(r.removed_at !== null && { removedAt: r.removed_at }),
  };
}

interface PageRow {
  vulnerability_id: string; sev: number; findings: number; exempt_findings: number | null; nodes: number; pools: number; clusters: number; fixable: number; first_seen: string;
  summary: string | null; aliases: string | null; cvss: string | null; cvss_score: number | null; epss: number | null; epss_percentile: number | null; kev: string | null; total: number;
}

function pageRowOf(r: PageRow): VulnerabilityRow {
  const out: VulnerabilityRow = {
    vulnerabilityId: r.vulnerability_id, severityRank: r.sev, cvss: parseJson(r.cvss, []), aliases: parseJson(r.aliases, []), findings: r.findings, exemptFindings: r.exempt_findings ?? 0,
    nodes: r.nodes, pools: r.pools, clusters: r.clusters, fixable: r.fixable === 1, firstSeen: r.first_seen,
  };
  if (r.summary !== null) out.title = r.summary;
  if (r.cvss_score !== null) out.cvssScore = r.cvss_score;
  if (r.epss !== null && r.epss_percentile !== null) out.epss = { score: r.epss, percentile: r.epss_percentile };
  if (r.kev !== null) out.kev = JSON.parse(r.kev) as NonNullable<Finding['kev']>;
  return out;
}

/** ORDER BY of a Findings page over a grouped `g` joined with vulnerabilities `v`; ties broken by id. */
function pageOrder(sort: VulnerabilitySort, descending: boolean): string {
  const dir = descending ? 'DESC' : 'ASC';
  const rdir = descending ? 'ASC' : 'DESC';
  const order: Record<VulnerabilitySort, string> = {
    severity: `g.sev ${dir}, COALESCE(v.cvss_score, -1) ${rdir}, g.nodes ${rdir}, g.vulnerability_id`,
    cvss: `COALESCE(v.cvss_score, -1) ${rdir}, g.sev, g.vulnerability_id`,
    epss: `COALESCE(v.epss, -1) ${rdir}, g.sev, g.vulnerability_id`,
    nodes: `g.nodes ${rdir}, g.sev, g.vulnerability_id`,
    'first-seen': `g.first_seen ${rdir}, g.sev, g.vulnerability_id`,
    id: `g.vulnerability_id ${dir}`,
  };
  return order[sort];
}

/** What the roll-up can be filtered by (vulnerability-level: a package filter keeps the vulnerabilities on that package, with all their counts). */
export interface RollupFilter {
  accounts?: readonly string[];
  clusterIds?: readonly string[];
  poolIds?: readonly string[];
  severityRanks?: readonly number[];
  packageName?: string | undefined;
  fixAvailable?: boolean;
  kev?: boolean | undefined;
  search?: string | undefined;
}

/** A pool's counted nodes and the stamp that says whether its roll-up rows are current. */
export interface PoolStamp {
  poolId: string;
  accountId: string;
  clusterId: string;
  nodeIds: readonly string[];
  /** The pool's nodes whose findings do not count (gone, excluded, never assessed). */
  excludeNodeIds?: readonly string[];
  stamp: string;
}

function rollupWhere(f: RollupFilter, dialect: Dialect): { sql: string; params: SqlValue[] } {
  const where: string[] = [];
  const params: SqlValue[] = [];
  const inList = (col: string, ids: readonly SqlValue[] | undefined) => {
    if (ids === undefined) return;
    if (ids.length === 0) where.push('1 = 0');
    else {
      where.push(`${col} IN (${placeholders(ids.length)})`);
      params.push(...ids);
    }
  };
  inList('r.account_id', f.accounts);
  inList('r.cluster_id', f.clusterIds);
  inList('r.pool_id', f.poolIds);
  const like = likeOp(dialect);
  if (f.packageName !== undefined) {
    where.push(`r.packages ${like} ? ESCAPE '\\'`);
    params.push(`%${escapeLike(JSON.stringify(f.packageName))}%`);
  }
  if (f.kev === true) where.push('r.vulnerability_id IN (SELECT id FROM vulnerabilities WHERE kev IS NOT NULL)');
  if (f.search !== undefined && f.search !== '') {
    const pattern = `%${escapeLike(f.search)}%`;
    where.push(`(r.vulnerability_id ${like} ? ESCAPE '\\' OR r.packages ${like} ? ESCAPE '\\' OR r.vulnerability_id IN (SELECT id FROM vulnerabilities WHERE summary ${like} ? ESCAPE '\\'))`);
    params.push(pattern, pattern, pattern);
  }
  return { sql: where.join(' AND '), params };
}

// ---- the store --------------------------------------------------------------------------

export class SecurityStore {
  readonly driver: SqlDriver;
  constructor(driver: SqlDriver) {
    this.driver = driver;
  }

  // -- nodes --

  /** Every node (gone ones too) with its names and its latest node scan, in one query. */
  async nodeStates(): Promise<NodeState[]> {
    const rows = await this.driver.all<{
      id: string; account_id: string; cluster_id: string; pool_id: string; name: string; cluster_name: string; pool_name: string; kernel: string | null; gone_at: string | null;
      last_published_at: string | null; current_inventory_id: string | null; s_state: string | null; s_reason: string | null; s_detail: string | null; s_finished: string | null; s_source: string | null;
    }>(
      `SELECT n.id, n.account_id, n.cluster_id, n.pool_id, n.name, c.name AS cluster_name, p.name AS pool_name, n.kernel, n.gone_at, n.last_published_at, n.current_inventory_id,
              s.state AS s_state, s.reason AS s_reason, s.reason_detail AS s_detail, s.finished_at AS s_finished, s.inventory_source AS s_source
       FROM nodes n JOIN node_pools p ON p.id = n.pool_id JOIN clusters c ON c.id = n.cluster_id
       LEFT JOIN node_scans s ON s.id = (SELECT l.id FROM node_scans l WHERE l.node_id = n.id ORDER BY l.created_at DESC, l.id DESC LIMIT 1)
       ORDER BY n.account_id, c.name, p.name, n.name`,
    );
    return rows.map((r) => {
      const n: NodeState = { id: r.id, ref: { account: r.account_id, cluster: r.cluster_name, nodePool: r.pool_name, node: r.name }, clusterId: r.cluster_id, poolId: r.pool_id };
      if (r.kernel !== null) n.kernel = r.kernel;
      if (r.gone_at !== null) n.goneAt = r.gone_at;
      if (r.last_published_at !== null) n.lastPublishedAt = r.last_published_at;
      if (r.current_inventory_id !== null) n.currentInventoryId = r.current_inventory_id;
      if (r.s_state !== null) {
        n.lastScan = { state: r.s_state as NodeScanState };
        if (r.s_reason !== null) n.lastScan.reason = r.s_reason as NodeScanReason;
        if (r.s_detail !== null) n.lastScan.reasonDetail = r.s_detail;
        if (r.s_finished !== null) n.lastScan.finishedAt = r.s_finished;
        if (r.s_source !== null) n.lastScan.inventorySource = r.s_source;
      }
      return n;
    });
  }

  // -- thresholds --

  async getThreshold(account: string): Promise<string | undefined> {
    return (await this.driver.get<{ severity_threshold: string }>('SELECT severity_threshold FROM security_settings WHERE account_id = ?', [account]))?.severity_threshold;
  }

  async listThresholds(): Promise<Map<string, string>> {
    const rows = await this.driver.all<{ account_id: string; severity_threshold: string }>('SELECT account_id, severity_threshold FROM security_settings');
    return new Map(rows.map((r) => [r.account_id, r.severity_threshold]));
  }

  async setThreshold(account: string, severity: string, by: string, at: string): Promise<void> {
    await this.driver.run(
      `INSERT INTO security_settings (account_id, severity_threshold, changed_by, changed_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (account_id) DO UPDATE SET severity_threshold = excluded.severity_threshold, changed_by = excluded.changed_by, changed_at = excluded.changed_at`,
      [account, severity, by, at],
    );
  }

  // -- exemptions --

  async addExemption(input: ExemptionInput): Promise<Exemption> {
    if (input.vulnerability === undefined && input.package === undefined) throw new StoreError('an exemption names a vulnerability or a package pattern');
    const id = randomUUID();
    const s = input.scope;
    await this.driver.run(
      `INSERT INTO exemptions (id, account_id, cluster_id, pool_id, node_id, scope_label, vulnerability_pattern, package_pattern, reason, owner, note, expires_at, created_by, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [id, s.account, s.cluster ?? null, s.pool ?? null, s.node ?? null, s.label, input.vulnerability ?? null, input.package ?? null, input.reason, input.owner, input.note ?? null, input.expiresAt ?? null, input.by, input.at],
    );
    return (await this.getExemption(id))!;
  }

  async getExemption(id: string): Promise<Exemption | undefined> {
    const r = await this.driver.get<ExemptionRow>('SELECT * FROM exemptions WHERE id = ?', [id]);
    return r && exemptionOf(r);
  }

  /** Exemptions, newest first; removed ones only with includeRemoved. */
  async listExemptions(filter: { account?: string; includeRemoved?: boolean } = {}): Promise<Exemption[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.account !== undefined) {
      where.push('account_id = ?');
      params.push(filter.account);
    }
    if (!filter.includeRemoved) where.push('removed_at IS NULL');
    const rows = await this.driver.all<ExemptionRow>(`SELECT * FROM exemptions ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, id`, params);
    return rows.map(exemptionOf);
  }

  /** Exemptions in force at `at` (not removed, not expired). */
  async activeExemptions(at: string, account?: string): Promise<Exemption[]> {
    return (await this.listExemptions(account !== undefined ? { account } : {})).filter((e) => exemptionActive(e, at));
  }

  /** Marks an exemption removed (kept for the record). False when there was none in force. */
  async removeExemption(id: string, by: string, at: string): Promise<boolean> {
    return (await this.driver.run('UPDATE exemptions SET removed_by = ?, removed_at = ? WHERE id = ? AND removed_at IS NULL', [by, at, id])) === 1;
  }

  // -- alert suppression rules and status --

  async addSuppression(input: SuppressionInput): Promise<Suppression> {
    if (input.pathGlob === undefined && input.rule === undefined && input.sha256 === undefined) throw new StoreError('a suppression rule names a path glob, a rule or a hash');
    const id = randomUUID();
    const s = input.scope;
    await this.driver.run(
      `INSERT INTO alert_suppressions (id, account_id, cluster_id, pool_id, node_id, scope_label, path_glob, rule, sha256, reason, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [id, s.account, s.cluster ?? null, s.pool ?? null, s.node ?? null, s.label, input.pathGlob ?? null, input.rule ?? null, input.sha256?.toLowerCase() ?? null, input.reason, input.by, input.at, input.expiresAt ?? null],
    );
    return suppressionOf((await this.driver.get<SuppressionRow>('SELECT * FROM alert_suppressions WHERE id = ?', [id]))!);
  }

  async listSuppressions(filter: { account?: string; includeRemoved?: boolean } = {}): Promise<Suppression[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.account !== undefined) {
      where.push('account_id = ?');
      params.push(filter.account);
    }
    if (!filter.includeRemoved) where.push('removed_at IS NULL');
    const rows = await this.driver.all<SuppressionRow>(`SELECT * FROM alert_suppressions ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, id`, params);
    return rows.map(suppressionOf);
  }

  async removeSuppression(id: string, by: string, at: string): Promise<boolean> {
    return (await this.driver.run('UPDATE alert_suppressions SET removed_by = ?, removed_at = ? WHERE id = ? AND removed_at IS NULL', [by, at, id])) === 1;
  }

  /**
   * Dismisses the active alerts a rule covers that were first seen at or after the rule was
   * made (rules apply to future alerts; `existing` applies one to those already there too), each
   * with its status history. Returns the ids dismissed.
   */
  async applySuppression(rule: Suppression, at: string, options: { existing?: boolean } = {}): Promise<string[]> {
    const like = likeOp(this.driver.dialect);
    const where = ["status = 'active'", 'account_id = ?'];
    const params: SqlValue[] = [rule.scope.account];
    if (!options.existing) {
      where.push('first_seen >= ?');
      params.push(rule.createdAt);
    }
    if (rule.scope.cluster !== undefined) {
      where.push('cluster_id = ?');
      params.push(rule.scope.cluster);
    }
    if (rule.scope.pool !== undefined) {
      where.push('pool_id = ?');
      params.push(rule.scope.pool);
    }
    if (rule.scope.node !== undefined) {
      where.push('node_id = ?');
      params.push(rule.scope.node);
    }
    if (rule.pathGlob !== undefined) {
      where.push(`path ${like} ? ESCAPE '\\'`);
      params.push(globToLike(rule.pathGlob));
    }
    if (rule.rule !== undefined) {
      where.push('rule = ?');
      params.push(rule.rule);
    }
    if (rule.sha256 !== undefined) {
      where.push('sha256 = ?');
      params.push(rule.sha256);
    }
    const ids = (await this.driver.all<{ id: string }>(`SELECT id FROM alerts WHERE ${where.join(' AND ')} ORDER BY id`, params)).map((r) => r.id);
    for (const id of ids) await this.setAlertStatus({ alertId: id, status: 'dismissed', reason: `suppressed by rule ${rule.id.slice(0, 8)}: ${rule.reason}`, by: `rule:${rule.id}`, at });
    return ids;
  }

  /** Alert ids starting with `prefix` (the CLI shows 8 characters). */
  async alertIdsByPrefix(prefix: string): Promise<string[]> {
    return (await this.driver.all<{ id: string }>('SELECT id FROM alerts WHERE id LIKE ? ORDER BY id LIMIT 2', [`${prefix.replace(/[\\%_]/g, '')}%`])).map((r) => r.id);
  }

  async getAlertStatus(id: string): Promise<{ status: AlertStatus; accountId: string; alert: Alert } | undefined> {
    const r = await this.driver.get<{ status: string; account_id: string; data: string }>('SELECT status, account_id, data FROM alerts WHERE id = ?', [id]);
    return r && { status: r.status as AlertStatus, accountId: r.account_id, alert: JSON.parse(r.data) as Alert };
  }

  /** Changes an alert's status and records the change; resolved sets resolved_at, active clears it. */
  async setAlertStatus(c: AlertStatusChange): Promise<void> {
    await this.driver.transaction(async (tx) => {
      const n = await tx.run(
        `UPDATE alerts SET status = ?, status_reason = ?, status_by = ?, status_at = ?, resolved_at = CASE WHEN ? = 'resolved' THEN ? WHEN ? = 'active' THEN NULL ELSE resolved_at END WHERE id = ?`,
        [c.status, c.reason ?? null, c.by, c.at, c.status, c.at, c.status, c.alertId],
      );
      if (n !== 1) throw new StoreError(`no alert ${c.alertId}`);
      const seq = (await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM alert_status_history WHERE alert_id = ?', [c.alertId]))!.n + 1;
      await tx.run('INSERT INTO alert_status_history (alert_id, seq, status, reason, changed_by, changed_at) VALUES (?, ?, ?, ?, ?, ?)', [c.alertId, seq, c.status, c.reason ?? null, c.by, c.at]);
    });
  }

  async alertHistory(id: string): Promise<{ status: AlertStatus; reason?: string; by: string; at: string }[]> {
    const rows = await this.driver.all<{ status: string; reason: string | null; changed_by: string; changed_at: string }>('SELECT * FROM alert_status_history WHERE alert_id = ? ORDER BY seq', [id]);
    return rows.map((r) => ({ status: r.status as AlertStatus, ...(r.reason !== null && { reason: r.reason }), by: r.changed_by, at: r.changed_at }));
  }

  // -- the Findings list --

  /**
   * One page of vulnerabilities over the open findings of a scope, with the total number of
   * rows matching; grouped in SQL, vulnerability details joined after grouping.
   */
  async vulnerabilityPage(
    scope: FindingScope,
    exemptions: readonly Exemption[],
    page: { sort: VulnerabilitySort; descending?: boolean; limit: number; offset: number },
  ): Promise<{ total: number; rows: VulnerabilityRow[] }> {
    const ex = exemptExpr(exemptions, this.driver.dialect);
    const w = scopeWhere(scope, this.driver.dialect);
    const dir = page.descending ? 'DESC' : 'ASC';
    const rdir = page.descending ? 'ASC' : 'DESC';
    const order: Record<VulnerabilitySort, string> = {
      severity: `g.sev ${dir}, COALESCE(v.cvss_score, -1) ${rdir}, g.nodes ${rdir}, g.vulnerability_id`,
      cvss: `COALESCE(v.cvss_score, -1) ${rdir}, g.sev, g.vulnerability_id`,
      epss: `COALESCE(v.epss, -1) ${rdir}, g.sev, g.vulnerability_id`,
      nodes: `g.nodes ${rdir}, g.sev, g.vulnerability_id`,
      'first-seen': `g.first_seen ${page.descending ? 'ASC' : 'DESC'}, g.sev, g.vulnerability_id`,
      id: `g.vulnerability_id ${dir}`,
    };
    const rows = await this.driver.all<{
      vulnerability_id: string; sev: number; findings: number; exempt_findings: number; nodes: number; pools: number; clusters: number; fixable: number; first_seen: string;
      summary: string | null; aliases: string | null; cvss: string | null; cvss_score: number | null; epss: number | null; epss_percentile: number | null; kev: string | null; total: number;
    }>(
      `SELECT g.*, v.summary, v.aliases, v.cvss, v.cvss_score, v.epss, v.epss_percentile, v.kev, COUNT(*) OVER () AS total
       FROM (
         SELECT f.vulnerability_id, MIN(f.severity_rank) AS sev, COUNT(*) AS findings, SUM(${ex.sql}) AS exempt_findings,
                COUNT(DISTINCT f.node_id) AS nodes, COUNT(DISTINCT f.pool_id) AS pools, COUNT(DISTINCT f.cluster_id) AS clusters,
                MAX(CASE WHEN f.fixed_version IS NULL THEN 0 ELSE 1 END) AS fixable, MIN(f.first_seen) AS first_seen
         FROM findings f WHERE ${w.sql}
         GROUP BY f.vulnerability_id
       ) g LEFT JOIN vulnerabilities v ON v.id = g.vulnerability_id
       ORDER BY ${order[page.sort]} LIMIT ? OFFSET ?`,
      [...ex.params, ...w.params, page.limit, page.offset],
    );
    return {
      total: rows[0]?.total ?? (page.offset > 0 ? (await this.vulnerabilityPage(scope, exemptions, { ...page, offset: 0, limit: 1 })).total : 0),
      rows: rows.map((r) => {
        const out: VulnerabilityRow = {
          vulnerabilityId: r.vulnerability_id, severityRank: r.sev, cvss: parseJson(r.cvss, []), aliases: parseJson(r.aliases, []), findings: r.findings, exemptFindings: r.exempt_findings ?? 0,
          nodes: r.nodes, pools: r.pools, clusters: r.clusters, fixable: r.fixable === 1, firstSeen: r.first_seen,
        };
        if (r.summary !== null) out.title = r.summary;
        if (r.cvss_score !== null) out.cvssScore = r.cvss_score;
        if (r.epss !== null && r.epss_percentile !== null) out.epss = { score: r.epss, percentile: r.epss_percentile };
        if (r.kev !== null) out.kev = JSON.parse(r.kev) as NonNullable<Finding['kev']>;
        return out;
      }),
    };
  }

  /** Packages, fix states and fixed versions of the given vulnerabilities over a scope (a page's second query). */
  async vulnerabilityPackages(ids: readonly string[], scope: FindingScope): Promise<Map<string, VulnerabilityPackages>> {
    const out = new Map<string, VulnerabilityPackages>();
    if (ids.length === 0) return out;
    const w = scopeWhere(scope, this.driver.dialect);
    const rows = await this.driver.all<{ vulnerability_id: string; package_name: string; state: string; fixed_version: string | null }>(
      `SELECT DISTINCT f.vulnerability_id, f.package_name, f.state, f.fixed_version FROM findings f
       WHERE ${w.sql} AND f.vulnerability_id IN (${placeholders(ids.length)}) ORDER BY f.vulnerability_id, f.package_name`,
      [...w.params, ...ids],
    );
    for (const r of rows) {
      const v = out.get(r.vulnerability_id) ?? { vulnerabilityId: r.vulnerability_id, packages: [], states: [], fixedVersions: [] };
      if (!v.packages.includes(r.package_name)) v.packages.push(r.package_name);
      if (!v.states.includes(r.state as Finding['state'])) v.states.push(r.state as Finding['state']);
      if (r.fixed_version !== null && !v.fixedVersions.includes(r.fixed_version)) v.fixedVersions.push(r.fixed_version);
      out.set(r.vulnerability_id, v);
    }
    return out;
  }

  // -- the per-pool roll-up the Findings list and the recommendations read --

  /**
   * Rebuilds the roll-up rows of the pools whose stamp changed (their counted nodes published
   * since, nodes came or went, exemptions changed): one row per (pool, vulnerability) with the
   * counts of its open findings on the pool's counted nodes. Returns the pools rebuilt.
   */
  async refreshRollup(pools: readonly PoolStamp[], exemptions: readonly Exemption[], at: string): Promise<number> {
    const stored = new Map((await this.driver.all<{ pool_id: string; stamp: string }>('SELECT pool_id, stamp FROM finding_rollup_state')).map((r) => [r.pool_id, r.stamp]));
    const wanted = new Set(pools.map((p) => p.poolId));
    let rebuilt = 0;
    for (const gone of [...stored.keys()].filter((id) => !wanted.has(id))) {
      await this.driver.transaction(async (tx) => {
        await tx.run('DELETE FROM finding_rollup WHERE pool_id = ?', [gone]);
        await tx.run('DELETE FROM finding_rollup_state WHERE pool_id = ?', [gone]);
      });
    }
    for (const p of pools) {
      if (stored.get(p.poolId) === p.stamp) continue;
      rebuilt++;
      const { rows, affected } = p.nodeIds.length ? await this.#rollupRows(p, exemptions.filter((e) => e.scope.account === p.accountId)) : { rows: [], affected: [] };
      await this.driver.transaction(async (tx) => {
        await tx.run('DELETE FROM finding_rollup WHERE pool_id = ?', [p.poolId]);
        for (const batch of batches(rows, 13, this.driver.maxParams)) {
          await tx.run(
            `INSERT INTO finding_rollup (pool_id, vulnerability_id, account_id, cluster_id, severity_rank, findings, exempt_findings, nodes, fixable, first_seen, packages, states, fixed_versions)
             VALUES ${valuesList(batch.length, 13)} ON CONFLICT (pool_id, vulnerability_id) DO UPDATE SET severity_rank = excluded.severity_rank, findings = excluded.findings,
             exempt_findings = excluded.exempt_findings, nodes = excluded.nodes, fixable = excluded.fixable, first_seen = excluded.first_seen, packages = excluded.packages, states = excluded.states, fixed_versions = excluded.fixed_versions`,
            batch.flat(),
          );
        }
        await tx.run(
          'INSERT INTO finding_rollup_state (pool_id, stamp, affected_nodes, built_at) VALUES (?, ?, ?, ?) ON CONFLICT (pool_id) DO UPDATE SET stamp = excluded.stamp, affected_nodes = excluded.affected_nodes, built_at = excluded.built_at',
          [p.poolId, p.stamp, JSON.stringify(affected), at],
        );
      });
    }
    return rebuilt;
  }

  async #rollupRows(p: PoolStamp, exemptions: readonly Exemption[]): Promise<{ rows: SqlValue[][]; affected: string[] }> {
    const ex = exemptExpr(exemptions, this.driver.dialect);
    // The pool's nodes that do not count are left out by a NOT IN (usually none): an IN over the
    // counted ones would lead SQLite's planner to the (node_id, finding_key) index and a row
    // lookup per finding instead of the covering findings_pool_open.
    const left = p.excludeNodeIds ?? [];
    const nodes = left.length ? `f.node_id NOT IN (${placeholders(left.length)})` : '1 = 1';
    const groups = await this.driver.all<{ vulnerability_id: string; sev: number; n: number; exn: number | null; nodes: number; fixable: number; first_seen: string }>(
      `SELECT f.vulnerability_id, MIN(f.severity_rank) AS sev, COUNT(*) AS n, SUM(${ex.sql}) AS exn, COUNT(DISTINCT f.node_id) AS nodes,
              MAX(CASE WHEN f.fixed_version IS NULL THEN 0 ELSE 1 END) AS fixable, MIN(f.first_seen) AS first_seen
       FROM findings f WHERE f.pool_id = ? AND f.resolved_at IS NULL AND ${nodes} GROUP BY f.vulnerability_id`,
      [...ex.params, p.poolId, ...left],
    );
    const details = await this.driver.all<{ vulnerability_id: string; package_name: string; state: string; fixed_version: string | null }>(
      `SELECT DISTINCT f.vulnerability_id, f.package_name, f.state, f.fixed_version FROM findings f WHERE f.pool_id = ? AND f.resolved_at IS NULL AND ${nodes}`,
      [p.poolId, ...left],
    );
    const perNode = await this.driver.all<{ node_id: string; open: number }>(
      `SELECT f.node_id, SUM(1 - ${ex.sql}) AS open FROM findings f WHERE f.pool_id = ? AND f.resolved_at IS NULL AND ${nodes} GROUP BY f.node_id`,
      [...ex.params, p.poolId, ...left],
    );
    const affected = perNode.filter((r) => r.open > 0).map((r) => r.node_id).sort();
    const by = new Map<string, { packages: Set<string>; states: Set<string>; fixed: Set<string> }>();
    for (const d of details) {
      const v = by.get(d.vulnerability_id) ?? { packages: new Set<string>(), states: new Set<string>(), fixed: new Set<string>() };
      v.packages.add(d.package_name);
      v.states.add(d.state);
      if (d.fixed_version !== null) v.fixed.add(d.fixed_version);
      by.set(d.vulnerability_id, v);
    }
    const list = (s: Set<string> | undefined) => JSON.stringify([...(s ?? [])].sort());
    const rows = groups.map((g) => {
      const d = by.get(g.vulnerability_id);
      return [p.poolId, g.vulnerability_id, p.accountId, p.clusterId, g.sev, g.n, g.exn ?? 0, g.nodes, g.fixable, g.first_seen, list(d?.packages), list(d?.states), list(d?.fixed)];
    });
    return { rows, affected };
  }

  /** Per pool in the roll-up: its counted nodes with an open, non-exempt finding. */
  async rollupAffectedNodes(): Promise<Map<string, string[]>> {
    const rows = await this.driver.all<{ pool_id: string; affected_nodes: string }>('SELECT pool_id, affected_nodes FROM finding_rollup_state');
    return new Map(rows.map((r) => [r.pool_id, JSON.parse(r.affected_nodes) as string[]]));
  }

  /** The Findings list from the roll-up: one page of vulnerabilities and the total matching. */
  async rollupPage(filter: RollupFilter, page: { sort: VulnerabilitySort; descending?: boolean; limit: number; offset: number }): Promise<{ total: number; rows: VulnerabilityRow[] }> {
    const w = rollupWhere(filter, this.driver.dialect);
    const having: string[] = [];
    if (filter.fixAvailable === true) having.push('MAX(r.fixable) = 1');
    if (filter.fixAvailable === false) having.push('MAX(r.fixable) = 0');
    if (filter.severityRanks?.length) having.push(`MIN(r.severity_rank) IN (${filter.severityRanks.map(Number).join(', ')})`);
    const rows = await this.driver.all<PageRow>(
      `SELECT g.*, v.summary, v.aliases, v.cvss, v.cvss_score, v.epss, v.epss_percentile, v.kev, COUNT(*) OVER () AS total
       FROM (
         SELECT r.vulnerability_id, MIN(r.severity_rank) AS sev, SUM(r.findings) AS findings, SUM(r.exempt_findings) AS exempt_findings, SUM(r.nodes) AS nodes,
                COUNT(*) AS pools, COUNT(DISTINCT r.cluster_id) AS clusters, MAX(r.fixable) AS fixable, MIN(r.first_seen) AS first_seen
         FROM finding_rollup r ${w.sql ? 'WHERE ' + w.sql : ''}
         GROUP BY r.vulnerability_id ${having.length ? 'HAVING ' + having.join(' AND ') : ''}
       ) g LEFT JOIN vulnerabilities v ON v.id = g.vulnerability_id
       ORDER BY ${pageOrder(page.sort, page.descending === true)} LIMIT ? OFFSET ?`,
      [...w.params, page.limit, page.offset],
    );
    if (rows.length === 0 && page.offset > 0) return { total: (await this.rollupPage(filter, { ...page, offset: 0, limit: 1 })).total, rows: [] };
    return { total: rows[0]?.total ?? 0, rows: rows.map(pageRowOf) };
  }

  /** Packages, fix states and fixed versions of the given vulnerabilities from the roll-up. */
  async rollupPackages(ids: readonly string[], filter: RollupFilter): Promise<Map<string, VulnerabilityPackages>> {
    const out = new Map<string, VulnerabilityPackages>();
    if (ids.length === 0) return out;
    const w = rollupWhere({ ...filter, packageName: undefined, search: undefined, kev: undefined }, this.driver.dialect);
    const rows = await this.driver.all<{ vulnerability_id: string; packages: string; states: string; fixed_versions: string }>(
      `SELECT r.vulnerability_id, r.packages, r.states, r.fixed_versions FROM finding_rollup r WHERE r.vulnerability_id IN (${placeholders(ids.length)})${w.sql ? ' AND ' + w.sql : ''}`,
      [...ids, ...w.params],
    );
    for (const r of rows) {
      const v = out.get(r.vulnerability_id) ?? { vulnerabilityId: r.vulnerability_id, packages: [], states: [], fixedVersions: [] };
      const add = <T>(list: T[], more: T[]) => {
        for (const m of more) if (!list.includes(m)) list.push(m);
      };
      add(v.packages, JSON.parse(r.packages) as string[]);
      add(v.states, JSON.parse(r.states) as Finding['state'][]);
      add(v.fixedVersions, JSON.parse(r.fixed_versions) as string[]);
      out.set(r.vulnerability_id, v);
    }
    for (const v of out.values()) v.packages.sort();
    return out;
  }

  /** Per cluster and vulnerability from the roll-up (the recommendation's counts). */
  async rollupClusters(filter: RollupFilter): Promise<ClusterVulnerability[]> {
    const w = rollupWhere(filter, this.driver.dialect);
    const rows = await this.driver.all<{ cluster_id: string; pool_id: string; vulnerability_id: string; severity_rank: number; findings: number; exempt_findings: number }>(
      `SELECT r.cluster_id, r.pool_id, r.vulnerability_id, r.severity_rank, r.findings, r.exempt_findings FROM finding_rollup r ${w.sql ? 'WHERE ' + w.sql : ''}`,
      w.params,
    );
    const by = new Map<string, ClusterVulnerability>();
    for (const r of rows) {
      const k = `${r.cluster_id}\u0000${r.vulnerability_id}`;
      const v = by.get(k) ?? { clusterId: r.cluster_id, vulnerabilityId: r.vulnerability_id, severityRank: r.severity_rank, findings: 0, exemptFindings: 0, allExempt: true, pools: [] };
      v.severityRank = Math.min(v.severityRank, r.severity_rank);
      v.findings += r.findings;
      v.exemptFindings += r.exempt_findings;
      v.allExempt = v.exemptFindings === v.findings;
      if (r.exempt_findings < r.findings) v.pools.push(r.pool_id);
      by.set(k, v);
    }
    return [...by.values()];
  }

  // -- the CVE pane --

  /** Every open finding of one vulnerability in the scope, with the resource it is on (findings with the same details share one read-only object). */
  async affected(vulnerabilityId: string, scope: FindingScope, exemptions: readonly Exemption[]): Promise<AffectedRow[]> {
    const ex = exemptExpr(exemptions, this.driver.dialect);
    const w = scopeWhere({ ...scope, vulnerabilityId }, this.driver.dialect);
    // The findings alone (through findings_open_vuln), then their shared details and the names
    // of their nodes once each: a CVE on every node repeats a few details thousands of times.
    const rows = await this.driver.all<{ id: string; node_id: string; account_id: string; cluster_id: string; pool_id: string; detail_hash: string; package_name: string; exempt: number; first_seen: string; last_seen: string }>(
      `SELECT f.id, f.node_id, f.account_id, f.cluster_id, f.pool_id, f.detail_hash, f.package_name, ${ex.sql} AS exempt, f.first_seen, f.last_seen FROM findings f WHERE ${w.sql}`,
      [...ex.params, ...w.params],
    );
    const details = new Map<string, AffectedRow['finding']>();
    const hashes = [...new Set(rows.map((r) => r.detail_hash))];
    for (const batch of batches(hashes, 1, this.driver.maxParams)) {
      for (const d of await this.driver.all<{ hash: string; data: string }>(`SELECT hash, data FROM finding_details WHERE hash IN (${placeholders(batch.length)})`, batch)) {
        details.set(d.hash, JSON.parse(d.data) as AffectedRow['finding']);
      }
    }
    const names = new Map<string, { node: string; pool: string; cluster: string; kernel: string | null }>();
    const nodeIds = [...new Set(rows.map((r) => r.node_id))];
    for (const batch of batches(nodeIds, 1, this.driver.maxParams)) {
      const found = await this.driver.all<{ id: string; node: string; pool: string; cluster: string; kernel: string | null }>(
        `SELECT n.id, n.name AS node, p.name AS pool, c.name AS cluster, n.kernel FROM nodes n JOIN node_pools p ON p.id = n.pool_id JOIN clusters c ON c.id = n.cluster_id WHERE n.id IN (${placeholders(batch.length)})`,
        batch,
      );
      for (const n of found) names.set(n.id, n);
    }
    const out = rows.map((r) => {
      const n = names.get(r.node_id)!;
      const row: AffectedRow = {
        findingId: r.id, nodeId: r.node_id, ref: { account: r.account_id, cluster: n.cluster, nodePool: n.pool, node: n.node }, clusterId: r.cluster_id, poolId: r.pool_id,
        finding: details.get(r.detail_hash)!, exempt: r.exempt === 1, firstSeen: r.first_seen, lastSeen: r.last_seen,
      };
      if (n.kernel !== null) row.nodeKernel = n.kernel;
      return { row, key: [r.account_id, n.cluster, n.pool, n.node, r.package_name, r.id] };
    });
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    out.sort((a, b) => a.key.reduce((c, k, i) => c || cmp(k, b.key[i]!), 0));
    return out.map((o) => o.row);
  }

  /** The stored details of one vulnerability (summary, aliases, CVSS, EPSS, KEV). */
  async vulnerability(id: string): Promise<{ id: string; summary?: string; aliases: string[]; cvss: Finding['cvss']; cvssScore?: number; epss?: { score: number; percentile: number }; kev?: NonNullable<Finding['kev']>; updatedAt: string } | undefined> {
    const r = await this.driver.get<{ id: string; summary: string | null; aliases: string; cvss: string; cvss_score: number | null; epss: number | null; epss_percentile: number | null; kev: string | null; updated_at: string }>(
      'SELECT * FROM vulnerabilities WHERE id = ?',
      [id],
    );
    if (!r) return undefined;
    return {
      id: r.id, aliases: parseJson(r.aliases, []), cvss: parseJson(r.cvss, []), updatedAt: r.updated_at,
      ...(r.summary !== null && { summary: r.summary }),
      ...(r.cvss_score !== null && { cvssScore: r.cvss_score }),
      ...(r.epss !== null && r.epss_percentile !== null && { epss: { score: r.epss, percentile: r.epss_percentile } }),
      ...(r.kev !== null && { kev: JSON.parse(r.kev) as NonNullable<Finding['kev']> }),
    };
  }

  // -- recommendations and remediation --

  /** Open vulnerabilities per cluster (distinct per cluster), with exemption state and the pools they are on. */
  async clusterVulnerabilities(scope: FindingScope, exemptions: readonly Exemption[]): Promise<ClusterVulnerability[]> {
    const ex = exemptExpr(exemptions, this.driver.dialect);
    const w = scopeWhere(scope, this.driver.dialect);
    const rows = await this.driver.all<{ cluster_id: string; pool_id: string; vulnerability_id: string; sev: number; findings: number; exempt_findings: number }>(
      `SELECT f.cluster_id, f.pool_id, f.vulnerability_id, MIN(f.severity_rank) AS sev, COUNT(*) AS findings, SUM(${ex.sql}) AS exempt_findings
       FROM findings f WHERE ${w.sql} GROUP BY f.cluster_id, f.pool_id, f.vulnerability_id`,
      [...ex.params, ...w.params],
    );
    const by = new Map<string, ClusterVulnerability & { open: Set<string> }>();
    for (const r of rows) {
      const k = `${r.cluster_id}\u0000${r.vulnerability_id}`;
      const v = by.get(k) ?? { clusterId: r.cluster_id, vulnerabilityId: r.vulnerability_id, severityRank: r.sev, findings: 0, exemptFindings: 0, allExempt: true, pools: [], open: new Set<string>() };
      v.severityRank = Math.min(v.severityRank, r.sev);
      v.findings += r.findings;
      v.exemptFindings += r.exempt_findings ?? 0;
      v.allExempt = v.exemptFindings === v.findings;
      if ((r.exempt_findings ?? 0) < r.findings) v.open.add(r.pool_id);
      by.set(k, v);
    }
    return [...by.values()].map(({ open, ...v }) => ({ ...v, pools: [...open].sort() }));
  }

  /** Distinct nodes with an open, non-exempt finding in the scope. */
  async nodesWithOpenFindings(scope: FindingScope, exemptions: readonly Exemption[]): Promise<number> {
    const ex = exemptExpr(exemptions, this.driver.dialect);
    const w = scopeWhere(scope, this.driver.dialect);
    return (await this.driver.get<{ n: number }>(`SELECT COUNT(DISTINCT f.node_id) AS n FROM findings f WHERE ${w.sql} AND ${ex.sql} = 0`, [...w.params, ...ex.params]))!.n;
  }

  /** Open vulnerabilities of one pool with their package names. */
  async poolVulnerabilities(poolId: string, scope: FindingScope, exemptions: readonly Exemption[]): Promise<PoolVulnerability[]> {
    const ex = exemptExpr(exemptions, this.driver.dialect);
    const w = scopeWhere({ ...scope, poolIds: [poolId] }, this.driver.dialect);
    const rows = await this.driver.all<{ vulnerability_id: string; package_name: string; sev: number; exempt: number }>(
      `SELECT f.vulnerability_id, f.package_name, MIN(f.severity_rank) AS sev, MIN(${ex.sql}) AS exempt FROM findings f WHERE ${w.sql}
       GROUP BY f.vulnerability_id, f.package_name ORDER BY f.vulnerability_id, f.package_name`,
      [...ex.params, ...w.params],
    );
    const by = new Map<string, PoolVulnerability>();
    for (const r of rows) {
      const v = by.get(r.vulnerability_id) ?? { poolId, vulnerabilityId: r.vulnerability_id, severityRank: r.sev, packages: [], exempt: true };
      v.packages.push(r.package_name);
      v.severityRank = Math.min(v.severityRank, r.sev);
      v.exempt &&= r.exempt === 1;
      by.set(r.vulnerability_id, v);
    }
    return [...by.values()];
  }

  /** The newest publication time of the nodes in scope (the recommendation's freshness). */
  async lastPublished(nodeIds: readonly string[]): Promise<string | undefined> {
    if (nodeIds.length === 0) return undefined;
    const r = await this.driver.get<{ t: string | null }>(`SELECT MAX(last_published_at) AS t FROM nodes WHERE id IN (${placeholders(nodeIds.length)})`, nodeIds);
    return r?.t ?? undefined;
  }

  // -- history --

  /**
   * Findings (open and resolved, within what retention kept) grouped by cluster, severity, first
   * seen and resolved time: counts per day and times to remediate are computed from these.
   */
  async historyGroups(filter: { accounts?: readonly string[]; clusterIds?: readonly string[]; since?: string } = {}): Promise<HistoryGroup[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.accounts !== undefined) {
      where.push(filter.accounts.length ? `f.account_id IN (${placeholders(filter.accounts.length)})` : '1 = 0');
      params.push(...filter.accounts);
    }
    if (filter.clusterIds !== undefined) {
      where.push(filter.clusterIds.length ? `f.cluster_id IN (${placeholders(filter.clusterIds.length)})` : '1 = 0');
      params.push(...filter.clusterIds);
    }
    if (filter.since !== undefined) {
      where.push('(f.resolved_at IS NULL OR f.resolved_at >= ?)');
      params.push(filter.since);
    }
    const rows = await this.driver.all<{ cluster_id: string; severity_rank: number; first_seen: string; resolved_at: string | null; n: number }>(
      `SELECT f.cluster_id, f.severity_rank, f.first_seen, f.resolved_at, COUNT(*) AS n FROM findings f ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       GROUP BY f.cluster_id, f.severity_rank, f.first_seen, f.resolved_at`,
      params,
    );
    return rows.map((r) => ({ clusterId: r.cluster_id, severityRank: r.severity_rank, firstSeen: r.first_seen, ...(r.resolved_at !== null && { resolvedAt: r.resolved_at }), count: r.n }));
  }
}

export { severityRank };
