/**
 * Exemptions: a vulnerability or package pattern, in a scope (account, cluster, pool or node),
 * with a reason from a fixed list, an owner and an expiry. An exemption in force keeps findings
 * out of the recommendation's status while they stay visible, marked exempt; when it expires
 * (or is removed) they count again. Every exemption is kept (removal is recorded, not deleted).
 */
import { EXEMPTION_REASONS, type Exemption, type ExemptionReason, type Scope, type SecurityStore } from '../store/security-store.ts';
import type { FleetView, ResourceFilter } from './context.ts';
import { ServiceError } from './errors.ts';

/** Longest pattern accepted (a CVE id or a package name is far shorter). */
const MAX_PATTERN_CHARS = 200;

export interface ExemptionRequest extends ResourceFilter {
  account: string;
  vulnerability?: string;
  package?: string;
  reason: string;
  owner: string;
  note?: string;
  /** ISO-8601 date or date-time (UTC); a date means the end of that day. */
  expires?: string;
  by: string;
}

/** Resolves names to a scope: the narrowest of account / cluster / pool / node given. */
export function resolveScope(view: FleetView, f: ResourceFilter & { account: string }): Scope {
  if (!view.accounts.has(f.account)) throw new ServiceError(`no account '${f.account}'`, 'not-found');
  const scope: Scope = { account: f.account, label: f.account };
  if (f.cluster !== undefined) {
    const c = [...view.clusters.values()].find((x) => x.account === f.account && x.name === f.cluster);
    if (!c) throw new ServiceError(`no cluster '${f.cluster}' in account ${f.account}`, 'not-found');
    scope.cluster = c.id;
    scope.label += `/${c.name}`;
  }
  if (f.pool !== undefined) {
    const pools = [...view.pools.values()].filter((p) => p.account === f.account && p.name === f.pool && (scope.cluster === undefined || p.cluster === scope.cluster));
    if (pools.length !== 1) throw new ServiceError(pools.length === 0 ? `no node pool '${f.pool}'${f.cluster ? ` in cluster ${f.cluster}` : ''}` : `node pool '${f.pool}' is in several clusters: give --cluster`, pools.length ? 'invalid' : 'not-found');
    scope.pool = pools[0]!.id;
    scope.cluster = pools[0]!.cluster;
    if (f.cluster === undefined) scope.label += `/${view.clusters.get(pools[0]!.cluster)?.name ?? '?'}`;
    scope.label += `/${pools[0]!.name}`;
  }
  if (f.node !== undefined) {
    const nodes = view.nodes.filter((n) => n.ref.account === f.account && n.ref.node === f.node && (scope.pool === undefined || n.poolId === scope.pool) && (scope.cluster === undefined || n.clusterId === scope.cluster));
    if (nodes.length !== 1) throw new ServiceError(nodes.length === 0 ? `no node '${f.node}'` : `node '${f.node}' is in several pools: give --cluster and --pool`, nodes.length ? 'invalid' : 'not-found');
    const n = nodes[0]!;
    Object.assign(scope, { node: n.id, pool: n.poolId, cluster: n.clusterId, label: `${f.account}/${n.ref.cluster}/${n.ref.nodePool}/${n.ref.node}` });
  }
  return scope;
}

/** "2027-01-31" → the end of that day (UTC); a date-time as given, normalized. */
export function parseExpiry(s: string): string {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T23:59:59.999Z` : s;
  const t = Date.parse(day);
  if (!/^\d{4}-\d{2}-\d{2}/.test(s) || Number.isNaN(t)) throw new ServiceError(`expiry must be a date (2027-01-31) or an ISO date-time, got '${s}'`);
  return new Date(t).toISOString();
}

function checkPattern(kind: string, p: string | undefined): void {
  if (p === undefined) return;
  if (p === '' || p.length > MAX_PATTERN_CHARS || [...p].some((c) => c.charCodeAt(0) < 0x20)) throw new ServiceError(`${kind} pattern must be 1..${MAX_PATTERN_CHARS} printable characters`);
}

export async function addExemption(view: FleetView, security: SecurityStore, r: ExemptionRequest): Promise<Exemption> {
  if (!(EXEMPTION_REASONS as readonly string[]).includes(r.reason)) throw new ServiceError(`unknown reason '${r.reason}': use ${EXEMPTION_REASONS.join(', ')}`);
  if (r.vulnerability === undefined && r.package === undefined) throw new ServiceError('an exemption needs a vulnerability (--cve) or a package (--package) pattern');
  if (r.owner.trim() === '') throw new ServiceError('an exemption needs an owner');
  checkPattern('vulnerability', r.vulnerability);
  checkPattern('package', r.package);
  const expiresAt = r.expires !== undefined ? parseExpiry(r.expires) : undefined;
  if (expiresAt !== undefined && expiresAt <= view.at) throw new ServiceError(`expiry ${expiresAt} is in the past`);
  return security.addExemption({
    scope: resolveScope(view, r),
    ...(r.vulnerability !== undefined && { vulnerability: r.vulnerability }),
    ...(r.package !== undefined && { package: r.package }),
    reason: r.reason as ExemptionReason,
    owner: r.owner,
    ...(r.note !== undefined && { note: r.note }),
    ...(expiresAt !== undefined && { expiresAt }),
    by: r.by,
    at: view.at,
  });
}

export interface ExemptionView extends Exemption {
  status: 'active' | 'expired' | 'removed';
}

export async function listExemptions(view: FleetView, security: SecurityStore, filter: { account?: string; all?: boolean } = {}): Promise<ExemptionView[]> {
  const list = await security.listExemptions({ ...(filter.account !== undefined && { account: filter.account }), includeRemoved: filter.all === true });
  return list
    .map((e) => ({ ...e, status: e.removedAt !== undefined ? 'removed' : e.expiresAt !== undefined && e.expiresAt <= view.at ? 'expired' : 'active' }) as ExemptionView)
    .filter((e) => filter.all === true || e.status === 'active');
}

/** Removes an exemption by id or unique id prefix. */
export async function removeExemption(view: FleetView, security: SecurityStore, idOrPrefix: string, by: string): Promise<Exemption> {
  const all = await security.listExemptions({ includeRemoved: false });
  const hits = all.filter((e) => e.id === idOrPrefix || (idOrPrefix.length >= 4 && e.id.startsWith(idOrPrefix)));
  if (hits.length !== 1) throw new ServiceError(hits.length === 0 ? `no exemption '${idOrPrefix}' in force` : `'${idOrPrefix}' names several exemptions: give more of the id`, hits.length ? 'invalid' : 'not-found');
  await security.removeExemption(hits[0]!.id, by, view.at);
  return (await security.getExemption(hits[0]!.id))!;
}
