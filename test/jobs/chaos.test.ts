/**
 * Chaos on the scale-out deployment, with real processes and real services: PostgreSQL store,
 * BullMQ on Redis, two `serve --role scheduler` processes and three `serve --role worker`
 * processes (node scans in child processes) over 200 local nodes — most on two cached AKS
 * Ubuntu images (one hot-patched, i.e. drifted), a newer image, corrupt disks, and one disk that
 * is a FIFO with no writer (its reader blocks in open(2): only the kill on the time budget ends
 * it). Every few seconds a random worker gets SIGKILL and a new one starts. At the end: each node
 * published or failed with a reason, exactly one scan each; findings per node equal that image's
 * (no duplicates, all from the node's own scan); no snapshot lease open and none on disk; one
 * scheduled run (one scheduler fired).
 *
 * Size: 200 nodes sharing 3 images (inventories reused by quick key, so most scans are
 * metadata reads + one publication of ~2,500 findings), node budget 8 s (+5 s grace), 3 s stall
 * time; kills for the first 40 s of the run, every 4 s, one scan at a time per worker. About 1.5–2.5 min on the 2-core machine.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStore } from '../../src/store/index.ts';
import { importFeeds } from '../../src/vulndb/store.ts';
import { aksNodeImage } from '../fixtures/aks-node.ts';
import { fixtureOrSkip } from '../fixtures/node-image.ts';
import { postgresDatabase } from '../helpers/postgres.ts';
import { redisUrl } from '../helpers/redis.ts';

const REPO = join(import.meta.dirname, '..', '..');
const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const FEEDS = ['data/vulndb/ubuntu-22.04.osv.aks-slice.jsonl.gz', 'data/vulndb/known_exploited_vulnerabilities.json.gz'].map((f) => join(REPO, f));
const NODES = { a: 120, hot: 40, b: 30, corrupt: 9, hang: 1 } as const;
const KILL_EVERY_MS = 4_000;
const KILL_FOR_MS = 40_000;
const DEADLINE_MS = 200_000;

const work = mkdtempSync(join(tmpdir(), 'hullscan-chaos-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('chaos: 3 workers killed with SIGKILL at random over 200 nodes: each node ends once, no duplicate findings, no lease left, one scheduler', { timeout: 240_000 }, async (t) => {
  const redis = redisUrl(t);
  if (!redis) return;
  const built = await fixtureOrSkip(t, Promise.all([aksNodeImage(UBUNTU, '202309.06.0', 'qcow2'), aksNodeImage(UBUNTU, '202309.06.0', 'vhdx', { drift: 'hotpatch' }), aksNodeImage(UBUNTU, '202608.20.0', 'vhd-fixed')]));
  if (!built) return;
  const pg = await postgresDatabase(t);
  if (!pg) return;
  const [imgA, imgHot, imgB] = built;
  const dbPath = join(work, 'vuln.db');
  await importFeeds(dbPath, FEEDS);
  const disks = join(work, 'disks');
  mkdirSync(disks);
  const corrupt = Array.from({ length: NODES.corrupt }, (_, i) => {
    const p = join(disks, `corrupt-${i}.img`);
    writeFileSync(p, randomBytes(1024 * 1024 + i * 4096));
    return p;
  });
  const fifo = join(disks, 'hang.img');
  execFileSync('mkfifo', [fifo]);
  const nodes = (prefix: string, n: number, disk: (i: number) => string) => Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}`, disk: disk(i) }));
  const config = join(work, 'env.yaml');
  writeFileSync(config, JSON.stringify({
    accounts: [{
      id: 'chaos', provider: 'local', settings: { agentlessScanning: true, malware: false },
      clusters: [{
        name: 'c1',
        pools: [
          { name: 'a', nodeImage: `${UBUNTU}-202309.06.0`, nodes: nodes('a', NODES.a, () => imgA!) },
          { name: 'hot', nodeImage: `${UBUNTU}-202309.06.0`, nodes: nodes('hot', NODES.hot, () => imgHot!) },
          { name: 'b', nodeImage: `${UBUNTU}-202608.20.0`, nodes: nodes('b', NODES.b, () => imgB!) },
          { name: 'corrupt', nodes: nodes('x', NODES.corrupt, (i) => corrupt[i]!) },
          { name: 'hang', nodes: nodes('h', NODES.hang, () => fifo) },
        ],
      }],
    }],
  }));
  const data = join(work, 'data');
  const prefix = `chaos${randomBytes(4).toString('hex')}`;
  const common = ['--data', data, '--store', pg.url, '--queue', redis, '--config', config, '--db', dbPath, '--listen', 'off', '--node-timeout', '8', '--stall-after', '3', '--concurrency', '1'];
  const logs = join(work, 'logs');
  mkdirSync(logs);
  let seq = 0;
  const start = (role: string): ChildProcess => {
    const out = openSync(join(logs, `${role}-${seq++}.log`), 'a');
    return spawn(process.execPath, [join(REPO, 'bin', 'hullscan.js'), 'serve', '--role', role, ...common], { stdio: ['ignore', out, out], env: { ...process.env, HULLSCAN_QUEUE_PREFIX: prefix, HULLSCAN_LOG_LEVEL: 'warn' } });
  };
  const schedulers = [start('scheduler'), start('scheduler')];
  const workers = [start('worker'), start('worker'), start('worker')];
  const store = await openStore(pg.url);
  let kills = 0;
  try {
    const began = Date.now();
    let run: string | undefined;
    let lastKill = Date.now();
    let killingSince: number | undefined;
    for (;;) {
      assert.ok(Date.now() - began < DEADLINE_MS, `the run did not end in ${DEADLINE_MS / 1000} s (logs: ${logs})`);
      if (run === undefined) run = (await store.listRuns({ account: 'chaos' }))[0]?.id;
      const r = run !== undefined ? await store.getRun(run) : undefined;
      // Kills start when the run has (the workers' start-up is not what is under test).
      if (r?.state === 'running' && killingSince === undefined) killingSince = Date.now();
      if (r && !['queued', 'running'].includes(r.state)) break;
      if (killingSince !== undefined && Date.now() - killingSince < KILL_FOR_MS && Date.now() - lastKill >= KILL_EVERY_MS && r?.state === 'running') {
        lastKill = Date.now();
        const i = Math.floor(Math.random() * workers.length);
        const victim = workers[i]!;
        victim.kill('SIGKILL');
        await once(victim, 'exit');
        kills++;
        workers[i] = start('worker');
      }
      await new Promise((res) => setTimeout(res, 250));
    }
    const runs = await store.listRuns({ account: 'chaos', limit: 100 });
    assert.equal(runs.filter((x) => x.trigger === 'schedule').length, 1, 'one scheduled run: one scheduler fired');
    const theRun = runs[0]!;
    assert.equal(theRun.state, 'completed');
    const scans = await store.listNodeScans({ run: theRun.id });
    assert.equal(scans.length, 200);
    assert.equal(new Set(scans.map((s) => s.node)).size, 200, 'one node scan per node');
    for (const s of scans) {
      assert.ok(s.state === 'published' || (s.state === 'failed' && s.reason !== undefined && (s.reasonDetail ?? '') !== ''), `node scan ${s.id}: ${s.state} ${s.reason ?? ''}`);
    }
    const listed = new Map((await store.listNodes({ account: 'chaos' })).map((n) => [n.node.id, n.ref.nodePool]));
    const byPool = (pool: string) => scans.filter((s) => listed.get(s.node) === pool);
    for (const s of byPool('corrupt')) assert.ok(s.state === 'failed' && ['unreadable-disk', 'interrupted'].includes(s.reason!), `corrupt disk: ${s.reason}`);
    for (const s of byPool('hang')) assert.ok(s.state === 'failed' && ['budget-exceeded', 'interrupted'].includes(s.reason!), `hanging disk: ${s.reason}`);
    const published = scans.filter((s) => s.state === 'published');
    assert.ok(published.length >= 150, `${published.length} of 190 readable nodes published (the rest interrupted 3 times)`);
    // No duplicate findings: per node, the open findings are exactly its scan's, as many as its image has.
    const perImage = new Map<string, number>();
    for (const s of published) {
      const open = await store.count('findings', 'node_id = ? AND resolved_at IS NULL', [s.node]);
      assert.equal(await store.count('findings', 'node_id = ? AND resolved_at IS NULL AND last_scan_id <> ?', [s.node, s.id]), 0, "every open finding comes from the node's own scan");
      assert.equal(await store.count('findings', 'node_id = ?', [s.node]), open, 'no finding row besides the open ones (nothing published twice and resolved)');
      assert.equal(open, s.findings);
      const pool = listed.get(s.node)!;
      if (!perImage.has(pool)) perImage.set(pool, open);
      assert.equal(open, perImage.get(pool), `node of pool ${pool}: as many findings as the image has`);
    }
    assert.ok((perImage.get('a') ?? 0) > 1000, 'the old image has its ~2,500 findings');
    assert.notEqual(perImage.get('hot'), perImage.get('a'), 'the drifted image differs from its pool image');
    // Leases: every worker that died had its snapshots swept by its successor (same host: dead pid).
    const deadline = Date.now() + 20_000;
    while ((await store.openLeases()).length > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 500));
    assert.deepEqual(await store.openLeases(), [], 'no snapshot lease left open');
    const snapDir = join(data, 'snapshots');
    assert.deepEqual(existsSync(snapDir) ? readdirSync(snapDir) : [], [], 'no snapshot left on disk');
    assert.ok(kills >= 5, `${kills} workers killed`);
    t.diagnostic(`${kills} kills; ${published.length} published, ${scans.length - published.length} failed (${[...new Set(scans.filter((s) => s.state === 'failed').map((s) => s.reason))].join(', ')}); ${Math.round((Date.now() - began) / 1000)} s`);
  } finally {
    for (const p of [...workers, ...schedulers]) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
    await Promise.all([...workers, ...schedulers].map((p) => (p.exitCode === null && p.signalCode === null ? once(p, 'exit') : undefined)));
    await store.close();
    await pg.drop();
  }
});
