/**
 * History per cluster: open findings by severity at the end of each day (UTC) and the mean time
 * to remediate (first seen → resolved) per severity, over the account's retention (resolved
 * findings older than it are purged by the store, so the series does not reach further back).
 * Computed from the findings' own first seen / resolved times: nothing extra to keep in step.
 * A finding that was resolved and later seen again counts as open from its first sighting
 * (the store keeps one row per node × vulnerability × package).
 */
import type { SecurityStore } from '../store/security-store.ts';
import { severityOf, type FleetView } from './context.ts';
import { zeroCounts, type Severity, type SeverityCounts } from './types.ts';

const DAY_MS = 86_400_000;
/** Longest series returned (days). */
export const MAX_HISTORY_DAYS = 3650;

export interface ClusterHistory {
  account: string;
  cluster: string;
  days: { date: string; open: SeverityCounts }[];
  /** Mean first seen → resolved, in hours, of the findings resolved within the window; null when none. */
  meanTimeToRemediateHours: Record<Severity, number | null> & { all: number | null };
  resolved: number;
}

export async function clusterHistory(view: FleetView, security: SecurityStore, q: { account?: string; cluster?: string; days?: number } = {}): Promise<ClusterHistory[]> {
  const clusters = [...view.clusters.values()].filter((c) => c.goneAt === undefined && (q.account === undefined || c.account === q.account) && (q.cluster === undefined || c.name === q.cluster));
  if (clusters.length === 0) return [];
  const end = new Date(view.at);
  const out: ClusterHistory[] = [];
  const groups = await security.historyGroups({ clusterIds: clusters.map((c) => c.id) });
  for (const c of clusters.sort((a, b) => (a.account + a.name < b.account + b.name ? -1 : 1))) {
    const retention = view.accounts.get(c.account)?.settings.retentionDays ?? 90;
    const days = Math.min(q.days ?? retention, retention, MAX_HISTORY_DAYS);
    const firstDay = Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate()) - (days - 1) * DAY_MS;
    const mine = groups.filter((g) => g.clusterId === c.id);
    const series: ClusterHistory['days'] = [];
    for (let d = 0; d < days; d++) {
      const dayEnd = new Date(firstDay + (d + 1) * DAY_MS).toISOString();
      const open = zeroCounts();
      for (const g of mine) if (g.firstSeen < dayEnd && (g.resolvedAt === undefined || g.resolvedAt >= dayEnd)) open[severityOf(g.severityRank)] += g.count;
      series.push({ date: new Date(firstDay + d * DAY_MS).toISOString().slice(0, 10), open });
    }
    const windowStart = new Date(firstDay).toISOString();
    const sums = new Map<Severity | 'all', { ms: number; n: number }>();
    let resolved = 0;
    for (const g of mine) {
      if (g.resolvedAt === undefined || g.resolvedAt < windowStart) continue;
      const ms = (Date.parse(g.resolvedAt) - Date.parse(g.firstSeen)) * g.count;
      resolved += g.count;
      for (const k of [severityOf(g.severityRank), 'all'] as const) {
        const s = sums.get(k) ?? { ms: 0, n: 0 };
        s.ms += ms;
        s.n += g.count;
        sums.set(k, s);
      }
    }
    const mean = (k: Severity | 'all') => {
      const s = sums.get(k);
      return s === undefined ? null : Math.round((s.ms / s.n / 3_600_000) * 10) / 10;
    };
    out.push({
      account: c.account,
      cluster: c.name,
      days: series,
      meanTimeToRemediateHours: { critical: mean('critical'), high: mean('high'), medium: mean('medium'), low: mean('low'), negligible: mean('negligible'), unknown: mean('unknown'), all: mean('all') },
      resolved,
    });
  }
  return out;
}
