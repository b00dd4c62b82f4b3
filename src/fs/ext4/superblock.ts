/**
 * The ext2/3/4 superblock: 1024 bytes at byte 1024 of the volume, little-endian.
 *
 * Spec: Linux Documentation/filesystems/ext4/super.rst ("Super Block", struct ext4_super_block),
 * kernel v6.x; feature flags as in fs/ext4/ext4.h (EXT4_FEATURE_*). Checks follow
 * ext4_fill_super() where they protect a reader (sizes, counts, geometry).
 */
import { cstring, uuidBE, view } from '../../util/bytes.ts';
import { CorruptError, UnsupportedError } from '../../util/errors.ts';
import {
  MAX_BLOCK_BYTES,
  MAX_GROUP_DESC_BYTES,
  MAX_GROUP_TABLE_BYTES,
  MAX_INODE_BYTES,
  MIN_BLOCK_BYTES,
  MIN_INODE_BYTES,
} from './limits.ts';

export const SUPERBLOCK_OFFSET = 1024;
export const SUPERBLOCK_BYTES = 1024;
export const EXT4_MAGIC = 0xef53;
const MAGIC_OFFSET = 0x38;
/** s_checksum: crc32c of the superblock up to this offset. */
export const SUPERBLOCK_CSUM_OFFSET = 0x3fc;

export const COMPAT = {
  hasJournal: 0x4,
  extAttr: 0x8,
  resizeInode: 0x10,
  dirIndex: 0x20,
  sparseSuper2: 0x200,
} as const;

export const INCOMPAT = {
  compression: 0x1,
  filetype: 0x2,
  recover: 0x4,
  journalDev: 0x8,
  metaBg: 0x10,
  extents: 0x40,
  bit64: 0x80,
  mmp: 0x100,
  flexBg: 0x200,
  eaInode: 0x400,
  dirData: 0x1000,
  csumSeed: 0x2000,
  largeDir: 0x4000,
  inlineData: 0x8000,
  encrypt: 0x10000,
  casefold: 0x20000,
} as const;

export const RO_COMPAT = {
  sparseSuper: 0x1,
  largeFile: 0x2,
  hugeFile: 0x8,
  gdtCsum: 0x10,
  extraIsize: 0x40,
  bigalloc: 0x200,
  metadataCsum: 0x400,
} as const;

/** Incompat features whose on-disk changes this reader understands (or that do not change reads). */
const KNOWN_INCOMPAT =
  INCOMPAT.filetype | INCOMPAT.recover | INCOMPAT.metaBg | INCOMPAT.extents | INCOMPAT.bit64 | INCOMPAT.mmp |
  INCOMPAT.flexBg | INCOMPAT.eaInode | INCOMPAT.csumSeed | INCOMPAT.largeDir | INCOMPAT.inlineData |
  INCOMPAT.encrypt | INCOMPAT.casefold;

const INCOMPAT_NAMES: Record<number, string> = {
  0x1: 'compression',
  0x8: 'journal_dev (this is an external journal device, not a filesystem)',
  0x1000: 'dirdata (Lustre directory data)',
};

/** s_flags: which char signedness the htree hash of this filesystem was computed with. */
export const SB_FLAG_SIGNED_HASH = 0x1;
export const SB_FLAG_UNSIGNED_HASH = 0x2;
const CHECKSUM_TYPE_CRC32C = 1;
/** s_state bits. */
const STATE_VALID = 0x1;
const STATE_ERROR = 0x2;

export interface Superblock {
  inodesCount: number;
  blocksCount: number;
  firstDataBlock: number;
  blockSize: number;
  blocksPerGroup: number;
  inodesPerGroup: number;
  groupCount: number;
  inodeSize: number;
  /** First non-reserved inode (revision 1); 11 for revision 0. */
  firstIno: number;
  revLevel: number;
  state: { clean: boolean; errors: boolean };
  compat: number;
  incompat: number;
  roCompat: number;
  uuid: Uint8Array;
  uuidString: string;
  label: string | undefined;
  hashSeed: Uint32Array;
  defHashVersion: number;
  flags: number;
  /** Bytes per group descriptor (32 without 64bit). */
  descSize: number;
  firstMetaBg: number;
  /** sparse_super2: the only two groups with backup superblocks. */
  backupBgs: [number, number];
  checksumType: number;
  /** s_checksum_seed (valid with the csum_seed feature). */
  checksumSeed: number;
  /** The stored s_checksum. */
  checksum: number;
}

export function hasFeature(sb: Superblock, kind: 'compat' | 'incompat' | 'roCompat', flag: number): boolean {
  return (sb[kind] & flag) !== 0;
}

/** Whether the bytes at 1024 carry the ext2/3/4 magic (the probe test; nothing else is checked). */
export function hasExtMagic(buf: Uint8Array): boolean {
  return buf.length >= MAGIC_OFFSET + 2 && view(buf).getUint16(MAGIC_OFFSET, true) === EXT4_MAGIC;
}

/**
 * Parses and validates the superblock. Geometry that would make the reader misplace structures
 * is CorruptError; incompat features we cannot read are UnsupportedError naming them.
 */
export function parseSuperblock(buf: Uint8Array, location = 'ext4 superblock'): Superblock {
  if (buf.length < SUPERBLOCK_BYTES) throw new CorruptError('ext4 superblock truncated', { location });
  const dv = view(buf);
  const u32 = (o: number) => dv.getUint32(o, true);
  const u16 = (o: number) => dv.getUint16(o, true);
  const bad = (msg: string): never => {
    throw new CorruptError(`ext4 superblock: ${msg}`, { location });
  };

  const incompat = u32(0x60);
  const unknown = incompat & ~KNOWN_INCOMPAT;
  if (unknown !== 0) {
    const names: string[] = [];
    for (let bit = 1; bit !== 0 && bit <= 0x80000000; bit = (bit << 1) >>> 0) {
      if ((unknown & bit) !== 0) names.push(INCOMPAT_NAMES[bit] ?? `unknown incompat flag 0x${bit.toString(16)}`);
    }
    throw new UnsupportedError(`ext4 filesystem uses incompatible features this reader does not support: ${names.join(', ')}`, { location });
  }

  const logBlock = u32(0x18);
  if (logBlock > 6) bad(`block size 2^(10+${logBlock}) is larger than ${MAX_BLOCK_BYTES}`);
  const blockSize = MIN_BLOCK_BYTES << logBlock;
  const revLevel = u32(0x4c);
  const inodeSize = revLevel === 0 ? MIN_INODE_BYTES : u16(0x58);
  if (inodeSize < MIN_INODE_BYTES || inodeSize > Math.min(blockSize, MAX_INODE_BYTES) || (inodeSize & (inodeSize - 1)) !== 0) {
    bad(`inode size ${inodeSize} is not a power of two in [${MIN_INODE_BYTES}, ${blockSize}]`);
  }
  const firstIno = revLevel === 0 ? 11 : u32(0x54);
  const roCompat = u32(0x64);
  const is64 = (incompat & INCOMPAT.bit64) !== 0;
  const blocksCount = u32(0x4) + (is64 ? u32(0x150) * 2 ** 32 : 0);
  if (blocksCount === 0) bad('block count is 0');
  // Every byte offset must be exact in a JS number (2^48 blocks of 64 KiB would not be).
  if (blocksCount * blockSize > Number.MAX_SAFE_INTEGER) bad(`${blocksCount} blocks of ${blockSize} bytes exceed 2^53 bytes`);
  const firstDataBlock = u32(0x14);
  if (firstDataBlock >= blocksCount) bad(`first data block ${firstDataBlock} is past the block count ${blocksCount}`);
  if (blockSize === 1024 && firstDataBlock !== 1 && (roCompat & RO_COMPAT.bigalloc) === 0) bad('1 KiB-block filesystem whose first data block is not 1');
  const blocksPerGroup = u32(0x20);
  const inodesPerGroup = u32(0x28);
  // A group's block and inode bitmaps are one block each.
  if (blocksPerGroup === 0 || blocksPerGroup > 8 * blockSize * ((roCompat & RO_COMPAT.bigalloc) !== 0 ? 2 ** 16 : 1)) bad(`blocks per group ${blocksPerGroup} out of range`);
  if (inodesPerGroup === 0 || inodesPerGroup > 8 * blockSize) bad(`inodes per group ${inodesPerGroup} out of range`);
  const groupCount = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup);
  const inodesCount = u32(0x0);
  if (inodesCount === 0 || inodesCount > groupCount * inodesPerGroup) bad(`inode count ${inodesCount} exceeds ${groupCount} groups of ${inodesPerGroup}`);

  let descSize = 32;
  if (is64) {
    descSize = u16(0xfe);
    if (descSize < 64 || descSize > MAX_GROUP_DESC_BYTES || (descSize & (descSize - 1)) !== 0) bad(`group descriptor size ${descSize} is invalid for a 64bit filesystem`);
  }
  if (groupCount * descSize > MAX_GROUP_TABLE_BYTES) bad(`${groupCount} block groups: descriptor table larger than ${MAX_GROUP_TABLE_BYTES} bytes`);

  const uuid = buf.slice(0x68, 0x78);
  const label = cstring(buf, 0x78, 0x88);
  const hashSeed = new Uint32Array(4);
  for (let i = 0; i < 4; i++) hashSeed[i] = u32(0xec + 4 * i);
  const state = u16(0x3a);

  return {
    inodesCount,
    blocksCount,
    firstDataBlock,
    blockSize,
    blocksPerGroup,
    inodesPerGroup,
    groupCount,
    inodeSize,
    firstIno,
    revLevel,
    state: { clean: (state & STATE_VALID) !== 0, errors: (state & STATE_ERROR) !== 0 },
    compat: u32(0x5c),
    incompat,
    roCompat,
    uuid,
    uuidString: uuidBE(uuid),
    label: label === '' ? undefined : label,
    hashSeed,
    defHashVersion: buf[0xfc]!,
    flags: u32(0x160),
    descSize,
    firstMetaBg: u32(0x104),
    backupBgs: [u32(0x24c), u32(0x250)],
    checksumType: buf[0x175]!,
    checksumSeed: u32(0x270),
    checksum: u32(SUPERBLOCK_CSUM_OFFSET),
  };
}

export function usesCrc32c(sb: Superblock): boolean {
  return hasFeature(sb, 'roCompat', RO_COMPAT.metadataCsum) && sb.checksumType === CHECKSUM_TYPE_CRC32C;
}

/** ext2, ext3 or ext4, the way blkid names them: ext4 once any ext4-only feature is on. */
export function fsFlavor(sb: Superblock): 'ext2' | 'ext3' | 'ext4' {
  const ext3Incompat = INCOMPAT.filetype | INCOMPAT.recover | INCOMPAT.metaBg;
  const ext3RoCompat = RO_COMPAT.sparseSuper | RO_COMPAT.largeFile | 0x4;
  if ((sb.incompat & ~ext3Incompat) !== 0 || (sb.roCompat & ~ext3RoCompat) !== 0) return 'ext4';
  return hasFeature(sb, 'compat', COMPAT.hasJournal) ? 'ext3' : 'ext2';
}

/** Whether block group `group` holds a superblock backup (ext4_bg_has_super in fs/ext4/balloc.c). */
export function groupHasSuper(sb: Superblock, group: number): boolean {
  if (group === 0) return true;
  if (hasFeature(sb, 'compat', COMPAT.sparseSuper2)) return group === sb.backupBgs[0] || group === sb.backupBgs[1];
  if (group <= 1 || !hasFeature(sb, 'roCompat', RO_COMPAT.sparseSuper)) return true;
  if ((group & 1) === 0) return false;
  return isPowerOf(group, 3) || isPowerOf(group, 5) || isPowerOf(group, 7);
}

function isPowerOf(n: number, base: number): boolean {
  let x = base;
  while (x < n) x *= base;
  return x === n;
}
