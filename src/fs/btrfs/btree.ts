/**
 * btrfs B-tree nodes and leaves, and key search over them.
 *
 * Reference: btrfs on-disk format, "Tree" (btrfs.readthedocs.io) and linux v6.6
 * include/uapi/linux/btrfs_tree.h (struct btrfs_header, btrfs_key_ptr, btrfs_item),
 * fs/btrfs/tree-checker.c (what a valid node looks like: sorted keys, items inside the leaf,
 * level below BTRFS_MAX_LEVEL), fs/btrfs/disk-io.c (btrfs_validate_extent_buffer: checksum,
 * bytenr, fsid, level; parent transid check).
 *
 * Every descent goes from a level-L node to a level-(L-1) child, so a cyclic pointer cannot
 * recurse forever; range scans also carry a node-visit budget.
 */
import { BudgetError, CorruptError } from '../../util/errors.ts';
import type { Issue } from '../../util/issues.ts';
import { equalBytes, view } from '../../util/bytes.ts';
import { BTRFS_MAX_LEVEL, checksumOk, type Superblock } from './superblock.ts';

/** struct btrfs_header. */
export const HEADER_BYTES = 101;
/** struct btrfs_disk_key: objectid u64, type u8, offset u64. */
export const DISK_KEY_BYTES = 17;
/** struct btrfs_item: key + data offset u32 + data size u32. */
export const ITEM_BYTES = 25;
/** struct btrfs_key_ptr: key + blockptr u64 + generation u64. */
export const KEY_PTR_BYTES = 33;
/** Nodes visited by one range scan (a 10M-entry directory is ~100k leaves). */
export const MAX_NODES_PER_SCAN = 1 << 21;
/** Parsed tree blocks kept in memory (at 16 KiB each, 64 MiB). */
const NODE_CACHE_BLOCKS = 4096;

export const U64_MAX = 0xffff_ffff_ffff_ffffn;

export interface Key {
  objectid: bigint;
  type: number;
  offset: bigint;
}

export function parseDiskKey(dv: DataView, at: number): Key {
  return { objectid: dv.getBigUint64(at, true), type: dv.getUint8(at + 8), offset: dv.getBigUint64(at + 9, true) };
}

export function compareKeys(a: Key, b: Key): number {
  if (a.objectid !== b.objectid) return a.objectid < b.objectid ? -1 : 1;
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  if (a.offset !== b.offset) return a.offset < b.offset ? -1 : 1;
  return 0;
}

export function formatKey(k: Key): string {
  return `(${k.objectid} ${k.type} ${k.offset})`;
}

export interface Item {
  key: Key;
  /** The item's data (a view into the cached leaf: do not modify). */
  data: Uint8Array;
  /** Logical address of the leaf holding it, for messages. */
  leaf: number;
}

export interface TreeNode {
  logical: number;
  level: number;
  generation: number;
  owner: bigint;
  keys: Key[];
  /** Internal nodes: child block pointers and their expected generations. */
  ptrs: number[];
  ptrGenerations: number[];
  /** Leaves: item data ranges inside `block`. */
  itemStart: number[];
  itemSize: number[];
  block: Uint8Array;
}

/** Where a tree starts: the root block and its level. */
export interface TreeRoot {
  /** Tree id, for messages. */
  id: bigint;
  bytenr: number;
  level: number;
}

/** What the tree reader needs from below: metadata reads at logical addresses, issue reports. */
export interface MetadataIo {
  readLogical(logical: number, length: number): Promise<Uint8Array>;
  report(issue: Issue): void;
}

/** Parses and validates one tree block read at `logical` (checksum checked by the caller). */
export function parseNode(block: Uint8Array, logical: number, sb: Superblock): TreeNode {
  const location = `tree block at logical ${logical}`;
  const dv = view(block);
  const bytenr = dv.getBigUint64(0x30, true);
  if (bytenr !== BigInt(logical)) throw new CorruptError(`btrfs tree block at ${logical} records bytenr ${bytenr}`, { location });
  if (!equalBytes(block.subarray(0x20, 0x30), sb.metadataFsid)) throw new CorruptError('btrfs tree block belongs to another filesystem (fsid mismatch)', { location });
  const nritems = dv.getUint32(0x60, true);
  const level = dv.getUint8(0x64);
  if (level >= BTRFS_MAX_LEVEL) throw new CorruptError(`btrfs tree block level ${level} exceeds ${BTRFS_MAX_LEVEL - 1}`, { location });
  const space = block.length - HEADER_BYTES;
  const node: TreeNode = {
    logical,
    level,
    generation: Number(dv.getBigUint64(0x50, true)),
    owner: dv.getBigUint64(0x58, true),
    keys: [],
    ptrs: [],
    ptrGenerations: [],
    itemStart: [],
    itemSize: [],
    block,
  };
  if (level > 0) {
    if (nritems === 0 || nritems * KEY_PTR_BYTES > space) throw new CorruptError(`btrfs node with ${nritems} pointers does not fit`, { location });
    for (let i = 0; i < nritems; i++) {
      const at = HEADER_BYTES + i * KEY_PTR_BYTES;
      node.keys.push(parseDiskKey(dv, at));
      const ptr = dv.getBigUint64(at + DISK_KEY_BYTES, true);
      if (ptr > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptError(`btrfs node pointer ${ptr} out of range`, { location });
      node.ptrs.push(Number(ptr));
      node.ptrGenerations.push(Number(dv.getBigUint64(at + DISK_KEY_BYTES + 8, true)));
    }
  } else {
    if (nritems * ITEM_BYTES > space) throw new CorruptError(`btrfs leaf with ${nritems} items does not fit`, { location });
    for (let i = 0; i < nritems; i++) {
      const at = HEADER_BYTES + i * ITEM_BYTES;
      node.keys.push(parseDiskKey(dv, at));
      const off = dv.getUint32(at + DISK_KEY_BYTES, true);
      const size = dv.getUint32(at + DISK_KEY_BYTES + 4, true);
      // Item data lives after the item headers and inside the leaf (tree-checker check_leaf).
      if (off + size > space || off < nritems * ITEM_BYTES) throw new CorruptError(`btrfs leaf item ${i} data [${off}, +${size}) is outside the leaf`, { location });
      node.itemStart.push(HEADER_BYTES + off);
      node.itemSize.push(size);
    }
  }
  for (let i = 1; i < node.keys.length; i++) {
    if (compareKeys(node.keys[i - 1]!, node.keys[i]!) >= 0) throw new CorruptError(`btrfs tree block keys out of order at slot ${i}`, { location });
  }
  return node;
}

/** Index of the last key <= `key`, or -1. */
function lastAtOrBelow(keys: readonly Key[], key: Key): number {
  let lo = 0;
  let hi = keys.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid]!, key) <= 0) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

/** A bounded LRU of in-flight or parsed tree blocks. */
class NodeCache {
  readonly #map = new Map<number, Promise<TreeNode>>();
  get(k: number): Promise<TreeNode> | undefined {
    const v = this.#map.get(k);
    if (v !== undefined) {
      this.#map.delete(k);
      this.#map.set(k, v);
    }
    return v;
  }
  set(k: number, v: Promise<TreeNode>): void {
    this.#map.set(k, v);
    if (this.#map.size > NODE_CACHE_BLOCKS) this.#map.delete(this.#map.keys().next().value as number);
  }
  delete(k: number): void {
    this.#map.delete(k);
  }
}

export class BtreeReader {
  readonly #sb: Superblock;
  readonly #io: MetadataIo;
  readonly #cache = new NodeCache();

  constructor(sb: Superblock, io: MetadataIo) {
    this.#sb = sb;
    this.#io = io;
  }

  /** Reads a tree block; a bad checksum or header is a located issue and a CorruptError. */
  node(logical: number, expectedLevel: number, expectedGeneration?: number): Promise<TreeNode> {
    let p = this.#cache.get(logical);
    if (!p) {
      p = this.#load(logical);
      this.#cache.set(logical, p);
      p.catch(() => this.#cache.delete(logical));
    }
    return p.then((n) => {
      const location = `tree block at logical ${logical}`;
      if (n.level !== expectedLevel) {
        this.#io.report({ severity: 'error', code: 'btrfs.node-level', message: `tree block has level ${n.level}, its parent expects ${expectedLevel}`, location });
        throw new CorruptError(`btrfs tree block at ${logical} has level ${n.level}, expected ${expectedLevel}`, { location });
      }
      if (expectedGeneration !== undefined && n.generation !== expectedGeneration) {
        this.#io.report({ severity: 'error', code: 'btrfs.node-transid', message: `tree block generation ${n.generation}, its parent expects ${expectedGeneration}`, location });
        throw new CorruptError(`btrfs tree block at ${logical}: parent transid verify failed (${n.generation} != ${expectedGeneration})`, { location });
      }
      return n;
    });
  }

  async #load(logical: number): Promise<TreeNode> {
    const location = `tree block at logical ${logical}`;
    const block = await this.#io.readLogical(logical, this.#sb.nodeSize);
    if (!checksumOk(this.#sb.csumType, block)) {
      this.#io.report({ severity: 'error', code: 'btrfs.node-csum', message: 'tree block checksum mismatch', location });
      throw new CorruptError(`btrfs tree block at ${logical}: checksum mismatch`, { location });
    }
    try {
      return parseNode(block, logical, this.#sb);
    } catch (err) {
      this.#io.report({ severity: 'error', code: 'btrfs.node-invalid', message: err instanceof Error ? err.message : String(err), location });
      throw err;
    }
  }

  /** Items with min <= key <= max, in key order. */
  async *range(root: TreeRoot, min: Key, max: Key): AsyncGenerator<Item> {
    if (root.level >= BTRFS_MAX_LEVEL) throw new CorruptError(`btrfs tree ${root.id} root level ${root.level} exceeds ${BTRFS_MAX_LEVEL - 1}`, { location: `tree ${root.id}` });
    let visits = 0;
    const visit = async (logical: number, level: number, gen?: number): Promise<TreeNode> => {
      if (++visits > MAX_NODES_PER_SCAN) throw new BudgetError(`btrfs tree ${root.id}: scan visited more than ${MAX_NODES_PER_SCAN} blocks`, { location: `tree ${root.id}` });
      return this.node(logical, level, gen);
    };
    // path[i] = (node, slot) from the root down to the leaf.
    const path: Array<{ node: TreeNode; slot: number }> = [];
    let node = await visit(root.bytenr, root.level);
    while (node.level > 0) {
      const slot = Math.max(0, lastAtOrBelow(node.keys, min));
      path.push({ node, slot });
      node = await visit(node.ptrs[slot]!, node.level - 1, node.ptrGenerations[slot]);
    }
    let slot = lastAtOrBelow(node.keys, min);
    if (slot < 0 || compareKeys(node.keys[slot]!, min) < 0) slot++;
    for (;;) {
      for (; slot < node.keys.length; slot++) {
        const key = node.keys[slot]!;
        if (compareKeys(key, max) > 0) return;
        const start = node.itemStart[slot]!;
        yield { key, data: node.block.subarray(start, start + node.itemSize[slot]!), leaf: node.logical };
      }
      // Next leaf: climb to the deepest node with a next slot, then go down its leftmost edge.
      let depth = path.length - 1;
      while (depth >= 0 && path[depth]!.slot + 1 >= path[depth]!.node.keys.length) depth--;
      if (depth < 0) return;
      const up = path[depth]!;
      up.slot++;
      if (compareKeys(up.node.keys[up.slot]!, max) > 0) return;
      path.length = depth + 1;
      let child = await visit(up.node.ptrs[up.slot]!, up.node.level - 1, up.node.ptrGenerations[up.slot]);
      while (child.level > 0) {
        path.push({ node: child, slot: 0 });
        child = await visit(child.ptrs[0]!, child.level - 1, child.ptrGenerations[0]);
      }
      node = child;
      slot = 0;
    }
  }

  /** The item with exactly this key, if present. */
  async find(root: TreeRoot, key: Key): Promise<Item | undefined> {
    for await (const item of this.range(root, key, key)) return item;
    return undefined;
  }

  /** Every item with this objectid and type (any offset), bounded by `maxItems`. */
  async collect(root: TreeRoot, objectid: bigint, type: number, maxItems: number, what: string): Promise<Item[]> {
    const out: Item[] = [];
    for await (const item of this.range(root, { objectid, type, offset: 0n }, { objectid, type, offset: U64_MAX })) {
      if (out.length >= maxItems) throw new BudgetError(`btrfs ${what}: more than ${maxItems} items`, { location: `tree ${root.id} objectid ${objectid}` });
      out.push(item);
    }
    return out;
  }
}
