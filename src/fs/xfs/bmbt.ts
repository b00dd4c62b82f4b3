/**
 * File extents: packed extent records (xfs_bmbt_rec) and the block-map B+tree (bmbt) that holds
 * them when they do not fit in the inode.
 *
 * Reference: "XFS Algorithms & Data Structures", 3rd edition, "Data Extents" (the 128-bit record:
 * 1-bit unwritten flag, 54-bit file offset, 52-bit start block, 21-bit length) and "B+tree Extent
 * List" / "Long Format B+trees" (xfs_bmdr_block root in the inode, 'BMAP' v4 and 'BMA3' v5 blocks
 * with the CRC header); xfsprogs 6.1 libxfs/xfs_bmap_btree.c (xfs_bmbt_disk_get_all,
 * xfs_bmdr_maxrecs, xfs_bmbt_maxrecs) and libxfs/xfs_btree.c (xfs_btree_lblock_v5hdr_verify).
 *
 * The walk goes one level at a time: the pointers of a level are read in key order, physically
 * adjacent blocks in one read, so a large extent tree costs a few big reads, not one per block.
 */
import { BudgetError, CorruptError } from '../../util/errors.ts';
import { equalBytes, u64be, view } from '../../util/bytes.ts';
import { crc32c } from '../../util/crc32.ts';
import type { Issue } from '../../util/issues.ts';
import { fsbToDaddr, fsbToLinear } from './geometry.ts';
import { MAX_EXTENTS_PER_FILE } from './inode.ts';
import type { Superblock } from './superblock.ts';

export const BMAP_MAGIC = 0x424d4150; // 'BMAP' (v4)
export const BMAP_CRC_MAGIC = 0x424d4133; // 'BMA3' (v5)
export const BMBT_V4_HEADER_BYTES = 24;
export const BMBT_V5_HEADER_BYTES = 72;
const BMBT_CRC_OFFSET = 64;
/** Bytes of the in-inode root header (bb_level, bb_numrecs). */
const BMDR_HEADER_BYTES = 4;
const BMBT_RECORD_BYTES = 16;
/** xfs_bmbt_key (8) + xfs_bmbt_ptr (8). */
const BMBT_KEYPTR_BYTES = 16;
/** XFS_BM_MAXLEVELS is at most 9 for 2^48 extents with 512-byte blocks; a little headroom. */
export const MAX_BMBT_LEVELS = 12;
/** Blocks one file's tree may have: 2^21 extents in 512-byte leaves (27 records each) plus nodes. */
export const MAX_BMBT_BLOCKS = 1 << 17;
/** Largest physical run read at once while walking a level. */
const MAX_BMBT_RUN_BLOCKS = 256;
/** Largest logical file offset in blocks (XFS_MAX_FILEOFF is 2^54 - 1). */
const MAX_FILE_OFFSET_BLOCKS = 2 ** 54 - 1;

/** One mapping of file blocks to filesystem blocks, checked and pre-translated. */
export interface Extent {
  /** First file block. */
  fileBlock: number;
  /** First block as a linear (AG-major) index, ready to multiply by the block size. */
  linearBlock: number;
  blocks: number;
  /** Preallocated, never written: reads as zeros. */
  unwritten: boolean;
}

/** Reads `count` blocks starting at linear block `linear`. */
export type BlockReader = (linear: number, count: number) => Promise<Uint8Array>;

export interface BmbtContext {
  sb: Superblock;
  ino: number;
  readBlocks: BlockReader;
  report: (issue: Issue) => void;
}

/** Decodes `count` packed records at `off` and checks each against the filesystem geometry. */
export function decodeExtents(sb: Superblock, buf: Uint8Array, off: number, count: number, where: string): Extent[] {
  if (off + count * BMBT_RECORD_BYTES > buf.length) throw new CorruptError(`XFS ${where}: ${count} extent records do not fit`, { location: where });
  const dv = view(buf);
  const out: Extent[] = [];
  for (let i = 0; i < count; i++) {
    const p = off + i * BMBT_RECORD_BYTES;
    const h0 = dv.getUint32(p);
    const h1 = dv.getUint32(p + 4);
    const h2 = dv.getUint32(p + 8);
    const h3 = dv.getUint32(p + 12);
    const fileBlock = (h0 & 0x7fffffff) * 2 ** 23 + (h1 >>> 9);
    const fsBlock = (h1 & 0x1ff) * 2 ** 43 + h2 * 2 ** 11 + (h3 >>> 21);
    const blocks = h3 & 0x1fffff;
    if (blocks === 0) throw new CorruptError(`XFS ${where}: zero-length extent`, { location: where });
    if (fileBlock + blocks > MAX_FILE_OFFSET_BLOCKS) throw new CorruptError(`XFS ${where}: extent past the largest file offset`, { location: where });
    out.push({ fileBlock, linearBlock: fsbToLinear(sb, fsBlock, blocks, where), blocks, unwritten: h0 >>> 31 === 1 });
  }
  return out;
}

/** Sorts by file offset and refuses overlapping mappings (a hostile tree could alias blocks). */
export function normalizeExtents(extents: Extent[], where: string): Extent[] {
  let sorted = true;
  for (let i = 1; i < extents.length; i++) if (extents[i]!.fileBlock < extents[i - 1]!.fileBlock) sorted = false;
  if (!sorted) extents.sort((a, b) => a.fileBlock - b.fileBlock);
  for (let i = 1; i < extents.length; i++) {
    const prev = extents[i - 1]!;
    if (extents[i]!.fileBlock < prev.fileBlock + prev.blocks) throw new CorruptError(`XFS ${where}: overlapping extents at file block ${extents[i]!.fileBlock}`, { location: where });
  }
  return extents;
}

/**
 * Collects every extent of a btree-format fork. `root` is the data fork (xfs_bmdr_block).
 * Each level must sit exactly one below its parent, which rules out loops; a block reached twice
 * and a tree larger than MAX_BMBT_BLOCKS are refused.
 */
export async function readBmbtExtents(ctx: BmbtContext, root: Uint8Array): Promise<Extent[]> {
  const { sb, ino } = ctx;
  const where = `inode ${ino} bmbt`;
  const corrupt = (msg: string) => new CorruptError(`XFS inode ${ino} extent tree: ${msg}`, { location: where });
  if (root.length < BMDR_HEADER_BYTES + BMBT_KEYPTR_BYTES) throw corrupt('root does not fit the data fork');
  const rdv = view(root);
  const rootLevel = rdv.getUint16(0);
  const rootRecs = rdv.getUint16(2);
  const rootMax = Math.floor((root.length - BMDR_HEADER_BYTES) / BMBT_KEYPTR_BYTES);
  if (rootLevel < 1 || rootLevel > MAX_BMBT_LEVELS) throw corrupt(`root level ${rootLevel} is outside [1, ${MAX_BMBT_LEVELS}]`);
  if (rootRecs < 1 || rootRecs > rootMax) throw corrupt(`root has ${rootRecs} pointers (room for ${rootMax})`);
  let level: number[] = [];
  const ptrOff = BMDR_HEADER_BYTES + rootMax * 8;
  for (let i = 0; i < rootRecs; i++) level.push(u64be(rdv, ptrOff + i * 8, 'bmbt ptr'));

  const v5 = sb.version === 5;
  const hdr = v5 ? BMBT_V5_HEADER_BYTES : BMBT_V4_HEADER_BYTES;
  const maxRecs = Math.floor((sb.blockBytes - hdr) / BMBT_KEYPTR_BYTES);
  const seen = new Set<number>();
  const extents: Extent[] = [];
  for (let depth = rootLevel - 1; depth >= 0; depth--) {
    const next: number[] = [];
    for (let i = 0; i < level.length; ) {
      // Group physically adjacent pointers into one read.
      const first = level[i]!;
      const firstLinear = fsbToLinear(sb, first, 1, where);
      const roomInAg = sb.agBlocks - (first % 2 ** sb.agBlockLog);
      let n = 1;
      while (i + n < level.length && n < MAX_BMBT_RUN_BLOCKS && n < roomInAg && level[i + n] === first + n) n++;
      fsbToLinear(sb, first, n, where);
      const run = await ctx.readBlocks(firstLinear, n);
      for (let k = 0; k < n; k++) {
        const fsb = first + k;
        if (seen.has(fsb)) throw corrupt(`block ${fsb} is referenced twice (loop)`);
        seen.add(fsb);
        if (seen.size > MAX_BMBT_BLOCKS) throw new BudgetError(`XFS inode ${ino}: extent tree exceeds ${MAX_BMBT_BLOCKS} blocks`, { location: where });
        const block = run.subarray(k * sb.blockBytes, (k + 1) * sb.blockBytes);
        const numrecs = checkBlock(ctx, block, fsb, depth, maxRecs);
        if (depth > 0) {
          const dv = view(block);
          const po = hdr + maxRecs * 8;
          for (let r = 0; r < numrecs; r++) next.push(u64be(dv, po + r * 8, 'bmbt ptr'));
        } else {
          if (extents.length + numrecs > MAX_EXTENTS_PER_FILE) {
            throw new BudgetError(`XFS inode ${ino}: more than ${MAX_EXTENTS_PER_FILE} extents`, { location: where });
          }
          for (const e of decodeExtents(sb, block, hdr, numrecs, `${where} block ${fsb}`)) extents.push(e);
        }
      }
      i += n;
    }
    level = next;
  }
  return normalizeExtents(extents, where);
}

/** Verifies one tree block's header and returns its record count. */
function checkBlock(ctx: BmbtContext, block: Uint8Array, fsb: number, depth: number, maxRecs: number): number {
  const { sb, ino } = ctx;
  const where = `inode ${ino} bmbt block ${fsb}`;
  const dv = view(block);
  const magic = dv.getUint32(0);
  const wantMagic = sb.version === 5 ? BMAP_CRC_MAGIC : BMAP_MAGIC;
  if (magic !== wantMagic) throw new CorruptError(`XFS ${where}: bad magic 0x${magic.toString(16)}`, { location: where });
  const level = dv.getUint16(4);
  const numrecs = dv.getUint16(6);
  if (level !== depth) throw new CorruptError(`XFS ${where}: level ${level}, expected ${depth}`, { location: where });
  if (numrecs < 1 || numrecs > maxRecs) throw new CorruptError(`XFS ${where}: ${numrecs} records (room for ${maxRecs})`, { location: where });
  if (sb.version === 5) {
    if (u64be(dv, 24, 'bb_blkno') !== fsbToDaddr(sb, fsb, where)) throw new CorruptError(`XFS ${where}: header names another block`, { location: where });
    if (u64be(dv, 56, 'bb_owner') !== ino) throw new CorruptError(`XFS ${where}: owned by inode ${dv.getBigUint64(56)}`, { location: where });
    if (!equalBytes(block.subarray(40, 56), sb.metaUuid)) throw new CorruptError(`XFS ${where}: stamped with another filesystem UUID`, { location: where });
    const want = dv.getUint32(BMBT_CRC_OFFSET, true);
    const copy = block.slice();
    view(copy).setUint32(BMBT_CRC_OFFSET, 0);
    if (crc32c(copy) !== want) ctx.report({ severity: 'warning', code: 'xfs.crc-bmbt', message: `extent tree block CRC mismatch`, location: where });
  }
  return numrecs;
}
