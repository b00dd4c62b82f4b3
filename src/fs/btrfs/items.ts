/**
 * btrfs item bodies: inode item, dir item / dir index, inode ref, file extent, root item, root ref.
 *
 * Reference: btrfs on-disk format, "Item types" (btrfs.readthedocs.io) and linux v6.6
 * include/uapi/linux/btrfs_tree.h (struct btrfs_inode_item, btrfs_dir_item, btrfs_inode_ref,
 * btrfs_file_extent_item, btrfs_root_item, btrfs_root_ref, BTRFS_FT_*), fs/btrfs/tree-checker.c
 * (check_dir_item, check_extent_data_item, check_inode_item).
 */
import { CorruptError } from '../../util/errors.ts';
import { view } from '../../util/bytes.ts';
import type { FileType } from '../index.ts';
import { DISK_KEY_BYTES, parseDiskKey, type Item, type Key } from './btree.ts';
import { fileTypeOfMode } from '../mode.ts';

export const INODE_ITEM_KEY = 1;
export const INODE_REF_KEY = 12;
export const DIR_ITEM_KEY = 84;
export const DIR_INDEX_KEY = 96;
export const EXTENT_DATA_KEY = 108;
export const ROOT_ITEM_KEY = 132;
export const ROOT_BACKREF_KEY = 144;
export const ROOT_REF_KEY = 156;

export const INODE_ITEM_BYTES = 160;
const DIR_ITEM_HEADER_BYTES = 30;
/** BTRFS_NAME_LEN. */
export const MAX_NAME_BYTES = 255;
/** Entries packed into one DIR_ITEM (hash collisions); the leaf size bounds it too. */
export const MAX_DIR_ITEM_ENTRIES = 1024;
const FILE_EXTENT_INLINE_DATA_OFFSET = 21;
const FILE_EXTENT_REG_BYTES = 53;
/** The root item before the v2 fields (btrfs_root_item up to `level`). */
const ROOT_ITEM_MIN_BYTES = 239;

/** BTRFS_FT_*: 0 unknown, 1 reg, 2 dir, 3 chrdev, 4 blkdev, 5 fifo, 6 sock, 7 symlink, 8 xattr. */
const FT_TYPES: readonly FileType[] = ['unknown', 'file', 'dir', 'chardev', 'blockdev', 'fifo', 'socket', 'symlink'];
/** BTRFS_FT_ENCRYPTED is a flag bit on top of the type. */
const FT_ENCRYPTED = 0x80;

export interface InodeItem {
  size: number;
  nbytes: number;
  nlink: number;
  uid: number;
  gid: number;
  mode: number;
  type: FileType;
  rdev: number;
  flags: bigint;
  atimeMs: number;
  ctimeMs: number;
  mtimeMs: number;
}

function u64n(dv: DataView, at: number, what: string, location: string): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptError(`btrfs ${what} ${v} out of range`, { location });
  return Number(v);
}

/** struct btrfs_timespec: sec (signed 64-bit) and nsec; sub-millisecond precision dropped. */
function timeMs(dv: DataView, at: number): number {
  const sec = Number(dv.getBigInt64(at, true));
  const nsec = Math.min(dv.getUint32(at + 8, true), 999_999_999);
  return sec * 1000 + Math.floor(nsec / 1_000_000);
}

export function parseInodeItem(b: Uint8Array, location: string): InodeItem {
  if (b.length < INODE_ITEM_BYTES) throw new CorruptError(`btrfs inode item of ${b.length} bytes (needs ${INODE_ITEM_BYTES})`, { location });
  const dv = view(b);
  const mode = dv.getUint32(52, true);
  return {
    size: u64n(dv, 16, 'inode size', location),
    nbytes: u64n(dv, 24, 'inode nbytes', location),
    nlink: dv.getUint32(40, true),
    uid: dv.getUint32(44, true),
    gid: dv.getUint32(48, true),
    mode,
    type: fileTypeOfMode(mode) ?? 'unknown',
    rdev: u64n(dv, 56, 'inode rdev', location),
    flags: dv.getBigUint64(64, true),
    atimeMs: timeMs(dv, 112),
    ctimeMs: timeMs(dv, 124),
    mtimeMs: timeMs(dv, 136),
  };
}

/**
 * Device numbers as btrfs stores them: the kernel's internal dev_t (MKDEV: major << 20 | minor),
 * which btrfs_inode_rdev holds and init_special_inode takes as is.
 */
export function decodeRdev(rdev: number): { major: number; minor: number } {
  return { major: Math.floor(rdev / 2 ** 20) & 0xfff, minor: rdev % 2 ** 20 };
}

export interface DirEntryItem {
  /** Where the entry points: an INODE_ITEM key, or a ROOT_ITEM key for a subvolume. */
  location: Key;
  type: FileType;
  name: Uint8Array;
}

/** The entries packed into a DIR_ITEM or DIR_INDEX item (a DIR_INDEX holds exactly one). */
export function parseDirItems(b: Uint8Array, location: string): DirEntryItem[] {
  const out: DirEntryItem[] = [];
  const dv = view(b);
  let at = 0;
  while (at < b.length) {
    if (out.length >= MAX_DIR_ITEM_ENTRIES) throw new CorruptError(`btrfs dir item holds more than ${MAX_DIR_ITEM_ENTRIES} entries`, { location });
    if (at + DIR_ITEM_HEADER_BYTES > b.length) throw new CorruptError('btrfs dir item truncated', { location });
    const dataLen = dv.getUint16(at + DISK_KEY_BYTES + 8, true);
    const nameLen = dv.getUint16(at + DISK_KEY_BYTES + 10, true);
    const rawType = dv.getUint8(at + DISK_KEY_BYTES + 12);
    if (nameLen === 0 || nameLen > MAX_NAME_BYTES) throw new CorruptError(`btrfs dir item name length ${nameLen}`, { location });
    const end = at + DIR_ITEM_HEADER_BYTES + nameLen + dataLen;
    if (end > b.length) throw new CorruptError(`btrfs dir item of ${nameLen}+${dataLen} bytes overruns its item`, { location });
    out.push({
      location: parseDiskKey(dv, at),
      type: FT_TYPES[rawType & ~FT_ENCRYPTED] ?? 'unknown',
      name: b.subarray(at + DIR_ITEM_HEADER_BYTES, at + DIR_ITEM_HEADER_BYTES + nameLen),
    });
    at = end;
  }
  return out;
}

export interface InodeRef {
  index: bigint;
  name: Uint8Array;
}

/** The names in an INODE_REF item (key objectid = inode, key offset = parent directory). */
export function parseInodeRefs(b: Uint8Array, location: string): InodeRef[] {
  const out: InodeRef[] = [];
  const dv = view(b);
  let at = 0;
  while (at < b.length) {
    if (out.length >= MAX_DIR_ITEM_ENTRIES) throw new CorruptError(`btrfs inode ref holds more than ${MAX_DIR_ITEM_ENTRIES} names`, { location });
    if (at + 10 > b.length) throw new CorruptError('btrfs inode ref truncated', { location });
    const nameLen = dv.getUint16(at + 8, true);
    if (nameLen === 0 || nameLen > MAX_NAME_BYTES || at + 10 + nameLen > b.length) throw new CorruptError(`btrfs inode ref name length ${nameLen} overruns its item`, { location });
    out.push({ index: dv.getBigUint64(at, true), name: b.subarray(at + 10, at + 10 + nameLen) });
    at += 10 + nameLen;
  }
  return out;
}

export const COMPRESSION = ['none', 'zlib', 'lzo', 'zstd'] as const;
export type Compression = (typeof COMPRESSION)[number];
export const FILE_EXTENT_INLINE = 0;
export const FILE_EXTENT_REG = 1;
export const FILE_EXTENT_PREALLOC = 2;

export interface FileExtent {
  /** File offset where the extent starts (the item's key offset). */
  fileOffset: number;
  kind: 'inline' | 'regular' | 'prealloc';
  compression: Compression;
  /** Uncompressed size of the whole (disk or inline) extent. */
  ramBytes: number;
  /** Inline: the stored (maybe compressed) bytes. */
  inline?: Uint8Array;
  /** Regular/prealloc: the disk extent (0 = a hole) and the slice of it this file uses. */
  diskBytenr: number;
  diskNumBytes: number;
  /** Offset into the decompressed disk extent. */
  offset: number;
  /** Bytes of the file this extent covers. */
  numBytes: number;
}

export function parseFileExtent(item: Item, location: string): FileExtent {
  const b = item.data;
  if (b.length < FILE_EXTENT_INLINE_DATA_OFFSET) throw new CorruptError(`btrfs file extent item of ${b.length} bytes`, { location });
  const dv = view(b);
  if (item.key.offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptError(`btrfs file extent offset ${item.key.offset} out of range`, { location });
  const fileOffset = Number(item.key.offset);
  const ramBytes = u64n(dv, 8, 'extent ram_bytes', location);
  const compressionCode = dv.getUint8(16);
  const compression = COMPRESSION[compressionCode];
  if (compression === undefined) throw new CorruptError(`btrfs file extent compression type ${compressionCode}`, { location });
  if (dv.getUint8(17) !== 0 || dv.getUint16(18, true) !== 0) throw new CorruptError('btrfs file extent uses encryption or another encoding', { location });
  const type = dv.getUint8(20);
  if (type === FILE_EXTENT_INLINE) {
    const inline = b.subarray(FILE_EXTENT_INLINE_DATA_OFFSET);
    return { fileOffset, kind: 'inline', compression, ramBytes, inline, diskBytenr: 0, diskNumBytes: 0, offset: 0, numBytes: compression === 'none' ? inline.length : ramBytes };
  }
  if (type !== FILE_EXTENT_REG && type !== FILE_EXTENT_PREALLOC) throw new CorruptError(`btrfs file extent type ${type}`, { location });
  if (b.length < FILE_EXTENT_REG_BYTES) throw new CorruptError(`btrfs regular file extent item of ${b.length} bytes`, { location });
  return {
    fileOffset,
    kind: type === FILE_EXTENT_REG ? 'regular' : 'prealloc',
    compression,
    ramBytes,
    diskBytenr: u64n(dv, 21, 'extent disk_bytenr', location),
    diskNumBytes: u64n(dv, 29, 'extent disk_num_bytes', location),
    offset: u64n(dv, 37, 'extent offset', location),
    numBytes: u64n(dv, 45, 'extent num_bytes', location),
  };
}

export interface RootItem {
  rootDirid: bigint;
  bytenr: number;
  level: number;
  flags: bigint;
  generation: number;
}

export const ROOT_SUBVOL_RDONLY = 1n;

export function parseRootItem(b: Uint8Array, location: string): RootItem {
  if (b.length < ROOT_ITEM_MIN_BYTES) throw new CorruptError(`btrfs root item of ${b.length} bytes (needs ${ROOT_ITEM_MIN_BYTES})`, { location });
  const dv = view(b);
  const o = INODE_ITEM_BYTES;
  return {
    generation: u64n(dv, o, 'root generation', location),
    rootDirid: dv.getBigUint64(o + 8, true),
    bytenr: u64n(dv, o + 16, 'root bytenr', location),
    flags: dv.getBigUint64(o + 48, true),
    level: dv.getUint8(o + 78),
  };
}

export interface RootRef {
  dirid: bigint;
  name: Uint8Array;
}

/** ROOT_REF (parent -> child) and ROOT_BACKREF (child -> parent) share struct btrfs_root_ref. */
export function parseRootRef(b: Uint8Array, location: string): RootRef {
  if (b.length < 18) throw new CorruptError('btrfs root ref truncated', { location });
  const dv = view(b);
  const nameLen = dv.getUint16(16, true);
  if (nameLen === 0 || nameLen > MAX_NAME_BYTES || 18 + nameLen > b.length) throw new CorruptError(`btrfs root ref name length ${nameLen} overruns its item`, { location });
  return { dirid: dv.getBigUint64(0, true), name: b.subarray(18, 18 + nameLen) };
}
