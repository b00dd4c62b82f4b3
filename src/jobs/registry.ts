/** The queue implementations, listed explicitly: none given → in-process; redis:// or rediss:// → BullMQ. */
import { UsageError } from '../util/errors.ts';
import { BullMqQueue } from './bullmq.ts';
import { InProcessQueue } from './in-process.ts';
import type { JobQueue, QueueOptions } from './index.ts';

export const QUEUES = ['in-process', 'bullmq'] as const;

export function openQueue(o: QueueOptions): JobQueue {
  if (o.url === undefined || o.url === '' || o.url === 'in-process') return new InProcessQueue(o.store);
  if (/^rediss?:\/\//.test(o.url)) return new BullMqQueue({ store: o.store, url: o.url, ...(o.prefix !== undefined && { prefix: o.prefix }), ...(o.stallMs !== undefined && { stallMs: o.stallMs }) });
  throw new UsageError(`--queue must be a redis://HOST:PORT URL (BullMQ) or 'in-process', got '${o.url.replace(/\/\/[^@/]*@/, '//…@')}'`);
}
