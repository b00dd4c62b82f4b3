/**
 * XFS address arithmetic: inode numbers and filesystem block numbers to byte offsets.
 *
 * Reference: "XFS Algorithms & Data Structures", 3rd edition, "Common XFS Types" (xfs_ino_t,
 * xfs_fsblock_t) and "Allocation Groups"; xfsprogs 6.1 libxfs/xfs_format.h (XFS_INO_TO_AGNO,
 * XFS_INO_TO_AGBNO, XFS_INO_TO_OFFSET, XFS_FSB_TO_AGNO, XFS_FSB_TO_AGBNO).
 *
 * An inode number is `agno << (agblklog + inopblog) | agbno << inopblog | offset`; a filesystem
 * block number is `agno << agblklog | agbno`. Both are sparse (agblklog rounds the AG size up to a
 * power of two), so every part is checked against the real AG size. Values can exceed 32 bits, so
 * the arithmetic uses multiplication and division instead of shifts.
 */
import { CorruptError } from '../../util/errors.ts';
import type { Superblock } from './superblock.ts';

/** Byte offset of inode `ino`, or a CorruptError when the number points outside the filesystem. */
export function inodeByteOffset(sb: Superblock, ino: number): number {
  if (!Number.isSafeInteger(ino) || ino < 0) throw new CorruptError(`XFS inode number ${ino} is invalid`, { location: `inode ${ino}` });
  const aginoSpan = 2 ** (sb.agBlockLog + sb.inodesPerBlockLog);
  const agno = Math.floor(ino / aginoSpan);
  const agino = ino % aginoSpan;
  const agbno = Math.floor(agino / 2 ** sb.inodesPerBlockLog);
  const slot = agino % 2 ** sb.inodesPerBlockLog;
  const block = agno * sb.agBlocks + agbno;
  if (agno >= sb.agCount || agbno >= sb.agBlocks || block >= sb.dblocks) {
    throw new CorruptError(`XFS inode number ${ino} is outside the filesystem (AG ${agno}, block ${agbno})`, { location: `inode ${ino}` });
  }
  return block * sb.blockBytes + slot * sb.inodeBytes;
}

/** Whether `ino` addresses a slot inside the filesystem (no I/O). */
export function isValidInodeNumber(sb: Superblock, ino: number): boolean {
  try {
    inodeByteOffset(sb, ino);
    return ino > 0;
  } catch {
    return false;
  }
}

/**
 * Linear block index (AG-major) of filesystem block `fsb` spanning `count` blocks; extents never
 * cross an AG boundary, so the whole run must stay inside one AG.
 */
export function fsbToLinear(sb: Superblock, fsb: number, count: number, where: string): number {
  const agSpan = 2 ** sb.agBlockLog;
  const agno = Math.floor(fsb / agSpan);
  const agbno = fsb % agSpan;
  const linear = agno * sb.agBlocks + agbno;
  if (agno >= sb.agCount || agbno + count > sb.agBlocks || linear + count > sb.dblocks) {
    throw new CorruptError(`XFS block ${fsb} (+${count}) is outside the filesystem (AG ${agno}, block ${agbno})`, { location: where });
  }
  return linear;
}

/** Byte offset of filesystem block `fsb`, checked like {@link fsbToLinear}. */
export function fsbToByte(sb: Superblock, fsb: number, count: number, where: string): number {
  return fsbToLinear(sb, fsb, count, where) * sb.blockBytes;
}

/** The 512-byte "disk address" stamped into v5 metadata headers (bb_blkno, db_blkno). */
export function fsbToDaddr(sb: Superblock, fsb: number, where: string): number {
  return (fsbToLinear(sb, fsb, 1, where) * sb.blockBytes) / 512;
}
