/**
 * The ext2/ext3 indirect block map (inodes without EXT4_EXTENTS_FL).
 *
 * Spec: Linux Documentation/filesystems/ext4/ifork.rst ("Direct/Indirect Block Addressing"):
 * i_block[0..11] map the first 12 blocks, i_block[12] is a single-indirect block of
 * block_size / 4 u32 pointers, i_block[13] double- and i_block[14] triple-indirect. A zero
 * pointer is a hole at any level.
 *
 * A lookup walks the three levels breadth-first: every indirect block one level of the range
 * needs is fetched in one batch (adjacent blocks in one read), so a large read costs a few reads
 * of pointer blocks, not one per block.
 */
import { view } from '../../util/bytes.ts';
import { BudgetError, CorruptError } from '../../util/errors.ts';
import type { BlockCache, Geometry } from './block-cache.ts';
import { pushRun, type BlockMapper, type BlockRun } from './mapping.ts';

const DIRECT_BLOCKS = 12;
/** Indirect blocks one mapping may read (a 256 MiB read at 1 KiB blocks needs ~1000). */
export const MAX_INDIRECT_BLOCKS_PER_MAP = 65_536;

interface Pending {
  pblk: number;
  /** Logical block mapped by entry 0 of this indirect block. */
  base: number;
  /** 1: entries are data blocks; 2, 3: entries are indirect blocks one level down. */
  levels: number;
}

export class IndirectMapper implements BlockMapper {
  readonly #iBlock: DataView;
  readonly #cache: BlockCache<Uint8Array>;
  readonly #geo: Geometry & { firstDataBlock: number };
  readonly #ino: number;

  constructor(iBlock: Uint8Array, cache: BlockCache<Uint8Array>, geo: Geometry & { firstDataBlock: number }, ino: number) {
    this.#iBlock = view(iBlock);
    this.#cache = cache;
    this.#geo = geo;
    this.#ino = ino;
  }

  #checkPtr(ptr: number, where: string): void {
    if (ptr < this.#geo.firstDataBlock || ptr >= this.#geo.blocksCount) {
      throw new CorruptError(`block map of inode ${this.#ino}: ${where} points to block ${ptr} outside the filesystem`, { location: `inode ${this.#ino}` });
    }
  }

  async map(first: number, last: number): Promise<BlockRun[]> {
    const runs: BlockRun[] = [];
    const perBlock = this.#geo.blockSize / 4;
    for (let l = first; l <= Math.min(last, DIRECT_BLOCKS - 1); l++) {
      const ptr = this.#iBlock.getUint32(l * 4, true);
      if (ptr === 0) continue;
      this.#checkPtr(ptr, `i_block[${l}]`);
      pushRun(runs, l, ptr, 1);
    }
    let frontier: Pending[] = [];
    let base = DIRECT_BLOCKS;
    for (let levels = 1; levels <= 3; levels++) {
      const size = perBlock ** levels;
      const ptr = this.#iBlock.getUint32((DIRECT_BLOCKS + levels - 1) * 4, true);
      if (ptr !== 0 && first < base + size && last >= base) {
        this.#checkPtr(ptr, `i_block[${DIRECT_BLOCKS + levels - 1}]`);
        frontier.push({ pblk: ptr, base, levels });
      }
      base += size;
    }
    let fetched = 0;
    while (frontier.length > 0) {
      fetched += frontier.length;
      if (fetched > MAX_INDIRECT_BLOCKS_PER_MAP) throw new BudgetError(`block map of inode ${this.#ino}: more than ${MAX_INDIRECT_BLOCKS_PER_MAP} indirect blocks for one read`, { location: `inode ${this.#ino}` });
      const blocks = await this.#cache.getMany(frontier.map((p) => p.pblk), (_b, bytes) => bytes, `inode ${this.#ino} indirect blocks`);
      const next: Pending[] = [];
      for (let k = 0; k < frontier.length; k++) {
        const p = frontier[k]!;
        const dv = view(blocks[k]!);
        const span = perBlock ** (p.levels - 1);
        const i0 = Math.max(0, Math.floor((first - p.base) / span));
        const i1 = Math.min(perBlock - 1, Math.floor((last - p.base) / span));
        for (let i = i0; i <= i1; i++) {
          const ptr = dv.getUint32(i * 4, true);
          if (ptr === 0) continue;
          this.#checkPtr(ptr, `indirect block ${p.pblk} entry ${i}`);
          if (p.levels === 1) pushRun(runs, p.base + i, ptr, 1);
          else next.push({ pblk: ptr, base: p.base + i * span, levels: p.levels - 1 });
        }
      }
      frontier = next;
    }
    return runs;
  }
}
