/**
 * What every security view starts from: the fleet as the store knows it now (accounts, clusters,
 * pools, nodes with their latest node scan, thresholds, exemptions in force), and which nodes'
 * findings count — never a node that was not assessed, never one that is gone, excluded or in
 * an account whose scanning is off.
 */
import { createHash } from 'node:crypto';
import type { Account, Cluster, FleetStore, NodePool } from '../store/index.ts';
import { severityRank } from '../store/fleet-store.ts';
import type { Exemption, FindingScope, NodeState, PoolStamp, RollupFilter, SecurityStore } from '../store/security-store.ts';
import { SEVERITY_ORDER, type Severity } from './types.ts';

/** Why a node's findings do not count. */
export type NodeExclusion = 'gone' | 'scanning-off' | 'excluded' | 'not-assessed';

export interface NodeView extends NodeState {
  /** Undefined when its findings count. */
  exclusion?: NodeExclusion;
  /** Why, in words ("node pool np2 is tagged hullscan-exclude: true", "failed: unreadable-disk"). */
  why?: string;
}

export interface FleetView {
  at: string;
  accounts: Map<string, Account>;
  clusters: Map<string, Cluster>;
  pools: Map<string, NodePool>;
  nodes: NodeView[];
  thresholds: Map<string, Severity>;
  exemptions: Exemption[];
}

/** A tag of the account's exclusion tags on a resource ("hullscan-exclude: true"), or undefined. */
export function exclusionTag(tags: Record<string, string>, exclusionTags: Record<string, string>): string | undefined {
  for (const [k, v] of Object.entries(exclusionTags)) if (tags[k] === v) return `${k}: ${v}`;
  return undefined;
}

function classify(n: NodeState, account: Account | undefined, cluster: Cluster | undefined, pool: NodePool | undefined): Pick<NodeView, 'exclusion' | 'why'> {
  if (n.goneAt !== undefined) return { exclusion: 'gone', why: `gone since ${n.goneAt}` };
  if (!account?.settings.agentlessScanning) return { exclusion: 'scanning-off', why: `scanning is off for account ${n.ref.account}` };
  const tags = account.settings.exclusionTags;
  const tagged =
    (cluster && exclusionTag(cluster.tags, tags) && `cluster ${cluster.name} is tagged ${exclusionTag(cluster.tags, tags)}`) ||
    (pool && exclusionTag(pool.tags, tags) && `node pool ${pool.name} is tagged ${exclusionTag(pool.tags, tags)}`);
  if (tagged) return { exclusion: 'excluded', why: tagged };
  if (n.lastScan?.state === 'skipped' && n.lastScan.reason === 'excluded') return { exclusion: 'excluded', why: n.lastScan.reasonDetail ?? 'excluded' };
  if (n.lastPublishedAt === undefined) {
    const s = n.lastScan;
    const why = s === undefined ? 'not scanned yet' : s.state === 'failed' || s.state === 'skipped' ? `${s.state}: ${s.reason ?? 'unknown'}${s.reasonDetail ? ` (${s.reasonDetail})` : ''}` : `scan ${s.state}`;
    return { exclusion: 'not-assessed', why };
  }
  return {};
}

export async function loadFleet(store: FleetStore, security: SecurityStore, at: string): Promise<FleetView> {
  const [accounts, clusters, pools, nodes, thresholds, exemptions] = await Promise.all([
    store.listAccounts(),
    store.listClusters({ includeGone: true }),
    store.listPools({ includeGone: true }),
    security.nodeStates(),
    security.listThresholds(),
    security.activeExemptions(at),
  ]);
  const view: FleetView = {
    at,
    accounts: new Map(accounts.map((a) => [a.id, a])),
    clusters: new Map(clusters.map((c) => [c.id, c])),
    pools: new Map(pools.map((p) => [p.id, p])),
    nodes: [],
    thresholds: new Map([...thresholds].filter(([, s]) => (SEVERITY_ORDER as readonly string[]).includes(s)).map(([a, s]) => [a, s as Severity])),
    exemptions,
  };
  view.nodes = nodes.map((n) => ({ ...n, ...classify(n, view.accounts.get(n.ref.account), view.clusters.get(n.clusterId), view.pools.get(n.poolId)) }));
  return view;
}

/** Names a user gives (account, cluster, pool, node) → the ids a FindingScope takes. */
export interface ResourceFilter {
  account?: string;
  cluster?: string;
  pool?: string;
  node?: string;
}

/**
 * The scope of counted findings under a filter: the accounts, clusters, pools and nodes it names
 * (an unknown name matches nothing), minus the nodes whose findings do not count.
 */
export function scopeFor(view: FleetView, filter: ResourceFilter = {}): FindingScope {
  const scope: FindingScope = {};
  // An account is named through its clusters: a filter on findings.account_id would lead
  // SQLite (no statistics) to the scope index and a row lookup per finding.
  if (filter.account !== undefined || filter.cluster !== undefined) {
    scope.clusterIds = [...view.clusters.values()].filter((c) => (filter.cluster === undefined || c.name === filter.cluster) && (filter.account === undefined || c.account === filter.account)).map((c) => c.id);
  }
  if (filter.pool !== undefined) {
    scope.poolIds = [...view.pools.values()].filter((p) => p.name === filter.pool && (filter.account === undefined || p.account === filter.account) && (scope.clusterIds === undefined || scope.clusterIds.includes(p.cluster))).map((p) => p.id);
  }
  if (filter.node !== undefined) scope.nodeIds = view.nodes.filter((n) => n.ref.node === filter.node).map((n) => n.id);
  // Nodes whose findings do not count (gone, excluded, scanning off) are left out one by one.
  const excluded = view.nodes.filter((n) => n.exclusion !== undefined && n.exclusion !== 'not-assessed').map((n) => n.id);
  if (excluded.length) scope.excludeNodeIds = excluded;
  return scope;
}

/**
 * Brings the per-pool roll-up up to date: a pool's rows are rebuilt when its stamp changed —
 * the set of its counted nodes and when each last published, and the exemptions in force in
 * its account. Returns the pools rebuilt.
 */
export async function refreshRollup(view: FleetView, security: SecurityStore): Promise<number> {
  const byPool = new Map<string, string[]>();
  for (const n of view.nodes) if (n.exclusion === undefined) byPool.set(n.poolId, [...(byPool.get(n.poolId) ?? []), n.id]);
  const stamps: PoolStamp[] = [];
  for (const [poolId, nodeIds] of byPool) {
    const pool = view.pools.get(poolId);
    if (pool === undefined) continue;
    const nodes = view.nodes.filter((n) => n.poolId === poolId && n.exclusion === undefined).map((n) => `${n.id}@${n.lastPublishedAt ?? ''}`).sort();
    const ex = view.exemptions.filter((e) => e.scope.account === pool.account).map((e) => e.id).sort();
    const stamp = createHash('sha256').update(JSON.stringify([nodes, ex])).digest('hex');
    const excludeNodeIds = view.nodes.filter((n) => n.poolId === poolId && n.exclusion !== undefined).map((n) => n.id);
    stamps.push({ poolId, accountId: pool.account, clusterId: pool.cluster, nodeIds, excludeNodeIds, stamp });
  }
  return security.refreshRollup(stamps, view.exemptions, view.at);
}

/** The roll-up filter of a resource filter (a node filter cannot be answered from it). */
export function rollupFilterFor(view: FleetView, filter: ResourceFilter = {}): RollupFilter {
  const scope = scopeFor(view, filter);
  const f: RollupFilter = {};
  if (filter.account !== undefined) f.accounts = [filter.account];
  if (scope.clusterIds !== undefined) f.clusterIds = scope.clusterIds;
  if (scope.poolIds !== undefined) f.poolIds = scope.poolIds;
  return f;
}

export function severityOf(rank: number): Severity {
  return SEVERITY_ORDER[rank] ?? 'unknown';
}

export { severityRank };
