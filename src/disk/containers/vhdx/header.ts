/**
 * VHDX file type identifier and the two headers.
 *
 * Spec: [MS-VHDX] "Virtual Hard Disk v2 (VHDX) File Format", section 2.2.1 (File Type
 * Identifier) and 2.2.2 (Headers). Little-endian. Two 4 KiB headers at 64 KiB and 128 KiB, each
 * protected by CRC-32C; the valid one with the greater SequenceNumber is current.
 */
import { ascii, isAllZero, u64le, view } from '../../../util/bytes.ts';
import { crc32c } from '../../../util/crc32.ts';
import { CorruptError, UnsupportedError } from '../../../util/errors.ts';
import { KiB, MiB } from '../../../util/units.ts';

export const VHDX_SIGNATURE = 'vhdxfile';
export const VHDX_HEADER_OFFSETS = [64 * KiB, 128 * KiB] as const;
export const VHDX_HEADER_BYTES = 4 * KiB;
/** The header section: file identifier, two headers, two region tables, reserved space. */
export const VHDX_HEADER_SECTION_BYTES = 1 * MiB;
/** Structures inside the file (log, regions, blocks) are placed on 1 MiB boundaries. */
export const VHDX_ALIGNMENT_BYTES = 1 * MiB;
const CREATOR_OFFSET = 8;
const CREATOR_BYTES = 512;

export interface VhdxHeader {
  /** Which copy (1 at 64 KiB, 2 at 128 KiB). */
  copy: 1 | 2;
  sequenceNumber: bigint;
  logGuid: Uint8Array;
  logVersion: number;
  version: number;
  logLength: number;
  logOffset: number;
}

/** CRC-32C of `buf` with the 4-byte checksum field at `at` taken as zero. */
export function crc32cWithHole(buf: Uint8Array, at: number): number {
  const copy = buf.slice();
  copy.fill(0, at, at + 4);
  return crc32c(copy);
}

/** The creator string of the file type identifier (UTF-16LE, NUL padded). */
export function creatorOf(fileId: Uint8Array): string {
  const raw = fileId.subarray(CREATOR_OFFSET, CREATOR_OFFSET + CREATOR_BYTES);
  let end = 0;
  while (end + 1 < raw.length && (raw[end] !== 0 || raw[end + 1] !== 0)) end += 2;
  return new TextDecoder('utf-16le').decode(raw.subarray(0, end));
}

export function hasSignature(fileId: Uint8Array): boolean {
  return fileId.length >= 8 && ascii(fileId, 0, 8) === VHDX_SIGNATURE;
}

/** Decodes one header, or returns why it is not valid (so the other copy can be used). */
export function parseHeader(buf: Uint8Array, copy: 1 | 2): VhdxHeader | string {
  if (buf.length < VHDX_HEADER_BYTES || ascii(buf, 0, 4) !== 'head') return 'signature "head" missing';
  const h = buf.subarray(0, VHDX_HEADER_BYTES);
  const dv = view(h);
  if (dv.getUint32(4, true) !== crc32cWithHole(h, 4)) return 'CRC-32C mismatch';
  let logOffset: number;
  try {
    logOffset = u64le(dv, 72, 'log offset');
  } catch {
    return 'log offset out of range';
  }
  return {
    copy,
    sequenceNumber: dv.getBigUint64(8, true),
    logGuid: h.slice(48, 64),
    logVersion: dv.getUint16(64, true),
    version: dv.getUint16(66, true),
    logLength: dv.getUint32(68, true),
    logOffset,
  };
}

export interface HeaderChoice {
  header: VhdxHeader;
  /** Why the other copy was not usable, when it was not. */
  otherInvalid: string | undefined;
}

/** Picks the current header: the valid one with the greater sequence number. */
export function chooseHeader(first: VhdxHeader | string, second: VhdxHeader | string): HeaderChoice {
  let choice: HeaderChoice;
  if (typeof first === 'string' && typeof second === 'string') {
    throw new CorruptError(`both VHDX headers are invalid (64 KiB: ${first}; 128 KiB: ${second})`, { location: 'VHDX headers' });
  } else if (typeof first === 'string') {
    choice = { header: second as VhdxHeader, otherInvalid: `header 1 at 64 KiB: ${first}` };
  } else if (typeof second === 'string') {
    choice = { header: first, otherInvalid: `header 2 at 128 KiB: ${second}` };
  } else {
    choice = { header: second.sequenceNumber > first.sequenceNumber ? second : first, otherInvalid: undefined };
  }
  const h = choice.header;
  const location = `VHDX header ${h.copy}`;
  if (h.version !== 1) throw new UnsupportedError(`VHDX version ${h.version} is not supported (only 1)`, { location });
  if (hasLog(h) && h.logVersion !== 0) {
    throw new UnsupportedError(`VHDX log version ${h.logVersion} is not supported (only 0)`, { location });
  }
  return choice;
}

/** Whether the header says the log holds entries that must be replayed. */
export function hasLog(h: VhdxHeader): boolean {
  return !isAllZero(h.logGuid) && h.logLength !== 0;
}
