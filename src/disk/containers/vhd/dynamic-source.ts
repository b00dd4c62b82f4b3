/**
 * The virtual disk of a dynamic VHD: a block allocation table (BAT) of big-endian sector
 * numbers, each allocated block stored as a sector bitmap followed by the block's data.
 *
 * Spec: Microsoft "Virtual Hard Disk Image Format Specification" v1.0 (2006), sections
 * "Block Allocation Table and Data Blocks" and "Sector Bitmap". An unallocated block
 * (0xFFFFFFFF) reads as zeros; inside an allocated block, sectors whose bitmap bit is 0 have
 * never been written and also read as zeros.
 */
import { checkRange, type BlockSource, type SourceStats } from '../../index.ts';
import { unfilledBytes } from '../../range.ts';
import { view } from '../../../util/bytes.ts';
import { CorruptError } from '../../../util/errors.ts';
import { MiB } from '../../../util/units.ts';
import { bitmapBytes, VHD_SECTOR_BYTES } from './dynamic-header.ts';
import { readExtents, readExtentsInto, type FileExtent, type TargetExtent } from './extents.ts';

const UNALLOCATED = 0xffffffff;
/** Bytes of sector bitmaps kept in memory (an all-ones bitmap, the common case, is a flag). */
export const MAX_BITMAP_CACHE_BYTES = 8 * MiB;
/** What one cache entry costs besides its bitmap bytes (map slot, key). */
const BITMAP_ENTRY_OVERHEAD_BYTES = 64;

export interface VhdDynamicLayout {
  virtualSize: number;
  blockSize: number;
  /** Big-endian u32 sector numbers, one per block, already bounded by the caller. */
  bat: Uint8Array;
  /** End of the block area: the file size minus the trailing footer. */
  dataEnd: number;
}

/** A cached bitmap: `true` when every sector of the block is present. */
type Bitmap = Uint8Array | true;

interface Segment {
  /** Offset in the output buffer. */
  dest: number;
  length: number;
  /** Offset inside the block. */
  inBlock: number;
  block: number;
  /** File offset of this segment's data, or -1 for an unallocated block (zeros). */
  dataOffset: number;
  /** The block's bitmap, once known (from the cache, or learnt by this read). */
  bitmap: Bitmap | undefined;
}

export class VhdDynamicSource implements BlockSource {
  readonly size: number;
  readonly sectorSize = VHD_SECTOR_BYTES;
  readonly description: string;
  readonly #file: BlockSource;
  readonly #blockSize: number;
  readonly #bitmapBytes: number;
  readonly #bat: DataView;
  readonly #blocks: number;
  readonly #dataEnd: number;
  readonly #bitmaps = new Map<number, Bitmap>();
  #bitmapCacheBytes = 0;

  constructor(file: BlockSource, layout: VhdDynamicLayout) {
    this.#file = file;
    this.size = layout.virtualSize;
    this.#blockSize = layout.blockSize;
    this.#bitmapBytes = bitmapBytes(layout.blockSize);
    this.#bat = view(layout.bat);
    this.#blocks = layout.bat.length / 4;
    this.#dataEnd = layout.dataEnd;
    this.description = `vhd-dynamic over ${file.description}`;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, this.description);
    if (length === 0) return new Uint8Array(0);
    const segments = await this.#plan(offset, length);
    // One fully-present extent covering the whole request: hand out the file's bytes as they are.
    if (segments.length === 1) {
      const seg = segments[0]!;
      if (seg.dataOffset >= 0 && seg.bitmap === true) return this.#file.read(seg.dataOffset, length);
      if (seg.dataOffset >= 0 && seg.bitmap === undefined) {
        // Bitmap and data in one read; a fully present block's bytes are then returned as read.
        const [bitmap, data] = await readExtents(this.#file, [
          { offset: seg.dataOffset - seg.inBlock - this.#bitmapBytes, length: this.#bitmapBytes },
          { offset: seg.dataOffset, length },
        ]);
        seg.bitmap = this.#remember(seg.block, bitmap!);
        if (seg.bitmap === true) return data!;
        const out = new Uint8Array(length);
        copyPresentSectors(out, seg, data!, seg.bitmap);
        return out;
      }
    }
    // #fill writes every byte (zeros for unallocated blocks and absent sectors).
    const out = unfilledBytes(length);
    await this.#fill(segments, out, true);
    return out;
  }

  /** As read, into the caller's buffer: fully present blocks are read straight into it. */
  async readInto(offset: number, target: Uint8Array): Promise<void> {
    checkRange(this.size, offset, target.length, this.description);
    if (target.length === 0) return;
    await this.#fill(await this.#plan(offset, target.length), target, true);
  }

  /** Maps the request to per-block segments, with each allocated block's bitmap if cached. */
  async #plan(offset: number, length: number): Promise<Segment[]> {
    const segments: Segment[] = [];
    const end = offset + length;
    for (let pos = offset; pos < end; ) {
      const block = Math.floor(pos / this.#blockSize);
      const inBlock = pos - block * this.#blockSize;
      const n = Math.min(this.#blockSize - inBlock, end - pos);
      const seg: Segment = { dest: pos - offset, length: n, inBlock, block, dataOffset: -1, bitmap: undefined };
      const sector = block < this.#blocks ? this.#bat.getUint32(block * 4, false) : UNALLOCATED;
      if (sector !== UNALLOCATED) {
        const base = sector * VHD_SECTOR_BYTES;
        const dataStart = base + this.#bitmapBytes + inBlock;
        if (dataStart + n > this.#dataEnd) {
          throw new CorruptError(
            `VHD block ${block} at sector ${sector} lies past the end of the data area (${this.#dataEnd} bytes)`,
            { location: `BAT entry ${block}` },
          );
        }
        seg.dataOffset = dataStart;
        seg.bitmap = this.#bitmaps.get(block);
      }
      segments.push(seg);
      pos += n;
    }
    return segments;
  }

  /** Fills `out` from the segments; `zeroFill` when `out` may hold old bytes. */
  async #fill(segments: readonly Segment[], out: Uint8Array, zeroFill: boolean): Promise<void> {
    if (zeroFill) {
      for (const seg of segments) if (seg.dataOffset < 0 || seg.bitmap !== true) out.fill(0, seg.dest, seg.dest + seg.length);
    }
    if (segments.some((seg) => seg.dataOffset >= 0 && seg.bitmap === undefined)) {
      await this.#fillCoalesced(segments, out);
      return;
    }
    // Every bitmap known: fully present blocks are read straight into `out`, one read per
    // block (their data is split by the next block's bitmap); partial ones through a copy.
    const direct: TargetExtent[] = [];
    const partial: Segment[] = [];
    for (const seg of segments) {
      if (seg.dataOffset < 0) continue;
      if (seg.bitmap === true) direct.push({ offset: seg.dataOffset, length: seg.length, target: out.subarray(seg.dest, seg.dest + seg.length) });
      else partial.push(seg);
    }
    const copyPartial = async (): Promise<void> => {
      if (partial.length === 0) return;
      const views = await readExtents(this.#file, partial.map((seg) => ({ offset: seg.dataOffset, length: seg.length })));
      partial.forEach((seg, i) => copyPresentSectors(out, seg, views[i]!, seg.bitmap as Uint8Array));
    };
    await Promise.all([readExtentsInto(this.#file, direct, 0), copyPartial()]);
  }

  /**
   * Some bitmaps unknown (the first pass over these blocks): bitmaps and data are fetched
   * together, blocks stored in order costing one underlying read, and then copied out.
   */
  async #fillCoalesced(segments: readonly Segment[], out: Uint8Array): Promise<void> {
    const extents: FileExtent[] = [];
    const bitmapIndex: number[] = [];
    const dataIndex: number[] = [];
    for (const seg of segments) {
      bitmapIndex.push(seg.dataOffset >= 0 && seg.bitmap === undefined ? extents.push({ offset: seg.dataOffset - seg.inBlock - this.#bitmapBytes, length: this.#bitmapBytes }) - 1 : -1);
      dataIndex.push(seg.dataOffset >= 0 ? extents.push({ offset: seg.dataOffset, length: seg.length }) - 1 : -1);
    }
    const views = await readExtents(this.#file, extents);
    segments.forEach((seg, i) => {
      if (bitmapIndex[i]! >= 0) seg.bitmap = this.#remember(seg.block, views[bitmapIndex[i]!]!);
      if (dataIndex[i]! < 0) return;
      const data = views[dataIndex[i]!]!;
      if (seg.bitmap === true) out.set(data, seg.dest);
      else if (seg.bitmap !== undefined) copyPresentSectors(out, seg, data, seg.bitmap);
    });
  }

  #remember(block: number, bytes: Uint8Array): Bitmap {
    let allOnes = true;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== 0xff) {
        allOnes = false;
        break;
      }
    }
    const cost = BITMAP_ENTRY_OVERHEAD_BYTES + (allOnes ? 0 : bytes.length);
    if (this.#bitmapCacheBytes + cost > MAX_BITMAP_CACHE_BYTES) {
      this.#bitmaps.clear();
      this.#bitmapCacheBytes = 0;
    }
    // Copy: the view may belong to a cache chunk that is recycled.
    const bitmap: Bitmap = allOnes ? true : bytes.slice();
    this.#bitmaps.set(block, bitmap);
    this.#bitmapCacheBytes += cost;
    return bitmap;
  }

  stats(): SourceStats {
    return this.#file.stats();
  }

  /** The decoder does not own the file it reads; whoever opened the file closes it. */
  async close(): Promise<void> {}
}

/** Copies the sectors of `data` whose bitmap bit is set (MSB first); the rest stay zero. */
function copyPresentSectors(out: Uint8Array, seg: Segment, data: Uint8Array, bitmap: Uint8Array): void {
  const first = Math.floor(seg.inBlock / VHD_SECTOR_BYTES);
  const last = Math.floor((seg.inBlock + seg.length - 1) / VHD_SECTOR_BYTES);
  let runStart = -1;
  const flush = (stopSector: number) => {
    const from = Math.max(runStart * VHD_SECTOR_BYTES, seg.inBlock);
    const to = Math.min(stopSector * VHD_SECTOR_BYTES, seg.inBlock + seg.length);
    out.set(data.subarray(from - seg.inBlock, to - seg.inBlock), seg.dest + from - seg.inBlock);
    runStart = -1;
  };
  for (let s = first; s <= last; s++) {
    const present = ((bitmap[s >>> 3]! >>> (7 - (s & 7))) & 1) === 1;
    if (present && runStart < 0) runStart = s;
    else if (!present && runStart >= 0) flush(s);
  }
  if (runStart >= 0) flush(last + 1);
}
