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
  /** Disk geometry (cylinders, heads, sectors per track): what an emulated ATA disk reports. */
  geometry: { cylinders: number; heads: number; sectorsPerTrack: number };
  /** The creator application's four characters as stored (NULs kept), for the size rule. */
  creatorAppRaw: string;
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
    geometry: { cylinders: dv.getUint16(56, false), heads: footer[58]!, sectorsPerTrack: footer[59]! },
    creatorAppRaw: ascii(footer, 28, 32),
    creatorApp: fourCC(footer, 28),
    creatorVersion: `${cv >>> 16}.${cv & 0xffff}`,
    creatorHostOs: fourCC(footer, 36),
    formatVersion: dv.getUint32(12, false),
  };
}

/** Bytes per CHS sector. */
const CHS_SECTOR_BYTES = 512;
/** The largest geometry the footer can hold (65535 × 16 × 255): such a disk is sized by current size. */
const VHD_MAX_GEOMETRY_SECTORS = 65535 * 16 * 255;
/**
 * Creators whose disks are sized by their CHS geometry: Virtual PC (`vpc `) and Virtual Server
 * (`vs  `) emulate ATA disks, whose guests see cylinders × heads × sectors (spec, "Disk
 * Geometry": "the CHS values ... are used by the ATA controller to determine the size of the
 * disk"), and old qemu (`qemu`) wrote a CHS-rounded size in both fields.
 */
const CHS_CREATORS: readonly string[] = ['vpc ', 'vs  ', 'qemu'];

export type VhdSizeRule = 'chs' | 'current-size';

/**
 * The disk size a VHD's guest sees. Virtual PC and Virtual Server size a disk by its CHS
 * geometry, which is usually a little smaller than the footer's current size; Hyper-V (`win `),
 * Azure (`wa\0\0`), Disk2vhd, XenServer and qemu with force_size (`qem2`) use the current size
 * itself. qemu (block/vpc.c, vpc_open and vpc_ignore_current_size, since "vpc: Read images
 * exported from Azure correctly", 2025) takes the geometry for `vpc ` and `qemu` and the current
 * size for every other creator, and the current size whenever the geometry is the maximum (disks
 * beyond 127 GiB cannot be described by CHS). qemu before that took the geometry for every
 * creator it did not know, including `vs  ` and `wa\0\0`: here Virtual Server keeps the geometry
 * (the same ATA emulation as Virtual PC) and unknown creators get the current size, so Azure and
 * Hyper-V disks are read whole.
 */
export function vhdVirtualSize(footer: VhdFooter): { bytes: number; rule: VhdSizeRule } {
  const { cylinders, heads, sectorsPerTrack } = footer.geometry;
  const chsSectors = cylinders * heads * sectorsPerTrack;
  if (CHS_CREATORS.includes(footer.creatorAppRaw) && chsSectors !== VHD_MAX_GEOMETRY_SECTORS) {
    return { bytes: chsSectors * CHS_SECTOR_BYTES, rule: 'chs' };
  }
  return { bytes: footer.currentSize, rule: 'current-size' };
}
