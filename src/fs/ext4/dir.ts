/**
 * Directories: linear entry blocks (struct ext4_dir_entry_2), their checksum tails, and hash-tree
 * (htree / dir_index) lookup.
 *
 * Spec: Linux Documentation/filesystems/ext4/directory.rst: "Linear (Classic) Directories"
 * (rec_len, name_len, file_type; struct ext4_dir_entry_tail with file type 0xDE), "Hash Tree
 * Directories" (dx_root with dx_root_info, dx_node, dx_entry, dx_tail; lookup by binary search on
 * the hash, continuing into the next leaf while the next index hash equals the name's hash with
 * the collision bit). Entry checks follow ext4_check_dir_entry() (fs/ext4/dir.c); rec_len of a
 * 64 KiB block as ext4_rec_len_from_disk(). Every index block is read as a *logical* block of the
 * directory, so a pointer outside the directory is refused.
 */
import { view } from '../../util/bytes.ts';
import { BudgetError, CorruptError } from '../../util/errors.ts';
import type { FileType } from '../index.ts';
import { DIRENT_TAIL_BYTES, direntBlockChecksumOk, dxBlockChecksumOk, hasDirentTail } from './checksum.ts';
import { dxHash } from './htree-hash.ts';
import { MAX_HTREE_LEVELS, MAX_HTREE_STEPS } from './limits.ts';

const DIRENT_HEADER_BYTES = 8;
/** EXT4_DIR_REC_LEN(1): the smallest legal entry. */
const MIN_REC_LEN = 12;
const FILE_TYPES: readonly FileType[] = ['unknown', 'file', 'dir', 'chardev', 'blockdev', 'fifo', 'socket', 'symlink'];
/** dx_entry.block keeps 28 bits; the top bits are reserved (dx_get_block). */
const DX_BLOCK_MASK = 0x0fffffff;
const DX_ROOT_INFO_OFFSET = 24;
const DX_NODE_COUNT_OFFSET = 8;
const DX_TAIL_BYTES = 8;

export interface DirSpec {
  ino: number;
  blockSize: number;
  inodesCount: number;
  /** The filetype feature: the high byte of name_len is a file type. */
  hasFiletype: boolean;
  /** Inode checksum seed when metadata_csum is on. */
  csumSeed: number | undefined;
  onIssue: (code: string, message: string, location: string) => void;
}

export interface RawEntry {
  ino: number;
  name: Uint8Array;
  type: FileType;
}

export function direntFileType(code: number): FileType {
  return FILE_TYPES[code] ?? 'unknown';
}

/** ext4_rec_len_from_disk: 64 KiB blocks encode a full-block rec_len as 0 or 65535. */
function recLen(raw: number, blockSize: number): number {
  if (blockSize < 65536) return raw;
  if (raw === 65535 || raw === 0) return blockSize;
  return (raw & 65532) | ((raw & 3) << 16);
}

/**
 * Calls `emit` for each live entry of a region of entries (a block, or the inline-data areas).
 * A malformed entry ends the region with an issue: what came before is still returned.
 */
export function parseEntries(region: Uint8Array, spec: DirSpec, location: string, emit: (e: RawEntry) => void): void {
  const dv = view(region);
  let off = 0;
  while (off + DIRENT_HEADER_BYTES <= region.length) {
    const ino = dv.getUint32(off, true);
    const rl = recLen(dv.getUint16(off + 4, true), spec.blockSize);
    const nameLen = spec.hasFiletype ? region[off + 6]! : dv.getUint16(off + 6, true);
    const why =
      rl < MIN_REC_LEN ? `rec_len ${rl} is smaller than ${MIN_REC_LEN}` :
      rl % 4 !== 0 ? `rec_len ${rl} is not a multiple of 4` :
      off + rl > region.length ? `rec_len ${rl} at offset ${off} runs past the end (${region.length})` :
      DIRENT_HEADER_BYTES + nameLen > rl ? `name_len ${nameLen} does not fit rec_len ${rl}` :
      undefined;
    if (why !== undefined) {
      spec.onIssue('ext4.dirent', `directory inode ${spec.ino}: ${why}; rest of the block skipped`, `${location} offset ${off}`);
      return;
    }
    if (ino !== 0 && nameLen > 0) {
      const name = region.subarray(off + DIRENT_HEADER_BYTES, off + DIRENT_HEADER_BYTES + nameLen);
      const dot = nameLen <= 2 && name[0] === 0x2e && (nameLen === 1 || name[1] === 0x2e);
      if (!dot) {
        if (ino > spec.inodesCount) {
          spec.onIssue('ext4.dirent', `directory inode ${spec.ino}: entry points to inode ${ino} beyond the inode count`, `${location} offset ${off}`);
        } else {
          emit({ ino, name, type: spec.hasFiletype ? direntFileType(region[off + 7]!) : 'unknown' });
        }
      }
    }
    off += rl;
  }
}

interface DxNode {
  countOffset: number;
  count: number;
  limit: number;
  hashes: Uint32Array;
  blocks: Uint32Array;
}

interface DxRoot extends DxNode {
  hashVersion: number;
  levels: number;
}

function parseDxEntries(block: Uint8Array, countOffset: number, spec: DirSpec, location: string): DxNode {
  const dv = view(block);
  const tail = spec.csumSeed !== undefined ? DX_TAIL_BYTES : 0;
  const expectLimit = Math.floor((block.length - countOffset - tail) / 8);
  const limit = dv.getUint16(countOffset, true);
  const count = dv.getUint16(countOffset + 2, true);
  if (limit !== expectLimit) throw new CorruptError(`htree of directory inode ${spec.ino}: limit ${limit}, expected ${expectLimit}`, { location });
  if (count === 0 || count > limit) throw new CorruptError(`htree of directory inode ${spec.ino}: count ${count} outside 1..${limit}`, { location });
  const hashes = new Uint32Array(count);
  const blocks = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const o = countOffset + 8 * i;
    hashes[i] = i === 0 ? 0 : dv.getUint32(o, true);
    blocks[i] = dv.getUint32(o + 4, true) & DX_BLOCK_MASK;
  }
  if (spec.csumSeed !== undefined && !dxBlockChecksumOk(spec.csumSeed, block, countOffset, count, limit)) {
    spec.onIssue('ext4.csum-dx', `directory inode ${spec.ino}: htree index block checksum mismatch`, location);
  }
  return { countOffset, count, limit, hashes, blocks };
}

/** Parses the htree root (logical block 0); CorruptError when it is not a dx_root. */
export function parseDxRoot(block: Uint8Array, spec: DirSpec, location: string): DxRoot {
  const dv = view(block);
  const bs = block.length;
  const bad = (msg: string): never => {
    throw new CorruptError(`htree root of directory inode ${spec.ino}: ${msg}`, { location });
  };
  if (recLen(dv.getUint16(4, true), bs) !== 12 || block[6] !== 1 || block[8] !== 0x2e) bad('"." entry is malformed');
  if (recLen(dv.getUint16(16, true), bs) !== bs - 12 || block[18] !== 2) bad('".." entry is malformed');
  const hashVersion = block[DX_ROOT_INFO_OFFSET + 4]!;
  const infoLength = block[DX_ROOT_INFO_OFFSET + 5]!;
  const levels = block[DX_ROOT_INFO_OFFSET + 6]!;
  if (infoLength !== 8) bad(`info_length ${infoLength}`);
  if (levels >= MAX_HTREE_LEVELS) bad(`indirect_levels ${levels}`);
  return { ...parseDxEntries(block, DX_ROOT_INFO_OFFSET + infoLength, spec, location), hashVersion, levels };
}

function parseDxNode(block: Uint8Array, spec: DirSpec, location: string): DxNode {
  const dv = view(block);
  if (dv.getUint32(0, true) !== 0 || recLen(dv.getUint16(4, true), block.length) !== block.length) {
    throw new CorruptError(`htree node of directory inode ${spec.ino} is not an index block`, { location });
  }
  return parseDxEntries(block, DX_NODE_COUNT_OFFSET, spec, location);
}

/** Whether a block of an indexed directory is an htree index block rather than a leaf. */
function isDxBlock(block: Uint8Array, lblk: number): boolean {
  const dv = view(block);
  const bs = block.length;
  if (lblk === 0) return recLen(dv.getUint16(4, true), bs) === 12 && recLen(dv.getUint16(16, true), bs) === bs - 12;
  return dv.getUint32(0, true) === 0 && recLen(dv.getUint16(4, true), bs) === bs;
}

/**
 * Verifies a directory block's checksum (metadata_csum only): index blocks of an indexed
 * directory by their dx_tail, leaf blocks by their dirent tail. Mismatches are issues.
 */
export function checkDirBlock(block: Uint8Array, lblk: number, indexed: boolean, spec: DirSpec, location: string): void {
  const seed = spec.csumSeed;
  if (seed === undefined) return;
  if (indexed && isDxBlock(block, lblk)) {
    try {
      if (lblk === 0) parseDxRoot(block, spec, location);
      else parseDxNode(block, spec, location);
    } catch (err) {
      if (!(err instanceof CorruptError)) throw err;
      spec.onIssue('ext4.htree', err.message, location);
    }
    return;
  }
  checkLeafBlock(block, spec, location);
}

/** Verifies a leaf block's dirent tail checksum (metadata_csum only). */
export function checkLeafBlock(block: Uint8Array, spec: DirSpec, location: string): void {
  const seed = spec.csumSeed;
  if (seed === undefined) return;
  if (block.length < DIRENT_TAIL_BYTES || !hasDirentTail(block)) {
    spec.onIssue('ext4.csum-dirent', `directory inode ${spec.ino}: leaf block has no checksum tail`, location);
  } else if (!direntBlockChecksumOk(seed, block)) {
    spec.onIssue('ext4.csum-dirent', `directory inode ${spec.ino}: directory block checksum mismatch`, location);
  }
}

/** Index of the last entry whose hash is <= `hash` (entry 0 covers everything below entry 1). */
function dxFind(node: DxNode, hash: number): number {
  let lo = 1;
  let hi = node.count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (node.hashes[mid]! > hash) hi = mid - 1;
    else lo = mid + 1;
  }
  return lo - 1;
}

export interface HtreeParams {
  hashSeed: Uint32Array;
  /** s_flags says the index was built with unsigned char. */
  unsignedHash: boolean;
}

/**
 * Looks `name` up through the hash tree. Returns the inode, `null` when the tree says the name is
 * absent, or `undefined` when the tree uses a hash this reader does not implement (the caller
 * then scans linearly). Throws CorruptError for a broken tree.
 */
export async function htreeLookup(
  name: Uint8Array,
  readBlock: (lblk: number) => Promise<Uint8Array>,
  spec: DirSpec,
  params: HtreeParams,
): Promise<number | null | undefined> {
  const loc = (lblk: number) => `directory inode ${spec.ino} block ${lblk}`;
  const root = parseDxRoot(await readBlock(0), spec, loc(0));
  let version = root.hashVersion;
  if (version <= 2 && params.unsignedHash) version += 3;
  const hash = dxHash(name, version, params.hashSeed);
  if (hash === undefined) return undefined;

  const path: Array<{ node: DxNode; at: number }> = [{ node: root, at: dxFind(root, hash) }];
  let steps = 0;
  const descend = async (): Promise<void> => {
    while (path.length <= root.levels) {
      if (++steps > MAX_HTREE_STEPS) throw new BudgetError(`htree lookup in directory inode ${spec.ino} exceeded ${MAX_HTREE_STEPS} steps`, { location: loc(0) });
      const parent = path[path.length - 1]!;
      const lblk = parent.node.blocks[parent.at]!;
      const node = parseDxNode(await readBlock(lblk), spec, loc(lblk));
      path.push({ node, at: dxFind(node, hash) });
    }
  };
  await descend();
  while (true) {
    if (++steps > MAX_HTREE_STEPS) throw new BudgetError(`htree lookup in directory inode ${spec.ino} exceeded ${MAX_HTREE_STEPS} steps`, { location: loc(0) });
    const bottom = path[path.length - 1]!;
    const leafLblk = bottom.node.blocks[bottom.at]!;
    const leaf = await readBlock(leafLblk);
    checkLeafBlock(leaf, spec, loc(leafLblk));
    let found: number | undefined;
    parseEntries(leaf, spec, loc(leafLblk), (e) => {
      if (found === undefined && e.name.length === name.length && e.name.every((b, i) => b === name[i])) found = e.ino;
    });
    if (found !== undefined) return found;
    // ext4_htree_next_block: continue only while the next leaf starts with this same hash.
    let p = path.length - 1;
    while (p >= 0 && path[p]!.at + 1 >= path[p]!.node.count) p--;
    if (p < 0) return null;
    const level = path[p]!;
    level.at++;
    if ((level.node.hashes[level.at]! & ~1) >>> 0 !== hash) return null;
    path.length = p + 1;
    // Below the advanced level, follow entry 0 of each node down to the leaf.
    while (path.length <= root.levels) {
      if (++steps > MAX_HTREE_STEPS) throw new BudgetError(`htree lookup in directory inode ${spec.ino} exceeded ${MAX_HTREE_STEPS} steps`, { location: loc(0) });
      const parent = path[path.length - 1]!;
      const lblk = parent.node.blocks[parent.at]!;
      path.push({ node: parseDxNode(await readBlock(lblk), spec, loc(lblk)), at: 0 });
    }
  }
}
