/**
 * The file type in the S_IFMT bits of a Unix mode, as every on-disk format we read stores it
 * (ext2/3/4 i_mode, XFS di_mode, btrfs inode item mode): Linux include/uapi/linux/stat.h.
 */
import type { FileType } from './index.ts';

const S_IFMT = 0o170000;
const TYPE_BY_IFMT: Readonly<Record<number, FileType>> = {
  0o010000: 'fifo',
  0o020000: 'chardev',
  0o040000: 'dir',
  0o060000: 'blockdev',
  0o100000: 'file',
  0o120000: 'symlink',
  0o140000: 'socket',
};

/** The file type a mode names, or undefined when its S_IFMT bits name none. */
export function fileTypeOfMode(mode: number): FileType | undefined {
  return TYPE_BY_IFMT[mode & S_IFMT];
}
