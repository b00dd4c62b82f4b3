/**
 * debugfs (e2fsprogs) as the oracle: inode numbers of directory listings, inode fields, block
 * maps of extent and indirect files, htree hashes of every algorithm, timestamp epoch bits; and
 * the read plan: one source read per contiguous physical run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { FileSource, openFile } from '../../../src/disk/file-source.ts';
import { Ext4Reader, openExt4 } from '../../../src/fs/ext4/index.ts';
import { DX_HASH, dxHash } from '../../../src/fs/ext4/htree-hash.ts';
import type { BlockRun } from '../../../src/fs/ext4/mapping.ts';
import type { PathFileSystem } from '../../../src/fs/path-fs.ts';
import { tempDir } from '../../helpers/tools.ts';
import { skipReason } from './conformance.ts';
import { debugfs, makeImage } from './images.ts';
import { buildTree } from './tree.ts';
import { assertBytesEqual } from '../../helpers/bytes.ts';

let t: ReturnType<typeof tempDir> | undefined;
let ext4Img = '';
let ext2Img = '';

before(async () => {
  if (skipReason) return;
  t = tempDir('hullscan-ext4-debugfs-');
  const tree = join(t.dir, 'tree');
  await buildTree(tree, { entries: 600 });
  ext4Img = await makeImage(t.dir, tree, { name: 'default' }, 'ext4.img');
  ext2Img = await makeImage(t.dir, tree, { name: 'ext2', mkfs: 'mkfs.ext2', args: ['-b', '1024'] }, 'ext2.img');
});

after(() => t?.cleanup());

async function withFs<T>(img: string, fn: (fs: PathFileSystem, reader: Ext4Reader) => Promise<T>): Promise<T> {
  const src = await openFile(img);
  try {
    const fs = await openExt4(src);
    return await fn(fs, fs.reader as Ext4Reader);
  } finally {
    await src.close();
  }
}

/** Data runs of a debugfs `stat` (EXTENTS: or BLOCKS:), without (IND)/(ETB0) metadata blocks. */
function debugfsRuns(stat: string): BlockRun[] {
  const runs: BlockRun[] = [];
  const section = /(?:EXTENTS|BLOCKS):\n([^\n]*)/.exec(stat)?.[1] ?? '';
  for (const m of section.matchAll(/\((\d+)(?:-(\d+))?\):(\d+)(?:-(\d+))?/g)) {
    const l0 = Number(m[1]);
    const len = (m[2] === undefined ? l0 : Number(m[2])) - l0 + 1;
    const p0 = Number(m[3]);
    const prev = runs[runs.length - 1];
    if (prev && prev.lblk + prev.len === l0 && prev.pblk + prev.len === p0) prev.len += len;
    else runs.push({ lblk: l0, pblk: p0, len });
  }
  return runs;
}

const FILES = ['/data/random.bin', '/data/sparse', '/data/fragmented', '/usr/bin/prog', '/data/small-65537', '/links/slow', '/dir-5000'];

for (const [name, img] of [['ext4 extents', () => ext4Img], ['ext2 indirect blocks (1 KiB)', () => ext2Img]] as const) {
  test(`${name}: inode numbers, fields and block runs agree with debugfs stat`, { skip: skipReason }, async () => {
    await withFs(img(), async (fs, reader) => {
      for (const path of FILES) {
        const st = await fs.lstat(path);
        const out = await debugfs(img(), `stat ${path}`);
        assert.equal(st.ino, Number(/Inode: (\d+)/.exec(out)?.[1]), `${path} ino`);
        assert.equal(st.size, Number(/Size: (\d+)/.exec(out)?.[1]), `${path} size`);
        assert.equal(st.nlink, Number(/Links: (\d+)/.exec(out)?.[1]), `${path} links`);
        assert.equal(st.mode, parseInt(/Mode: +(\d+)/.exec(out)?.[1] ?? '', 8), `${path} mode`);
        assert.deepEqual(await reader.blockRuns(st.ino), debugfsRuns(out), `${path} block runs`);
      }
    });
  });

  test(`${name}: directory listings agree with debugfs ls -p`, { skip: skipReason }, async () => {
    await withFs(img(), async (fs) => {
      for (const dir of ['/', '/names', '/dir-5000', '/dev', '/links']) {
        const want = (await debugfs(img(), `ls -p ${dir}`))
          .split('\n')
          .filter((l) => l.startsWith('/'))
          .map((l) => {
            const f = l.split('/');
            return { ino: Number(f[1]), name: f.slice(5, -2).join('/') };
          })
          .filter((e) => e.name !== '.' && e.name !== '..')
          .sort((a, b) => (a.name < b.name ? -1 : 1));
        const got = (await fs.readdir(dir)).map((e) => ({ ino: e.ino, name: e.name })).sort((a, b) => (a.name < b.name ? -1 : 1));
        assert.deepEqual(got, want, dir);
      }
    });
  });
}

test('htree hashes of every algorithm, signed and unsigned, with and without a seed agree with debugfs dx_hash', { skip: skipReason }, async () => {
  const names = ['a', 'hello', 'entry-00042', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(33), 'long-' + 'name'.repeat(30), 'naïve-café', '日本語のファイル', '\u00ff\u00fe'];
  const seedUuid = '96eb2410-ecb7-4ea0-b0ad-1b5a667fd374';
  const seedBytes = Buffer.from(seedUuid.replaceAll('-', ''), 'hex');
  const seedWords = new Uint32Array([0, 1, 2, 3].map((i) => seedBytes.readUInt32LE(i * 4)));
  const algs = [
    ['legacy', DX_HASH.legacy],
    ['half_md4', DX_HASH.halfMd4],
    ['tea', DX_HASH.tea],
    // debugfs 1.47 names the unsigned variants only by number.
    ['HASHALG_3', DX_HASH.legacyUnsigned],
    ['HASHALG_4', DX_HASH.halfMd4Unsigned],
    ['HASHALG_5', DX_HASH.teaUnsigned],
  ] as const;
  // One debugfs run answers every question: requests go on its stdin, one per line.
  const requests: string[] = [];
  const expected: Array<{ name: string; alg: string; seeded: boolean; version: number }> = [];
  for (const [alg, version] of algs) {
    for (const name of names) {
      for (const seeded of [false, true]) {
        requests.push(`dx_hash -h ${alg}${seeded ? ` -s ${seedUuid}` : ''} ${name}`);
        expected.push({ name, alg, seeded, version });
      }
    }
  }
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync('debugfs', ['-f', '-', ext4Img], { input: requests.join('\n') + '\n', encoding: 'utf8' });
  const hashes = [...r.stdout.matchAll(/Hash of .* is 0x([0-9a-f]+)/g)].map((m) => parseInt(m[1]!, 16));
  assert.equal(hashes.length, expected.length);
  expected.forEach((e, i) => {
    const got = dxHash(new TextEncoder().encode(e.name), e.version, e.seeded ? seedWords : new Uint32Array(4));
    assert.equal(got, hashes[i], `${e.alg} ${e.seeded ? 'seeded' : 'unseeded'} ${e.name}`);
  });
});

test('timestamps: nanoseconds and the epoch bits of *_extra extend past 2038 as debugfs shows', { skip: skipReason }, async () => {
  const img = join(t!.dir, 'times.img');
  const { copyFileSync } = await import('node:fs');
  copyFileSync(ext4Img, img);
  // sec 0x10 with epoch 1 → 2^32 + 16 s (year 2106); nsec 123456789.
  await debugfs(img, 'sif /time/past mtime 0x10', true);
  await debugfs(img, `sif /time/past mtime_extra ${(123456789 * 4 + 1) >>> 0}`, true);
  await withFs(img, async (fs) => {
    const st = await fs.lstat('/time/past');
    assert.equal(st.mtimeMs, (2 ** 32 + 16) * 1000 + 123);
    assert.deepEqual(fs.issues, []);
  });
  const out = await debugfs(img, 'stat /time/past');
  assert.match(out, /mtime: 0x00000010:1d6f3455 -- .*2106/);
});

test('reading a contiguous 3 MiB file costs one source read; a fragmented one one read per run', { skip: skipReason }, async () => {
  const file = await FileSource.open(ext4Img);
  try {
    const fs = await openExt4(file);
    const reader = fs.reader as Ext4Reader;
    for (const path of ['/data/random.bin', '/data/fragmented', '/data/sparse']) {
      const st = await fs.stat(path);
      const runs = await reader.blockRuns(st.ino);
      const before = file.stats().reads;
      await fs.readFile(path);
      assert.equal(file.stats().reads - before, runs.length, path);
    }
  } finally {
    await file.close();
  }
});

test('a random range read returns the same bytes as the whole file read', { skip: skipReason }, async () => {
  await withFs(ext4Img, async (fs) => {
    const whole = await fs.readFile('/data/random.bin');
    const f = await fs.open('/data/random.bin');
    const rnd = randomBytes(64);
    for (let i = 0; i < 16; i++) {
      const off = rnd.readUInt32LE(i * 4) % whole.length;
      const len = Math.min(whole.length - off, (rnd.readUInt16LE((i * 4) % 60) * 7) % 300_000);
      assertBytesEqual(await f.read(off, len), whole.subarray(off, off + len), `offset ${off} length ${len}`);
    }
    assert.equal((await f.read(whole.length - 1, 100)).length, 1);
    assert.equal((await f.read(whole.length + 5, 100)).length, 0);
  });
});
