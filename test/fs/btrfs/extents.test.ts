/**
 * File extent planning and decompression limits, on extent records as btrfs writes them
 * (prealloc and explicit-hole extents, NO_HOLES gaps, compressed slices of a shared extent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync, zstdCompressSync } from 'node:zlib';
import { checkExtents, decompressExtent, MAX_UNCOMPRESSED_EXTENT_BYTES, planRead, zstdFrameBytes } from '../../../src/fs/btrfs/extents.ts';
import type { FileExtent } from '../../../src/fs/btrfs/items.ts';
import { CorruptError } from '../../../src/util/errors.ts';

function ext(fileOffset: number, numBytes: number, more: Partial<FileExtent> = {}): FileExtent {
  return { fileOffset, kind: 'regular', compression: 'none', ramBytes: numBytes, diskBytenr: 1 << 20, diskNumBytes: numBytes, offset: 0, numBytes, ...more };
}

test('planRead: holes, prealloc and NO_HOLES gaps are left as zeros; slices keep their offset', () => {
  const extents = [
    ext(0, 4096),
    ext(4096, 4096, { diskBytenr: 0 }), // explicit hole
    ext(8192, 4096, { kind: 'prealloc' }),
    // gap [12288, 16384): NO_HOLES
    ext(16384, 8192, { compression: 'zstd', ramBytes: 131072, offset: 65536 }),
  ];
  checkExtents(extents, 'test');
  const pieces = planRead(extents, 2048, 20480);
  assert.deepEqual(pieces.map((p) => [p.at, p.bytes, p.within, p.extent.fileOffset]), [
    [0, 2048, 2048, 0],
    [14336, 4096, 65536, 16384],
  ]);
  assert.deepEqual(planRead(extents, 30000, 40000), [], 'past the last extent: zeros');
});

test('checkExtents refuses overlaps and compressed slices past the extent', () => {
  assert.throws(() => checkExtents([ext(0, 8192), ext(4096, 4096)], 'test'), /overlap/);
  assert.throws(() => checkExtents([ext(0, 8192, { compression: 'zlib', ramBytes: 4096 })], 'test'), CorruptError);
  assert.throws(() => checkExtents([ext(0, 4096, { compression: 'lzo', ramBytes: MAX_UNCOMPRESSED_EXTENT_BYTES + 1 })], 'test'), /131072/);
});

test('zlib and zstd extents: padding after the stream is ignored, the 128 KiB limit holds', () => {
  const data = new Uint8Array(100_000).map((_, i) => (i * 31) % 251);
  const pad = (b: Uint8Array) => {
    const out = new Uint8Array(Math.ceil(b.length / 4096) * 4096 + 4096);
    out.set(b);
    return out;
  };
  assert.deepEqual(new Uint8Array(decompressExtent('zlib', pad(deflateSync(data)), data.length, 4096, 'test')), data);
  const z = zstdCompressSync(data);
  assert.equal(zstdFrameBytes(pad(z), 'test'), z.length);
  assert.deepEqual(new Uint8Array(decompressExtent('zstd', pad(z), data.length, 4096, 'test')), data);
  const huge = new Uint8Array(MAX_UNCOMPRESSED_EXTENT_BYTES * 4);
  assert.throws(() => decompressExtent('zlib', deflateSync(huge), MAX_UNCOMPRESSED_EXTENT_BYTES, 4096, 'test'), CorruptError, 'a zlib bomb stops at 128 KiB');
  assert.throws(() => decompressExtent('zstd', pad(zstdCompressSync(huge)), MAX_UNCOMPRESSED_EXTENT_BYTES, 4096, 'test'), CorruptError);
  assert.throws(() => decompressExtent('zstd', new Uint8Array(4096), 4096, 4096, 'test'), CorruptError, 'no frame');
  assert.throws(() => decompressExtent('zlib', new Uint8Array(4096).fill(7), 4096, 4096, 'test'), CorruptError);
});
