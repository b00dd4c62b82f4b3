/**
 * The VHD hard disk footer.
 *
 * Spec: Microsoft "Virtual Hard Disk Image Format Specification" v1.0 (2006), section
 * "Hard Disk Footer Format". All fields are big-endian. The footer is the last 512 bytes of
 * every VHD (old Virtual PC images end with a 511-byte footer); dynamic and differencing disks
 * also keep a copy at offset 0.
 */
import { ascii, view } from '../../../util/bytes.ts';
import { CorruptError } from '../../../util/errors.ts';

export const VHD_FOOTER_BYTES = 512;
/** Footer length of images written by Virtual PC before 2004 (one reserved byte shorter). */
export const VHD_SHORT_FOOTER_BYTES = 511;
export const VHD_COOKIE = 'conectix';
const CHECKSUM_OFFSET = 64;

export const VHD_DISK_TYPES = { fixed: 2, dynamic: 3, differencing: 4 } as const;

export interface VhdFooter {
  /** 2 fixed, 3 dynamic, 4 differencing; anything else is refused by the decoder. */
  diskType: number;
  /** Absolute offset of the dynamic disk header, or undefined (all ones) for a fixed disk. */
  dataOffset: number | undefined;
  currentSize: number;
  creatorApp: string;
  creatorVersion: string;
  creatorHostOs: string;
  formatVersion: number;
}

export function hasCookie(buf: Uint8Array, at = 0): boolean {
  return buf.length >= at + 8 && ascii(buf, at, at + 8) === VHD_COOKIE;
}

/**
 * The VHD checksum: the one's complement of the byte sum of the structure with the checksum
 * field itself skipped (the footer and the dynamic header use the same scheme).
 */
export function vhdChecksum(buf: Uint8Array, checksumOffset: number): number {
  let sum = 0;
  for (let i = 0; i < buf.length; i++) {
    if (i >= checksumOffset && i < checksumOffset + 4) continue;
    sum = (sum + buf[i]!) >>> 0;
  }
  return ~sum >>> 0;
}

/** Whether a 512-byte footer (a 511-byte one padded with a zero) carries a valid checksum. */
export function footerChecksumOk(footer: Uint8Array): boolean {
  return view(footer).getUint32(CHECKSUM_OFFSET, false) === vhdChecksum(footer, CHECKSUM_OFFSET);
}

/** Four-character codes are space padded ("vpc ", "qemu", "Wi2k"). */
function fourCC(buf: Uint8Array, at: number): string {
  return ascii(buf, at, at + 4).replace(/[^\x20-\x7e]/g, '?').trimEnd();
}

/** Decodes a footer whose cookie and checksum the caller has already checked. */
export function parseFooter(footer: Uint8Array, location: string): VhdFooter {
  const dv = view(footer);
  const dataOffsetRaw = dv.getBigUint64(16, false);
  let dataOffset: number | undefined;
  if (dataOffsetRaw !== 0xffffffffffffffffn) {
    if (dataOffsetRaw > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new CorruptError(`VHD footer data offset out of range: ${dataOffsetRaw}`, { location });
    }
    dataOffset = Number(dataOffsetRaw);
  }
  const currentSizeRaw = dv.getBigUint64(48, false);
  if (currentSizeRaw > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CorruptError(`VHD footer current size out of range: ${currentSizeRaw}`, { location });
  }
  const cv = dv.getUint32(32, false);
  return {
    diskType: dv.getUint32(60, false),
    dataOffset,
    currentSize: Number(currentSizeRaw),
    creatorApp: fourCC(footer, 28),
    creatorVersion: `${cv >>> 16}.${cv & 0xffff}`,
    creatorHostOs: fourCC(footer, 36),
    formatVersion: dv.getUint32(12, false),
  };
}
