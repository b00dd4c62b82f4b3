/**
 * LVM2 metadata area: a 512-byte header followed by a circular buffer of metadata text.
 *
 * Reference: lvm2 lib/format_text/layout.h (struct mda_header, struct raw_locn, FMTT_MAGIC,
 * MDA_HEADER_SIZE) and lib/format_text/format-text.c (_vg_read_raw_area: raw_locn[0] is the
 * committed metadata, its offset is relative to the area start, and text that runs past the
 * area end continues right after the header), at lvm2 v2_03_16.
 */
import type { BlockSource } from '../../disk/index.ts';
import { CorruptError, NotThisFormatError, UnsupportedError } from '../../util/errors.ts';
import { ascii, u64le, view } from '../../util/bytes.ts';
import { MiB } from '../../util/units.ts';
import { lvmCrc } from './crc.ts';
import type { DiskLocation } from './label.ts';

/** FMTT_MAGIC. */
export const LVM_MDA_MAGIC = ' LVM2 x[5A%r0N*>';
export const LVM_MDA_VERSION = 1;
/** MDA_HEADER_SIZE: the header is one 512-byte sector; the circular buffer starts after it. */
export const LVM_MDA_HEADER_BYTES = 512;
/** Largest metadata text we read (real VGs with thousands of LVs stay below a few MiB). */
export const MAX_METADATA_TEXT_BYTES = 16 * MiB;
const RAW_LOCN_OFFSET = 40;
/** RAW_LOCN_IGNORED: the area is kept but not used ("pvchange --metadataignore"). */
const RAW_LOCN_IGNORED = 0x1;

export interface MetadataText {
  /** Metadata text bytes (without the trailing NUL). */
  text: Uint8Array;
  /** Where the area lies on the PV. */
  area: DiskLocation;
  /** raw_locn[0] offset and size. */
  offset: number;
  size: number;
  /** The text ran past the end of the area and continued after the header. */
  wrapped: boolean;
}

/**
 * Reads the committed metadata text of one metadata area. Returns undefined for an area with no
 * metadata (an orphan PV) or an ignored area. NotThisFormatError if the magic is missing.
 */
export async function readMetadataArea(source: BlockSource, area: DiskLocation): Promise<MetadataText | undefined> {
  const at = { location: `LVM metadata area at ${area.offset}` };
  if (area.size < 2 * LVM_MDA_HEADER_BYTES || area.offset + area.size > source.size || !Number.isSafeInteger(area.offset + area.size)) {
    throw new CorruptError(`LVM: metadata area [${area.offset}, +${area.size}) is outside the device (size ${source.size}) or too small`, at);
  }
  const header = await source.read(area.offset, LVM_MDA_HEADER_BYTES);
  if (ascii(header, 4, 20) !== LVM_MDA_MAGIC) throw new NotThisFormatError('LVM: metadata area magic missing', at);
  const dv = view(header);
  const stored = dv.getUint32(0, true);
  const computed = lvmCrc(header.subarray(4));
  if (stored !== computed) throw new CorruptError(`LVM: metadata area header checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`, at);
  const version = dv.getUint32(20, true);
  if (version !== LVM_MDA_VERSION) throw new UnsupportedError(`LVM: metadata area version ${version} is not supported`, at);
  const start = u64le(dv, 24, 'LVM mda start');
  const size = u64le(dv, 32, 'LVM mda size');
  if (start !== area.offset) throw new CorruptError(`LVM: metadata area header says it starts at ${start}, not ${area.offset}`, at);
  if (size < 2 * LVM_MDA_HEADER_BYTES || size > area.size) throw new CorruptError(`LVM: metadata area header size ${size} does not fit the area (${area.size} bytes)`, at);

  const rOffset = u64le(dv, RAW_LOCN_OFFSET, 'LVM raw_locn offset');
  const rSize = u64le(dv, RAW_LOCN_OFFSET + 8, 'LVM raw_locn size');
  const rChecksum = dv.getUint32(RAW_LOCN_OFFSET + 16, true);
  const rFlags = dv.getUint32(RAW_LOCN_OFFSET + 20, true);
  if (rFlags & RAW_LOCN_IGNORED) return undefined;
  if (rOffset === 0 || rSize === 0) return undefined;
  if (rOffset < LVM_MDA_HEADER_BYTES || rOffset >= size) throw new CorruptError(`LVM: metadata text offset ${rOffset} is outside the area`, at);
  if (rSize > MAX_METADATA_TEXT_BYTES) throw new CorruptError(`LVM: metadata text of ${rSize} bytes exceeds the limit of ${MAX_METADATA_TEXT_BYTES}`, at);
  const wrap = Math.max(0, rOffset + rSize - size);
  if (wrap > rOffset - LVM_MDA_HEADER_BYTES) throw new CorruptError(`LVM: metadata text of ${rSize} bytes does not fit the circular buffer`, at);

  const firstBytes = rSize - wrap;
  const first = await source.read(area.offset + rOffset, firstBytes);
  let text: Uint8Array = first;
  if (wrap > 0) {
    const second = await source.read(area.offset + LVM_MDA_HEADER_BYTES, wrap);
    text = new Uint8Array(rSize);
    text.set(first, 0);
    text.set(second, firstBytes);
  }
  const crc = lvmCrc(text);
  if (crc !== rChecksum) throw new CorruptError(`LVM: metadata text checksum mismatch (stored 0x${rChecksum.toString(16)}, computed 0x${crc.toString(16)})`, at);
  const nul = text.indexOf(0);
  return { text: nul >= 0 ? text.subarray(0, nul) : text, area, offset: rOffset, size: rSize, wrapped: wrap > 0 };
}
