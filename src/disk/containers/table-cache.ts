/**
 * An LRU of decoded on-disk tables (qcow2 L2 tables, VMDK grain tables) keyed by host offset.
 * Concurrent reads that need the same table share one load, so a burst of reads costs one read
 * of the table from the medium.
 */
export class TableCache<T> {
  readonly #maxEntries: number;
  readonly #load: (key: number) => Promise<T>;
  /** Insertion-ordered: the first key is the least recently used. */
  readonly #lru = new Map<number, T>();
  readonly #inflight = new Map<number, Promise<T>>();

  constructor(maxEntries: number, load: (key: number) => Promise<T>) {
    this.#maxEntries = Math.max(1, maxEntries);
    this.#load = load;
  }

  get(key: number): Promise<T> {
    const hit = this.#lru.get(key);
    if (hit !== undefined) {
      this.#lru.delete(key);
      this.#lru.set(key, hit);
      return Promise.resolve(hit);
    }
    const pending = this.#inflight.get(key);
    if (pending) return pending;
    const p = this.#load(key).then(
      (table) => {
        this.#inflight.delete(key);
        this.#lru.set(key, table);
        while (this.#lru.size > this.#maxEntries) this.#lru.delete(this.#lru.keys().next().value as number);
        return table;
      },
      (err: unknown) => {
        this.#inflight.delete(key);
        throw err;
      },
    );
    this.#inflight.set(key, p);
    return p;
  }
}
