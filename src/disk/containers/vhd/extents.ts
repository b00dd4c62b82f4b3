/**
 * Coalesced reads of file extents for block-mapped containers (VHD, VHDX).
 *
 * A decoded read that spans many blocks maps to many file extents; when consecutive extents
 * sit next to each other in the file (the usual case: blocks are allocated in order) they are
 * fetched with one underlying read. Small gaps (a VHD sector bitmap between two data blocks)
 * are read and dropped rather than splitting the run, since one large read is far cheaper than
 * two on every medium we read from.
 */
import { MAX_READ_BYTES, readInto, type BlockSource } from '../../index.ts';
import { KiB } from '../../../util/units.ts';

/** A byte range of the underlying file. */
export interface FileExtent {
  offset: number;
  length: number;
}

/** Largest hole between two extents that is read through instead of splitting the run. */
export const MAX_COALESCE_GAP_BYTES = 64 * KiB;

interface Run {
  start: number;
  end: number;
  /** Indexes into the extent list served by this run. */
  members: number[];
}

/**
 * Groups extents into underlying reads: consecutive non-empty extents that are ascending, at
 * most `maxGapBytes` apart and within MAX_READ_BYTES of the run's start share one run.
 */
function groupRuns(extents: readonly FileExtent[], maxGapBytes: number): Run[] {
  const runs: Run[] = [];
  let cur: Run | undefined;
  for (let i = 0; i < extents.length; i++) {
    const e = extents[i]!;
    if (e.length === 0) continue;
    const end = e.offset + e.length;
    if (cur !== undefined && e.offset >= cur.end && e.offset - cur.end <= maxGapBytes && end - cur.start <= MAX_READ_BYTES) {
      cur.end = end;
      cur.members.push(i);
    } else {
      cur = { start: e.offset, end, members: [i] };
      runs.push(cur);
    }
  }
  return runs;
}

/**
 * Reads every extent, in the order given, returning one view per extent (views may share a
 * buffer with the source's cache: callers must not modify them). Consecutive extents that are
 * ascending and at most MAX_COALESCE_GAP_BYTES apart share one underlying read; runs are
 * fetched concurrently so a remote source can parallelise them.
 */
export async function readExtents(source: BlockSource, extents: readonly FileExtent[]): Promise<Uint8Array[]> {
  const runs = groupRuns(extents, MAX_COALESCE_GAP_BYTES);
  const out: Uint8Array[] = extents.map(() => new Uint8Array(0));
  await Promise.all(
    runs.map(async (run) => {
      const buf = await source.read(run.start, run.end - run.start);
      for (const i of run.members) {
        const e = extents[i]!;
        const at = e.offset - run.start;
        out[i] = buf.subarray(at, at + e.length);
      }
    }),
  );
  return out;
}

/** A byte range of the underlying file and where its bytes go. */
export interface TargetExtent extends FileExtent {
  /** Exactly `length` bytes, usually a view into the caller's result buffer. */
  target: Uint8Array;
}

/**
 * Reads every extent into its target. Extents grouped as readExtents groups them (ascending,
 * at most `maxGapBytes` apart) share one underlying read; when a group is gapless in the file
 * and its targets are back to back in one buffer, that read goes straight into the targets
 * (no copy), otherwise through one buffer that is then copied out.
 */
export async function readExtentsInto(source: BlockSource, extents: readonly TargetExtent[], maxGapBytes = MAX_COALESCE_GAP_BYTES): Promise<void> {
  const runs = groupRuns(extents, maxGapBytes);
  await Promise.all(
    runs.map(async (run) => {
      const first = extents[run.members[0]!]!.target;
      let direct = true;
      let expectFile = run.start;
      let expectByte = first.byteOffset;
      for (const i of run.members) {
        const e = extents[i]!;
        if (e.offset !== expectFile || e.target.buffer !== first.buffer || e.target.byteOffset !== expectByte) {
          direct = false;
          break;
        }
        expectFile += e.length;
        expectByte += e.length;
      }
      if (direct) {
        await readInto(source, run.start, new Uint8Array(first.buffer, first.byteOffset, run.end - run.start));
        return;
      }
      const buf = await source.read(run.start, run.end - run.start);
      for (const i of run.members) {
        const e = extents[i]!;
        const at = e.offset - run.start;
        e.target.set(buf.subarray(at, at + e.length));
      }
    }),
  );
}
