/**
 * The security views over the service layer (src/service/): recommendations, the Findings list,
 * a CVE's affected resources, remediation per pool, the image check, alerts and their review,
 * suppression rules, exemptions, history, and the vulnerability data's status. Every answer is
 * cut to the accounts the caller may see: per account for account-scoped callers, filtered
 * again whatever the service answered.
 */
import { createHash } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { remediationSentence, SEVERITY_ORDER, VULNERABILITY_SORTS, type CvePane, type PoolRemediation } from '../../service/index.ts';
import type { StoredAlert } from '../../store/fleet-store.ts';
import type { Exemption } from '../../store/security-store.ts';
import type { ApiDeps } from '../app.ts';
import { requireAccount, roleOn, tenantRole, type Principal } from '../auth.ts';
import { ApiProblem, redactDeep } from '../problem.ts';
import { decodeCursor, defineRoute, encodeCursor, pageOf, principalOf, type ApiRoute } from '../route.ts';
import * as s from '../schemas.ts';
import { errors, jsonBody, jsonContent } from './common.ts';
import { accountsFor, clusterById, poolById } from './fleet.ts';

/**
 * Runs a service call for what the caller may see: the named account; or, for a tenant-wide
 * caller, once for all; or once per visible account. Results of accounts the caller cannot see
 * are dropped whatever the service answered.
 */
async function perAccount<T>(deps: ApiDeps, p: Principal, named: string | undefined, fn: (account: string | undefined) => Promise<T[]>, accountOf: (t: T) => string): Promise<T[]> {
  let out: T[];
  if (named !== undefined) {
    await accountsFor(deps, p, named);
    out = await fn(named);
  } else if (tenantRole(p) !== undefined) {
    out = await fn(undefined);
  } else {
    out = [];
    for (const a of await accountsFor(deps, p)) out.push(...(await fn(a.id)));
  }
  return out.filter((t) => roleOn(p, accountOf(t)) !== undefined);
}

/** Views that aggregate over accounts (the Findings list, the image check) take one account, or all for a tenant-wide caller. */
async function oneScope(deps: ApiDeps, p: Principal, named: string | undefined): Promise<string | undefined> {
  if (named !== undefined) {
    await accountsFor(deps, p, named);
    return named;
  }
  if (tenantRole(p) !== undefined) return undefined;
  const visible = await accountsFor(deps, p);
  if (visible.length === 1) return visible[0]!.id;
  if (visible.length === 0) throw new ApiProblem(404, 'no account is granted to you');
  throw new ApiProblem(400, `you see several accounts: name one with account= (${visible.map((a) => a.id).join(', ')})`);
}

/** cluster / pool / node ids of a query → the service's names, within one account. */
async function resourceFilter(deps: ApiDeps, p: Principal, q: { account?: string | undefined; cluster?: string | undefined; pool?: string | undefined }) {
  const f: { account?: string; cluster?: string; pool?: string } = {};
  if (q.account !== undefined) f.account = q.account;
  if (q.cluster !== undefined) {
    const c = await clusterById(deps, p, q.cluster);
    if (f.account !== undefined && c.account !== f.account) throw new ApiProblem(404, 'no such cluster in this account');
    f.account = c.account;
    f.cluster = c.name;
  }
  if (q.pool !== undefined) {
    const pool = await poolById(deps, p, q.pool);
    if (f.account !== undefined && pool.account !== f.account) throw new ApiProblem(404, 'no such node pool in this account');
    const c = await clusterById(deps, p, pool.cluster);
    if (f.cluster !== undefined && f.cluster !== c.name) throw new ApiProblem(404, 'no such node pool in this cluster');
    Object.assign(f, { account: pool.account, cluster: c.name, pool: pool.name });
  }
  return f;
}

function alertView(a: StoredAlert) {
  const { ref, alert, ...rest } = a;
  return redactDeep({ ...rest, account: ref.account, cluster: ref.cluster, nodePool: ref.nodePool, node: ref.node, alert: alert as unknown as Record<string, unknown> });
}

function exemptionEtag(e: Exemption): string {
  return `"${createHash('sha256').update(JSON.stringify(e)).digest('base64url').slice(0, 22)}"`;
}

function exemptionView(e: Exemption, at: string) {
  const status = e.removedAt !== undefined ? 'removed' : e.expiresAt !== undefined && e.expiresAt <= at ? 'expired' : 'active';
  return { ...e, account: e.scope.account, status } as const;
}

function remediationView(r: PoolRemediation) {
  return { ...r, summary: remediationSentence(r) };
}

async function requireVulnDb(deps: ApiDeps): Promise<void> {
  if (deps.vulnDbStatus() === undefined) throw new ApiProblem(503, 'no vulnerability database yet: import one (hullscan db import / update)');
}

const accountQuery = { account: s.Id.optional() };
const severityList = z
  .string()
  .max(200)
  .regex(new RegExp(`^(${SEVERITY_ORDER.join('|')})(,(${SEVERITY_ORDER.join('|')}))*$`))
  .optional()
  .openapi({ description: `Comma-separated: ${SEVERITY_ORDER.join(', ')}` });
const bool = z.enum(['true', 'false']).optional();

export function securityRoutes(deps: ApiDeps): ApiRoute[] {
  const svc = deps.service;
  return [
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/recommendations', tags: ['recommendations'], summary: '"Kubernetes nodes should have vulnerability findings resolved", per cluster',
        request: { query: z.object({ ...accountQuery, cluster: s.Id.optional() }) },
        responses: { 200: jsonContent(z.object({ items: z.array(s.RecommendationSchema) }).openapi('RecommendationList'), 'One assessment per cluster'), ...errors(400, 401, 404) },
      }),
      { kind: 'authenticated', role: 'reader' },
      async (c) => {
        const p = principalOf(c);
        const q = c.req.valid('query');
        const f = await resourceFilter(deps, p, q);
        const clusters = await deps.store.listClusters({ includeGone: true });
        const items = await perAccount(deps, p, f.account, (account) => svc.recommendations({ ...(account !== undefined && { account }), ...(f.cluster !== undefined && { cluster: f.cluster }) }), (r) => r.account);
        return { status: 200, body: { items: items.map((r) => ({ ...r, clusterId: clusters.find((x) => x.account === r.account && x.name === r.cluster)?.id ?? '' })) } };
      },
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/recommendations/accounts', tags: ['recommendations'], summary: 'The recommendation rolled up per account',
        request: { query: z.object(accountQuery) }, responses: { 200: jsonContent(z.object({ items: z.array(s.AccountRollupSchema) }).openapi('AccountRecommendationList'), 'One line per account'), ...errors(400, 401, 404) },
      }),
      { kind: 'authenticated', role: 'reader' },
      async (c) => {
        const p = principalOf(c);
        const q = c.req.valid('query');
        const items = await perAccount(deps, p, q.account, (account) => svc.accountRollups(account !== undefined ? { account } : {}), (r) => r.account);
        return { status: 200, body: { items } };
      },
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/findings', tags: ['findings'], summary: 'The Findings list: one row per vulnerability over the counted nodes',
        request: {
          query: z.object({
            ...accountQuery, cluster: s.Id.optional(), pool: s.Id.optional(), node: s.Id.optional(), severity: severityList, fixAvailable: bool, kev: bool,
            package: z.string().min(1).max(200).optional(), search: z.string().min(1).max(200).optional(), sort: z.enum(VULNERABILITY_SORTS).optional(), order: z.enum(['asc', 'desc']).optional(),
            cursor: z.string().max(200).optional(), limit: z.coerce.number().int().min(1).max(500).optional(),
          }),
        },
        responses: { 200: jsonContent(s.FindingsPageSchema, 'A page of vulnerabilities'), ...errors(400, 401, 404) },
      }),
      { kind: 'authenticated', role: 'reader' },
      async (c) => {
        const p = principalOf(c);
        const q = c.req.valid('query');
        const f = await resourceFilter(deps, p, q);
        const query: Parameters<typeof svc.findings>[0] = { ...f };
        if (q.node !== undefined) {
          const ctx = await deps.store.nodeContext(q.node);
          if (ctx === undefined) throw new ApiProblem(404, 'no such node');
          requireAccount(p, ctx.account.id, 'reader', 'node');
          if ((f.account !== undefined && f.account !== ctx.account.id) || (f.cluster !== undefined && f.cluster !== ctx.cluster.name) || (f.pool !== undefined && f.pool !== ctx.pool.name)) throw new ApiProblem(404, 'no such node in this scope');
          Object.assign(query, { account: ctx.account.id, cluster: ctx.cluster.name, pool: ctx.pool.name, node: ctx.node.name });
        }
        const account = await oneScope(deps, p, query.account);
        if (account !== undefined) query.account = account;
        if (q.severity !== undefined) query.severities = q.severity.split(',') as (typeof SEVERITY_ORDER)[number][];
        if (q.fixAvailable !== undefined) query.fixAvailable = q.fixAvailable === 'true';
        if (q.kev === 'true') query.kev = true;
        if (q.package !== undefined) query.package = q.package;
        if (q.search !== undefined) query.search = q.search;
        if (q.sort !== undefined) query.sort = q.sort;
        if (q.order !== undefined) query.descending = q.order === 'desc';
        const limit = q.limit ?? 50;
        const offset = decodeCursor(q.cursor) ?? 0;
        if (typeof offset !== 'number' || offset % limit !== 0) throw new ApiProblem(400, 'invalid cursor for this list (or limit changed between pages)');
        const page = await svc.findings({ ...query, page: offset / limit + 1, pageSize: limit });
        const next = offset + limit < page.total ? encodeCursor(offset + limit) : null;
        return { status: 200, body: { items: page.items, next, total: page.total } };
      },
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/vulnerabilities/{id}', tags: ['findings'], summary: "The CVE pane: a vulnerability's details and every affected cluster, node pool and node",
        request: { params: s.IdParam, query: z.object({ ...accountQuery, cluster: s.Id.optional() }) },
        responses: { 200: jsonContent(s.CvePaneSchema, 'The pane'), ...errors(400, 401, 404) },
      }),
      { kind: 'authenticated', role: 'reader' },
      async (c) => {
        const p = principalOf(c);
        const { id } = c.req.valid('param');
        const f = await resourceFilter(deps, p, c.req.valid('query'));
        const all: CvePane[] = [];
        if (f.account !== undefined || tenantRole(p) !== undefined) {
          const one = await svc.cvePane(id, { ...(f.account !== undefined && { account: f.account }), ...(f.cluster !== undefined && { cluster: f.cluster }) }).catch((err: { kind?: string }) => {
            if (err.kind === 'not-found') return undefined;
            throw err;
          });
          if (one !== undefined) all.push(one);
        } else {
          for (const a of await accountsFor(deps, p)) {
            const one = await svc.cvePane(id, { account: a.id }).catch((err: { kind?: string }) => {
              if (err.kind === 'not-found') return undefined;
              throw err;
            });
            if (one !== undefined) all.push(one);
          }
        }
        const affected = all.flatMap((x) => x.affected).filter((r) => roleOn(p, r.account) !== undefined);
        // A vulnerability that affects nothing the caller may see does not exist for them.
        if (affected.length === 0) throw new ApiProblem(404, `no finding of ${id} in the accounts you may see`);
        const first = all.find((x) => x.affected.length > 0)!;
        const counts = all.reduce((n, x) => ({ findings: n.findings + x.counts.findings, exempt: n.exempt + x.counts.exempt, nodes: n.nodes + x.counts.nodes, pools: n.pools + x.counts.pools, clusters: n.clusters + x.counts.clusters }), { findings: 0, exempt: 0, nodes: 0, pools: 0, clusters: 0 });
        return { status: 200, body: { ...first, counts: all.length === 1 ? first.counts : counts, affected } };
      },
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/remediation', tags: ['remediation'], summary: 'Remediation per node pool: the node-image upgrade and what it fixes',
        request: { query: z.object({ ...accountQuery, cluster: s.Id.optional(), pool: s.Id.optional(), target: z.string().max(100).optional() }) },
        responses: { 200: jsonContent(z.object({ items: z.array(s.RemediationSchema) }).openapi('RemediationList'), 'One entry per pool'), ...errors(400, 401, 404, 503) },
      }),
      { kind: 'authenticated', role: 'reader' },
      async (c) => {
        const p = principalOf(c);
        const q = c.req.valid('query');
        const f = await resourceFilter(deps, p, q);
        await requireVulnDb(deps);
        const items = await perAccount(
          deps, p, f.account,
          (account) => svc.remediation({ ...(account !== undefined && { account }), ...(f.cluster !== undefined && { cluster: f.cluster }), ...(f.pool !== undefined && { pool: f.pool }), ...(q.target !== undefined && { to: q.target }) }),
          (r) => r.account,
        );
        return { status: 200, body: { items: items.map(remediationView) } };
      },
    ),
    defineRoute(
      createRoute({
        method: 'post', path: '/api/v1/image-check', tags: ['remediation'], summary: 'What a candidate node-image version would fix and introduce on the selected pools',
        request: { body: jsonBody(s.ImageCheckRequestSchema) },
        responses: { 200: jsonContent(s.ImageCheckSchema, 'The comparison'), ...errors(400, 401, 404, 503) },
      }),
      { kind: 'authenticated', role: 'reader' },
      async (c) => {
        const p = principalOf(c);
        const b = c.req.valid('json');
        const f = await resourceFilter(deps, p, b);
        const account = await oneScope(deps, p, f.account);
        await requireVulnDb(deps);
        const r = await svc.checkCatalogImage(b.version, { ...f, ...(account !== undefined && { account }), ...(b.family !== undefined && { family: b.family }) });
        return { status: 200, body: { ...r, pools: r.pools.filter((x) => roleOn(p, x.account) !== undefined).map(remediationView) } };
      },
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/alerts', tags: ['alerts'], summary: 'Malware alerts',
        request: { query: s.PageQuery.extend({ ...accountQuery, cluster: s.Id.optional(), status: z.enum(['active', 'dismissed', 'resolved', 'all']).optional() }) },
        responses: { 200: jsonContent(s.pageSchema(s.AlertSchema, 'AlertPage'), 'Alerts'), ...errors(400, 401, 404) },
      }),
      { kind: 'authenticated', role: 'reader' },
      async (c) => {
        const p = principalOf(c);
        const q = c.req.valid('query');
        const f = await resourceFilter(deps, p, q);
        const statuses = q.status === undefined ? undefined : q.status === 'all' ? (['active', 'dismissed', 'resolved'] as const) : [q.status];
        const list = await perAccount(deps, p, f.account, (account) => svc.alerts({ ...(account !== undefined && { account }), ...(f.cluster !== undefined && { cluster: f.cluster }), ...(statuses !== undefined && { statuses }) }), (a) => a.ref.account);
        const page = pageOf(list.map(alertView), (a) => `${a.firstSeen}\u0000${a.id}`, q.cursor, q.limit ?? 50);
        return { status: 200, body: page };
      },
    ),
    defineRoute(
      createRoute({ method: 'get', path: '/api/v1/alerts/{id}', tags: ['alerts'], summary: 'One alert with its review history', request: { params: s.IdParam }, responses: { 200: jsonContent(s.AlertSchema.extend({ history: z.array(z.looseObject({ status: z.string(), by: z.string(), at: z.string() })) }).openapi('AlertDetail'), 'The alert'), ...errors(401, 404) } }),
      { kind: 'account', role: 'reader' },
      async (c) => {
        const p = principalOf(c);
        const a = await alertById(deps, p, c.req.valid('param').id, 'reader');
        return { status: 200, body: { ...alertView(a), history: redactDeep(await svc.alertHistory(a.id)) } };
      },
    ),
    ...(['dismiss', 'resolve', 'reactivate'] as const).map((action) =>
      defineRoute(
        createRoute({
          method: 'post', path: `/api/v1/alerts/{id}/${action}`, tags: ['alerts'],
          summary: action === 'dismiss' ? 'Dismiss an active alert (a reason is required)' : action === 'resolve' ? 'Resolve an alert' : 'Reverse a dismissal',
          request: { params: s.IdParam, ...(action === 'reactivate' ? {} : { body: jsonBody(action === 'dismiss' ? s.AlertReviewSchema : s.AlertResolveSchema) }) },
          responses: { 200: jsonContent(s.AlertSchema, 'The alert after the change'), ...errors(400, 401, 403, 404) },
        }),
        { kind: 'account', role: 'security-admin', mutates: true },
        async (c) => {
          const p = principalOf(c);
          const id = (c.req.valid('param') as { id: string }).id;
          const before = await alertById(deps, p, id, 'security-admin');
          const body = action === 'reactivate' ? {} : ((await c.req.json()) as { reason?: string });
          if (action === 'dismiss') await svc.dismissAlert(before.id, body.reason ?? '', p.label);
          else if (action === 'resolve') await svc.resolveAlert(before.id, body.reason, p.label);
          else await svc.reactivateAlert(before.id, p.label);
          const after = await alertById(deps, p, id, 'reader');
          await deps.audit(c, { action: `alert.${action}`, targetType: 'alert', targetId: before.id, account: before.ref.account, before: { status: before.status, reason: before.statusReason }, after: { status: after.status, reason: after.statusReason } });
          return { status: 200, body: alertView(after) };
        },
      ),
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/suppressions', tags: ['alerts'], summary: 'Alert suppression rules',
        request: { query: z.object({ ...accountQuery, all: bool }) }, responses: { 200: jsonContent(z.object({ items: z.array(s.SuppressionSchema) }).openapi('SuppressionList'), 'Rules'), ...errors(400, 401, 404) },
      }),
      { kind: 'authenticated', role: 'reader' },
      async (c) => {
        const q = c.req.valid('query');
        const items = await perAccount(deps, principalOf(c), q.account, (account) => svc.listSuppressions({ ...(account !== undefined && { account }), all: q.all === 'true' }), (r) => r.scope.account);
        return { status: 200, body: { items } };
      },
    ),
    defineRoute(
      createRoute({
        method: 'post', path: '/api/v1/suppressions', tags: ['alerts'], summary: 'Add a suppression rule (security-admin)',
        request: { body: jsonBody(s.SuppressionRequestSchema) }, responses: { 201: jsonContent(z.object({ rule: s.SuppressionSchema, dismissed: z.number().int() }).openapi('SuppressionCreated'), 'The rule'), ...errors(400, 401, 403, 404) },
      }),
      { kind: 'account', role: 'security-admin', mutates: true },
      async (c) => {
        const p = principalOf(c);
        const b = c.req.valid('json');
        await accountsFor(deps, p, b.account);
        requireAccount(p, b.account, 'security-admin', 'account');
        const r = await svc.addSuppression({ ...b, by: p.label });
        await deps.audit(c, { action: 'suppression.add', targetType: 'suppression', targetId: r.rule.id, account: b.account, after: { rule: r.rule, dismissed: r.dismissed } });
        return { status: 201, body: r, headers: { location: `/api/v1/suppressions/${r.rule.id}` } };
      },
    ),
    defineRoute(
      createRoute({ method: 'delete', path: '/api/v1/suppressions/{id}', tags: ['alerts'], summary: 'Remove a suppression rule (security-admin)', request: { params: s.IdParam }, responses: { 204: { description: 'Removed' }, ...errors(401, 403, 404) } }),
      { kind: 'account', role: 'security-admin', mutates: true },
      async (c) => {
        const p = principalOf(c);
        const { id } = c.req.valid('param');
        const rule = (await svc.listSuppressions({})).find((r) => r.id === id);
        if (rule === undefined) throw new ApiProblem(404, 'no such suppression rule in force');
        requireAccount(p, rule.scope.account, 'security-admin', 'suppression rule');
        await svc.removeSuppression(rule.id, p.label);
        await deps.audit(c, { action: 'suppression.remove', targetType: 'suppression', targetId: rule.id, account: rule.scope.account, before: rule });
        return { status: 204 };
      },
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/exemptions', tags: ['exemptions'], summary: 'Exemptions (in force; all=true: expired and removed too)',
        request: { query: s.PageQuery.extend({ ...accountQuery, all: bool }) }, responses: { 200: jsonContent(s.pageSchema(s.ExemptionSchema, 'ExemptionPage'), 'Exemptions'), ...errors(400, 401, 404) },
      }),
      { kind: 'authenticated', role: 'reader' },
      async (c) => {
        const q = c.req.valid('query');
        const list = await perAccount(deps, principalOf(c), q.account, (account) => svc.listExemptions({ ...(account !== undefined && { account }), all: q.all === 'true' }), (e) => e.scope.account);
        const at = deps.now().toISOString();
        return { status: 200, body: pageOf(list.map((e) => exemptionView(e, at)), (e) => `${e.createdAt}\u0000${e.id}`, q.cursor, q.limit ?? 50) };
      },
    ),
    defineRoute(
      createRoute({
        method: 'post', path: '/api/v1/exemptions', tags: ['exemptions'], summary: 'Add an exemption (security-admin): a vulnerability or package pattern in a scope, with a reason, an owner and an expiry',
        request: { body: jsonBody(s.ExemptionRequestSchema) }, responses: { 201: jsonContent(s.ExemptionSchema, 'The exemption', { etag: 'Its version', location: 'It' }), ...errors(400, 401, 403, 404) },
      }),
      { kind: 'account', role: 'security-admin', mutates: true },
      async (c) => {
        const p = principalOf(c);
        const b = c.req.valid('json');
        await accountsFor(deps, p, b.account);
        requireAccount(p, b.account, 'security-admin', 'account');
        const e = await svc.addExemption({ ...b, by: p.label });
        await deps.audit(c, { action: 'exemption.add', targetType: 'exemption', targetId: e.id, account: b.account, after: e });
        return { status: 201, body: exemptionView(e, deps.now().toISOString()), headers: { etag: exemptionEtag(e), location: `/api/v1/exemptions/${e.id}` } };
      },
    ),
    defineRoute(
      createRoute({ method: 'get', path: '/api/v1/exemptions/{id}', tags: ['exemptions'], summary: 'One exemption (ETag)', request: { params: s.IdParam }, responses: { 200: jsonContent(s.ExemptionSchema, 'The exemption', { etag: 'Its version' }), ...errors(401, 404) } }),
      { kind: 'account', role: 'reader' },
      async (c) => {
        const e = await exemptionById(deps, principalOf(c), c.req.valid('param').id, 'reader');
        return { status: 200, body: exemptionView(e, deps.now().toISOString()), headers: { etag: exemptionEtag(e) } };
      },
    ),
    defineRoute(
      createRoute({
        method: 'delete', path: '/api/v1/exemptions/{id}', tags: ['exemptions'], summary: 'Remove an exemption (security-admin; If-Match: its ETag)',
        request: { params: s.IdParam, headers: z.object({ 'if-match': z.string().max(200).optional() }) }, responses: { 200: jsonContent(s.ExemptionSchema, 'The exemption, removed'), ...errors(401, 403, 404, 409, 412) },
      }),
      { kind: 'account', role: 'security-admin', mutates: true },
      async (c) => {
        const p = principalOf(c);
        const e = await exemptionById(deps, p, c.req.valid('param').id, 'security-admin');
        const ifMatch = c.req.valid('header')['if-match'];
        if (ifMatch !== undefined && ifMatch.trim() !== '*' && ifMatch.trim() !== exemptionEtag(e)) throw new ApiProblem(412, 'the exemption changed since you read it');
        if (e.removedAt !== undefined) throw new ApiProblem(409, 'the exemption is already removed');
        const removed = await svc.removeExemption(e.id, p.label);
        await deps.audit(c, { action: 'exemption.remove', targetType: 'exemption', targetId: e.id, account: e.scope.account, before: e, after: removed });
        return { status: 200, body: exemptionView(removed, deps.now().toISOString()) };
      },
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/history', tags: ['history'], summary: 'Open findings per day by severity and mean time to remediate, per cluster',
        request: { query: z.object({ ...accountQuery, cluster: s.Id.optional(), days: z.coerce.number().int().min(1).max(3650).optional() }) },
        responses: { 200: jsonContent(z.object({ items: z.array(s.HistorySchema) }).openapi('HistoryList'), 'Per cluster'), ...errors(400, 401, 404) },
      }),
      { kind: 'authenticated', role: 'reader' },
      async (c) => {
        const p = principalOf(c);
        const q = c.req.valid('query');
        const f = await resourceFilter(deps, p, q);
        const items = await perAccount(deps, p, f.account, (account) => svc.history({ ...(account !== undefined && { account }), ...(f.cluster !== undefined && { cluster: f.cluster }), ...(q.days !== undefined && { days: q.days }) }), (h) => h.account);
        return { status: 200, body: { items } };
      },
    ),
    defineRoute(
      createRoute({ method: 'get', path: '/api/v1/vulnerability-data', tags: ['vulnerability data'], summary: 'The vulnerability database: sources, counts, freshness', responses: { 200: jsonContent(s.VulnDataSchema, 'Status'), ...errors(401) } }),
      { kind: 'authenticated', role: 'reader' },
      async () => {
        const st = deps.vulnDbStatus();
        if (st === undefined) return { status: 200, body: { available: false, builtAt: null, schemaVersion: null, sources: [], namespaces: [], kevEntries: 0, epssScores: 0, epssDate: null } };
        return {
          status: 200,
          body: {
            available: true, builtAt: st.builtAt ?? null, schemaVersion: st.schemaVersion,
            sources: st.sources.map((x) => ({ source: x.source, feeds: x.feeds.map((f) => redactDeep(f.split('/').pop() ?? f)), advisories: x.advisories, affectedPackages: x.affectedPackages, newestRecord: x.newestRecord ?? null, importedAt: x.importedAt, malformed: x.malformed })),
            namespaces: st.namespaces.map((n) => ({ namespace: String(n.namespace), advisories: n.advisories })), kevEntries: st.kevEntries, epssScores: st.epssScores, epssDate: st.epssDate ?? null,
          },
        };
      },
    ),
  ];
}

async function alertById(deps: ApiDeps, p: Principal, id: string, min: 'reader' | 'security-admin'): Promise<StoredAlert> {
  const st = await deps.service.security.getAlertStatus(id);
  if (st === undefined) throw new ApiProblem(404, 'no such alert');
  requireAccount(p, st.accountId, min, 'alert');
  const list = await deps.service.alerts({ account: st.accountId, statuses: ['active', 'dismissed', 'resolved'] });
  const a = list.find((x) => x.id === id);
  if (a === undefined) throw new ApiProblem(404, 'no such alert');
  return a;
}

async function exemptionById(deps: ApiDeps, p: Principal, id: string, min: 'reader' | 'security-admin'): Promise<Exemption> {
  const e = await deps.service.security.getExemption(id);
  if (e === undefined) throw new ApiProblem(404, 'no such exemption');
  requireAccount(p, e.scope.account, min, 'exemption');
  return e;
}
