/**
 * Who is calling and what they may do. A principal is an API token (bearer) or a person signed
 * in through OIDC (session cookie); either carries grants — a role over some accounts or over
 * the whole tenant. Account visibility comes first: an account no grant covers does not exist
 * for the caller (404, left out of every list and count); a visible account with too small a
 * role answers 403.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ROLES, type Grant, type Role } from '../store/auth-store.ts';
import { ApiProblem } from './problem.ts';

/** Token format: a prefix (so leaked tokens are recognisable by scanners) and 256 random bits. */
export const TOKEN_PREFIX = 'hs_';
const TOKEN_BYTES = 32;

export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Tokens carry 256 random bits: one SHA-256 is enough (no password stretching needed). */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function roleRank(r: Role): number {
  return ROLES.indexOf(r) + 1;
}

export interface Principal {
  /** Stable id for rate limits and idempotency keys: token:<id> or user:<subject>. */
  id: string;
  /** Who, in audit entries and logs (never the secret). */
  label: string;
  kind: 'token' | 'session';
  grants: Grant[];
  /** Session principals: the CSRF token's hash, checked on state-changing requests. */
  csrfHash?: string;
}

/** The highest role a principal holds on an account (undefined: the account is invisible). */
export function roleOn(p: Principal, account: string): Role | undefined {
  let best: Role | undefined;
  for (const g of p.grants) {
    if (g.accounts !== undefined && !g.accounts.includes(account)) continue;
    if (best === undefined || roleRank(g.role) > roleRank(best)) best = g.role;
  }
  return best;
}

/** The highest tenant-wide role (undefined when every grant is account-scoped). */
export function tenantRole(p: Principal): Role | undefined {
  let best: Role | undefined;
  for (const g of p.grants) if (g.accounts === undefined && (best === undefined || roleRank(g.role) > roleRank(best))) best = g.role;
  return best;
}

export function hasAnyRole(p: Principal, min: Role): boolean {
  return p.grants.some((g) => roleRank(g.role) >= roleRank(min));
}

/** The accounts among `all` the principal may see (with at least `min`). */
export function visibleAccounts(p: Principal, all: readonly string[], min: Role = 'reader'): string[] {
  return all.filter((a) => {
    const r = roleOn(p, a);
    return r !== undefined && roleRank(r) >= roleRank(min);
  });
}

/**
 * Checks access to one account: 404 when the caller cannot see it (whatever their role
 * elsewhere), 403 when they can but their role is below `min`.
 */
export function requireAccount(p: Principal, account: string, min: Role, what = 'resource'): void {
  const r = roleOn(p, account);
  if (r === undefined) throw new ApiProblem(404, `no such ${what}`);
  if (roleRank(r) < roleRank(min)) throw new ApiProblem(403, `this needs the ${min} role on account ${account}; you have ${r}`);
}

/**
 * May `p` hand out `g` (a token or role assignment)? Only an owner, and only within what they
 * own: a tenant grant needs a tenant owner; an account grant needs ownership of every account.
 */
export function requireCanGrant(p: Principal, g: Grant, known: readonly string[]): void {
  if (g.accounts === undefined) {
    if (tenantRole(p) !== 'owner') throw new ApiProblem(403, 'a tenant-wide grant needs the owner role at tenant scope');
    return;
  }
  for (const a of g.accounts) {
    if (!known.includes(a)) throw new ApiProblem(404, `no such account '${a}'`);
    requireAccount(p, a, 'owner', 'account');
  }
}

/** Can `p` see (and revoke) a grant: a tenant owner sees all; an account owner those within the accounts they own. */
export function canManage(p: Principal, g: Grant): boolean {
  if (tenantRole(p) === 'owner') return true;
  if (g.accounts === undefined) return false;
  return g.accounts.length > 0 && g.accounts.every((a) => roleOn(p, a) === 'owner');
}
