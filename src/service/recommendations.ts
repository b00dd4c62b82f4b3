/**
 * The recommendation "Kubernetes nodes should have vulnerability findings resolved": one
 * assessment per cluster, and a roll-up per account. Unhealthy when any counted node of the
 * cluster has an open, non-exempt finding at or above the account's threshold; healthy when
 * nodes were assessed and none has; not applicable (scanning off, cluster or all its pools
 * excluded) or not assessed (no node could be assessed) with the reason — never "healthy" for
 * lack of data.
 */
import type { SecurityStore } from '../store/security-store.ts';
import { refreshRollup, rollupFilterFor, severityOf, severityRank, type FleetView, type NodeView } from './context.ts';
import { zeroCounts, type Severity, type SeverityCounts } from './types.ts';

export const RECOMMENDATION_ID = 'aks-node-vulnerabilities';
export const RECOMMENDATION_TITLE = 'Kubernetes nodes should have vulnerability findings resolved';
export const RECOMMENDATION_DESCRIPTION =
  'Agentless scanning of the nodes\' OS disks found packages with known vulnerabilities. Vulnerable OS packages and kernels on a node can be exploited from a compromised workload or over the network; the node image the pool runs is where most of them are fixed.';
export const REMEDIATION_STEPS = [
  'Open the Findings for the cluster (hullscan findings --by cve --cluster NAME) and start with critical and high, known-exploited (KEV) first.',
  'Upgrade each affected node pool to the newest node image (hullscan remediation --cluster NAME shows what each upgrade fixes); on AKS: az aks nodepool upgrade --node-image-only.',
  'Findings no released image fixes remain: mitigate them and record an exemption with its reason, owner and expiry (hullscan exemptions add).',
  'Nodes that differ from their image (drift: hot-patched or changed by hand) are called out by hullscan remediation; reimage them or bring the change into the image.',
];

export const RECOMMENDATION_STATUSES = ['healthy', 'unhealthy', 'not-applicable', 'not-assessed'] as const;
export type RecommendationStatus = (typeof RECOMMENDATION_STATUSES)[number];

export interface ClusterAssessment {
  recommendation: string;
  title: string;
  account: string;
  cluster: string;
  status: RecommendationStatus;
  /** Why not applicable / not assessed; for an assessed cluster, what was left out ("2 of 9 nodes not assessed: …"). */
  reason?: string;
  /** The highest severity among open, non-exempt findings (null when none). */
  severity: Severity | null;
  threshold: Severity;
  /** Open, non-exempt vulnerabilities (distinct per cluster) by severity. */
  counts: SeverityCounts;
  /** Open finding rows (one per node × vulnerability × package), non-exempt, by severity. */
  findings: SeverityCounts;
  /** Vulnerabilities whose every finding in the cluster is exempt. */
  exempt: number;
  affectedPools: string[];
  affectedNodes: number;
  nodes: { total: number; assessed: number; notAssessed: { node: string; nodePool: string; why: string }[] };
  /** When the newest data of the cluster's assessed nodes was published (freshness). */
  lastScanned: string | null;
  description: string;
  remediation: string[];
}

export interface AccountRollup {
  recommendation: string;
  title: string;
  account: string;
  status: RecommendationStatus;
  reason?: string;
  clusters: Record<RecommendationStatus, number>;
  counts: SeverityCounts;
  unhealthyClusters: string[];
}

function statusOfCluster(nodes: NodeView[], view: FleetView, accountId: string, clusterId: string): { status?: RecommendationStatus; reason?: string } {
  const account = view.accounts.get(accountId);
  const cluster = view.clusters.get(clusterId)!;
  if (!account?.settings.agentlessScanning) return { status: 'not-applicable', reason: `scanning is off for account ${accountId} ("Agentless scanning for machines"; hullscan accounts set ${accountId} agentlessScanning=on)` };
  const present = nodes.filter((n) => n.exclusion !== 'gone');
  if (cluster.goneAt !== undefined) return { status: 'not-applicable', reason: `cluster gone since ${cluster.goneAt}` };
  if (present.length === 0) return { status: 'not-assessed', reason: 'the cluster has no nodes' };
  if (present.every((n) => n.exclusion === 'excluded')) {
    const whys = [...new Set(present.map((n) => n.why ?? 'excluded'))];
    return { status: 'not-applicable', reason: `excluded: ${whys.join('; ')}` };
  }
  if (present.every((n) => n.exclusion !== undefined)) {
    const whys = present.filter((n) => n.exclusion !== 'excluded').map((n) => `${n.ref.nodePool}/${n.ref.node}: ${n.why}`);
    return { status: 'not-assessed', reason: `no node could be assessed (${whys.join('; ')})` };
  }
  return {};
}

/** The recommendation for every cluster (gone clusters left out), in account and name order. */
export async function assessClusters(view: FleetView, security: SecurityStore, filter: { account?: string; cluster?: string } = {}): Promise<ClusterAssessment[]> {
  await refreshRollup(view, security);
  const vulns = await security.rollupClusters(rollupFilterFor(view, filter.account !== undefined ? { account: filter.account } : {}));
  const affectedByPool = await security.rollupAffectedNodes();
  const byCluster = new Map<string, typeof vulns>();
  for (const v of vulns) byCluster.set(v.clusterId, [...(byCluster.get(v.clusterId) ?? []), v]);
  const poolName = (id: string) => view.pools.get(id)?.name ?? id;
  const out: ClusterAssessment[] = [];
  const clusters = [...view.clusters.values()]
    .filter((c) => c.goneAt === undefined && (filter.account === undefined || c.account === filter.account) && (filter.cluster === undefined || c.name === filter.cluster))
    .sort((a, b) => (a.account === b.account ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.account < b.account ? -1 : 1));
  for (const c of clusters) {
    const nodes = view.nodes.filter((n) => n.clusterId === c.id);
    const threshold = view.thresholds.get(c.account) ?? 'unknown';
    const counted = nodes.filter((n) => n.exclusion === undefined);
    const notAssessed = nodes.filter((n) => n.exclusion !== undefined && n.exclusion !== 'gone').map((n) => ({ node: n.ref.node, nodePool: n.ref.nodePool, why: n.why ?? n.exclusion! }));
    const base: ClusterAssessment = {
      recommendation: RECOMMENDATION_ID, title: RECOMMENDATION_TITLE, account: c.account, cluster: c.name, status: 'healthy', severity: null, threshold,
      counts: zeroCounts(), findings: zeroCounts(), exempt: 0, affectedPools: [], affectedNodes: 0,
      nodes: { total: nodes.filter((n) => n.exclusion !== 'gone').length, assessed: counted.length, notAssessed },
      lastScanned: await security.lastPublished(counted.map((n) => n.id)) ?? null,
      description: RECOMMENDATION_DESCRIPTION, remediation: REMEDIATION_STEPS,
    };
    const pre = statusOfCluster(nodes, view, c.account, c.id);
    if (pre.status !== undefined) {
      out.push({ ...base, status: pre.status, ...(pre.reason !== undefined && { reason: pre.reason }) });
      continue;
    }
    const pools = new Set<string>();
    let top: number | undefined;
    let unhealthy = false;
    for (const v of byCluster.get(c.id) ?? []) {
      if (v.allExempt) {
        base.exempt++;
        continue;
      }
      const sev = severityOf(v.severityRank);
      base.counts[sev]++;
      base.findings[sev] += v.findings - v.exemptFindings;
      for (const p of v.pools) pools.add(poolName(p));
      top = top === undefined ? v.severityRank : Math.min(top, v.severityRank);
      if (v.severityRank <= severityRank(threshold)) unhealthy = true;
    }
    base.affectedPools = [...pools].sort();
    base.affectedNodes = [...view.pools.values()].filter((p) => p.cluster === c.id).reduce((sum, p) => sum + (affectedByPool.get(p.id)?.length ?? 0), 0);
    base.severity = top === undefined ? null : severityOf(top);
    base.status = unhealthy ? 'unhealthy' : 'healthy';
    if (notAssessed.length) base.reason = `${notAssessed.length} of ${base.nodes.total} nodes not assessed: ${notAssessed.map((n) => `${n.nodePool}/${n.node} (${n.why})`).join('; ')}`;
    out.push(base);
  }
  return out;
}

/** One line per account: unhealthy when any of its clusters is, not applicable when scanning is off. */
export function rollupAccounts(view: FleetView, clusters: readonly ClusterAssessment[]): AccountRollup[] {
  return [...view.accounts.values()].map((a) => {
    const mine = clusters.filter((c) => c.account === a.id);
    const by: Record<RecommendationStatus, number> = { healthy: 0, unhealthy: 0, 'not-applicable': 0, 'not-assessed': 0 };
    const counts = zeroCounts();
    for (const c of mine) {
      by[c.status]++;
      for (const [k, n] of Object.entries(c.counts)) counts[k as Severity] += n;
    }
    const r: AccountRollup = {
      recommendation: RECOMMENDATION_ID, title: RECOMMENDATION_TITLE, account: a.id, status: 'healthy', clusters: by, counts,
      unhealthyClusters: mine.filter((c) => c.status === 'unhealthy').map((c) => c.cluster),
    };
    if (!a.settings.agentlessScanning) return { ...r, status: 'not-applicable', reason: `scanning is off for account ${a.id}` };
    if (by.unhealthy > 0) return { ...r, status: 'unhealthy' };
    if (by.healthy > 0) return { ...r, status: 'healthy', ...(by['not-assessed'] > 0 && { reason: `${by['not-assessed']} clusters not assessed` }) };
    if (by['not-assessed'] > 0) return { ...r, status: 'not-assessed', reason: 'no cluster could be assessed' };
    return { ...r, status: 'not-applicable', reason: mine.length === 0 ? 'no clusters' : 'every cluster is excluded' };
  });
}
