/**
 * In-inode extended attributes (the "ibody" area after i_extra_isize), as far as a reader of
 * file contents needs them: the system.data attribute of inline-data inodes.
 *
 * Spec: Linux Documentation/filesystems/ext4/attributes.rst ("Extended Attributes": the in-inode
 * header magic 0xEA020000, struct ext4_xattr_entry, values addressed from the first entry,
 * entries padded to 4 bytes, a zero u32 ending the list).
 */
import { view } from '../../util/bytes.ts';
import { CorruptError, UnsupportedError } from '../../util/errors.ts';
import { MIN_INODE_BYTES } from './limits.ts';
import type { Ext4Inode } from './inode.ts';

const XATTR_MAGIC = 0xea020000;
const ENTRY_BYTES = 16;
/** EXT4_XATTR_INDEX_SYSTEM: the "system." name prefix. */
export const XATTR_INDEX_SYSTEM = 7;

/** The value of the in-inode attribute (index, name), or undefined when the inode has none. */
export function findIbodyXattr(inode: Ext4Inode, index: number, name: string): Uint8Array | undefined {
  const raw = inode.raw;
  const start = MIN_INODE_BYTES + inode.extraIsize;
  if (start + 4 > raw.length) return undefined;
  const dv = view(raw);
  if (dv.getUint32(start, true) !== XATTR_MAGIC) return undefined;
  const first = start + 4;
  const end = raw.length;
  const want = new TextEncoder().encode(name);
  const location = `inode ${inode.ino} in-inode xattrs`;
  // Each entry is at least 16 bytes, so the area bounds the loop.
  for (let off = first; off + 4 <= end && dv.getUint32(off, true) !== 0; ) {
    if (off + ENTRY_BYTES > end) throw new CorruptError(`inode ${inode.ino}: xattr entry runs past the inode`, { location });
    const nameLen = raw[off]!;
    const nameIndex = raw[off + 1]!;
    const valueOffs = dv.getUint16(off + 2, true);
    const valueInum = dv.getUint32(off + 4, true);
    const valueSize = dv.getUint32(off + 8, true);
    const next = off + ((ENTRY_BYTES + nameLen + 3) & ~3);
    if (next > end) throw new CorruptError(`inode ${inode.ino}: xattr name runs past the inode`, { location });
    const entryName = raw.subarray(off + ENTRY_BYTES, off + ENTRY_BYTES + nameLen);
    if (nameIndex === index && entryName.length === want.length && entryName.every((b, i) => b === want[i])) {
      if (valueInum !== 0) throw new UnsupportedError(`inode ${inode.ino}: xattr value stored in inode ${valueInum} (ea_inode)`, { location });
      if (first + valueOffs + valueSize > end) throw new CorruptError(`inode ${inode.ino}: xattr value runs past the inode`, { location });
      return raw.subarray(first + valueOffs, first + valueOffs + valueSize);
    }
    off = next;
  }
  return undefined;
}
