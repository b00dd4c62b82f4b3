/**
 * qcow2 L1 and L2 table entries.
 *
 * Spec: QEMU docs/interop/qcow2.txt, "Cluster mapping" (L1/L2 entry layout, Standard and
 * Compressed Cluster Descriptors) and "Extended L2 Entries". Entries are big-endian u64; they are
 * read as two u32 halves so that the hot loop stays on small integers.
 */
import { CorruptError } from '../../../util/errors.ts';

const TWO_32 = 2 ** 32;
/** Bits 32..55 of an L1/L2 offset field live in the high word under this mask. */
const OFFSET_HI_MASK = 0x00ffffff;
/** Bits 9..31 of an offset field live in the low word under this mask. */
const OFFSET_LO_MASK = 0xfffffe00;
/** The high word of a JS-safe offset (< 2^53) has at most 21 bits. */
const SAFE_HI_LIMIT = 2 ** 21;
/** Bit 62 of an L2 entry (bit 30 of the high word): the cluster is compressed. */
export const L2_COMPRESSED_HI = 0x40000000;
/** Bit 0 of a v3 standard descriptor: the cluster reads as zeros. */
export const L2_ZERO_LO = 0x1;
const SECTOR_BYTES = 512;

/**
 * Host offset in bits 9..55 of an L1 entry or a standard L2 entry (0 = not allocated), or -1
 * when it is beyond 2^53 (the caller reports where; this runs once per cluster, so no strings).
 */
export function entryOffset(hi: number, lo: number): number {
  const high = hi & OFFSET_HI_MASK;
  if (high >= SAFE_HI_LIMIT) return -1;
  return high * TWO_32 + ((lo & OFFSET_LO_MASK) >>> 0);
}

export interface CompressedCluster {
  offset: number;
  /** Bytes from `offset` to the end of the last sector holding compressed data. */
  packedLength: number;
}

/** Decodes a Compressed Clusters Descriptor (x = 62 - (cluster_bits - 8) offset bits). */
export function compressedCluster(hi: number, lo: number, clusterBits: number, what: string): CompressedCluster {
  const offsetBits = 62 - (clusterBits - 8);
  const hiOffsetBits = offsetBits - 32;
  const hiOffset = hi & (2 ** hiOffsetBits - 1);
  if (hiOffset >= SAFE_HI_LIMIT) throw new CorruptError(`${what}: compressed host offset beyond 2^53`, { location: what });
  const offset = hiOffset * TWO_32 + (lo >>> 0);
  const extraSectors = (hi & 0x3fffffff) >>> hiOffsetBits;
  return { offset, packedLength: (extraSectors + 1) * SECTOR_BYTES - (offset % SECTOR_BYTES) };
}
