import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { SourceError } from '../util/errors.ts';
import { MiB } from '../util/units.ts';
import type { BlockSource, SourceStats } from './index.ts';
import { checkRange, unfilledBytes } from './range.ts';
import { CachedSource } from './cached-source.ts';

/** A local file (disk image, snapshot export, block device) read with positional reads. */
export class FileSource implements BlockSource {
  readonly size: number;
  readonly sectorSize: number;
  readonly description: string;
  readonly #fh: FileHandle;
  readonly #stats: SourceStats = { reads: 0, bytesRead: 0 };

  private constructor(fh: FileHandle, size: number, path: string, sectorSize: number) {
    this.#fh = fh;
    this.size = size;
    this.sectorSize = sectorSize;
    this.description = `file ${basename(path)}`;
  }

  static async open(path: string, options: { sectorSize?: number } = {}): Promise<FileSource> {
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
      return new FileSource(fh, size, path, options.sectorSize ?? 512);
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
    const length = buf.length;
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        ({ bytesRead: n } = await this.#fh.read(buf, done, length - done, offset + done));
      } catch (err) {
        throw new SourceError(`${this.description}: read failed at ${offset + done}`, { cause: err });
      }
      this.#stats.reads++;
      this.#stats.bytesRead += n;
      if (n === 0) throw new SourceError(`${this.description}: file shrank while reading at ${offset + done}`);
      done += n;
    }
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
 * Chunk cache in front of a local file. It holds metadata only (reads of 256 KiB and more, i.e.
 * file contents, bypass it), and a local page-cache hit is cheap, so a walk of a node's root
 * runs as fast with 32 MiB as with 64 MiB while the process stays smaller.
 */
const LOCAL_CACHE_BYTES = 32 * MiB;

/** Opens a local file with the default chunk cache in front of it. */
export async function openFile(path: string, options: { cacheBytes?: number } = {}): Promise<BlockSource> {
  const file = await FileSource.open(path);
  return new CachedSource(file, { cacheBytes: options.cacheBytes ?? LOCAL_CACHE_BYTES });
}
