/**
 * The fleet commands as users and scripts run them (the real `bin/hullscan.js` in a child
 * process): `accounts`, `run --once` and its exit codes, the JSON forms that are a contract
 * (findings, alerts, nodes, runs), and `serve` — health endpoints, a scheduled run, graceful
 * stop on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { importFeeds } from '../../src/vulndb/store.ts';
import { aksNodeImage } from '../fixtures/aks-node.ts';
import { fixtureOrSkip } from '../fixtures/node-image.ts';

const REPO = join(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'bin', 'hullscan.js');
const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const work = mkdtempSync(join(tmpdir(), 'hullscan-fleet-cli-'));
const dbPath = join(work, 'vuln.db');
after(() => rmSync(work, { recursive: true, force: true }));

before(async () => {
  await importFeeds(dbPath, [join(REPO, 'data/vulndb/ubuntu-22.04.osv.aks-slice.jsonl.gz')]);
});

function hs(args: string[], env: Record<string, string> = {}): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000, maxBuffer: 512 * 1024 * 1024 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function environment(path: string, disk: string): void {
  writeFileSync(
    path,
    `accounts:
  - id: sub-a
    provider: local
    settings: { agentlessScanning: true }
    clusters:
      - name: c1
        pools:
          - name: p1
            nodeImage: ${UBUNTU}-202608.20.0
            nodes: [ { name: good, disk: ${JSON.stringify(disk)}, kernel: 5.15.0-1118-azure }, { name: broken, disk: missing.vhd } ]
  - id: sub-b
    provider: local
    clusters: [ { name: c2, pools: [ { name: p2, nodes: [ { name: other, disk: ${JSON.stringify(disk)} } ] } ] } ]
`,
  );
}

describe('fleet CLI', () => {
  test('accounts, run --once (exit 1 with the failed node named), and the JSON contracts', async (t) => {
    const disk = await fixtureOrSkip(t, aksNodeImage(UBUNTU, '202608.20.0', 'vhd-fixed'));
    if (!disk) return;
    const data = join(work, 'data1');
    const env = join(work, 'env1.yaml');
    environment(env, disk);

    const listed = hs(['accounts', '--data', data, '--config', env, '--format', 'json']);
    assert.equal(listed.code, 0, listed.err);
    const accounts = JSON.parse(listed.out) as { id: string; settings: { agentlessScanning: boolean } }[];
    assert.deepEqual(accounts.map((a) => [a.id, a.settings.agentlessScanning]), [['sub-a', true], ['sub-b', false]]);

    const run = hs(['run', '--once', '--data', data, '--config', env, '--db', dbPath]);
    assert.equal(run.code, 1, 'a failed node scan fails the run for cron and CI');
    assert.match(run.out, /run \w+ sub-a: completed — 2 nodes: 1 published, 1 failed, 0 skipped/);
    assert.match(run.out, /c1\/p1\/broken: disk-not-found/);
    assert.match(run.out, /account sub-b: scanning is off/);
    assert.match(run.err, /1 node scan failed/);

    const findings = hs(['findings', '--data', data, '--format', 'json']);
    assert.equal(findings.code, 0, findings.err);
    const list = JSON.parse(findings.out) as Record<string, unknown>[];
    assert.ok(list.length > 100);
    for (const k of ['vulnerabilityId', 'package', 'severity', 'state', 'evidence', 'node', 'firstSeen', 'lastSeen', 'resolvedAt']) assert.ok(k in list[0]!, `finding JSON has ${k}`);
    assert.deepEqual(list[0]!['node'], { account: 'sub-a', cluster: 'c1', nodePool: 'p1', node: 'good' });
    assert.equal(list[0]!['resolvedAt'], null);
    const one = list[0]!['vulnerabilityId'] as string;
    const byCve = JSON.parse(hs(['findings', '--data', data, '--format', 'json', '--cve', one]).out) as { vulnerabilityId: string }[];
    assert.ok(byCve.length >= 1 && byCve.every((f) => f.vulnerabilityId === one));
    const table = hs(['findings', '--data', data, '--severity', 'high', '--limit', '3']);
    assert.match(table.out, /^\d+ open findings \(high \d+\): \d+ vulnerabilities on 1 node in 1 cluster/);

    const nodes = JSON.parse(hs(['nodes', '--data', data, '--format', 'json']).out) as Record<string, unknown>[];
    const byName = new Map(nodes.map((n) => [n['node'], n]));
    assert.equal(byName.get('good')?.['state'], 'published');
    assert.equal(byName.get('good')?.['kernel'], '5.15.0-1118-azure');
    assert.deepEqual(byName.get('good')?.['nodeImage'], { name: UBUNTU, version: '202608.20.0' });
    assert.equal(byName.get('broken')?.['state'], 'failed');
    assert.equal(byName.get('broken')?.['reason'], 'disk-not-found');
    assert.equal(byName.get('other')?.['reason'], 'scanning-off');
    assert.equal(byName.get('other')?.['lastScan'], null);

    const runs = JSON.parse(hs(['runs', '--data', data, '--format', 'json']).out) as { id: string; state: string; counts: { total: number } }[];
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.counts.total, 2);
    const detail = hs(['runs', '--data', data, '--run', runs[0]!.id.slice(0, 8)]);
    assert.match(detail.out, /c1\/p1\/broken\s+failed\s+disk-not-found/);
    assert.equal(JSON.parse(hs(['alerts', '--data', data, '--format', 'json']).out).length, 0);

    // Turn scanning on for sub-b, as a person would; the history says who.
    const set = hs(['accounts', 'set', 'sub-b', 'agentlessScanning=on', 'schedule=12h', '--data', data, '--by', 'alice']);
    assert.equal(set.code, 0, set.err);
    const history = JSON.parse(hs(['accounts', 'history', 'sub-b', '--data', data, '--format', 'json']).out) as { version: number; changedBy: string; settings: { agentlessScanning: boolean } }[];
    assert.deepEqual(history.map((h) => [h.version, h.changedBy, h.settings.agentlessScanning]), [[1, `config:${env}`, false], [2, 'cli:alice', true]]);
    const only = hs(['run', '--once', '--data', data, '--config', env, '--db', dbPath, '--account', 'sub-b', '--format', 'json']);
    assert.equal(only.code, 0, only.err);
    assert.equal((JSON.parse(only.out) as { runs: { counts: { published: number } }[] }).runs[0]!.counts.published, 1);

    // Usage errors: exit 2, one line.
    const bad = hs(['accounts', 'set', 'sub-b', 'agentlessScanning=maybe', '--data', data]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /agentlessScanning: use on or off/);
    assert.equal(hs(['run', '--data', data]).code, 2, 'run needs --once');
    assert.equal(hs(['findings', '--data', data, '--severity', 'dire']).code, 2);
    assert.equal(hs(['run', '--once', '--data', join(work, 'nodb'), '--config', env, '--db', join(work, 'none.db')]).code, 2, 'no vulnerability database: said, not crashed');
  });

  test('serve: health endpoints, a scheduled run, graceful stop on SIGTERM', async (t) => {
    const disk = await fixtureOrSkip(t, aksNodeImage(UBUNTU, '202608.20.0', 'vhd-fixed'));
    if (!disk) return;
    const data = join(work, 'data2');
    const env = join(work, 'env2.yaml');
    environment(env, disk);
    const child = spawn(process.execPath, [BIN, 'serve', '--data', data, '--config', env, '--db', dbPath, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HULLSCAN_BOOTSTRAP_TOKEN: 'hs-test-bootstrap-token-0123456789abcdef' } });
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 120_000;
      let port: number | undefined;
      while (Date.now() < deadline && port === undefined) {
        await new Promise((r) => setTimeout(r, 100));
        const m = /"listen":"(?:https?:\/\/)?127\.0\.0\.1:(\d+)/.exec(log);
        if (m) port = Number(m[1]);
      }
      assert.ok(port, `serve announced its port: ${log.slice(0, 2000)}`);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200);
      let ready = 0;
      while (Date.now() < deadline && ready !== 200) {
        ready = (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
        if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(ready, 200);
      assert.equal((await fetch(`http://127.0.0.1:${port}/api/v1/nope`)).status, 404, 'an unknown API route is a 404 (the portal answers the rest)');
      const unauthenticated = await fetch(`http://127.0.0.1:${port}/api/v1/accounts`);
      assert.equal(unauthenticated.status, 401, 'the API needs a token');
      const accounts = await fetch(`http://127.0.0.1:${port}/api/v1/accounts`, { headers: { authorization: 'Bearer hs-test-bootstrap-token-0123456789abcdef' } });
      assert.equal(accounts.status, 200);
      assert.deepEqual(((await accounts.json()) as { items: { id: string }[] }).items.map((a) => a.id).sort(), ['sub-a', 'sub-b']);
      // The account was never scanned: its daily schedule is due at once.
      while (Date.now() < deadline && !/"msg":"node scan finished"/.test(log)) await new Promise((r) => setTimeout(r, 200));
      assert.match(log, /"trigger":"schedule"/);
      assert.match(log, /"node":"good".*"state":"published"/);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.match(log, /"msg":"hullscan serve stopped"/);
      assert.doesNotMatch(log, /"level":50/, 'no error logged');
      const runs = JSON.parse(hs(['runs', '--data', data, '--format', 'json']).out) as { trigger: string; state: string }[];
      assert.deepEqual(runs.map((r) => [r.trigger, r.state]), [['schedule', 'completed']]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
