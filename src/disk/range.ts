import { SourceError } from '../util/errors.ts';
import { MAX_READ_BYTES, type BlockSource } from './index.ts';

/** Validates a read request against a source size; every BlockSource calls it first. */
export function checkRange(size: number, offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new SourceError(`${what}: invalid read (offset ${offset}, length ${length})`);
  }
  if (length > MAX_READ_BYTES) {
    throw new SourceError(`${what}: read of ${length} bytes exceeds the ${MAX_READ_BYTES}-byte limit`);
  }
  if (offset + length > size) {
    throw new SourceError(
      `${what}: read past end (offset ${offset}, length ${length}, size ${size})`,
      { location: `offset ${offset}` },
    );
  }
}

/**
 * Fills `target` with the bytes of `source` at `offset`: straight into `target` when the source
 * implements readInto, otherwise through read() and one copy.
 */
export async function readInto(source: BlockSource, offset: number, target: Uint8Array): Promise<void> {
  if (target.length === 0) {
    checkRange(source.size, offset, 0, source.description);
    return;
  }
  if (source.readInto) return source.readInto(offset, target);
  target.set(await source.read(offset, target.length));
}

/**
 * A buffer for bytes that are all about to be overwritten (a positional read, a response body,
 * a decoder that fills every byte, zeros included). `new Uint8Array(n)` zero-fills, which costs
 * as much as the page-cache copy itself on large reads. Callers never hand such a buffer out
 * before it is completely written: a failed read throws and drops it. Not pooled, and a plain
 * Uint8Array (Buffer#slice would alias instead of copying).
 */
export function unfilledBytes(length: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
}
