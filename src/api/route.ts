/**
 * The route table's shape: every route is a @hono/zod-openapi route config (its request and
 * response schemas are the OpenAPI document and the validation) plus who may call it. The
 * authorisation matrix test is generated from this table, so a route cannot be added without
 * saying who may call it.
 */
import type { RouteConfig, RouteHandler, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Role } from '../store/index.ts';
import type { Principal } from './auth.ts';
import { ApiProblem } from './problem.ts';

/**
 * public: anyone (health, the document, OIDC login); authenticated: any signed-in caller with
 * `role` somewhere, answers filtered to what they may see; account: the route acts on one
 * account's resource and needs `role` on that account (404 when the account is invisible).
 */
export interface Access {
  kind: 'public' | 'authenticated' | 'account';
  role: Role;
  /** Changes state: audited; for session callers needs the CSRF header. */
  mutates?: boolean;
}

export interface ApiVariables {
  requestId: string;
  principal: Principal | undefined;
}

export interface ApiEnv {
  Variables: ApiVariables;
}

/** What a handler answers: a status with a JSON body (validated against the route's schema for that status), or a raw Response. */
export type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | Response;

export type RouteContext<R extends RouteConfig> = Parameters<RouteHandler<R, ApiEnv>>[0];

export interface ApiRoute {
  config: RouteConfig;
  access: Access;
  handler: (c: Context<ApiEnv>) => Promise<Reply>;
}

export function defineRoute<R extends RouteConfig>(config: R, access: Access, handler: (c: RouteContext<R>) => Promise<Reply>): ApiRoute {
  return { config, access, handler: handler as unknown as ApiRoute['handler'] };
}

/** The caller (authenticated routes only run with one). */
export function principalOf(c: Context<ApiEnv>): Principal {
  const p = c.get('principal');
  if (p === undefined) throw new ApiProblem(401, 'authentication required');
  return p;
}

/** The schema a route declares for a status's JSON body, if any. */
export function responseSchema(config: RouteConfig, status: number): z.ZodType | undefined {
  const r = (config.responses as Record<string, { content?: Record<string, { schema?: unknown }> }>)[String(status)];
  const s = r?.content?.['application/json']?.schema;
  return s !== undefined && typeof (s as z.ZodType).safeParse === 'function' ? (s as z.ZodType) : undefined;
}

// ---- cursor pagination ---------------------------------------------------------------------

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** An opaque cursor: base64url of the last item's sort key (or, for offset-paged views, the next offset). */
export function encodeCursor(v: string | number): string {
  return Buffer.from(JSON.stringify({ k: v }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | number | undefined {
  if (cursor === undefined) return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown };
    if (typeof v.k === 'string' || (typeof v.k === 'number' && Number.isInteger(v.k) && v.k >= 0)) return v.k;
  } catch {
    // answered below
  }
  throw new ApiProblem(400, 'invalid cursor: pass the "next" value of the previous page unchanged');
}

/**
 * One page of a list in a stable order: items sorted by `key` (unique per item: ends with the
 * id), those after the cursor's key, `limit` of them; next is the last one's key.
 */
export function pageOf<T>(items: readonly T[], key: (t: T) => string, cursor: string | undefined, limit: number): { items: T[]; next: string | null } {
  const after = decodeCursor(cursor);
  if (typeof after === 'number') throw new ApiProblem(400, 'invalid cursor for this list');
  const keyed = items.map((t) => ({ t, k: key(t) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  const rest = after === undefined ? keyed : keyed.filter((x) => x.k > after);
  const page = rest.slice(0, limit);
  return { items: page.map((x) => x.t), next: rest.length > limit ? encodeCursor(page[page.length - 1]!.k) : null };
}
