/**
 * btrfs file reads: a file's EXTENT_DATA items mapped onto [offset, offset + length).
 *
 * Reference: btrfs on-disk format, "EXTENT_DATA" (btrfs.readthedocs.io); linux v6.6
 * fs/btrfs/inode.c (btrfs_get_extent, read_inline_extent: inline data at file offset 0),
 * fs/btrfs/compression.c and zlib.c, lzo.c, zstd.c (one compressed stream per disk extent,
 * decompressing to ram_bytes, of which the file uses [offset, offset + num_bytes)).
 *
 * Holes: a regular extent with disk_bytenr 0, a prealloc extent, a gap between extents
 * (NO_HOLES) and the tail past the last extent all read as zeros.
 */
import { inflateSync, zstdDecompressSync, constants as zlibConstants } from 'node:zlib';
import { CorruptError, UnsupportedError } from '../../util/errors.ts';
import type { FileExtent, Compression } from './items.ts';
import { btrfsLzoDecompress } from './lzo.ts';

/** BTRFS_MAX_UNCOMPRESSED: a compressed extent never expands to more than 128 KiB. */
export const MAX_UNCOMPRESSED_EXTENT_BYTES = 128 * 1024;
/** BTRFS_MAX_COMPRESSED: nor is its compressed form larger. */
export const MAX_COMPRESSED_EXTENT_BYTES = 128 * 1024;
/** Inline extents fit in one leaf (at most a 64 KiB node). */
export const MAX_INLINE_BYTES = 64 * 1024;

/** Decompresses one extent's stored bytes to exactly `ramBytes`, checking btrfs's limits. */
export function decompressExtent(alg: Compression, stored: Uint8Array, ramBytes: number, sectorBytes: number, location: string): Uint8Array {
  if (ramBytes > MAX_UNCOMPRESSED_EXTENT_BYTES) throw new CorruptError(`btrfs ${alg} extent claims ${ramBytes} uncompressed bytes (limit ${MAX_UNCOMPRESSED_EXTENT_BYTES})`, { location });
  if (stored.length > MAX_COMPRESSED_EXTENT_BYTES) throw new CorruptError(`btrfs ${alg} extent of ${stored.length} compressed bytes (limit ${MAX_COMPRESSED_EXTENT_BYTES})`, { location });
  let out: Uint8Array;
  try {
    if (alg === 'zlib') {
      // One zlib stream followed by sector padding (ignored after the stream end); SYNC_FLUSH
      // accepts a stream without Z_STREAM_END, as the kernel's zlib_decompress_bio does.
      out = inflateSync(stored, { maxOutputLength: MAX_UNCOMPRESSED_EXTENT_BYTES, finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } else if (alg === 'zstd') {
      // One zstd frame, then zero padding that libzstd would read as a broken next frame.
      out = zstdDecompressSync(stored.subarray(0, zstdFrameBytes(stored, location)), { maxOutputLength: MAX_UNCOMPRESSED_EXTENT_BYTES });
    } else if (alg === 'lzo') {
      return btrfsLzoDecompress(stored, ramBytes, sectorBytes, location);
    } else {
      throw new UnsupportedError(`btrfs compression ${alg}`, { location });
    }
  } catch (err) {
    if (err instanceof CorruptError || err instanceof UnsupportedError) throw err;
    throw new CorruptError(`btrfs ${alg} extent does not decompress: ${err instanceof Error ? err.message : String(err)}`, { location, cause: err });
  }
  // The kernel zero-fills a short stream's tail (btrfs_decompress_buf2page stops early).
  if (out.length >= ramBytes) return out.subarray(0, ramBytes);
  const full = new Uint8Array(ramBytes);
  full.set(out);
  return full;
}

const ZSTD_MAGIC = 0xfd2fb528;
/** Blocks one zstd frame may have (128 KiB of output in blocks of at least one byte). */
const MAX_ZSTD_BLOCKS = MAX_UNCOMPRESSED_EXTENT_BYTES + 1;

/**
 * Length of the zstd frame at the start of `b`, from its header and block headers
 * (RFC 8878 sections 3.1.1 and 3.1.1.2): magic, frame header descriptor, optional window
 * descriptor, dictionary id and content size, blocks of a 3-byte header each, optional checksum.
 */
export function zstdFrameBytes(b: Uint8Array, location: string): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 6 || dv.getUint32(0, true) !== ZSTD_MAGIC) throw new CorruptError('btrfs zstd extent does not start with a zstd frame', { location });
  const fhd = b[4]!;
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const checksum = (fhd >> 2) & 1;
  const dictBytes = [0, 1, 2, 4][fhd & 3]!;
  const fcsBytes = [singleSegment, 2, 4, 8][fcsFlag]!;
  let at = 5 + (singleSegment ? 0 : 1) + dictBytes + fcsBytes;
  for (let blocks = 0; ; blocks++) {
    if (blocks >= MAX_ZSTD_BLOCKS || at + 3 > b.length) throw new CorruptError('btrfs zstd frame truncated', { location });
    const header = b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
    const last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === 3) throw new CorruptError('btrfs zstd frame has a reserved block type', { location });
    at += 3 + (type === 1 ? 1 : size);
    if (last) break;
  }
  at += checksum ? 4 : 0;
  if (at > b.length) throw new CorruptError('btrfs zstd frame truncated', { location });
  return at;
}

/** One piece of a read: a range of the output filled from an extent (or left as zeros). */
export interface ReadPiece {
  /** Offset in the output buffer. */
  at: number;
  bytes: number;
  extent: FileExtent;
  /** Offset inside the extent's (decompressed) data. */
  within: number;
}

/**
 * Which extents serve [offset, end): extents must be sorted by file offset and not overlap
 * (checked by the caller). Uncovered ranges are holes.
 */
export function planRead(extents: readonly FileExtent[], offset: number, end: number): ReadPiece[] {
  const pieces: ReadPiece[] = [];
  // First extent that ends after `offset` (binary search on fileOffset).
  let lo = 0;
  let hi = extents.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = extents[mid]!;
    if (e.fileOffset + e.numBytes <= offset) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < extents.length; i++) {
    const e = extents[i]!;
    if (e.fileOffset >= end) break;
    const from = Math.max(offset, e.fileOffset);
    const to = Math.min(end, e.fileOffset + e.numBytes);
    if (to <= from) continue;
    if (e.kind === 'prealloc' || (e.kind === 'regular' && e.diskBytenr === 0)) continue;
    pieces.push({ at: from - offset, bytes: to - from, extent: e, within: e.offset + (from - e.fileOffset) });
  }
  return pieces;
}

/** Checks that a file's extents are sorted and disjoint (a corrupt overlap is refused). */
export function checkExtents(extents: readonly FileExtent[], location: string): void {
  for (let i = 0; i < extents.length; i++) {
    const e = extents[i]!;
    if (e.kind === 'inline') {
      if (e.compression === 'none' ? e.inline!.length > MAX_INLINE_BYTES : e.ramBytes > MAX_INLINE_BYTES) throw new CorruptError(`btrfs inline extent of ${e.ramBytes} bytes`, { location });
    } else if (e.compression !== 'none') {
      if (e.ramBytes > MAX_UNCOMPRESSED_EXTENT_BYTES) throw new CorruptError(`btrfs compressed extent claims ${e.ramBytes} uncompressed bytes (limit ${MAX_UNCOMPRESSED_EXTENT_BYTES})`, { location });
      if (e.offset + e.numBytes > e.ramBytes) throw new CorruptError(`btrfs compressed extent slice [${e.offset}, +${e.numBytes}) exceeds its ${e.ramBytes} bytes`, { location });
    }
    if (e.fileOffset + e.numBytes > Number.MAX_SAFE_INTEGER) throw new CorruptError('btrfs extent past 2^53', { location });
    const prev = extents[i - 1];
    if (prev && prev.fileOffset + prev.numBytes > e.fileOffset) throw new CorruptError(`btrfs file extents at ${prev.fileOffset} and ${e.fileOffset} overlap`, { location });
  }
}
