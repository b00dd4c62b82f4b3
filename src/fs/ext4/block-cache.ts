/**
 * Batched, cached reads of metadata blocks (extent-tree nodes, indirect blocks, directory
 * blocks). The blocks one step of a lookup needs are sorted, physically adjacent ones merged
 * into a single source read, and the decoded results kept in an LRU keyed by block number.
 */
import type { BlockSource } from '../../disk/index.ts';
import { CorruptError } from '../../util/errors.ts';
import { MAX_SOURCE_READ_BYTES } from './limits.ts';

export interface Geometry {
  readonly blockSize: number;
  readonly blocksCount: number;
}

/** Reads the given blocks (any order, duplicates allowed) with one read per contiguous run. */
export async function readBlocks(source: BlockSource, geo: Geometry, pblks: readonly number[], location: string): Promise<Map<number, Uint8Array>> {
  const bs = geo.blockSize;
  const sorted = [...new Set(pblks)].sort((a, b) => a - b);
  for (const b of sorted) {
    if (!Number.isSafeInteger(b) || b < 0 || b >= geo.blocksCount) {
      throw new CorruptError(`block ${b} is outside the filesystem (${geo.blocksCount} blocks)`, { location });
    }
  }
  const out = new Map<number, Uint8Array>();
  const maxRun = Math.max(1, Math.floor(MAX_SOURCE_READ_BYTES / bs));
  const reads: Array<Promise<void>> = [];
  for (let i = 0; i < sorted.length; ) {
    let n = 1;
    while (i + n < sorted.length && n < maxRun && sorted[i + n] === sorted[i]! + n) n++;
    const first = sorted[i]!;
    const count = n;
    reads.push(
      source.read(first * bs, count * bs).then((buf) => {
        for (let k = 0; k < count; k++) out.set(first + k, buf.subarray(k * bs, (k + 1) * bs));
      }),
    );
    i += n;
  }
  await Promise.all(reads);
  return out;
}

/** An LRU of decoded blocks; decoding (and checksum checks) happens once per block load. */
export class BlockCache<T> {
  readonly #source: BlockSource;
  readonly #geo: Geometry;
  readonly #max: number;
  /** Insertion-ordered: the first key is the least recently used. */
  readonly #lru = new Map<number, T>();

  constructor(source: BlockSource, geo: Geometry, maxEntries: number) {
    this.#source = source;
    this.#geo = geo;
    this.#max = Math.max(1, maxEntries);
  }

  /** Decoded blocks in the order asked; missing ones are read in one batch. */
  async getMany(pblks: readonly number[], decode: (pblk: number, bytes: Uint8Array) => T, location: string): Promise<T[]> {
    const missing: number[] = [];
    for (const b of pblks) if (!this.#lru.has(b)) missing.push(b);
    const fresh = new Map<number, T>();
    if (missing.length > 0) {
      const raw = await readBlocks(this.#source, this.#geo, missing, location);
      for (const [b, bytes] of raw) {
        const v = decode(b, bytes);
        fresh.set(b, v);
        this.#lru.set(b, v);
      }
      while (this.#lru.size > this.#max) this.#lru.delete(this.#lru.keys().next().value as number);
    }
    return pblks.map((b) => {
      const v = fresh.get(b) ?? this.#lru.get(b);
      if (v === undefined) throw new CorruptError(`block ${b} vanished from the cache`, { location });
      if (!fresh.has(b)) {
        this.#lru.delete(b);
        this.#lru.set(b, v);
      }
      return v;
    });
  }
}
