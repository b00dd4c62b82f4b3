/**
 * Extent trees (the extents feature, inode flag EXT4_EXTENTS_FL).
 *
 * Spec: Linux Documentation/filesystems/ext4/ifork.rst ("Extent Tree": struct ext4_extent_header,
 * ext4_extent_idx, ext4_extent, ext4_extent_tail) and the checks of ext4_ext_check() /
 * ext4_valid_extent_entries() in fs/ext4/extents.c: magic 0xF30A, eh_entries <= eh_max <= what
 * fits, depth <= 5 and exactly one less per level, entries sorted, blocks inside the filesystem.
 * An extent with ee_len > 32768 is unwritten (preallocated) and reads as zeros.
 *
 * Lookups descend only into the index entries that overlap the requested range, one level at a
 * time with every node of the level fetched in one batch; a node whose depth is not its parent's
 * minus one (an index pointing to itself or up the tree) is corrupt, so the walk terminates.
 */
import { view } from '../../util/bytes.ts';
import { BudgetError, CorruptError } from '../../util/errors.ts';
import type { BlockCache, Geometry } from './block-cache.ts';
import { extentBlockChecksumOk } from './checksum.ts';
import { MAX_EXTENT_DEPTH, MAX_EXTENT_NODES_PER_MAP } from './limits.ts';
import { pushRun, type BlockMapper, type BlockRun } from './mapping.ts';

export const EXTENT_MAGIC = 0xf30a;
const HEADER_BYTES = 12;
const ENTRY_BYTES = 12;
/** EXT_INIT_MAX_LEN: longer ee_len values mark unwritten extents. */
const INIT_MAX_LEN = 32768;
const MAX_LBLK = 2 ** 32;

export interface ExtentNode {
  depth: number;
  count: number;
  /** First logical block of each entry. */
  lblk: Float64Array;
  /** Leaf: first physical block of the extent; index: block of the child node. */
  pblk: Float64Array;
  /** Leaf only: length in blocks. */
  len: Uint32Array;
  /** Leaf only: 1 when the extent is unwritten. */
  unwritten: Uint8Array;
}

export interface ExtentContext {
  geo: Geometry & { firstDataBlock: number };
  /** Checksum seed of the owning inode, when metadata_csum is on. */
  inodeSeed: number | undefined;
  ino: number;
  onIssue: (code: string, message: string, location: string) => void;
}

/** Parses a node: the 60-byte root in i_block (`isRoot`) or a whole tree block. */
export function parseExtentNode(buf: Uint8Array, isRoot: boolean, ctx: ExtentContext, location: string): ExtentNode {
  const bad = (msg: string): never => {
    throw new CorruptError(`extent tree of inode ${ctx.ino}: ${msg}`, { location });
  };
  if (buf.length < HEADER_BYTES) bad('node too small');
  const dv = view(buf);
  if (dv.getUint16(0, true) !== EXTENT_MAGIC) bad(`bad extent header magic 0x${dv.getUint16(0, true).toString(16)}`);
  const count = dv.getUint16(2, true);
  const max = dv.getUint16(4, true);
  const depth = dv.getUint16(6, true);
  const fit = Math.floor((buf.length - HEADER_BYTES - (isRoot ? 0 : 4)) / ENTRY_BYTES);
  if (max > fit) bad(`eh_max ${max} exceeds the ${fit} entries that fit`);
  if (count > max) bad(`eh_entries ${count} exceeds eh_max ${max}`);
  if (depth > MAX_EXTENT_DEPTH) bad(`depth ${depth} exceeds ${MAX_EXTENT_DEPTH}`);
  if (!isRoot && ctx.inodeSeed !== undefined) {
    const tail = HEADER_BYTES + max * ENTRY_BYTES;
    if (!extentBlockChecksumOk(ctx.inodeSeed, buf, tail)) ctx.onIssue('ext4.csum-extent', `extent block checksum mismatch`, location);
  }
  const node: ExtentNode = {
    depth,
    count,
    lblk: new Float64Array(count),
    pblk: new Float64Array(count),
    len: new Uint32Array(depth === 0 ? count : 0),
    unwritten: new Uint8Array(depth === 0 ? count : 0),
  };
  const { blocksCount, firstDataBlock } = ctx.geo;
  let nextFree = 0;
  for (let i = 0; i < count; i++) {
    const o = HEADER_BYTES + i * ENTRY_BYTES;
    const lblk = dv.getUint32(o, true);
    if (depth === 0) {
      const raw = dv.getUint16(o + 4, true);
      const unwritten = raw > INIT_MAX_LEN;
      const len = unwritten ? raw - INIT_MAX_LEN : raw;
      const pblk = dv.getUint16(o + 6, true) * 2 ** 32 + dv.getUint32(o + 8, true);
      if (len === 0) bad(`extent ${i} has length 0`);
      if (lblk < nextFree) bad(`extent ${i} at logical block ${lblk} overlaps or is out of order`);
      if (lblk + len > MAX_LBLK) bad(`extent ${i} runs past logical block 2^32`);
      if (pblk < firstDataBlock || pblk + len > blocksCount) bad(`extent ${i} blocks ${pblk}+${len} are outside the filesystem (${blocksCount} blocks)`);
      node.len[i] = len;
      node.unwritten[i] = unwritten ? 1 : 0;
      node.pblk[i] = pblk;
      nextFree = lblk + len;
    } else {
      const pblk = dv.getUint16(o + 8, true) * 2 ** 32 + dv.getUint32(o + 4, true);
      if (i > 0 && lblk <= node.lblk[i - 1]!) bad(`index entry ${i} at logical block ${lblk} is out of order`);
      if (pblk < firstDataBlock || pblk >= blocksCount) bad(`index entry ${i} points to block ${pblk} outside the filesystem`);
      node.pblk[i] = pblk;
    }
    node.lblk[i] = lblk;
  }
  return node;
}

interface Span {
  node: ExtentNode;
  /** The logical range the parent assigns to this node. */
  lo: number;
  hi: number;
}

export class ExtentMapper implements BlockMapper {
  readonly #root: ExtentNode;
  readonly #cache: BlockCache<ExtentNode>;
  readonly #ctx: ExtentContext;

  constructor(iBlock: Uint8Array, cache: BlockCache<ExtentNode>, ctx: ExtentContext) {
    this.#root = parseExtentNode(iBlock, true, ctx, `inode ${ctx.ino} extent root`);
    this.#cache = cache;
    this.#ctx = ctx;
  }

  async map(first: number, last: number): Promise<BlockRun[]> {
    const ctx = this.#ctx;
    let level: Span[] = [{ node: this.#root, lo: 0, hi: MAX_LBLK - 1 }];
    const visited = new Set<number>();
    let steps = 0;
    while (level.length > 0 && level[0]!.node.depth > 0) {
      const depth = level[0]!.node.depth;
      const want: Array<{ pblk: number; lo: number; hi: number }> = [];
      for (const { node, lo, hi } of level) {
        for (let i = 0; i < node.count; i++) {
          const s = i === 0 ? lo : Math.max(lo, node.lblk[i]!);
          const e = i + 1 < node.count ? Math.min(hi, node.lblk[i + 1]! - 1) : hi;
          if (s > e || e < first || s > last) continue;
          const pblk = node.pblk[i]!;
          if (visited.has(pblk)) throw new CorruptError(`extent tree of inode ${ctx.ino} reaches block ${pblk} twice`, { location: `inode ${ctx.ino} extent block ${pblk}` });
          visited.add(pblk);
          want.push({ pblk, lo: s, hi: e });
        }
      }
      steps += want.length;
      if (steps > MAX_EXTENT_NODES_PER_MAP) throw new BudgetError(`extent tree of inode ${ctx.ino}: more than ${MAX_EXTENT_NODES_PER_MAP} nodes for one read`, { location: `inode ${ctx.ino}` });
      const location = `inode ${ctx.ino} extent tree level ${depth - 1}`;
      const nodes = await this.#cache.getMany(want.map((w) => w.pblk), (pblk, bytes) => parseExtentNode(bytes, false, ctx, `inode ${ctx.ino} extent block ${pblk}`), location);
      level = nodes.map((node, k) => {
        const w = want[k]!;
        if (node.depth !== depth - 1) {
          throw new CorruptError(`extent tree of inode ${ctx.ino}: block ${w.pblk} has depth ${node.depth}, expected ${depth - 1}`, { location: `inode ${ctx.ino} extent block ${w.pblk}` });
        }
        return { node, lo: w.lo, hi: w.hi };
      });
    }
    const runs: BlockRun[] = [];
    for (const { node, lo, hi } of level) {
      for (let i = 0; i < node.count; i++) {
        if (node.unwritten[i]) continue;
        const l0 = node.lblk[i]!;
        const s = Math.max(l0, lo, first);
        const e = Math.min(l0 + node.len[i]! - 1, hi, last);
        if (s > e) continue;
        pushRun(runs, s, node.pblk[i]! + (s - l0), e - s + 1);
      }
    }
    return runs;
  }
}
