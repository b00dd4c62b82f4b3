/**
 * The API over HTTP on a real server: the OpenAPI 3.1 document (validated by an OpenAPI
 * validator; every route the app answers is described, and nothing more), the contract of
 * issue #14 (tokens, lists with cursors, clusters, settings with If-Match, scans with 202 and
 * idempotency keys), problem details, limits, the audit log, and secrets kept out of logs and
 * error bodies.
 */
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createApi } from '../../src/api/index.ts';
import { OTHER, OWN, startFixture, type Fixture } from './fixture.ts';

let f: Fixture;

before(async () => {
  f = await startFixture();
});

after(async () => {
  await f?.close();
});

describe('the OpenAPI document', () => {
  test('validates as OpenAPI 3.1', async () => {
    const r = await f.call('GET', '/api/openapi.json');
    assert.equal(r.status, 200);
    assert.equal(r.json.openapi, '3.1.0');
    const v = await new Validator().validate(r.json);
    assert.deepEqual(v.errors ?? [], [], JSON.stringify(v.errors ?? '').slice(0, 2000));
    assert.equal(v.valid, true);
  });

  test('describes every route the server answers, and only those', async () => {
    const doc = (await f.call('GET', '/api/openapi.json')).json as { paths: Record<string, Record<string, unknown>> };
    const described = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)));
    // What Hono routes (middleware entries are method ALL), paths in OpenAPI form.
    const answered = new Set(f.api.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`));
    assert.deepEqual([...answered].filter((x) => !described.has(x)).sort(), [], 'answered but not described');
    assert.deepEqual([...described].filter((x) => !answered.has(x)).sort(), [], 'described but not answered');
    assert.ok(answered.size >= 45, `${answered.size} routes`);
  });

  test('a route outside the table answers 404 as a problem', async () => {
    const r = await f.call('GET', '/api/v1/no-such-thing', { token: f.root });
    assert.equal(r.status, 404);
    assert.equal(r.headers.get('content-type'), 'application/problem+json');
    assert.equal(r.json.status, 404);
    assert.ok(r.json.requestId);
  });

  test('a handler whose answer breaks its schema answers 500, not the bad body', async () => {
    const { defineRoute } = await import('../../src/api/route.ts');
    const { createRoute, z } = await import('@hono/zod-openapi');
    const bad = defineRoute(
      createRoute({ method: 'get', path: '/broken', security: [], responses: { 200: { description: 'x', content: { 'application/json': { schema: z.object({ n: z.number() }) } } } } }),
      { kind: 'public', role: 'reader' },
      async () => ({ status: 200, body: { n: 'not a number' } }),
    );
    const logs: string[] = [];
    const api = createApi({ store: f.cp.store, auth: f.auth, service: undefined as never, scans: undefined as never, vulnDbStatus: () => undefined, ready: () => true, log: (await import('pino')).default({}, { write: (s: string) => void logs.push(s) }), extraRoutes: [bad] });
    const res = await api.app.request('/broken');
    assert.equal(res.status, 500);
    const body = (await res.json()) as { detail: string };
    assert.doesNotMatch(body.detail, /not a number/);
    assert.ok(logs.some((l) => l.includes('does not match its schema')));
  });
});

describe('the contract of issue #14', () => {
  test('POST /api/v1/tokens answers {id, token}; the token works, is stored hashed and listed without its secret', async () => {
    const r = await f.call('POST', '/api/v1/tokens', { token: f.root, body: { name: 'ci', role: 'reader', accounts: [OWN] } });
    assert.equal(r.status, 201);
    assert.match(r.json.id, /^[0-9a-f-]{36}$/);
    assert.match(r.json.token, /^hs_[A-Za-z0-9_-]{43}$/);
    const me = await f.call('GET', '/api/v1/me', { token: r.json.token });
    assert.deepEqual(me.json.grants, [{ role: 'reader', accounts: [OWN] }]);
    const list = await f.call('GET', '/api/v1/tokens', { token: f.root });
    assert.ok(!list.text.includes(r.json.token));
    const rows = await f.cp.store.driver.all<{ token_hash: string }>('SELECT token_hash FROM api_tokens');
    assert.ok(rows.every((x) => !x.token_hash.includes(r.json.token) && /^[0-9a-f]{64}$/.test(x.token_hash)));
    // Revoked: refused.
    assert.equal((await f.call('DELETE', `/api/v1/tokens/${r.json.id}`, { token: f.root })).status, 204);
    assert.equal((await f.call('GET', '/api/v1/me', { token: r.json.token })).status, 401);
  });

  test('an expired token is refused', async () => {
    const { hashSecret } = await import('../../src/api/index.ts');
    await f.auth.createToken({ name: 'old', role: 'owner', tokenHash: hashSecret('hs_expired-token-000000000000000000000000'), createdBy: 'test', at: '2020-01-01T00:00:00.000Z', expiresAt: '2020-02-01T00:00:00.000Z' });
    const r = await f.call('GET', '/api/v1/accounts', { token: 'hs_expired-token-000000000000000000000000' });
    assert.equal(r.status, 401);
    assert.equal((await f.call('GET', '/api/v1/accounts', { token: 'hs_no-such-token-00000000000000000000000' })).status, 401);
  });

  test('accounts, clusters and nodes: {items, next} with id and account; cursors page in a stable order', async () => {
    for (const path of ['/api/v1/accounts', '/api/v1/clusters', '/api/v1/nodes']) {
      const all = await f.call('GET', path, { token: f.root });
      assert.equal(all.status, 200);
      assert.equal(all.json.next, null);
      assert.ok(all.json.items.length >= 2);
      for (const it of all.json.items) assert.ok(typeof it.id === 'string' && typeof it.account === 'string');
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; json: { items: { id: string }[]; next: string | null } } = await f.call('GET', `${path}?limit=1${cursor ? `&cursor=${cursor}` : ''}`, { token: f.root });
        assert.equal(page.status, 200);
        assert.ok(page.json.items.length <= 1);
        seen.push(...page.json.items.map((x) => x.id));
        cursor = page.json.next;
      } while (cursor !== null);
      assert.deepEqual(seen, all.json.items.map((x: { id: string }) => x.id), `${path}: pages in the same order as the whole list`);
    }
    assert.equal((await f.call('GET', '/api/v1/nodes?cursor=garbage', { token: f.root })).status, 400);
    assert.equal((await f.call('GET', '/api/v1/nodes?limit=501', { token: f.root })).status, 400);
  });

  test('nodes carry coverage: scanned when, or why not', async () => {
    const nodes = (await f.call('GET', '/api/v1/nodes', { token: f.root })).json.items as { name: string; coverage: { state: string; scannedAt: string | null; reason: string | null } }[];
    const alpha = nodes.find((n) => n.name === 'alpha-0')!;
    assert.equal(alpha.coverage.state, 'scanned');
    assert.ok(alpha.coverage.scannedAt);
    const charlie = nodes.find((n) => n.name === 'charlie-0')!;
    assert.equal(charlie.coverage.state, 'not-scanned');
    assert.equal(charlie.coverage.reason, 'scanning-off');
  });

  test('GET /api/v1/clusters/{id}; an unknown id answers 404', async () => {
    const [c] = (await f.call('GET', `/api/v1/clusters?account=${OWN}`, { token: f.root })).json.items;
    const r = await f.call('GET', `/api/v1/clusters/${c.id}`, { token: f.root });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, c);
    assert.equal((await f.call('GET', '/api/v1/clusters/no-such', { token: f.root })).status, 404);
  });

  test('PATCH settings needs If-Match: 428 without, 412 when stale, 200 with the ETag; audited with before and after', async () => {
    const get = await f.call('GET', `/api/v1/accounts/${OWN}/settings`, { token: f.root });
    const etag = get.headers.get('etag')!;
    assert.ok(etag);
    assert.equal((await f.call('PATCH', `/api/v1/accounts/${OWN}/settings`, { token: f.root, body: { exclusionTags: { 'hullscan-exclude': 'true' } } })).status, 428);
    const ok = await f.call('PATCH', `/api/v1/accounts/${OWN}/settings`, { token: f.root, body: { exclusionTags: { 'hullscan-exclude': 'true' } }, headers: { 'if-match': etag } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.version, get.json.version + 1);
    assert.deepEqual(ok.json.settings.exclusionTags, { 'hullscan-exclude': 'true' });
    assert.notEqual(ok.headers.get('etag'), etag);
    const stale = await f.call('PATCH', `/api/v1/accounts/${OWN}/settings`, { token: f.root, body: { malware: true }, headers: { 'if-match': etag } });
    assert.equal(stale.status, 412);
    assert.equal((await f.call('PATCH', `/api/v1/accounts/${OWN}/settings`, { token: f.root, body: { retentionDays: 0 }, headers: { 'if-match': ok.headers.get('etag')! } })).status, 400);
    assert.equal((await f.call('PATCH', `/api/v1/accounts/${OWN}/settings`, { token: f.root, body: { unknown: 1 }, headers: { 'if-match': ok.headers.get('etag')! } })).status, 400);
    const audit = await f.call('GET', `/api/v1/audit?account=${OWN}&action=settings.update`, { token: f.root });
    const e = audit.json.items[0];
    assert.equal(e.actor.startsWith('token:root#'), true);
    assert.deepEqual(e.before.settings.exclusionTags, {});
    assert.deepEqual(e.after.settings.exclusionTags, { 'hullscan-exclude': 'true' });
    // Back as it was.
    await f.call('PATCH', `/api/v1/accounts/${OWN}/settings`, { token: f.root, body: { exclusionTags: {} }, headers: { 'if-match': ok.headers.get('etag')! } });
  });

  test('POST /api/v1/scans answers 202 with the scan id; an Idempotency-Key replays the first answer', async () => {
    const r = await f.call('POST', '/api/v1/scans', { token: f.root, body: { account: OWN } });
    assert.equal(r.status, 202, r.text);
    assert.match(r.json.id, /^[0-9a-f-]{36}$/);
    assert.equal((await f.call('GET', `/api/v1/scans/${r.json.id}`, { token: f.root })).json.account, OWN);
    const k1 = await f.call('POST', '/api/v1/scans', { token: f.root, body: { account: OTHER }, headers: { 'idempotency-key': 'nightly-2026-12-01' } });
    const k2 = await f.call('POST', '/api/v1/scans', { token: f.root, body: { account: OTHER }, headers: { 'idempotency-key': 'nightly-2026-12-01' } });
    assert.equal(k1.status, 202);
    assert.equal(k2.status, 202);
    assert.equal(k2.json.id, k1.json.id);
    assert.equal(k2.headers.get('idempotent-replayed'), 'true');
    const k3 = await f.call('POST', '/api/v1/scans', { token: f.root, body: { account: OWN }, headers: { 'idempotency-key': 'nightly-2026-12-01' } });
    assert.equal(k3.status, 422);
    const audit = await f.call('GET', '/api/v1/audit?action=scan.start', { token: f.root });
    assert.equal(audit.json.items.filter((e: { targetId: string }) => e.targetId === k1.json.id).length, 1, 'the replay is not a second scan');
  });

  test('a tenant-wide reader sees every account; an account reader only theirs, in counts too', async () => {
    const tenant = await f.token('reader');
    assert.equal((await f.call('GET', '/api/v1/accounts', { token: tenant })).json.items.length, 3);
    const mine = await f.token('reader', [OWN]);
    const rec = await f.call('GET', '/api/v1/recommendations/accounts', { token: mine });
    assert.deepEqual(rec.json.items.map((x: { account: string }) => x.account), [OWN]);
    const findings = await f.call('GET', '/api/v1/findings?limit=1', { token: mine });
    const whole = await f.call('GET', `/api/v1/findings?limit=1&account=${OWN}`, { token: f.root });
    assert.equal(findings.json.total, whole.json.total, 'the total counts only the granted account');
  });

  test('SBOM downloads: CycloneDX and SPDX of the node\'s stored inventory', async () => {
    const [n] = (await f.call('GET', `/api/v1/nodes?account=${OWN}`, { token: f.root })).json.items;
    const cdx = await f.call('GET', `/api/v1/nodes/${n.id}/sbom`, { token: f.root });
    assert.equal(cdx.status, 200);
    assert.equal(cdx.headers.get('content-type'), 'application/vnd.cyclonedx+json');
    assert.equal(cdx.json.bomFormat, 'CycloneDX');
    assert.ok(cdx.json.components.length > 100);
    const spdx = await f.call('GET', `/api/v1/nodes/${n.id}/sbom?format=spdx`, { token: f.root });
    assert.equal(spdx.json.spdxVersion, 'SPDX-2.3');
  });

  test('limits and problems: body size 413, malformed JSON 400, every error application/problem+json', async () => {
    // Its own connection (agent: false): the server answers before reading the whole body and closes it.
    const big = await new Promise<{ status: number; type: string | undefined }>((resolve, reject) => {
      const body = JSON.stringify({ note: 'x'.repeat(2 * 1024 * 1024) });
      const req = httpRequest(`${f.server.url}/api/v1/exemptions`, { method: 'POST', agent: false, headers: { authorization: `Bearer ${f.root}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] });
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(big.status, 413);
    assert.equal(big.type, 'application/problem+json');
    const bad = await fetch(`${f.server.url}/api/v1/scans`, { method: 'POST', headers: { authorization: `Bearer ${f.root}`, 'content-type': 'application/json' }, body: '{"account":' });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('content-type'), 'application/problem+json');
  });

  test('request ids: given or made, answered and logged; tokens never in a log line or an error body', async () => {
    const secret = 'hs_this-token-does-not-exist-but-is-long-enough';
    const r = await f.call('GET', '/api/v1/accounts?x=1', { token: secret, headers: { 'x-request-id': 'req-42' } });
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('x-request-id'), 'req-42');
    assert.ok(!r.text.includes(secret));
    const line = f.logs.map((l) => JSON.parse(l) as { requestId?: string; path?: string; status?: number }).find((l) => l.requestId === 'req-42');
    assert.equal(line?.path, '/api/v1/accounts');
    assert.equal(line?.status, 401);
    assert.ok(f.logs.every((l) => !l.includes(secret) && !l.includes(f.root)), 'no token in the logs');
  });

  test('rate limit per caller: 429 with Retry-After past the burst', async () => {
    const { listen } = await import('../../src/api/index.ts');
    const api = createApi({ store: f.cp.store, auth: f.auth, service: undefined as never, scans: undefined as never, vulnDbStatus: () => undefined, ready: () => true, log: (await import('pino')).default({ level: 'silent' }), rateLimit: { perSecond: 1, burst: 3 } });
    const s = await listen(api, { host: '127.0.0.1', port: 0 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await fetch(`${s.url}/api/v1/me`, { headers: { authorization: `Bearer ${f.root}` } })).status);
      assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
      const last = await fetch(`${s.url}/api/v1/me`, { headers: { authorization: `Bearer ${f.root}` } });
      assert.equal(last.status, 429);
      assert.ok(Number(last.headers.get('retry-after')) >= 1);
    } finally {
      await s.close();
    }
  });

  test('/metrics: tenant-wide tokens only (its totals span accounts); described in the document', async () => {
    const { listen } = await import('../../src/api/index.ts');
    const api = createApi({ store: f.cp.store, auth: f.auth, service: undefined as never, scans: undefined as never, vulnDbStatus: () => undefined, ready: () => true, log: (await import('pino')).default({ level: 'silent' }), metrics: { contentType: 'text/plain; version=0.0.4', text: async () => 'hullscan_findings_open{severity="high"} 3\n' } });
    const s = await listen(api, { host: '127.0.0.1', port: 0 });
    try {
      assert.equal((await fetch(`${s.url}/metrics`)).status, 401);
      const ok = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${f.root}` } });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /hullscan_findings_open/);
      const scoped = await f.token('owner', [OWN]);
      assert.equal((await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${scoped}` } })).status, 404);
      assert.ok('/metrics' in (api.document()['paths'] as Record<string, unknown>));
    } finally {
      await s.close();
    }
  });
});
