/**
 * metadata_csum checksums: CRC-32C without the final inversion, as the kernel's ext4_chksum()
 * computes it, over each structure with its own checksum field treated as zero.
 *
 * Spec: Linux Documentation/filesystems/ext4/checksums.rst ("Checksums"), and the functions it
 * names in fs/ext4: ext4_superblock_csum (super.c), ext4_group_desc_csum (super.c),
 * ext4_inode_csum (inode.c), ext4_extent_block_csum (extents.c), ext4_dirblock_csum and
 * ext4_dx_csum (namei.c).
 */
import { crc32cRaw, crc32cRawRange } from '../../util/crc32.ts';
import { view } from '../../util/bytes.ts';
import { MIN_INODE_BYTES } from './limits.ts';
import { hasFeature, INCOMPAT, SUPERBLOCK_CSUM_OFFSET, type Superblock } from './superblock.ts';

const ZERO4 = new Uint8Array(4);
const le32Scratch = new Uint8Array(4);

function crcLe32(crc: number, v: number): number {
  view(le32Scratch).setUint32(0, v >>> 0, true);
  return crc32cRaw(crc, le32Scratch);
}

/** The per-filesystem seed: s_checksum_seed with csum_seed, else crc32c(~0, uuid). */
export function fsChecksumSeed(sb: Superblock): number {
  if (hasFeature(sb, 'incompat', INCOMPAT.csumSeed)) return sb.checksumSeed >>> 0;
  return crc32cRaw(0xffffffff, sb.uuid);
}

export function superblockChecksum(raw: Uint8Array): number {
  return crc32cRaw(0xffffffff, raw.subarray(0, SUPERBLOCK_CSUM_OFFSET));
}

/** bg_checksum (16 bits): crc32c(seed, le32 group, descriptor with bg_checksum zeroed) & 0xffff. */
export const GROUP_DESC_CSUM_OFFSET = 0x1e;
export function groupDescChecksum(seed: number, group: number, desc: Uint8Array): number {
  let c = crcLe32(seed, group);
  c = crc32cRaw(c, desc.subarray(0, GROUP_DESC_CSUM_OFFSET));
  c = crc32cRaw(c, ZERO4.subarray(0, 2));
  c = crc32cRaw(c, desc.subarray(GROUP_DESC_CSUM_OFFSET + 2));
  return c & 0xffff;
}

/** The seed of one inode's metadata (inode, extent blocks, directory blocks). */
export function inodeChecksumSeed(fsSeed: number, ino: number, generation: number): number {
  return crcLe32(crcLe32(fsSeed, ino), generation);
}

export const INODE_CSUM_LO_OFFSET = 0x7c;
export const INODE_CSUM_HI_OFFSET = 0x82;

/**
 * Verifies an inode's checksum. The high 16 bits exist only when i_extra_isize covers
 * i_checksum_hi; otherwise only the low 16 bits are compared (ext4_inode_csum_verify).
 */
export function inodeChecksumOk(inodeSeed: number, raw: Uint8Array, extraIsize: number): boolean {
  const hasHi = raw.length > MIN_INODE_BYTES && MIN_INODE_BYTES + extraIsize >= INODE_CSUM_HI_OFFSET + 2;
  // Ranges of the one buffer, the checksum fields counted as zeros (no subarray per piece: this
  // runs for every inode a walk stats).
  let c = crc32cRawRange(inodeSeed, raw, 0, INODE_CSUM_LO_OFFSET);
  c = crc32cRawRange(c, ZERO4, 0, 2);
  c = crc32cRawRange(c, raw, INODE_CSUM_LO_OFFSET + 2, MIN_INODE_BYTES);
  if (raw.length > MIN_INODE_BYTES) {
    if (hasHi) {
      c = crc32cRawRange(c, raw, MIN_INODE_BYTES, INODE_CSUM_HI_OFFSET);
      c = crc32cRawRange(c, ZERO4, 0, 2);
      c = crc32cRawRange(c, raw, INODE_CSUM_HI_OFFSET + 2, raw.length);
    } else {
      c = crc32cRawRange(c, raw, MIN_INODE_BYTES, raw.length);
    }
  }
  const lo = raw[INODE_CSUM_LO_OFFSET]! | (raw[INODE_CSUM_LO_OFFSET + 1]! << 8);
  if (!hasHi) return (c & 0xffff) === lo;
  return c >>> 0 === ((raw[INODE_CSUM_HI_OFFSET]! | (raw[INODE_CSUM_HI_OFFSET + 1]! << 8)) << 16 | lo) >>> 0;
}

/** Extent block tail (struct ext4_extent_tail) right after eh_max entries. */
export function extentBlockChecksumOk(inodeSeed: number, block: Uint8Array, tailOffset: number): boolean {
  if (tailOffset + 4 > block.length) return false;
  return crc32cRaw(inodeSeed, block.subarray(0, tailOffset)) === view(block).getUint32(tailOffset, true);
}

/** Bytes of struct ext4_dir_entry_tail at the end of a leaf directory block. */
export const DIRENT_TAIL_BYTES = 12;
/** The tail's fake file type (EXT4_FT_DIR_CSUM). */
export const DIRENT_TAIL_FILE_TYPE = 0xde;

/** Whether the block ends with a well-formed dirent tail (inode 0, rec_len 12, type 0xDE). */
export function hasDirentTail(block: Uint8Array): boolean {
  const t = block.length - DIRENT_TAIL_BYTES;
  const dv = view(block);
  return dv.getUint32(t, true) === 0 && dv.getUint16(t + 4, true) === DIRENT_TAIL_BYTES && block[t + 6] === 0 && block[t + 7] === DIRENT_TAIL_FILE_TYPE;
}

export function direntBlockChecksumOk(inodeSeed: number, block: Uint8Array): boolean {
  const t = block.length - DIRENT_TAIL_BYTES;
  return crc32cRaw(inodeSeed, block.subarray(0, t)) === view(block).getUint32(t + 8, true);
}

/**
 * dx_tail (dt_reserved, dt_checksum) follows `limit` dx entries; the checksum covers the block up
 * to the `count` used entries, then dt_reserved, then a zero checksum (ext4_dx_csum).
 */
export function dxBlockChecksumOk(inodeSeed: number, block: Uint8Array, countOffset: number, count: number, limit: number): boolean {
  const tail = countOffset + limit * 8;
  if (tail + 8 > block.length) return false;
  let c = crc32cRaw(inodeSeed, block.subarray(0, countOffset + count * 8));
  c = crc32cRaw(c, block.subarray(tail, tail + 4));
  c = crc32cRaw(c, ZERO4);
  return c === view(block).getUint32(tail + 4, true);
}
