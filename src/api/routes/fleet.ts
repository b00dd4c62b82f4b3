/** Accounts and their settings; clusters, node pools and nodes with coverage; inventories and SBOMs; scans. */
import { createHash } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { writeInventoryJson, writeSbom } from '../../inventory/sbom/index.ts';
import { PROVIDERS } from '../../store/model.ts';
import type { Account, Cluster, NodePool, NodeScan, ScanRun } from '../../store/index.ts';
import type { NodeWithScan } from '../../store/fleet-store.ts';
import type { ApiDeps } from '../app.ts';
import { requireAccount, roleOn, type Principal } from '../auth.ts';
import { ApiProblem, redact, redactDeep } from '../problem.ts';
import { defineRoute, principalOf, pageOf, type ApiRoute, type Reply } from '../route.ts';
import * as s from '../schemas.ts';
import { errors, jsonBody, jsonContent } from './common.ts';

export function accountView(a: Account) {
  return { ...a, account: a.id };
}

/** The settings' entity tag: the account and its settings version (strong). */
export function settingsEtag(a: Account): string {
  return `"${createHash('sha256').update(`${a.id}\u0000${a.settingsVersion}`).digest('base64url').slice(0, 16)}-v${a.settingsVersion}"`;
}

/** The accounts a principal may see, or the one it named (404 when invisible). */
export async function accountsFor(deps: ApiDeps, p: Principal, named?: string): Promise<Account[]> {
  const all = await deps.store.listAccounts();
  if (named !== undefined) {
    const a = all.find((x) => x.id === named);
    if (a === undefined || roleOn(p, a.id) === undefined) throw new ApiProblem(404, `no such account '${named}'`);
    return [a];
  }
  return all.filter((a) => roleOn(p, a.id) !== undefined);
}

export async function clusterById(deps: ApiDeps, p: Principal, id: string, min: Parameters<typeof requireAccount>[2] = 'reader'): Promise<Cluster> {
  const c = (await deps.store.listClusters({ includeGone: true })).find((x) => x.id === id);
  if (c === undefined) throw new ApiProblem(404, 'no such cluster');
  requireAccount(p, c.account, min, 'cluster');
  return c;
}

export async function poolById(deps: ApiDeps, p: Principal, id: string, min: Parameters<typeof requireAccount>[2] = 'reader'): Promise<NodePool> {
  const x = (await deps.store.listPools({ includeGone: true })).find((y) => y.id === id);
  if (x === undefined) throw new ApiProblem(404, 'no such node pool');
  requireAccount(p, x.account, min, 'node pool');
  return x;
}

function nodeScanView(n: NodeScan) {
  return redactDeep({ ...n });
}

function coverageOf(n: NodeWithScan, account: Account | undefined) {
  const last = n.lastScan;
  const reason = last?.reason ?? null;
  const detail = last?.reasonDetail !== undefined ? redact(last.reasonDetail) : null;
  if (n.node.goneAt !== undefined) return { state: 'gone' as const, scannedAt: n.node.lastPublishedAt ?? null, reason: 'gone', detail: `gone since ${n.node.goneAt}` };
  if (n.node.lastPublishedAt !== undefined) {
    const failedSince = last !== undefined && (last.state === 'failed' || last.state === 'skipped') && (last.finishedAt ?? '') > n.node.lastPublishedAt;
    return { state: 'scanned' as const, scannedAt: n.node.lastPublishedAt, reason: failedSince ? reason : null, detail: failedSince ? detail : null };
  }
  if (last === undefined) {
    const off = account !== undefined && !account.settings.agentlessScanning;
    return { state: 'not-scanned' as const, scannedAt: null, reason: off ? 'scanning-off' : 'not-scanned-yet', detail: off ? `scanning is off for account ${account.id}` : null };
  }
  if (last.state === 'failed') return { state: 'failed' as const, scannedAt: null, reason, detail };
  if (last.state === 'skipped') return { state: 'skipped' as const, scannedAt: null, reason, detail };
  return { state: 'scanning' as const, scannedAt: null, reason: null, detail: `node scan ${last.state}` };
}

function nodeView(n: NodeWithScan, account: Account | undefined) {
  const { diskRef: _disk, currentInventoryId, lastScanId: _last, lastPublishedAt: _pub, ...rest } = n.node;
  return {
    ...rest,
    clusterName: n.ref.cluster,
    poolName: n.ref.nodePool,
    hasInventory: currentInventoryId !== undefined,
    coverage: coverageOf(n, account),
    lastScan: n.lastScan ? nodeScanView(n.lastScan) : null,
  };
}

async function nodeById(deps: ApiDeps, p: Principal, id: string): Promise<{ n: NodeWithScan; account: Account }> {
  const ctx = await deps.store.nodeContext(id);
  if (ctx === undefined) throw new ApiProblem(404, 'no such node');
  requireAccount(p, ctx.account.id, 'reader', 'node');
  const scans = await deps.store.listNodeScans({ node: id });
  const last = [...scans].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1))[0];
  const n: NodeWithScan = { node: ctx.node, ref: { account: ctx.account.id, cluster: ctx.cluster.name, nodePool: ctx.pool.name, node: ctx.node.name } };
  if (last !== undefined) n.lastScan = last;
  return { n, account: ctx.account };
}

function scanView(r: ScanRun) {
  return redactDeep({ ...r });
}

const ACCOUNT_PARAM = s.IdParam;
function listQuery<T extends z.ZodRawShape>(extra: T) {
  return s.PageQuery.extend(extra);
}

export function fleetRoutes(deps: ApiDeps): ApiRoute[] {
  return [
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/accounts', tags: ['accounts'], summary: 'Accounts you may see',
        request: { query: listQuery({ provider: z.enum(PROVIDERS).optional() }) },
        responses: { 200: jsonContent(s.pageSchema(s.AccountSchema, 'AccountPage'), 'Accounts'), ...errors(400, 401) },
      }),
      { kind: 'authenticated', role: 'reader' },
      async (c) => {
        const q = c.req.valid('query');
        const list = (await accountsFor(deps, principalOf(c))).filter((a) => q.provider === undefined || a.provider === q.provider);
        const page = pageOf(list, (a) => a.id, q.cursor, q.limit ?? 50);
        return { status: 200, body: { items: page.items.map(accountView), next: page.next } };
      },
    ),
    defineRoute(
      createRoute({ method: 'get', path: '/api/v1/accounts/{id}', tags: ['accounts'], summary: 'One account', request: { params: ACCOUNT_PARAM }, responses: { 200: jsonContent(s.AccountSchema, 'The account'), ...errors(401, 404) } }),
      { kind: 'account', role: 'reader' },
      async (c) => {
        const [a] = await accountsFor(deps, principalOf(c), c.req.valid('param').id);
        return { status: 200, body: accountView(a!), headers: { etag: settingsEtag(a!) } };
      },
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/accounts/{id}/settings', tags: ['accounts'], summary: 'The account settings (ETag: use it as If-Match to change them)',
        request: { params: ACCOUNT_PARAM }, responses: { 200: jsonContent(s.SettingsResponse, 'Settings and their version', { etag: 'The settings version' }), ...errors(401, 404) },
      }),
      { kind: 'account', role: 'reader' },
      async (c) => {
        const [a] = await accountsFor(deps, principalOf(c), c.req.valid('param').id);
        return { status: 200, body: { account: a!.id, version: a!.settingsVersion, settings: a!.settings }, headers: { etag: settingsEtag(a!) } };
      },
    ),
    defineRoute(
      createRoute({
        method: 'patch', path: '/api/v1/accounts/{id}/settings', tags: ['accounts'], summary: 'Change settings (owner; If-Match required: no lost updates)',
        request: { params: ACCOUNT_PARAM, headers: z.object({ 'if-match': z.string().max(200).optional() }), body: jsonBody(s.SettingsPatchSchema) },
        responses: { 200: jsonContent(s.SettingsResponse, 'The new settings version', { etag: 'The new version' }), ...errors(400, 401, 403, 404, 409, 412, 428) },
      }),
      { kind: 'account', role: 'owner', mutates: true },
      async (c) => {
        const p = principalOf(c);
        const { id } = c.req.valid('param');
        const [a] = await accountsFor(deps, p, id);
        requireAccount(p, id, 'owner', 'account');
        const ifMatch = c.req.valid('header')['if-match'];
        if (ifMatch === undefined) throw new ApiProblem(428, 'changing settings needs If-Match: the ETag of GET /api/v1/accounts/{id}/settings');
        if (ifMatch.trim() !== settingsEtag(a!) && ifMatch.trim() !== '*') throw new ApiProblem(412, `the settings changed since you read them (now version ${a!.settingsVersion}): read them again`);
        const patch = c.req.valid('json');
        const at = deps.now().toISOString();
        let updated: Account;
        try {
          updated = await deps.store.updateSettings(id, patch, { by: p.label, at, expectedVersion: a!.settingsVersion });
        } catch (err) {
          if ((err as Error).name === 'ConflictError') throw new ApiProblem(412, 'the settings changed since you read them: read them again');
          throw err;
        }
        await deps.audit(c, { action: 'settings.update', targetType: 'account', targetId: id, account: id, before: { version: a!.settingsVersion, settings: a!.settings }, after: { version: updated.settingsVersion, settings: updated.settings } });
        return { status: 200, body: { account: id, version: updated.settingsVersion, settings: updated.settings }, headers: { etag: settingsEtag(updated) } };
      },
    ),
    defineRoute(
      createRoute({ method: 'get', path: '/api/v1/accounts/{id}/settings/history', tags: ['accounts'], summary: 'Every settings version with who and when', request: { params: ACCOUNT_PARAM }, responses: { 200: jsonContent(s.SettingsHistorySchema, 'Versions, oldest first'), ...errors(401, 404) } }),
      { kind: 'account', role: 'reader' },
      async (c) => {
        const [a] = await accountsFor(deps, principalOf(c), c.req.valid('param').id);
        const h = await deps.store.settingsHistory(a!.id);
        return { status: 200, body: { items: h.map((v) => ({ version: v.version, settings: v.settings, changedBy: v.changedBy, changedAt: v.changedAt })) } };
      },
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/clusters', tags: ['fleet'], summary: 'Clusters (of the accounts you may see)',
        request: { query: listQuery({ account: s.Id.optional(), includeGone: z.enum(['true', 'false']).optional() }) },
        responses: { 200: jsonContent(s.pageSchema(s.ClusterSchema, 'ClusterPage'), 'Clusters'), ...errors(400, 401, 404) },
      }),
      { kind: 'authenticated', role: 'reader' },
      async (c) => {
        const q = c.req.valid('query');
        const ids = new Set((await accountsFor(deps, principalOf(c), q.account)).map((a) => a.id));
        const list = (await deps.store.listClusters({ includeGone: q.includeGone === 'true' })).filter((x) => ids.has(x.account));
        const page = pageOf(list, (x) => `${x.account}\u0000${x.name}\u0000${x.id}`, q.cursor, q.limit ?? 50);
        return { status: 200, body: page };
      },
    ),
    defineRoute(
      createRoute({ method: 'get', path: '/api/v1/clusters/{id}', tags: ['fleet'], summary: 'One cluster', request: { params: s.IdParam }, responses: { 200: jsonContent(s.ClusterSchema, 'The cluster'), ...errors(401, 404) } }),
      { kind: 'account', role: 'reader' },
      async (c) => ({ status: 200, body: await clusterById(deps, principalOf(c), c.req.valid('param').id) }),
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/pools', tags: ['fleet'], summary: 'Node pools',
        request: { query: listQuery({ account: s.Id.optional(), cluster: s.Id.optional(), includeGone: z.enum(['true', 'false']).optional() }) },
        responses: { 200: jsonContent(s.pageSchema(s.PoolSchema, 'NodePoolPage'), 'Node pools'), ...errors(400, 401, 404) },
      }),
      { kind: 'authenticated', role: 'reader' },
      async (c) => {
        const q = c.req.valid('query');
        const p = principalOf(c);
        const ids = new Set((await accountsFor(deps, p, q.account)).map((a) => a.id));
        if (q.cluster !== undefined) await clusterById(deps, p, q.cluster);
        const list = (await deps.store.listPools({ includeGone: q.includeGone === 'true' })).filter((x) => ids.has(x.account) && (q.cluster === undefined || x.cluster === q.cluster));
        return { status: 200, body: pageOf(list, (x) => `${x.account}\u0000${x.cluster}\u0000${x.name}\u0000${x.id}`, q.cursor, q.limit ?? 50) };
      },
    ),
    defineRoute(
      createRoute({ method: 'get', path: '/api/v1/pools/{id}', tags: ['fleet'], summary: 'One node pool', request: { params: s.IdParam }, responses: { 200: jsonContent(s.PoolSchema, 'The node pool'), ...errors(401, 404) } }),
      { kind: 'account', role: 'reader' },
      async (c) => ({ status: 200, body: await poolById(deps, principalOf(c), c.req.valid('param').id) }),
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/nodes', tags: ['fleet'], summary: 'Nodes with coverage: scanned when, or why not',
        request: {
          query: listQuery({
            account: s.Id.optional(), cluster: s.Id.optional(), pool: s.Id.optional(), includeGone: z.enum(['true', 'false']).optional(),
            coverage: z.enum(['scanned', 'not-scanned', 'scanning', 'failed', 'skipped', 'gone']).optional(),
          }),
        },
        responses: { 200: jsonContent(s.pageSchema(s.NodeSchema, 'NodePage'), 'Nodes'), ...errors(400, 401, 404) },
      }),
      { kind: 'authenticated', role: 'reader' },
      async (c) => {
        const q = c.req.valid('query');
        const p = principalOf(c);
        const accounts = await accountsFor(deps, p, q.account);
        if (q.cluster !== undefined) await clusterById(deps, p, q.cluster);
        if (q.pool !== undefined) await poolById(deps, p, q.pool);
        const byId = new Map(accounts.map((a) => [a.id, a]));
        const rows: NodeWithScan[] = [];
        for (const a of accounts) rows.push(...(await deps.store.listNodes({ account: a.id, includeGone: q.includeGone === 'true' })));
        const views = rows
          .filter((n) => (q.cluster === undefined || n.node.cluster === q.cluster) && (q.pool === undefined || n.node.pool === q.pool))
          .map((n) => nodeView(n, byId.get(n.node.account)))
          .filter((n) => q.coverage === undefined || n.coverage.state === q.coverage);
        return { status: 200, body: pageOf(views, (n) => `${n.account}\u0000${n.clusterName}\u0000${n.poolName}\u0000${n.name}\u0000${n.id}`, q.cursor, q.limit ?? 50) };
      },
    ),
    defineRoute(
      createRoute({ method: 'get', path: '/api/v1/nodes/{id}', tags: ['fleet'], summary: 'One node with its coverage and last node scan', request: { params: s.IdParam }, responses: { 200: jsonContent(s.NodeSchema, 'The node'), ...errors(401, 404) } }),
      { kind: 'account', role: 'reader' },
      async (c) => {
        const { n, account } = await nodeById(deps, principalOf(c), c.req.valid('param').id);
        return { status: 200, body: nodeView(n, account) };
      },
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/nodes/{id}/inventory', tags: ['fleet'], summary: "The node's current inventory (Hullscan JSON)",
        request: { params: s.IdParam }, responses: { 200: jsonContent(z.looseObject({}).openapi('Inventory'), 'The inventory'), ...errors(401, 404) },
      }),
      { kind: 'account', role: 'reader' },
      async (c) => {
        const inv = await inventoryOf(deps, principalOf(c), c.req.valid('param').id);
        return new Response(writeInventoryJson(inv), { status: 200, headers: { 'content-type': 'application/json' } });
      },
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/nodes/{id}/sbom', tags: ['fleet'], summary: "The node's SBOM: CycloneDX 1.6 or SPDX 2.3",
        request: { params: s.IdParam, query: z.object({ format: z.enum(['cyclonedx', 'spdx']).default('cyclonedx').optional() }) },
        responses: {
          200: {
            description: 'The SBOM (Content-Disposition: attachment)',
            content: { 'application/vnd.cyclonedx+json': { schema: z.looseObject({}).openapi('CycloneDx') }, 'application/spdx+json': { schema: z.looseObject({}).openapi('Spdx') } },
          },
          ...errors(400, 401, 404),
        },
      }),
      { kind: 'account', role: 'reader' },
      async (c) => {
        const { id } = c.req.valid('param');
        const format = c.req.valid('query').format ?? 'cyclonedx';
        const inv = await inventoryOf(deps, principalOf(c), id);
        const body = writeSbom(inv, format);
        const type = format === 'spdx' ? 'application/spdx+json' : 'application/vnd.cyclonedx+json';
        const name = `${id.replace(/[^A-Za-z0-9._-]/g, '_')}.${format === 'spdx' ? 'spdx' : 'cdx'}.json`;
        return new Response(body, { status: 200, headers: { 'content-type': type, 'content-disposition': `attachment; filename="${name}"` } });
      },
    ),
    defineRoute(
      createRoute({
        method: 'post', path: '/api/v1/scans', tags: ['scans'], summary: 'Start an on-demand scan of an account, a cluster or a node pool (security-admin)',
        request: {
          headers: z.object({ 'idempotency-key': z.string().min(1).max(200).optional().openapi({ description: 'Repeats with the same key answer the first response' }) }),
          body: jsonBody(s.ScanRequestSchema),
        },
        responses: { 202: jsonContent(s.ScanSchema, 'The scan, queued', { location: 'The scan' }), ...errors(400, 401, 403, 404, 409, 422) },
      }),
      { kind: 'account', role: 'security-admin', mutates: true },
      async (c): Promise<Reply> => {
        const p = principalOf(c);
        const req = c.req.valid('json');
        await accountsFor(deps, p, req.account);
        requireAccount(p, req.account, 'security-admin', 'account');
        const scope: { cluster?: string; pool?: string } = {};
        if (req.cluster !== undefined) {
          const cl = await clusterById(deps, p, req.cluster);
          if (cl.account !== req.account) throw new ApiProblem(404, 'no such cluster in this account');
          scope.cluster = cl.name;
        }
        if (req.pool !== undefined) {
          const pool = await poolById(deps, p, req.pool);
          if (pool.account !== req.account || (req.cluster !== undefined && pool.cluster !== req.cluster)) throw new ApiProblem(404, 'no such node pool in this account');
          const cl = (await deps.store.listClusters({ includeGone: true })).find((x) => x.id === pool.cluster);
          scope.cluster = cl!.name;
          scope.pool = pool.name;
        }
        const key = c.req.valid('header')['idempotency-key'];
        const start = async () => {
          const run = await deps.scans.start(req.account, Object.keys(scope).length ? scope : undefined, p.label);
          await deps.audit(c, { action: 'scan.start', targetType: 'scan', targetId: run.id, account: req.account, after: { scope, trigger: 'on-demand' } });
          return run;
        };
        if (key === undefined) {
          const run = await start();
          return { status: 202, body: scanView(run), headers: { location: `/api/v1/scans/${run.id}` } };
        }
        const hash = createHash('sha256').update(JSON.stringify(req)).digest('hex');
        const claim = await deps.auth.claimIdempotencyKey(p.id, key, hash, deps.now().toISOString());
        if (claim.state === 'mismatch') throw new ApiProblem(422, 'this Idempotency-Key was used for another request');
        if (claim.state === 'pending') throw new ApiProblem(409, 'a request with this Idempotency-Key is still being processed');
        if (claim.state === 'done') {
          const prior = claim.response as { id: string };
          const run = await deps.store.getRun(prior.id);
          return { status: claim.status, body: run ? scanView(run) : (prior as unknown), headers: { location: `/api/v1/scans/${prior.id}`, 'idempotent-replayed': 'true' } };
        }
        try {
          const run = await start();
          await deps.auth.completeIdempotencyKey(p.id, key, 202, { id: run.id });
          return { status: 202, body: scanView(run), headers: { location: `/api/v1/scans/${run.id}` } };
        } catch (err) {
          await deps.auth.releaseIdempotencyKey(p.id, key);
          throw err;
        }
      },
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/scans', tags: ['scans'], summary: 'Scans, newest first',
        request: { query: listQuery({ account: s.Id.optional(), state: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']).optional() }) },
        responses: { 200: jsonContent(s.pageSchema(s.ScanSchema, 'ScanPage'), 'Scans'), ...errors(400, 401, 404) },
      }),
      { kind: 'authenticated', role: 'reader' },
      async (c) => {
        const q = c.req.valid('query');
        const runs: ScanRun[] = [];
        for (const a of await accountsFor(deps, principalOf(c), q.account)) runs.push(...(await deps.store.listRuns({ account: a.id, ...(q.state !== undefined && { states: [q.state] }), limit: 10_000 })));
        // Newest first: the key inverts the creation time.
        const page = pageOf(runs, (r) => `${String(9e15 - Date.parse(r.createdAt)).padStart(16, '0')}\u0000${r.id}`, q.cursor, q.limit ?? 50);
        return { status: 200, body: { items: page.items.map(scanView), next: page.next } };
      },
    ),
    defineRoute(
      createRoute({ method: 'get', path: '/api/v1/scans/{id}', tags: ['scans'], summary: "A scan's status", request: { params: s.IdParam }, responses: { 200: jsonContent(s.ScanSchema, 'The scan'), ...errors(401, 404) } }),
      { kind: 'account', role: 'reader' },
      async (c) => ({ status: 200, body: scanView(await scanById(deps, principalOf(c), c.req.valid('param').id)) }),
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/scans/{id}/nodes', tags: ['scans'], summary: "A scan's per-node results (state, reason, inventory source, bytes, time)",
        request: { params: s.IdParam, query: s.PageQuery }, responses: { 200: jsonContent(s.pageSchema(s.NodeScanSchema, 'NodeScanPage'), 'Node scans'), ...errors(400, 401, 404) },
      }),
      { kind: 'account', role: 'reader' },
      async (c) => {
        const run = await scanById(deps, principalOf(c), c.req.valid('param').id);
        const q = c.req.valid('query');
        const list = (await deps.store.listNodeScans({ run: run.id })).map(nodeScanView);
        return { status: 200, body: pageOf(list, (n) => `${n.node}\u0000${n.id}`, q.cursor, q.limit ?? 50) };
      },
    ),
  ];
}

async function scanById(deps: ApiDeps, p: Principal, id: string): Promise<ScanRun> {
  const r = await deps.store.getRun(id);
  if (r === undefined) throw new ApiProblem(404, 'no such scan');
  requireAccount(p, r.account, 'reader', 'scan');
  return r;
}

async function inventoryOf(deps: ApiDeps, p: Principal, id: string) {
  const ctx = await deps.store.nodeContext(id);
  if (ctx === undefined) throw new ApiProblem(404, 'no such node');
  requireAccount(p, ctx.account.id, 'reader', 'node');
  const invId = ctx.node.currentInventoryId;
  const inv = invId === undefined ? undefined : await deps.store.getInventory(invId);
  if (inv === undefined) throw new ApiProblem(404, 'this node has no inventory yet: it was not scanned (see its coverage)');
  return inv;
}
