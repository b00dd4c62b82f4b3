/**
 * A read-only XFS reader (v5 and v4 filesystems) over a BlockSource, at the inode level;
 * PathFileSystem adds in-image path resolution.
 *
 * Reference: "XFS Algorithms & Data Structures", 3rd edition (superblock, on-disk inode, data
 * extents and the bmbt, directories, symbolic links); xfsprogs 6.1 libxfs (xfs_format.h,
 * xfs_da_format.h, xfs_inode_buf.c, xfs_dir2_*.c, xfs_symlink_remote.c). Modules:
 * superblock.ts, geometry.ts, inode.ts, bmbt.ts, extent-map.ts, dir2.ts, symlink.ts.
 *
 * Caching: inodes are read a whole aligned 64 KiB cluster at a time (raw clusters in an LRU),
 * parsed inodes, extent lists and directory listings each in a weighted LRU. File reads issue one
 * source read per physically contiguous run.
 */
import { readInto, type BlockSource } from '../../disk/index.ts';
import { unfilledBytes } from '../../disk/range.ts';
import { CorruptError, NotThisFormatError, UnsupportedError, UsageError } from '../../util/errors.ts';
import type { Issue } from '../../util/issues.ts';
import type { DirEntry, FileExtent, InodeId, InodeReader, Stat } from '../index.ts';
import { PathFileSystem } from '../path-fs.ts';
import { decodeExtents, normalizeExtents, readBmbtExtents, type Extent } from './bmbt.ts';
import { parseDataBlock, parseShortform, XFS_DIR2_LEAF_OFFSET_BYTES, type DirContext, type RawDirEntry } from './dir2.ts';
import { firstExtentAfter, planRead } from './extent-map.ts';
import { inodeByteOffset } from './geometry.ts';
import { DIFLAG_REALTIME, FMT_BTREE, FMT_EXTENTS, FMT_LOCAL, parseInode, type DInode } from './inode.ts';
import { WeightedLru } from '../../util/lru.ts';
import { parseSuperblock, MAX_SECTOR_BYTES, XFS_SB_MAGIC, type Superblock } from './superblock.ts';
import { localTarget, remoteTarget, checkSymlinkSize, SYMLINK_V5_HEADER_BYTES, type RemoteSymlinkBlock } from './symlink.ts';

/** Inodes are fetched in aligned clusters of this size (64 inodes of 1 KiB, 256 of 256 bytes). */
const INODE_CLUSTER_BYTES = 64 * 1024;
const INODE_CLUSTER_CACHE = 512;
const PARSED_INODE_CACHE = 200_000;
/** Extent records kept across all cached extent lists. */
const EXTENT_CACHE_RECORDS = 2_000_000;
/** Directory entries kept across all cached listings. */
const DIR_CACHE_ENTRIES = 2_000_000;
/** Most entries one directory may list (the kernel has no limit; 10M names is ~1 GiB of blocks). */
export const MAX_DIR_ENTRIES = 10_000_000;
/** Most directory data blocks one directory may have. */
export const MAX_DIR_BLOCKS = 1 << 20;
/** Directory data is read in pieces of at most this size. */
const DIR_READ_BYTES = 4 * 1024 * 1024;
/** Inode clusters read ahead when a directory is listed (a walk stats every entry next). */
const PREFETCH_CLUSTERS = 64;
/** Issues kept per filesystem; a badly broken image should not flood the report. */
const MAX_ISSUES = 1000;
/** Source reads in flight for one file read. */
const READ_CONCURRENCY = 8;

interface DirListing {
  entries: DirEntry[];
  byName?: Map<string, InodeId>;
}

export class XfsReader implements InodeReader {
  readonly type = 'xfs' as const;
  readonly label: string | undefined;
  readonly uuid: string | undefined;
  readonly issues: Issue[] = [];
  readonly rootIno: InodeId;
  readonly sb: Superblock;
  readonly #source: BlockSource;
  readonly #fsBytes: number;
  readonly #clusters = new WeightedLru<number, Promise<Uint8Array>>(INODE_CLUSTER_CACHE);
  readonly #inodes = new WeightedLru<number, DInode>(PARSED_INODE_CACHE);
  readonly #extents = new WeightedLru<number, Extent[]>(EXTENT_CACHE_RECORDS);
  readonly #dirs = new WeightedLru<number, DirListing>(DIR_CACHE_ENTRIES);
  readonly #issueKeys = new Set<string>();

  constructor(source: BlockSource, sb: Superblock, issues: Issue[]) {
    this.#source = source;
    this.sb = sb;
    this.rootIno = sb.rootIno;
    this.label = sb.label === '' ? undefined : sb.label;
    this.uuid = sb.uuid;
    this.#fsBytes = sb.dblocks * sb.blockBytes;
    for (const i of issues) this.report(i);
    if (source.size < this.#fsBytes) {
      this.report({ severity: 'warning', code: 'xfs.truncated', message: `volume of ${source.size} bytes is smaller than the ${this.#fsBytes}-byte filesystem`, location: source.description });
    }
  }

  /** Records an issue once per (code, location), up to MAX_ISSUES. */
  report(issue: Issue): void {
    const key = `${issue.code}\0${issue.location ?? ''}`;
    if (this.#issueKeys.has(key)) return;
    this.#issueKeys.add(key);
    if (this.issues.length < MAX_ISSUES) this.issues.push(issue);
    else if (this.issues.length === MAX_ISSUES) this.issues.push({ severity: 'warning', code: 'xfs.issues-truncated', message: `more than ${MAX_ISSUES} issues; the rest are not listed` });
  }

  async inode(ino: InodeId): Promise<DInode> {
    const cached = this.#inodes.get(ino);
    if (cached) return cached;
    const at = inodeByteOffset(this.sb, ino);
    const clusterStart = Math.floor(at / INODE_CLUSTER_BYTES) * INODE_CLUSTER_BYTES;
    const clusterEnd = Math.min(clusterStart + INODE_CLUSTER_BYTES, this.#fsBytes, this.#source.size);
    if (at + this.sb.inodeBytes > clusterEnd) throw new CorruptError(`XFS inode ${ino} lies past the end of the volume`, { location: `inode ${ino}` });
    const rel = at - clusterStart;
    const inode = parseInode((await this.#cluster(clusterStart, clusterEnd)).subarray(rel, rel + this.sb.inodeBytes), this.sb, ino);
    if (!inode.crcOk) this.report({ severity: 'warning', code: 'xfs.crc-inode', message: 'inode CRC mismatch', location: `inode ${ino}` });
    this.#inodes.set(ino, inode);
    return inode;
  }

  /** The raw inode cluster at `start` (shared, in-flight reads included). */
  #cluster(start: number, end: number): Promise<Uint8Array> {
    let cluster = this.#clusters.get(start);
    if (!cluster) {
      // An exact-size copy: a view into the source's cache chunk would pin the whole chunk for
      // as long as this LRU keeps the cluster, doubling what the cache really holds.
      const bytes = new Uint8Array(end - start);
      cluster = readInto(this.#source, start, bytes).then(() => bytes);
      this.#clusters.set(start, cluster);
      cluster.catch(() => this.#clusters.delete(start));
    }
    return cluster;
  }

  /**
   * Starts reading the inode clusters of a directory's entries without waiting: a walk stats
   * every entry next, and parallel cluster reads hide the latency of slow (remote) sources.
   */
  #prefetchInodes(entries: readonly RawDirEntry[]): void {
    const starts = new Set<number>();
    for (const e of entries) {
      if (this.#inodes.get(e.ino)) continue;
      const at = inodeByteOffset(this.sb, e.ino);
      starts.add(Math.floor(at / INODE_CLUSTER_BYTES) * INODE_CLUSTER_BYTES);
      if (starts.size >= PREFETCH_CLUSTERS) break;
    }
    for (const start of starts) {
      const end = Math.min(start + INODE_CLUSTER_BYTES, this.#fsBytes, this.#source.size);
      if (end > start) this.#cluster(start, end).catch(() => undefined);
    }
  }

  async stat(ino: InodeId): Promise<Stat> {
    const i = await this.inode(ino);
    const st: Stat = {
      type: i.type,
      mode: i.mode,
      uid: i.uid,
      gid: i.gid,
      size: i.size,
      nlink: i.nlink,
      ino,
      mtimeMs: i.mtimeMs,
      ctimeMs: i.ctimeMs,
      atimeMs: i.atimeMs,
    };
    if (i.rdev) st.rdev = i.rdev;
    return st;
  }

  /** The data-fork extents of an extents- or btree-format inode, sorted and checked. */
  async extents(inode: DInode): Promise<Extent[]> {
    const cached = this.#extents.get(inode.ino);
    if (cached) return cached;
    const where = `inode ${inode.ino} extents`;
    let list: Extent[];
    if (inode.format === FMT_EXTENTS) {
      if (inode.nextents * 16 > inode.dataFork.length) {
        throw new CorruptError(`XFS inode ${inode.ino}: ${inode.nextents} extents do not fit the ${inode.dataFork.length}-byte data fork`, { location: where });
      }
      list = normalizeExtents(decodeExtents(this.sb, inode.dataFork, 0, inode.nextents, where), where);
    } else if (inode.format === FMT_BTREE) {
      list = await readBmbtExtents(
        { sb: this.sb, ino: inode.ino, readBlocks: (linear, count) => this.#readBytes(linear * this.sb.blockBytes, count * this.sb.blockBytes), report: (i) => this.report(i) },
        inode.dataFork,
      );
    } else {
      list = [];
    }
    this.#extents.set(inode.ino, list, Math.max(1, list.length));
    return list;
  }

  async #readBytes(offset: number, length: number): Promise<Uint8Array> {
    if (offset + length > this.#fsBytes) throw new CorruptError(`XFS read [${offset}, +${length}) is past the filesystem end`, { location: `byte ${offset}` });
    return this.#source.read(offset, length);
  }

  async #readBytesInto(offset: number, target: Uint8Array): Promise<void> {
    if (offset + target.length > this.#fsBytes) throw new CorruptError(`XFS read [${offset}, +${target.length}) is past the filesystem end`, { location: `byte ${offset}` });
    await readInto(this.#source, offset, target);
  }

  /** Reads [offset, offset + length) of a mapped file (no size clamp) into a new buffer. */
  async #readMapped(extents: readonly Extent[], offset: number, length: number): Promise<Uint8Array> {
    const out = unfilledBytes(length);
    await this.#readMappedInto(extents, offset, out);
    return out;
  }

  /** Reads [offset, offset + out.length) of a mapped file into `out` (no size clamp): the fewest source reads. */
  async #readMappedInto(extents: readonly Extent[], offset: number, out: Uint8Array): Promise<void> {
    const pieces = planRead(extents, this.sb.blockBytes, offset, out.length);
    // The pieces cover [offset, offset + length): holes are zeroed here, the rest is read.
    for (const p of pieces) if (p.physical < 0) out.fill(0, p.at, p.at + p.bytes);
    for (let i = 0; i < pieces.length; i += READ_CONCURRENCY) {
      const batch = pieces.slice(i, i + READ_CONCURRENCY).filter((p) => p.physical >= 0);
      // Straight into the result: no intermediate buffer per piece.
      await Promise.all(batch.map((p) => this.#readBytesInto(p.physical, out.subarray(p.at, p.at + p.bytes))));
    }
  }

  async read(ino: InodeId, offset: number, length: number): Promise<Uint8Array> {
    const inode = await this.inode(ino);
    // #readIntoInode clamps to the size and writes every byte of a mapped range (holes as zeros).
    const out = unfilledBytes(Math.max(0, Math.min(inode.size, offset + length) - offset));
    const n = await this.#readIntoInode(inode, offset, out);
    return n === out.length ? out : out.subarray(0, n);
  }

  async readInto(ino: InodeId, offset: number, target: Uint8Array): Promise<number> {
    return this.#readIntoInode(await this.inode(ino), offset, target);
  }

  #refuseRealtime(inode: DInode): void {
    if (inode.flags & DIFLAG_REALTIME) {
      throw new UnsupportedError(`XFS inode ${inode.ino} is a realtime file: data on the realtime device is not read`, { location: `inode ${inode.ino}` });
    }
  }

  /** Bytes [offset, offset + target.length) clamped to the size, into target; the count written. */
  async #readIntoInode(inode: DInode, offset: number, target: Uint8Array): Promise<number> {
    this.#refuseRealtime(inode);
    const end = Math.min(inode.size, offset + target.length);
    if (end <= offset) return 0;
    const out = target.subarray(0, end - offset);
    if (inode.format === FMT_LOCAL) {
      // A local fork shorter than the size (corrupt) ends the data where the fork ends.
      const have = inode.dataFork.subarray(Math.min(offset, inode.dataFork.length), Math.min(end, inode.dataFork.length));
      out.set(have);
      return have.length;
    }
    if (inode.format !== FMT_EXTENTS && inode.format !== FMT_BTREE) return 0;
    await this.#readMappedInto(await this.extents(inode), offset, out);
    return out.length;
  }

  /** The volume that mapFile's source offsets refer to. */
  get dataSource(): BlockSource {
    return this.#source;
  }

  /**
   * The layout of a regular file (InodeReader.mapFile) from the same checked extent list `read`
   * uses: written extents are 'data' at linear block × block size, holes and unwritten extents
   * 'zero'; extents past EOF (speculative preallocation) are dropped and the last one clipped.
   * Local-format (inline) and realtime files have no plain layout on this volume: undefined.
   */
  async mapFile(ino: InodeId): Promise<FileExtent[] | undefined> {
    const inode = await this.inode(ino);
    if (inode.type !== 'file' || (inode.flags & DIFLAG_REALTIME) !== 0) return undefined;
    if (inode.format !== FMT_EXTENTS && inode.format !== FMT_BTREE) return undefined;
    const size = inode.size;
    if (size === 0) return [];
    const bb = this.sb.blockBytes;
    const out: FileExtent[] = [];
    let pos = 0;
    const push = (start: number, end: number, physical: number | undefined) => {
      const last = out[out.length - 1];
      if (physical === undefined) {
        if (last?.kind === 'zero') last.length += end - start;
        else out.push({ fileOffset: start, length: end - start, kind: 'zero' });
      } else if (last?.kind === 'data' && last.sourceOffset! + last.length === physical) {
        last.length += end - start;
      } else {
        out.push({ fileOffset: start, length: end - start, kind: 'data', sourceOffset: physical });
      }
    };
    // normalizeExtents sorted the list and refused overlaps, so `pos` only moves forward.
    for (const e of await this.extents(inode)) {
      const start = e.fileBlock * bb;
      if (start >= size) break;
      const end = Math.min(size, (e.fileBlock + e.blocks) * bb);
      // The same bound #readBytesInto enforces for `read`.
      if (!e.unwritten && e.linearBlock * bb + (end - start) > this.#fsBytes) {
        throw new CorruptError(`XFS inode ${ino}: extent at block ${e.linearBlock} runs past the filesystem end`, { location: `inode ${ino} extents` });
      }
      if (start > pos) push(pos, start, undefined);
      push(start, end, e.unwritten ? undefined : e.linearBlock * bb);
      pos = end;
    }
    if (pos < size) push(pos, size, undefined);
    return out;
  }

  async readdir(ino: InodeId): Promise<DirEntry[]> {
    return (await this.#listing(ino)).entries;
  }

  async lookup(dirIno: InodeId, name: string): Promise<InodeId | undefined> {
    const listing = await this.#listing(dirIno);
    listing.byName ??= new Map(listing.entries.map((e) => [e.name, e.ino]));
    return listing.byName.get(name);
  }

  async #listing(ino: InodeId): Promise<DirListing> {
    const cached = this.#dirs.get(ino);
    if (cached) return cached;
    const inode = await this.inode(ino);
    if (inode.type !== 'dir') throw new UsageError(`XFS inode ${ino} is not a directory`, { location: `inode ${ino}` });
    const ctx: DirContext = { sb: this.sb, ino, report: (i) => this.report(i) };
    const raw = inode.format === FMT_LOCAL ? parseShortform(ctx, inode.dataFork, inode.size) : await this.#readDirBlocks(ctx, inode);
    this.#prefetchInodes(raw);
    const entries: DirEntry[] = [];
    for (const r of raw) {
      let type = r.type;
      if (type === undefined || type === 'unknown') {
        // No ftype in the entry (v4 without ftype): the inode says what it is.
        try {
          type = (await this.inode(r.ino)).type;
        } catch {
          type = 'unknown';
        }
      }
      entries.push({ name: r.name, ino: r.ino, type });
    }
    const listing: DirListing = { entries };
    this.#dirs.set(ino, listing, Math.max(1, entries.length));
    return listing;
  }

  /** Reads every data block below XFS_DIR2_LEAF_OFFSET; a broken block is reported and skipped. */
  async #readDirBlocks(ctx: DirContext, inode: DInode): Promise<RawDirEntry[]> {
    const { sb } = this;
    const extents = await this.extents(inode);
    const dirBlockBytes = sb.dirBlockBytes;
    const fsbPerDirBlock = dirBlockBytes / sb.blockBytes;
    const leafBlock = XFS_DIR2_LEAF_OFFSET_BYTES / sb.blockBytes;
    // Logical dir-block ranges that hold data, from the extents (merged where contiguous).
    const ranges: Array<[first: number, end: number]> = [];
    let blocks = 0;
    for (const e of extents) {
      if (e.fileBlock >= leafBlock) break;
      const first = Math.floor(e.fileBlock / fsbPerDirBlock);
      const end = Math.ceil(Math.min(e.fileBlock + e.blocks, leafBlock) / fsbPerDirBlock);
      const last = ranges[ranges.length - 1];
      if (last && first <= last[1]) last[1] = Math.max(last[1], end);
      else ranges.push([first, end]);
    }
    for (const [a, b] of ranges) blocks += b - a;
    if (blocks > MAX_DIR_BLOCKS) throw new CorruptError(`XFS directory inode ${inode.ino} has ${blocks} data blocks (limit ${MAX_DIR_BLOCKS})`, { location: `inode ${inode.ino}` });
    const out: RawDirEntry[] = [];
    const perRead = Math.max(1, Math.floor(DIR_READ_BYTES / dirBlockBytes));
    for (const [first, end] of ranges) {
      for (let d = first; d < end; d += perRead) {
        const n = Math.min(perRead, end - d);
        const data = await this.#readMapped(extents, d * dirBlockBytes, n * dirBlockBytes);
        for (let k = 0; k < n; k++) {
          const dablk = d + k;
          const firstFsb = dablk * fsbPerDirBlock;
          const ext = extents[firstExtentAfter(extents, firstFsb)];
          try {
            if (!ext || ext.fileBlock > firstFsb) throw new CorruptError(`XFS inode ${inode.ino} dir block ${dablk} is not mapped`, { location: `inode ${inode.ino} dir block ${dablk}` });
            const daddr = ((ext.linearBlock + firstFsb - ext.fileBlock) * sb.blockBytes) / 512;
            parseDataBlock(ctx, data.subarray(k * dirBlockBytes, (k + 1) * dirBlockBytes), daddr, dablk, out);
          } catch (err) {
            if (!(err instanceof CorruptError)) throw err;
            this.report({ severity: 'error', code: 'xfs.dir-corrupt', message: err.message, location: err.location ?? `inode ${inode.ino}` });
          }
          if (out.length > MAX_DIR_ENTRIES) throw new CorruptError(`XFS directory inode ${inode.ino} has more than ${MAX_DIR_ENTRIES} entries`, { location: `inode ${inode.ino}` });
        }
      }
    }
    return out;
  }

  async readlink(ino: InodeId): Promise<string> {
    const inode = await this.inode(ino);
    if (inode.type !== 'symlink') throw new UsageError(`XFS inode ${ino} is not a symlink`, { location: `inode ${ino}` });
    if (inode.format === FMT_LOCAL) return localTarget(ino, inode.dataFork, inode.size);
    checkSymlinkSize(ino, inode.size);
    const { sb } = this;
    const perBlock = sb.version === 5 ? sb.blockBytes - SYMLINK_V5_HEADER_BYTES : sb.blockBytes;
    const nblocks = Math.ceil(inode.size / perBlock);
    const extents = await this.extents(inode);
    const data = await this.#readMapped(extents, 0, nblocks * sb.blockBytes);
    const blocks: RemoteSymlinkBlock[] = [];
    for (let b = 0; b < nblocks; b++) {
      const ext = extents[firstExtentAfter(extents, b)];
      if (!ext || ext.fileBlock > b || ext.unwritten) throw new CorruptError(`XFS inode ${ino}: symlink block ${b} is not mapped`, { location: `inode ${ino}` });
      blocks.push({ bytes: data.subarray(b * sb.blockBytes, (b + 1) * sb.blockBytes), daddr: ((ext.linearBlock + b - ext.fileBlock) * sb.blockBytes) / 512 });
    }
    return remoteTarget(sb, ino, blocks, inode.size, (i) => this.report(i));
  }

  async close(): Promise<void> {
    this.#clusters.clear();
    this.#inodes.clear();
    this.#extents.clear();
    this.#dirs.clear();
  }
}

/**
 * Opens the XFS filesystem on `source`. NotThisFormatError when there is no 'XFSB' superblock;
 * UnsupportedError naming the feature for incompatible features we do not read.
 */
export async function openXfs(source: BlockSource): Promise<PathFileSystem> {
  if (source.size < 512) throw new NotThisFormatError(`XFS: ${source.description} is too small`);
  const head = await source.read(0, 512);
  if (new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(0) !== XFS_SB_MAGIC) {
    throw new NotThisFormatError(`XFS: no superblock magic on ${source.description}`);
  }
  const sectorBytes = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint16(102);
  let sector = head;
  if (sectorBytes > 512 && sectorBytes <= MAX_SECTOR_BYTES && sectorBytes <= source.size) sector = await source.read(0, sectorBytes);
  const issues: Issue[] = [];
  const sb = parseSuperblock(sector, issues);
  const reader = new XfsReader(source, sb, issues);
  const root = await reader.stat(sb.rootIno);
  if (root.type !== 'dir') throw new CorruptError(`XFS root inode ${sb.rootIno} is a ${root.type}, not a directory`, { location: `inode ${sb.rootIno}` });
  return new PathFileSystem(reader);
}
