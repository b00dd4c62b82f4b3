/**
 * GUID Partition Table.
 *
 * Reference: UEFI Specification 2.10, chapter 5 "GUID Partition Table (GPT) Disk Layout":
 * 5.3.2 GPT Header (table 5-5), 5.3.3 GPT Partition Entry Array (table 5-6). The header and
 * the entry array are CRC32-checked; when the primary header is unusable the backup header
 * (at the primary's AlternateLBA, or the last LBA) is used and reported.
 */
import type { BlockSource } from '../disk/index.ts';
import { CorruptError, HullscanError, NotThisFormatError } from '../util/errors.ts';
import { ascii, guidLE, isAllZero, u64le, view } from '../util/bytes.ts';
import { crc32 } from '../util/crc32.ts';
import type { Issue } from '../util/issues.ts';
import { MiB } from '../util/units.ts';

export const GPT_SIGNATURE = 'EFI PART';
/** Smallest header the spec defines (table 5-5); anything after it up to HeaderSize is reserved. */
const GPT_HEADER_MIN_BYTES = 92;
/** The spec's minimum entry size; larger entries must be 128 * 2^n (we accept any multiple of 8). */
const GPT_ENTRY_MIN_BYTES = 128;
/** Largest entry size we accept (the spec allows 128 * 2^n; real disks use 128). */
export const MAX_GPT_ENTRY_BYTES = 4096;
/** Largest entry count we accept (real tables have 128; sgdisk allows a few hundred). */
export const MAX_GPT_ENTRIES = 1024;
/** Largest entry array we read. */
export const MAX_GPT_ARRAY_BYTES = 1 * MiB;
/** Logical sector sizes a GPT may be written with. */
export const GPT_SECTOR_SIZES = [512, 4096] as const;

export interface GptPartition {
  /** 1-based index in the entry array. */
  number: number;
  typeGuid: string;
  partitionGuid: string;
  firstLba: number;
  /** Inclusive. */
  lastLba: number;
  attributes: bigint;
  name: string;
}

export interface GptTable {
  sectorSize: number;
  diskGuid: string;
  /** Which header the table was read from. */
  header: 'primary' | 'backup';
  headerLba: number;
  alternateLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  entryCount: number;
  entryBytes: number;
  partitions: GptPartition[];
  issues: Issue[];
}

interface GptHeader {
  myLba: number;
  alternateLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: string;
  entriesLba: number;
  entryCount: number;
  entryBytes: number;
  entriesCrc: number;
}

export interface ReadGptOptions {
  /**
   * Sector 0 holds a protective MBR (type 0xEE): look for a backup header even when the
   * primary's signature is gone.
   */
  protectiveMbr?: boolean;
}

function sectorSizesFor(disk: BlockSource): number[] {
  const first = (GPT_SECTOR_SIZES as readonly number[]).includes(disk.sectorSize) ? disk.sectorSize : 512;
  return [first, ...GPT_SECTOR_SIZES.filter((s) => s !== first)];
}

/**
 * Finds and reads a GPT. NotThisFormatError when no primary header signature exists at either
 * sector size (and no protective MBR asks us to look for a backup); CorruptError when a header
 * is present but neither it nor the backup is valid.
 */
export async function readGpt(disk: BlockSource, options: ReadGptOptions = {}): Promise<GptTable> {
  const failures: string[] = [];
  for (const ss of sectorSizesFor(disk)) {
    if (disk.size < 2 * ss) continue;
    const sector = await disk.read(ss, ss);
    if (ascii(sector, 0, 8) !== GPT_SIGNATURE) continue;
    let primaryAlternate: number | undefined;
    try {
      const table = await readTableAt(disk, ss, 1, sector);
      await checkBackupHeader(disk, table);
      return table;
    } catch (err) {
      if (!(err instanceof HullscanError)) throw err;
      failures.push(`primary header (${ss}-byte sectors): ${err.message}`);
      primaryAlternate = peekAlternateLba(sector);
    }
    const backup = await tryBackups(disk, ss, primaryAlternate, failures);
    if (backup !== undefined) return withPrimaryIssue(backup, failures);
    throw new CorruptError(`GPT: no valid header: ${failures.join('; ')}`, { location: `LBA 1 (${ss}-byte sectors)` });
  }
  if (options.protectiveMbr === true) {
    for (const ss of sectorSizesFor(disk)) {
      const backup = await tryBackups(disk, ss, undefined, failures);
      if (backup !== undefined) {
        failures.unshift(`primary header (${ss}-byte sectors): no "${GPT_SIGNATURE}" signature`);
        return withPrimaryIssue(backup, failures);
      }
    }
    throw new CorruptError(`GPT: protective MBR but no valid GPT header${failures.length ? `: ${failures.join('; ')}` : ''}`, { location: 'LBA 1' });
  }
  throw new NotThisFormatError('GPT: no "EFI PART" header at LBA 1');
}

function withPrimaryIssue(table: GptTable, failures: string[]): GptTable {
  table.issues.unshift({
    severity: 'warning',
    code: 'gpt.primary-invalid',
    message: `GPT: primary header unusable (${failures[0] ?? 'invalid'}); the backup header at LBA ${table.headerLba} was used`,
    location: 'GPT primary header',
  });
  return table;
}

/**
 * A valid primary with a missing or broken backup is readable but worth reporting: it is what a
 * truncated image or a disk grown without fixing its GPT looks like. Only the header is checked.
 */
async function checkBackupHeader(disk: BlockSource, table: GptTable): Promise<void> {
  const ss = table.sectorSize;
  const lba = table.alternateLba;
  let problem: string | undefined;
  if (lba <= 1 || (lba + 1) * ss > disk.size) {
    problem = `the backup header LBA ${lba} is outside the disk (last LBA ${Math.floor(disk.size / ss) - 1})`;
  } else {
    const sector = await disk.read(lba * ss, ss);
    if (ascii(sector, 0, 8) !== GPT_SIGNATURE) problem = `no backup header at LBA ${lba}`;
    else {
      try {
        parseHeader(sector, ss, lba, disk.size);
      } catch (err) {
        if (!(err instanceof HullscanError)) throw err;
        problem = `backup header at LBA ${lba}: ${err.message}`;
      }
    }
  }
  if (problem !== undefined) {
    table.issues.push({ severity: 'warning', code: 'gpt.backup-invalid', message: `GPT: ${problem}; the primary header was used`, location: `GPT backup header` });
  }
}

/** The AlternateLBA field of a header whose CRC failed: only a hint, range-checked by the caller. */
function peekAlternateLba(sector: Uint8Array): number | undefined {
  const v = view(sector).getBigUint64(32, true);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

async function tryBackups(disk: BlockSource, ss: number, hint: number | undefined, failures: string[]): Promise<GptTable | undefined> {
  const lastLba = Math.floor(disk.size / ss) - 1;
  const candidates = [...new Set([hint, lastLba].filter((l): l is number => l !== undefined && l > 1 && l <= lastLba))];
  for (const lba of candidates) {
    const sector = await disk.read(lba * ss, ss);
    if (ascii(sector, 0, 8) !== GPT_SIGNATURE) {
      failures.push(`backup header at LBA ${lba} (${ss}-byte sectors): no signature`);
      continue;
    }
    try {
      return await readTableAt(disk, ss, lba, sector);
    } catch (err) {
      if (!(err instanceof HullscanError)) throw err;
      failures.push(`backup header at LBA ${lba} (${ss}-byte sectors): ${err.message}`);
    }
  }
  return undefined;
}

/** Validates the header in `sector` (read from `lba`) and reads its entry array. */
async function readTableAt(disk: BlockSource, ss: number, lba: number, sector: Uint8Array): Promise<GptTable> {
  const header = parseHeader(sector, ss, lba, disk.size);
  const arrayBytes = header.entryCount * header.entryBytes;
  const arrayOffset = header.entriesLba * ss;
  if (arrayOffset + arrayBytes > disk.size) {
    throw new CorruptError(`GPT: partition entry array at LBA ${header.entriesLba} (${arrayBytes} bytes) is past the end of the disk`, { location: `GPT header at LBA ${lba}` });
  }
  const array = arrayBytes === 0 ? new Uint8Array(0) : await disk.read(arrayOffset, arrayBytes);
  const crc = crc32(array);
  if (crc !== header.entriesCrc) {
    throw new CorruptError(`GPT: partition entry array CRC32 mismatch (stored 0x${header.entriesCrc.toString(16)}, computed 0x${crc.toString(16)})`, { location: `GPT entries at LBA ${header.entriesLba}` });
  }
  const issues: Issue[] = [];
  const partitions = parseEntries(array, header, issues);
  return {
    sectorSize: ss,
    diskGuid: header.diskGuid,
    header: lba === 1 ? 'primary' : 'backup',
    headerLba: lba,
    alternateLba: header.alternateLba,
    firstUsableLba: header.firstUsableLba,
    lastUsableLba: header.lastUsableLba,
    entryCount: header.entryCount,
    entryBytes: header.entryBytes,
    partitions,
    issues,
  };
}

function parseHeader(sector: Uint8Array, ss: number, lba: number, diskSize: number): GptHeader {
  const at = { location: `GPT header at LBA ${lba}` };
  const dv = view(sector);
  const headerBytes = dv.getUint32(12, true);
  if (headerBytes < GPT_HEADER_MIN_BYTES || headerBytes > ss) throw new CorruptError(`GPT: header size ${headerBytes} is invalid`, at);
  const stored = dv.getUint32(16, true);
  const copy = sector.slice(0, headerBytes);
  view(copy).setUint32(16, 0, true);
  const computed = crc32(copy);
  if (stored !== computed) throw new CorruptError(`GPT: header CRC32 mismatch (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`, at);
  const myLba = u64le(dv, 24, 'GPT MyLBA');
  if (myLba !== lba) throw new CorruptError(`GPT: header at LBA ${lba} says it is at LBA ${myLba}`, at);
  const totalLbas = Math.floor(diskSize / ss);
  const firstUsableLba = u64le(dv, 40, 'GPT FirstUsableLBA');
  const lastUsableLba = u64le(dv, 48, 'GPT LastUsableLBA');
  if (firstUsableLba > lastUsableLba) throw new CorruptError(`GPT: first usable LBA ${firstUsableLba} is after last usable LBA ${lastUsableLba}`, at);
  const entryCount = dv.getUint32(80, true);
  const entryBytes = dv.getUint32(84, true);
  if (entryBytes < GPT_ENTRY_MIN_BYTES || entryBytes % 8 !== 0 || entryBytes > MAX_GPT_ENTRY_BYTES) {
    throw new CorruptError(`GPT: partition entry size ${entryBytes} is invalid (must be a multiple of 8 from ${GPT_ENTRY_MIN_BYTES} to ${MAX_GPT_ENTRY_BYTES})`, at);
  }
  if (entryCount > MAX_GPT_ENTRIES) throw new CorruptError(`GPT: ${entryCount} partition entries exceeds the limit of ${MAX_GPT_ENTRIES}`, at);
  if (entryCount * entryBytes > MAX_GPT_ARRAY_BYTES) {
    throw new CorruptError(`GPT: partition entry array of ${entryCount * entryBytes} bytes exceeds the limit of ${MAX_GPT_ARRAY_BYTES}`, at);
  }
  const entriesLba = u64le(dv, 72, 'GPT PartitionEntryLBA');
  if (entriesLba >= totalLbas) throw new CorruptError(`GPT: partition entry array at LBA ${entriesLba} is past the end of the disk`, at);
  return {
    myLba,
    alternateLba: u64le(dv, 32, 'GPT AlternateLBA'),
    firstUsableLba,
    lastUsableLba,
    diskGuid: guidLE(sector, 56),
    entriesLba,
    entryCount,
    entryBytes,
    entriesCrc: dv.getUint32(88, true),
  };
}

function parseEntries(array: Uint8Array, header: GptHeader, issues: Issue[]): GptPartition[] {
  const out: GptPartition[] = [];
  for (let i = 0; i < header.entryCount; i++) {
    const entry = array.subarray(i * header.entryBytes, (i + 1) * header.entryBytes);
    if (isAllZero(entry.subarray(0, 16))) continue;
    const dv = view(entry);
    const number = i + 1;
    const firstBig = dv.getBigUint64(32, true);
    const lastBig = dv.getBigUint64(40, true);
    if (firstBig > lastBig || lastBig > BigInt(Number.MAX_SAFE_INTEGER)) {
      issues.push({ severity: 'error', code: 'gpt.entry-invalid-range', message: `GPT: partition ${number} has an invalid LBA range ${firstBig}..${lastBig}; it is skipped`, location: `GPT entry ${number}` });
      continue;
    }
    const firstLba = Number(firstBig);
    const lastLba = Number(lastBig);
    if (firstLba < header.firstUsableLba || lastLba > header.lastUsableLba) {
      issues.push({ severity: 'warning', code: 'gpt.entry-outside-usable', message: `GPT: partition ${number} (LBA ${firstLba}..${lastLba}) lies outside the usable range ${header.firstUsableLba}..${header.lastUsableLba}`, location: `GPT entry ${number}` });
    }
    out.push({
      number,
      typeGuid: guidLE(entry, 0),
      partitionGuid: guidLE(entry, 16),
      firstLba,
      lastLba,
      attributes: dv.getBigUint64(48, true),
      name: utf16Name(entry.subarray(56, Math.min(entry.length, 56 + 72))),
    });
  }
  return out;
}

/** UTF-16LE up to the first NUL code unit. */
function utf16Name(bytes: Uint8Array): string {
  let end = 0;
  while (end + 1 < bytes.length && (bytes[end] !== 0 || bytes[end + 1] !== 0)) end += 2;
  return new TextDecoder('utf-16le').decode(bytes.subarray(0, end));
}
