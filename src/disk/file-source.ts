import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { SourceError } from '../util/errors.ts';
import { KiB, MiB } from '../util/units.ts';
import type { BlockSource, SourceStats } from './index.ts';
import { checkRange, unfilledBytes } from './range.ts';
import { CachedSource } from './cached-source.ts';

/**
 * Reads up to this size (metadata: inode tables, directory and tree blocks, cache chunks) are
 * positional reads on the calling thread (readSync) while they come from the page cache. An
 * asynchronous read goes through libuv's thread pool: measured here, 37 µs per sequential
 * 8 KiB page-cache read against 2 µs for readSync, and an inventory issues ~230 such reads one
 * after another (each depends on the last). File contents (larger reads) stay asynchronous, so
 * they overlap with hashing and parsing.
 */
export const SYNC_READ_MAX_BYTES = 64 * KiB;
/**
 * A synchronous read slower than this came from the medium, not the page cache (a cold disk, a
 * network-attached volume): blocking on it would serialise what the thread pool can overlap.
 */
const SYNC_READ_SLOW_MS = 0.2;
/**
 * After a slow synchronous read, the next small reads go through the thread pool before the next
 * sync try: ASYNC_READS_AFTER_SLOW_MIN of them, doubling while the tries stay slow (a cold or
 * remote medium) up to ASYNC_READS_AFTER_SLOW_MAX, and back to the minimum after a fast one. One
 * slow read may be no more than a garbage-collection pause or the first call of cold code (a
 * fresh process's first inventory hit it): it costs a few async reads, not hundreds.
 */
export const ASYNC_READS_AFTER_SLOW_MIN = 16;
export const ASYNC_READS_AFTER_SLOW_MAX = 512;

export interface FileSourceOptions {
  /** Default 512. */
  sectorSize?: number;
  /** Reads up to this size may run on the calling thread (default SYNC_READ_MAX_BYTES; 0: never). */
  syncReadMaxBytes?: number;
  /** A synchronous read slower than this (ms) sends the next small reads to the thread pool (default 0.2; see ASYNC_READS_AFTER_SLOW_MIN). */
  syncReadSlowMs?: number;
}

/** A local file (disk image, snapshot export, block device) read with positional reads. */
export class FileSource implements BlockSource {
  readonly size: number;
  readonly sectorSize: number;
  readonly description: string;
  readonly #fh: FileHandle;
  readonly #stats = { reads: 0, bytesRead: 0, syncReads: 0 };
  readonly #syncMax: number;
  readonly #slowMs: number;
  /** Small reads left to do asynchronously since the last slow synchronous one. */
  #asyncLeft = 0;
  /** How many small reads the next slow synchronous one sends to the thread pool. */
  #asyncRun = ASYNC_READS_AFTER_SLOW_MIN;

  private constructor(fh: FileHandle, size: number, path: string, sectorSize: number, options: FileSourceOptions) {
    this.#fh = fh;
    this.#syncMax = options.syncReadMaxBytes ?? SYNC_READ_MAX_BYTES;
    this.#slowMs = options.syncReadSlowMs ?? SYNC_READ_SLOW_MS;
    this.size = size;
    this.sectorSize = sectorSize;
    this.description = `file ${basename(path)}`;
  }

  static async open(path: string, options: FileSourceOptions = {}): Promise<FileSource> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      throw new SourceError(`cannot open ${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      const st = await fh.stat();
      let size = st.size;
      if (st.isBlockDevice()) {
        // A block device reports size 0 in stat; its end is found by seeking (read of 0 at end).
        size = await blockDeviceSize(fh);
      } else if (!st.isFile()) {
        throw new SourceError(`${path} is not a regular file or block device`);
      }
      return new FileSource(fh, size, path, options.sectorSize ?? 512, options);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, this.description);
    // #fill writes every byte or throws.
    const buf = unfilledBytes(length);
    await this.#fill(offset, buf);
    return buf;
  }

  async readInto(offset: number, target: Uint8Array): Promise<void> {
    checkRange(this.size, offset, target.length, this.description);
    await this.#fill(offset, target);
  }

  /** Positional reads straight into `buf` until it is full. */
  async #fill(offset: number, buf: Uint8Array): Promise<void> {
    if (buf.length <= this.#syncMax) {
      if (this.#asyncLeft === 0) return this.#fillSync(offset, buf);
      this.#asyncLeft--;
    }
    for (let done = 0; done < buf.length; ) {
      let n: number;
      try {
        ({ bytesRead: n } = await this.#fh.read(buf, done, buf.length - done, offset + done));
      } catch (err) {
        throw this.#readFailed(offset + done, err);
      }
      done += this.#counted(n, offset + done);
    }
  }

  /** #fill on the calling thread; a slow read (not from the page cache) sends the next small reads to the thread pool. */
  #fillSync(offset: number, buf: Uint8Array): void {
    const t0 = performance.now();
    for (let done = 0; done < buf.length; ) {
      let n: number;
      try {
        n = readSync(this.#fh.fd, buf, done, buf.length - done, offset + done);
      } catch (err) {
        throw this.#readFailed(offset + done, err);
      }
      this.#stats.syncReads++;
      done += this.#counted(n, offset + done);
    }
    if (performance.now() - t0 > this.#slowMs) {
      this.#asyncLeft = this.#asyncRun;
      this.#asyncRun = Math.min(ASYNC_READS_AFTER_SLOW_MAX, 2 * this.#asyncRun);
    } else {
      this.#asyncRun = ASYNC_READS_AFTER_SLOW_MIN;
    }
  }

  /** Counts one positional read of `n` bytes at `at` (either path); none at all means the file shrank. */
  #counted(n: number, at: number): number {
    this.#stats.reads++;
    this.#stats.bytesRead += n;
    if (n === 0) throw new SourceError(`${this.description}: file shrank while reading at ${at}`);
    return n;
  }

  #readFailed(at: number, cause: unknown): SourceError {
    return new SourceError(`${this.description}: read failed at ${at}`, { cause });
  }

  stats(): SourceStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}

async function blockDeviceSize(fh: FileHandle): Promise<number> {
  // Binary search for the last readable byte; a block device has no stat size.
  const probe = new Uint8Array(1);
  let lo = 0;
  let hi = 1;
  while ((await fh.read(probe, 0, 1, hi - 1)).bytesRead === 1) {
    lo = hi;
    hi *= 2;
    if (hi > 2 ** 52) break;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await fh.read(probe, 0, 1, mid - 1)).bytesRead === 1) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Chunk cache in front of a local file. It holds metadata only (file contents read with
 * readInto go around it, see CacheOptions.directReadInto), and a page-cache hit is one cheap
 * pread, so a walk of a node's root runs as fast with 8 MiB as with 64 MiB while the process
 * stays smaller.
 */
const LOCAL_CACHE_BYTES = 8 * MiB;
/**
 * Cache chunk over a local file: a positional read from the page cache costs ~2 µs whatever its
 * size (see SYNC_READ_MAX_BYTES), so chunks are kept small enough that metadata-heavy work
 * (inventory: inodes, directory blocks, package databases) reads little more than it needs and
 * a full walk does not churn large chunk buffers. Over HTTP every request costs a round trip to
 * the storage service, so CachedSource's larger default stays there.
 */
const LOCAL_CHUNK_BYTES = 8 * KiB;

/** Opens a local file with the default chunk cache in front of it. */
export async function openFile(path: string, options: { cacheBytes?: number } = {}): Promise<BlockSource> {
  const file = await FileSource.open(path);
  return new CachedSource(file, { cacheBytes: options.cacheBytes ?? LOCAL_CACHE_BYTES, chunkBytes: LOCAL_CHUNK_BYTES, directReadInto: true });
}
