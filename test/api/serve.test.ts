/**
 * The contract of `hullscan serve`: the real CLI process, `--data DIR --config FILE --listen
 * 127.0.0.1:PORT`, with HULLSCAN_BOOTSTRAP_TOKEN on an empty store: that value is the first
 * owner token; without it, a generated one is printed once (and only on the first start).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { importFeeds } from '../../src/vulndb/store.ts';
import { environment, FEEDS, OWN } from './fixture.ts';

const REPO = join(import.meta.dirname, '..', '..');
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hullscan-serve-'));
  await importFeeds(join(work, 'vuln.db'), FEEDS);
  writeFileSync(join(work, 'env.yaml'), JSON.stringify(environment()));
});

after(() => rmSync(work, { recursive: true, force: true }));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function start(data: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string; out: () => string; err: () => string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(REPO, 'bin', 'hullscan.js'), 'serve', '--data', data, '--config', join(work, 'env.yaml'), '--db', join(work, 'vuln.db'), '--listen', `127.0.0.1:${port}`], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${err}`);
    const ok = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) return { child, url, out: () => out, err: () => err };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  throw new Error(`serve not ready: ${err}`);
}

async function stop(child: ChildProcess): Promise<number | null> {
  child.kill('SIGTERM');
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

test('HULLSCAN_BOOTSTRAP_TOKEN on an empty store becomes the first owner token; the contract routes answer', async () => {
  const bootstrap = 'hs_bootstrap-token-for-the-serve-test-0123456789';
  const s = await start(join(work, 'data1'), { HULLSCAN_BOOTSTRAP_TOKEN: bootstrap });
  try {
    const auth = { authorization: `Bearer ${bootstrap}` };
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${s.url}/api/v1/accounts`)).status, 401);
    const accounts = (await (await fetch(`${s.url}/api/v1/accounts`, { headers: auth })).json()) as { items: { id: string; account: string }[]; next: string | null };
    assert.deepEqual(accounts.items.map((a) => a.id).sort(), ['sub-a', 'sub-b', 'sub-c']);
    assert.equal(accounts.next, null);
    const t = await fetch(`${s.url}/api/v1/tokens`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ops', role: 'security-admin', accounts: [OWN] }) });
    assert.equal(t.status, 201);
    const { id, token } = (await t.json()) as { id: string; token: string };
    assert.ok(id && token);
    const etag = (await fetch(`${s.url}/api/v1/accounts/${OWN}/settings`, { headers: auth })).headers.get('etag')!;
    const patched = await fetch(`${s.url}/api/v1/accounts/${OWN}/settings`, { method: 'PATCH', headers: { ...auth, 'content-type': 'application/json', 'if-match': etag }, body: JSON.stringify({ malware: true }) });
    assert.equal(patched.status, 200);
    const scan = await fetch(`${s.url}/api/v1/scans`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ account: OWN }) });
    assert.equal(scan.status, 202);
    const scanId = ((await scan.json()) as { id: string }).id;
    // The serve process's workers run it to the end.
    let state = '';
    for (let i = 0; i < 300 && !['completed', 'failed'].includes(state); i++) {
      state = ((await (await fetch(`${s.url}/api/v1/scans/${scanId}`, { headers: auth })).json()) as { state: string }).state;
      if (!['completed', 'failed'].includes(state)) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(state, 'completed');
    const nodes = (await (await fetch(`${s.url}/api/v1/nodes?account=${OWN}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { items: { id: string; account: string }[] };
    assert.ok(nodes.items.length === 2 && nodes.items.every((n) => n.account === OWN));
    const clusters = (await (await fetch(`${s.url}/api/v1/clusters`, { headers: { authorization: `Bearer ${token}` } })).json()) as { items: { id: string }[] };
    assert.equal((await fetch(`${s.url}/api/v1/clusters/${clusters.items[0]!.id}`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    assert.ok(!s.out().includes(bootstrap) && !s.err().includes(bootstrap), 'the bootstrap token is never printed or logged');
    assert.ok(!s.err().includes(token), 'tokens never in the log');
  } finally {
    assert.equal(await stop(s.child), 0);
  }
});

test('without HULLSCAN_BOOTSTRAP_TOKEN the first owner token is printed once, and not again', async () => {
  const data = join(work, 'data2');
  const env = { HULLSCAN_BOOTSTRAP_TOKEN: '' };
  const s1 = await start(data, env);
  const printed = /bootstrap owner token \(shown once[^:]*\): (hs_[A-Za-z0-9_-]+)/.exec(s1.out())?.[1];
  await stop(s1.child);
  assert.ok(printed, s1.out());
  assert.ok(!s1.err().includes(printed), 'not in the log');
  const s2 = await start(data, env);
  try {
    assert.ok(!s2.out().includes('bootstrap owner token'));
    assert.equal((await fetch(`${s2.url}/api/v1/me`, { headers: { authorization: `Bearer ${printed}` } })).status, 200);
  } finally {
    await stop(s2.child);
  }
});
