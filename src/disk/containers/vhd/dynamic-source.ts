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
import { view } from '../../../util/bytes.ts';
import { CorruptError } from '../../../util/errors.ts';
import { MiB } from '../../../util/units.ts';
import { bitmapBytes, VHD_SECTOR_BYTES } from './dynamic-header.ts';
import { readExtents, type FileExtent } from './extents.ts';

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
  /** Index of the data extent, or -1 for a zero segment. */
  dataIndex: number;
  /** Index of the bitmap extent when the bitmap is fetched with this read, else -1. */
  bitmapIndex: number;
  /** The block's bitmap, once known (from the cache or from this read). */
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
    const extents: FileExtent[] = [];
    const segments: Segment[] = [];
    const end = offset + length;
    for (let pos = offset; pos < end; ) {
      const block = Math.floor(pos / this.#blockSize);
      const inBlock = pos - block * this.#blockSize;
      const n = Math.min(this.#blockSize - inBlock, end - pos);
      const seg: Segment = { dest: pos - offset, length: n, inBlock, block, dataIndex: -1, bitmapIndex: -1, bitmap: undefined };
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
        seg.bitmap = this.#bitmaps.get(block);
        if (seg.bitmap === undefined) {
          seg.bitmapIndex = extents.push({ offset: base, length: this.#bitmapBytes }) - 1;
        }
        seg.dataIndex = extents.push({ offset: dataStart, length: n }) - 1;
      }
      segments.push(seg);
      pos += n;
    }
    const views = await readExtents(this.#file, extents);
    for (const seg of segments) {
      if (seg.bitmapIndex >= 0) seg.bitmap = this.#remember(seg.block, views[seg.bitmapIndex]!);
    }
    // One fully-present extent covering the whole request: hand out the file's bytes as they are.
    if (segments.length === 1) {
      const seg = segments[0]!;
      if (seg.dataIndex >= 0 && seg.bitmap === true) return views[seg.dataIndex]!;
    }
    const out = new Uint8Array(length);
    for (const seg of segments) {
      if (seg.dataIndex < 0) continue;
      const data = views[seg.dataIndex]!;
      if (seg.bitmap === true) out.set(data, seg.dest);
      else if (seg.bitmap !== undefined) copyPresentSectors(out, seg, data, seg.bitmap);
    }
    return out;
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
