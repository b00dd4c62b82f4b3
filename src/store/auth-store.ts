/**
 * The API's own tables (migration 3): API tokens (only their SHA-256 is kept), role assignments
 * of people signed in through OIDC, portal sessions (hashed ids), the audit log of every change
 * and the idempotency keys of scan requests. Portable SQL for SQLite and PostgreSQL, like the
 * rest of the store; the API (src/api/) is its only user.
 */
import { randomUUID } from 'node:crypto';
import type { Migration } from './migrations.ts';
import type { SqlDriver, SqlValue } from './driver.ts';

export const AUTH_MIGRATION: Migration = {
  version: 3,
  name: 'api: tokens (hashed), role assignments, sessions, audit log, idempotency keys',
  sql: `
CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  accounts TEXT,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT,
  revoked_by TEXT,
  last_used_at TEXT
);
CREATE TABLE role_assignments (
  id TEXT PRIMARY KEY,
  subject TEXT NOT NULL,
  role TEXT NOT NULL,
  accounts TEXT,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  removed_at TEXT,
  removed_by TEXT
);
CREATE INDEX role_assignments_subject ON role_assignments (subject, removed_at);
CREATE TABLE api_sessions (
  id_hash TEXT PRIMARY KEY,
  subject TEXT NOT NULL,
  display_name TEXT,
  csrf_hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE TABLE audit_log (
  id TEXT PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target_type TEXT NOT NULL,
  target_id TEXT,
  account_id TEXT,
  before_value TEXT,
  after_value TEXT,
  request_id TEXT
);
CREATE INDEX audit_log_order ON audit_log (at, id);
CREATE INDEX audit_log_account ON audit_log (account_id, at, id);
CREATE TABLE idempotency_keys (
  principal TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status BIGINT NOT NULL,
  response TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (principal, idem_key)
)
`,
};

export const ROLES = ['reader', 'security-admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];

/** A grant: a role over some accounts, or over the whole tenant (accounts undefined). */
export interface Grant {
  role: Role;
  accounts?: string[];
}

export interface ApiToken extends Grant {
  id: string;
  name: string;
  createdBy: string;
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  revokedBy?: string;
  lastUsedAt?: string;
}

export interface RoleAssignment extends Grant {
  id: string;
  subject: string;
  createdBy: string;
  createdAt: string;
  removedAt?: string;
  removedBy?: string;
}

export interface Session {
  subject: string;
  displayName?: string;
  csrfHash: string;
  createdAt: string;
  expiresAt: string;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  action: string;
  targetType: string;
  targetId?: string;
  account?: string;
  before?: unknown;
  after?: unknown;
  requestId?: string;
}

export type AuditInput = Omit<AuditEntry, 'id'>;

interface TokenRow {
  id: string;
  name: string;
  token_hash: string;
  role: string;
  accounts: string | null;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
  last_used_at: string | null;
}

interface AssignmentRow {
  id: string;
  subject: string;
  role: string;
  accounts: string | null;
  created_by: string;
  created_at: string;
  removed_at: string | null;
  removed_by: string | null;
}

interface AuditRow {
  id: string;
  at: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string | null;
  account_id: string | null;
  before_value: string | null;
  after_value: string | null;
  request_id: string | null;
}

function set<T extends object>(obj: T, key: string, value: unknown): void {
  if (value !== null && value !== undefined) (obj as Record<string, unknown>)[key] = value;
}

function accountsOf(s: string | null): string[] | undefined {
  return s === null ? undefined : (JSON.parse(s) as string[]);
}

function tokenOf(r: TokenRow): ApiToken {
  const t: ApiToken = { id: r.id, name: r.name, role: r.role as Role, createdBy: r.created_by, createdAt: r.created_at };
  set(t, 'accounts', accountsOf(r.accounts));
  set(t, 'expiresAt', r.expires_at);
  set(t, 'revokedAt', r.revoked_at);
  set(t, 'revokedBy', r.revoked_by);
  set(t, 'lastUsedAt', r.last_used_at);
  return t;
}

function assignmentOf(r: AssignmentRow): RoleAssignment {
  const a: RoleAssignment = { id: r.id, subject: r.subject, role: r.role as Role, createdBy: r.created_by, createdAt: r.created_at };
  set(a, 'accounts', accountsOf(r.accounts));
  set(a, 'removedAt', r.removed_at);
  set(a, 'removedBy', r.removed_by);
  return a;
}

function auditOf(r: AuditRow): AuditEntry {
  const e: AuditEntry = { id: r.id, at: r.at, actor: r.actor, action: r.action, targetType: r.target_type };
  set(e, 'targetId', r.target_id);
  set(e, 'account', r.account_id);
  set(e, 'before', r.before_value === null ? undefined : JSON.parse(r.before_value));
  set(e, 'after', r.after_value === null ? undefined : JSON.parse(r.after_value));
  set(e, 'requestId', r.request_id);
  return e;
}

function scopeJson(accounts: readonly string[] | undefined): string | null {
  return accounts === undefined ? null : JSON.stringify([...new Set(accounts)].sort());
}

export class AuthStore {
  readonly driver: SqlDriver;
  constructor(driver: SqlDriver) {
    this.driver = driver;
  }

  /** True before the first token or role assignment: the bootstrap owner token may be made. */
  async isEmpty(): Promise<boolean> {
    const t = await this.driver.get<{ n: number }>('SELECT COUNT(*) AS n FROM api_tokens');
    const a = await this.driver.get<{ n: number }>('SELECT COUNT(*) AS n FROM role_assignments');
    return Number(t?.n ?? 0) === 0 && Number(a?.n ?? 0) === 0;
  }

  // -- tokens --

  async createToken(input: Grant & { name: string; tokenHash: string; createdBy: string; at: string; expiresAt?: string; id?: string }): Promise<ApiToken> {
    const id = input.id ?? randomUUID();
    await this.driver.run(
      'INSERT INTO api_tokens (id, name, token_hash, role, accounts, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [id, input.name, input.tokenHash, input.role, scopeJson(input.accounts), input.createdBy, input.at, input.expiresAt ?? null],
    );
    return (await this.getToken(id))!;
  }

  /** The first owner token, only while the store has none (one transaction: two servers starting at once make one). */
  async createBootstrapToken(input: { tokenHash: string; at: string }): Promise<ApiToken | undefined> {
    const id = randomUUID();
    const made = await this.driver.transaction(async (tx) => {
      const n = await tx.get<{ n: number }>('SELECT (SELECT COUNT(*) FROM api_tokens) + (SELECT COUNT(*) FROM role_assignments) AS n');
      if (Number(n?.n ?? 0) !== 0) return false;
      await tx.run('INSERT INTO api_tokens (id, name, token_hash, role, accounts, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, NULL, ?, ?, NULL)', [id, 'bootstrap', input.tokenHash, 'owner', 'bootstrap', input.at]);
      return true;
    });
    return made ? this.getToken(id) : undefined;
  }

  async getToken(id: string): Promise<ApiToken | undefined> {
    const r = await this.driver.get<TokenRow>('SELECT * FROM api_tokens WHERE id = ?', [id]);
    return r && tokenOf(r);
  }

  async tokenByHash(hash: string): Promise<ApiToken | undefined> {
    const r = await this.driver.get<TokenRow>('SELECT * FROM api_tokens WHERE token_hash = ?', [hash]);
    return r && tokenOf(r);
  }

  async listTokens(): Promise<ApiToken[]> {
    return (await this.driver.all<TokenRow>('SELECT * FROM api_tokens ORDER BY created_at, id')).map(tokenOf);
  }

  /** Revokes a token; false when it was already revoked (or does not exist). */
  async revokeToken(id: string, by: string, at: string): Promise<boolean> {
    return (await this.driver.run('UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL', [at, by, id])) === 1;
  }

  async touchToken(id: string, at: string): Promise<void> {
    await this.driver.run('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', [at, id]);
  }

  // -- role assignments --

  async addAssignment(input: Grant & { subject: string; createdBy: string; at: string }): Promise<RoleAssignment> {
    const id = randomUUID();
    await this.driver.run('INSERT INTO role_assignments (id, subject, role, accounts, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
      id, input.subject, input.role, scopeJson(input.accounts), input.createdBy, input.at,
    ]);
    return (await this.getAssignment(id))!;
  }

  async getAssignment(id: string): Promise<RoleAssignment | undefined> {
    const r = await this.driver.get<AssignmentRow>('SELECT * FROM role_assignments WHERE id = ?', [id]);
    return r && assignmentOf(r);
  }

  /** Assignments in force (of one subject, or all). */
  async listAssignments(subject?: string): Promise<RoleAssignment[]> {
    const params: SqlValue[] = [];
    let where = 'removed_at IS NULL';
    if (subject !== undefined) {
      where += ' AND subject = ?';
      params.push(subject);
    }
    return (await this.driver.all<AssignmentRow>(`SELECT * FROM role_assignments WHERE ${where} ORDER BY created_at, id`, params)).map(assignmentOf);
  }

  async removeAssignment(id: string, by: string, at: string): Promise<boolean> {
    return (await this.driver.run('UPDATE role_assignments SET removed_at = ?, removed_by = ? WHERE id = ? AND removed_at IS NULL', [at, by, id])) === 1;
  }

  // -- sessions --

  async createSession(idHash: string, s: Session): Promise<void> {
    await this.driver.run('INSERT INTO api_sessions (id_hash, subject, display_name, csrf_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)', [
      idHash, s.subject, s.displayName ?? null, s.csrfHash, s.createdAt, s.expiresAt,
    ]);
  }

  async getSession(idHash: string, at: string): Promise<Session | undefined> {
    const r = await this.driver.get<{ subject: string; display_name: string | null; csrf_hash: string; created_at: string; expires_at: string }>(
      'SELECT * FROM api_sessions WHERE id_hash = ? AND expires_at > ?',
      [idHash, at],
    );
    if (!r) return undefined;
    const s: Session = { subject: r.subject, csrfHash: r.csrf_hash, createdAt: r.created_at, expiresAt: r.expires_at };
    set(s, 'displayName', r.display_name);
    return s;
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.driver.run('DELETE FROM api_sessions WHERE id_hash = ?', [idHash]);
  }

  async purgeSessions(at: string): Promise<number> {
    return this.driver.run('DELETE FROM api_sessions WHERE expires_at <= ?', [at]);
  }

  // -- audit log --

  async appendAudit(e: AuditInput): Promise<AuditEntry> {
    const id = randomUUID();
    await this.driver.run(
      'INSERT INTO audit_log (id, at, actor, action, target_type, target_id, account_id, before_value, after_value, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        id, e.at, e.actor, e.action, e.targetType, e.targetId ?? null, e.account ?? null,
        e.before === undefined ? null : JSON.stringify(e.before), e.after === undefined ? null : JSON.stringify(e.after), e.requestId ?? null,
      ],
    );
    return { ...e, id };
  }

  /**
   * Audit entries, newest first, after a cursor (the (at, id) of the last entry of the previous
   * page). `accounts`: only entries about these accounts (undefined: every entry, tenant ones too).
   */
  async listAudit(q: { accounts?: readonly string[]; after?: { at: string; id: string }; action?: string; limit: number }): Promise<AuditEntry[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (q.accounts !== undefined) {
      if (q.accounts.length === 0) return [];
      where.push(`account_id IN (${q.accounts.map(() => '?').join(', ')})`);
      params.push(...q.accounts);
    }
    if (q.action !== undefined) {
      where.push('action = ?');
      params.push(q.action);
    }
    if (q.after !== undefined) {
      where.push('(at < ? OR (at = ? AND id < ?))');
      params.push(q.after.at, q.after.at, q.after.id);
    }
    params.push(q.limit);
    const rows = await this.driver.all<AuditRow>(`SELECT * FROM audit_log ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY at DESC, id DESC LIMIT ?`, params);
    return rows.map(auditOf);
  }

  // -- idempotency keys --

  /**
   * Claims an idempotency key for a request. Answers 'claimed' (go ahead, then complete or
   * release it), or what an earlier request with this key left: its stored response, 'pending'
   * while it runs, or 'mismatch' when the key was used for another request.
   */
  async claimIdempotencyKey(principal: string, key: string, requestHash: string, at: string): Promise<{ state: 'claimed' } | { state: 'pending' } | { state: 'mismatch' } | { state: 'done'; status: number; response: unknown }> {
    const inserted = await this.driver.run(
      'INSERT INTO idempotency_keys (principal, idem_key, request_hash, status, response, created_at) VALUES (?, ?, ?, 0, NULL, ?) ON CONFLICT (principal, idem_key) DO NOTHING',
      [principal, key, requestHash, at],
    );
    if (inserted === 1) return { state: 'claimed' };
    const r = await this.driver.get<{ request_hash: string; status: number; response: string | null }>('SELECT request_hash, status, response FROM idempotency_keys WHERE principal = ? AND idem_key = ?', [principal, key]);
    if (!r) return this.claimIdempotencyKey(principal, key, requestHash, at);
    if (r.request_hash !== requestHash) return { state: 'mismatch' };
    if (Number(r.status) === 0 || r.response === null) return { state: 'pending' };
    return { state: 'done', status: Number(r.status), response: JSON.parse(r.response) };
  }

  async completeIdempotencyKey(principal: string, key: string, status: number, response: unknown): Promise<void> {
    await this.driver.run('UPDATE idempotency_keys SET status = ?, response = ? WHERE principal = ? AND idem_key = ?', [status, JSON.stringify(response), principal, key]);
  }

  async releaseIdempotencyKey(principal: string, key: string): Promise<void> {
    await this.driver.run('DELETE FROM idempotency_keys WHERE principal = ? AND idem_key = ? AND status = 0', [principal, key]);
  }

  async purgeIdempotencyKeys(before: string): Promise<number> {
    return this.driver.run('DELETE FROM idempotency_keys WHERE created_at < ?', [before]);
  }
}
