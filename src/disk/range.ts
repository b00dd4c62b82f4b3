import { SourceError } from '../util/errors.ts';
import { MAX_READ_BYTES } from './index.ts';

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
