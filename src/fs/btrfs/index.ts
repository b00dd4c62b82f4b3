/**
 * A read-only btrfs reader (one device of a filesystem) over a BlockSource, at the inode level;
 * PathFileSystem adds in-image path resolution.
 *
 * Reference: btrfs on-disk format documentation (btrfs.readthedocs.io, "On-disk format") and
 * linux v6.6 fs/btrfs (disk-io.c, volumes.c, inode.c, dir-item.c, ioctl.c for subvolume paths),
 * include/uapi/linux/btrfs_tree.h. Modules: superblock.ts, chunk-map.ts, btree.ts, items.ts,
 * extents.ts, lzo.ts.
 *
 * Opening: the best superblock copy, the sys_chunk_array to reach the chunk tree, the chunk
 * tree for the full logical-to-physical map, then the root tree for every subvolume. `/` is the
 * default subvolume (the root tree's "default" dir item in dir 6, else FS_TREE 5); another
 * subvolume can be chosen with `options.subvolume`.
 *
 * Inode numbers: one FileSystem spans every subvolume (a subvolume's entry in its parent is
 * the subvolume's root directory), so an InodeId is `subvolumeId * 2^32 + objectId`, with
 * subvolume ids below 2^21 and object ids below 2^32: always below 2^53. See encodeIno().
 */
import { readInto, type BlockSource } from '../../disk/index.ts';
import { crc32cRaw } from '../../util/crc32.ts';
import { BudgetError, CorruptError, UnsupportedError, UsageError } from '../../util/errors.ts';
import type { Issue } from '../../util/issues.ts';
import type { DirEntry, InodeId, InodeReader, Stat } from '../index.ts';
import { MAX_PATH_BYTES } from '../index.ts';
import { PathFileSystem } from '../path-fs.ts';
import { BtreeReader, formatKey, U64_MAX, type Item, type TreeRoot } from './btree.ts';
import { CHUNK_ITEM_KEY, ChunkMap, isReadableProfile, parseChunkItem, sysChunks, type Chunk, type PhysicalRun } from './chunk-map.ts';
import { checkExtents, decompressExtent, MAX_COMPRESSED_EXTENT_BYTES, planRead } from './extents.ts';
import {
  decodeRdev,
  DIR_INDEX_KEY,
  DIR_ITEM_KEY,
  EXTENT_DATA_KEY,
  INODE_ITEM_KEY,
  INODE_REF_KEY,
  parseDirItems,
  parseFileExtent,
  parseInodeItem,
  parseInodeRefs,
  parseRootItem,
  parseRootRef,
  ROOT_BACKREF_KEY,
  ROOT_ITEM_KEY,
  ROOT_SUBVOL_RDONLY,
  type FileExtent,
  type InodeItem,
  type RootItem,
} from './items.ts';
import { readSuperblock, type Superblock } from './superblock.ts';
import { WeightedLru } from '../../util/lru.ts';

/** Tree ids (BTRFS_*_OBJECTID). */
const ROOT_TREE_OBJECTID = 1n;
const CHUNK_TREE_OBJECTID = 3n;
const ROOT_TREE_DIR_OBJECTID = 6n;
export const FS_TREE_OBJECTID = 5;
const FIRST_CHUNK_TREE_OBJECTID = 256n;
const FIRST_FREE_OBJECTID = 256n;
/** BTRFS_LAST_FREE_OBJECTID (-256 as u64): higher object ids are special trees. */
const LAST_FREE_OBJECTID = U64_MAX - 255n;
/** BTRFS_EMPTY_SUBVOL_DIR_OBJECTID: the kernel's placeholder for a subvolume not linked here. */
const EMPTY_SUBVOL_DIR_OBJECTID = 2;

/** InodeId = subvolume id * OBJECTID_LIMIT + object id; both limits keep it below 2^53. */
export const OBJECTID_LIMIT = 2 ** 32;
export const SUBVOLUME_ID_LIMIT = 2 ** 21;
/** Subvolumes listed (snapper keeps tens to hundreds; 100k is a pathological image). */
export const MAX_SUBVOLUMES = 100_000;
/** Path components walked up from a directory to its subvolume root (PATH_MAX / 2). */
export const MAX_PATH_DEPTH = 2048;
/** Most entries one directory may list. */
export const MAX_DIR_ENTRIES = 10_000_000;
/** Most extents one file may have (a 128 GiB file of 128 KiB compressed extents). */
export const MAX_FILE_EXTENTS = 1 << 20;
/** Most chunks read from the chunk tree. */
export const MAX_CHUNK_ITEMS = 1 << 20;
/** Items of the root tree looked at while listing subvolumes. */
export const MAX_ROOT_TREE_ITEMS = 4_000_000;
/** ROOT_ITEMs of one tree id (one per snapshot generation at most; normally one). */
const MAX_ROOT_ITEMS_PER_TREE = 1024;
/** Issues kept per filesystem. */
const MAX_ISSUES = 1000;
/** Largest single source read; larger logical ranges are split. */
const SOURCE_READ_BYTES = 16 * 1024 * 1024;
/** Source reads in flight for one file read. */
const READ_CONCURRENCY = 8;
const INODE_CACHE = 100_000;
const EXTENT_CACHE_RECORDS = 200_000;
const DIR_CACHE_ENTRIES = 1_000_000;
/** Decompressed extents kept (each at most 128 KiB: 32 MiB). */
const DECOMPRESSED_CACHE = 256;

export interface BtrfsSubvolume {
  id: number;
  /** Path from the top-level subvolume (FS_TREE 5), as `btrfs subvolume list` prints it. */
  path: string;
  /** The subvolume it lives in ("top level" in `btrfs subvolume list`). */
  parentId: number;
  readOnly: boolean;
}

export interface BtrfsOpenOptions {
  /** Subvolume id to expose as `/` (default: the filesystem's default subvolume). */
  subvolume?: number;
}

/** Encodes (subvolume id, object id) into one InodeId. */
export function encodeIno(subvolumeId: number, objectId: number | bigint): InodeId {
  const obj = Number(objectId);
  if (subvolumeId < 0 || subvolumeId >= SUBVOLUME_ID_LIMIT) throw new UnsupportedError(`btrfs subvolume id ${subvolumeId} is above ${SUBVOLUME_ID_LIMIT - 1}`, { location: `subvolume ${subvolumeId}` });
  if (typeof objectId === 'bigint' ? objectId >= BigInt(OBJECTID_LIMIT) : obj >= OBJECTID_LIMIT) {
    throw new UnsupportedError(`btrfs object id ${objectId} is above ${OBJECTID_LIMIT - 1}`, { location: `subvolume ${subvolumeId} inode ${objectId}` });
  }
  return subvolumeId * OBJECTID_LIMIT + obj;
}

export function decodeIno(ino: InodeId): { subvolumeId: number; objectId: number } {
  return { subvolumeId: Math.floor(ino / OBJECTID_LIMIT), objectId: ino % OBJECTID_LIMIT };
}

/** The DIR_ITEM key offset of a name: btrfs_name_hash, the kernel's crc32c(~1, name) (no final inversion). */
export function btrfsNameHash(name: Uint8Array): number {
  return crc32cRaw(0xfffffffe, name);
}

interface SubvolRoot extends TreeRoot {
  rootDirid: bigint;
  flags: bigint;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class BtrfsReader implements InodeReader {
  readonly type = 'btrfs' as const;
  readonly label: string | undefined;
  readonly uuid: string | undefined;
  readonly issues: Issue[] = [];
  rootIno: InodeId = 0;
  readonly sb: Superblock;
  /** Every subvolume except the top level (FS_TREE 5), sorted by id. */
  subvolumes: BtrfsSubvolume[] = [];
  /** The filesystem's default subvolume (what a plain mount shows). */
  defaultSubvolume = FS_TREE_OBJECTID;
  readonly #source: BlockSource;
  #chunks: ChunkMap;
  readonly #tree: BtreeReader;
  readonly #rootTree: TreeRoot;
  readonly #roots = new Map<number, Promise<SubvolRoot>>();
  /** Subvolume id -> (parent id, dir id in the parent), from the ROOT_BACKREFs. */
  readonly #backrefs = new Map<number, { parent: number; dirid: bigint }>();
  /** Ids of the subvolumes listed (a root item and a back reference each). */
  readonly #listed = new Set<number>();
  /** Subvolume id -> its name in the parent directory. */
  readonly #names = new Map<number, string>();
  readonly #inodes = new WeightedLru<number, InodeItem>(INODE_CACHE);
  readonly #extents = new WeightedLru<number, FileExtent[]>(EXTENT_CACHE_RECORDS);
  readonly #dirs = new WeightedLru<number, DirEntry[]>(DIR_CACHE_ENTRIES);
  readonly #inflated = new WeightedLru<number, Promise<Uint8Array>>(DECOMPRESSED_CACHE);
  readonly #issueKeys = new Set<string>();

  constructor(source: BlockSource, sb: Superblock, issues: Issue[]) {
    this.#source = source;
    this.sb = sb;
    this.label = sb.label === '' ? undefined : sb.label;
    this.uuid = sb.uuid;
    for (const i of issues) this.report(i);
    this.#chunks = new ChunkMap(sysChunks(sb), sb.devid);
    this.#tree = new BtreeReader(sb, { readLogical: (l, n) => this.readLogical(l, n), report: (i) => this.report(i) });
    this.#rootTree = { id: ROOT_TREE_OBJECTID, bytenr: sb.root, level: sb.rootLevel };
    if (sb.numDevices > 1) {
      this.report({ severity: 'warning', code: 'btrfs.multi-device', message: `filesystem spans ${sb.numDevices} devices; only device ${sb.devid} is read, chunks without a copy here are unreadable`, location: source.description });
    }
    if (sb.logRoot !== 0) {
      this.report({ severity: 'warning', code: 'btrfs.log-tree', message: 'the filesystem has an unreplayed log tree (it was not cleanly unmounted): the last fsync()ed changes are not visible', location: `log root at logical ${sb.logRoot}` });
    }
    if (source.size < sb.totalBytes && sb.numDevices === 1) {
      this.report({ severity: 'warning', code: 'btrfs.truncated', message: `volume of ${source.size} bytes is smaller than the ${sb.totalBytes}-byte filesystem`, location: source.description });
    }
  }

  /** Records an issue once per (code, location), up to MAX_ISSUES. */
  report(issue: Issue): void {
    const key = `${issue.code}\0${issue.location ?? ''}`;
    if (this.#issueKeys.has(key)) return;
    this.#issueKeys.add(key);
    if (this.issues.length < MAX_ISSUES) this.issues.push(issue);
    else if (this.issues.length === MAX_ISSUES) this.issues.push({ severity: 'warning', code: 'btrfs.issues-truncated', message: `more than ${MAX_ISSUES} issues; the rest are not listed` });
  }

  /** Reads a logical range through the chunk map; addresses past the volume are CorruptError. */
  async readLogical(logical: number, length: number): Promise<Uint8Array> {
    const runs = this.#physicalRuns(logical, length);
    if (runs.length === 1 && runs[0]!.bytes <= SOURCE_READ_BYTES) return this.#source.read(runs[0]!.physical, runs[0]!.bytes);
    const out = new Uint8Array(length);
    await this.#readRunsInto(runs, out);
    return out;
  }

  /** readLogical into `target` (logical [logical, logical + target.length)), straight from the volume. */
  async readLogicalInto(logical: number, target: Uint8Array): Promise<void> {
    await this.#readRunsInto(this.#physicalRuns(logical, target.length), target);
  }

  /** The chunk map's runs for a logical range, each checked to lie on the volume. */
  #physicalRuns(logical: number, length: number): PhysicalRun[] {
    const runs = this.#chunks.map(logical, length);
    for (const r of runs) {
      if (r.physical + r.bytes > this.#source.size) throw new CorruptError(`btrfs logical ${logical} maps to physical ${r.physical}, past the end of the ${this.#source.size}-byte volume`, { location: `logical ${logical}` });
    }
    return runs;
  }

  /** Reads the runs back to back into `target`, at most SOURCE_READ_BYTES per source read. */
  async #readRunsInto(runs: PhysicalRun[], target: Uint8Array): Promise<void> {
    let at = 0;
    for (const r of runs) {
      for (let done = 0; done < r.bytes; done += SOURCE_READ_BYTES) {
        const n = Math.min(SOURCE_READ_BYTES, r.bytes - done);
        await readInto(this.#source, r.physical + done, target.subarray(at, at + n));
        at += n;
      }
    }
  }

  /** Replaces the bootstrap map with every chunk of the chunk tree. */
  async loadChunkTree(): Promise<void> {
    const root: TreeRoot = { id: CHUNK_TREE_OBJECTID, bytenr: this.sb.chunkRoot, level: this.sb.chunkRootLevel };
    const chunks: Chunk[] = [];
    for await (const item of this.#tree.range(root, { objectid: FIRST_CHUNK_TREE_OBJECTID, type: CHUNK_ITEM_KEY, offset: 0n }, { objectid: FIRST_CHUNK_TREE_OBJECTID, type: CHUNK_ITEM_KEY, offset: U64_MAX })) {
      if (chunks.length >= MAX_CHUNK_ITEMS) throw new BudgetError(`btrfs chunk tree has more than ${MAX_CHUNK_ITEMS} chunks`, { location: 'chunk tree' });
      const location = `chunk item ${formatKey(item.key)} in leaf ${item.leaf}`;
      if (item.key.offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptError(`btrfs chunk logical ${item.key.offset} out of range`, { location });
      chunks.push(parseChunkItem(item.data, Number(item.key.offset), location).chunk);
    }
    if (chunks.length === 0) throw new CorruptError('btrfs chunk tree has no chunks', { location: 'chunk tree' });
    this.#chunks = new ChunkMap(chunks, this.sb.devid);
    for (const c of chunks) {
      if (!isReadableProfile(c.profile)) {
        this.report({ severity: 'error', code: 'btrfs.profile-unsupported', message: `${c.profile} chunk is not read (its data is spread over several devices)`, location: `chunk at logical ${c.logical}` });
      }
    }
  }

  get chunkMap(): ChunkMap {
    return this.#chunks;
  }

  /** Lists subvolumes from the root tree and picks `/`. */
  async loadSubvolumes(options: BtrfsOpenOptions): Promise<void> {
    const rootItems = new Map<number, RootItem>();
    let steps = 0;
    for await (const item of this.#tree.range(this.#rootTree, { objectid: FIRST_FREE_OBJECTID, type: 0, offset: 0n }, { objectid: LAST_FREE_OBJECTID, type: 255, offset: U64_MAX })) {
      if (++steps > MAX_ROOT_TREE_ITEMS) throw new BudgetError(`btrfs root tree has more than ${MAX_ROOT_TREE_ITEMS} items`, { location: 'root tree' });
      const id = Number(item.key.objectid);
      const location = `root tree item ${formatKey(item.key)}`;
      try {
        if (item.key.type === ROOT_ITEM_KEY) rootItems.set(id, parseRootItem(item.data, location));
        else if (item.key.type === ROOT_BACKREF_KEY) {
          const ref = parseRootRef(item.data, location);
          this.#backrefs.set(id, { parent: Number(item.key.offset), dirid: ref.dirid });
          this.#names.set(id, utf8.decode(ref.name));
        }
      } catch (err) {
        if (!(err instanceof CorruptError)) throw err;
        this.report({ severity: 'error', code: 'btrfs.root-item', message: err.message, location });
      }
    }
    const subvols: BtrfsSubvolume[] = [];
    for (const [id, ref] of this.#backrefs) {
      if (subvols.length >= MAX_SUBVOLUMES) throw new BudgetError(`btrfs: more than ${MAX_SUBVOLUMES} subvolumes`, { location: 'root tree' });
      const root = rootItems.get(id);
      if (!root) continue;
      try {
        subvols.push({ id, path: await this.#subvolPath(id), parentId: ref.parent, readOnly: (root.flags & ROOT_SUBVOL_RDONLY) !== 0n });
      } catch (err) {
        if (!(err instanceof CorruptError || err instanceof BudgetError || err instanceof UnsupportedError)) throw err;
        this.report({ severity: 'error', code: 'btrfs.subvolume-path', message: err.message, location: `subvolume ${id}` });
      }
    }
    this.subvolumes = subvols.sort((a, b) => a.id - b.id);
    for (const sv of this.subvolumes) this.#listed.add(sv.id);
    this.defaultSubvolume = await this.#findDefault();
    const chosen = options.subvolume ?? this.defaultSubvolume;
    if (chosen !== FS_TREE_OBJECTID && !this.#listed.has(chosen)) {
      throw new UsageError(`btrfs: no subvolume ${chosen} (subvolumes: ${[FS_TREE_OBJECTID, ...this.#listed].join(', ')})`, { location: `subvolume ${chosen}` });
    }
    const root = await this.subvolumeRoot(chosen);
    this.rootIno = encodeIno(chosen, root.rootDirid);
  }

  /** `btrfs subvolume list` paths: the parent's path, the directory inside it, the name. */
  async #subvolPath(id: number): Promise<string> {
    const parts: string[] = [];
    let cur = id;
    for (let depth = 0; cur !== FS_TREE_OBJECTID; depth++) {
      if (depth > MAX_PATH_DEPTH) throw new CorruptError(`btrfs subvolume ${id}: parent chain longer than ${MAX_PATH_DEPTH} (a cycle?)`, { location: `subvolume ${id}` });
      const ref = this.#backrefs.get(cur);
      if (!ref) throw new CorruptError(`btrfs subvolume ${cur} has no back reference`, { location: `subvolume ${cur}` });
      parts.unshift(this.#names.get(cur)!);
      const dirs = await this.#dirPath(ref.parent, ref.dirid);
      parts.unshift(...dirs);
      cur = ref.parent;
    }
    return parts.join('/');
  }

  /** Names from the subvolume's root directory down to `dirid`, via INODE_REF items. */
  async #dirPath(subvol: number, dirid: bigint): Promise<string[]> {
    const root = await this.subvolumeRoot(subvol);
    const names: string[] = [];
    let cur = dirid;
    for (let depth = 0; cur !== root.rootDirid; depth++) {
      if (depth > MAX_PATH_DEPTH) throw new CorruptError(`btrfs directory ${dirid} in subvolume ${subvol}: deeper than ${MAX_PATH_DEPTH}`, { location: `subvolume ${subvol} inode ${dirid}` });
      const refs = await this.#tree.collect(root, cur, INODE_REF_KEY, 1, `directory ${cur} inode ref`);
      const ref = refs[0];
      if (!ref) throw new CorruptError(`btrfs directory ${cur} in subvolume ${subvol} has no inode ref`, { location: `subvolume ${subvol} inode ${cur}` });
      const first = parseInodeRefs(ref.data, `subvolume ${subvol} inode ${cur}`)[0]!;
      names.unshift(utf8.decode(first.name));
      cur = ref.key.offset;
    }
    return names;
  }

  /** The root tree's "default" entry in dir 6 (set by `btrfs subvolume set-default`), else 5. */
  async #findDefault(): Promise<number> {
    const name = new TextEncoder().encode('default');
    const item = await this.#tree.find(this.#rootTree, { objectid: ROOT_TREE_DIR_OBJECTID, type: DIR_ITEM_KEY, offset: BigInt(btrfsNameHash(name)) });
    if (!item) return FS_TREE_OBJECTID;
    const location = 'root tree dir item "default"';
    const entry = parseDirItems(item.data, location).find((e) => Buffer.from(e.name).equals(name));
    if (!entry || entry.location.type !== ROOT_ITEM_KEY) return FS_TREE_OBJECTID;
    const id = Number(entry.location.objectid);
    if (id !== FS_TREE_OBJECTID && !this.subvolumes.some((s) => s.id === id)) {
      this.report({ severity: 'error', code: 'btrfs.default-subvolume', message: `the default subvolume ${id} does not exist; using the top level`, location });
      return FS_TREE_OBJECTID;
    }
    return id;
  }

  /** A subvolume's tree: its newest ROOT_ITEM. */
  subvolumeRoot(id: number): Promise<SubvolRoot> {
    let p = this.#roots.get(id);
    if (!p) {
      p = this.#loadRoot(id);
      this.#roots.set(id, p);
    }
    return p;
  }

  async #loadRoot(id: number): Promise<SubvolRoot> {
    // Ids reach here from on-disk references (or a checked option): a missing one is corruption.
    if (id !== FS_TREE_OBJECTID && (id < Number(FIRST_FREE_OBJECTID) || id >= SUBVOLUME_ID_LIMIT)) throw new CorruptError(`btrfs: ${id} is not a subvolume id`, { location: `subvolume ${id}` });
    const items = await this.#tree.collect(this.#rootTree, BigInt(id), ROOT_ITEM_KEY, MAX_ROOT_ITEMS_PER_TREE, `subvolume ${id} root items`);
    const item = items[items.length - 1];
    if (!item) throw new CorruptError(`btrfs: subvolume ${id} has no root item`, { location: `subvolume ${id}` });
    const r = parseRootItem(item.data, `root item ${formatKey(item.key)}`);
    return { id: BigInt(id), bytenr: r.bytenr, level: r.level, rootDirid: r.rootDirid, flags: r.flags };
  }

  async #inode(ino: InodeId): Promise<InodeItem> {
    const cached = this.#inodes.get(ino);
    if (cached) return cached;
    const { subvolumeId, objectId } = decodeIno(ino);
    const location = `subvolume ${subvolumeId} inode ${objectId}`;
    let inode: InodeItem;
    if (objectId === EMPTY_SUBVOL_DIR_OBJECTID) {
      // The kernel's new_simple_dir(): an empty, read-only-looking directory.
      inode = { size: 0, nbytes: 0, nlink: 1, uid: 0, gid: 0, mode: 0o40755, type: 'dir', rdev: 0, flags: 0n, atimeMs: 0, ctimeMs: 0, mtimeMs: 0 };
    } else {
      const root = await this.subvolumeRoot(subvolumeId);
      const item = await this.#tree.find(root, { objectid: BigInt(objectId), type: INODE_ITEM_KEY, offset: 0n });
      if (!item) throw new CorruptError(`btrfs inode ${objectId} not found in subvolume ${subvolumeId}`, { location });
      inode = parseInodeItem(item.data, location);
    }
    this.#inodes.set(ino, inode);
    return inode;
  }

  async stat(ino: InodeId): Promise<Stat> {
    const i = await this.#inode(ino);
    const st: Stat = { type: i.type, mode: i.mode & 0o7777, uid: i.uid, gid: i.gid, size: i.size, nlink: i.nlink, ino, mtimeMs: i.mtimeMs, ctimeMs: i.ctimeMs, atimeMs: i.atimeMs };
    if (i.type === 'chardev' || i.type === 'blockdev') st.rdev = decodeRdev(i.rdev);
    return st;
  }

  /** Where a directory entry leads: an inode of this subvolume, or another subvolume's root. */
  async #entryIno(subvol: number, dirObj: bigint, loc: { objectid: bigint; type: number }): Promise<InodeId> {
    if (loc.type === INODE_ITEM_KEY) return encodeIno(subvol, loc.objectid);
    if (loc.type !== ROOT_ITEM_KEY) throw new CorruptError(`btrfs dir entry points at key type ${loc.type}`, { location: `subvolume ${subvol} inode ${dirObj}` });
    const child = Number(loc.objectid);
    const ref = this.#backrefs.get(child);
    // A listed subvolume linked here; otherwise (inside a snapshot, which does not carry nested
    // subvolumes, or a deleted one) the kernel shows an empty placeholder directory.
    if (ref && ref.parent === subvol && ref.dirid === dirObj && this.#listed.has(child)) return encodeIno(child, (await this.subvolumeRoot(child)).rootDirid);
    return encodeIno(subvol, EMPTY_SUBVOL_DIR_OBJECTID);
  }

  async readdir(ino: InodeId): Promise<DirEntry[]> {
    const cached = this.#dirs.get(ino);
    if (cached) return cached;
    const inode = await this.#inode(ino);
    if (inode.type !== 'dir') throw new UsageError(`btrfs inode ${ino} is not a directory`, { location: `inode ${ino}` });
    const { subvolumeId, objectId } = decodeIno(ino);
    const entries: DirEntry[] = [];
    if (objectId !== EMPTY_SUBVOL_DIR_OBJECTID) {
      const root = await this.subvolumeRoot(subvolumeId);
      const dirObj = BigInt(objectId);
      for await (const item of this.#tree.range(root, { objectid: dirObj, type: DIR_INDEX_KEY, offset: 0n }, { objectid: dirObj, type: DIR_INDEX_KEY, offset: U64_MAX })) {
        if (entries.length >= MAX_DIR_ENTRIES) throw new BudgetError(`btrfs directory has more than ${MAX_DIR_ENTRIES} entries`, { location: `subvolume ${subvolumeId} inode ${objectId}` });
        const location = `subvolume ${subvolumeId} dir index ${formatKey(item.key)}`;
        try {
          for (const e of parseDirItems(item.data, location)) {
            entries.push({ name: utf8.decode(e.name), type: e.type, ino: await this.#entryIno(subvolumeId, dirObj, e.location) });
          }
        } catch (err) {
          if (!(err instanceof CorruptError || err instanceof UnsupportedError)) throw err;
          this.report({ severity: 'error', code: 'btrfs.dir-entry', message: err.message, location });
        }
      }
    }
    this.#dirs.set(ino, entries, Math.max(1, entries.length));
    return entries;
  }

  async lookup(dirIno: InodeId, name: string): Promise<InodeId | undefined> {
    const { subvolumeId, objectId } = decodeIno(dirIno);
    if (objectId === EMPTY_SUBVOL_DIR_OBJECTID) return undefined;
    // A name that was not valid UTF-8 cannot be hashed back: scan the listing instead.
    if (name.includes('\uFFFD')) return (await this.readdir(dirIno)).find((e) => e.name === name)?.ino;
    const bytes = new TextEncoder().encode(name);
    const root = await this.subvolumeRoot(subvolumeId);
    const item = await this.#tree.find(root, { objectid: BigInt(objectId), type: DIR_ITEM_KEY, offset: BigInt(btrfsNameHash(bytes)) });
    if (!item) return undefined;
    const entry = parseDirItems(item.data, `subvolume ${subvolumeId} dir item ${formatKey(item.key)}`).find((e) => Buffer.from(e.name).equals(bytes));
    return entry ? this.#entryIno(subvolumeId, BigInt(objectId), entry.location) : undefined;
  }

  async readlink(ino: InodeId): Promise<string> {
    const inode = await this.#inode(ino);
    if (inode.type !== 'symlink') throw new UsageError(`btrfs inode ${ino} is not a symbolic link`, { location: `inode ${ino}` });
    if (inode.size > MAX_PATH_BYTES) throw new CorruptError(`btrfs symlink of ${inode.size} bytes exceeds ${MAX_PATH_BYTES}`, { location: `inode ${ino}` });
    const bytes = await this.read(ino, 0, inode.size);
    // The kernel hands the link on as a C string: readlink(2) copies strlen(link) bytes
    // (readlink_copy, fs/namei.c) and path walks stop at the first NUL too, so a target whose
    // data was zeroed reads as '' and a NUL inside one cuts it there.
    const nul = bytes.indexOf(0);
    return utf8.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
  }

  /** A file's extents, sorted and checked. */
  async #fileExtents(ino: InodeId): Promise<FileExtent[]> {
    const cached = this.#extents.get(ino);
    if (cached) return cached;
    const { subvolumeId, objectId } = decodeIno(ino);
    const location = `subvolume ${subvolumeId} inode ${objectId} extents`;
    const root = await this.subvolumeRoot(subvolumeId);
    const items: Item[] = await this.#tree.collect(root, BigInt(objectId), EXTENT_DATA_KEY, MAX_FILE_EXTENTS, `inode ${objectId} extents`);
    const list = items.map((i) => parseFileExtent(i, `${location} ${formatKey(i.key)}`));
    checkExtents(list, location);
    this.#extents.set(ino, list, Math.max(1, list.length));
    return list;
  }

  async #decompressed(e: FileExtent, location: string): Promise<Uint8Array> {
    if (e.kind === 'inline') return decompressExtent(e.compression, e.inline!, e.ramBytes, this.sb.sectorSize, location);
    // Keyed by disk address: reflinked and snapshotted files share the extent and its bytes.
    let p = this.#inflated.get(e.diskBytenr);
    if (p && (await p.catch(() => undefined))?.length !== e.ramBytes) p = undefined;
    if (!p) {
      p = (async () => {
        if (e.diskNumBytes > MAX_COMPRESSED_EXTENT_BYTES) throw new CorruptError(`btrfs compressed extent of ${e.diskNumBytes} bytes on disk (limit ${MAX_COMPRESSED_EXTENT_BYTES})`, { location });
        return decompressExtent(e.compression, await this.readLogical(e.diskBytenr, e.diskNumBytes), e.ramBytes, this.sb.sectorSize, location);
      })();
      this.#inflated.set(e.diskBytenr, p);
      p.catch(() => this.#inflated.delete(e.diskBytenr));
    }
    return p;
  }

  async read(ino: InodeId, offset: number, length: number): Promise<Uint8Array> {
    const inode = await this.#inode(ino);
    const end = Math.min(inode.size, offset + length);
    if (end <= offset || inode.type === 'dir') return new Uint8Array(0);
    const out = new Uint8Array(end - offset);
    await this.#readIntoInode(ino, offset, out);
    return out;
  }

  async readInto(ino: InodeId, offset: number, target: Uint8Array): Promise<number> {
    const inode = await this.#inode(ino);
    const end = Math.min(inode.size, offset + target.length);
    if (end <= offset || inode.type === 'dir') return 0;
    const out = target.subarray(0, end - offset);
    // Bytes no extent covers (holes, a file's tail past its last extent) read as zeros.
    out.fill(0);
    await this.#readIntoInode(ino, offset, out);
    return out.length;
  }

  /** Fills `out` (zeroed) with file bytes [offset, offset + out.length), which lie within the size. */
  async #readIntoInode(ino: InodeId, offset: number, out: Uint8Array): Promise<void> {
    const { subvolumeId, objectId } = decodeIno(ino);
    const location = `subvolume ${subvolumeId} inode ${objectId}`;
    const pieces = planRead(await this.#fileExtents(ino), offset, offset + out.length);
    for (let i = 0; i < pieces.length; i += READ_CONCURRENCY) {
      const batch = pieces.slice(i, i + READ_CONCURRENCY);
      await Promise.all(
        batch.map(async (p) => {
          const e = p.extent;
          if (e.compression === 'none' && e.kind === 'inline') {
            out.set(e.inline!.subarray(p.within, p.within + p.bytes), p.at);
          } else if (e.compression === 'none') {
            await this.readLogicalInto(e.diskBytenr + p.within, out.subarray(p.at, p.at + p.bytes));
          } else {
            const data = await this.#decompressed(e, `${location} extent at ${e.fileOffset}`);
            out.set(data.subarray(p.within, p.within + p.bytes), p.at);
          }
        }),
      );
    }
  }

  async close(): Promise<void> {}
}

/** Opens a btrfs filesystem; NotThisFormatError when the primary superblock has no btrfs magic. */
export async function openBtrfs(source: BlockSource, options: BtrfsOpenOptions = {}): Promise<PathFileSystem> {
  const { sb, issues } = await readSuperblock(source);
  const reader = new BtrfsReader(source, sb, issues);
  await reader.loadChunkTree();
  await reader.loadSubvolumes(options);
  return new PathFileSystem(reader);
}
