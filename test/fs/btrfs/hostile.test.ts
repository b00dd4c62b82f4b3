/**
 * Hostile btrfs input, built byte by byte on a real small image (mkfs.btrfs --rootdir of
 * smallTree(), packed: see packed.ts): each broken structure must end in a typed error or a
 * located issue, quickly, and never in a crash or a hang.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemorySource } from '../../../src/disk/memory-source.ts';
import { parseNode, type TreeNode } from '../../../src/fs/btrfs/btree.ts';
import { decodeIno, openBtrfs, type BtrfsReader } from '../../../src/fs/btrfs/index.ts';
import { DIR_INDEX_KEY, EXTENT_DATA_KEY, INODE_ITEM_KEY } from '../../../src/fs/btrfs/items.ts';
import { SUPER_INFO_BYTES, SUPER_MIRROR_OFFSETS } from '../../../src/fs/btrfs/superblock.ts';
import { CorruptError, NotThisFormatError, UnsupportedError } from '../../../src/util/errors.ts';
import { FsPathError } from '../../../src/fs/errors.ts';
import { view } from '../../../src/util/bytes.ts';
import { FixtureUnavailableError, fsImage, smallTree } from '../../fixtures/node-image.ts';
import { needTools } from '../../helpers/tools.ts';
import { openPacked, packedAt, packImage, reseal, type PackedImage } from './packed.ts';
import { withinBudget } from '../../helpers/fuzz.ts';

/** Each hostile case must be refused (or reported) quickly. */
const CASE_BUDGET_MS = 2000;
const PRIMARY = SUPER_MIRROR_OFFSETS[0];
const SYS_CHUNK_ARRAY = 0x32b;
/** A file of the small tree stored in regular (data chunk) extents. */
const BIG = '/var/lib/hullscan-test/big-1MiB.bin';

let img: PackedImage | undefined;
let treeRoot: string | undefined;
let skip: string | false = needTools('btrfs', 'mkfs.btrfs');

before(async () => {
  if (skip) return;
  try {
    treeRoot = await smallTree();
    img = await packImage(await fsImage('btrfs', smallTree()));
  } catch (err) {
    if (!(err instanceof FixtureUnavailableError)) throw err;
    skip = err.message;
  }
});

/** Skips a test whose fixture or tools are missing (known only after `before` ran). */
function ready(t: { skip(message?: string): void }): boolean {
  if (skip || !img) {
    t.skip(skip || 'no image');
    return false;
  }
  return true;
}

/** One hostile case, failed when it runs past CASE_BUDGET_MS. */
function within<T>(p: Promise<T>): Promise<T> {
  return withinBudget(p, CASE_BUDGET_MS);
}

/** A fresh copy of the packed bytes, and a DataView at a physical offset. */
function copy(): { bytes: Uint8Array; at: (physical: number) => number; dv: DataView } {
  const bytes = img!.bytes.slice();
  return { bytes, at: (p) => packedAt(img!.layout, p), dv: view(bytes) };
}

async function sb(): Promise<BtrfsReader['sb']> {
  return ((await openPacked(img!)).reader as BtrfsReader).sb;
}

/** Every tree block of one tree (by header owner), parsed, with its physical offset. */
async function blocksOf(owner: bigint): Promise<Array<{ node: TreeNode; physical: number }>> {
  const s = await sb();
  const out: Array<{ node: TreeNode; physical: number }> = [];
  for (const [logical, physical] of img!.layout.nodes) {
    const at = packedAt(img!.layout, physical);
    const node = parseNode(img!.bytes.subarray(at, at + img!.layout.nodeSize), logical, s);
    if (node.owner === owner) out.push({ node, physical });
  }
  return out;
}

interface FoundItem {
  leafPhys: number;
  itemPhys: number;
  slot: number;
  size: number;
}

/** Physical offsets of every item matching, and of their leaves. */
async function findItems(owner: bigint, match: (k: TreeNode['keys'][number], data: Uint8Array) => boolean): Promise<FoundItem[]> {
  const out: FoundItem[] = [];
  for (const { node, physical } of await blocksOf(owner)) {
    if (node.level !== 0) continue;
    for (let i = 0; i < node.keys.length; i++) {
      const start = node.itemStart[i]!;
      if (match(node.keys[i]!, node.block.subarray(start, start + node.itemSize[i]!))) out.push({ leafPhys: physical, itemPhys: physical + start, slot: i, size: node.itemSize[i]! });
    }
  }
  return out;
}

async function findItem(owner: bigint, match: (k: TreeNode['keys'][number], data: Uint8Array) => boolean): Promise<FoundItem> {
  const found = await findItems(owner, match);
  if (!found[0]) throw new Error('item not found');
  return found[0];
}

const isDataChunk = (k: TreeNode['keys'][number], data: Uint8Array) => k.type === 228 && (view(data).getUint32(24, true) & 1) === 1;

function resealNode(bytes: Uint8Array, physical: number): void {
  reseal(bytes, packedAt(img!.layout, physical), img!.layout.nodeSize);
}

function resealPrimary(bytes: Uint8Array): void {
  reseal(bytes, packedAt(img!.layout, PRIMARY), SUPER_INFO_BYTES);
}

function flip(bytes: Uint8Array, at: number, mask: number): void {
  bytes[at] = bytes[at]! ^ mask;
}

/** The mirror copies: broken so that only the primary counts. */
function breakMirrors(bytes: Uint8Array): void {
  for (const s of img!.layout.supers) if (s !== PRIMARY) flip(bytes, packedAt(img!.layout, s) + 0x40, 0xff);
}

test('the unmodified small image reads cleanly, symlinks resolve inside it', async (t) => {
  if (!ready(t)) return;
  const fs = await openPacked(img!);
  assert.deepEqual(fs.issues, []);
  const shadow = readFileSync(join(treeRoot!, 'etc/shadow'));
  // Absolute and escaping relative links land on the image's /etc/shadow, never the host's.
  assert.deepEqual(Buffer.from(await fs.readFile('/var/lib/hullscan-test/links/absolute-to-shadow')), shadow);
  assert.deepEqual(Buffer.from(await fs.readFile('/var/lib/hullscan-test/links/escape-relative')), shadow);
  assert.equal(await fs.realpath('/var/lib/hullscan-test/links/escape-relative'), '/etc/shadow');
  await assert.rejects(fs.readFile('/var/lib/hullscan-test/links/loop-a'), (e: unknown) => e instanceof FsPathError && e.code === 'ELOOP');
  await assert.rejects(fs.readFile('/var/lib/hullscan-test/links/dangling'), (e: unknown) => e instanceof FsPathError && e.code === 'ENOENT');
});

test('bytes without the _BHRfS_M magic are NotThisFormatError', async (t) => {
  if (!ready(t)) return;
  await assert.rejects(openBtrfs(new MemorySource(new Uint8Array(1 << 20))), NotThisFormatError);
  await assert.rejects(openBtrfs(new MemorySource(new Uint8Array(100))), NotThisFormatError);
  const c = copy();
  c.bytes[c.at(PRIMARY) + 0x40] = 0x41;
  await assert.rejects(openPacked(img!, c.bytes), NotThisFormatError);
});

test('a primary superblock with a bad checksum is a located issue; the mirror is used', async (t) => {
  if (!ready(t)) return;
  const c = copy();
  flip(c.bytes, c.at(PRIMARY) + 0x12b, 1); // a label byte, checksum not updated
  const fs = await within(openPacked(img!, c.bytes));
  assert.deepEqual(fs.issues.map((i) => [i.code, i.location]), [
    ['btrfs.superblock-primary', `superblock at byte ${PRIMARY}`],
    ['btrfs.superblock-mirror-used', `superblock at byte ${SUPER_MIRROR_OFFSETS[1]}`],
  ]);
  assert.ok((await fs.readdir('/etc')).length > 3);
  breakMirrors(c.bytes);
  await assert.rejects(openPacked(img!, c.bytes), CorruptError);
});

test('an unknown or unsupported incompatible feature bit is UnsupportedError naming it', async (t) => {
  if (!ready(t)) return;
  const c = copy();
  c.dv.setUint32(c.at(PRIMARY) + 0xbc + 4, 0x100, true); // bit 40
  resealPrimary(c.bytes);
  await assert.rejects(openPacked(img!, c.bytes), (e: unknown) => e instanceof UnsupportedError && /0x10000000000/.test(e.message));
  const d = copy();
  d.dv.setUint32(d.at(PRIMARY) + 0xbc, d.dv.getUint32(d.at(PRIMARY) + 0xbc, true) | (1 << 13), true);
  resealPrimary(d.bytes);
  await assert.rejects(openPacked(img!, d.bytes), (e: unknown) => e instanceof UnsupportedError && /extent_tree_v2/.test(e.message));
});

test('an unreplayed log tree and a multi-device filesystem are reported, and reading goes on', async (t) => {
  if (!ready(t)) return;
  const c = copy();
  c.dv.setBigUint64(c.at(PRIMARY) + 0x60, 12345n * 4096n, true); // log_root
  c.dv.setBigUint64(c.at(PRIMARY) + 0x88, 2n, true); // num_devices
  resealPrimary(c.bytes);
  const fs = await within(openPacked(img!, c.bytes));
  assert.deepEqual(fs.issues.map((i) => i.code).sort(), ['btrfs.log-tree', 'btrfs.multi-device']);
  assert.ok((await fs.readFile('/etc/os-release')).length > 0);
});

test('tree levels above 7 are CorruptError (superblock and tree block)', async (t) => {
  if (!ready(t)) return;
  const c = copy();
  c.bytes[c.at(PRIMARY) + 0xc6] = 9; // root_level
  resealPrimary(c.bytes);
  breakMirrors(c.bytes);
  await assert.rejects(within(openPacked(img!, c.bytes)), (e: unknown) => e instanceof CorruptError && /level 9 exceeds 7/.test(e.message));

  const d = copy();
  const fsRoot = await ((await openPacked(img!)).reader as BtrfsReader).subvolumeRoot(5);
  const phys = img!.layout.nodes.get(fsRoot.bytenr)!;
  d.bytes[d.at(phys) + 0x64] = 9;
  resealNode(d.bytes, phys);
  const fs = await openPacked(img!, d.bytes);
  await assert.rejects(within(fs.readdir('/')), CorruptError);
  assert.ok(fs.issues.some((i) => i.code === 'btrfs.node-invalid' && i.location === `tree block at logical ${fsRoot.bytenr}`));
});

test('a tree block pointing at itself (a cycle) is CorruptError, not a hang', async (t) => {
  if (!ready(t)) return;
  const fsRoot = await ((await openPacked(img!)).reader as BtrfsReader).subvolumeRoot(5);
  assert.ok(fsRoot.level >= 1, 'the small image has an internal fs tree node');
  const c = copy();
  const phys = img!.layout.nodes.get(fsRoot.bytenr)!;
  const nritems = c.dv.getUint32(c.at(phys) + 0x60, true);
  for (let i = 0; i < nritems; i++) c.dv.setBigUint64(c.at(phys) + 101 + i * 33 + 17, BigInt(fsRoot.bytenr), true);
  resealNode(c.bytes, phys);
  const fs = await openPacked(img!, c.bytes);
  await assert.rejects(within(fs.readdir('/etc')), CorruptError);
  assert.ok(fs.issues.some((i) => i.code === 'btrfs.node-level'));
});

test('a tree block with a bad checksum: a located issue and CorruptError for reads through it', async (t) => {
  if (!ready(t)) return;
  const s = await sb();
  const { leafPhys } = await findItem(5n, (k) => k.objectid === 256n && k.type === INODE_ITEM_KEY);
  const logical = [...img!.layout.nodes].find(([, p]) => p === leafPhys)![0];
  const c = copy();
  flip(c.bytes, c.at(leafPhys) + s.nodeSize - 1, 0x55);
  const fs = await openPacked(img!, c.bytes);
  await assert.rejects(within(fs.stat('/')), CorruptError);
  assert.deepEqual(fs.issues.filter((i) => i.code === 'btrfs.node-csum').map((i) => i.location), [`tree block at logical ${logical}`]);
});

test('a chunk mapped past the end of the volume is CorruptError', async (t) => {
  if (!ready(t)) return;
  // The system chunk in the superblock's sys_chunk_array: the chunk tree becomes unreachable.
  const c = copy();
  c.dv.setBigUint64(c.at(PRIMARY) + SYS_CHUNK_ARRAY + 17 + 48 + 8, 1n << 40n, true);
  resealPrimary(c.bytes);
  breakMirrors(c.bytes);
  await assert.rejects(within(openPacked(img!, c.bytes)), (e: unknown) => e instanceof CorruptError && /past the end/.test(e.message));

  // A data chunk in the chunk tree: the filesystem opens, file data reads fail typed.
  const d = copy();
  const chunks = await findItems(3n, isDataChunk);
  for (const chunk of chunks) {
    d.dv.setBigUint64(d.at(chunk.itemPhys) + 48 + 8, 1n << 40n, true);
    resealNode(d.bytes, chunk.leafPhys);
  }
  const fs = await openPacked(img!, d.bytes);
  await assert.rejects(within(fs.readFile(BIG)), (e: unknown) => e instanceof CorruptError && /past the end/.test(e.message));
  assert.ok((await fs.readFile('/etc/hostname')).length > 0, 'inline data does not need the data chunk');
});

test('a striped (RAID0) chunk is reported and its reads are UnsupportedError naming the profile', async (t) => {
  if (!ready(t)) return;
  const c = copy();
  for (const chunk of await findItems(3n, isDataChunk)) {
    c.dv.setUint32(c.at(chunk.itemPhys) + 24, 1 | 8, true); // DATA | RAID0
    resealNode(c.bytes, chunk.leafPhys);
  }
  const fs = await openPacked(img!, c.bytes);
  assert.ok(fs.issues.some((i) => i.code === 'btrfs.profile-unsupported' && /RAID0/.test(i.message)));
  await assert.rejects(within(fs.readFile(BIG)), (e: unknown) => e instanceof UnsupportedError && /RAID0/.test(e.message));
});

test('absurd item sizes: a leaf item past the leaf, a dir entry name past its item', async (t) => {
  if (!ready(t)) return;
  const c = copy();
  const inode = await findItem(5n, (k) => k.objectid === 256n && k.type === INODE_ITEM_KEY);
  const sizeField = c.at(inode.leafPhys) + 101 + inode.slot * 25 + 21;
  c.dv.setUint32(sizeField, 0xffffffff, true);
  resealNode(c.bytes, inode.leafPhys);
  const fs = await openPacked(img!, c.bytes);
  await assert.rejects(within(fs.stat('/')), (e: unknown) => e instanceof CorruptError && /outside the leaf/.test(e.message));

  const d = copy();
  const rootObj = BigInt(decodeIno((await (await openPacked(img!)).stat('/')).ino).objectId);
  const before = (await (await openPacked(img!)).readdir('/')).length;
  const idx = await findItem(5n, (k) => k.objectid === rootObj && k.type === DIR_INDEX_KEY);
  d.dv.setUint16(d.at(idx.itemPhys) + 27, 0xffff, true); // name_len
  resealNode(d.bytes, idx.leafPhys);
  const fs2 = await openPacked(img!, d.bytes);
  assert.equal((await within(fs2.readdir('/'))).length, before - 1, 'the broken entry is left out');
  assert.ok(fs2.issues.some((i) => i.code === 'btrfs.dir-entry' && /name length 65535/.test(i.message)));
});

test('a name that is not UTF-8 is listed with U+FFFD and still found by lookup', async (t) => {
  if (!ready(t)) return;
  const fs0 = await openPacked(img!);
  const etc = BigInt(decodeIno((await fs0.stat('/etc')).ino).objectId);
  const c = copy();
  const idx = await findItem(5n, (k, data) => k.objectid === etc && k.type === DIR_INDEX_KEY && new TextDecoder().decode(data.subarray(30)) === 'hostname');
  c.bytes[c.at(idx.itemPhys) + 30] = 0xff; // DIR_INDEX name only: the DIR_ITEM hash no longer matches it
  resealNode(c.bytes, idx.leafPhys);
  const fs = await openPacked(img!, c.bytes);
  const names = (await fs.readdir('/etc')).map((e) => e.name);
  assert.ok(names.includes('\uFFFDostname'), names.join(','));
  assert.equal((await fs.stat('/etc/\uFFFDostname')).ino, (await fs0.stat('/etc/hostname')).ino);
});

test('a compressed extent claiming more than 128 KiB uncompressed is CorruptError', async (t) => {
  if (!ready(t)) return;
  const fs0 = await openPacked(img!);
  const big = BigInt(decodeIno((await fs0.stat(BIG)).ino).objectId);
  const c = copy();
  const ext = await findItem(5n, (k) => k.objectid === big && k.type === EXTENT_DATA_KEY);
  c.dv.setBigUint64(c.at(ext.itemPhys) + 8, 1n << 30n, true); // ram_bytes
  c.bytes[c.at(ext.itemPhys) + 16] = 1; // zlib
  resealNode(c.bytes, ext.leafPhys);
  const fs = await openPacked(img!, c.bytes);
  await assert.rejects(within(fs.readFile(BIG)), (e: unknown) => e instanceof CorruptError && /131072/.test(e.message));
});

test('an inline symlink whose data is zeroed reads as the kernel reads it: up to the first NUL', async (t) => {
  if (!ready(t)) return;
  const LINK = '/var/lib/hullscan-test/links/fast-symlink';
  const fs0 = await openPacked(img!);
  assert.equal(await fs0.readlink(LINK), 'original.txt');
  const link = BigInt(decodeIno((await fs0.lstat(LINK)).ino).objectId);
  const ext = await findItem(5n, (k) => k.objectid === link && k.type === EXTENT_DATA_KEY);
  // An inline file extent item: 21 bytes of header, then the data ('original.txt'; mkfs.btrfs
  // --rootdir stores its terminating NUL too).
  const INLINE_DATA = 21;
  assert.ok(ext.size >= INLINE_DATA + 'original.txt'.length, `inline item of ${ext.size} bytes`);

  const zeroed = copy();
  zeroed.bytes.fill(0, zeroed.at(ext.itemPhys) + INLINE_DATA, zeroed.at(ext.itemPhys) + INLINE_DATA + 'original.txt'.length);
  resealNode(zeroed.bytes, ext.leafPhys);
  const fs1 = await openPacked(img!, zeroed.bytes);
  // readlink(2) copies strlen(link) bytes (readlink_copy in fs/namei.c): an all-NUL target is ''.
  assert.equal(await fs1.readlink(LINK), '');
  assert.equal((await fs1.lstat(LINK)).size, 12, 'the inode keeps its size, as stat(2) shows it');
  await assert.rejects(fs1.stat(LINK), (e: unknown) => e instanceof FsPathError && e.code === 'ENOENT');

  const cut = copy();
  cut.bytes[cut.at(ext.itemPhys) + INLINE_DATA + 'original'.length] = 0;
  resealNode(cut.bytes, ext.leafPhys);
  const fs2 = await openPacked(img!, cut.bytes);
  assert.equal(await fs2.readlink(LINK), 'original');
});
