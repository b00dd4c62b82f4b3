import { SourceError } from '../util/errors.ts';
import type { BlockSource, SourceStats } from './index.ts';
import { checkRange, readInto } from './range.ts';

/** A window [offset, offset + size) of another source: a partition, or a VHD without footer. */
export class SliceSource implements BlockSource {
  readonly size: number;
  readonly sectorSize: number;
  readonly description: string;
  readonly #inner: BlockSource;
  readonly #offset: number;

  constructor(inner: BlockSource, offset: number, size: number, description?: string) {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0 || size < 0 || offset + size > inner.size) {
      throw new SourceError(`slice [${offset}, +${size}) is outside ${inner.description} (size ${inner.size})`);
    }
    this.#inner = inner;
    this.#offset = offset;
    this.size = size;
    this.sectorSize = inner.sectorSize;
    this.description = description ?? `${inner.description} [${offset}+${size}]`;
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, this.description);
    return this.#inner.read(this.#offset + offset, length);
  }

  readInto(offset: number, target: Uint8Array): Promise<void> {
    checkRange(this.size, offset, target.length, this.description);
    return readInto(this.#inner, this.#offset + offset, target);
  }

  stats(): SourceStats {
    return this.#inner.stats();
  }

  /** A slice does not own its parent; closing it is a no-op. */
  async close(): Promise<void> {}
}
