/**
 * Bounded concurrency for analyzers that read many small files (dpkg's md5sums lists, rpm's
 * headers): the reads overlap in the filesystem's I/O (positional reads through libuv's
 * thread pool, the cache's chunk fetches) instead of running one by one, yet never more than
 * `limit` are in flight, so a hostile database with 100k entries does not queue 100k reads.
 */

/** Files an analyzer reads at once; libuv's default thread pool has 4 threads, a few more keep it busy. */
export const ANALYZER_READ_CONCURRENCY = 8;

/**
 * Calls `fn` on every item with at most `limit` calls pending; results in item order (so
 * issues and packages come out the same as a sequential loop's). A rejection rejects the whole
 * map after the calls already started settle; callers turn expected failures into Issues
 * inside `fn`.
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  async function worker(): Promise<void> {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (err) {
        // No new calls once one failed; the ones in flight finish.
        failed = true;
        throw err;
      }
    }
  }
  const workers: Promise<void>[] = [];
  for (let w = 0; w < Math.min(Math.max(1, limit), items.length); w++) workers.push(worker());
  const settled = await Promise.allSettled(workers);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return results;
}
