/**
 * The on-disk inode (struct xfs_dinode): v1/v2 cores (v4 filesystems) and v3 cores (v5, CRC).
 *
 * Reference: "XFS Algorithms & Data Structures", 3rd edition, chapter "On-disk Inode" (inode
 * core, data and attribute forks, di_forkoff, timestamps and the bigtime encoding);
 * xfsprogs 6.1 libxfs/xfs_format.h (struct xfs_dinode, XFS_DIFLAG_*, XFS_DIFLAG2_*,
 * XFS_BIGTIME_EPOCH_OFFSET) and libxfs/xfs_inode_buf.c (xfs_dinode_verify, xfs_dinode_calc_crc).
 * Fields are big-endian except the v3 CRC-32C (little-endian at offset 100, over the whole inode).
 */
import { CorruptError } from '../../util/errors.ts';
import { equalBytes, view } from '../../util/bytes.ts';
import { crc32c } from '../../util/crc32.ts';
import type { FileType } from '../index.ts';
import type { Superblock } from './superblock.ts';
import { fileTypeOfMode } from '../mode.ts';

export const XFS_DINODE_MAGIC = 0x494e; // 'IN'
/** Size of the v1/v2 inode core; the data fork follows. */
export const DINODE_V2_CORE_BYTES = 100;
/** Size of the v3 inode core (CRC, LSN, crtime, inode number, UUID). */
export const DINODE_V3_CORE_BYTES = 176;
export const DINODE_CRC_OFFSET = 100;

/** di_format values (xfs_dinode_fmt). */
export const FMT_DEV = 0;
export const FMT_LOCAL = 1;
export const FMT_EXTENTS = 2;
export const FMT_BTREE = 3;

export const DIFLAG_REALTIME = 0x1;
export const DIFLAG2_REFLINK = 0x2;
export const DIFLAG2_BIGTIME = 0x8;
export const DIFLAG2_NREXT64 = 0x10;

/** XFS_MAX_EXTCNT_DATA_FORK_LARGE is 2^48-1; we refuse to hold more than this many per file. */
export const MAX_EXTENTS_PER_FILE = 1 << 21;
/** Seconds between 1901-12-13T20:45:52Z (the bigtime epoch, S32_MIN) and the Unix epoch. */
const BIGTIME_EPOCH_OFFSET_MS = 2 ** 31 * 1000;

const FORMATS_BY_TYPE: Record<FileType, readonly number[]> = {
  file: [FMT_EXTENTS, FMT_BTREE],
  dir: [FMT_LOCAL, FMT_EXTENTS, FMT_BTREE],
  symlink: [FMT_LOCAL, FMT_EXTENTS],
  chardev: [FMT_DEV],
  blockdev: [FMT_DEV],
  fifo: [FMT_DEV],
  socket: [FMT_DEV],
  unknown: [],
};
const ZERO_CRC_FIELD = new Uint8Array(4);

/** A big-endian u64 without BigInt (this runs for every inode); refuses values above 2^53. */
function u64(dv: DataView, off: number, what: string): number {
  const hi = dv.getUint32(off);
  if (hi >= 2 ** 21) throw new CorruptError(`XFS ${what} out of range: ${dv.getBigUint64(off)}`);
  return hi * 2 ** 32 + dv.getUint32(off + 4);
}

export interface DInode {
  ino: number;
  type: FileType;
  mode: number;
  version: number;
  format: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  /** Data-fork extent count (di_nextents or di_big_nextents). */
  nextents: number;
  flags: number;
  flags2: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  /** The data fork bytes (a copy: cached inodes must not pin whole inode clusters). */
  dataFork: Uint8Array;
  /** Major/minor of a device node (sysv encoding: major << 18 | minor). */
  rdev?: { major: number; minor: number };
  /** False when a v3 inode's CRC did not match (the caller reports it). */
  crcOk: boolean;
}

function timestampMs(dv: DataView, off: number, bigtime: boolean): number {
  if (bigtime) {
    // floor((hi * 2^32 + lo) / 1e6) without BigInt: 2^32 = 4294 * 1e6 + 967296, and
    // hi * 967296 + lo < 2^53, so every step is exact.
    const hi = dv.getUint32(off);
    const lo = dv.getUint32(off + 4);
    return hi * 4294 + Math.floor((hi * 967296 + lo) / 1_000_000) - BIGTIME_EPOCH_OFFSET_MS;
  }
  const sec = dv.getInt32(off);
  const nsec = dv.getUint32(off + 4);
  return sec * 1000 + Math.floor(Math.min(nsec, 999_999_999) / 1_000_000);
}

/**
 * Parses one inode from `buf` (exactly sb.inodeBytes). Throws CorruptError for a bad magic, a
 * v3 inode stamped with another number or filesystem, a free inode, or a fork that does not fit.
 */
export function parseInode(buf: Uint8Array, sb: Superblock, ino: number): DInode {
  const loc = `inode ${ino}`;
  const corrupt = (msg: string) => new CorruptError(`XFS inode ${ino}: ${msg}`, { location: loc });
  if (buf.length < sb.inodeBytes) throw corrupt('truncated');
  const dv = view(buf);
  if (dv.getUint16(0) !== XFS_DINODE_MAGIC) throw corrupt(`bad magic 0x${dv.getUint16(0).toString(16)}`);
  const version = dv.getUint8(4);
  if (sb.version === 5 ? version !== 3 : version !== 1 && version !== 2) throw corrupt(`inode version ${version} on a v${sb.version} filesystem`);

  let crcOk = true;
  if (version === 3) {
    const want = dv.getUint32(DINODE_CRC_OFFSET, true);
    // CRC with the CRC field taken as zero, chained over the three parts (no copy of the inode).
    let crc = crc32c(buf.subarray(0, DINODE_CRC_OFFSET));
    crc = crc32c(ZERO_CRC_FIELD, crc);
    crc = crc32c(buf.subarray(DINODE_CRC_OFFSET + 4, sb.inodeBytes), crc);
    crcOk = crc === want;
    if (u64(dv, 152, 'di_ino') !== ino) throw corrupt(`stamped with inode number ${dv.getBigUint64(152)}`);
    if (!equalBytes(buf.subarray(160, 176), sb.metaUuid)) throw corrupt('stamped with another filesystem UUID');
  }

  const mode = dv.getUint16(2);
  const type = fileTypeOfMode(mode);
  if (mode === 0) throw corrupt('inode is not in use (mode 0)');
  if (type === undefined) throw corrupt(`unknown file type in mode 0o${mode.toString(8)}`);
  const format = dv.getUint8(5);
  const flags = dv.getUint16(90);
  // Only the low word carries defined flags (XFS_DIFLAG2_*); the high word is ignored.
  const flags2 = version === 3 ? dv.getUint32(124) : 0;
  const nrext64 = (flags2 & DIFLAG2_NREXT64) !== 0;
  if (nrext64 && !sb.hasNrext64) throw corrupt('large extent counts without the nrext64 feature');
  const bigtime = (flags2 & DIFLAG2_BIGTIME) !== 0;
  if (bigtime && !sb.hasBigtime) throw corrupt('bigtime timestamps without the bigtime feature');

  const size = u64(dv, 56, 'di_size');
  const nextents = nrext64 ? u64(dv, 24, 'di_big_nextents') : dv.getUint32(76);
  if (nextents > MAX_EXTENTS_PER_FILE) throw corrupt(`${nextents} data extents exceed the limit of ${MAX_EXTENTS_PER_FILE}`);

  const coreBytes = version === 3 ? DINODE_V3_CORE_BYTES : DINODE_V2_CORE_BYTES;
  const literalBytes = sb.inodeBytes - coreBytes;
  const forkoff = dv.getUint8(82);
  const dataBytes = forkoff === 0 ? literalBytes : forkoff * 8;
  if (dataBytes > literalBytes) throw corrupt(`attribute fork offset ${forkoff} is past the inode`);

  if (!FORMATS_BY_TYPE[type].includes(format)) throw corrupt(`data fork format ${format} is invalid for a ${type}`);

  const inode: DInode = {
    ino,
    type,
    mode: mode & 0o7777,
    version,
    format,
    uid: dv.getUint32(8),
    gid: dv.getUint32(12),
    nlink: version === 1 ? dv.getUint16(6) : dv.getUint32(16),
    size,
    nextents,
    flags,
    flags2,
    atimeMs: timestampMs(dv, 32, bigtime),
    mtimeMs: timestampMs(dv, 40, bigtime),
    ctimeMs: timestampMs(dv, 48, bigtime),
    dataFork: buf.slice(coreBytes, coreBytes + dataBytes),
    crcOk,
  };
  if (format === FMT_DEV && (type === 'chardev' || type === 'blockdev')) {
    const dev = dv.getUint32(coreBytes);
    inode.rdev = { major: dev >>> 18, minor: dev & 0x3ffff };
  }
  return inode;
}
