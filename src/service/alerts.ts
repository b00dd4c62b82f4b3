/**
 * Alert review: active → dismissed (with a reason) or resolved (by a person, or by itself when
 * a later scan no longer finds the file — the store's publication does that). Suppression rules
 * (path glob, rule, hash; in a scope) dismiss the alerts they cover that appear after the rule
 * was made; every status change is recorded with who, when and why.
 */
import type { AlertStatus, FleetStore } from '../store/index.ts';
import type { StoredAlert } from '../store/fleet-store.ts';
import type { SecurityStore, Suppression } from '../store/security-store.ts';
import type { FleetView, ResourceFilter } from './context.ts';
import { ServiceError } from './errors.ts';
import { parseExpiry, resolveScope } from './exemptions.ts';

/** Alert ids are UUIDs; the CLI shows the first 8 characters and takes any unique prefix this long or longer. */
export const MIN_ID_PREFIX_CHARS = 4;

export interface AlertQuery extends ResourceFilter {
  statuses?: readonly AlertStatus[];
}

/** Applies the suppression rules in force to new alerts, then lists alerts. */
export async function listAlerts(view: FleetView, store: FleetStore, security: SecurityStore, q: AlertQuery = {}): Promise<StoredAlert[]> {
  await applySuppressions(view, security);
  return store.listAlerts({
    statuses: q.statuses ?? ['active', 'dismissed'],
    ...(q.account !== undefined && { account: q.account }),
    ...(q.cluster !== undefined && { cluster: q.cluster }),
    ...(q.pool !== undefined && { pool: q.pool }),
    ...(q.node !== undefined && { node: q.node }),
  });
}

/** Dismisses the active alerts that rules in force cover and that appeared after the rule. Returns how many. */
export async function applySuppressions(view: FleetView, security: SecurityStore): Promise<number> {
  let n = 0;
  for (const rule of await security.listSuppressions()) {
    if (rule.expiresAt !== undefined && rule.expiresAt <= view.at) continue;
    n += (await security.applySuppression(rule, view.at)).length;
  }
  return n;
}

async function resolveAlertId(security: SecurityStore, idOrPrefix: string): Promise<string> {
  if (idOrPrefix.length < MIN_ID_PREFIX_CHARS) throw new ServiceError(`an alert id (or its first ${MIN_ID_PREFIX_CHARS}+ characters) is needed`);
  const ids = await security.alertIdsByPrefix(idOrPrefix);
  if (ids.length !== 1) throw new ServiceError(ids.length === 0 ? `no alert '${idOrPrefix}'` : `'${idOrPrefix}' names several alerts: give more of the id`, ids.length ? 'invalid' : 'not-found');
  return ids[0]!;
}

/** active → dismissed (a reason is required); dismissing a resolved alert is refused. */
export async function dismissAlert(view: FleetView, security: SecurityStore, idOrPrefix: string, reason: string, by: string): Promise<string> {
  if (reason.trim() === '') throw new ServiceError('dismissing an alert needs a reason');
  const id = await resolveAlertId(security, idOrPrefix);
  const cur = (await security.getAlertStatus(id))!;
  if (cur.status !== 'active') throw new ServiceError(`alert ${id.slice(0, 8)} is ${cur.status}, not active`);
  await security.setAlertStatus({ alertId: id, status: 'dismissed', reason, by, at: view.at });
  return id;
}

/** active or dismissed → resolved. */
export async function resolveAlert(view: FleetView, security: SecurityStore, idOrPrefix: string, reason: string | undefined, by: string): Promise<string> {
  const id = await resolveAlertId(security, idOrPrefix);
  const cur = (await security.getAlertStatus(id))!;
  if (cur.status === 'resolved') throw new ServiceError(`alert ${id.slice(0, 8)} is already resolved`);
  await security.setAlertStatus({ alertId: id, status: 'resolved', reason: reason ?? 'resolved by a reviewer', by, at: view.at });
  return id;
}

/** dismissed → active (a dismissal reversed). */
export async function reactivateAlert(view: FleetView, security: SecurityStore, idOrPrefix: string, by: string): Promise<string> {
  const id = await resolveAlertId(security, idOrPrefix);
  const cur = (await security.getAlertStatus(id))!;
  if (cur.status !== 'dismissed') throw new ServiceError(`alert ${id.slice(0, 8)} is ${cur.status}, not dismissed`);
  await security.setAlertStatus({ alertId: id, status: 'active', reason: 'dismissal reversed', by, at: view.at });
  return id;
}

export interface SuppressionRequest extends ResourceFilter {
  account: string;
  path?: string;
  rule?: string;
  sha256?: string;
  reason: string;
  expires?: string;
  by: string;
  /** Apply to alerts already there, not only future ones. */
  existing?: boolean;
}

export async function addSuppression(view: FleetView, security: SecurityStore, r: SuppressionRequest): Promise<{ rule: Suppression; dismissed: number }> {
  if (r.path === undefined && r.rule === undefined && r.sha256 === undefined) throw new ServiceError('a suppression rule needs --path GLOB, --rule NAME or --sha256 HASH');
  if (r.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(r.sha256)) throw new ServiceError('--sha256 must be 64 hex digits');
  if (r.reason.trim() === '') throw new ServiceError('a suppression rule needs a reason');
  const rule = await security.addSuppression({
    scope: resolveScope(view, r),
    ...(r.path !== undefined && { pathGlob: r.path }),
    ...(r.rule !== undefined && { rule: r.rule }),
    ...(r.sha256 !== undefined && { sha256: r.sha256 }),
    reason: r.reason,
    ...(r.expires !== undefined && { expiresAt: parseExpiry(r.expires) }),
    by: r.by,
    at: view.at,
  });
  const dismissed = r.existing ? (await security.applySuppression(rule, view.at, { existing: true })).length : 0;
  return { rule, dismissed };
}
