/**
 * A worker process for the stalled-job test: consumes one queue (argv: kind, store, queue url,
 * prefix, stall ms), claims a job, prints `claimed <scan id>` and hangs until it is killed.
 */
import { openQueue } from '../../src/jobs/registry.ts';
import { ownerId, ownerIsDead } from '../../src/control/owner.ts';
import { silentLogger } from '../../src/control/log.ts';
import { openStore } from '../../src/store/index.ts';

const [storeUrl, queueUrl, prefix, stallMs] = process.argv.slice(2);
const store = await openStore(storeUrl!);
const queue = openQueue({ store, ...(queueUrl && queueUrl !== '-' && { url: queueUrl, prefix: prefix!, stallMs: Number(stallMs) }) });
const worker = ownerId();
const consumer = queue.consume(
  async (scan) => {
    process.stdout.write(`claimed ${scan.id}\n`);
    await new Promise(() => {});
  },
  { worker, log: silentLogger(), concurrency: 1, isDead: (w) => ownerIsDead(w, worker) },
);
consumer.start();
