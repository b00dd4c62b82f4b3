/**
 * VHDX block allocation table geometry and entries.
 *
 * Spec: [MS-VHDX] section 2.4 (Blocks) and 2.5 (BAT): payload entries interleaved with one
 * sector-bitmap entry after every `chunkRatio` payload entries, where
 * chunkRatio = 2^23 * LogicalSectorSize / BlockSize. Each 64-bit entry: State in bits 0-2,
 * FileOffsetMB in bits 20-63.
 */
import { MiB } from '../../../util/units.ts';

export const PAYLOAD_STATE = {
  notPresent: 0,
  undefined: 1,
  zero: 2,
  unmapped: 3,
  fullyPresent: 6,
  partiallyPresent: 7,
} as const;

/** Largest BAT we load into memory in one read (8 bytes per entry). */
export const MAX_BAT_BYTES = 64 * MiB;
const SECTORS_PER_BITMAP_BLOCK = 2 ** 23;

export interface BatGeometry {
  chunkRatio: number;
  payloadBlocks: number;
  /** Entries needed to locate every payload block (the last entry is the last payload block). */
  entries: number;
}

export function batGeometry(virtualSize: number, blockSize: number, logicalSectorSize: number): BatGeometry {
  const chunkRatio = (SECTORS_PER_BITMAP_BLOCK * logicalSectorSize) / blockSize;
  const payloadBlocks = Math.ceil(virtualSize / blockSize);
  const entries = payloadBlocks === 0 ? 0 : payloadBlocks + Math.floor((payloadBlocks - 1) / chunkRatio);
  return { chunkRatio, payloadBlocks, entries };
}

export function payloadEntryIndex(block: number, chunkRatio: number): number {
  return block + Math.floor(block / chunkRatio);
}

export interface BatEntry {
  state: number;
  /** FileOffsetMB, in MiB (44 bits: may exceed what a file can hold; callers check). */
  fileOffsetMB: number;
}

export function batEntry(bat: DataView, index: number): BatEntry {
  const lo = bat.getUint32(index * 8, true);
  const hi = bat.getUint32(index * 8 + 4, true);
  return { state: lo & 7, fileOffsetMB: hi * 4096 + (lo >>> 20) };
}
