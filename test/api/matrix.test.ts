/**
 * The authorisation matrix, generated from the route table: every route × role (reader,
 * security-admin, owner on account sub-a) × target (sub-a's resource | sub-b's resource) plus
 * anonymous, called over HTTP on the real server, with the status each access rule implies:
 *  - anonymous: 401 (public routes: their own answer);
 *  - own account: the route's success status when the role suffices, else 403;
 *  - other account: 404 for a resource or filter of sub-b (never 403, never data);
 * and every answer to an sub-a principal is searched for any id or name of sub-b and sub-c:
 * 0 cross-account reads. A route without a sample request below fails the test, so a new route
 * cannot be left out.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { roleRankForTest, setAlert, type Fixture } from './matrix-support.ts';
import { OTHER, OWN, startFixture } from './fixture.ts';
import { ROLES, type Role } from '../../src/store/index.ts';

interface Req {
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Ids {
  cluster: Record<string, string>;
  pool: Record<string, string>;
  node: Record<string, string>;
  scan: Record<string, string>;
  alert: Record<string, string>;
  exemption: Record<string, string>;
  cveOwn: string;
  cveOther: string;
  forbidden: string[];
}

let f: Fixture;
let ids: Ids;
const tokens = new Map<Role, string>();

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers read loosely, asserted by the matrix
async function rootJson(path: string): Promise<any> {
  const r = await f.call('GET', path, { token: f.root });
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return r.json;
}

before(async () => {
  f = await startFixture();
  const clusters = (await rootJson('/api/v1/clusters')).items;
  const pools = (await rootJson('/api/v1/pools')).items;
  const nodes = (await rootJson('/api/v1/nodes')).items;
  const by = (list: { account: string; id: string }[]) => Object.fromEntries([OWN, OTHER].map((a) => [a, list.find((x) => x.account === a)!.id]));
  const scans = (await rootJson('/api/v1/scans')).items;
  const alerts = (await rootJson('/api/v1/alerts')).items;
  const exemption: Record<string, string> = {};
  for (const a of [OWN, OTHER]) {
    const r = await f.call('POST', '/api/v1/exemptions', { token: f.root, body: { account: a, vulnerability: 'CVE-2099-0001', reason: 'mitigated', owner: 'secops' } });
    assert.equal(r.status, 201, r.text);
    exemption[a] = r.json.id;
  }
  const vulns = async (a: string) => {
    const out = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: { items: { vulnerabilityId: string }[]; next: string | null } = await rootJson(`/api/v1/findings?account=${a}&limit=500${cursor ? `&cursor=${cursor}` : ''}`);
      for (const v of page.items) out.add(v.vulnerabilityId);
      cursor = page.next;
    } while (cursor !== null);
    return out;
  };
  const own = await vulns(OWN);
  const other = await vulns(OTHER);
  const both = [...other].filter((v) => own.has(v));
  assert.ok(both.length > 0, 'a vulnerability on both accounts (its pane must show sub-a only)');
  const allNodes = (await rootJson('/api/v1/nodes?limit=500')).items as { account: string; id: string; name: string }[];
  ids = {
    cluster: by(clusters), pool: by(pools), node: by(nodes), scan: by(scans), alert: by(alerts), exemption,
    cveOwn: both[0]!, cveOther: both[0]!,
    forbidden: [
      OTHER, 'sub-c', 'bravo', 'Bravo', 'charlie', 'Charlie', ...clusters.filter((c: { account: string }) => c.account !== OWN).map((c: { id: string }) => c.id),
      ...pools.filter((c: { account: string }) => c.account !== OWN).map((c: { id: string }) => c.id), ...allNodes.filter((n) => n.account !== OWN).map((n) => n.id),
      ...alerts.filter((c: { account: string }) => c.account !== OWN).map((c: { id: string }) => c.id), exemption[OTHER]!,
    ],
  };
  for (const r of ROLES) tokens.set(r, await f.token(r, [OWN]));
});

after(async () => {
  await f?.close();
});

async function settingsEtag(a: string): Promise<string> {
  return (await f.call('GET', `/api/v1/accounts/${a}/settings`, { token: f.root })).headers.get('etag')!;
}

async function alertState(a: string, status: 'active' | 'dismissed'): Promise<void> {
  await setAlert(f, ids.alert[a]!, status);
}

async function freshExemption(a: string): Promise<string> {
  return (await f.call('POST', '/api/v1/exemptions', { token: f.root, body: { account: a, package: `pkg-${Math.random().toString(36).slice(2)}`, reason: 'risk-accepted', owner: 'secops' } })).json.id;
}

async function freshSuppression(a: string): Promise<string> {
  return (await f.call('POST', '/api/v1/suppressions', { token: f.root, body: { account: a, path: `/opt/${Math.random().toString(36).slice(2)}/*`, reason: 'a test tool' } })).json.rule.id;
}

async function freshToken(a: string): Promise<string> {
  return (await f.call('POST', '/api/v1/tokens', { token: f.root, body: { name: 'victim', role: 'reader', accounts: [a] } })).json.id;
}

async function freshAssignment(a: string): Promise<string> {
  return (await f.call('POST', '/api/v1/role-assignments', { token: f.root, body: { subject: `someone-${a}@example.com`, role: 'reader', accounts: [a] } })).json.id;
}

type Sample = (a: string) => Promise<Req>;
/** A sample request per route, for an account; `same` routes have no account to vary (the other-account call is the same request). */
const SAMPLES: Record<string, { build: Sample; same?: boolean }> = {
  'POST /api/v1/auth/logout': { build: async () => ({ method: 'POST', path: '/api/v1/auth/logout' }), same: true },
  'GET /api/v1/me': { build: async () => ({ method: 'GET', path: '/api/v1/me' }), same: true },
  'GET /api/v1/tokens': { build: async () => ({ method: 'GET', path: '/api/v1/tokens' }), same: true },
  'POST /api/v1/tokens': { build: async (a) => ({ method: 'POST', path: '/api/v1/tokens', body: { name: 'ci', role: 'reader', accounts: [a] } }) },
  'DELETE /api/v1/tokens/{id}': { build: async (a) => ({ method: 'DELETE', path: `/api/v1/tokens/${await freshToken(a)}` }) },
  'GET /api/v1/role-assignments': { build: async () => ({ method: 'GET', path: '/api/v1/role-assignments' }), same: true },
  'POST /api/v1/role-assignments': { build: async (a) => ({ method: 'POST', path: '/api/v1/role-assignments', body: { subject: 'alice@example.com', role: 'reader', accounts: [a] } }) },
  'DELETE /api/v1/role-assignments/{id}': { build: async (a) => ({ method: 'DELETE', path: `/api/v1/role-assignments/${await freshAssignment(a)}` }) },
  'GET /api/v1/audit': { build: async (a) => ({ method: 'GET', path: `/api/v1/audit?account=${a}` }) },
  'GET /api/v1/accounts': { build: async (a) => ({ method: 'GET', path: `/api/v1/accounts?provider=local&cursor=&limit=10`.replace('cursor=&', '') + (a === OWN ? '' : '') }), same: true },
  'GET /api/v1/accounts/{id}': { build: async (a) => ({ method: 'GET', path: `/api/v1/accounts/${a}` }) },
  'GET /api/v1/accounts/{id}/settings': { build: async (a) => ({ method: 'GET', path: `/api/v1/accounts/${a}/settings` }) },
  'PATCH /api/v1/accounts/{id}/settings': { build: async (a) => ({ method: 'PATCH', path: `/api/v1/accounts/${a}/settings`, body: { malware: true }, headers: { 'if-match': await settingsEtag(a) } }) },
  'GET /api/v1/accounts/{id}/settings/history': { build: async (a) => ({ method: 'GET', path: `/api/v1/accounts/${a}/settings/history` }) },
  'GET /api/v1/clusters': { build: async (a) => ({ method: 'GET', path: `/api/v1/clusters?account=${a}` }) },
  'GET /api/v1/clusters/{id}': { build: async (a) => ({ method: 'GET', path: `/api/v1/clusters/${ids.cluster[a]}` }) },
  'GET /api/v1/pools': { build: async (a) => ({ method: 'GET', path: `/api/v1/pools?cluster=${ids.cluster[a]}` }) },
  'GET /api/v1/pools/{id}': { build: async (a) => ({ method: 'GET', path: `/api/v1/pools/${ids.pool[a]}` }) },
  'GET /api/v1/nodes': { build: async (a) => ({ method: 'GET', path: `/api/v1/nodes?pool=${ids.pool[a]}` }) },
  'GET /api/v1/nodes/{id}': { build: async (a) => ({ method: 'GET', path: `/api/v1/nodes/${ids.node[a]}` }) },
  'GET /api/v1/nodes/{id}/inventory': { build: async (a) => ({ method: 'GET', path: `/api/v1/nodes/${ids.node[a]}/inventory` }) },
  'GET /api/v1/nodes/{id}/sbom': { build: async (a) => ({ method: 'GET', path: `/api/v1/nodes/${ids.node[a]}/sbom?format=spdx` }) },
  'POST /api/v1/scans': { build: async (a) => ({ method: 'POST', path: '/api/v1/scans', body: { account: a, cluster: ids.cluster[a] } }) },
  'GET /api/v1/scans': { build: async (a) => ({ method: 'GET', path: `/api/v1/scans?account=${a}` }) },
  'GET /api/v1/scans/{id}': { build: async (a) => ({ method: 'GET', path: `/api/v1/scans/${ids.scan[a]}` }) },
  'GET /api/v1/scans/{id}/nodes': { build: async (a) => ({ method: 'GET', path: `/api/v1/scans/${ids.scan[a]}/nodes` }) },
  'GET /api/v1/recommendations': { build: async (a) => ({ method: 'GET', path: `/api/v1/recommendations?cluster=${ids.cluster[a]}` }) },
  'GET /api/v1/recommendations/accounts': { build: async (a) => ({ method: 'GET', path: `/api/v1/recommendations/accounts?account=${a}` }) },
  'GET /api/v1/findings': { build: async (a) => ({ method: 'GET', path: `/api/v1/findings?account=${a}&severity=high,critical&sort=cvss&order=desc` }) },
  // On both accounts: the own call (no filter) must show sub-a's resources only; the other call names sub-b.
  'GET /api/v1/vulnerabilities/{id}': { build: async (a) => ({ method: 'GET', path: `/api/v1/vulnerabilities/${ids.cveOwn}${a === OWN ? '' : `?account=${a}`}` }) },
  'GET /api/v1/remediation': { build: async (a) => ({ method: 'GET', path: `/api/v1/remediation?pool=${ids.pool[a]}` }) },
  'POST /api/v1/image-check': { build: async (a) => ({ method: 'POST', path: '/api/v1/image-check', body: { version: '202608.20.0', pool: ids.pool[a] } }) },
  'GET /api/v1/alerts': { build: async (a) => ({ method: 'GET', path: `/api/v1/alerts?account=${a}&status=all` }) },
  'GET /api/v1/alerts/{id}': { build: async (a) => ({ method: 'GET', path: `/api/v1/alerts/${ids.alert[a]}` }) },
  'POST /api/v1/alerts/{id}/dismiss': { build: async (a) => (await alertState(a, 'active'), { method: 'POST', path: `/api/v1/alerts/${ids.alert[a]}/dismiss`, body: { reason: 'test tool' } }) },
  'POST /api/v1/alerts/{id}/resolve': { build: async (a) => (await alertState(a, 'active'), { method: 'POST', path: `/api/v1/alerts/${ids.alert[a]}/resolve`, body: { reason: 'reimaged' } }) },
  'POST /api/v1/alerts/{id}/reactivate': { build: async (a) => (await alertState(a, 'dismissed'), { method: 'POST', path: `/api/v1/alerts/${ids.alert[a]}/reactivate` }) },
  'GET /api/v1/suppressions': { build: async (a) => ({ method: 'GET', path: `/api/v1/suppressions?account=${a}` }) },
  'POST /api/v1/suppressions': { build: async (a) => ({ method: 'POST', path: '/api/v1/suppressions', body: { account: a, rule: 'EICAR_Test_File', reason: 'test files' } }) },
  'DELETE /api/v1/suppressions/{id}': { build: async (a) => ({ method: 'DELETE', path: `/api/v1/suppressions/${await freshSuppression(a)}` }) },
  'GET /api/v1/exemptions': { build: async (a) => ({ method: 'GET', path: `/api/v1/exemptions?account=${a}` }) },
  'POST /api/v1/exemptions': { build: async (a) => ({ method: 'POST', path: '/api/v1/exemptions', body: { account: a, vulnerability: 'CVE-2023-*', reason: 'risk-accepted', owner: 'platform', expires: '2099-01-31' } }) },
  'GET /api/v1/exemptions/{id}': { build: async (a) => ({ method: 'GET', path: `/api/v1/exemptions/${ids.exemption[a]}` }) },
  'DELETE /api/v1/exemptions/{id}': { build: async (a) => ({ method: 'DELETE', path: `/api/v1/exemptions/${await freshExemption(a)}` }) },
  'GET /api/v1/history': { build: async (a) => ({ method: 'GET', path: `/api/v1/history?cluster=${ids.cluster[a]}&days=7` }) },
  'GET /api/v1/vulnerability-data': { build: async () => ({ method: 'GET', path: '/api/v1/vulnerability-data' }), same: true },
};

function successOf(responses: Record<string, unknown>): number {
  return Math.min(...Object.keys(responses).map(Number).filter((s) => s >= 200 && s < 400));
}

test('authorisation matrix: every route × role × (own | other account | anonymous)', async () => {
  const rows: string[] = [];
  const failures: string[] = [];
  let calls = 0;
  let leaks = 0;
  for (const r of f.api.routes) {
    const key = `${r.config.method.toUpperCase()} ${r.config.path}`;
    if (r.access.kind === 'public') continue;
    const sample = SAMPLES[key];
    if (sample === undefined) {
      failures.push(`${key}: no sample request in test/api/matrix.test.ts — add one`);
      continue;
    }
    const success = successOf(r.config.responses as Record<string, unknown>);
    const anon = await sample.build(OWN);
    const a = await f.call(anon.method, anon.path, { ...(anon.body !== undefined && { body: anon.body }), ...(anon.headers && { headers: anon.headers }) });
    calls++;
    if (a.status !== 401) failures.push(`${key} anonymous: ${a.status}, expected 401`);
    for (const role of ROLES) {
      for (const target of [OWN, OTHER]) {
        const req = await sample.build(target);
        const sufficient = roleRankForTest(role) >= roleRankForTest(r.access.role);
        let expected: number;
        if (!sufficient && (r.access.kind === 'authenticated' || target === OWN || sample.same)) expected = 403;
        else if (target === OTHER && !sample.same) expected = 404;
        else expected = success;
        const res = await f.call(req.method, req.path, { token: tokens.get(role)!, ...(req.body !== undefined && { body: req.body }), ...(req.headers && { headers: req.headers }) });
        calls++;
        rows.push(`${key} ${role} ${target === OWN ? 'own' : 'other'} → ${res.status}`);
        if (res.status !== expected) failures.push(`${key} as ${role} on ${target === OWN ? 'own' : 'other'} account: ${res.status}, expected ${expected}: ${res.text.slice(0, 200)}`);
        // Error answers echo what the caller asked (instance, detail): only answers with data are searched.
        const leaked = res.status < 400 ? ids.forbidden.filter((x) => res.text.includes(x)) : [];
        if (leaked.length) {
          leaks++;
          failures.push(`${key} as ${role} on ${target}: answer names another account's ${leaked.join(', ')}`);
        }
        if (res.status >= 400) assert.equal(res.headers.get('content-type'), 'application/problem+json', `${key}: errors are problem details`);
      }
    }
  }
  assert.deepEqual(failures, [], failures.join('\n'));
  assert.equal(leaks, 0);
  assert.ok(calls > 40 * 7, `${calls} calls`);
});
