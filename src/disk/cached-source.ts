import { KiB, MiB } from '../util/units.ts';
import type { BlockSource, SourceStats } from './index.ts';
import { checkRange, readInto } from './range.ts';

export interface CacheOptions {
  /** Aligned chunk size; small metadata reads are rounded up to whole chunks. */
  chunkBytes?: number;
  /** Total bytes kept in the LRU. */
  cacheBytes?: number;
  /** Reads at least this large go straight to the source (streaming file contents). */
  bypassBytes?: number;
  /**
   * readInto of a range none of whose chunks is cached reads straight from the source into the
   * caller's buffer, caching nothing. For local files, where a read is one pread from the page
   * cache: file contents and directory blocks then neither churn chunk buffers (garbage that
   * raised a full-disk read's RSS by ~80 MiB) nor evict metadata. Not for HTTP sources, where
   * each read is a round trip and the chunks are what coalesces them.
   */
  directReadInto?: boolean;
}

const DEFAULT_CHUNK_BYTES = 128 * KiB;
/**
 * Reads this large are file contents or whole tables, not scattered metadata: they go straight
 * to the medium (into the caller's buffer with readInto), neither evicting cached metadata nor
 * paying a copy out of cache chunks. One medium read of a few chunks costs the same as a
 * coalesced chunk fetch, so caching them would buy nothing.
 */
const DEFAULT_BYPASS_BYTES = 256 * KiB;

/**
 * An LRU cache of aligned chunks in front of a slow source. Concurrent reads of one chunk share
 * a single fetch, and the missing chunks of one request are fetched as one coalesced read, so
 * metadata walks turn many 4 KiB reads into a few large ones.
 */
export class CachedSource implements BlockSource {
  readonly size: number;
  readonly sectorSize: number;
  readonly description: string;
  readonly #inner: BlockSource;
  readonly #chunk: number;
  readonly #maxChunks: number;
  readonly #bypass: number;
  readonly #directReadInto: boolean;
  /** Insertion-ordered: the first key is the least recently used. */
  readonly #lru = new Map<number, Uint8Array>();
  readonly #inflight = new Map<number, Promise<Uint8Array>>();

  constructor(inner: BlockSource, options: CacheOptions = {}) {
    this.#inner = inner;
    this.size = inner.size;
    this.sectorSize = inner.sectorSize;
    this.description = inner.description;
    this.#chunk = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.#maxChunks = Math.max(1, Math.floor((options.cacheBytes ?? 32 * MiB) / this.#chunk));
    this.#bypass = options.bypassBytes ?? Math.max(DEFAULT_BYPASS_BYTES, 2 * this.#chunk);
    this.#directReadInto = options.directReadInto ?? false;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, this.description);
    if (length === 0) return new Uint8Array(0);
    if (length >= this.#bypass) return this.#inner.read(offset, length);
    const first = Math.floor(offset / this.#chunk);
    const last = Math.floor((offset + length - 1) / this.#chunk);
    if (first === last) {
      const c = await this.#getChunks(first, last);
      const start = offset - first * this.#chunk;
      return c[0]!.subarray(start, start + length);
    }
    const out = new Uint8Array(length);
    this.#copy(await this.#getChunks(first, last), offset, out);
    return out;
  }

  /** As read, into the caller's buffer: a large read goes from the medium straight into it. */
  async readInto(offset: number, target: Uint8Array): Promise<void> {
    const length = target.length;
    checkRange(this.size, offset, length, this.description);
    if (length === 0) return;
    if (length >= this.#bypass) return readInto(this.#inner, offset, target);
    const first = Math.floor(offset / this.#chunk);
    const last = Math.floor((offset + length - 1) / this.#chunk);
    if (this.#directReadInto && this.#noneHeld(first, last)) return readInto(this.#inner, offset, target);
    this.#copy(await this.#getChunks(first, last), offset, target);
  }

  /** Whether no chunk of [first, last] is cached or being fetched. */
  #noneHeld(first: number, last: number): boolean {
    for (let i = first; i <= last; i++) if (this.#lru.has(i) || this.#inflight.has(i)) return false;
    return true;
  }

  /** Copies [offset, offset + out.length) out of the consecutive chunks that cover it. */
  #copy(chunks: Uint8Array[], offset: number, out: Uint8Array): void {
    const length = out.length;
    let pos = 0;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i]!;
      const start = i === 0 ? offset % this.#chunk : 0;
      const n = Math.min(c.length - start, length - pos);
      out.set(c.subarray(start, start + n), pos);
      pos += n;
    }
  }

  async #getChunks(first: number, last: number): Promise<Uint8Array[]> {
    const result: Promise<Uint8Array>[] = [];
    let runStart = -1;
    const flush = (end: number) => {
      if (runStart < 0) return;
      const runFirst = runStart;
      const fetchRun = this.#fetchRun(runFirst, end);
      for (let i = runFirst; i <= end; i++) {
        const p = fetchRun.then((chunks) => chunks[i - runFirst]!);
        this.#inflight.set(i, p);
        result[i - first] = p;
      }
      fetchRun.then(
        (chunks) => {
          for (let i = runFirst; i <= end; i++) {
            this.#inflight.delete(i);
            this.#remember(i, chunks[i - runFirst]!);
          }
        },
        () => {
          for (let i = runFirst; i <= end; i++) this.#inflight.delete(i);
        },
      );
      runStart = -1;
    };
    for (let i = first; i <= last; i++) {
      const hit = this.#lru.get(i);
      if (hit) {
        flush(i - 1);
        this.#lru.delete(i);
        this.#lru.set(i, hit);
        result[i - first] = Promise.resolve(hit);
        continue;
      }
      const pending = this.#inflight.get(i);
      if (pending) {
        flush(i - 1);
        result[i - first] = pending;
        continue;
      }
      if (runStart < 0) runStart = i;
    }
    flush(last);
    return Promise.all(result);
  }

  async #fetchRun(first: number, last: number): Promise<Uint8Array[]> {
    const start = first * this.#chunk;
    const end = Math.min(this.size, (last + 1) * this.#chunk);
    const buf = await this.#inner.read(start, end - start);
    const chunks: Uint8Array[] = [];
    for (let i = first; i <= last; i++) {
      const s = (i - first) * this.#chunk;
      chunks.push(buf.subarray(s, Math.min(buf.length, s + this.#chunk)));
    }
    return chunks;
  }

  #remember(index: number, chunk: Uint8Array): void {
    this.#lru.delete(index);
    this.#lru.set(index, chunk);
    while (this.#lru.size > this.#maxChunks) {
      const oldest = this.#lru.keys().next().value as number;
      this.#lru.delete(oldest);
    }
  }

  stats(): SourceStats {
    return this.#inner.stats();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
