/**
 * sweepFiles (src/fs/sweep.ts) and InodeReader.mapFile on real images made by mke2fs and
 * mkfs.xfs: every regular file's SHA-256 through the sweep equals the one through the normal
 * stream, each file arrives exactly once (sparse files, inline files and btrfs's fallback path
 * included), mapFile agrees with debugfs / xfs_db, and a byte-patched extent becomes that
 * file's error while every other file is still delivered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, openSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openFile } from '../../src/disk/file-source.ts';
import type { FileExtent } from '../../src/fs/index.ts';
import type { PathFileSystem } from '../../src/fs/path-fs.ts';
import { openFilesystem } from '../../src/fs/registry.ts';
import { canSweep, checkLayout, sweepFiles, type SweepFile, type SweepOptions, type SweepResult } from '../../src/fs/sweep.ts';
import { walk } from '../../src/fs/walk.ts';
import type { XfsReader } from '../../src/fs/xfs/index.ts';
import { CorruptError } from '../../src/util/errors.ts';
import { fixtureOrSkip, fsImage, smallTree, type FsKind } from '../fixtures/node-image.ts';
import { needTools, run, tempDir } from '../helpers/tools.ts';

const SPARSE = '/var/lib/hullscan-test/sparse.bin';
const BIG = '/var/lib/hullscan-test/big-5MiB.bin';

async function listFiles(fs: PathFileSystem): Promise<SweepFile[]> {
  const files: SweepFile[] = [];
  for await (const e of walk(fs)) if (e.stat.type === 'file') files.push({ path: e.path, ino: e.entry.ino, size: e.stat.size });
  return files;
}

/**
 * SHA-256 of every file through stream({ buffer }) (readInto into one reused, junk-filled
 * buffer of an odd size, so chunk boundaries fall mid-block and a short write would show).
 */
async function bufferedHashes(fs: PathFileSystem, files: readonly SweepFile[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const buffer = new Uint8Array(100_003);
  for (const f of files) {
    const h = createHash('sha256');
    let n = 0;
    buffer.fill(0xa5);
    for await (const chunk of fs.openInode(f.ino, await fs.reader.stat(f.ino)).stream({ buffer })) {
      assert.equal(chunk.buffer, buffer.buffer, 'chunks are views into the caller\'s buffer');
      h.update(chunk);
      n += chunk.length;
    }
    assert.equal(n, f.size, f.path);
    out.set(f.path, h.digest('hex'));
  }
  return out;
}

/** SHA-256 of every file through the normal read path (the oracle). */
async function normalHashes(fs: PathFileSystem, files: readonly SweepFile[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of files) {
    const h = createHash('sha256');
    for await (const chunk of fs.openInode(f.ino, await fs.reader.stat(f.ino)).stream()) h.update(chunk);
    out.set(f.path, h.digest('hex'));
  }
  return out;
}

interface Swept {
  hashes: Map<string, string>;
  result: SweepResult<SweepFile>;
  /** Paths delivered as one buffer and as chunks. */
  whole: Set<string>;
  chunked: Set<string>;
  errored: string[];
}

async function sweptHashes(fs: PathFileSystem, files: readonly SweepFile[], options: Partial<SweepOptions<SweepFile>> = {}): Promise<Swept> {
  const hashes = new Map<string, string>();
  const whole = new Set<string>();
  const chunked = new Set<string>();
  const errored: string[] = [];
  const result = await sweepFiles(fs, files, {
    ...options,
    async onFile(file, contents) {
      assert.ok(!hashes.has(file.path), `${file.path} delivered twice`);
      const h = createHash('sha256');
      let n = 0;
      if (contents instanceof Uint8Array) {
        whole.add(file.path);
        h.update(contents);
        n = contents.length;
      } else {
        chunked.add(file.path);
        for await (const c of contents) {
          h.update(c);
          n += c.length;
        }
      }
      assert.equal(n, file.size, `${file.path}: delivered ${n} of ${file.size} bytes`);
      hashes.set(file.path, h.digest('hex'));
    },
    onError(file) {
      errored.push(file.path);
    },
  });
  return { hashes, result, whole, chunked, errored };
}

/** The filesystem of an image whose close() also closes the image (a FileSystem does not own its source). */
async function openImageFs(image: string): Promise<PathFileSystem> {
  const source = await openFile(image);
  try {
    const fs = await openFilesystem(source);
    const closeFs = fs.close.bind(fs);
    fs.close = async () => {
      await closeFs();
      await source.close();
    };
    return fs;
  } catch (err) {
    await source.close();
    throw err;
  }
}

async function openKind(kind: FsKind, t: { skip(message?: string): void }, tree?: Promise<string>): Promise<PathFileSystem | undefined> {
  const image = await fixtureOrSkip(t, fsImage(kind, tree));
  if (image === undefined) return undefined;
  return openImageFs(image);
}

const CASES: Array<{ kind: FsKind; mapped: boolean }> = [
  { kind: 'ext4', mapped: true },
  { kind: 'ext4-noextents', mapped: true },
  { kind: 'ext4-inline', mapped: true },
  { kind: 'xfs', mapped: true },
  { kind: 'btrfs', mapped: false },
];

for (const { kind, mapped } of CASES) {
  test(`${kind} Debian image: every file through sweepFiles hashes like the normal read, exactly once`, async (t) => {
    const fs = await openKind(kind, t);
    if (!fs) return;
    try {
      const files = await listFiles(fs);
      assert.ok(files.length > 5000, `only ${files.length} files`);
      const want = await normalHashes(fs, files);
      // readInto (stream into the caller's buffer) reads the same bytes as read, on every driver.
      assert.equal(typeof fs.reader.readInto, 'function');
      const buffered = await bufferedHashes(fs, files);
      for (const f of files) assert.equal(buffered.get(f.path), want.get(f.path), `readInto ${f.path}`);
      const got = await sweptHashes(fs, files);
      assert.deepEqual(got.errored, []);
      assert.equal(got.hashes.size, files.length);
      for (const f of files) assert.equal(got.hashes.get(f.path), want.get(f.path), f.path);
      assert.ok(got.hashes.has(SPARSE));
      // Routing: small files as buffers, large ones as chunks, whichever path read them.
      for (const f of files) assert.equal(got.chunked.has(f.path), f.size > 1024 * 1024, f.path);
      for (const f of files) assert.equal(got.whole.has(f.path), f.size <= 1024 * 1024, f.path);
      assert.equal(canSweep(fs), mapped);
      const r = got.result;
      const normal = Object.values(r.normal).reduce((a, b) => a + b, 0);
      assert.equal(r.delivered, files.length);
      assert.equal(r.swept + r.streamed + normal, files.length);
      if (mapped) {
        // Nearly every small file comes out of the windows, in a few dozen large reads.
        assert.ok(r.swept > files.length * 0.6, `only ${r.swept} of ${files.length} swept`);
        assert.ok(r.windows > 0 && r.windows < r.swept / 50, `${r.windows} windows for ${r.swept} files`);
        if (kind === 'ext4-inline') assert.ok(r.normal.unmapped > 1000, 'inline files fall back');
        else assert.equal(r.normal.unmapped, 0);
        assert.ok(r.streamed > 10, `${r.streamed} large files streamed`);
      } else {
        assert.equal(r.swept, 0);
        assert.equal(r.streamed, 0);
        assert.equal(r.windows, 0);
        assert.equal(r.normal.unmapped, files.length);
      }
    } finally {
      await fs.close();
    }
  });
}

test('a tiny pending budget and window: files fall back and split across windows, still exactly once', async (t) => {
  const fs = await openKind('ext4', t);
  if (!fs) return;
  try {
    const files = await listFiles(fs);
    const want = await normalHashes(fs, files);
    const got = await sweptHashes(fs, files, { windowBytes: 64 * 1024, maxFileBufferBytes: 256 * 1024, maxPendingBytes: 48 * 1024 });
    assert.deepEqual(got.errored, []);
    for (const f of files) assert.equal(got.hashes.get(f.path), want.get(f.path), f.path);
    assert.equal(got.hashes.size, files.length);
    assert.ok(got.result.normal.pendingBudget > 0, 'the budget forced fallbacks');
    assert.ok(got.result.swept > 0);
    assert.ok(got.result.streamed > 0, 'files over maxFileBufferBytes are streamed');
    assert.ok(got.result.windows > 10, "a 64 KiB window needs many reads");
  } finally {
    await fs.close();
  }
});

test('ownBuffers: kept arrays stay intact after the sweep; chunkBytes bounds the chunks', async (t) => {
  const fs = await openKind('xfs', t);
  if (!fs) return;
  try {
    const files = await listFiles(fs);
    const want = await normalHashes(fs, files);
    const CHUNK = 300_000;
    const kept = new Map<string, Uint8Array>();
    let n = 0;
    let streamed = 0;
    await sweepFiles(fs, files, {
      ownBuffers: true,
      chunkBytes: CHUNK,
      async onFile(file, contents) {
        if (contents instanceof Uint8Array) {
          // Every 8th file is kept past its callback, while later windows reuse the sweep's buffers.
          if (n++ % 8 === 0) kept.set(file.path, contents);
          return;
        }
        const h = createHash('sha256');
        for await (const c of contents) {
          assert.ok(c.length <= CHUNK, `${file.path}: ${c.length}-byte chunk`);
          h.update(c);
        }
        streamed++;
        assert.equal(h.digest('hex'), want.get(file.path), file.path);
      },
    });
    assert.ok(kept.size > 1000 && streamed > 10);
    for (const [path, bytes] of kept) assert.equal(createHash('sha256').update(bytes).digest('hex'), want.get(path), path);
  } finally {
    await fs.close();
  }
});

test('a consumer that abandons a large file after one chunk does not disturb the files after it', async (t) => {
  const fs = await openKind('ext4', t, smallTree());
  if (!fs) return;
  try {
    const files = await listFiles(fs);
    const want = await normalHashes(fs, files);
    let abandoned = 0;
    const seen = new Set<string>();
    const r = await sweepFiles(fs, files, {
      windowBytes: 256 * 1024,
      maxFileBufferBytes: 64 * 1024,
      async onFile(file, contents) {
        seen.add(file.path);
        if (contents instanceof Uint8Array) {
          assert.equal(createHash('sha256').update(contents).digest('hex'), want.get(file.path), file.path);
          return;
        }
        for await (const chunk of contents) {
          const head = await fs.readFile(file.path);
          assert.deepEqual(chunk, head.subarray(0, chunk.length), file.path);
          abandoned++;
          break;
        }
      },
    });
    assert.ok(abandoned >= 2, `${abandoned} large files`);
    assert.equal(seen.size, files.length);
    assert.equal(r.errors.length, 0);
  } finally {
    await fs.close();
  }
});

/** Expands a layout's data pieces to one physical block per logical block ("lblk:pblk"). */
function dataBlocks(layout: readonly FileExtent[], blockBytes: number): string[] {
  const out: string[] = [];
  for (const p of layout) {
    if (p.kind !== 'data') continue;
    for (let b = 0; b < Math.ceil(p.length / blockBytes); b++) out.push(`${p.fileOffset / blockBytes + b}:${p.sourceOffset! / blockBytes + b}`);
  }
  return out;
}

/**
 * debugfs stat's BLOCKS (block maps) or EXTENTS: "(0-11):1234-1245, (IND):99, (12):1300" → data
 * blocks only; tree blocks ((IND), (ETB0)) and unwritten extents ("(5)[u]:…") do not match.
 */
function debugfsBlocks(stat: string): string[] {
  const at = Math.max(stat.indexOf('BLOCKS:'), stat.indexOf('EXTENTS:'));
  assert.ok(at >= 0, stat);
  const section = stat.slice(at);
  const out: string[] = [];
  for (const m of section.matchAll(/\((\d+)(?:-(\d+))?\):(\d+)(?:-\d+)?/g)) {
    const l0 = Number(m[1]);
    const l1 = m[2] === undefined ? l0 : Number(m[2]);
    for (let l = l0; l <= l1; l++) out.push(`${l}:${Number(m[3]) + (l - l0)}`);
  }
  return out;
}

for (const kind of ['ext4', 'ext4-noextents'] as const) {
  test(`${kind}: mapFile agrees with debugfs on a sparse, a large and a small file`, async (t) => {
    const skip = needTools('debugfs');
    if (skip) return t.skip(skip);
    const image = await fixtureOrSkip(t, fsImage(kind));
    if (!image) return;
    const fs = await openImageFs(image);
    try {
      for (const path of [SPARSE, BIG, '/etc/passwd']) {
        const st = await fs.stat(path);
        const layout = await fs.reader.mapFile!(st.ino);
        assert.ok(layout);
        checkLayout({ path, ino: st.ino, size: st.size }, layout, fs.reader.dataSource!.size);
        const stat = await run('debugfs', ['-R', `stat ${path}`, image]);
        assert.deepEqual(dataBlocks(layout, 4096), debugfsBlocks(stat), path);
        if (path === SPARSE) assert.deepEqual(layout.map((p) => p.kind), ['data', 'zero', 'data']);
      }
    } finally {
      await fs.close();
    }
  });
}

test('xfs: mapFile agrees with xfs_db bmap on a sparse, a large and a small file', async (t) => {
  const skip = needTools('xfs_db');
  if (skip) return t.skip(skip);
  const image = await fixtureOrSkip(t, fsImage('xfs'));
  if (!image) return;
  const fs = await openImageFs(image);
  try {
    const sb = (fs.reader as XfsReader).sb;
    for (const path of [SPARSE, BIG, '/etc/passwd']) {
      const st = await fs.stat(path);
      const layout = await fs.reader.mapFile!(st.ino);
      assert.ok(layout);
      const out = await run('xfs_db', ['-r', '-c', `inode ${st.ino}`, '-c', 'bmap -d', image]);
      // "data offset 0 startblock 4242 (0/4242) count 3 flag 0": (agno/agbno) → linear block.
      const want: string[] = [];
      for (const m of out.matchAll(/offset (\d+) startblock \d+ \((\d+)\/(\d+)\) count (\d+) flag (\d)/g)) {
        const [off, agno, agbno, count, flag] = m.slice(1).map(Number) as [number, number, number, number, number];
        if (flag !== 0) continue;
        for (let b = 0; b < count && (off + b) * sb.blockBytes < st.size; b++) want.push(`${off + b}:${agno * sb.agBlocks + agbno + b}`);
      }
      assert.ok(want.length > 0, out);
      assert.deepEqual(dataBlocks(layout, sb.blockBytes), want, path);
    }
  } finally {
    await fs.close();
  }
});

test('checkLayout refuses hostile layouts: overlap, gap, outside the volume, short, bad lengths', () => {
  const file = { path: '/f', ino: 12, size: 8192 };
  const cases: Array<[string, FileExtent[]]> = [
    ['overlap', [{ fileOffset: 0, length: 4096, kind: 'data', sourceOffset: 0 }, { fileOffset: 2048, length: 6144, kind: 'zero' }]],
    ['gap', [{ fileOffset: 0, length: 4096, kind: 'zero' }, { fileOffset: 6000, length: 2192, kind: 'zero' }]],
    ['past the volume', [{ fileOffset: 0, length: 8192, kind: 'data', sourceOffset: 1_000_000 - 4096 }]],
    ['negative source', [{ fileOffset: 0, length: 8192, kind: 'data', sourceOffset: -4096 }]],
    ['no source offset', [{ fileOffset: 0, length: 8192, kind: 'data' }]],
    ['short', [{ fileOffset: 0, length: 4096, kind: 'zero' }]],
    ['zero length', [{ fileOffset: 0, length: 0, kind: 'zero' }, { fileOffset: 0, length: 8192, kind: 'zero' }]],
  ];
  for (const [name, layout] of cases) assert.throws(() => checkLayout(file, layout, 1_000_000), CorruptError, name);
  checkLayout(file, [{ fileOffset: 0, length: 4096, kind: 'data', sourceOffset: 0 }, { fileOffset: 4096, length: 4096, kind: 'zero' }], 1_000_000);
});

test('a truncated image: files whose extents run past the volume are per-file errors, the rest arrive', async (t) => {
  const image = await fixtureOrSkip(t, fsImage('ext4', smallTree()));
  if (!image) return;
  const tmp = tempDir('hullscan-sweep-');
  try {
    const clean = await openImageFs(image);
    const files = await listFiles(clean);
    const want = await normalHashes(clean, files);
    const ends = new Map<string, number>();
    for (const f of files) {
      const layout = (await clean.reader.mapFile!(f.ino)) ?? [];
      ends.set(f.path, Math.max(0, ...layout.filter((p) => p.kind === 'data').map((p) => p.sourceOffset! + p.length)));
    }
    await clean.close();
    // Cut at the median data end: about half the files lose blocks, the metadata at the start stays.
    const sorted = [...ends.values()].filter((e) => e > 0).sort((a, b) => a - b);
    const cut = Math.floor(sorted[Math.floor(sorted.length / 2)]! / 4096) * 4096;
    const copy = join(tmp.dir, 'fs.img');
    copyFileSync(image, copy);
    truncateSync(copy, cut);
    const fs = await openImageFs(copy);
    try {
      const got = await sweptHashes(fs, files);
      const lost = files.filter((f) => ends.get(f.path)! > cut).map((f) => f.path);
      assert.ok(lost.length > 3 && lost.length < files.length);
      assert.deepEqual([...got.errored].sort(), lost.sort());
      for (const e of got.result.errors) assert.ok(e.error instanceof CorruptError, e.error.message);
      for (const f of files) if (ends.get(f.path)! <= cut) assert.equal(got.hashes.get(f.path), want.get(f.path), f.path);
    } finally {
      await fs.close();
    }
  } finally {
    tmp.cleanup();
  }
});

test('a byte-patched extent (block far outside the filesystem) is that file’s error; every other file is delivered', async (t) => {
  const skip = needTools('debugfs');
  if (skip) return t.skip(skip);
  const image = await fixtureOrSkip(t, fsImage('ext4', smallTree()));
  if (!image) return;
  const tmp = tempDir('hullscan-sweep-');
  try {
    const victim = '/var/lib/hullscan-test/big-1MiB.bin';
    const copy = join(tmp.dir, 'fs.img');
    copyFileSync(image, copy);
    // "Inode 35 is part of block group 0\n\tlocated at block 44, offset 0x0200"
    const imap = await run('debugfs', ['-R', `imap ${victim}`, copy]);
    const m = /located at block (\d+), offset 0x([0-9a-f]+)/.exec(imap);
    assert.ok(m, imap);
    const inodeAt = Number(m[1]) * 4096 + parseInt(m[2]!, 16);
    // i_block at 0x28: the 12-byte extent header, then the first extent's ee_start_hi (+6), ee_start_lo (+8).
    const fd = openSync(copy, 'r+');
    writeSync(fd, Buffer.from([0, 0, 0xf0, 0xff, 0xff, 0x0f]), 0, 6, inodeAt + 0x28 + 12 + 6);
    closeSync(fd);

    const clean = await openImageFs(image);
    const files = await listFiles(clean);
    const want = await normalHashes(clean, files);
    await clean.close();
    const fs = await openImageFs(copy);
    try {
      const got = await sweptHashes(fs, files);
      assert.deepEqual(got.errored, [victim]);
      assert.ok(got.result.errors[0]!.error instanceof CorruptError, String(got.result.errors[0]!.error));
      assert.equal(got.hashes.size, files.length - 1);
      for (const f of files) if (f.path !== victim) assert.equal(got.hashes.get(f.path), want.get(f.path), f.path);
    } finally {
      await fs.close();
    }
  } finally {
    tmp.cleanup();
  }
});
