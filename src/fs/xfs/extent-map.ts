/**
 * Turns a byte range of a file into the fewest source reads: extents that are adjacent both in
 * the file and on disk become one read, holes and unwritten extents become zero fills.
 *
 * Reference: "XFS Algorithms & Data Structures", 3rd edition, "Data Extents" (sparse files,
 * unwritten extents read as zeros).
 */
import type { Extent } from './bmbt.ts';

/** Largest single source read (the BlockSource contract's MAX_READ_BYTES). */
export const MAX_PIECE_BYTES = 64 * 1024 * 1024;

export interface ReadPiece {
  /** Offset in the requested range. */
  at: number;
  bytes: number;
  /** Byte offset on the volume, or -1 for zeros (hole or unwritten). */
  physical: number;
}

/** Index of the first extent that ends after file block `block` (binary search). */
export function firstExtentAfter(extents: readonly Extent[], block: number): number {
  let lo = 0;
  let hi = extents.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = extents[mid]!;
    if (e.fileBlock + e.blocks <= block) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Plans the read of [offset, offset + length) over sorted, non-overlapping extents. */
export function planRead(extents: readonly Extent[], blockBytes: number, offset: number, length: number): ReadPiece[] {
  const pieces: ReadPiece[] = [];
  const end = offset + length;
  const push = (from: number, to: number, physical: number) => {
    const last = pieces[pieces.length - 1];
    const bytes = to - from;
    if (last && last.physical === -1 && physical === -1) {
      last.bytes += bytes;
      return;
    }
    if (last && last.physical !== -1 && physical === last.physical + last.bytes && last.bytes + bytes <= MAX_PIECE_BYTES) {
      last.bytes += bytes;
      return;
    }
    pieces.push({ at: from - offset, bytes, physical });
  };
  let pos = offset;
  for (let i = firstExtentAfter(extents, Math.floor(offset / blockBytes)); pos < end && i < extents.length; i++) {
    const e = extents[i]!;
    const eStart = e.fileBlock * blockBytes;
    if (eStart >= end) break;
    const eEnd = Math.min(end, (e.fileBlock + e.blocks) * blockBytes);
    if (eStart > pos) {
      push(pos, eStart, -1);
      pos = eStart;
    }
    // Split runs at MAX_PIECE_BYTES so no single source read exceeds the contract.
    while (pos < eEnd) {
      const to = Math.min(eEnd, pos + MAX_PIECE_BYTES);
      push(pos, to, e.unwritten ? -1 : e.linearBlock * blockBytes + (pos - eStart));
      pos = to;
    }
  }
  if (pos < end) push(pos, end, -1);
  return pieces;
}
