/**
 * Inodes: location in the group's inode table, fields, timestamps, device numbers.
 *
 * Spec: Linux Documentation/filesystems/ext4/inodes.rst ("Index Nodes", struct ext4_inode;
 * "Inode Size" for i_extra_isize; "Inode Timestamps" for the *_extra epoch bits and nanoseconds;
 * "i_block" for device numbers and fast symlinks) and ifork.rst. Old/new device encoding as in
 * old_decode_dev()/new_decode_dev() (include/linux/kdev_t.h).
 */
import { view } from '../../util/bytes.ts';
import { CorruptError } from '../../util/errors.ts';
import type { FileType, Stat } from '../index.ts';
import type { GroupTable } from './group-desc.ts';
import { INODE_TABLE_CHUNK_BYTES, MIN_INODE_BYTES } from './limits.ts';
import type { Superblock } from './superblock.ts';
import { fileTypeOfMode } from '../mode.ts';

export const ROOT_INO = 2;
/** i_block: 15 little-endian u32s, 60 bytes. */
export const I_BLOCK_OFFSET = 0x28;
export const I_BLOCK_BYTES = 60;

export const INODE_FLAGS = {
  encrypt: 0x800,
  index: 0x1000,
  extents: 0x80000,
  eaInode: 0x200000,
  inlineData: 0x10000000,
  casefold: 0x40000000,
} as const;

export interface Timestamp {
  sec: number;
  nsec: number;
}

export interface Ext4Inode {
  ino: number;
  mode: number;
  type: FileType;
  uid: number;
  gid: number;
  size: number;
  links: number;
  flags: number;
  generation: number;
  extraIsize: number;
  atime: Timestamp;
  ctime: Timestamp;
  mtime: Timestamp;
  /** The 60 bytes of i_block (extent root, block map, inline data, symlink, device). */
  iBlock: Uint8Array;
  /** The whole on-disk inode (in-inode extended attributes live after i_extra_isize). */
  raw: Uint8Array;
}

export interface InodeLocation {
  /** Absolute byte offset of the chunk of inode table holding the inode. */
  chunkOffset: number;
  chunkBytes: number;
  /** A stable key of the chunk for the cache. */
  chunkKey: number;
  /** The inode's offset inside the chunk. */
  offsetInChunk: number;
}

/** Where inode `ino` is stored: a 64 KiB-aligned chunk of its group's inode table. */
export function inodeLocation(sb: Superblock, groups: GroupTable, ino: number): InodeLocation {
  if (!Number.isInteger(ino) || ino < 1 || ino > sb.inodesCount) {
    throw new CorruptError(`inode number ${ino} is outside 1..${sb.inodesCount}`, { location: `inode ${ino}` });
  }
  const group = Math.floor((ino - 1) / sb.inodesPerGroup);
  const index = (ino - 1) % sb.inodesPerGroup;
  const tableBytes = sb.inodesPerGroup * sb.inodeSize;
  const tableBlock = groups.inodeTable[group]!;
  if (tableBlock < sb.firstDataBlock || tableBlock + Math.ceil(tableBytes / sb.blockSize) > sb.blocksCount) {
    throw new CorruptError(`inode table of group ${group} at block ${tableBlock} is outside the filesystem`, { location: `inode ${ino} (group ${group})` });
  }
  const byteInTable = index * sb.inodeSize;
  const chunk = Math.floor(byteInTable / INODE_TABLE_CHUNK_BYTES);
  const chunksPerGroup = Math.ceil(tableBytes / INODE_TABLE_CHUNK_BYTES);
  return {
    chunkOffset: tableBlock * sb.blockSize + chunk * INODE_TABLE_CHUNK_BYTES,
    chunkBytes: Math.min(INODE_TABLE_CHUNK_BYTES, tableBytes - chunk * INODE_TABLE_CHUNK_BYTES),
    chunkKey: group * chunksPerGroup + chunk,
    offsetInChunk: byteInTable - chunk * INODE_TABLE_CHUNK_BYTES,
  };
}

/** The byte range of an inode-table chunk from its cache key (the inverse of inodeLocation). */
export function chunkRange(sb: Superblock, groups: GroupTable, key: number): { offset: number; bytes: number } {
  const tableBytes = sb.inodesPerGroup * sb.inodeSize;
  const chunksPerGroup = Math.ceil(tableBytes / INODE_TABLE_CHUNK_BYTES);
  const group = Math.floor(key / chunksPerGroup);
  const chunk = key % chunksPerGroup;
  return {
    offset: groups.inodeTable[group]! * sb.blockSize + chunk * INODE_TABLE_CHUNK_BYTES,
    bytes: Math.min(INODE_TABLE_CHUNK_BYTES, tableBytes - chunk * INODE_TABLE_CHUNK_BYTES),
  };
}

/** Decodes one raw inode (a private copy of s_inode_size bytes). */
export function parseInode(sb: Superblock, ino: number, raw: Uint8Array): Ext4Inode {
  const dv = view(raw);
  const u32 = (o: number) => dv.getUint32(o, true);
  const u16 = (o: number) => dv.getUint16(o, true);
  const location = `inode ${ino}`;
  let extraIsize = 0;
  if (raw.length > MIN_INODE_BYTES) {
    extraIsize = u16(0x80);
    if (MIN_INODE_BYTES + extraIsize > raw.length || (extraIsize & 3) !== 0) {
      throw new CorruptError(`inode ${ino}: i_extra_isize ${extraIsize} does not fit a ${raw.length}-byte inode`, { location });
    }
  }
  const mode = u16(0x0);
  const type = fileTypeOfMode(mode) ?? 'unknown';
  // i_size_high is defined for every file type since large_file / largedir; 2^32 blocks of
  // 64 KiB (2^48 bytes) is the most an extent or block map addresses.
  const size = u32(0x4) + u32(0x6c) * 2 ** 32;
  if (size > 2 ** 32 * sb.blockSize) throw new CorruptError(`inode ${ino}: size ${size} exceeds 2^32 blocks`, { location });
  const fits = (fieldOffset: number) => MIN_INODE_BYTES + extraIsize >= fieldOffset + 4;
  const time = (secOffset: number, extraOffset: number): Timestamp => {
    const sec = dv.getInt32(secOffset, true);
    if (!fits(extraOffset)) return { sec, nsec: 0 };
    const extra = u32(extraOffset);
    // The two low bits extend the signed 32-bit seconds by multiples of 2^32 (year 2446).
    return { sec: sec + (extra & 3) * 2 ** 32, nsec: Math.min(extra >>> 2, 999_999_999) };
  };
  return {
    ino,
    mode,
    type,
    uid: u16(0x2) | (u16(0x78) << 16),
    gid: u16(0x18) | (u16(0x7a) << 16),
    size,
    links: u16(0x1a),
    flags: u32(0x20),
    generation: u32(0x64),
    extraIsize,
    atime: time(0x8, 0x8c),
    ctime: time(0xc, 0x84),
    mtime: time(0x10, 0x88),
    iBlock: raw.subarray(I_BLOCK_OFFSET, I_BLOCK_OFFSET + I_BLOCK_BYTES),
    raw,
  };
}

/** i_block[0] (old 8:8 encoding) or, when it is 0, i_block[1] (new 12:20 encoding). */
export function deviceNumber(inode: Ext4Inode): { major: number; minor: number } {
  const dv = view(inode.iBlock);
  const old = dv.getUint32(0, true);
  if (old !== 0) return { major: (old >>> 8) & 0xff, minor: old & 0xff };
  const dev = dv.getUint32(4, true);
  return { major: (dev & 0xfff00) >>> 8, minor: (dev & 0xff) | ((dev >>> 12) & 0xfff00) };
}

function ms(t: Timestamp): number {
  return t.sec * 1000 + Math.floor(t.nsec / 1_000_000);
}

export function toStat(inode: Ext4Inode): Stat {
  const st: Stat = {
    type: inode.type,
    mode: inode.mode & 0o7777,
    uid: inode.uid,
    gid: inode.gid,
    size: inode.size,
    nlink: inode.links,
    ino: inode.ino,
    mtimeMs: ms(inode.mtime),
    ctimeMs: ms(inode.ctime),
    atimeMs: ms(inode.atime),
  };
  if (inode.type === 'chardev' || inode.type === 'blockdev') st.rdev = deviceNumber(inode);
  return st;
}

/** A fast symlink keeps its target in i_block (ext4_inode_is_fast_symlink / ext2fs_is_fast_symlink). */
export function isFastSymlink(inode: Ext4Inode): boolean {
  return inode.type === 'symlink' && (inode.flags & INODE_FLAGS.inlineData) === 0 && inode.size > 0 && inode.size < I_BLOCK_BYTES;
}
