/**
 * Damaged and hostile images: real images patched byte by byte (or by `debugfs -w`). Each case
 * ends, within a time budget, in a typed error or a located issue — and what is still readable is
 * still read.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, mkdirSync, openSync, readSync, symlinkSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MemorySource } from '../../../src/disk/memory-source.ts';
import { openFile } from '../../../src/disk/file-source.ts';
import { openExt4 } from '../../../src/fs/ext4/index.ts';
import type { PathFileSystem } from '../../../src/fs/path-fs.ts';
import { walk } from '../../../src/fs/walk.ts';
import { BudgetError, CorruptError, NotThisFormatError, SourceError, UnsupportedError } from '../../../src/util/errors.ts';
import type { Issue } from '../../../src/util/issues.ts';
import { tempDir } from '../../helpers/tools.ts';
import { skipReason } from './conformance.ts';
import { debugfs, makeImage } from './images.ts';

const BLOCK = 4096;
const TIME_BUDGET_MS = 2000;
let t: ReturnType<typeof tempDir> | undefined;
let base = '';
let n = 0;

before(async () => {
  if (skipReason) return;
  t = tempDir('hullscan-ext4-corrupt-');
  const tree = join(t.dir, 'tree');
  mkdirSync(join(tree, 'etc'), { recursive: true });
  mkdirSync(join(tree, 'links'));
  mkdirSync(join(tree, 'owners/sticky'), { recursive: true });
  mkdirSync(join(tree, 'dir'));
  writeFileSync(join(tree, 'etc/shadow'), 'image-shadow\n');
  writeFileSync(join(tree, 'contiguous'), new Uint8Array(256 * 1024).fill(7));
  symlinkSync('short', join(tree, 'links/fast'));
  symlinkSync('/' + 'long-component/'.repeat(14), join(tree, 'links/slow'));
  const fd = openSync(join(tree, 'fragmented'), 'w');
  for (let i = 0; i < 8; i++) writeSync(fd, new Uint8Array(BLOCK).fill(i + 1), 0, BLOCK, i * 3 * BLOCK);
  closeSync(fd);
  for (let i = 0; i < 300; i++) writeFileSync(join(tree, 'dir', `name-${i}`), String(i));
  base = await makeImage(t.dir, tree, { name: 'base', sizeMiB: 32 }, 'base.img');
});

after(() => t?.cleanup());

/** A fresh copy of the base image for one test. */
function copy(): string {
  const img = join(t!.dir, `case-${n++}.img`);
  copyFileSync(base, img);
  return img;
}

function patch(img: string, offset: number, bytes: number[] | Uint8Array): void {
  const fd = openSync(img, 'r+');
  try {
    writeSync(fd, Uint8Array.from(bytes), 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

function peek(img: string, offset: number, length: number): Uint8Array {
  const fd = openSync(img, 'r');
  try {
    const b = new Uint8Array(length);
    readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

const le16 = (v: number) => [v & 0xff, (v >>> 8) & 0xff];
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/** Byte offset of a path's inode, as debugfs imap locates it. */
async function inodeOffset(img: string, path: string): Promise<{ ino: number; offset: number }> {
  const out = await debugfs(img, `imap ${path}`);
  const m = /Inode (\d+) is part of block group \d+\s+located at block (\d+), offset 0x([0-9a-f]+)/.exec(out);
  assert.ok(m, out);
  return { ino: Number(m[1]), offset: Number(m[2]) * BLOCK + parseInt(m[3]!, 16) };
}

async function firstBlock(img: string, path: string): Promise<number> {
  return Number((await debugfs(img, `blocks ${path}`)).trim().split(/\s+/)[0]);
}

async function withFs<T>(img: string, fn: (fs: PathFileSystem) => Promise<T>): Promise<T> {
  const started = performance.now();
  const src = await openFile(img);
  try {
    return await fn(await openExt4(src));
  } finally {
    await src.close();
    assert.ok(performance.now() - started < TIME_BUDGET_MS, `took ${performance.now() - started} ms`);
  }
}

function hasIssue(issues: Issue[], code: string, location?: RegExp): boolean {
  return issues.some((i) => i.code === code && (location === undefined || location.test(i.location ?? '')));
}

test('a journal needing recovery is reported and the image is still read as is', { skip: skipReason }, async () => {
  const img = copy();
  await debugfs(img, 'feature needs_recovery', true);
  await withFs(img, async (fs) => {
    assert.ok(hasIssue(fs.issues, 'ext4.journal-needs-recovery'), JSON.stringify(fs.issues));
    assert.equal(new TextDecoder().decode(await fs.readFile('/etc/shadow')), 'image-shadow\n');
  });
});

test('a flipped byte in an inode is a checksum issue naming the inode; its data is still read', { skip: skipReason }, async () => {
  const img = copy();
  const { ino, offset } = await inodeOffset(img, '/etc/shadow');
  patch(img, offset + 0x10, [peek(img, offset + 0x10, 1)[0]! ^ 0x40]); // a bit of i_mtime
  await withFs(img, async (fs) => {
    assert.equal(new TextDecoder().decode(await fs.readFile('/etc/shadow')), 'image-shadow\n');
    assert.ok(hasIssue(fs.issues, 'ext4.csum-inode', new RegExp(`^inode ${ino}$`)), JSON.stringify(fs.issues));
  });
});

test('checksum mismatches of the superblock, a group descriptor, a directory block and an extent block are located issues', { skip: skipReason }, async () => {
  const img = copy();
  // Locate everything first: debugfs refuses an image whose superblock checksum is wrong.
  const dirBlock = await firstBlock(img, '/links');
  const etb = Number(/\(ETB0\):(\d+)/.exec(await debugfs(img, 'stat /fragmented'))?.[1]);
  patch(img, 1024 + 0x2c, [0x5a]); // s_mtime
  patch(img, BLOCK + 0x0c, [peek(img, BLOCK + 0x0c, 1)[0]! ^ 1]); // group 0 free blocks count
  // The name "fast" of the first entry after "." and "..": flip its case.
  const nameAt = dirBlock * BLOCK + 24 + 8;
  assert.equal(new TextDecoder().decode(peek(img, nameAt, 4)), 'fast');
  patch(img, nameAt, new TextEncoder().encode('FAST'));
  const tail = 12 + 12 * new DataView(peek(img, etb * BLOCK + 4, 2).buffer).getUint16(0, true);
  patch(img, etb * BLOCK + tail, [0xde, 0xad, 0xbe, 0xef]);
  await withFs(img, async (fs) => {
    assert.deepEqual((await fs.readdir('/links')).map((e) => e.name).sort(), ['FAST', 'slow']);
    const frag = await fs.readFile('/fragmented');
    assert.equal(frag[0], 1);
    assert.equal(frag[21 * BLOCK], 8);
    assert.ok(hasIssue(fs.issues, 'ext4.csum-superblock'), 'superblock');
    assert.ok(hasIssue(fs.issues, 'ext4.csum-group-desc', /^group 0 /), 'group descriptor');
    assert.ok(hasIssue(fs.issues, 'ext4.csum-dirent', /block 0$/), 'directory block');
    assert.ok(hasIssue(fs.issues, 'ext4.csum-extent', new RegExp(`extent block ${etb}$`)), 'extent block');
  });
});

test('an unwritten (preallocated) extent reads as zeros although its blocks hold data', { skip: skipReason }, async () => {
  const img = copy();
  // i_block word 4 is ee_len | ee_start_hi << 16 of the root's first extent; +32768 marks it unwritten.
  const out = await debugfs(img, 'stat /contiguous');
  const m = /\(0-(\d+)\):(\d+)-/.exec(out);
  assert.ok(m, out);
  await debugfs(img, `sif /contiguous block[4] ${Number(m[1]) + 1 + 32768}`, true);
  await withFs(img, async (fs) => {
    const data = await fs.readFile('/contiguous');
    assert.equal(data.length, 256 * 1024);
    assert.ok(data.every((b) => b === 0));
    assert.deepEqual(fs.issues, []);
  });
  assert.match(await debugfs(img, 'stat /contiguous'), /\[u\]|Uninit/i);
});

test('a corrupted extent header is a CorruptError located at the inode; stat still works', { skip: skipReason }, async () => {
  const img = copy();
  const { ino, offset } = await inodeOffset(img, '/contiguous');
  patch(img, offset + 0x28, [0, 0]); // eh_magic
  await withFs(img, async (fs) => {
    assert.equal((await fs.stat('/contiguous')).size, 256 * 1024);
    await assert.rejects(fs.readFile('/contiguous'), (e: unknown) => e instanceof CorruptError && e.location === `inode ${ino} extent root` && /magic/.test(e.message));
  });
});

test('an extent index node pointing to itself ends in a CorruptError, not a loop', { skip: skipReason }, async () => {
  const img = copy();
  const { offset } = await inodeOffset(img, '/fragmented');
  const etb = Number(/\(ETB0\):(\d+)/.exec(await debugfs(img, 'stat /fragmented'))?.[1]);
  patch(img, offset + 0x28 + 6, le16(2)); // root depth 2: the ETB is now an index level
  // ETB: depth 1, one index entry (logical 0) pointing at the ETB itself.
  patch(img, etb * BLOCK, [0x0a, 0xf3, ...le16(1), ...le16(340), ...le16(1), 0, 0, 0, 0, ...le32(0), ...le32(etb), 0, 0, 0, 0]);
  await withFs(img, async (fs) => {
    await assert.rejects(fs.readFile('/fragmented'), (e: unknown) => e instanceof CorruptError && /twice/.test(e.message));
  });
});

test('absurd extent depth and out-of-range extent blocks are CorruptErrors', { skip: skipReason }, async () => {
  const img = copy();
  const frag = await inodeOffset(img, '/fragmented');
  patch(img, frag.offset + 0x28 + 6, le16(0xffff));
  const cont = await inodeOffset(img, '/contiguous');
  patch(img, cont.offset + 0x28 + 12 + 8, le32(0xfffffff0)); // ee_start_lo of the first extent
  await withFs(img, async (fs) => {
    await assert.rejects(fs.readFile('/fragmented'), (e: unknown) => e instanceof CorruptError && /depth 65535/.test(e.message));
    await assert.rejects(fs.readFile('/contiguous'), (e: unknown) => e instanceof CorruptError && /outside the filesystem/.test(e.message));
  });
});

test('absurd superblock counts are refused before anything is allocated', { skip: skipReason }, async () => {
  const cases: Array<[string, number, number[], new (...a: never[]) => Error]> = [
    ['inode count', 0x0, le32(0xffffffff), CorruptError],
    ['block count high word (64bit): millions of groups', 0x150, le32(0xffff), CorruptError],
    ['block size 2^30', 0x18, le32(20), CorruptError],
    ['inodes per group 0', 0x28, le32(0), CorruptError],
    ['inode size 3', 0x58, le16(3), CorruptError],
    ['group descriptor size 4096', 0xfe, le16(4096), CorruptError],
    ['compression incompat flag', 0x60, le32(0x1), UnsupportedError],
    ['unknown incompat flag', 0x60, le32(0x1000000), UnsupportedError],
  ];
  for (const [what, at, bytes, type] of cases) {
    const img = copy();
    const incompat = new DataView(peek(img, 1024 + 0x60, 4).buffer).getUint32(0, true);
    // Feature flags are added to the image's own.
    const value = at === 0x60 ? le32(incompat | new DataView(Uint8Array.from(bytes).buffer).getUint32(0, true)) : bytes;
    patch(img, 1024 + at, value);
    const src = await openFile(img);
    try {
      await assert.rejects(openExt4(src), (e: unknown) => e instanceof type, what);
    } finally {
      await src.close();
    }
  }
  const img = copy();
  patch(img, 1024 + 0x60, le32(new DataView(peek(img, 1024 + 0x60, 4).buffer).getUint32(0, true) | 0x1));
  const src = await openFile(img);
  await assert.rejects(openExt4(src), (e: unknown) => e instanceof UnsupportedError && /compression/.test(e.message));
  await src.close();
});

test('directory entries with rec_len 0 or past the block end are located issues; the listing ends there', { skip: skipReason }, async () => {
  for (const recLen of [0, 0xfffc]) {
    const img = copy();
    const b = await firstBlock(img, '/links');
    patch(img, b * BLOCK + 24 + 4, le16(recLen)); // the entry after "." and ".."
    await withFs(img, async (fs) => {
      assert.deepEqual(await fs.readdir('/links'), []);
      assert.ok(hasIssue(fs.issues, 'ext4.dirent', /block 0 offset 24$/), JSON.stringify(fs.issues));
    });
  }
});

test('a directory linked into itself: the walk terminates and reports the cycle', { skip: skipReason }, async () => {
  const img = copy();
  await debugfs(img, 'link /owners /owners/loop', true);
  await withFs(img, async (fs) => {
    const issues: Issue[] = [];
    const paths: string[] = [];
    for await (const e of walk(fs, { issues })) paths.push(e.path);
    assert.ok(paths.includes('/owners/loop'));
    assert.ok(!paths.includes('/owners/loop/sticky'));
    assert.ok(hasIssue(issues, 'walk.dir-cycle'));
  });
});

test('a symlink whose size claims more than 4096 bytes is a CorruptError, for readlink and resolution', { skip: skipReason }, async () => {
  const img = copy();
  await debugfs(img, 'sif /links/slow size 5000', true);
  await withFs(img, async (fs) => {
    await assert.rejects(fs.readlink('/links/slow'), CorruptError);
    await assert.rejects(fs.stat('/links/slow'), CorruptError);
    assert.equal((await fs.lstat('/links/slow')).size, 5000);
  });
});

test('a broken htree root falls back to a linear scan with an issue, and still finds names', { skip: skipReason }, async () => {
  const img = copy();
  const root = await firstBlock(img, '/dir');
  patch(img, root * BLOCK + 0x20, le16(3)); // dx_root limit
  await withFs(img, async (fs) => {
    assert.equal(new TextDecoder().decode(await fs.readFile('/dir/name-123')), '123');
    assert.equal((await fs.readdir('/dir')).length, 300);
    assert.ok(hasIssue(fs.issues, 'ext4.htree'), JSON.stringify(fs.issues));
  });
});

test('encrypted and casefolded directories are UnsupportedError naming the inode, with an issue', { skip: skipReason }, async () => {
  const img = copy();
  await debugfs(img, 'sif /dir flags 0x81800', true);
  await debugfs(img, 'sif /owners flags 0x40080000', true);
  await withFs(img, async (fs) => {
    const dir = (await fs.lstat('/dir')).ino;
    await assert.rejects(fs.readdir('/dir'), (e: unknown) => e instanceof UnsupportedError && e.message.includes(`inode ${dir}`) && /encrypted/.test(e.message));
    await assert.rejects(fs.stat('/dir/name-1'), UnsupportedError);
    await assert.rejects(fs.readdir('/owners'), (e: unknown) => e instanceof UnsupportedError && /casefold/.test(e.message));
    assert.ok(hasIssue(fs.issues, 'ext4.encrypted', new RegExp(`^inode ${dir}$`)));
    assert.ok(hasIssue(fs.issues, 'ext4.casefold'));
  });
});

test('a truncated image is reported at open; reads past its end are SourceErrors', { skip: skipReason }, async () => {
  const img = copy();
  const { offset } = await inodeOffset(img, '/contiguous');
  const dataBlock = new DataView(peek(img, offset + 0x28 + 12 + 8, 4).buffer).getUint32(0, true);
  truncateSync(img, dataBlock * BLOCK);
  await withFs(img, async (fs) => {
    assert.ok(hasIssue(fs.issues, 'ext4.truncated'));
    await assert.rejects(fs.readFile('/contiguous'), SourceError);
  });
});

test('bytes without the ext magic are NotThisFormatError; a tiny source too', async () => {
  await assert.rejects(openExt4(new MemorySource(new Uint8Array(1 << 20))), NotThisFormatError);
  await assert.rejects(openExt4(new MemorySource(new Uint8Array(1500))), NotThisFormatError);
});

test('a directory bigger than the directory budget is a BudgetError, not an allocation', { skip: skipReason }, async () => {
  const img = copy();
  await debugfs(img, 'sif /dir size 0x7fffffffff', true);
  await withFs(img, async (fs) => {
    await assert.rejects(fs.readdir('/dir'), BudgetError);
  });
});
