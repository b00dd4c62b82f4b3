/**
 * One conformance suite for every queue implementation (src/jobs/registry.ts QUEUES): the
 * in-process default (the store's node_scans table) and BullMQ on a real Redis. The same
 * cases, the same assertions: idempotent enqueue, retries of transient failures only (with
 * backoff), priorities, the per-account rate limit, cancellation, and a worker process killed
 * with SIGKILL mid-job whose job another worker runs to its end.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { silentLogger } from '../../src/control/log.ts';
import { ownerId, ownerIsDead } from '../../src/control/owner.ts';
import { QUEUES } from '../../src/jobs/registry.ts';
import { TransientJobError, type JobConsumer, type JobHandler } from '../../src/jobs/index.ts';
import type { NodeScan } from '../../src/store/index.ts';
import { IMPLS, publishEmpty, seed, startRun, type QueueFixture } from './fixture.ts';

const log = silentLogger();

async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function withFixture(t: { skip(m?: string): void }, impl: (typeof IMPLS)[number], body: (f: QueueFixture) => Promise<void>): Promise<void> {
  const f = await impl.open(t);
  if (!f) return;
  try {
    await body(f);
  } finally {
    await f.close();
  }
}

test('every listed queue has a conformance fixture', () => {
  assert.deepEqual(IMPLS.map((i) => i.name), [...QUEUES]);
});

for (const impl of IMPLS) {
  describe(`queue conformance: ${impl.name}`, () => {
    test('a duplicate enqueue is a no-op: each (run, node) is handled once, all end published', async (t) => {
      await withFixture(t, impl, async (f) => {
        await seed(f.store, { a: 6 });
        const { run, jobs } = await startRun(f.store, 'a', 'on-demand');
        await f.queue.enqueue(jobs);
        await f.queue.enqueue(jobs);
        const seen: string[] = [];
        const worker = ownerId();
        const c = f.queue.consume(async (scan) => {
          seen.push(scan.id);
          await publishEmpty(f.store, scan, worker);
        }, { worker, log, concurrency: 2 });
        c.start();
        await f.queue.enqueue(jobs.slice(0, 3)); // again, while they run
        await c.idle();
        await c.drain();
        assert.equal(seen.length, 6);
        assert.equal(new Set(seen).size, 6);
        const scans = await f.store.listNodeScans({ run });
        assert.deepEqual(scans.map((s) => s.state), Array(6).fill('published'));
        assert.ok(scans.every((s) => s.attempts === 1));
      });
    });

    test('transient failures are retried with backoff; other errors fail at once as internal-error', async (t) => {
      await withFixture(t, impl, async (f) => {
        await seed(f.store, { a: 3 });
        const { run, jobs } = await startRun(f.store, 'a', 'on-demand');
        const nodes = await f.store.listNodes({ account: 'a' });
        const byName = new Map(nodes.map((n) => [n.ref.node, n.node.id]));
        const calls = new Map<string, number[]>();
        const worker = ownerId();
        const handler: JobHandler = async (scan, ctx) => {
          calls.set(scan.node, [...(calls.get(scan.node) ?? []), Date.now()]);
          if (scan.node === byName.get('n0') && ctx.attempt < 3) throw new TransientJobError('snapshot-failed', 'throttled (HTTP 429)');
          if (scan.node === byName.get('n1')) throw new TransientJobError('snapshot-failed', 'throttled (HTTP 429)');
          if (scan.node === byName.get('n2')) throw new Error('a bug');
          await publishEmpty(f.store, scan, worker);
        };
        await f.queue.enqueue(jobs);
        const c = f.queue.consume(handler, { worker, log, concurrency: 3, retry: { attempts: 3, backoffMs: 200 } });
        c.start();
        await c.idle();
        await c.drain();
        const scans = new Map((await f.store.listNodeScans({ run })).map((s) => [s.node, s]));
        const n0 = calls.get(byName.get('n0')!)!;
        assert.equal(n0.length, 3, 'retried until it succeeded');
        assert.ok(n0[1]! - n0[0]! >= 200 && n0[2]! - n0[1]! >= 400, `exponential backoff between attempts: ${n0.map((x) => x - n0[0]!)}`);
        assert.equal(scans.get(byName.get('n0')!)!.state, 'published');
        assert.equal(calls.get(byName.get('n1')!)!.length, 3, 'a transient failure that persists: attempts, then failed');
        assert.equal(scans.get(byName.get('n1')!)!.state, 'failed');
        assert.equal(scans.get(byName.get('n1')!)!.reason, 'snapshot-failed');
        assert.match(scans.get(byName.get('n1')!)!.reasonDetail ?? '', /throttled .*after 3 attempts/);
        assert.equal(calls.get(byName.get('n2')!)!.length, 1, 'not transient: never retried');
        assert.equal(scans.get(byName.get('n2')!)!.reason, 'internal-error');
      });
    });

    test('on-demand runs before scheduled runs before re-match', async (t) => {
      await withFixture(t, impl, async (f) => {
        await seed(f.store, { a: 3 });
        const data = await startRun(f.store, 'a', 'data-update');
        const sched = await startRun(f.store, 'a', 'schedule');
        const demand = await startRun(f.store, 'a', 'on-demand');
        await f.queue.enqueue([...data.jobs, ...sched.jobs, ...demand.jobs]);
        const order: string[] = [];
        const worker = ownerId();
        const c = f.queue.consume(async (scan) => {
          order.push(scan.run);
          await publishEmpty(f.store, scan, worker);
        }, { worker, log, concurrency: 1 });
        c.start();
        await c.idle();
        await c.drain();
        assert.deepEqual(order, [...Array(3).fill(demand.run), ...Array(3).fill(sched.run), ...Array(3).fill(data.run)]);
      });
    });

    test('the rate limit per account: at most `max` starts of one account per window; other accounts are not held back', async (t) => {
      await withFixture(t, impl, async (f) => {
        await seed(f.store, { slow: 5, fast: 3 });
        const a = await startRun(f.store, 'slow', 'on-demand');
        const b = await startRun(f.store, 'fast', 'on-demand');
        await f.queue.enqueue([...a.jobs, ...b.jobs]);
        const starts: { account: string; at: number }[] = [];
        const worker = ownerId();
        const perMs = 700;
        const c = f.queue.consume(async (scan) => {
          starts.push({ account: scan.account, at: Date.now() });
          await publishEmpty(f.store, scan, worker);
        }, { worker, log, concurrency: 4, perAccount: 4, rate: { max: 2, perMs } });
        c.start();
        await c.idle();
        await c.drain();
        assert.equal(starts.length, 8);
        // The limiter decides by fixed windows, a moment before the handler starts: 5 starts at 2
        // per window take 3 windows, so the 5th starts more than one window (less that moment) after the 1st.
        const slow = starts.filter((x) => x.account === 'slow').map((x) => x.at);
        const fast = starts.filter((x) => x.account === 'fast').map((x) => x.at);
        const slack = 250;
        assert.ok(slow[4]! - slow[0]! >= perMs - slack, `5 starts of 'slow' within ${slow[4]! - slow[0]!} ms`);
        assert.ok(slow[2]! - slow[0]! > 0);
        assert.ok(fast[1]! < slow[4]!, "'fast' is not queued behind 'slow'");
      });
    });

    test('cancelling a run: its queued jobs never run and end skipped; the active one finishes', async (t) => {
      await withFixture(t, impl, async (f) => {
        await seed(f.store, { a: 5 });
        const { run, jobs } = await startRun(f.store, 'a', 'on-demand');
        await f.queue.enqueue(jobs);
        const seen: NodeScan[] = [];
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const worker = ownerId();
        const c = f.queue.consume(async (scan) => {
          seen.push(scan);
          await gate;
          await publishEmpty(f.store, scan, worker);
        }, { worker, log, concurrency: 1 });
        c.start();
        await until('the first job to start', () => seen.length === 1);
        await f.queue.cancelRun(run, new Date().toISOString());
        release();
        await c.idle();
        await c.drain();
        assert.equal(seen.length, 1);
        const scans = await f.store.listNodeScans({ run });
        assert.deepEqual(scans.map((s) => s.state).sort(), ['published', 'skipped', 'skipped', 'skipped', 'skipped']);
        assert.equal((await f.store.getRun(run))!.state, 'cancelled');
        assert.equal((await f.queue.depth()).waiting, 0);
      });
    });

    test('a worker killed with SIGKILL mid-job: another worker runs the job to its end, once', async (t) => {
      await withFixture(t, impl, async (f) => {
        await seed(f.store, { a: 1 });
        const { run, jobs } = await startRun(f.store, 'a', 'on-demand');
        await f.queue.enqueue(jobs);
        const child = spawn(process.execPath, [join(import.meta.dirname, 'consumer-child.ts'), f.storeUrl, f.queueUrl ?? '-', f.prefix, String(f.stallMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        await until('the child to claim the job', () => out.includes('claimed'));
        const [scan] = await f.store.listNodeScans({ run });
        assert.notEqual(scan!.state, 'queued', 'claimed in the store by the child');
        child.kill('SIGKILL');
        await once(child, 'exit');
        const seen: string[] = [];
        const worker = ownerId();
        let c: JobConsumer | undefined;
        try {
          c = f.queue.consume(async (s) => {
            seen.push(s.id);
            await publishEmpty(f.store, s, worker);
          }, { worker, log, concurrency: 1, isDead: (w) => ownerIsDead(w, worker) });
          c.start();
          await until('the job to be run again', async () => (await f.store.getNodeScan(scan!.id))!.state === 'published');
        } finally {
          await c?.drain();
        }
        assert.deepEqual(seen, [scan!.id]);
        const end = (await f.store.getNodeScan(scan!.id))!;
        assert.equal(end.attempts, 2);
        assert.equal(end.worker, worker);
      });
    });
  });
}
