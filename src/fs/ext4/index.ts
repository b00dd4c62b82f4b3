/**
 * A read-only userspace ext2/ext3/ext4 reader: the inode level ({@link Ext4Reader}, an
 * InodeReader) under PathFileSystem, which does path resolution inside the image.
 *
 * Spec: Linux Documentation/filesystems/ext4/ ("ext4 Data Structures and Algorithms"), kernel
 * v6.x; each on-disk structure has its own module here citing its section. What is supported and
 * what is reported as unsupported is listed in docs/fs-ext4.md.
 *
 * Reads are planned, not streamed block by block: a file range is mapped to physical runs
 * (extents or indirect blocks, a level of the tree per batch), physically contiguous runs are
 * read with one source read each, holes and unwritten extents are zeros. Inodes are read a
 * 64 KiB slice of inode table at a time; parsed inodes, tree nodes and small directories' name
 * maps are kept in LRUs.
 */
import { readInto, type BlockSource } from '../../disk/index.ts';
import { unfilledBytes } from '../../disk/range.ts';
import { TableCache } from '../../disk/containers/table-cache.ts';
import { isAllZero } from '../../util/bytes.ts';
import { BudgetError, CorruptError, NotThisFormatError, UnsupportedError } from '../../util/errors.ts';
import type { Issue } from '../../util/issues.ts';
import type { DirEntry, FileExtent, FsType, InodeId, InodeReader, Stat } from '../index.ts';
import { PathFileSystem } from '../path-fs.ts';
import { IndirectMapper } from './block-map.ts';
import { BlockCache } from './block-cache.ts';
import { fsChecksumSeed, inodeChecksumOk, inodeChecksumSeed, superblockChecksum } from './checksum.ts';
import { checkDirBlock, htreeLookup, parseEntries, type DirSpec, type RawEntry } from './dir.ts';
import { ExtentMapper, type ExtentNode } from './extents.ts';
import { loadGroupTable, type GroupTable } from './group-desc.ts';
import { inlineDirRegions, inlineFileBytes } from './inline.ts';
import { chunkRange, INODE_FLAGS, inodeLocation, isFastSymlink, parseInode, ROOT_INO, toStat, type Ext4Inode } from './inode.ts';
import {
  DIR_MAP_CACHE_DIRS,
  DIR_MAP_CACHE_MAX_ENTRIES,
  INODE_CACHE_ENTRIES,
  INODE_CHUNK_CACHE_ENTRIES,
  MAP_BLOCK_CACHE_ENTRIES,
  MAX_DIR_BYTES,
  MAX_DIR_ENTRIES,
  MAX_ISSUES,
  MAX_READ_RANGE_BYTES,
  MAX_SOURCE_READ_BYTES,
  MAX_SYMLINK_BYTES,
  READ_CONCURRENCY,
} from './limits.ts';
import type { BlockMapper, BlockRun } from './mapping.ts';
import {
  COMPAT,
  fsFlavor,
  hasExtMagic,
  hasFeature,
  INCOMPAT,
  parseSuperblock,
  RO_COMPAT,
  SB_FLAG_UNSIGNED_HASH,
  SUPERBLOCK_BYTES,
  SUPERBLOCK_OFFSET,
  usesCrc32c,
  type Superblock,
} from './superblock.ts';

/** Directory blocks read and parsed per batch while listing a large directory. */
const DIR_BATCH_BLOCKS = 256;
/** Inode-table slices a listing prefetches (a quarter of the slice cache). */
const PREFETCH_INODE_CHUNKS = INODE_CHUNK_CACHE_ENTRIES / 4;
/** Subdirectories of a listing whose first blocks are prefetched, and how many blocks each. */
const PREFETCH_DIRS = 32;
const PREFETCH_DIR_BLOCKS = 8;
/** NAME_MAX: longer names cannot be in a directory entry. */
const MAX_NAME_BYTES = 255;

interface InodeEntry {
  inode: Ext4Inode;
  /** metadata_csum seed of this inode's blocks. */
  seed: number | undefined;
  mapper?: BlockMapper;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const encoder = new TextEncoder();

function decodeName(bytes: Uint8Array): string {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return utf8.decode(bytes);
  // ASCII: one native call over the array-like (a spread would go through the iterator protocol).
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

export class Ext4Reader implements InodeReader {
  readonly type: FsType;
  readonly label: string | undefined;
  readonly uuid: string | undefined;
  readonly issues: Issue[] = [];
  readonly rootIno: InodeId = ROOT_INO;
  readonly sb: Superblock;
  readonly #source: BlockSource;
  readonly #groups: GroupTable;
  /** Filesystem checksum seed; undefined without metadata_csum. */
  readonly #fsSeed: number | undefined;
  readonly #geo: { blockSize: number; blocksCount: number; firstDataBlock: number };
  readonly #chunks: TableCache<Uint8Array>;
  readonly #inodes = new Map<number, InodeEntry>();
  readonly #extentNodes: BlockCache<ExtentNode>;
  readonly #indirect: BlockCache<Uint8Array>;
  readonly #dirMaps = new Map<number, Map<string, number>>();
  readonly #issueKeys = new Set<string>();
  #droppedIssues = 0;

  private constructor(source: BlockSource, sb: Superblock, groups: GroupTable, fsSeed: number | undefined, issues: Issue[]) {
    this.#source = source;
    this.sb = sb;
    this.#groups = groups;
    this.#fsSeed = fsSeed;
    this.type = fsFlavor(sb);
    this.label = sb.label;
    this.uuid = sb.uuidString;
    this.#geo = { blockSize: sb.blockSize, blocksCount: sb.blocksCount, firstDataBlock: sb.firstDataBlock };
    this.#chunks = new TableCache(INODE_CHUNK_CACHE_ENTRIES, (key) => {
      const { offset, bytes } = chunkRange(sb, groups, key);
      // An exact-size copy: a view into the source's cache chunk would pin the whole chunk for
      // as long as this cache keeps the table piece, doubling what the cache really holds.
      const table = new Uint8Array(bytes);
      return readInto(source, offset, table).then(() => table);
    });
    this.#extentNodes = new BlockCache(source, this.#geo, MAP_BLOCK_CACHE_ENTRIES);
    this.#indirect = new BlockCache(source, this.#geo, MAP_BLOCK_CACHE_ENTRIES);
    for (const i of issues) this.#report(i);
  }

  /** Opens the filesystem: NotThisFormatError without the ext magic, typed errors when broken. */
  static async open(source: BlockSource): Promise<Ext4Reader> {
    if (source.size < SUPERBLOCK_OFFSET + SUPERBLOCK_BYTES) throw new NotThisFormatError(`${source.description}: too small for an ext2/3/4 superblock`);
    const raw = (await source.read(SUPERBLOCK_OFFSET, SUPERBLOCK_BYTES)).slice();
    if (!hasExtMagic(raw)) throw new NotThisFormatError(`${source.description}: no ext2/3/4 superblock magic`);
    const sb = parseSuperblock(raw, `${source.description} superblock`);
    const issues: Issue[] = [];
    const add = (i: Issue) => issues.push(i);
    let fsSeed: number | undefined;
    if (hasFeature(sb, 'roCompat', RO_COMPAT.metadataCsum)) {
      if (!usesCrc32c(sb)) {
        add({ severity: 'warning', code: 'ext4.csum-type', message: `unknown metadata checksum type ${sb.checksumType}: checksums not verified`, location: 'superblock' });
      } else {
        fsSeed = fsChecksumSeed(sb);
        if (superblockChecksum(raw) !== sb.checksum) add({ severity: 'warning', code: 'ext4.csum-superblock', message: 'superblock checksum mismatch', location: 'superblock' });
      }
    }
    if (hasFeature(sb, 'incompat', INCOMPAT.recover)) {
      add({ severity: 'warning', code: 'ext4.journal-needs-recovery', message: 'the journal needs recovery and was not replayed: recent metadata changes may be missing', location: 'superblock' });
    }
    if (sb.state.errors) add({ severity: 'warning', code: 'ext4.fs-errors', message: 'the filesystem is marked as having errors', location: 'superblock' });
    if (sb.blocksCount * sb.blockSize > source.size) {
      add({ severity: 'warning', code: 'ext4.truncated', message: `filesystem of ${sb.blocksCount * sb.blockSize} bytes on a ${source.size}-byte volume: reads past the end will fail`, location: 'superblock' });
    }
    const groups = await loadGroupTable(source, sb, fsSeed, add);
    const reader = new Ext4Reader(source, sb, groups, fsSeed, issues);
    const root = await reader.#entry(ROOT_INO);
    if (root.inode.type !== 'dir') throw new CorruptError(`root inode ${ROOT_INO} is not a directory`, { location: `inode ${ROOT_INO}` });
    return reader;
  }

  #report(issue: Issue): void {
    const key = `${issue.code}\0${issue.location ?? ''}`;
    if (this.#issueKeys.has(key)) return;
    if (this.#issueKeys.size >= MAX_ISSUES) {
      if (this.#droppedIssues++ === 0) this.issues.push({ severity: 'warning', code: 'ext4.issues-truncated', message: `more than ${MAX_ISSUES} issues: the rest are not listed` });
      return;
    }
    this.#issueKeys.add(key);
    this.issues.push(issue);
  }

  #issue(code: string, message: string, location: string, severity: Issue['severity'] = 'warning'): void {
    this.#report({ severity, code, message, location });
  }

  async #entry(ino: number): Promise<InodeEntry> {
    const hit = this.#inodes.get(ino);
    if (hit) {
      this.#inodes.delete(ino);
      this.#inodes.set(ino, hit);
      return hit;
    }
    const loc = inodeLocation(this.sb, this.#groups, ino);
    const chunk = await this.#chunks.get(loc.chunkKey);
    if (loc.offsetInChunk + this.sb.inodeSize > chunk.length) throw new CorruptError(`inode ${ino} is outside its inode table`, { location: `inode ${ino}` });
    const raw = chunk.slice(loc.offsetInChunk, loc.offsetInChunk + this.sb.inodeSize);
    const inode = parseInode(this.sb, ino, raw);
    let seed: number | undefined;
    if (this.#fsSeed !== undefined) {
      seed = inodeChecksumSeed(this.#fsSeed, ino, inode.generation);
      // e2fsprogs accepts an all-zero inode whatever its checksum field says.
      if (!inodeChecksumOk(seed, raw, inode.extraIsize) && !isAllZero(raw)) this.#issue('ext4.csum-inode', `inode ${ino} checksum mismatch`, `inode ${ino}`);
    }
    const entry: InodeEntry = { inode, seed };
    this.#inodes.set(ino, entry);
    if (this.#inodes.size > INODE_CACHE_ENTRIES) this.#inodes.delete(this.#inodes.keys().next().value as number);
    return entry;
  }

  #mapper(entry: InodeEntry): BlockMapper {
    if (entry.mapper) return entry.mapper;
    const { inode } = entry;
    if ((inode.flags & INODE_FLAGS.extents) !== 0) {
      entry.mapper = new ExtentMapper(inode.iBlock, this.#extentNodes, {
        geo: this.#geo,
        inodeSeed: entry.seed,
        ino: inode.ino,
        onIssue: (code, message, location) => this.#issue(code, message, location),
      });
    } else {
      entry.mapper = new IndirectMapper(inode.iBlock, this.#indirect, this.#geo, inode.ino);
    }
    return entry.mapper;
  }

  async stat(ino: InodeId): Promise<Stat> {
    return toStat((await this.#entry(ino)).inode);
  }

  #refuseProtected(inode: Ext4Inode, what: string): void {
    if ((inode.flags & INODE_FLAGS.encrypt) !== 0) {
      const msg = `inode ${inode.ino} is encrypted (fscrypt): its ${what} cannot be read without the key`;
      this.#issue('ext4.encrypted', msg, `inode ${inode.ino}`, 'error');
      throw new UnsupportedError(msg, { location: `inode ${inode.ino}` });
    }
    if (inode.type === 'dir' && (inode.flags & INODE_FLAGS.casefold) !== 0) {
      const msg = `directory inode ${inode.ino} is case-insensitive (casefold): not supported`;
      this.#issue('ext4.casefold', msg, `inode ${inode.ino}`, 'error');
      throw new UnsupportedError(msg, { location: `inode ${inode.ino}` });
    }
  }

  async readlink(ino: InodeId): Promise<string> {
    const entry = await this.#entry(ino);
    const { inode } = entry;
    if (inode.type !== 'symlink') throw new CorruptError(`inode ${ino} is not a symbolic link`, { location: `inode ${ino}` });
    if (inode.size > MAX_SYMLINK_BYTES) throw new CorruptError(`symbolic link inode ${ino} has a ${inode.size}-byte target (limit ${MAX_SYMLINK_BYTES})`, { location: `inode ${ino}` });
    this.#refuseProtected(inode, 'target');
    let bytes: Uint8Array;
    if (isFastSymlink(inode)) bytes = inode.iBlock.subarray(0, inode.size);
    else bytes = await this.#readRange(entry, 0, inode.size);
    return utf8.decode(bytes);
  }

  async read(ino: InodeId, offset: number, length: number): Promise<Uint8Array> {
    const entry = await this.#entry(ino);
    if (entry.inode.type === 'file') this.#refuseProtected(entry.inode, 'contents');
    return this.#readRange(entry, offset, length);
  }

  async readInto(ino: InodeId, offset: number, target: Uint8Array): Promise<number> {
    const entry = await this.#entry(ino);
    if (entry.inode.type === 'file') this.#refuseProtected(entry.inode, 'contents');
    return this.#readRangeInto(entry, offset, target);
  }

  /** Bytes [offset, offset + length) of an inode, clamped to its size. */
  async #readRange(entry: InodeEntry, offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(entry.inode.size, offset + length);
    if (!(offset >= 0) || end <= offset) return new Uint8Array(0);
    // #readRangeInto writes every byte (holes as zeros): no need to zero the buffer first.
    const out = unfilledBytes(end - offset);
    const n = await this.#readRangeInto(entry, offset, out);
    return n === out.length ? out : out.subarray(0, n);
  }

  /** #readRange into `target` (its first min(size - offset, target.length) bytes); the count written. */
  async #readRangeInto(entry: InodeEntry, offset: number, target: Uint8Array): Promise<number> {
    const { inode } = entry;
    const end = Math.min(inode.size, offset + target.length);
    if (!(offset >= 0) || end <= offset) return 0;
    // Device nodes, FIFOs and sockets have no data blocks (their i_block holds other things).
    if (inode.type !== 'file' && inode.type !== 'dir' && inode.type !== 'symlink') return 0;
    if (end - offset > MAX_READ_RANGE_BYTES) throw new BudgetError(`read of ${end - offset} bytes from inode ${inode.ino} exceeds ${MAX_READ_RANGE_BYTES}: read in pieces`, { location: `inode ${inode.ino}` });
    const out = target.subarray(0, end - offset);
    if ((inode.flags & INODE_FLAGS.inlineData) !== 0) {
      out.set(inlineFileBytes(inode).subarray(offset, end));
      return out.length;
    }
    const bs = this.sb.blockSize;
    const runs = await this.#mapper(entry).map(Math.floor(offset / bs), Math.floor((end - 1) / bs));
    await this.#fill(out, offset, runs);
    return out.length;
  }

  /**
   * Reads every run into `out` (which starts at file byte `base`); one source read per run
   * piece. Bytes no run covers (holes, unwritten extents) are set to zero.
   */
  async #fill(out: Uint8Array, base: number, runs: readonly BlockRun[]): Promise<void> {
    const bs = this.sb.blockSize;
    const end = base + out.length;
    const pieces: Array<{ phys: number; at: number; len: number }> = [];
    for (const r of runs) {
      const s = Math.max(r.lblk * bs, base);
      const e = Math.min((r.lblk + r.len) * bs, end);
      for (let p = s; p < e; p += MAX_SOURCE_READ_BYTES) {
        const n = Math.min(MAX_SOURCE_READ_BYTES, e - p);
        pieces.push({ phys: r.pblk * bs + (p - r.lblk * bs), at: p - base, len: n });
      }
    }
    pieces.sort((a, b) => a.at - b.at);
    let covered = 0;
    for (const p of pieces) {
      if (p.at > covered) out.fill(0, covered, p.at);
      covered = Math.max(covered, p.at + p.len);
    }
    if (covered < out.length) out.fill(0, covered);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < pieces.length) {
        const piece = pieces[next++]!;
        // Straight into the result: no intermediate buffer per piece.
        await readInto(this.#source, piece.phys, out.subarray(piece.at, piece.at + piece.len));
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, pieces.length) }, worker));
  }

  /** The volume that mapFile's source offsets refer to. */
  get dataSource(): BlockSource {
    return this.#source;
  }

  /**
   * The layout of a regular file (InodeReader.mapFile) from the same block mapper `read` uses:
   * written runs are 'data' at block × block size, holes and unwritten extents 'zero', the last
   * block clipped to i_size. Inline data and encrypted files have no plain layout: undefined.
   */
  async mapFile(ino: InodeId): Promise<FileExtent[] | undefined> {
    const entry = await this.#entry(ino);
    const { inode } = entry;
    if (inode.type !== 'file') return undefined;
    if ((inode.flags & (INODE_FLAGS.inlineData | INODE_FLAGS.encrypt)) !== 0) return undefined;
    const size = inode.size;
    if (size === 0) return [];
    const bs = this.sb.blockSize;
    const runs = await this.#mapper(entry).map(0, Math.ceil(size / bs) - 1);
    const out: FileExtent[] = [];
    let pos = 0;
    for (const r of runs) {
      const start = r.lblk * bs;
      const end = Math.min(size, (r.lblk + r.len) * bs);
      if (start < pos) throw new CorruptError(`inode ${ino}: block runs overlap at logical block ${r.lblk}`, { location: `inode ${ino}` });
      if (start > pos) out.push({ fileOffset: pos, length: start - pos, kind: 'zero' });
      out.push({ fileOffset: start, length: end - start, kind: 'data', sourceOffset: r.pblk * bs });
      pos = end;
    }
    if (pos < size) out.push({ fileOffset: pos, length: size - pos, kind: 'zero' });
    return out;
  }

  /** The written block runs of a whole file, symlink or directory (for tools and tests). */
  async blockRuns(ino: InodeId): Promise<BlockRun[]> {
    const entry = await this.#entry(ino);
    const { inode } = entry;
    if ((inode.flags & INODE_FLAGS.inlineData) !== 0 || isFastSymlink(inode) || inode.size === 0) return [];
    if (inode.type !== 'file' && inode.type !== 'dir' && inode.type !== 'symlink') return [];
    return this.#mapper(entry).map(0, Math.ceil(inode.size / this.sb.blockSize) - 1);
  }

  #dirSpec(entry: InodeEntry): DirSpec {
    return {
      ino: entry.inode.ino,
      blockSize: this.sb.blockSize,
      inodesCount: this.sb.inodesCount,
      hasFiletype: hasFeature(this.sb, 'incompat', INCOMPAT.filetype),
      csumSeed: entry.seed,
      onIssue: (code, message, location) => this.#issue(code, message, location),
    };
  }

  async #dirEntry(ino: InodeId): Promise<InodeEntry> {
    const entry = await this.#entry(ino);
    if (entry.inode.type !== 'dir') throw new CorruptError(`inode ${ino} is not a directory`, { location: `inode ${ino}` });
    this.#refuseProtected(entry.inode, 'entries');
    return entry;
  }

  #isIndexed(inode: Ext4Inode): boolean {
    return (inode.flags & INODE_FLAGS.index) !== 0 && (inode.flags & INODE_FLAGS.inlineData) === 0 && hasFeature(this.sb, 'compat', COMPAT.dirIndex);
  }

  /** Raw entries of a directory, block by block, without "." and "..". */
  async #rawEntries(entry: InodeEntry): Promise<RawEntry[]> {
    const { inode } = entry;
    const spec = this.#dirSpec(entry);
    const out: RawEntry[] = [];
    let budgetHit = false;
    const emit = (e: RawEntry) => {
      if (out.length >= MAX_DIR_ENTRIES) {
        budgetHit = true;
        return;
      }
      out.push(e);
    };
    if ((inode.flags & INODE_FLAGS.inlineData) !== 0) {
      const { regions } = inlineDirRegions(inode);
      regions.forEach((r, i) => parseEntries(r, spec, `directory inode ${inode.ino} inline area ${i}`, emit));
      return out;
    }
    if (inode.size > MAX_DIR_BYTES) throw new BudgetError(`directory inode ${inode.ino} is ${inode.size} bytes (limit ${MAX_DIR_BYTES})`, { location: `inode ${inode.ino}` });
    const bs = this.sb.blockSize;
    const nBlocks = Math.ceil(inode.size / bs);
    const indexed = this.#isIndexed(inode);
    const mapper = this.#mapper(entry);
    for (let first = 0; first < nBlocks && !budgetHit; first += DIR_BATCH_BLOCKS) {
      const last = Math.min(nBlocks, first + DIR_BATCH_BLOCKS) - 1;
      const runs = await mapper.map(first, last);
      if (runs.length === 0) continue;
      const buf = new Uint8Array((last - first + 1) * bs);
      await this.#fill(buf, first * bs, runs);
      for (const r of runs) {
        for (let l = r.lblk; l < r.lblk + r.len; l++) {
          const block = buf.subarray((l - first) * bs, (l - first + 1) * bs);
          const location = `directory inode ${inode.ino} block ${l}`;
          checkDirBlock(block, l, indexed, spec, location);
          parseEntries(block, spec, location, emit);
        }
      }
    }
    if (budgetHit) this.#issue('ext4.dir-budget', `directory inode ${inode.ino} has more than ${MAX_DIR_ENTRIES} entries: listing truncated`, `inode ${inode.ino}`, 'error');
    return out;
  }

  /**
   * Read-ahead for a walk, which stats every entry of a listing next and then lists its
   * subdirectories, one await at a time: start loading the entries' inode-table slices and the
   * first blocks of the first subdirectories concurrently. Failures are left to the real reads.
   */
  #prefetchInodes(raw: readonly RawEntry[]): void {
    const keys = new Set<number>();
    for (const r of raw) {
      try {
        keys.add(inodeLocation(this.sb, this.#groups, r.ino).chunkKey);
      } catch {
        // the entry's own stat reports it
      }
      if (keys.size >= PREFETCH_INODE_CHUNKS) break;
    }
    for (const k of keys) this.#chunks.get(k).catch(() => undefined);
    // Subdirectories are listed next: warm the source's cache with their first blocks.
    let dirs = 0;
    for (const r of raw) {
      if (r.type !== 'dir' || ++dirs > PREFETCH_DIRS) continue;
      this.#entry(r.ino)
        .then(async (e) => {
          if (e.inode.type !== 'dir' || (e.inode.flags & INODE_FLAGS.inlineData) !== 0 || e.inode.size === 0) return;
          const runs = await this.#mapper(e).map(0, Math.min(Math.ceil(e.inode.size / this.sb.blockSize), PREFETCH_DIR_BLOCKS) - 1);
          const first = runs[0];
          if (first) await this.#source.read(first.pblk * this.sb.blockSize, Math.min(first.len, PREFETCH_DIR_BLOCKS) * this.sb.blockSize);
        })
        .catch(() => undefined);
    }
  }

  async readdir(ino: InodeId): Promise<DirEntry[]> {
    const entry = await this.#dirEntry(ino);
    const raw = await this.#rawEntries(entry);
    this.#prefetchInodes(raw);
    return this.#toDirEntries(raw);
  }

  async #toDirEntries(raw: readonly RawEntry[]): Promise<DirEntry[]> {
    const out: DirEntry[] = new Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const r = raw[i]!;
      let type = r.type;
      if (type === 'unknown') {
        try {
          type = (await this.#entry(r.ino)).inode.type;
        } catch {
          // The walk's stat of this entry reports the broken inode with its path.
        }
      }
      out[i] = { name: decodeName(r.name), type, ino: r.ino };
    }
    return out;
  }

  /** Logical block `lblk` of a directory (htree index and leaf blocks). */
  async #dirBlock(entry: InodeEntry, lblk: number): Promise<Uint8Array> {
    const bs = this.sb.blockSize;
    const location = `directory inode ${entry.inode.ino} block ${lblk}`;
    if (lblk >= Math.ceil(entry.inode.size / bs)) throw new CorruptError(`htree points to block ${lblk} past the end of the directory`, { location });
    const runs = await this.#mapper(entry).map(lblk, lblk);
    if (runs.length === 0) throw new CorruptError(`htree points to a hole at block ${lblk}`, { location });
    const buf = new Uint8Array(bs);
    await this.#fill(buf, lblk * bs, runs);
    return buf;
  }

  async lookup(dirIno: InodeId, name: string): Promise<InodeId | undefined> {
    const entry = await this.#dirEntry(dirIno);
    const nameBytes = encoder.encode(name);
    if (nameBytes.length === 0 || nameBytes.length > MAX_NAME_BYTES) return undefined;
    const cached = this.#dirMaps.get(dirIno);
    if (cached) {
      this.#dirMaps.delete(dirIno);
      this.#dirMaps.set(dirIno, cached);
      return cached.get(name);
    }
    const indexed = this.#isIndexed(entry.inode);
    if (indexed) {
      try {
        const r = await htreeLookup(nameBytes, (lblk) => this.#dirBlock(entry, lblk), this.#dirSpec(entry), {
          hashSeed: this.sb.hashSeed,
          unsignedHash: (this.sb.flags & SB_FLAG_UNSIGNED_HASH) !== 0,
        });
        // A name that is not valid UTF-8 on disk is listed with U+FFFD and only a scan finds it.
        if (typeof r === 'number') return r;
        if (r === null && !name.includes('\uFFFD')) return undefined;
      } catch (err) {
        if (!(err instanceof CorruptError || err instanceof BudgetError)) throw err;
        this.#issue('ext4.htree', `${err.message}; falling back to a linear scan`, err.location ?? `inode ${dirIno}`);
      }
    }
    // A lookup lists without prefetching: resolving one path does not walk the directory.
    const entries = await this.#toDirEntries(await this.#rawEntries(entry));
    if (entries.length <= DIR_MAP_CACHE_MAX_ENTRIES && !indexed) {
      const map = new Map<string, number>();
      for (const e of entries) if (!map.has(e.name)) map.set(e.name, e.ino);
      this.#dirMaps.set(dirIno, map);
      if (this.#dirMaps.size > DIR_MAP_CACHE_DIRS) this.#dirMaps.delete(this.#dirMaps.keys().next().value as number);
      return map.get(name);
    }
    return entries.find((e) => e.name === name)?.ino;
  }

  /** Drops the caches; the source belongs to the caller (the volume), which closes it. */
  async close(): Promise<void> {
    this.#inodes.clear();
    this.#dirMaps.clear();
  }
}

/** Opens an ext2/3/4 filesystem; NotThisFormatError when the volume has no ext superblock magic. */
export async function openExt4(source: BlockSource): Promise<PathFileSystem> {
  return new PathFileSystem(await Ext4Reader.open(source));
}
