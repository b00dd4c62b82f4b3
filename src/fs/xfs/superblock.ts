/**
 * The XFS superblock (sector 0 of allocation group 0).
 *
 * Reference: "XFS Algorithms & Data Structures", 3rd edition, chapter "Allocation Groups" →
 * "Superblocks" (field layout, version bits, feature masks); xfsprogs 6.1 libxfs/xfs_format.h
 * (struct xfs_dsb, XFS_SB_FEAT_*), libxfs/xfs_sb.c (xfs_validate_sb_common) for the sanity rules.
 * All fields are big-endian; the v5 CRC-32C is little-endian at XFS_SB_CRC_OFF and covers one
 * sector.
 */
import { CorruptError, NotThisFormatError, UnsupportedError } from '../../util/errors.ts';
import { ascii, cstring, u64be, uuidBE, view } from '../../util/bytes.ts';
import { crc32c } from '../../util/crc32.ts';
import type { Issue } from '../../util/issues.ts';

export const XFS_SB_MAGIC = 0x58465342; // 'XFSB'
/** Smallest read that holds every superblock field we use (struct xfs_dsb is 264 bytes). */
export const XFS_SB_BYTES = 264;
export const XFS_SB_CRC_OFFSET = 224;

export const MIN_BLOCK_BYTES = 512;
export const MAX_BLOCK_BYTES = 64 * 1024;
export const MIN_SECTOR_BYTES = 512;
export const MAX_SECTOR_BYTES = 32 * 1024;
export const MIN_INODE_BYTES = 256;
export const MAX_INODE_BYTES = 2048;
/** Directory blocks are at most 64 KiB (XFS_MAX_BLOCKSIZE; mkfs -n size limit). */
export const MAX_DIR_BLOCK_BYTES = 64 * 1024;
/** XFS_MAX_AGNUMBER is 2^32-1; real filesystems have a few thousand AGs at most. */
export const MAX_AG_COUNT = 1 << 20;

/** sb_versionnum bits (xfs_format.h XFS_SB_VERSION_*). */
const VERSION_NUMBITS = 0x000f;
const VERSION_DIRV2BIT = 0x2000;
const VERSION_BORGBIT = 0x4000;
const VERSION_MOREBITSBIT = 0x8000;
/** sb_features2 bits. */
const VERSION2_CRCBIT = 0x100;
const VERSION2_FTYPE = 0x200;

/** v5 incompatible features (XFS_SB_FEAT_INCOMPAT_*). */
export const INCOMPAT_FTYPE = 0x1;
export const INCOMPAT_SPINODES = 0x2;
export const INCOMPAT_META_UUID = 0x4;
export const INCOMPAT_BIGTIME = 0x8;
export const INCOMPAT_NEEDSREPAIR = 0x10;
export const INCOMPAT_NREXT64 = 0x20;
/** Atomic file content exchange: only adds a log item type, on-disk metadata reads as before. */
export const INCOMPAT_EXCHRANGE = 0x40;
/** Parent pointers: extra extended attributes; directories and inodes are unchanged for a reader. */
export const INCOMPAT_PARENT = 0x80;
const INCOMPAT_READABLE =
  INCOMPAT_FTYPE | INCOMPAT_SPINODES | INCOMPAT_META_UUID | INCOMPAT_BIGTIME | INCOMPAT_NEEDSREPAIR | INCOMPAT_NREXT64 | INCOMPAT_EXCHRANGE | INCOMPAT_PARENT;
const INCOMPAT_NAMES: Record<number, string> = {
  0x100: 'metadir (metadata directory tree)',
  0x200: 'zoned (zoned realtime device)',
};

export interface Superblock {
  /** 4 or 5 (5 = CRC-enabled metadata, v3 inodes). */
  version: 4 | 5;
  blockBytes: number;
  blockLog: number;
  sectorBytes: number;
  /** Data blocks in the filesystem. */
  dblocks: number;
  rblocks: number;
  agBlocks: number;
  agCount: number;
  agBlockLog: number;
  inodeBytes: number;
  inodesPerBlockLog: number;
  rootIno: number;
  /** Directory block size in bytes (sb_blocksize << sb_dirblklog). */
  dirBlockBytes: number;
  /** Directory entries carry a file type byte. */
  hasFtype: boolean;
  hasBigtime: boolean;
  hasNrext64: boolean;
  hasCrc: boolean;
  /** ASCII case-insensitive names (lookups fold case; we look up exactly and say so). */
  asciiCi: boolean;
  label: string;
  uuid: string;
  /** The UUID stamped into v5 metadata blocks (sb_meta_uuid with META_UUID, else sb_uuid). */
  metaUuid: Uint8Array;
  logStart: number;
  incompat: number;
  roCompat: number;
  logIncompat: number;
}

function log2Exact(n: number): number {
  const l = Math.log2(n);
  return Number.isInteger(l) ? l : -1;
}

function log2Ceil(n: number): number {
  let l = 0;
  while (2 ** l < n) l++;
  return l;
}

/**
 * Parses and sanity-checks the primary superblock. `buf` is one sector (at least
 * XFS_SB_BYTES); a CRC mismatch on v5 is reported as an issue and reading continues.
 */
export function parseSuperblock(buf: Uint8Array, issues: Issue[]): Superblock {
  if (buf.length < XFS_SB_BYTES) throw new NotThisFormatError('XFS: volume too small for a superblock');
  const dv = view(buf);
  if (dv.getUint32(0) !== XFS_SB_MAGIC) throw new NotThisFormatError(`XFS: no 'XFSB' magic (found '${ascii(buf, 0, 4)}')`);
  const loc = 'xfs superblock';
  const corrupt = (msg: string) => new CorruptError(`XFS superblock: ${msg}`, { location: loc });

  const versionnum = dv.getUint16(100);
  const version = versionnum & VERSION_NUMBITS;
  if (version !== 4 && version !== 5) throw new UnsupportedError(`XFS superblock version ${version} is not supported (only v4 and v5)`, { location: loc });
  const features2 = versionnum & VERSION_MOREBITSBIT ? dv.getUint32(200) : 0;
  if (version === 4 && !(versionnum & VERSION_DIRV2BIT)) {
    throw new UnsupportedError('XFS v4 filesystem with version 1 directories is not supported', { location: loc });
  }
  if (version === 4 && features2 & VERSION2_CRCBIT) throw corrupt('v4 superblock claims CRC metadata');

  const blockBytes = dv.getUint32(4);
  const blockLog = dv.getUint8(120);
  if (blockBytes < MIN_BLOCK_BYTES || blockBytes > MAX_BLOCK_BYTES || log2Exact(blockBytes) !== blockLog) {
    throw corrupt(`block size ${blockBytes} (log ${blockLog}) is not a power of two in [${MIN_BLOCK_BYTES}, ${MAX_BLOCK_BYTES}]`);
  }
  const sectorBytes = dv.getUint16(102);
  if (sectorBytes < MIN_SECTOR_BYTES || sectorBytes > MAX_SECTOR_BYTES || log2Exact(sectorBytes) !== dv.getUint8(121) || sectorBytes > blockBytes) {
    throw corrupt(`sector size ${sectorBytes} is invalid`);
  }
  const inodeBytes = dv.getUint16(104);
  const inodeLog = dv.getUint8(122);
  if (inodeBytes < MIN_INODE_BYTES || inodeBytes > MAX_INODE_BYTES || log2Exact(inodeBytes) !== inodeLog || inodeBytes > blockBytes) {
    throw corrupt(`inode size ${inodeBytes} is invalid`);
  }
  if (version === 5 && inodeBytes < 512) throw corrupt(`v5 inode size ${inodeBytes} is below 512`);
  const inodesPerBlock = dv.getUint16(106);
  const inodesPerBlockLog = dv.getUint8(123);
  if (inodesPerBlock !== blockBytes / inodeBytes || log2Exact(inodesPerBlock) !== inodesPerBlockLog) {
    throw corrupt(`inodes per block ${inodesPerBlock} does not match block and inode sizes`);
  }
  const agBlocks = dv.getUint32(84);
  const agCount = dv.getUint32(88);
  const agBlockLog = dv.getUint8(124);
  if (agBlocks < 1 || agCount < 1 || agCount > MAX_AG_COUNT) throw corrupt(`AG geometry ${agCount} x ${agBlocks} blocks is invalid`);
  if (agBlockLog !== log2Ceil(agBlocks)) throw corrupt(`sb_agblklog ${agBlockLog} does not match ${agBlocks} blocks per AG`);
  if (agBlockLog + inodesPerBlockLog > 32) throw corrupt('AG inode numbers wider than 32 bits');
  const dblocks = u64be(dv, 8, 'sb_dblocks');
  if (dblocks > agCount * agBlocks || dblocks <= (agCount - 1) * agBlocks) {
    throw corrupt(`${dblocks} data blocks do not fit ${agCount} AGs of ${agBlocks} blocks`);
  }
  if (dblocks * blockBytes > Number.MAX_SAFE_INTEGER) throw corrupt('filesystem size exceeds 2^53 bytes');
  const dirBlockLog = dv.getUint8(192);
  const dirBlockBytes = blockBytes * 2 ** dirBlockLog;
  if (dirBlockBytes > MAX_DIR_BLOCK_BYTES) throw corrupt(`directory block size ${dirBlockBytes} exceeds ${MAX_DIR_BLOCK_BYTES}`);

  let incompat = 0;
  let roCompat = 0;
  let logIncompat = 0;
  if (version === 5) {
    const want = dv.getUint32(XFS_SB_CRC_OFFSET, true);
    const copy = buf.slice(0, sectorBytes);
    view(copy).setUint32(XFS_SB_CRC_OFFSET, 0);
    const got = crc32c(copy);
    if (want !== got) {
      issues.push({ severity: 'warning', code: 'xfs.crc-superblock', message: `superblock CRC 0x${want.toString(16)} != computed 0x${got.toString(16)}`, location: loc });
    }
    roCompat = dv.getUint32(212);
    incompat = dv.getUint32(216);
    logIncompat = dv.getUint32(220);
    const unknown = incompat & ~INCOMPAT_READABLE;
    if (unknown) {
      const names: string[] = [];
      for (let bit = 1; bit !== 0 && bit <= 0x80000000; bit = bit === 0x80000000 ? 0 : bit * 2) {
        if (unknown & bit) names.push(INCOMPAT_NAMES[bit] ?? `0x${bit.toString(16)}`);
      }
      throw new UnsupportedError(`XFS incompatible feature(s) not supported: ${names.join(', ')}`, { location: loc });
    }
    if (incompat & INCOMPAT_NEEDSREPAIR) {
      issues.push({ severity: 'warning', code: 'xfs.needs-repair', message: 'filesystem is flagged as needing xfs_repair; metadata may be inconsistent', location: loc });
    }
    if (logIncompat !== 0) {
      // The kernel clears log-incompat bits on a clean unmount: set bits mean the log was not
      // cleanly shut down (or the snapshot was taken while mounted), so recent changes may only
      // be in the log, which we do not replay.
      issues.push({ severity: 'warning', code: 'xfs.log-dirty', message: `log-incompatible features 0x${logIncompat.toString(16)} are set: the log may hold unreplayed changes`, location: loc });
    }
  }
  if (dv.getUint8(126) !== 0) issues.push({ severity: 'warning', code: 'xfs.mkfs-in-progress', message: 'sb_inprogress is set: mkfs did not finish', location: loc });

  const hasFtype = version === 5 ? (incompat & INCOMPAT_FTYPE) !== 0 : (features2 & VERSION2_FTYPE) !== 0;
  const uuidBytes = buf.slice(32, 48);
  const metaUuid = version === 5 && incompat & INCOMPAT_META_UUID ? buf.slice(248, 264) : uuidBytes;
  const rootIno = u64be(dv, 56, 'sb_rootino');
  const rblocks = u64be(dv, 16, 'sb_rblocks');
  if (rblocks > 0) issues.push({ severity: 'info', code: 'xfs.realtime-device', message: `filesystem has a ${rblocks}-block realtime device; realtime files are not read`, location: loc });

  return {
    version,
    blockBytes,
    blockLog,
    sectorBytes,
    dblocks,
    rblocks,
    agBlocks,
    agCount,
    agBlockLog,
    inodeBytes,
    inodesPerBlockLog,
    rootIno,
    dirBlockBytes,
    hasFtype,
    hasBigtime: (incompat & INCOMPAT_BIGTIME) !== 0,
    hasNrext64: (incompat & INCOMPAT_NREXT64) !== 0,
    hasCrc: version === 5,
    asciiCi: (versionnum & VERSION_BORGBIT) !== 0,
    label: cstring(buf, 108, 120),
    uuid: uuidBE(buf, 32),
    metaUuid,
    logStart: u64be(dv, 48, 'sb_logstart'),
    incompat,
    roCompat,
    logIncompat,
  };
}
