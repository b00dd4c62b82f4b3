/**
 * MBR partition table with extended (EBR-chained) logical partitions.
 *
 * References: UEFI Specification 2.10, section 5.2.1 "Legacy Master Boot Record" (the 16-byte
 * entry layout and the 0x55AA signature); the extended-partition chain as Linux reads it
 * (block/partitions/msdos.c: the link entry is relative to the extended partition's start, the
 * data entry to the EBR holding it; logical partitions are numbered from 5).
 */
import type { BlockSource } from '../disk/index.ts';
import { CorruptError, NotThisFormatError } from '../util/errors.ts';
import { ascii, view } from '../util/bytes.ts';
import type { Issue } from '../util/issues.ts';

export const MBR_BYTES = 512;
const MBR_SIGNATURE_OFFSET = 510;
const MBR_ENTRIES_OFFSET = 446;
const MBR_ENTRY_BYTES = 16;
const MBR_PRIMARY_ENTRIES = 4;
const MBR_DISK_SIGNATURE_OFFSET = 440;

/** Protective MBR type of a GPT disk (UEFI 2.10 section 5.2.3). */
export const MBR_TYPE_GPT_PROTECTIVE = 0xee;
/** CHS extended (0x05), LBA extended (0x0F) and Linux extended (0x85) link to an EBR chain. */
export const MBR_EXTENDED_TYPES: ReadonlySet<number> = new Set([0x05, 0x0f, 0x85]);

/**
 * Most logical partitions we follow in one EBR chain (the Linux kernel stops at 256 partitions
 * per disk, DISK_MAX_PARTS); also the step budget of the chain walk.
 */
export const MAX_LOGICAL_PARTITIONS = 256;

export interface MbrEntry {
  /** Slot 0..3 in its sector. */
  slot: number;
  bootIndicator: number;
  type: number;
  /** First sector (relative to what the entry's sector says it is relative to). */
  startLba: number;
  sectors: number;
}

export interface MbrPartition {
  /** 1..4 for primary entries, 5.. for logical partitions in chain order. */
  number: number;
  type: number;
  bootable: boolean;
  /** Absolute first sector on the disk, in logical sectors. */
  startLba: number;
  sectors: number;
  logical: boolean;
  /** True for an extended partition (the container of logical partitions). */
  extended: boolean;
}

export interface MbrTable {
  diskSignature: number;
  sectorSize: number;
  partitions: MbrPartition[];
  /** A 0xEE entry: the disk is (or claims to be) GPT. */
  protective: boolean;
  /** A 0xEE entry next to other non-empty entries. */
  hybrid: boolean;
  issues: Issue[];
}

/**
 * Decodes sector 0 as an MBR. NotThisFormatError when the signature is missing, a boot
 * indicator is not 0x00/0x80, or the sector is a FAT/NTFS boot sector (they also end in 0x55AA).
 */
export function parseMbrSector(sector: Uint8Array): { diskSignature: number; entries: MbrEntry[] } {
  if (sector.length < MBR_BYTES) throw new NotThisFormatError('MBR: disk is smaller than one sector');
  if (sector[MBR_SIGNATURE_OFFSET] !== 0x55 || sector[MBR_SIGNATURE_OFFSET + 1] !== 0xaa) {
    throw new NotThisFormatError('MBR: no 0x55AA signature');
  }
  if (looksLikeBootSector(sector)) throw new NotThisFormatError('MBR: sector 0 is a FAT/NTFS boot sector');
  const entries = readEntries(sector);
  for (const e of entries) {
    if (e.bootIndicator !== 0 && e.bootIndicator !== 0x80) {
      throw new NotThisFormatError(`MBR: entry ${e.slot + 1} has boot indicator 0x${e.bootIndicator.toString(16)}`);
    }
  }
  return { diskSignature: view(sector).getUint32(MBR_DISK_SIGNATURE_OFFSET, true), entries };
}

function readEntries(sector: Uint8Array): MbrEntry[] {
  const dv = view(sector);
  const out: MbrEntry[] = [];
  for (let slot = 0; slot < MBR_PRIMARY_ENTRIES; slot++) {
    const o = MBR_ENTRIES_OFFSET + slot * MBR_ENTRY_BYTES;
    out.push({
      slot,
      bootIndicator: sector[o]!,
      type: sector[o + 4]!,
      startLba: dv.getUint32(o + 8, true),
      sectors: dv.getUint32(o + 12, true),
    });
  }
  return out;
}

function isEmpty(e: MbrEntry): boolean {
  return e.type === 0 || e.sectors === 0;
}

/** A volume boot record of FAT or NTFS: jump instruction plus its file system name string. */
function looksLikeBootSector(sector: Uint8Array): boolean {
  if (sector[0] !== 0xeb && sector[0] !== 0xe9) return false;
  const fat1x = ascii(sector, 54, 59);
  const fat32 = ascii(sector, 82, 87);
  return fat1x === 'FAT12' || fat1x === 'FAT16' || ascii(sector, 54, 62) === 'FAT     ' || fat32 === 'FAT32' || ascii(sector, 3, 11) === 'NTFS    ';
}

/**
 * Reads the MBR and follows extended partitions. Partition geometry problems (past the end of
 * the disk, EBR cycles) are issues; only a missing/invalid signature throws (NotThisFormatError).
 */
export async function readMbr(disk: BlockSource, sectorSize = disk.sectorSize): Promise<MbrTable> {
  if (disk.size < MBR_BYTES) throw new NotThisFormatError('MBR: disk is smaller than one sector');
  const { diskSignature, entries } = parseMbrSector(await disk.read(0, MBR_BYTES));
  const table: MbrTable = { diskSignature, sectorSize, partitions: [], protective: false, hybrid: false, issues: [] };
  const used = entries.filter((e) => !isEmpty(e));
  table.protective = used.some((e) => e.type === MBR_TYPE_GPT_PROTECTIVE);
  table.hybrid = table.protective && used.some((e) => e.type !== MBR_TYPE_GPT_PROTECTIVE);
  let sawExtended = false;
  for (const e of used) {
    const extended = MBR_EXTENDED_TYPES.has(e.type);
    table.partitions.push({
      number: e.slot + 1,
      type: e.type,
      bootable: e.bootIndicator === 0x80,
      startLba: e.startLba,
      sectors: e.sectors,
      logical: false,
      extended,
    });
    if (!extended) continue;
    if (sawExtended) {
      // Linux follows only the first extended partition; a second one is suspicious.
      table.issues.push({ severity: 'warning', code: 'mbr.multiple-extended', message: `MBR: more than one extended partition; entry ${e.slot + 1} is not followed`, location: `MBR entry ${e.slot + 1}` });
      continue;
    }
    sawExtended = true;
    await walkEbrChain(disk, sectorSize, e, table);
  }
  return table;
}

/** Follows the EBR chain of extended partition `ext`, appending logical partitions to `table`. */
async function walkEbrChain(disk: BlockSource, sectorSize: number, ext: MbrEntry, table: MbrTable): Promise<void> {
  const extStart = ext.startLba;
  const extEnd = ext.startLba + ext.sectors;
  const visited = new Set<number>();
  let ebrLba = extStart;
  let number = 5;
  for (let step = 0; ; step++) {
    if (step >= MAX_LOGICAL_PARTITIONS) {
      table.issues.push({ severity: 'error', code: 'mbr.ebr-budget', message: `MBR: extended partition chain longer than ${MAX_LOGICAL_PARTITIONS} links; the rest is not read`, location: `EBR at LBA ${ebrLba}` });
      return;
    }
    if (visited.has(ebrLba)) {
      table.issues.push({ severity: 'error', code: 'mbr.ebr-cycle', message: `MBR: extended partition chain loops back to the EBR at LBA ${ebrLba}`, location: `EBR at LBA ${ebrLba}` });
      return;
    }
    visited.add(ebrLba);
    const byteOffset = ebrLba * sectorSize;
    if (byteOffset + MBR_BYTES > disk.size) {
      table.issues.push({ severity: 'error', code: 'mbr.ebr-outside-disk', message: `MBR: EBR at LBA ${ebrLba} is past the end of the disk`, location: `EBR at LBA ${ebrLba}` });
      return;
    }
    const sector = await disk.read(byteOffset, MBR_BYTES);
    if (sector[MBR_SIGNATURE_OFFSET] !== 0x55 || sector[MBR_SIGNATURE_OFFSET + 1] !== 0xaa) {
      table.issues.push({ severity: 'error', code: 'mbr.ebr-signature', message: `MBR: EBR at LBA ${ebrLba} has no 0x55AA signature; the chain ends here`, location: `EBR at LBA ${ebrLba}` });
      return;
    }
    let data: MbrEntry | undefined;
    let link: MbrEntry | undefined;
    for (const e of readEntries(sector)) {
      if (isEmpty(e)) continue;
      if (MBR_EXTENDED_TYPES.has(e.type)) {
        if (link === undefined) link = e;
      } else if (data === undefined) {
        data = e;
      } else {
        table.issues.push({ severity: 'warning', code: 'mbr.ebr-extra-entry', message: `MBR: EBR at LBA ${ebrLba} holds more than one logical partition; slot ${e.slot + 1} is ignored`, location: `EBR at LBA ${ebrLba}` });
      }
    }
    if (data !== undefined) {
      const start = ebrLba + data.startLba;
      if (start + data.sectors > extEnd) {
        table.issues.push({ severity: 'warning', code: 'mbr.logical-outside-extended', message: `MBR: logical partition ${number} extends past its extended partition`, location: `EBR at LBA ${ebrLba}` });
      }
      table.partitions.push({ number, type: data.type, bootable: data.bootIndicator === 0x80, startLba: start, sectors: data.sectors, logical: true, extended: false });
      number++;
    }
    if (link === undefined) return;
    const next = extStart + link.startLba;
    if (next < extStart || next >= extEnd) {
      table.issues.push({ severity: 'error', code: 'mbr.ebr-outside-extended', message: `MBR: EBR link to LBA ${next} points outside the extended partition`, location: `EBR at LBA ${ebrLba}` });
      return;
    }
    if (!Number.isSafeInteger(next * sectorSize)) throw new CorruptError(`MBR: EBR link to LBA ${next} is out of range`, { location: `EBR at LBA ${ebrLba}` });
    ebrLba = next;
  }
}
