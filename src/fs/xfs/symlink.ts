/**
 * Symbolic link targets: local (in the inode's data fork) and remote (in data blocks; on v5 each
 * block starts with an 'XSLM' header carrying its own CRC).
 *
 * Reference: "XFS Algorithms & Data Structures", 3rd edition, "Symbolic Links" ("Short Form
 * Symbolic Links", "Extent Symbolic Links", struct xfs_dsymlink_hdr); xfsprogs 6.1
 * libxfs/xfs_format.h (XFS_SYMLINK_MAXLEN, XFS_SYMLINK_MAGIC) and libxfs/xfs_symlink_remote.c
 * (xfs_symlink_verify, xfs_symlink_hdr_ok).
 */
import { CorruptError } from '../../util/errors.ts';
import { equalBytes, view } from '../../util/bytes.ts';
import { crc32c } from '../../util/crc32.ts';
import type { Issue } from '../../util/issues.ts';
import type { Superblock } from './superblock.ts';

/** Longest target XFS stores (XFS_SYMLINK_MAXLEN); Linux's PATH_MAX is larger but XFS refuses it. */
export const XFS_SYMLINK_MAXLEN = 1024;
export const XFS_SYMLINK_MAGIC = 0x58534c4d; // 'XSLM'
export const SYMLINK_V5_HEADER_BYTES = 56;
const SYMLINK_CRC_OFFSET = 12;

const decoder = new TextDecoder('utf-8', { fatal: false });

export function checkSymlinkSize(ino: number, size: number): void {
  if (size < 1 || size > XFS_SYMLINK_MAXLEN) {
    throw new CorruptError(`XFS inode ${ino}: symlink length ${size} is outside [1, ${XFS_SYMLINK_MAXLEN}]`, { location: `inode ${ino}` });
  }
}

/** A shortform symlink: the target is the first di_size bytes of the data fork. */
export function localTarget(ino: number, fork: Uint8Array, size: number): string {
  checkSymlinkSize(ino, size);
  if (size > fork.length) throw new CorruptError(`XFS inode ${ino}: local symlink of ${size} bytes exceeds its ${fork.length}-byte fork`, { location: `inode ${ino}` });
  return decoder.decode(fork.subarray(0, size));
}

export interface RemoteSymlinkBlock {
  /** One filesystem block of the link, in file order. */
  bytes: Uint8Array;
  /** 512-byte disk address of that block (for the v5 header check). */
  daddr: number;
}

/** Joins the target from its blocks, stripping and checking the v5 per-block headers. */
export function remoteTarget(sb: Superblock, ino: number, blocks: RemoteSymlinkBlock[], size: number, report: (i: Issue) => void): string {
  checkSymlinkSize(ino, size);
  const out = new Uint8Array(size);
  let got = 0;
  for (const [i, { bytes, daddr }] of blocks.entries()) {
    if (got >= size) break;
    const where = `inode ${ino} symlink block ${i}`;
    let data: Uint8Array;
    if (sb.version === 5) {
      const dv = view(bytes);
      const corrupt = (msg: string) => new CorruptError(`XFS ${where}: ${msg}`, { location: where });
      if (dv.getUint32(0) !== XFS_SYMLINK_MAGIC) throw corrupt(`bad magic 0x${dv.getUint32(0).toString(16)}`);
      if (dv.getUint32(4) !== got) throw corrupt(`header offset ${dv.getUint32(4)}, expected ${got}`);
      const n = dv.getUint32(8);
      if (n > bytes.length - SYMLINK_V5_HEADER_BYTES || n > size - got) throw corrupt(`header claims ${n} bytes`);
      if (!equalBytes(bytes.subarray(16, 32), sb.metaUuid)) throw corrupt('stamped with another filesystem UUID');
      if (dv.getBigUint64(32) !== BigInt(ino)) throw corrupt(`owned by inode ${dv.getBigUint64(32)}`);
      if (dv.getBigUint64(40) !== BigInt(daddr)) throw corrupt('header names another block');
      const want = dv.getUint32(SYMLINK_CRC_OFFSET, true);
      const copy = bytes.slice();
      view(copy).setUint32(SYMLINK_CRC_OFFSET, 0);
      if (crc32c(copy) !== want) report({ severity: 'warning', code: 'xfs.crc-symlink', message: 'symlink block CRC mismatch', location: where });
      data = bytes.subarray(SYMLINK_V5_HEADER_BYTES, SYMLINK_V5_HEADER_BYTES + n);
    } else {
      data = bytes.subarray(0, Math.min(bytes.length, size - got));
    }
    out.set(data, got);
    got += data.length;
  }
  if (got !== size) throw new CorruptError(`XFS inode ${ino}: symlink blocks hold ${got} of ${size} bytes`, { location: `inode ${ino}` });
  return decoder.decode(out);
}
