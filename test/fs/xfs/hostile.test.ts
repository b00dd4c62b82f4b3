import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySource } from '../../../src/disk/memory-source.ts';
import { openXfs, type XfsReader } from '../../../src/fs/xfs/index.ts';
import { walk } from '../../../src/fs/walk.ts';
import { CorruptError, NotThisFormatError, UnsupportedError } from '../../../src/util/errors.ts';
import { isAllZero } from '../../../src/util/bytes.ts';
import type { Issue } from '../../../src/util/issues.ts';
import { needXfsTools } from './fixtures.ts';
import { dv, firstExtent, locate, makeBtreeRoot, open, packExtent, plantBmbtBlock, reseal, resealInode, spareBlock, tinyImage, V3_FORK } from './patch.ts';
import { withinBudget } from '../../helpers/fuzz.ts';
import { assertBytesEqual } from '../../helpers/bytes.ts';

const skip = needXfsTools();
/** Each hostile case must be refused (or reported) quickly. */
const CASE_BUDGET_MS = 2000;

async function image(): Promise<Uint8Array> {
  const img = await tinyImage();
  if (!(img instanceof Uint8Array)) throw new Error(img.skip);
  return img;
}

/** One hostile case, failed when it runs past CASE_BUDGET_MS. */
function within<T>(p: Promise<T>): Promise<T> {
  return withinBudget(p, CASE_BUDGET_MS);
}

test('bytes without the XFSB magic are NotThisFormatError', async () => {
  await assert.rejects(openXfs(new MemorySource(new Uint8Array(8192))), NotThisFormatError);
  await assert.rejects(openXfs(new MemorySource(new Uint8Array(100))), NotThisFormatError);
});

test('an unknown incompatible feature bit is UnsupportedError naming it', { skip }, async () => {
  const img = await image();
  dv(img).setUint32(216, dv(img).getUint32(216) | 0x100);
  reseal(img, 0, 512, 224);
  await assert.rejects(open(img), (e: unknown) => e instanceof UnsupportedError && /metadir/.test(e.message));
  dv(img).setUint32(216, dv(img).getUint32(216) | 0x40000000);
  reseal(img, 0, 512, 224);
  await assert.rejects(open(img), (e: unknown) => e instanceof UnsupportedError && /0x40000000/.test(e.message));
});

test('a superblock with a bad CRC is an issue and the filesystem still reads', { skip }, async () => {
  const img = await image();
  img[108] = 0x41; // label byte, CRC not updated
  const fs = await open(img);
  assert.equal(fs.issues[0]?.code, 'xfs.crc-superblock');
  assert.equal((await fs.readdir('/dir-5')).length, 5);
});

test('absurd superblock geometry is CorruptError', { skip }, async () => {
  for (const [off, value, size] of [[4, 3000, 4], [84, 0, 4], [88, 0x7fffffff, 4], [104, 4096 * 4, 2], [124, 31, 1]] as const) {
    const img = await image();
    if (size === 4) dv(img).setUint32(off, value);
    else if (size === 2) dv(img).setUint16(off, value);
    else img[off] = value;
    reseal(img, 0, 512, 224);
    await assert.rejects(open(img), CorruptError, `field at ${off} = ${value}`);
  }
});

test('a root inode number outside the AGs is CorruptError at open', { skip }, async () => {
  const img = await image();
  dv(img).setBigUint64(56, 1n << 40n);
  reseal(img, 0, 512, 224);
  await assert.rejects(open(img), CorruptError);
});

test('an inode with a bad CRC is reported once and still read', { skip }, async () => {
  const img = await image();
  const loc = await locate(img, '/etc/os-release');
  img[loc.at + 92] = img[loc.at + 92]! ^ 0xff; // di_gen
  const fs = await open(img);
  assert.equal(new TextDecoder().decode(await fs.readFile('/etc/os-release')), 'ID=debian\nVERSION_ID="12"\n');
  await fs.readFile('/etc/os-release');
  assert.deepEqual(fs.issues.map((i) => [i.code, i.location]), [['xfs.crc-inode', `inode ${loc.ino}`]]);
});

test('a bmbt block pointing to itself is CorruptError, quickly', { skip }, async () => {
  const img = await image();
  const loc = await locate(img, '/files/size-100000');
  const spare = spareBlock(loc.sb);
  assert.ok(isAllZero(img.subarray(spare * 4096, (spare + 1) * 4096)), 'spare block is unused');
  // Root at level 2 -> node (level 1) whose only child is itself.
  makeBtreeRoot(img, loc, 2, [spare]);
  plantBmbtBlock(img, loc.sb, spare, loc.ino, 1, { ptrs: [spare] });
  const fs = await open(img);
  await assert.rejects(within(fs.readFile('/files/size-100000')), (e: unknown) => e instanceof CorruptError && /level 1, expected 0|referenced twice/.test(e.message));
});

test('a bmbt node listing the same leaf twice is CorruptError', { skip }, async () => {
  const img = await image();
  const loc = await locate(img, '/files/size-100000');
  const [fo, fb, n] = firstExtent(img, loc);
  const node = spareBlock(loc.sb);
  const leaf = spareBlock(loc.sb, 1);
  makeBtreeRoot(img, loc, 2, [node]);
  plantBmbtBlock(img, loc.sb, node, loc.ino, 1, { ptrs: [leaf, leaf] });
  plantBmbtBlock(img, loc.sb, leaf, loc.ino, 0, { records: [[fo, fb, n]] });
  const fs = await open(img);
  await assert.rejects(within(fs.readFile('/files/size-100000')), (e: unknown) => e instanceof CorruptError && /twice/.test(e.message));
});

test('a valid hand-built bmbt (root -> leaf) reads the same bytes as the extent list', { skip }, async () => {
  const img = await image();
  const before = await (await open(img)).readFile('/files/size-100000');
  const loc = await locate(img, '/files/size-100000');
  const [fo, fb, n] = firstExtent(img, loc);
  const leaf = spareBlock(loc.sb);
  makeBtreeRoot(img, loc, 1, [leaf]);
  plantBmbtBlock(img, loc.sb, leaf, loc.ino, 0, { records: [[fo, fb, n]] });
  const fs = await open(img);
  assertBytesEqual(await fs.readFile('/files/size-100000'), before);
  assert.deepEqual(fs.issues, []);
});

test('a bmbt block owned by another inode, or with a bad CRC, is refused or reported', { skip }, async () => {
  const img = await image();
  const loc = await locate(img, '/files/size-100000');
  const [fo, fb, n] = firstExtent(img, loc);
  const leaf = spareBlock(loc.sb);
  makeBtreeRoot(img, loc, 1, [leaf]);
  plantBmbtBlock(img, loc.sb, leaf, loc.ino + 1, 0, { records: [[fo, fb, n]] });
  await assert.rejects((await open(img)).readFile('/files/size-100000'), (e: unknown) => e instanceof CorruptError && /owned by/.test(e.message));
  plantBmbtBlock(img, loc.sb, leaf, loc.ino, 0, { records: [[fo, fb, n]] });
  img[leaf * 4096 + 100] = img[leaf * 4096 + 100]! ^ 1; // inside the record area: CRC now wrong
  const fs = await open(img);
  await fs.readFile('/files/size-100000').catch(() => undefined);
  assert.ok(fs.issues.some((i) => i.code === 'xfs.crc-bmbt'));
});

test('absurd extent counts are refused before any allocation', { skip }, async () => {
  const img = await image();
  const loc = await locate(img, '/files/size-100000');
  dv(img).setUint32(loc.at + 76, 0xffffffff);
  resealInode(img, loc);
  const fs = await open(img);
  await assert.rejects(within(fs.stat('/files/size-100000')), (e: unknown) => e instanceof CorruptError && /extents exceed/.test(e.message));
  dv(img).setUint32(loc.at + 76, 1000);
  resealInode(img, loc);
  await assert.rejects(within((await open(img)).readFile('/files/size-100000')), (e: unknown) => e instanceof CorruptError && /do not fit/.test(e.message));
});

test('an extent pointing past the filesystem is CorruptError', { skip }, async () => {
  const img = await image();
  const loc = await locate(img, '/files/size-100000');
  const [fo, , n] = firstExtent(img, loc);
  packExtent(dv(img), loc.at + V3_FORK, fo, 2 ** 40, n);
  resealInode(img, loc);
  await assert.rejects((await open(img)).readFile('/files/size-100000'), (e: unknown) => e instanceof CorruptError && /outside the filesystem/.test(e.message));
});

test('overlapping extents are CorruptError (no aliasing of file ranges)', { skip }, async () => {
  const img = await image();
  const loc = await locate(img, '/files/big-random');
  const [fo, fb] = firstExtent(img, loc);
  dv(img).setUint32(loc.at + 76, 2);
  packExtent(dv(img), loc.at + V3_FORK, fo, fb, 10);
  packExtent(dv(img), loc.at + V3_FORK + 16, fo + 5, fb + 20, 10);
  resealInode(img, loc);
  await assert.rejects((await open(img)).readFile('/files/big-random'), (e: unknown) => e instanceof CorruptError && /overlapping/.test(e.message));
});

test('unwritten extents and holes read as zeros', { skip }, async () => {
  const img = await image();
  const loc = await locate(img, '/files/big-random');
  const [fo, fb, n] = firstExtent(img, loc);
  assert.ok(n >= 4);
  // Block 0 unwritten, block 1 a hole, blocks 2.. as before.
  dv(img).setUint32(loc.at + 76, 2);
  packExtent(dv(img), loc.at + V3_FORK, fo, fb, 1, true);
  packExtent(dv(img), loc.at + V3_FORK + 16, fo + 2, fb + 2, n - 2);
  resealInode(img, loc);
  const before = await (await open(await image())).readFile('/files/big-random');
  const after = await (await open(img)).readFile('/files/big-random');
  assert.ok(isAllZero(after.subarray(0, 8192)));
  assert.deepEqual(after.subarray(8192, n * 4096), before.subarray(8192, n * 4096));
});

test('a directory entry naming an inode outside the filesystem is skipped with an issue', { skip }, async () => {
  const img = await image();
  const loc = await locate(img, '/dir-5');
  // First shortform entry: header (count, i8count, 4-byte parent), then namelen, offset, name, ftype, ino.
  const first = loc.at + V3_FORK + 6;
  const namelen = img[first]!;
  dv(img).setUint32(first + 3 + namelen + 1, 0xfffffff0);
  resealInode(img, loc);
  const fs = await open(img);
  assert.equal((await fs.readdir('/dir-5')).length, 4);
  assert.equal(fs.issues[0]?.code, 'xfs.dir-bad-inode');
});

test('a shortform directory with an absurd count is CorruptError', { skip }, async () => {
  const img = await image();
  const loc = await locate(img, '/dir-5');
  img[loc.at + V3_FORK] = 255;
  resealInode(img, loc);
  await assert.rejects(within((await open(img)).readdir('/dir-5')), (e: unknown) => e instanceof CorruptError && /past the end/.test(e.message));
});

test('a directory block with a bad free tag or an entry past the block is reported, other blocks still list', { skip }, async () => {
  for (const mode of ['freetag-length', 'namelen'] as const) {
    const img = await image();
    const fs0 = await open(img);
    const reader = fs0.reader as XfsReader;
    const loc = await locate(img, '/dir-200');
    const ext = await reader.extents(await reader.inode(loc.ino));
    const block0 = ext[0]!.linearBlock * 4096;
    const d = dv(img);
    if (mode === 'freetag-length') {
      d.setUint16(block0 + 64, 0xffff);
      d.setUint16(block0 + 66, 0x7ff8);
    } else {
      // The first data entry is ".": give it a name running past the end of the block.
      img[block0 + 64 + 8] = 255;
      d.setUint16(block0 + 64 + 4096 - 64 - 2, 0);
    }
    reseal(img, block0, 4096, 4);
    const fs = await open(img);
    const names = await within(fs.readdir('/dir-200'));
    assert.ok(names.length > 0 && names.length < 200, `${mode}: ${names.length} entries`);
    assert.ok(fs.issues.some((i) => i.code === 'xfs.dir-corrupt'), mode);
  }
});

test('symlinks longer than XFS_SYMLINK_MAXLEN (1024) or PATH_MAX are CorruptError', { skip }, async () => {
  for (const size of [1025, 5000, 2 ** 40]) {
    const img = await image();
    const loc = await locate(img, '/links/short');
    dv(img).setBigUint64(loc.at + 56, BigInt(size));
    resealInode(img, loc);
    const fs = await open(img);
    await assert.rejects(within(fs.readlink('/links/short')), CorruptError, `size ${size}`);
    await assert.rejects(fs.readFile('/links/short'), CorruptError, `follow, size ${size}`);
  }
});

test('a realtime file is UnsupportedError naming the inode', { skip }, async () => {
  const img = await image();
  const loc = await locate(img, '/etc/os-release');
  dv(img).setUint16(loc.at + 90, dv(img).getUint16(loc.at + 90) | 1);
  resealInode(img, loc);
  await assert.rejects((await open(img)).readFile('/etc/os-release'), (e: unknown) => e instanceof UnsupportedError && new RegExp(`inode ${loc.ino}`).test(e.message));
});

test('a directory that links to itself is walked once', { skip }, async () => {
  const img = await image();
  const loc = await locate(img, '/dir-5');
  // Point the first entry at the directory itself.
  const first = loc.at + V3_FORK + 6;
  const namelen = img[first]!;
  img[first + 3 + namelen] = 2; // ftype dir
  dv(img).setUint32(first + 3 + namelen + 1, loc.ino);
  resealInode(img, loc);
  const fs = await open(img);
  const issues: Issue[] = [];
  let n = 0;
  for await (const _ of walk(fs, { issues })) n++;
  assert.ok(n > 0);
  assert.ok(issues.some((i) => i.code === 'walk.dir-cycle'));
});

test('a free (mode 0) inode named by a directory is CorruptError on stat', { skip }, async () => {
  const img = await image();
  const loc = await locate(img, '/etc/os-release');
  dv(img).setUint16(loc.at + 2, 0);
  resealInode(img, loc);
  await assert.rejects((await open(img)).stat('/etc/os-release'), (e: unknown) => e instanceof CorruptError && /not in use/.test(e.message));
});
