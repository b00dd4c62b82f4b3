/**
 * The slicing-by-8 CRCs against independent references: node:zlib's crc32 (zlib's own
 * implementation) for CRC-32/IEEE, RFC 3720's CRC-32C test vectors (iSCSI, appendix B.4), and a
 * bit-at-a-time CRC-32C written straight from the polynomial, over every length 0..257 and
 * unaligned views (the 8-byte loop and the byte tail both run).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32, crc32c, crc32cRaw, crc32cRawRange } from '../../src/util/crc32.ts';
import { pseudoRandomBytes as pseudoRandom } from '../fixtures/tree.ts';

function bitwiseCrc32c(buf: Uint8Array, crc = 0xffffffff): number {
  let c = crc;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return c >>> 0;
}

test('CRC-32C matches the RFC 3720 test vectors', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

test('CRC-32 equals zlib on every length and on unaligned views, with seeds chained', () => {
  const data = pseudoRandom(300, 7);
  for (let n = 0; n <= 257; n++) {
    for (const start of [0, 1, 3]) {
      const view = data.subarray(start, start + n);
      assert.equal(crc32(view), zlibCrc32(view), `length ${n} at ${start}`);
    }
  }
  // Chaining: crc32(b, crc32(a)) is the CRC of a‖b, as zlib's running value is.
  const a = data.subarray(0, 77);
  const b = data.subarray(77, 200);
  assert.equal(crc32(b, crc32(a)), zlibCrc32(data.subarray(0, 200)));
});

test('CRC-32C equals the bit-at-a-time reference on every length, unaligned, raw and seeded', () => {
  const data = pseudoRandom(300, 99);
  for (let n = 0; n <= 257; n++) {
    for (const start of [0, 1, 5]) {
      const view = data.subarray(start, start + n);
      assert.equal(crc32c(view), (bitwiseCrc32c(view) ^ 0xffffffff) >>> 0, `length ${n} at ${start}`);
      assert.equal(crc32cRaw(0x12345678, view), bitwiseCrc32c(view, 0x12345678), `raw, length ${n} at ${start}`);
    }
  }
  assert.equal(crc32c(data.subarray(100, 250), crc32c(data.subarray(0, 100))), crc32c(data.subarray(0, 250)));
});

test('crc32cRawRange equals crc32cRaw of the subarray, and refuses ranges outside the buffer', () => {
  const data = pseudoRandom(300, 5);
  for (const [s, e] of [[0, 0], [0, 124], [126, 128], [128, 130], [132, 256], [3, 300], [299, 300]] as const) {
    assert.equal(crc32cRawRange(0xdeadbeef, data, s, e), crc32cRaw(0xdeadbeef, data.subarray(s, e)), `[${s}, ${e})`);
  }
  assert.throws(() => crc32cRawRange(0, data, 0, 301), RangeError);
  assert.throws(() => crc32cRawRange(0, data, -1, 10), RangeError);
  assert.throws(() => crc32cRawRange(0, data, 20, 10), RangeError);
});
