/**
 * The VMDK hosted sparse extent header ("KDMV"), also used as the footer of streamOptimized
 * images, and the stream markers.
 *
 * Spec: VMware Virtual Disk Format 1.1, "Hosted Sparse Extent Header" (SparseExtentHeader),
 * "Stream-Optimized Compressed Sparse Extents" (markers, footer, GD_AT_END). Little-endian.
 */
import { CorruptError, UnsupportedError } from '../../../util/errors.ts';
import { u64le, view } from '../../../util/bytes.ts';
import { MiB, TiB } from '../../../util/units.ts';

export const SPARSE_MAGIC = 0x564d444b; // "KDMV" read little-endian
export const SECTOR_BYTES = 512;
export const SPARSE_HEADER_BYTES = 512;

export const FLAG_VALID_NEWLINE_TEST = 1 << 0;
export const FLAG_REDUNDANT_GRAIN_TABLE = 1 << 1;
export const FLAG_ZEROED_GRAIN_GTE = 1 << 2;
export const FLAG_COMPRESSED_GRAINS = 1 << 16;
export const FLAG_MARKERS = 1 << 17;

export const COMPRESSION_NONE = 0;
export const COMPRESSION_DEFLATE = 1;

/** gdOffset value of a streamOptimized header whose grain directory is found via the footer. */
export const GD_AT_END = 0xffffffffffffffffn;

/** The largest VMDK VMware supports is 62 TiB; leave room but refuse absurd capacities. */
export const MAX_VIRTUAL_DISK_BYTES = 64 * TiB;
/** Grain size bound (the spec's default is 64 KiB; QEMU reads up to 2 MiB grains too). */
export const MAX_GRAIN_BYTES = 2 * MiB;
/** Grain tables hold 512 entries in every image VMware or QEMU writes; allow some room. */
export const MAX_GTES_PER_GT = 16 * 1024;
/** Grain directory size bound (64 TiB of 64 KiB grains in 512-entry tables is 2 Mi entries). */
export const MAX_GD_ENTRIES = 4 * 1024 * 1024;
/** Embedded and stand-alone descriptors are a few KiB; anything larger is not a descriptor. */
export const MAX_DESCRIPTOR_BYTES = 1 * MiB;

/** Stream marker types (the u32 after a zero size field). */
export const MARKER_EOS = 0;
export const MARKER_GT = 1;
export const MARKER_GD = 2;
export const MARKER_FOOTER = 3;
/** A grain marker is lba (u64) + compressed size (u32), followed by the compressed data. */
export const GRAIN_MARKER_BYTES = 12;

export interface SparseHeader {
  version: number;
  flags: number;
  capacitySectors: number;
  grainSectors: number;
  descriptorOffsetSectors: number;
  descriptorSectors: number;
  gtesPerGt: number;
  rgdOffsetSectors: number;
  /** Sector of the grain directory, or 'at-end' when the footer holds it (GD_AT_END). */
  gdOffsetSectors: number | 'at-end';
  compressAlgorithm: number;
  uncleanShutdown: boolean;
}

export function hasSparseMagic(buf: Uint8Array): boolean {
  return buf.length >= 4 && view(buf).getUint32(0, true) === SPARSE_MAGIC;
}

/** Parses and bounds a KDMV header or footer (`where` names it in errors). */
export function parseSparseHeader(buf: Uint8Array, where: string): SparseHeader {
  if (buf.length < SPARSE_HEADER_BYTES) throw new CorruptError(`VMDK ${where} truncated: ${buf.length} bytes`, { location: where });
  if (!hasSparseMagic(buf)) throw new CorruptError(`VMDK ${where} has no KDMV magic`, { location: where });
  const dv = view(buf);
  const version = dv.getUint32(4, true);
  if (version < 1 || version > 3) throw new UnsupportedError(`VMDK sparse extent version ${version} is not supported`);
  const flags = dv.getUint32(8, true);
  const field = (off: number, name: string) => u64le(dv, off, `VMDK ${where} ${name}`);
  const capacitySectors = field(12, 'capacity');
  const grainSectors = field(20, 'grainSize');
  const gtesPerGt = dv.getUint32(44, true);
  const rawGd = dv.getBigUint64(56, true);
  const header: SparseHeader = {
    version,
    flags,
    capacitySectors,
    grainSectors,
    descriptorOffsetSectors: field(28, 'descriptorOffset'),
    descriptorSectors: field(36, 'descriptorSize'),
    gtesPerGt,
    rgdOffsetSectors: dv.getBigUint64(48, true) === GD_AT_END ? 0 : field(48, 'rgdOffset'),
    gdOffsetSectors: rawGd === GD_AT_END ? 'at-end' : field(56, 'gdOffset'),
    uncleanShutdown: buf[72] !== 0,
    compressAlgorithm: dv.getUint16(77, true),
  };

  if ((flags & FLAG_VALID_NEWLINE_TEST) !== 0 && (buf[73] !== 0x0a || buf[74] !== 0x20 || buf[75] !== 0x0d || buf[76] !== 0x0a)) {
    throw new CorruptError(`VMDK ${where} line-ending check failed: the image was probably copied in text mode`, { location: where });
  }
  if (capacitySectors * SECTOR_BYTES > MAX_VIRTUAL_DISK_BYTES) {
    throw new CorruptError(`VMDK capacity of ${capacitySectors} sectors exceeds ${MAX_VIRTUAL_DISK_BYTES} bytes`, { location: `${where} capacity` });
  }
  if (grainSectors === 0 || (grainSectors & (grainSectors - 1)) !== 0 || grainSectors * SECTOR_BYTES > MAX_GRAIN_BYTES) {
    throw new CorruptError(`VMDK grain size of ${grainSectors} sectors is not a power of two up to ${MAX_GRAIN_BYTES} bytes`, {
      location: `${where} grainSize`,
    });
  }
  if (gtesPerGt === 0 || gtesPerGt > MAX_GTES_PER_GT) {
    throw new CorruptError(`VMDK numGTEsPerGT ${gtesPerGt} is outside 1..${MAX_GTES_PER_GT}`, { location: `${where} numGTEsPerGT` });
  }
  if (header.descriptorSectors * SECTOR_BYTES > MAX_DESCRIPTOR_BYTES) {
    throw new CorruptError(`VMDK embedded descriptor of ${header.descriptorSectors} sectors exceeds ${MAX_DESCRIPTOR_BYTES} bytes`, {
      location: `${where} descriptorSize`,
    });
  }
  const compressed = (flags & FLAG_COMPRESSED_GRAINS) !== 0;
  if (compressed && header.compressAlgorithm !== COMPRESSION_DEFLATE) {
    throw new UnsupportedError(`VMDK compression algorithm ${header.compressAlgorithm} is not supported (only deflate)`);
  }
  if (gdEntryCount(header) > MAX_GD_ENTRIES) {
    throw new CorruptError(`VMDK grain directory of ${gdEntryCount(header)} entries exceeds ${MAX_GD_ENTRIES}`, { location: `${where} grain directory` });
  }
  return header;
}

/** Grain directory entries needed to map the capacity. */
export function gdEntryCount(h: SparseHeader): number {
  return Math.ceil(h.capacitySectors / (h.grainSectors * h.gtesPerGt));
}

/**
 * Upper bound of a compressed grain's size: zlib's compressBound (n + n/4096 + n/16384 + 13)
 * plus its 6-byte wrapper, rounded up generously. A larger size field is corrupt.
 */
export function maxCompressedGrainBytes(grainBytes: number): number {
  return grainBytes + (grainBytes >>> 8) + 64;
}
