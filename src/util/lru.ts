/**
 * A small weighted LRU (Map insertion order): filesystem drivers cache parsed metadata (inodes,
 * extent lists, directory listings), the control plane match results and inventories. Entries
 * are weighed (an extent list by its length, a listing by its entry count) so one huge directory
 * cannot pin unbounded memory, and a value heavier than the whole budget is simply not cached.
 */
export class WeightedLru<K, V> {
  readonly #map = new Map<K, { value: V; weight: number }>();
  readonly #maxWeight: number;
  #weight = 0;

  constructor(maxWeight: number) {
    this.#maxWeight = maxWeight;
  }

  get(key: K): V | undefined {
    const e = this.#map.get(key);
    if (e === undefined) return undefined;
    // Map keeps insertion order: re-inserting makes the key the most recently used.
    this.#map.delete(key);
    this.#map.set(key, e);
    return e.value;
  }

  set(key: K, value: V, weight = 1): void {
    this.delete(key);
    if (weight > this.#maxWeight) return;
    this.#map.set(key, { value, weight });
    this.#weight += weight;
    while (this.#weight > this.#maxWeight) {
      const oldest = this.#map.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
  }

  delete(key: K): void {
    const e = this.#map.get(key);
    if (e === undefined) return;
    this.#map.delete(key);
    this.#weight -= e.weight;
  }

  clear(): void {
    this.#map.clear();
    this.#weight = 0;
  }
}
