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
