/**
 * A BlockSource assembled from extents of other sources: an LVM logical volume made of linear
 * and striped segments (the device-mapper "linear" and "striped" targets; see the kernel's
 * Documentation/admin-guide/device-mapper/striped.rst for the chunk layout).
 *
 * A read that spans segments is split at segment boundaries; within a striped segment each
 * stripe is read once as one contiguous range (consecutive chunks of one stripe are adjacent
 * on its device) and de-interleaved, so a large read costs at most one read per stripe.
 */
import type { BlockSource, SourceStats } from '../../disk/index.ts';
import { checkRange } from '../../disk/range.ts';
import { SourceError } from '../../util/errors.ts';

export interface MappedArea {
  source: BlockSource;
  /** Byte offset in `source` where this area's first chunk starts. */
  offset: number;
}

export interface MappedSegment {
  /** Byte offset in the mapped source. */
  start: number;
  length: number;
  /** One area (linear) or several (striped, in stripe order). */
  areas: MappedArea[];
  /** Chunk size in bytes for striped segments (ignored with one area). */
  stripeBytes: number;
}

export class MappedSource implements BlockSource {
  readonly size: number;
  readonly sectorSize: number;
  readonly description: string;
  readonly #segments: MappedSegment[];

  /** Segments must be sorted, contiguous from 0, and each area must lie inside its source. */
  constructor(segments: MappedSegment[], options: { description: string; sectorSize?: number }) {
    let at = 0;
    for (const seg of segments) {
      if (seg.start !== at || seg.length <= 0 || seg.areas.length === 0) throw new SourceError(`${options.description}: segments are not contiguous at ${at}`);
      const n = seg.areas.length;
      // Each stripe holds length / n bytes, a whole number of chunks (as LVM allocates them).
      if (n > 1 && (seg.stripeBytes <= 0 || seg.length % n !== 0 || (seg.length / n) % seg.stripeBytes !== 0)) {
        throw new SourceError(`${options.description}: striped segment at ${at} has an invalid chunk size`);
      }
      const perArea = seg.length / n;
      for (const a of seg.areas) {
        if (!Number.isSafeInteger(a.offset) || a.offset < 0 || a.offset + perArea > a.source.size) {
          throw new SourceError(`${options.description}: segment at ${at} maps past the end of ${a.source.description}`);
        }
      }
      at += seg.length;
    }
    this.#segments = segments;
    this.size = at;
    this.sectorSize = options.sectorSize ?? segments[0]?.areas[0]?.source.sectorSize ?? 512;
    this.description = options.description;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, this.description);
    if (length === 0) return new Uint8Array(0);
    const pieces: Array<Promise<Uint8Array>> = [];
    let i = this.#findSegment(offset);
    let pos = offset;
    const end = offset + length;
    while (pos < end) {
      const seg = this.#segments[i]!;
      const segEnd = Math.min(end, seg.start + seg.length);
      pieces.push(readSegment(seg, pos - seg.start, segEnd - pos));
      pos = segEnd;
      i++;
    }
    if (pieces.length === 1) return pieces[0]!;
    const parts = await Promise.all(pieces);
    const out = new Uint8Array(length);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  #findSegment(offset: number): number {
    let lo = 0;
    let hi = this.#segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.#segments[mid]!.start <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  stats(): SourceStats {
    // Sources below may differ (several PVs on one disk share counters); report the first.
    return this.#segments[0]?.areas[0]?.source.stats() ?? { reads: 0, bytesRead: 0 };
  }

  /** The PV sources are owned by the disk below; closing a mapping is a no-op. */
  async close(): Promise<void> {}
}

/** Reads [rel, rel + length) of one segment. */
async function readSegment(seg: MappedSegment, rel: number, length: number): Promise<Uint8Array> {
  const n = seg.areas.length;
  if (n === 1) {
    const a = seg.areas[0]!;
    return a.source.read(a.offset + rel, length);
  }
  const S = seg.stripeBytes;
  const firstChunk = Math.floor(rel / S);
  const lastChunk = Math.floor((rel + length - 1) / S);
  // Per stripe: the device range covering every touched chunk of that stripe.
  const lo = new Array<number>(n).fill(-1);
  const hi = new Array<number>(n).fill(-1);
  for (let c = firstChunk; c <= Math.min(lastChunk, firstChunk + n - 1); c++) {
    const stripe = c % n;
    lo[stripe] = Math.floor(c / n) * S + (c === firstChunk ? rel - c * S : 0);
  }
  for (let c = lastChunk; c >= Math.max(firstChunk, lastChunk - n + 1); c--) {
    const stripe = c % n;
    hi[stripe] = Math.floor(c / n) * S + (c === lastChunk ? rel + length - c * S : S);
  }
  const reads = seg.areas.map((a, s) => (lo[s]! < 0 ? Promise.resolve(new Uint8Array(0)) : a.source.read(a.offset + lo[s]!, hi[s]! - lo[s]!)));
  const bufs = await Promise.all(reads);
  const out = new Uint8Array(length);
  let o = 0;
  for (let c = firstChunk; c <= lastChunk; c++) {
    const stripe = c % n;
    const chunkStart = c * S;
    const from = Math.max(rel, chunkStart);
    const to = Math.min(rel + length, chunkStart + S);
    const dev = Math.floor(c / n) * S + (from - chunkStart);
    const b = bufs[stripe]!;
    out.set(b.subarray(dev - lo[stripe]!, dev - lo[stripe]! + (to - from)), o);
    o += to - from;
  }
  return out;
}
