/**
 * LVM2 physical volume label and PV header.
 *
 * Reference: lvm2 lib/label/label.h (struct label_header, LABEL_SCAN_SECTORS) and
 * lib/format_text/layout.h (struct pv_header, struct disk_locn), at lvm2 v2_03_16. The label is
 * a 512-byte sector among the first four of the device, "LABELONE", checksummed from its
 * offset_xl field to the end of the sector; the PV header follows in the same sector with two
 * zero-terminated lists of disk locations (data areas, then metadata areas).
 */
import type { BlockSource } from '../../disk/index.ts';
import { CorruptError, NotThisFormatError, UnsupportedError } from '../../util/errors.ts';
import { ascii, u64le, view } from '../../util/bytes.ts';
import { lvmCrc } from './crc.ts';

export const LVM_LABEL_ID = 'LABELONE';
export const LVM_LABEL_TYPE = 'LVM2 001';
/** LVM's label and metadata structures use 512-byte sectors whatever the device's sector size. */
export const LVM_SECTOR_BYTES = 512;
/** LABEL_SCAN_SECTORS: the label is in one of the first four sectors. */
export const LVM_LABEL_SCAN_SECTORS = 4;
/** ID_LEN: a PV or VG uuid is 32 characters without dashes. */
export const LVM_ID_CHARS = 32;
/** sizeof(struct label_header). */
const LABEL_HEADER_BYTES = 32;
/** Offset of offset_xl in the label header; the label CRC covers from here to the sector end. */
const LABEL_CRC_START = 20;
const DISK_LOCN_BYTES = 16;
/** sizeof(pv_header) before its lists: uuid plus device_size_xl. */
const PV_HEADER_FIXED_BYTES = LVM_ID_CHARS + 8;

export interface DiskLocation {
  /** Bytes from the start of the PV. */
  offset: number;
  /** Bytes; 0 for a data area means "to the end of the device". */
  size: number;
}

export interface PvLabel {
  /** Which of the first four sectors holds the label. */
  labelSector: number;
  /** PV uuid, 32 characters without dashes. */
  uuid: string;
  deviceSize: number;
  dataAreas: DiskLocation[];
  metadataAreas: DiskLocation[];
}

/** Formats a 32-character LVM id the way LVM prints it (6-4-4-4-4-4-6 with dashes). */
export function formatLvmId(id: string): string {
  const groups = [6, 4, 4, 4, 4, 4, 6];
  const out: string[] = [];
  let at = 0;
  for (const g of groups) {
    out.push(id.slice(at, at + g));
    at += g;
  }
  return out.join('-');
}

/** NotThisFormatError without "LABELONE"; CorruptError when the label is there but broken. */
export async function readPvLabel(source: BlockSource): Promise<PvLabel> {
  const scanBytes = Math.min(source.size, LVM_LABEL_SCAN_SECTORS * LVM_SECTOR_BYTES);
  if (scanBytes < LVM_SECTOR_BYTES) throw new NotThisFormatError('LVM: device smaller than one sector');
  const head = await source.read(0, scanBytes);
  for (let s = 0; (s + 1) * LVM_SECTOR_BYTES <= scanBytes; s++) {
    const sector = head.subarray(s * LVM_SECTOR_BYTES, (s + 1) * LVM_SECTOR_BYTES);
    if (ascii(sector, 0, 8) !== LVM_LABEL_ID) continue;
    return parseLabelSector(sector, s);
  }
  throw new NotThisFormatError('LVM: no LABELONE label in the first four sectors');
}

export function parseLabelSector(sector: Uint8Array, s: number): PvLabel {
  const at = { location: `LVM label in sector ${s}` };
  const dv = view(sector);
  const claimed = dv.getBigUint64(8, true);
  if (claimed !== BigInt(s)) throw new CorruptError(`LVM: label in sector ${s} says it is in sector ${claimed}`, at);
  const stored = dv.getUint32(16, true);
  const computed = lvmCrc(sector.subarray(LABEL_CRC_START));
  if (stored !== computed) throw new CorruptError(`LVM: label checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`, at);
  const type = ascii(sector, 24, 32);
  if (type !== LVM_LABEL_TYPE) throw new UnsupportedError(`LVM: label type "${type}" is not supported (only "${LVM_LABEL_TYPE}")`, at);
  const pvOffset = dv.getUint32(20, true);
  if (pvOffset < LABEL_HEADER_BYTES || pvOffset + PV_HEADER_FIXED_BYTES + DISK_LOCN_BYTES > LVM_SECTOR_BYTES) {
    throw new CorruptError(`LVM: PV header offset ${pvOffset} is outside the label sector`, at);
  }
  const uuid = ascii(sector, pvOffset, pvOffset + LVM_ID_CHARS);
  if (!/^[A-Za-z0-9!#+.]{32}$/.test(uuid)) throw new CorruptError('LVM: PV uuid has invalid characters', at);
  const deviceSize = u64le(dv, pvOffset + LVM_ID_CHARS, 'LVM PV device size');
  // Both lists live in the label sector, which bounds their length.
  let pos = pvOffset + PV_HEADER_FIXED_BYTES;
  const lists: DiskLocation[][] = [[], []];
  for (const list of lists) {
    for (;;) {
      if (pos + DISK_LOCN_BYTES > LVM_SECTOR_BYTES) throw new CorruptError('LVM: PV header area list is not terminated inside the label sector', at);
      const offset = u64le(dv, pos, 'LVM disk_locn offset');
      const size = u64le(dv, pos + 8, 'LVM disk_locn size');
      pos += DISK_LOCN_BYTES;
      if (offset === 0) break;
      list.push({ offset, size });
    }
  }
  return { labelSector: s, uuid, deviceSize, dataAreas: lists[0]!, metadataAreas: lists[1]! };
}
