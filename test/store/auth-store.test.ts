/**
 * The API's tables (store/auth-store.ts, migration 3) on both store implementations: SQLite and
 * a real PostgreSQL (test/global-setup.ts). Tokens by hash, revocation, the bootstrap token made
 * once, role assignments, sessions with expiry, the audit log's order, cursor and account
 * filter, idempotency keys.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { AuthStore, openStore } from '../../src/store/index.ts';
import { postgresDatabase } from '../helpers/postgres.ts';

const T0 = '2026-12-01T00:00:00.000Z';
const T1 = '2026-12-02T00:00:00.000Z';

const BACKENDS: { name: string; open(t: TestContext): Promise<AuthStore | undefined> }[] = [
  {
    name: 'sqlite',
    async open(t) {
      const dir = mkdtempSync(join(tmpdir(), 'hullscan-auth-'));
      const store = await openStore(join(dir, 'hullscan.db'));
      t.after(async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      });
      return new AuthStore(store.driver);
    },
  },
  {
    name: 'postgres',
    async open(t) {
      const db = await postgresDatabase(t);
      if (db === undefined) return undefined;
      const store = await openStore(db.url);
      t.after(async () => {
        await store.close();
        await db.drop();
      });
      return new AuthStore(store.driver);
    },
  },
];

for (const b of BACKENDS) {
  describe(`auth store on ${b.name}`, () => {
    test('tokens: found by hash only, scope kept, revoked once; the bootstrap token only on an empty store', async (t) => {
      const s = await b.open(t);
      if (!s) return;
      assert.equal(await s.isEmpty(), true);
      const boot = await s.createBootstrapToken({ tokenHash: 'h0', at: T0 });
      assert.equal(boot?.role, 'owner');
      assert.equal(boot?.accounts, undefined);
      assert.equal(await s.createBootstrapToken({ tokenHash: 'h0b', at: T0 }), undefined, 'not twice');
      assert.equal(await s.isEmpty(), false);
      const tok = await s.createToken({ name: 'ci', role: 'reader', accounts: ['sub-b', 'sub-a', 'sub-a'], tokenHash: 'h1', createdBy: 'owner', at: T0, expiresAt: T1 });
      assert.deepEqual(tok.accounts, ['sub-a', 'sub-b']);
      assert.equal((await s.tokenByHash('h1'))?.id, tok.id);
      assert.equal(await s.tokenByHash('h2'), undefined);
      await assert.rejects(s.createToken({ name: 'dup', role: 'reader', tokenHash: 'h1', createdBy: 'o', at: T0 }), 'hashes are unique');
      assert.equal(await s.revokeToken(tok.id, 'owner', T1), true);
      assert.equal(await s.revokeToken(tok.id, 'owner', T1), false);
      assert.equal((await s.getToken(tok.id))?.revokedAt, T1);
      await s.touchToken(boot!.id, T1);
      assert.equal((await s.getToken(boot!.id))?.lastUsedAt, T1);
      assert.equal((await s.listTokens()).length, 2);
    });

    test('role assignments: by subject, removal kept out of the list', async (t) => {
      const s = await b.open(t);
      if (!s) return;
      const a = await s.addAssignment({ subject: 'alice@example.com', role: 'security-admin', accounts: ['sub-a'], createdBy: 'o', at: T0 });
      await s.addAssignment({ subject: 'bob', role: 'owner', createdBy: 'o', at: T0 });
      assert.deepEqual((await s.listAssignments('alice@example.com')).map((x) => x.role), ['security-admin']);
      assert.equal((await s.listAssignments()).length, 2);
      assert.equal(await s.removeAssignment(a.id, 'o', T1), true);
      assert.deepEqual(await s.listAssignments('alice@example.com'), []);
      assert.equal((await s.getAssignment(a.id))?.removedAt, T1);
    });

    test('sessions expire', async (t) => {
      const s = await b.open(t);
      if (!s) return;
      await s.createSession('sid', { subject: 'alice', displayName: 'alice@example.com', csrfHash: 'c', createdAt: T0, expiresAt: T1 });
      assert.equal((await s.getSession('sid', T0))?.subject, 'alice');
      assert.equal(await s.getSession('sid', T1), undefined);
      assert.equal(await s.purgeSessions(T1), 1);
    });

    test('audit log: newest first, paged by (at, id), filtered by account and action; values as JSON', async (t) => {
      const s = await b.open(t);
      if (!s) return;
      for (let i = 0; i < 5; i++) await s.appendAudit({ at: `2026-12-01T00:00:0${i}.000Z`, actor: 'token:x', action: i % 2 ? 'exemption.add' : 'settings.update', targetType: 'account', account: i < 4 ? 'sub-a' : 'sub-b', before: { v: i }, after: { v: i + 1, tags: { a: 'b' } }, requestId: `r${i}` });
      await s.appendAudit({ at: '2026-12-01T00:00:09.000Z', actor: 'token:x', action: 'token.create', targetType: 'token' });
      const all = await s.listAudit({ limit: 10 });
      assert.deepEqual(all.map((e) => e.at.slice(17, 19)), ['09', '04', '03', '02', '01', '00']);
      assert.deepEqual(all[1]!.after, { v: 5, tags: { a: 'b' } });
      const page1 = await s.listAudit({ limit: 2 });
      const page2 = await s.listAudit({ limit: 2, after: { at: page1[1]!.at, id: page1[1]!.id } });
      assert.deepEqual([...page1, ...page2].map((e) => e.id), all.slice(0, 4).map((e) => e.id));
      assert.deepEqual((await s.listAudit({ accounts: ['sub-a'], limit: 10 })).map((e) => e.account), ['sub-a', 'sub-a', 'sub-a', 'sub-a']);
      assert.deepEqual(await s.listAudit({ accounts: [], limit: 10 }), []);
      assert.equal((await s.listAudit({ action: 'exemption.add', limit: 10 })).length, 2);
    });

    test('idempotency keys: claimed once, pending, replayed, mismatched, released', async (t) => {
      const s = await b.open(t);
      if (!s) return;
      assert.deepEqual(await s.claimIdempotencyKey('p', 'k', 'h', T0), { state: 'claimed' });
      assert.deepEqual(await s.claimIdempotencyKey('p', 'k', 'h', T0), { state: 'pending' });
      assert.deepEqual(await s.claimIdempotencyKey('p', 'k', 'other', T0), { state: 'mismatch' });
      assert.deepEqual(await s.claimIdempotencyKey('q', 'k', 'h', T0), { state: 'claimed' }, 'keys are per caller');
      await s.completeIdempotencyKey('p', 'k', 202, { id: 'run-1' });
      assert.deepEqual(await s.claimIdempotencyKey('p', 'k', 'h', T0), { state: 'done', status: 202, response: { id: 'run-1' } });
      await s.releaseIdempotencyKey('q', 'k');
      assert.deepEqual(await s.claimIdempotencyKey('q', 'k', 'h', T0), { state: 'claimed' });
      assert.equal(await s.purgeIdempotencyKeys(T1), 2);
    });
  });
}
