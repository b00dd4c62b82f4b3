import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openFile } from '../../../src/disk/file-source.ts';
import { openXfs } from '../../../src/fs/xfs/index.ts';
import { XFS_DIR2_LEAF_OFFSET_BYTES } from '../../../src/fs/xfs/dir2.ts';
import { compareWithTree } from './compare.ts';
import { inodeFormat, needXfsTools, xfsDb, xfsFixture } from './fixtures.ts';

/** Directory sizes chosen to land in each directory format with 4 KiB blocks. */
const FULL_TREE = { dirSizes: [5, 60, 200, 2000, 20000], bigFileBytes: 3 * 1024 * 1024 + 123 };

test('default v5 image (4 KiB blocks, 22k entries): every entry matches the source tree', { skip: needXfsTools(), timeout: 120_000 }, async () => {
  const fx = await xfsFixture('default', FULL_TREE, [], 400);
  if ('skip' in fx) return assert.fail(fx.skip);
  const s = await compareWithTree(fx.image, fx.manifest);
  assert.ok(s.entries > 22_000, `${s.entries} entries`);
  assert.ok(s.bytes > 3 * 1024 * 1024);
  // 512-byte inodes hold 336-byte local links: mkfs 6.1 wrote the 400- and 1000-byte ones
  // remote without their v5 headers (see compare.ts).
  assert.deepEqual(s.headerlessSymlinks, ['/links/long-1000', '/links/mid-400']);
});

test('directories cover shortform, block, leaf, node and btree formats (xfs_db as the oracle)', { skip: needXfsTools(), timeout: 120_000 }, async () => {
  const fx = await xfsFixture('default', FULL_TREE, [], 400);
  if ('skip' in fx) return assert.fail(fx.skip);
  const source = await openFile(fx.image);
  const fs = await openXfs(source);
  const leafBlock = XFS_DIR2_LEAF_OFFSET_BYTES / 4096;
  const magicAt = async (ino: number, dblock: number) => /info\.hdr\.magic = (0x[0-9a-f]+)/.exec(await xfsDb(fx.image, `inode ${ino}`, `dblock ${dblock}`, 'print'))?.[1];
  const ino = async (p: string) => (await fs.lstat(p)).ino;
  assert.equal(await inodeFormat(fx.image, await ino('/dir-5')), 'local');
  assert.equal(await inodeFormat(fx.image, await ino('/dir-60')), 'extents');
  assert.equal((await fs.lstat('/dir-60')).size, 4096, 'a block directory is one directory block');
  assert.equal(await magicAt(await ino('/dir-200'), leafBlock), '0x3df1', 'leaf1 block (XFS_DIR3_LEAF1_MAGIC)');
  assert.equal(await magicAt(await ino('/dir-2000'), leafBlock), '0x3ebe', 'da node block (XFS_DA3_NODE_MAGIC)');
  assert.equal(await inodeFormat(fx.image, await ino('/dir-20000')), 'btree');
  for (const [dir, n] of [['/dir-5', 5], ['/dir-60', 60], ['/dir-200', 200], ['/dir-2000', 2000], ['/dir-20000', 20000]] as const) {
    assert.equal((await fs.readdir(dir)).length, n, dir);
  }
  assert.equal(new TextDecoder().decode(await fs.readFile('/dir-20000/entry-019999')), '9');
  await source.close();
});

test('inode numbers and entry types agree with xfs_db ls', { skip: needXfsTools(), timeout: 60_000 }, async () => {
  const fx = await xfsFixture('default', FULL_TREE, [], 400);
  if ('skip' in fx) return assert.fail(fx.skip);
  const source = await openFile(fx.image);
  const fs = await openXfs(source);
  const sbRoot = /rootino = (\d+)/.exec(await xfsDb(fx.image, 'sb 0', 'print rootino'))![1];
  assert.equal(fs.reader.rootIno, Number(sbRoot));
  for (const dir of ['/', '/files', '/links', '/dev', '/utf8', '/dir-200']) {
    const oracle = new Map<string, number>();
    for (const line of (await xfsDb(fx.image, `ls ${dir}`)).split('\n')) {
      const m = /^\d+\s+(\d+)\s+\S+\s+\S+\s+\d+\s+(.*) \(good\)$/.exec(line.trim());
      if (m && m[2] !== '.' && m[2] !== '..') oracle.set(m[2]!, Number(m[1]));
    }
    const ours = new Map((await fs.readdir(dir)).map((e) => [e.name, e.ino]));
    assert.deepEqual(ours, oracle, dir);
  }
  await source.close();
});
