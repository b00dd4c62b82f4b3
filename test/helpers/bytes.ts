/**
 * Byte-buffer assertions that stay fast on failure. `assert.deepEqual` of two large buffers that
 * differ builds a diff of every element: a failing read test once took 516 s to report. Here
 * equal buffers cost one memcmp, and a mismatch reports lengths, SHA-256 digests, the first
 * differing offset and a short hex window around it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

/** Bytes shown either side of the first difference. */
const WINDOW_BYTES = 16;

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex').slice(0, 16);
}

/** Asserts that `actual` holds exactly the bytes of `expected`. */
export function assertBytesEqual(actual: Uint8Array, expected: Uint8Array, message = 'bytes'): void {
  const a = asBuffer(actual);
  const e = asBuffer(expected);
  if (a.length === e.length && a.equals(e)) return;
  let first = 0;
  const common = Math.min(a.length, e.length);
  while (first < common && a[first] === e[first]) first++;
  const from = Math.max(0, first - WINDOW_BYTES);
  const show = (b: Buffer): string => b.subarray(from, Math.min(b.length, first + WINDOW_BYTES)).toString('hex');
  assert.fail(
    `${message}: ${a.length} bytes (sha256 ${sha256(a)}…) differ from the expected ${e.length} bytes (sha256 ${sha256(e)}…); ` +
      `first difference at offset ${first}; from offset ${from}: actual ${show(a)}, expected ${show(e)}`,
  );
}
