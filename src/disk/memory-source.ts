import type { BlockSource, SourceStats } from './index.ts';
import { checkRange } from './range.ts';

/** Bytes in memory: tiny synthetic images in unit tests and fuzzing. */
export class MemorySource implements BlockSource {
  readonly size: number;
  readonly sectorSize: number;
  readonly description: string;
  readonly #bytes: Uint8Array;
  readonly #stats: SourceStats = { reads: 0, bytesRead: 0 };

  constructor(bytes: Uint8Array, options: { sectorSize?: number; description?: string } = {}) {
    this.#bytes = bytes;
    this.size = bytes.length;
    this.sectorSize = options.sectorSize ?? 512;
    this.description = options.description ?? 'memory';
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, this.description);
    this.#stats.reads++;
    this.#stats.bytesRead += length;
    return this.#bytes.subarray(offset, offset + length);
  }

  stats(): SourceStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {}
}
