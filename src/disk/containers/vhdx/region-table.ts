/**
 * The VHDX region table: where the BAT and the metadata region live.
 *
 * Spec: [MS-VHDX] section 2.2.3 (Region Table). Two 64 KiB copies at 192 KiB and 256 KiB,
 * each protected by CRC-32C over the whole 64 KiB.
 */
import { ascii, guidLE, u64le, view } from '../../../util/bytes.ts';
import { CorruptError, UnsupportedError } from '../../../util/errors.ts';
import { KiB } from '../../../util/units.ts';
import { crc32cWithHole, VHDX_ALIGNMENT_BYTES } from './header.ts';

export const VHDX_REGION_TABLE_OFFSETS = [192 * KiB, 256 * KiB] as const;
export const VHDX_REGION_TABLE_BYTES = 64 * KiB;
/** Spec limit on region table entries (the table is 64 KiB of 32-byte entries after a header). */
export const MAX_REGION_ENTRIES = 2047;
const ENTRY_BYTES = 32;
const HEADER_BYTES = 16;

export const BAT_REGION_GUID = '2DC27766-F623-4200-9D64-115E9BFD4A08';
export const METADATA_REGION_GUID = '8B7CA206-4790-4B9A-B8FE-575F050F886E';

export interface Region {
  offset: number;
  length: number;
}

export interface RegionTable {
  bat: Region;
  metadata: Region;
}

/**
 * Checks signature, CRC and entry count; returns the reason when the copy is unusable so the
 * caller can fall back to the other copy. Semantic problems in a table that passed its CRC
 * (unknown required region, overlapping or misplaced regions) throw.
 */
export function parseRegionTable(buf: Uint8Array, fileSize: number, location: string): RegionTable | string {
  if (buf.length < VHDX_REGION_TABLE_BYTES || ascii(buf, 0, 4) !== 'regi') return 'signature "regi" missing';
  const t = buf.subarray(0, VHDX_REGION_TABLE_BYTES);
  const dv = view(t);
  if (dv.getUint32(4, true) !== crc32cWithHole(t, 4)) return 'CRC-32C mismatch';
  const count = dv.getUint32(8, true);
  if (count > MAX_REGION_ENTRIES) return `entry count ${count} exceeds ${MAX_REGION_ENTRIES}`;

  let bat: Region | undefined;
  let metadata: Region | undefined;
  for (let i = 0; i < count; i++) {
    const at = HEADER_BYTES + i * ENTRY_BYTES;
    const guid = guidLE(t, at);
    const offset = u64le(dv, at + 16, 'region offset');
    const length = dv.getUint32(at + 24, true);
    const required = (dv.getUint32(at + 28, true) & 1) === 1;
    const where = `${location} entry ${i}`;
    if (guid !== BAT_REGION_GUID && guid !== METADATA_REGION_GUID) {
      if (required) throw new UnsupportedError(`VHDX region ${guid} is required but not known to this reader`, { location: where });
      continue;
    }
    if (offset < VHDX_ALIGNMENT_BYTES || offset % VHDX_ALIGNMENT_BYTES !== 0 || length === 0 || offset + length > fileSize) {
      throw new CorruptError(`VHDX region ${guid} at ${offset} (+${length}) is misplaced or outside the ${fileSize}-byte file`, {
        location: where,
      });
    }
    const region = { offset, length };
    if (guid === BAT_REGION_GUID) {
      if (bat) throw new CorruptError('VHDX region table lists the BAT twice', { location: where });
      bat = region;
    } else {
      if (metadata) throw new CorruptError('VHDX region table lists the metadata region twice', { location: where });
      metadata = region;
    }
  }
  if (!bat || !metadata) {
    throw new CorruptError(`VHDX region table lacks the ${bat ? 'metadata region' : 'BAT'}`, { location });
  }
  if (bat.offset < metadata.offset + metadata.length && metadata.offset < bat.offset + bat.length) {
    throw new CorruptError('VHDX BAT and metadata regions overlap', { location });
  }
  return { bat, metadata };
}
