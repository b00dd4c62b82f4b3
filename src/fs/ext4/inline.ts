/**
 * Inline data (the inline_data feature, inode flag EXT4_INLINE_DATA_FL): small files,
 * directories and symlinks stored in the inode itself.
 *
 * Spec: Linux Documentation/filesystems/ext4/inlinedata.rst ("Inline Data", "Inline
 * Directories"): the first 60 bytes live in i_block and the rest in the value of the in-inode
 * extended attribute "system.data". An inline directory starts with the parent's inode number
 * (4 bytes, standing for ".." — there is no "." entry), then entries fill the rest of i_block and
 * then the whole system.data value.
 */
import { view } from '../../util/bytes.ts';
import { CorruptError } from '../../util/errors.ts';
import { I_BLOCK_BYTES, type Ext4Inode } from './inode.ts';
import { findIbodyXattr, XATTR_INDEX_SYSTEM } from './xattr.ts';

const PARENT_INO_BYTES = 4;

function systemData(inode: Ext4Inode): Uint8Array {
  return findIbodyXattr(inode, XATTR_INDEX_SYSTEM, 'data') ?? new Uint8Array(0);
}

/** The bytes of an inline file or symlink: its i_size bytes of i_block + system.data. */
export function inlineFileBytes(inode: Ext4Inode): Uint8Array {
  const extra = systemData(inode);
  if (inode.size > I_BLOCK_BYTES + extra.length) {
    throw new CorruptError(`inode ${inode.ino}: inline size ${inode.size} exceeds the ${I_BLOCK_BYTES + extra.length} bytes stored inline`, { location: `inode ${inode.ino}` });
  }
  const out = new Uint8Array(inode.size);
  out.set(inode.iBlock.subarray(0, Math.min(inode.size, I_BLOCK_BYTES)));
  if (inode.size > I_BLOCK_BYTES) out.set(extra.subarray(0, inode.size - I_BLOCK_BYTES), I_BLOCK_BYTES);
  return out;
}

export interface InlineDir {
  parentIno: number;
  /** Entry regions, each parsed like a directory block of its own length. */
  regions: Uint8Array[];
}

export function inlineDirRegions(inode: Ext4Inode): InlineDir {
  const extra = systemData(inode);
  const regions = [inode.iBlock.subarray(PARENT_INO_BYTES)];
  if (extra.length > 0) regions.push(extra);
  return { parentIno: view(inode.iBlock).getUint32(0, true), regions };
}
