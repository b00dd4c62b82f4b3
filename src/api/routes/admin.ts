/** Who am I; API tokens (owner; shown once, stored hashed); role assignments of people (owner); the audit log (owner). */
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiToken, Grant, RoleAssignment } from '../../store/index.ts';
import type { ApiDeps } from '../app.ts';
import { canManage, hashSecret, newToken, requireCanGrant, roleOn, tenantRole, type Principal } from '../auth.ts';
import { ApiProblem } from '../problem.ts';
import { decodeCursor, defineRoute, encodeCursor, principalOf, type ApiRoute } from '../route.ts';
import * as s from '../schemas.ts';
import { errors, jsonBody, jsonContent } from './common.ts';

const DEFAULT_TOKEN_DAYS = 90;
const DAY_MS = 86_400_000;

/** A grant is visible to a caller who sees its whole scope (tenant grants: tenant-wide callers). */
function canSee(p: Principal, g: Grant): boolean {
  if (g.accounts === undefined) return tenantRole(p) !== undefined;
  return g.accounts.every((a) => roleOn(p, a) !== undefined);
}

function tokenView(t: ApiToken) {
  return t;
}

function grantOf(x: { role: Grant['role']; accounts?: string[] | undefined }): Grant {
  return { role: x.role, ...(x.accounts !== undefined && { accounts: [...new Set(x.accounts)].sort() }) };
}

function assignmentView(a: RoleAssignment) {
  const { removedAt: _r, removedBy: _b, ...rest } = a;
  return rest;
}

export function adminRoutes(deps: ApiDeps): ApiRoute[] {
  return [
    defineRoute(
      createRoute({ method: 'get', path: '/api/v1/me', tags: ['auth'], summary: 'The caller: who, and their grants', responses: { 200: jsonContent(s.MeSchema, 'The caller'), ...errors(401) } }),
      { kind: 'authenticated', role: 'reader' },
      async (c) => {
        const p = principalOf(c);
        const known = (await deps.store.listAccounts()).map((a) => a.id);
        // Grants name only accounts that exist and that the caller sees.
        const grants = p.grants.map((g) => (g.accounts === undefined ? g : { ...g, accounts: g.accounts.filter((a) => known.includes(a)) }));
        const csrf = c.get('csrfToken' as never) as string | undefined;
        return { status: 200, body: { id: p.id, label: p.label, kind: p.kind, grants, ...(csrf !== undefined && { csrfToken: csrf }) } };
      },
    ),
    defineRoute(
      createRoute({ method: 'get', path: '/api/v1/tokens', tags: ['auth'], summary: 'API tokens you may manage (never their secret)', responses: { 200: jsonContent(z.object({ items: z.array(s.TokenSchema) }).openapi('TokenList'), 'Tokens'), ...errors(401, 403) } }),
      { kind: 'authenticated', role: 'owner' },
      async (c) => {
        const p = principalOf(c);
        return { status: 200, body: { items: (await deps.auth.listTokens()).filter((t) => canManage(p, t)).map(tokenView) } };
      },
    ),
    defineRoute(
      createRoute({
        method: 'post', path: '/api/v1/tokens', tags: ['auth'], summary: 'Create an API token (owner, within what you own); the token is shown only in this answer',
        request: { body: jsonBody(s.TokenRequestSchema) }, responses: { 201: jsonContent(s.TokenCreatedSchema, 'The token (shown once)'), ...errors(400, 401, 403, 404) },
      }),
      { kind: 'account', role: 'owner', mutates: true },
      async (c) => {
        const p = principalOf(c);
        const b = c.req.valid('json');
        const g = grantOf(b);
        requireCanGrant(p, g, (await deps.store.listAccounts()).map((a) => a.id));
        const secret = newToken();
        const at = deps.now();
        const expiresAt = new Date(at.getTime() + (b.expiresInDays ?? DEFAULT_TOKEN_DAYS) * DAY_MS).toISOString();
        const t = await deps.auth.createToken({ ...g, name: b.name, tokenHash: hashSecret(secret), createdBy: p.label, at: at.toISOString(), expiresAt });
        await deps.audit(c, { action: 'token.create', targetType: 'token', targetId: t.id, ...(g.accounts?.length === 1 && { account: g.accounts[0] }), after: t });
        return { status: 201, body: { id: t.id, token: secret, expiresAt }, headers: { location: `/api/v1/tokens/${t.id}` } };
      },
    ),
    defineRoute(
      createRoute({ method: 'delete', path: '/api/v1/tokens/{id}', tags: ['auth'], summary: 'Revoke an API token (owner)', request: { params: s.IdParam }, responses: { 204: { description: 'Revoked' }, ...errors(401, 403, 404) } }),
      { kind: 'account', role: 'owner', mutates: true },
      async (c) => {
        const p = principalOf(c);
        const t = await deps.auth.getToken(c.req.valid('param').id);
        if (t === undefined || t.revokedAt !== undefined || !canSee(p, t)) throw new ApiProblem(404, 'no such token');
        if (!canManage(p, t)) throw new ApiProblem(403, 'revoking a token needs the owner role over its scope');
        const at = deps.now().toISOString();
        await deps.auth.revokeToken(t.id, p.label, at);
        await deps.audit(c, { action: 'token.revoke', targetType: 'token', targetId: t.id, ...(t.accounts?.length === 1 && { account: t.accounts[0] }), before: t, after: await deps.auth.getToken(t.id) });
        return { status: 204 };
      },
    ),
    defineRoute(
      createRoute({ method: 'get', path: '/api/v1/role-assignments', tags: ['auth'], summary: 'Role assignments of people (OIDC subjects) you may manage', responses: { 200: jsonContent(z.object({ items: z.array(s.AssignmentSchema) }).openapi('RoleAssignmentList'), 'Assignments'), ...errors(401, 403) } }),
      { kind: 'authenticated', role: 'owner' },
      async (c) => {
        const p = principalOf(c);
        return { status: 200, body: { items: (await deps.auth.listAssignments()).filter((a) => canManage(p, a)).map(assignmentView) } };
      },
    ),
    defineRoute(
      createRoute({
        method: 'post', path: '/api/v1/role-assignments', tags: ['auth'], summary: 'Assign a role to a person, at tenant or account scope (owner)',
        request: { body: jsonBody(s.AssignmentRequestSchema) }, responses: { 201: jsonContent(s.AssignmentSchema, 'The assignment'), ...errors(400, 401, 403, 404) },
      }),
      { kind: 'account', role: 'owner', mutates: true },
      async (c) => {
        const p = principalOf(c);
        const b = c.req.valid('json');
        const g = grantOf(b);
        requireCanGrant(p, g, (await deps.store.listAccounts()).map((a) => a.id));
        const a = await deps.auth.addAssignment({ ...g, subject: b.subject, createdBy: p.label, at: deps.now().toISOString() });
        await deps.audit(c, { action: 'role-assignment.add', targetType: 'role-assignment', targetId: a.id, ...(g.accounts?.length === 1 && { account: g.accounts[0] }), after: assignmentView(a) });
        return { status: 201, body: assignmentView(a) };
      },
    ),
    defineRoute(
      createRoute({ method: 'delete', path: '/api/v1/role-assignments/{id}', tags: ['auth'], summary: 'Remove a role assignment (owner)', request: { params: s.IdParam }, responses: { 204: { description: 'Removed' }, ...errors(401, 403, 404) } }),
      { kind: 'account', role: 'owner', mutates: true },
      async (c) => {
        const p = principalOf(c);
        const a = await deps.auth.getAssignment(c.req.valid('param').id);
        if (a === undefined || a.removedAt !== undefined || !canSee(p, a)) throw new ApiProblem(404, 'no such role assignment');
        if (!canManage(p, a)) throw new ApiProblem(403, 'removing a role assignment needs the owner role over its scope');
        await deps.auth.removeAssignment(a.id, p.label, deps.now().toISOString());
        await deps.audit(c, { action: 'role-assignment.remove', targetType: 'role-assignment', targetId: a.id, ...(a.accounts?.length === 1 && { account: a.accounts[0] }), before: assignmentView(a) });
        return { status: 204 };
      },
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/audit', tags: ['audit'], summary: 'The audit log, newest first (owners: tenant owners see every entry, account owners those of their accounts)',
        request: { query: z.object({ account: s.Id.optional(), action: z.string().max(100).optional(), cursor: z.string().max(500).optional(), limit: z.coerce.number().int().min(1).max(500).optional() }) },
        responses: { 200: jsonContent(s.pageSchema(s.AuditSchema, 'AuditPage'), 'Entries'), ...errors(400, 401, 403, 404) },
      }),
      { kind: 'authenticated', role: 'owner' },
      async (c) => {
        const p = principalOf(c);
        const q = c.req.valid('query');
        let accounts: string[] | undefined;
        const all = (await deps.store.listAccounts()).map((a) => a.id);
        if (q.account !== undefined) {
          if (!all.includes(q.account) || roleOn(p, q.account) === undefined) throw new ApiProblem(404, `no such account '${q.account}'`);
          if (roleOn(p, q.account) !== 'owner') throw new ApiProblem(403, 'reading the audit log needs the owner role');
          accounts = [q.account];
        } else if (tenantRole(p) !== 'owner') {
          accounts = all.filter((a) => roleOn(p, a) === 'owner');
        }
        const k = decodeCursor(q.cursor);
        let after: { at: string; id: string } | undefined;
        if (typeof k === 'string') {
          const [at, id] = k.split('\u0000');
          if (at === undefined || id === undefined) throw new ApiProblem(400, 'invalid cursor');
          after = { at, id };
        } else if (k !== undefined) throw new ApiProblem(400, 'invalid cursor');
        const limit = q.limit ?? 50;
        const rows = await deps.auth.listAudit({ ...(accounts !== undefined && { accounts }), ...(after !== undefined && { after }), ...(q.action !== undefined && { action: q.action }), limit: limit + 1 });
        const items = rows.slice(0, limit);
        const last = items[items.length - 1];
        return { status: 200, body: { items, next: rows.length > limit && last ? encodeCursor(`${last.at}\u0000${last.id}`) : null } };
      },
    ),
  ];
}
