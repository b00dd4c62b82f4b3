/**
 * fs/ — read-only filesystems over a BlockSource. Central interface: {@link FileSystem}.
 *
 * Each filesystem driver (ext4, xfs, btrfs) implements the small inode-level
 * {@link InodeReader}; {@link PathFileSystem} turns it into a FileSystem with path resolution
 * done *inside the image*: absolute symlinks resolve against the image's root, `..` never leaves
 * it, and at most {@link MAX_SYMLINK_HOPS} links are followed. No path from an image ever
 * reaches the host filesystem.
 */
import type { BlockSource } from '../disk/index.ts';
import type { Issue } from '../util/issues.ts';

export type FileType = 'file' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket' | 'unknown';

/** Inode identity within one FileSystem (btrfs encodes subvolume and object id into it). */
export type InodeId = number;

export interface Stat {
  type: FileType;
  /** Permission bits with setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes (for a symlink, the target's length). */
  size: number;
  nlink: number;
  ino: InodeId;
  /** Milliseconds since the epoch (UTC); sub-millisecond precision is dropped. */
  mtimeMs: number;
  ctimeMs?: number;
  atimeMs?: number;
  /** Device number of a char/block device node. */
  rdev?: { major: number; minor: number };
}

export interface DirEntry {
  /** The name as stored; non-UTF-8 bytes are decoded with U+FFFD replacement. */
  name: string;
  /** From the directory entry where the format records it, else from the inode. */
  type: FileType;
  ino: InodeId;
}

/** A file opened for reading: random access plus a streaming reader for large files. */
export interface OpenFile {
  readonly stat: Stat;
  /** Reads [offset, offset + length) clamped to the file size; holes read as zeros. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** As read, into `target` from file byte `offset`; resolves to the bytes written (fewer at the end of the file). */
  readInto(offset: number, target: Uint8Array): Promise<number>;
  /**
   * Streams the whole file in chunks of at most `chunkBytes`, never buffering it whole. With
   * `buffer`, every chunk is a view into it (chunkBytes defaults to its length), valid only
   * until the next chunk is requested: one buffer serves a whole walk's reads.
   */
  stream(options?: { chunkBytes?: number; buffer?: Uint8Array }): AsyncIterable<Uint8Array>;
}

export const FS_TYPES = ['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'directory'] as const;
export type FsType = (typeof FS_TYPES)[number];

export interface FileSystem {
  readonly type: FsType;
  readonly label: string | undefined;
  readonly uuid: string | undefined;
  /** Located issues found while reading (bad checksums, journal needing recovery, ...). */
  readonly issues: Issue[];
  stat(path: string): Promise<Stat>;
  lstat(path: string): Promise<Stat>;
  readdir(path: string): Promise<DirEntry[]>;
  /** Reads a whole file; refuses files larger than `maxBytes` (default MAX_READFILE_BYTES). */
  readFile(path: string, options?: { maxBytes?: number }): Promise<Uint8Array>;
  readlink(path: string): Promise<string>;
  /** The canonical in-image path with every symlink resolved. */
  realpath(path: string): Promise<string>;
  open(path: string): Promise<OpenFile>;
  close(): Promise<void>;
}

/**
 * One piece of a regular file's physical layout ({@link InodeReader.mapFile}): file bytes
 * [fileOffset, fileOffset + length) are either stored at `sourceOffset` in the reader's
 * `dataSource` ('data') or read as zeros ('zero': a hole or an unwritten extent).
 */
export interface FileExtent {
  fileOffset: number;
  length: number;
  kind: 'data' | 'zero';
  /** Byte offset in the reader's dataSource; set for 'data' only. */
  sourceOffset?: number;
}

/**
 * What a filesystem driver implements: inode-level reads. Path semantics live in one place
 * (PathFileSystem) so that every driver gets the same in-image symlink rules.
 */
export interface InodeReader {
  readonly type: FsType;
  readonly label: string | undefined;
  readonly uuid: string | undefined;
  readonly issues: Issue[];
  readonly rootIno: InodeId;
  stat(ino: InodeId): Promise<Stat>;
  /** Entries of a directory, without "." and "..". */
  readdir(ino: InodeId): Promise<DirEntry[]>;
  /** Looks one name up in a directory; drivers with indexed directories override the scan. */
  lookup?(dirIno: InodeId, name: string): Promise<InodeId | undefined>;
  readlink(ino: InodeId): Promise<string>;
  /** File bytes [offset, offset + length), clamped to the size; holes and unwritten extents are zeros. */
  read(ino: InodeId, offset: number, length: number): Promise<Uint8Array>;
  /**
   * As `read` of [offset, offset + target.length), into the caller's buffer (no allocation per
   * read: a full-disk read reuses one buffer). Resolves to the bytes written, fewer at the end of
   * the file; the rest of `target` is left as it was.
   */
  readInto?(ino: InodeId, offset: number, target: Uint8Array): Promise<number>;
  /**
   * The physical layout of a regular file without reading its data (for a disk-order sweep,
   * src/fs/sweep.ts): pieces in file order covering exactly [0, size), adjacent runs merged.
   * Undefined for what cannot be mapped plainly (inline data, compressed or encrypted extents,
   * realtime files, non-files): read those with `read`. Throws the same typed errors `read`
   * would for a corrupt mapping.
   */
  mapFile?(ino: InodeId): Promise<FileExtent[] | undefined>;
  /** The BlockSource that mapFile's sourceOffsets refer to (present whenever mapFile is). */
  readonly dataSource?: BlockSource;
  close(): Promise<void>;
}

/** Linux's limit on symlinks followed in one resolution (MAXSYMLINKS in fs/namei.c). */
export const MAX_SYMLINK_HOPS = 40;
/** Linux's PATH_MAX: longer paths or link targets are refused. */
export const MAX_PATH_BYTES = 4096;
/** readFile refuses larger files; use open().stream() for them. */
export const MAX_READFILE_BYTES = 256 * 1024 * 1024;

export { PathFileSystem } from './path-fs.ts';
export { walk, type WalkEntry, type WalkOptions } from './walk.ts';
