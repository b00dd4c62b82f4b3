import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CachedSource } from '../../src/disk/cached-source.ts';
import { MemorySource } from '../../src/disk/memory-source.ts';
import { SourceError } from '../../src/util/errors.ts';

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >>> 8)) & 0xff;
  return b;
}

test('cached reads return the same bytes as the source at unaligned offsets', async () => {
  const bytes = pattern(1_000_003);
  const src = new CachedSource(new MemorySource(bytes), { chunkBytes: 4096, cacheBytes: 64 * 1024 });
  for (const [off, len] of [[0, 1], [4095, 2], [12345, 70000], [999_000, 1003], [1_000_002, 1]] as const) {
    assert.deepEqual(await src.read(off, len), bytes.subarray(off, off + len), `offset ${off} length ${len}`);
  }
});

test('many small reads in one chunk cost one read of the medium', async () => {
  const mem = new MemorySource(pattern(1 << 20));
  const src = new CachedSource(mem, { chunkBytes: 64 * 1024 });
  await Promise.all(Array.from({ length: 16 }, (_, i) => src.read(i * 4096, 4096)));
  assert.equal(mem.stats().reads, 1);
});

test('adjacent missing chunks are fetched as one coalesced read', async () => {
  const mem = new MemorySource(pattern(1 << 20));
  const src = new CachedSource(mem, { chunkBytes: 4096 });
  await src.read(100, 40000);
  assert.equal(mem.stats().reads, 1);
  assert.equal(mem.stats().bytesRead, 4096 * 10);
});

test('a read past the end is a SourceError, not short data', async () => {
  const src = new CachedSource(new MemorySource(pattern(10_000)));
  await assert.rejects(src.read(9_990, 20), SourceError);
  await assert.rejects(src.read(-1, 1), SourceError);
});

test('the LRU evicts: a re-read after eviction reaches the medium again', async () => {
  const mem = new MemorySource(pattern(1 << 20));
  const src = new CachedSource(mem, { chunkBytes: 4096, cacheBytes: 8192 });
  await src.read(0, 1);
  await src.read(4096, 1);
  await src.read(8192, 1);
  await src.read(0, 1);
  assert.equal(mem.stats().reads, 4);
  await src.read(0, 1);
  assert.equal(mem.stats().reads, 4);
});

test('directReadInto: a readInto that misses every chunk goes straight to the medium and caches nothing; a partial hit is served from the cache', async () => {
  const bytes = pattern(1 << 20);
  const mem = new MemorySource(bytes);
  const src = new CachedSource(mem, { chunkBytes: 4096, directReadInto: true });
  // A miss: exactly the asked bytes from the medium, into the caller's (junk-filled) buffer.
  const a = new Uint8Array(5000).fill(0xee);
  await src.readInto(10_000, a);
  assert.deepEqual(a, bytes.subarray(10_000, 15_000));
  assert.deepEqual(mem.stats(), { reads: 1, bytesRead: 5000 });
  // Nothing was cached: the same range again reaches the medium again.
  await src.readInto(10_000, new Uint8Array(5000));
  assert.equal(mem.stats().reads, 2);
  // read() (metadata) still caches its chunk; a readInto touching it then uses the cache.
  await src.read(20_480, 10);
  assert.deepEqual(mem.stats(), { reads: 3, bytesRead: 10_000 + 4096 });
  const b = new Uint8Array(4000).fill(0xee);
  await src.readInto(20_480 + 50, b);
  assert.deepEqual(b, bytes.subarray(20_530, 24_530));
  assert.equal(mem.stats().reads, 3, 'served from the cached chunk');
  // Without the option a missing readInto fills chunks (the HTTP case).
  const mem2 = new MemorySource(bytes);
  const cached = new CachedSource(mem2, { chunkBytes: 4096 });
  await cached.readInto(10_000, new Uint8Array(5000));
  await cached.readInto(10_000, new Uint8Array(5000));
  assert.deepEqual(mem2.stats(), { reads: 1, bytesRead: 2 * 4096 });
});
