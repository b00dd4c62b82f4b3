/**
 * Bounds on every size and count read from an ext2/3/4 image. Each one is the kernel's own limit
 * where the format has one (cited), or a budget chosen so that a hostile image cannot drive an
 * allocation or a loop beyond what a real node disk needs.
 */
import { KiB, MiB } from '../../util/units.ts';

/** ext4 block sizes are 1 KiB to 64 KiB (s_log_block_size 0..6; EXT4_MAX_BLOCK_SIZE). */
export const MIN_BLOCK_BYTES = 1 * KiB;
export const MAX_BLOCK_BYTES = 64 * KiB;
/** The good-old inode size (EXT4_GOOD_OLD_INODE_SIZE): revision 0 inodes, and the minimum. */
export const MIN_INODE_BYTES = 128;
/** mke2fs caps the inode size at the block size; this is the block size's own cap. */
export const MAX_INODE_BYTES = MAX_BLOCK_BYTES;
/** Largest group descriptor (EXT4_MAX_DESC_SIZE is EXT4_MIN_BLOCK_SIZE). */
export const MAX_GROUP_DESC_BYTES = 1 * KiB;
/** Largest descriptor table we load: 64 MiB is a million 64-byte descriptors (128 TiB at 4 KiB blocks). */
export const MAX_GROUP_TABLE_BYTES = 64 * MiB;
/** ext4_ext_check rejects depth > EXT4_MAX_EXTENT_DEPTH (5). */
export const MAX_EXTENT_DEPTH = 5;
/** Extent-tree nodes one mapping may visit: a 4 GiB range of 1-block extents needs ~3100 leaves. */
export const MAX_EXTENT_NODES_PER_MAP = 65_536;
/** Directory entries we list from one directory (real node disks stay far below). */
export const MAX_DIR_ENTRIES = 2_000_000;
/** Directory sizes beyond this are refused (2 M entries of 100-byte names fit in it). */
export const MAX_DIR_BYTES = 256 * MiB;
/** Index-node hops of one htree lookup: 3 levels plus hash-collision continuation blocks. */
export const MAX_HTREE_STEPS = 256;
/** dx_root_info.indirect_levels: 1 without largedir, 2 with it (EXT4_HTREE_LEVEL). */
export const MAX_HTREE_LEVELS = 3;
/** A symlink longer than PATH_MAX (4096 with its NUL) cannot be followed by Linux either. */
export const MAX_SYMLINK_BYTES = 4095;
/** Largest range one read() returns (it is one buffer); callers stream larger files. */
export const MAX_READ_RANGE_BYTES = 1024 * MiB;
/** Largest single read we issue to the source; larger physical runs are split. */
export const MAX_SOURCE_READ_BYTES = 16 * MiB;
/** Physical runs of one read() in flight at once. */
export const READ_CONCURRENCY = 8;
/** Issues kept per filesystem; beyond it one summary issue says how many were dropped. */
export const MAX_ISSUES = 1000;
/** Bytes of inode table read at a time (aligned within the group's table). */
export const INODE_TABLE_CHUNK_BYTES = 64 * KiB;
/** Parsed inodes kept (a 256-byte raw copy each). */
export const INODE_CACHE_ENTRIES = 16_384;
/** Raw inode-table chunks kept (64 KiB each: 16 MiB). */
export const INODE_CHUNK_CACHE_ENTRIES = 256;
/** Parsed extent-tree nodes and indirect blocks kept, keyed by physical block. */
export const MAP_BLOCK_CACHE_ENTRIES = 4096;
/** Name → inode maps of small linear directories kept for repeated lookups. */
export const DIR_MAP_CACHE_DIRS = 256;
/** Directories larger than this are not kept as a map (htree or a scan serves them). */
export const DIR_MAP_CACHE_MAX_ENTRIES = 20_000;
