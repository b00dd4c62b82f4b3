/**
 * Version 2/3 directories: the shortform directory inside the inode, and directory data blocks
 * (the single block of a block directory, and the data blocks of leaf, node and btree-format
 * directories).
 *
 * Reference: "XFS Algorithms & Data Structures", 3rd edition, chapter "Directories": "Short Form
 * Directories" (xfs_dir2_sf_hdr, 4- or 8-byte inode numbers, the ftype byte), "Block
 * Directories" ('XD2B'/'XDB3', xfs_dir2_block_tail and the leaf entries at the block's end),
 * "Leaf Directories" / "Node Directories" ('XD2D'/'XDD3' data blocks below
 * XFS_DIR2_LEAF_OFFSET); xfsprogs 6.1 libxfs/xfs_da_format.h (xfs_dir2_data_entry,
 * xfs_dir2_data_unused, XFS_DIR2_DATA_FREE_TAG, struct xfs_dir3_blk_hdr) and
 * libxfs/xfs_dir2_data.c (__xfs_dir3_data_check).
 *
 * Listing reads only data blocks: every live name is in exactly one data entry, so the hash
 * leaves and the free-space index are not needed for readdir.
 */
import { CorruptError } from '../../util/errors.ts';
import { equalBytes, view } from '../../util/bytes.ts';
import { crc32c } from '../../util/crc32.ts';
import type { Issue } from '../../util/issues.ts';
import type { FileType } from '../index.ts';
import { isValidInodeNumber } from './geometry.ts';
import type { Superblock } from './superblock.ts';

export const XFS_DIR2_BLOCK_MAGIC = 0x58443242; // 'XD2B'
export const XFS_DIR3_BLOCK_MAGIC = 0x58444233; // 'XDB3'
export const XFS_DIR2_DATA_MAGIC = 0x58443244; // 'XD2D'
export const XFS_DIR3_DATA_MAGIC = 0x58444433; // 'XDD3'
export const XFS_DIR2_DATA_FREE_TAG = 0xffff;
/** Header of a v4 data block: magic + 3 bestfree pairs. */
export const DIR2_DATA_HEADER_BYTES = 16;
/** Header of a v5 data block: xfs_dir3_blk_hdr (48) + 3 bestfree pairs + pad. */
export const DIR3_DATA_HEADER_BYTES = 64;
const DIR3_CRC_OFFSET = 4;
const BLOCK_TAIL_BYTES = 8;
const LEAF_ENTRY_BYTES = 8;
/** Data entries are 8-byte aligned; an unused entry is at least this long. */
const DATA_ALIGN_BYTES = 8;
/** Data blocks live below this logical byte offset (XFS_DIR2_LEAF_OFFSET, 32 GiB). */
export const XFS_DIR2_LEAF_OFFSET_BYTES = 32 * 1024 * 1024 * 1024;

const FTYPE: Record<number, FileType> = { 1: 'file', 2: 'dir', 3: 'chardev', 4: 'blockdev', 5: 'fifo', 6: 'socket', 7: 'symlink' };

export interface RawDirEntry {
  name: string;
  ino: number;
  /** From the entry's ftype byte; undefined when the filesystem has no ftype (look at the inode). */
  type: FileType | undefined;
}

export interface DirContext {
  sb: Superblock;
  ino: number;
  report: (issue: Issue) => void;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * Adds one entry unless it is "." / ".." (data blocks store them as entries) or unusable: a name
 * with '/' or NUL, or an inode number outside the filesystem, is reported and skipped.
 */
function addEntry(ctx: DirContext, out: RawDirEntry[], nameBytes: Uint8Array, ino: number, ftype: number | undefined, where: string): void {
  if (nameBytes.length === 1 && nameBytes[0] === 0x2e) return;
  if (nameBytes.length === 2 && nameBytes[0] === 0x2e && nameBytes[1] === 0x2e) return;
  const name = decoder.decode(nameBytes);
  if (nameBytes.includes(0x2f) || nameBytes.includes(0)) {
    ctx.report({ severity: 'warning', code: 'xfs.dir-bad-name', message: `entry name ${JSON.stringify(name)} contains '/' or NUL; skipped`, location: where });
    return;
  }
  if (!isValidInodeNumber(ctx.sb, ino)) {
    ctx.report({ severity: 'warning', code: 'xfs.dir-bad-inode', message: `entry ${JSON.stringify(name)} names inode ${ino}, outside the filesystem; skipped`, location: where });
    return;
  }
  out.push({ name, ino, type: ftype === undefined || ftype === 0 ? undefined : (FTYPE[ftype] ?? 'unknown') });
}

/** Reads an inode number that may exceed 2^53 without throwing (it is then simply invalid). */
function inoAt(dv: DataView, off: number, bytes: 4 | 8): number {
  if (bytes === 4) return dv.getUint32(off);
  const v = dv.getBigUint64(off);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(v);
}

/** Parses a shortform directory: `fork` is the inode's data fork, `size` its di_size. */
export function parseShortform(ctx: DirContext, fork: Uint8Array, size: number): RawDirEntry[] {
  const where = `inode ${ctx.ino} shortform dir`;
  const corrupt = (msg: string) => new CorruptError(`XFS ${where}: ${msg}`, { location: where });
  if (size > fork.length) throw corrupt(`size ${size} exceeds the ${fork.length}-byte data fork`);
  if (size < 6) throw corrupt(`size ${size} is smaller than the header`);
  const dv = view(fork);
  const count = fork[0]!;
  const i8count = fork[1]!;
  const inoBytes = i8count > 0 ? 8 : 4;
  let pos = 2 + inoBytes;
  const ftypeBytes = ctx.sb.hasFtype ? 1 : 0;
  const out: RawDirEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (pos + 3 > size) throw corrupt(`entry ${i} of ${count} starts past the end`);
    const namelen = fork[pos]!;
    const entBytes = 3 + namelen + ftypeBytes + inoBytes;
    if (namelen === 0 || pos + entBytes > size) throw corrupt(`entry ${i} of ${count} (name length ${namelen}) runs past the end`);
    const nameBytes = fork.subarray(pos + 3, pos + 3 + namelen);
    const ftype = ftypeBytes ? fork[pos + 3 + namelen]! : undefined;
    addEntry(ctx, out, nameBytes, inoAt(dv, pos + 3 + namelen + ftypeBytes, inoBytes), ftype, where);
    pos += entBytes;
  }
  return out;
}

/**
 * Parses one directory data block (either a block directory's only block or a data block of a
 * larger directory) and appends its entries to `out`. `daddr` is the 512-byte disk address of
 * the block's first filesystem block, checked against the v5 header. A broken entry ends the
 * block with an issue; the entries before it are kept.
 */
export function parseDataBlock(ctx: DirContext, block: Uint8Array, daddr: number, logicalBlock: number, out: RawDirEntry[]): void {
  const { sb } = ctx;
  const where = `inode ${ctx.ino} dir block ${logicalBlock}`;
  const dv = view(block);
  const magic = dv.getUint32(0);
  const v5 = sb.version === 5;
  const isBlockDir = magic === (v5 ? XFS_DIR3_BLOCK_MAGIC : XFS_DIR2_BLOCK_MAGIC);
  if (!isBlockDir && magic !== (v5 ? XFS_DIR3_DATA_MAGIC : XFS_DIR2_DATA_MAGIC)) {
    throw new CorruptError(`XFS ${where}: bad magic 0x${magic.toString(16)}`, { location: where });
  }
  const hdr = v5 ? DIR3_DATA_HEADER_BYTES : DIR2_DATA_HEADER_BYTES;
  if (v5) {
    if (dv.getBigUint64(8) !== BigInt(daddr)) throw new CorruptError(`XFS ${where}: header names another block`, { location: where });
    if (dv.getBigUint64(40) !== BigInt(ctx.ino)) throw new CorruptError(`XFS ${where}: owned by inode ${dv.getBigUint64(40)}`, { location: where });
    if (!equalBytes(block.subarray(24, 40), sb.metaUuid)) throw new CorruptError(`XFS ${where}: stamped with another filesystem UUID`, { location: where });
    const want = dv.getUint32(DIR3_CRC_OFFSET, true);
    const copy = block.slice();
    view(copy).setUint32(DIR3_CRC_OFFSET, 0);
    if (crc32c(copy) !== want) ctx.report({ severity: 'warning', code: 'xfs.crc-dir', message: 'directory block CRC mismatch', location: where });
  }
  let end = block.length;
  if (isBlockDir) {
    const leafCount = dv.getUint32(block.length - BLOCK_TAIL_BYTES);
    const leafBytes = leafCount * LEAF_ENTRY_BYTES;
    if (leafBytes > block.length - BLOCK_TAIL_BYTES - hdr) {
      ctx.report({ severity: 'error', code: 'xfs.dir-corrupt', message: `block tail claims ${leafCount} leaf entries, more than fit`, location: where });
      return;
    }
    end = block.length - BLOCK_TAIL_BYTES - leafBytes;
  }
  const ftypeBytes = sb.hasFtype ? 1 : 0;
  let pos = hdr;
  // Every step advances by at least DATA_ALIGN_BYTES, so the loop is bounded by the block size.
  while (pos + DATA_ALIGN_BYTES <= end) {
    if (dv.getUint16(pos) === XFS_DIR2_DATA_FREE_TAG) {
      const len = dv.getUint16(pos + 2);
      if (len < DATA_ALIGN_BYTES || len % DATA_ALIGN_BYTES !== 0 || pos + len > end) {
        ctx.report({ severity: 'error', code: 'xfs.dir-corrupt', message: `unused entry at ${pos} has length ${len}`, location: where });
        return;
      }
      pos += len;
      continue;
    }
    const namelen = block[pos + 8]!;
    const entBytes = Math.ceil((8 + 1 + namelen + ftypeBytes + 2) / DATA_ALIGN_BYTES) * DATA_ALIGN_BYTES;
    if (namelen === 0 || pos + entBytes > end) {
      ctx.report({ severity: 'error', code: 'xfs.dir-corrupt', message: `entry at ${pos} (name length ${namelen}) runs past the data area`, location: where });
      return;
    }
    if (dv.getUint16(pos + entBytes - 2) !== pos) {
      ctx.report({ severity: 'error', code: 'xfs.dir-corrupt', message: `entry at ${pos} has a bad tag`, location: where });
      return;
    }
    const ftype = ftypeBytes ? block[pos + 9 + namelen]! : undefined;
    addEntry(ctx, out, block.subarray(pos + 9, pos + 9 + namelen), inoAt(dv, pos, 8), ftype, where);
    pos += entBytes;
  }
}
