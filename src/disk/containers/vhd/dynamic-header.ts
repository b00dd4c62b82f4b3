/**
 * The VHD dynamic disk header ("cxsparse").
 *
 * Spec: Microsoft "Virtual Hard Disk Image Format Specification" v1.0 (2006), section
 * "Dynamic Disk Header Format". Big-endian, 1024 bytes, found at the footer's data offset.
 */
import { ascii, view } from '../../../util/bytes.ts';
import { CorruptError, UnsupportedError } from '../../../util/errors.ts';
import { MiB } from '../../../util/units.ts';
import { vhdChecksum } from './footer.ts';

export const VHD_DYNAMIC_HEADER_BYTES = 1024;
export const VHD_SPARSE_COOKIE = 'cxsparse';
export const VHD_SECTOR_BYTES = 512;
const CHECKSUM_OFFSET = 36;
const PARENT_NAME_OFFSET = 64;
const PARENT_NAME_BYTES = 512;

/** Smallest block we accept: one sector (the spec's default is 2 MiB). */
export const MIN_VHD_BLOCK_BYTES = VHD_SECTOR_BYTES;
/** Largest block we accept; its sector bitmap is then 64 KiB. */
export const MAX_VHD_BLOCK_BYTES = 256 * MiB;
/** Largest block allocation table we load (4 bytes per entry: a 64 MiB table). */
export const MAX_VHD_BAT_ENTRIES = 16 * 1024 * 1024;

export interface VhdDynamicHeader {
  /** Absolute file offset of the block allocation table. */
  tableOffset: number;
  maxTableEntries: number;
  blockSize: number;
  /** Parent file name of a differencing disk (empty for a dynamic disk). */
  parentName: string;
}

export function parseDynamicHeader(buf: Uint8Array, location: string): VhdDynamicHeader {
  if (buf.length < VHD_DYNAMIC_HEADER_BYTES || ascii(buf, 0, 8) !== VHD_SPARSE_COOKIE) {
    throw new CorruptError('VHD dynamic disk header cookie "cxsparse" is missing', { location });
  }
  const dv = view(buf);
  const stored = dv.getUint32(CHECKSUM_OFFSET, false);
  if (stored !== vhdChecksum(buf.subarray(0, VHD_DYNAMIC_HEADER_BYTES), CHECKSUM_OFFSET)) {
    throw new CorruptError('VHD dynamic disk header checksum mismatch', { location });
  }
  const version = dv.getUint32(24, false);
  if (version >>> 16 !== 1) {
    throw new UnsupportedError(`VHD dynamic disk header version ${version >>> 16}.${version & 0xffff} is not supported (only 1.x)`, { location });
  }
  const tableRaw = dv.getBigUint64(16, false);
  if (tableRaw > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CorruptError(`VHD block allocation table offset out of range: ${tableRaw}`, { location });
  }
  return {
    tableOffset: Number(tableRaw),
    maxTableEntries: dv.getUint32(28, false),
    blockSize: dv.getUint32(32, false),
    parentName: utf16beString(buf.subarray(PARENT_NAME_OFFSET, PARENT_NAME_OFFSET + PARENT_NAME_BYTES)),
  };
}

/** Checks the geometry numbers a hostile header could make absurd. */
export function checkDynamicGeometry(header: VhdDynamicHeader, virtualSize: number, location: string): void {
  const b = header.blockSize;
  if (b < MIN_VHD_BLOCK_BYTES || b > MAX_VHD_BLOCK_BYTES || (b & (b - 1)) !== 0) {
    throw new CorruptError(
      `VHD block size ${b} is not a power of two between ${MIN_VHD_BLOCK_BYTES} and ${MAX_VHD_BLOCK_BYTES} bytes`,
      { location },
    );
  }
  if (header.maxTableEntries > MAX_VHD_BAT_ENTRIES) {
    throw new CorruptError(`VHD block allocation table has ${header.maxTableEntries} entries (limit ${MAX_VHD_BAT_ENTRIES})`, { location });
  }
  if (header.maxTableEntries * b < virtualSize) {
    throw new CorruptError(
      `VHD block allocation table covers ${header.maxTableEntries * b} bytes but the disk is ${virtualSize} bytes`,
      { location },
    );
  }
}

/** Bytes of the sector bitmap in front of each block: one bit per sector, sector-aligned. */
export function bitmapBytes(blockSize: number): number {
  const bits = blockSize / VHD_SECTOR_BYTES;
  return Math.ceil(Math.ceil(bits / 8) / VHD_SECTOR_BYTES) * VHD_SECTOR_BYTES;
}

/** UTF-16 big-endian up to the first NUL (the parent's Unicode name). */
function utf16beString(buf: Uint8Array): string {
  let end = 0;
  while (end + 1 < buf.length && (buf[end] !== 0 || buf[end + 1] !== 0)) end += 2;
  return new TextDecoder('utf-16be').decode(buf.subarray(0, end));
}
