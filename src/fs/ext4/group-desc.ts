/**
 * Block group descriptors: where each group's inode table is.
 *
 * Spec: Linux Documentation/filesystems/ext4/group_descr.rst ("Block Group Descriptors",
 * struct ext4_group_desc, 32 bytes, or s_desc_size bytes with 64bit) and blockgroup.rst
 * ("Meta Block Groups"): without meta_bg the table follows the superblock in block
 * s_first_data_block + 1; with meta_bg, descriptor block i >= s_first_meta_bg lives in the first
 * group of meta group i, after that group's superblock backup if it has one (descriptor_loc() in
 * fs/ext4/super.c, with logical_sb_block from ext4_fill_super()).
 */
import type { BlockSource } from '../../disk/index.ts';
import { view } from '../../util/bytes.ts';
import { CorruptError } from '../../util/errors.ts';
import type { Issue } from '../../util/issues.ts';
import { groupDescChecksum } from './checksum.ts';
import { MAX_SOURCE_READ_BYTES } from './limits.ts';
import { groupHasSuper, hasFeature, INCOMPAT, type Superblock } from './superblock.ts';

/** bg_flags: the group's inode table is not initialised (every inode in it is unused). */
export const BG_INODE_UNINIT = 0x1;

export interface GroupTable {
  readonly count: number;
  /** First block of each group's inode table. */
  readonly inodeTable: Float64Array;
  readonly flags: Uint16Array;
}

/** Block number of descriptor block `index` (descriptor_loc). */
export function descriptorBlock(sb: Superblock, index: number): number {
  // The block holding the superblock (byte 1024): block 1 with 1 KiB blocks, else block 0 —
  // whatever s_first_data_block says (it is 0 on 1 KiB bigalloc filesystems).
  const sbBlock = sb.blockSize === 1024 ? 1 : 0;
  if (!hasFeature(sb, 'incompat', INCOMPAT.metaBg) || index < sb.firstMetaBg) return sbBlock + index + 1;
  const perBlock = sb.blockSize / sb.descSize;
  const group = perBlock * index;
  let hasSuper = groupHasSuper(sb, group) ? 1 : 0;
  // A 1 KiB-block filesystem whose first data block is 0 (bigalloc) keeps group 0's table at block 2.
  if (sb.blockSize === 1024 && index === 0 && sb.firstDataBlock === 0) hasSuper++;
  return group * sb.blocksPerGroup + sb.firstDataBlock + hasSuper;
}

/**
 * Loads every descriptor: contiguous descriptor blocks are fetched in one read each (all of them
 * without meta_bg), concurrently. Bad checksums become issues; the table is still used.
 */
export async function loadGroupTable(source: BlockSource, sb: Superblock, csumSeed: number | undefined, issues: (i: Issue) => void): Promise<GroupTable> {
  const bs = sb.blockSize;
  const perBlock = bs / sb.descSize;
  const nBlocks = Math.ceil(sb.groupCount / perBlock);
  const blocks: number[] = [];
  for (let i = 0; i < nBlocks; i++) {
    const b = descriptorBlock(sb, i);
    if (b >= sb.blocksCount) throw new CorruptError(`group descriptor block ${i} at ${b} is past the block count ${sb.blocksCount}`, { location: `ext4 group descriptors` });
    blocks.push(b);
  }
  const table = new Uint8Array(nBlocks * bs);
  const maxRun = Math.max(1, Math.floor(MAX_SOURCE_READ_BYTES / bs));
  const reads: Array<Promise<void>> = [];
  for (let i = 0; i < nBlocks; ) {
    let n = 1;
    while (i + n < nBlocks && n < maxRun && blocks[i + n] === blocks[i]! + n) n++;
    const start = i;
    reads.push(source.read(blocks[start]! * bs, n * bs).then((b) => table.set(b, start * bs)));
    i += n;
  }
  await Promise.all(reads);

  const dv = view(table);
  const inodeTable = new Float64Array(sb.groupCount);
  const flags = new Uint16Array(sb.groupCount);
  const wide = sb.descSize >= 64;
  let badCsums = 0;
  for (let g = 0; g < sb.groupCount; g++) {
    const o = g * sb.descSize;
    inodeTable[g] = dv.getUint32(o + 0x8, true) + (wide ? dv.getUint32(o + 0x28, true) * 2 ** 32 : 0);
    flags[g] = dv.getUint16(o + 0x12, true);
    if (csumSeed !== undefined) {
      const desc = table.subarray(o, o + sb.descSize);
      if (groupDescChecksum(csumSeed, g, desc) !== dv.getUint16(o + 0x1e, true)) {
        if (badCsums++ < 16) {
          issues({ severity: 'warning', code: 'ext4.csum-group-desc', message: `group descriptor ${g} checksum mismatch`, location: `group ${g} (descriptor block ${blocks[Math.floor(g / perBlock)]})` });
        }
      }
    }
  }
  if (badCsums > 16) issues({ severity: 'warning', code: 'ext4.csum-group-desc', message: `${badCsums} group descriptors in total have checksum mismatches`, location: 'ext4 group descriptors' });
  return { count: sb.groupCount, inodeTable, flags };
}
