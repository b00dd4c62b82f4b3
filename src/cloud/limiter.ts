/**
 * Throttling budgets: cloud control planes rate-limit per subscription / account (ARM: per
 * subscription and region for writes; EC2: per account and region, with a bucket for
 * CreateSnapshot). Every write of one budget key goes through one limiter, so a fleet run with
 * many workers never has more than `max` snapshot operations in flight against one budget. The
 * SDKs' own retry policies still honour 429 / Retry-After and throttling errors for each call.
 */
export class KeyedLimiter {
  readonly #max: number;
  readonly #active = new Map<string, number>();
  readonly #waiters = new Map<string, Array<() => void>>();

  constructor(max: number) {
    this.#max = max;
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const active = this.#active.get(key) ?? 0;
    if (active >= this.#max) {
      await new Promise<void>((resolve) => {
        const q = this.#waiters.get(key) ?? [];
        q.push(resolve);
        this.#waiters.set(key, q);
      });
    } else this.#active.set(key, active + 1);
    try {
      return await fn();
    } finally {
      const next = this.#waiters.get(key)?.shift();
      // The slot passes straight to the next waiter, so the active count stays as it is.
      if (next) next();
      else this.#active.set(key, (this.#active.get(key) ?? 1) - 1);
    }
  }
}
