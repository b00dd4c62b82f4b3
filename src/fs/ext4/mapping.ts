/**
 * The logical → physical block mapping of one inode, whichever on-disk form it has (extent tree
 * or ext2/3 indirect block map). Readers ask for a range and get the allocated, written runs;
 * everything else in the range (holes, unwritten extents) reads as zeros.
 */
export interface BlockRun {
  /** First logical block of the run. */
  lblk: number;
  /** Physical block that `lblk` maps to. */
  pblk: number;
  /** Blocks in the run. */
  len: number;
}

export interface BlockMapper {
  /** Written runs overlapping logical blocks [first, last], clipped to it, sorted by lblk. */
  map(first: number, last: number): Promise<BlockRun[]>;
}

/** Appends a run, extending the previous one when it continues it both logically and physically. */
export function pushRun(runs: BlockRun[], lblk: number, pblk: number, len: number): void {
  const prev = runs[runs.length - 1];
  if (prev !== undefined && prev.lblk + prev.len === lblk && prev.pblk + prev.len === pblk) {
    prev.len += len;
    return;
  }
  runs.push({ lblk, pblk, len });
}
