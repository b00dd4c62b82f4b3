/**
 * The API application: one OpenAPIHono app whose route table (routes/*.ts) is at once the
 * validation, the OpenAPI 3.1 document (/api/openapi.json) and the input of the authorisation
 * matrix test. Around the routes, in order: request id and one log line per request, security
 * headers, body size limit, authentication (bearer token or session cookie), rate limit per
 * caller, CSRF check for session callers, then the route's access rule. Every error is an RFC
 * 9457 problem (problem.ts).
 */
import { randomBytes } from 'node:crypto';
import { OpenAPIHono, createRoute, z, type RouteConfig } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Logger } from 'pino';
import type { SecurityService } from '../service/index.ts';
import type { AuditInput, AuthStore, FleetStore, ScanRun } from '../store/index.ts';
import type { DbStatus } from '../vulndb/index.ts';
import { hasAnyRole, hashSecret, roleOn, sameSecret, tenantRole, type Principal } from './auth.ts';
import { OidcLogin, safeReturnTo, type OidcOptions } from './oidc.ts';
import { ApiProblem, problemBody, redact, toProblem } from './problem.ts';
import { defineRoute, responseSchema, type ApiEnv, type ApiRoute, type Reply } from './route.ts';
import { adminRoutes } from './routes/admin.ts';
import { errors, jsonContent } from './routes/common.ts';
import { fleetRoutes } from './routes/fleet.ts';
import { securityRoutes } from './routes/security.ts';
import { HealthSchema } from './schemas.ts';

export const MAX_BODY_BYTES = 1024 * 1024;
export const SESSION_COOKIE = '__Host-hullscan_session';
export const LOGIN_COOKIE = '__Host-hullscan_login';
const SESSION_TTL_MS = 12 * 60 * 60_000;
/** last_used_at of a token is written at most this often. */
const TOUCH_EVERY_MS = 60_000;
const MAX_RATE_BUCKETS = 100_000;

export interface RateLimit {
  /** Sustained requests per second per caller (token, person, or anonymous address). */
  perSecond: number;
  burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 50, burst: 200 };

export interface ApiOptions {
  store: FleetStore;
  auth: AuthStore;
  service: SecurityService;
  /** Starts an on-demand scan (the control plane's startRun). */
  scans: { start(account: string, scope: { cluster?: string; pool?: string } | undefined, requestedBy: string): Promise<ScanRun> };
  vulnDbStatus: () => DbStatus | undefined;
  ready: () => boolean;
  log: Logger;
  oidc?: OidcOptions;
  rateLimit?: RateLimit | false;
  /** Validate every JSON answer against its schema (default on). */
  validateResponses?: boolean;
  /** Prometheus metrics (control/metrics.ts), served at /metrics to tenant-wide callers. */
  metrics?: { contentType: string; text: () => Promise<string> };
  /** Extra endpoints answered by the same server and described in the document. */
  extraRoutes?: ApiRoute[];
  now?: () => Date;
}

export interface ApiDeps extends Omit<ApiOptions, 'now'> {
  now: () => Date;
  audit(c: Context<ApiEnv>, e: Omit<AuditInput, 'at' | 'actor' | 'requestId'>): Promise<void>;
}

export interface Api {
  app: OpenAPIHono<ApiEnv>;
  routes: ApiRoute[];
  document(): Record<string, unknown>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

function csrfFor(sessionId: string): string {
  return hashSecret(`hullscan-csrf\u0000${sessionId}`).slice(0, 43);
}

export function createApi(o: ApiOptions): Api {
  const now = o.now ?? (() => new Date());
  const deps: ApiDeps = {
    ...o,
    now,
    async audit(c, e) {
      const p = c.get('principal');
      await o.auth.appendAudit({ ...e, at: now().toISOString(), actor: p?.label ?? 'anonymous', requestId: c.get('requestId') });
    },
  };
  const oidc = o.oidc !== undefined ? new OidcLogin(o.oidc) : undefined;
  const app = new OpenAPIHono<ApiEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const issues = (result.error as z.ZodError).issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), message: i.message }));
        throw new ApiProblem(400, 'the request does not match the API document', { errors: issues });
      }
      return undefined;
    },
  });
  const sendProblem = (c: Context<ApiEnv>, status: number, detail: string, headers: Record<string, string> = {}, extra: Parameters<typeof problemBody>[2] = {}) => {
    const body = problemBody(status, detail, { ...extra, instance: new URL(c.req.url).pathname, requestId: c.get('requestId') });
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store', ...headers } });
  };

  app.onError((err, c) => {
    const p = toProblem(err);
    if (p.internal) o.log.error({ requestId: c.get('requestId'), err: redact(err instanceof Error ? `${err.name}: ${err.message}` : String(err)) }, 'request failed');
    return sendProblem(c, p.status, p.detail, p.headers, p.errors ? { errors: p.errors } : {});
  });
  app.notFound((c) => sendProblem(c, 404, 'no such route'));

  // Request id, timing, one log line per request (path only: query strings are never logged).
  app.use('*', async (c, next) => {
    const given = c.req.header('x-request-id');
    const id = given !== undefined && REQUEST_ID.test(given) ? given : randomBytes(9).toString('base64url');
    c.set('requestId', id);
    c.set('principal', undefined);
    const t0 = performance.now();
    await next();
    c.res.headers.set('x-request-id', id);
    c.res.headers.set('x-content-type-options', 'nosniff');
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
    const status = c.res.status;
    const line = { requestId: id, method: c.req.method, path: new URL(c.req.url).pathname, status, ms: Math.round((performance.now() - t0) * 10) / 10, principal: c.get('principal')?.label };
    if (status >= 500) o.log.error(line, 'request');
    else o.log.info(line, 'request');
  });

  app.use(
    '/api/*',
    bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => sendProblem(c as unknown as Context<ApiEnv>, 413, `the body is larger than ${MAX_BODY_BYTES} bytes`) }),
  );

  // Authentication: a bearer token, else a session cookie. A bad credential is refused outright
  // (never treated as anonymous).
  const touched = new Map<string, number>();
  const authenticate = async (c: Context<ApiEnv>, next: () => Promise<void>) => {
    const authz = c.req.header('authorization');
    const at = now();
    if (authz !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(authz);
      if (!m) throw new ApiProblem(401, 'Authorization must be "Bearer <token>"', { headers: { 'www-authenticate': 'Bearer' } });
      const t = await o.auth.tokenByHash(hashSecret(m[1]!));
      if (t === undefined || t.revokedAt !== undefined || (t.expiresAt !== undefined && t.expiresAt <= at.toISOString())) {
        throw new ApiProblem(401, 'invalid, expired or revoked token', { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
      }
      c.set('principal', { id: `token:${t.id}`, label: `token:${t.name}#${t.id.slice(0, 8)}`, kind: 'token', grants: [{ role: t.role, ...(t.accounts !== undefined && { accounts: t.accounts }) }] });
      const last = touched.get(t.id) ?? 0;
      if (at.getTime() - last >= TOUCH_EVERY_MS) {
        touched.set(t.id, at.getTime());
        if (touched.size > MAX_RATE_BUCKETS) touched.clear();
        await o.auth.touchToken(t.id, at.toISOString());
      }
    } else {
      const sid = getCookie(c, SESSION_COOKIE);
      if (sid !== undefined) {
        const s = await o.auth.getSession(hashSecret(sid), at.toISOString());
        if (s !== undefined) {
          const assignments = [...(await o.auth.listAssignments(s.subject)), ...(s.displayName?.includes('@') ? await o.auth.listAssignments(s.displayName) : [])];
          const p: Principal = {
            id: `user:${s.subject}`, label: `user:${s.displayName ?? s.subject}`, kind: 'session', csrfHash: s.csrfHash,
            grants: assignments.map((a) => ({ role: a.role, ...(a.accounts !== undefined && { accounts: a.accounts }) })),
          };
          c.set('principal', p);
          c.set('csrfToken' as never, csrfFor(sid) as never);
        }
      }
    }
    await next();
  };
  app.use('/api/v1/*', authenticate);
  app.use('/metrics', authenticate);

  // Rate limit: a token bucket per caller.
  const buckets = new Map<string, { tokens: number; at: number }>();
  const limit = o.rateLimit === undefined ? DEFAULT_RATE_LIMIT : o.rateLimit;
  if (limit !== false) {
    app.use('/api/*', async (c, next) => {
      const key = c.get('principal')?.id ?? `anon:${c.req.header('x-forwarded-for') === undefined ? 'direct' : 'proxied'}`;
      const t = performance.now();
      const b = buckets.get(key) ?? { tokens: limit.burst, at: t };
      b.tokens = Math.min(limit.burst, b.tokens + ((t - b.at) / 1000) * limit.perSecond);
      b.at = t;
      if (b.tokens < 1) {
        buckets.set(key, b);
        throw new ApiProblem(429, `more than ${limit.perSecond} requests per second`, { headers: { 'retry-after': String(Math.max(1, Math.ceil((1 - b.tokens) / limit.perSecond))) } });
      }
      b.tokens -= 1;
      if (!buckets.has(key) && buckets.size >= MAX_RATE_BUCKETS) buckets.clear();
      buckets.set(key, b);
      await next();
    });
  }

  const routes: ApiRoute[] = [
    defineRoute(
      createRoute({ method: 'get', path: '/healthz', tags: ['health'], summary: 'The process answers', security: [], responses: { 200: jsonContent(HealthSchema, 'Alive') } }),
      { kind: 'public', role: 'reader' },
      async () => ({ status: 200, body: { status: 'ok' } }),
    ),
    defineRoute(
      createRoute({ method: 'get', path: '/readyz', tags: ['health'], summary: 'Recovery done and the scheduler running', security: [], responses: { 200: jsonContent(HealthSchema, 'Ready'), 503: jsonContent(HealthSchema, 'Starting') } }),
      { kind: 'public', role: 'reader' },
      async () => (o.ready() ? { status: 200, body: { status: 'ready' } } : { status: 503, body: { status: 'starting' } }),
    ),
    defineRoute(
      createRoute({ method: 'get', path: '/api/openapi.json', tags: ['meta'], summary: 'This document (OpenAPI 3.1)', security: [], responses: { 200: jsonContent(z.looseObject({ openapi: z.string() }), 'The document') } }),
      { kind: 'public', role: 'reader' },
      async () => ({ status: 200, body: document() }),
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/auth/login', tags: ['auth'], summary: 'Sign in with the OIDC provider (authorization code + PKCE)', security: [],
        request: { query: z.object({ returnTo: z.string().max(2000).optional() }) },
        responses: { 302: { description: 'To the provider' }, ...errors(404, 503) },
      }),
      { kind: 'public', role: 'reader' },
      async (c) => {
        if (oidc === undefined) throw new ApiProblem(404, 'OIDC login is not configured');
        const { url, state } = await oidc.start(c.req.valid('query').returnTo).catch((err: unknown) => {
          o.log.error({ err: redact(String(err)) }, 'OIDC discovery failed');
          throw new ApiProblem(503, 'the identity provider cannot be reached');
        });
        setCookie(c, LOGIN_COOKIE, state, { httpOnly: true, secure: true, sameSite: 'Lax', path: '/', maxAge: 600 });
        return c.redirect(url, 302);
      },
    ),
    defineRoute(
      createRoute({
        method: 'get', path: '/api/v1/auth/callback', tags: ['auth'], summary: "The provider's redirect back: makes a session (HttpOnly, Secure, SameSite=Lax cookie)", security: [],
        request: { query: z.object({ code: z.string().max(4000).optional(), state: z.string().max(500).optional(), iss: z.string().max(2000).optional(), error: z.string().max(200).optional(), error_description: z.string().max(2000).optional() }) },
        responses: { 302: { description: 'Signed in: back to returnTo' }, ...errors(400, 404) },
      }),
      { kind: 'public', role: 'reader' },
      async (c) => {
        if (oidc === undefined) throw new ApiProblem(404, 'OIDC login is not configured');
        const search = new URL(c.req.url).search;
        let id;
        try {
          id = await oidc.finish(search, getCookie(c, LOGIN_COOKIE));
        } catch (err) {
          o.log.warn({ requestId: c.get('requestId'), err: redact(err instanceof Error ? err.message : String(err)) }, 'OIDC login refused');
          throw new ApiProblem(400, 'sign-in failed: start again');
        }
        deleteCookie(c, LOGIN_COOKIE, { path: '/', secure: true });
        const sid = randomBytes(32).toString('base64url');
        const at = now();
        await o.auth.createSession(hashSecret(sid), { subject: id.subject, ...(id.email !== undefined && { displayName: id.email }), csrfHash: hashSecret(csrfFor(sid)), createdAt: at.toISOString(), expiresAt: new Date(at.getTime() + SESSION_TTL_MS).toISOString() });
        setCookie(c, SESSION_COOKIE, sid, { httpOnly: true, secure: true, sameSite: 'Lax', path: '/', maxAge: SESSION_TTL_MS / 1000 });
        o.log.info({ requestId: c.get('requestId'), subject: id.subject }, 'signed in');
        return c.redirect(safeReturnTo(id.returnTo), 302);
      },
    ),
    defineRoute(
      createRoute({ method: 'post', path: '/api/v1/auth/logout', tags: ['auth'], summary: 'End the session', responses: { 204: { description: 'Signed out' }, ...errors(401, 403) } }),
      { kind: 'authenticated', role: 'reader', mutates: true },
      async (c) => {
        const sid = getCookie(c, SESSION_COOKIE);
        if (sid !== undefined) await o.auth.deleteSession(hashSecret(sid));
        deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true });
        return { status: 204 };
      },
    ),
    ...(o.metrics !== undefined
      ? [
          defineRoute(
            createRoute({ method: 'get', path: '/metrics', tags: ['health'], summary: 'Prometheus metrics (fleet-wide totals: tenant-wide tokens only)', responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } }, ...errors(401, 404) } }),
            { kind: 'authenticated', role: 'reader' },
            async (c) => {
              // Fleet-wide counts: an account-scoped caller must not see other accounts in them.
              if (tenantRole(c.get('principal')!) === undefined) throw new ApiProblem(404, 'no such route');
              return new Response(await o.metrics!.text(), { status: 200, headers: { 'content-type': o.metrics!.contentType } });
            },
          ),
        ]
      : []),
    ...adminRoutes(deps),
    ...fleetRoutes(deps),
    ...securityRoutes(deps),
    ...(o.extraRoutes ?? []),
  ];

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'An API token (hs_…)' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'session', { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'Portal session after OIDC login; state-changing requests need X-CSRF-Token' });

  const validate = o.validateResponses !== false;
  for (const r of routes) {
    const config = (r.access.kind === 'public' ? { ...r.config, security: [] } : { ...r.config, security: [{ bearer: [] }, { session: [] }] }) as RouteConfig;
    app.openapi(config, (async (c: Context<ApiEnv>) => {
      if (r.access.kind !== 'public') {
        const p = c.get('principal');
        if (p === undefined) throw new ApiProblem(401, 'authentication required: Authorization: Bearer <token>, or sign in', { headers: { 'www-authenticate': 'Bearer' } });
        if (r.access.mutates && p.kind === 'session') {
          const header = c.req.header('x-csrf-token');
          if (header === undefined || p.csrfHash === undefined || !sameSecret(hashSecret(header), p.csrfHash)) throw new ApiProblem(403, 'missing or wrong X-CSRF-Token (see GET /api/v1/me)');
        }
        // Reader-level views need no role check: they show what the caller's grants let them see (maybe nothing).
        if (r.access.kind === 'authenticated' && r.access.role !== 'reader' && !hasAnyRole(p, r.access.role)) throw new ApiProblem(403, `this needs the ${r.access.role} role`);
        if (r.access.kind === 'account' && p.grants.length === 0) throw new ApiProblem(404, 'no such resource');
      }
      const reply: Reply = await r.handler(c);
      if (reply instanceof Response) return reply;
      if (reply.body === undefined) return new Response(null, { status: reply.status, headers: reply.headers ?? {} });
      let body: unknown = reply.body;
      if (validate) {
        const schema = responseSchema(r.config, reply.status);
        if (schema === undefined) throw new Error(`${r.config.method} ${r.config.path}: no schema for status ${reply.status}`);
        const parsed = schema.safeParse(body);
        if (!parsed.success) throw new Error(`${r.config.method} ${r.config.path}: answer does not match its schema: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        body = parsed.data;
      }
      return new Response(JSON.stringify(body), { status: reply.status, headers: { 'content-type': 'application/json', ...(reply.headers ?? {}) } });
    }) as never);
  }

  let doc: Record<string, unknown> | undefined;
  function document(): Record<string, unknown> {
    doc ??= app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: { title: 'Hullscan API', version: '1', description: 'Agentless vulnerability assessment and malware detection of Kubernetes node disks. Errors are RFC 9457 problem details. Lists are cursor-paged: pass "next" as cursor.' },
      servers: [{ url: '/' }],
    }) as unknown as Record<string, unknown>;
    return doc;
  }

  return { app, routes, document };
}

/** Whether a principal may see an account (re-exported for tests and callers). */
export { roleOn };
