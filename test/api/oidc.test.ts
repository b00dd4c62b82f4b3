/**
 * OIDC login end to end: a real OpenID provider (npm oidc-provider) in this process on loopback,
 * the full authorization-code + PKCE flow driven over HTTP (the provider's own login and consent
 * pages), then the session cookie (HttpOnly, Secure, SameSite) on the API: grants from a role
 * assignment made by an owner token, CSRF required on state-changing requests, other accounts
 * invisible, callback replay refused, logout.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import Provider from 'oidc-provider';
import { OTHER, OWN, startFixture, type Fixture } from './fixture.ts';

let f: Fixture;
let idp: Server;
let issuer: string;

/** Cookies per origin (the provider and the API are both on 127.0.0.1, on two ports). */
const jar = new Map<string, Map<string, string>>();

function cookieHeader(url: string): string {
  return [...(jar.get(new URL(url).host) ?? new Map()).entries()].map(([k, v]) => `${k}=${v}`).join('; ');
}

function keep(url: string, res: Response): string[] {
  const set = res.headers.getSetCookie();
  const host = new URL(url).host;
  const m = jar.get(host) ?? new Map<string, string>();
  for (const c of set) {
    const [pair] = c.split(';');
    const i = pair!.indexOf('=');
    const name = pair!.slice(0, i).trim();
    const value = pair!.slice(i + 1).trim();
    if (value === '' || /max-age=0/i.test(c) || /expires=Thu, 01 Jan 1970/i.test(c)) m.delete(name);
    else m.set(name, value);
  }
  jar.set(host, m);
  return set;
}

async function go(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const cookie = cookieHeader(url);
  if (cookie) headers.set('cookie', cookie);
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  keep(url, res);
  return res;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

before(async () => {
  let handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void = (_q, r) => r.end();
  idp = createServer((q, r) => handler(q, r));
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', () => r()));
  issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  const apiPort = await freePort();
  const redirectUri = `http://127.0.0.1:${apiPort}/api/v1/auth/callback`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: 'hullscan', client_secret: 'a-client-secret-for-the-test', redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    findAccount: async (_ctx: unknown, id: string) => ({ accountId: id, claims: async () => ({ sub: id, email: `${id}@example.com`, email_verified: true }) }),
  });
  handler = provider.callback();
  f = await startFixture({ oidc: { issuer, clientId: 'hullscan', clientSecret: 'a-client-secret-for-the-test', redirectUri, allowInsecure: true } }, apiPort);
});

after(async () => {
  await f?.close();
  await new Promise<void>((r) => idp.close(() => r()));
});

/** Through the provider's login and consent pages until it redirects back to the API. */
async function signIn(user: string): Promise<{ callback: string; authorize: URL }> {
  const login = await go(`${f.server.url}/api/v1/auth/login?returnTo=/portal/findings`);
  assert.equal(login.status, 302);
  const authorize = new URL(login.headers.get('location')!);
  let url = authorize.href;
  for (let i = 0; i < 12; i++) {
    if (url.startsWith(f.server.url)) return { callback: url, authorize };
    const res = await go(url);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location')!, url).href;
      continue;
    }
    assert.equal(res.status, 200, `${url}: ${res.status}`);
    const html = await res.text();
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1] ?? (html.includes('name="login"') ? 'login' : 'consent');
    const action = new URL(/<form[^>]*action="([^"]+)"/.exec(html)![1]!.replaceAll('&amp;', '&'), url).href;
    const body = new URLSearchParams(prompt === 'login' ? { prompt, login: user, password: 'any' } : { prompt });
    const posted = await go(action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    assert.ok(posted.status >= 300 && posted.status < 400, `${action}: ${posted.status}`);
    url = new URL(posted.headers.get('location')!, action).href;
  }
  throw new Error('the provider never redirected back');
}

test('authorization code + PKCE through a real provider makes a session; roles come from role assignments', async () => {
  const assigned = await f.call('POST', '/api/v1/role-assignments', { token: f.root, body: { subject: 'alice@example.com', role: 'security-admin', accounts: [OWN] } });
  assert.equal(assigned.status, 201, assigned.text);
  const { callback, authorize } = await signIn('alice');
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(authorize.searchParams.get('code_challenge'));
  assert.ok(authorize.searchParams.get('state') && authorize.searchParams.get('nonce'));
  const back = await go(callback);
  assert.equal(back.status, 302, await back.clone().text());
  assert.equal(back.headers.get('location'), '/portal/findings');
  const cookie = back.headers.getSetCookie().find((c) => c.startsWith('__Host-hullscan_session='))!;
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /Secure/);
  assert.match(cookie, /SameSite=Lax/);
  assert.match(cookie, /Path=\//);

  const me = await go(`${f.server.url}/api/v1/me`);
  assert.equal(me.status, 200);
  const who = (await me.json()) as { label: string; kind: string; grants: unknown; csrfToken: string };
  assert.equal(who.kind, 'session');
  assert.equal(who.label, 'user:alice@example.com');
  assert.deepEqual(who.grants, [{ role: 'security-admin', accounts: [OWN] }]);
  assert.ok(who.csrfToken);

  // Other accounts do not exist for her.
  assert.equal((await go(`${f.server.url}/api/v1/clusters?account=${OTHER}`)).status, 404);
  const clusters = (await (await go(`${f.server.url}/api/v1/clusters`)).json()) as { items: { account: string }[] };
  assert.deepEqual([...new Set(clusters.items.map((c) => c.account))], [OWN]);

  // State-changing requests need the CSRF token.
  const body = JSON.stringify({ account: OWN, vulnerability: 'CVE-2023-4911', reason: 'mitigated', owner: 'alice' });
  const noCsrf = await go(`${f.server.url}/api/v1/exemptions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(noCsrf.status, 403);
  const wrong = await go(`${f.server.url}/api/v1/exemptions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': 'nope' }, body });
  assert.equal(wrong.status, 403);
  const made = await go(`${f.server.url}/api/v1/exemptions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': who.csrfToken }, body });
  assert.equal(made.status, 201, await made.clone().text());
  const audit = await f.call('GET', '/api/v1/audit?action=exemption.add', { token: f.root });
  assert.equal(audit.json.items[0].actor, 'user:alice@example.com');
  // Her role stops at security-admin.
  const etag = (await go(`${f.server.url}/api/v1/accounts/${OWN}/settings`)).headers.get('etag')!;
  assert.equal((await go(`${f.server.url}/api/v1/accounts/${OWN}/settings`, { method: 'PATCH', headers: { 'content-type': 'application/json', 'x-csrf-token': who.csrfToken, 'if-match': etag }, body: '{"malware":true}' })).status, 403);

  // The callback cannot be replayed.
  assert.equal((await go(callback)).status, 400);

  const out = await go(`${f.server.url}/api/v1/auth/logout`, { method: 'POST', headers: { 'x-csrf-token': who.csrfToken } });
  assert.equal(out.status, 204);
  assert.equal((await go(`${f.server.url}/api/v1/me`)).status, 401);
  assert.ok(f.logs.every((l) => !l.includes('a-client-secret-for-the-test')), 'the client secret is never logged');
});

test('a callback without the login cookie of the same browser is refused', async () => {
  const { callback } = await signIn('mallory');
  jar.get(new URL(f.server.url).host)?.delete('__Host-hullscan_login');
  const res = await go(callback);
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
});
