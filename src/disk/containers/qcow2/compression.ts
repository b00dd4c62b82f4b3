/**
 * Decompression of qcow2 compressed clusters.
 *
 * Spec: QEMU docs/interop/qcow2.txt, "Compressed Clusters Descriptor" and "compression_type":
 * zlib clusters are raw deflate streams (RFC 1951, no zlib header); zstd clusters are one zstd
 * frame (RFC 8878). Both are followed by unrelated bytes up to the end of the last sector (the
 * next compressed cluster may start there), and decompression stops once a cluster is produced.
 */
import { promisify } from 'node:util';
import { constants, inflateRaw, inflateRawSync, zstdDecompress, zstdDecompressSync } from 'node:zlib';
import { CorruptError } from '../../../util/errors.ts';
import type { CompressionType } from './header.ts';

const inflateRawAsync = promisify(inflateRaw);
const zstdDecompressAsync = promisify(zstdDecompress);

/**
 * Decompresses one cluster, on the libuv thread pool when `inParallel` (the clusters of a large
 * read then decode in parallel); the caller checks that exactly one cluster came out.
 */
export function decompressCluster(
  type: CompressionType,
  packed: Uint8Array,
  clusterSize: number,
  inParallel: boolean,
): Uint8Array | Promise<Uint8Array> {
  // chunkSize of a whole cluster: one output buffer and one callback instead of one per 16 KiB.
  if (type === 'zlib') {
    // Z_SYNC_FLUSH: a stream that stops right after a full cluster (QEMU accepts it) is not an error.
    const options = { maxOutputLength: clusterSize, chunkSize: clusterSize, finishFlush: constants.Z_SYNC_FLUSH };
    return inParallel ? inflateRawAsync(packed, options) : inflateRawSync(packed, options);
  }
  // Node's zstd refuses trailing bytes after the frame, so cut the input to the frame first.
  const frame = packed.subarray(0, zstdFrameLength(packed));
  const options = { maxOutputLength: clusterSize, chunkSize: clusterSize };
  return inParallel ? zstdDecompressAsync(frame, options) : zstdDecompressSync(frame, options);
}

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_BLOCK_HEADER_BYTES = 3;
const ZSTD_CHECKSUM_BYTES = 4;
const FCS_BYTES = [0, 2, 4, 8] as const;
const DICT_ID_BYTES = [0, 1, 2, 4] as const;
const ZSTD_BLOCK_RLE = 1;
const ZSTD_BLOCK_RESERVED = 3;

/** Byte length of the zstd frame at the start of `buf` (RFC 8878 section 3.1.1). */
export function zstdFrameLength(buf: Uint8Array): number {
  const fail = (why: string): never => {
    throw new CorruptError(`zstd compressed cluster: ${why}`);
  };
  if (buf.length < 6) fail('truncated frame header');
  const magic = (buf[0]! | (buf[1]! << 8) | (buf[2]! << 16) | (buf[3]! << 24)) >>> 0;
  if (magic !== ZSTD_MAGIC) fail(`bad frame magic 0x${magic.toString(16)}`);
  const descriptor = buf[4]!;
  const fcsFlag = descriptor >>> 6;
  const singleSegment = (descriptor & 0x20) !== 0;
  const hasChecksum = (descriptor & 0x04) !== 0;
  let pos = 5 + (singleSegment ? 0 : 1) + DICT_ID_BYTES[descriptor & 3]!;
  pos += fcsFlag === 0 && singleSegment ? 1 : FCS_BYTES[fcsFlag]!;
  // Each block consumes at least its 3-byte header, so this loop ends within buf.length / 3 steps.
  for (;;) {
    if (pos + ZSTD_BLOCK_HEADER_BYTES > buf.length) fail('truncated block header');
    const header = buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16);
    const last = (header & 1) !== 0;
    const type = (header >>> 1) & 3;
    const size = header >>> 3;
    if (type === ZSTD_BLOCK_RESERVED) fail('reserved block type');
    pos += ZSTD_BLOCK_HEADER_BYTES + (type === ZSTD_BLOCK_RLE ? 1 : size);
    if (pos > buf.length) fail('truncated block');
    if (last) break;
  }
  if (hasChecksum) pos += ZSTD_CHECKSUM_BYTES;
  if (pos > buf.length) fail('truncated checksum');
  return pos;
}
