/**
 * FileSource's two read paths: small reads on the calling thread while they are fast (page
 * cache), through the thread pool otherwise. Both must return the file's exact bytes and the
 * same typed errors; a slow synchronous read must send the next small reads to the thread pool.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ASYNC_READS_AFTER_SLOW_MAX, ASYNC_READS_AFTER_SLOW_MIN, FileSource, SYNC_READ_MAX_BYTES } from '../../src/disk/file-source.ts';
import { SourceError } from '../../src/util/errors.ts';
import { assertBytesEqual } from '../helpers/bytes.ts';

const SIZE = 1 << 20;

function withFile(fn: (path: string, bytes: Buffer) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hullscan-fsrc-'));
    try {
      const bytes = randomBytes(SIZE);
      const path = join(dir, 'img');
      writeFileSync(path, bytes);
      await fn(path, bytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** Deterministic ranges: small ones (sync-eligible) and a few over the sync limit. */
function ranges(n: number): [number, number][] {
  const out: [number, number][] = [];
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const len = i % 10 === 9 ? SYNC_READ_MAX_BYTES + 1 + (x % 4096) : 1 + (x % 8192);
    out.push([x % (SIZE - len), len]);
  }
  return out;
}

async function readAll(src: FileSource, list: [number, number][], bytes: Buffer): Promise<void> {
  for (const [off, len] of list) {
    const got = await src.read(off, len);
    assertBytesEqual(Buffer.from(got), bytes.subarray(off, off + len), `read(${off}, ${len})`);
    const into = new Uint8Array(len).fill(0xa5);
    await src.readInto(off, into);
    assertBytesEqual(Buffer.from(into), bytes.subarray(off, off + len), `readInto(${off}, ${len})`);
  }
}

test('small reads run on the calling thread and return the exact bytes; large ones go to the thread pool', withFile(async (path, bytes) => {
  const src = await FileSource.open(path, { syncReadSlowMs: Infinity });
  try {
    const list = ranges(100);
    await readAll(src, list, bytes);
    const small = list.filter(([, len]) => len <= SYNC_READ_MAX_BYTES).length;
    const st = src.stats();
    assert.equal(st.syncReads, 2 * small);
    assert.equal(st.reads, 2 * list.length);
    assert.equal(st.bytesRead, 2 * list.reduce((a, [, len]) => a + len, 0));
  } finally {
    await src.close();
  }
}));

test('slow synchronous reads send the next small reads to the thread pool, in runs that double up to the maximum', withFile(async (path, bytes) => {
  // Every synchronous read counts as slow: sync, MIN async, sync, 2×MIN async, … capped at MAX.
  const src = await FileSource.open(path, { syncReadSlowMs: -1 });
  try {
    const syncAt: number[] = [];
    let run = ASYNC_READS_AFTER_SLOW_MIN;
    let at = 0;
    while (at < 3000) {
      syncAt.push(at);
      at += 1 + run;
      run = Math.min(ASYNC_READS_AFTER_SLOW_MAX, 2 * run);
    }
    const total = syncAt[syncAt.length - 1]! + 1;
    let x = 7;
    for (let i = 0; i < total; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const off = x % (SIZE - 512);
      const before = src.stats().syncReads!;
      assertBytesEqual(Buffer.from(await src.read(off, 512)), bytes.subarray(off, off + 512));
      assert.equal(src.stats().syncReads! - before, syncAt.includes(i) ? 1 : 0, `read ${i}`);
    }
    assert.ok(syncAt.length >= 7, 'the runs reached the cap');
    assert.equal(syncAt[syncAt.length - 1]! - syncAt[syncAt.length - 2]!, ASYNC_READS_AFTER_SLOW_MAX + 1);
  } finally {
    await src.close();
  }
}));

test('fast synchronous reads keep every small read on the calling thread', withFile(async (path) => {
  const src = await FileSource.open(path, { syncReadSlowMs: Infinity });
  try {
    for (let i = 0; i < 200; i++) await src.read((i * 4096) % (SIZE - 4096), 4096);
    assert.equal(src.stats().syncReads, 200);
  } finally {
    await src.close();
  }
}));

test('syncReadMaxBytes 0 keeps every read on the thread pool', withFile(async (path, bytes) => {
  const src = await FileSource.open(path, { syncReadMaxBytes: 0 });
  try {
    await readAll(src, ranges(20), bytes);
    assert.equal(src.stats().syncReads, 0);
  } finally {
    await src.close();
  }
}));

test('a file that shrank is a SourceError on both paths', withFile(async (path) => {
  for (const syncReadMaxBytes of [SYNC_READ_MAX_BYTES, 0]) {
    writeFileSync(path, randomBytes(SIZE));
    const src = await FileSource.open(path, { syncReadMaxBytes, syncReadSlowMs: Infinity });
    try {
      truncateSync(path, 4096);
      await assert.rejects(src.read(8192, 100), (err: unknown) => err instanceof SourceError && /shrank/.test(err.message));
      assert.deepEqual((await src.read(0, 16)).length, 16);
    } finally {
      await src.close();
    }
  }
}));
