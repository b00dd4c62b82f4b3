import { FsPathError } from './errors.ts';
import {
  MAX_PATH_BYTES,
  MAX_READFILE_BYTES,
  MAX_SYMLINK_HOPS,
  type DirEntry,
  type FileSystem,
  type InodeId,
  type InodeReader,
  type OpenFile,
  type Stat,
} from './index.ts';

/** Directories whose name → inode maps are kept for repeated lookups. */
const LOOKUP_CACHE_DIRS = 512;
/** Larger directories are not cached as maps (the driver's own lookup serves them). */
const LOOKUP_CACHE_MAX_ENTRIES = 20_000;
/**
 * Names kept across all cached listings: a walk of a large tree lists every directory, and 512
 * directories of up to 20,000 names each would hold millions of names (~100 bytes each).
 */
const LOOKUP_CACHE_TOTAL_ENTRIES = 100_000;
const DEFAULT_STREAM_CHUNK_BYTES = 1024 * 1024;

interface Resolved {
  ino: InodeId;
  stat: Stat;
  /** Canonical in-image path (every symlink resolved). */
  path: string;
}

/**
 * A FileSystem over an InodeReader. All path semantics live here: resolution is done inside the
 * image, like Linux's namei with the image root as a chroot: an absolute symlink target starts
 * again at the image root, `..` at the root stays at the root, at most MAX_SYMLINK_HOPS links.
 */
export class PathFileSystem implements FileSystem {
  readonly reader: InodeReader;
  readonly #dirCache = new Map<InodeId, Map<string, InodeId>>();
  #dirCacheEntries = 0;

  constructor(reader: InodeReader) {
    this.reader = reader;
  }

  get type() {
    return this.reader.type;
  }
  get label() {
    return this.reader.label;
  }
  get uuid() {
    return this.reader.uuid;
  }
  get issues() {
    return this.reader.issues;
  }

  async stat(path: string): Promise<Stat> {
    return (await this.resolve(path, true)).stat;
  }

  async lstat(path: string): Promise<Stat> {
    return (await this.resolve(path, false)).stat;
  }

  async readdir(path: string): Promise<DirEntry[]> {
    const r = await this.resolve(path, true);
    if (r.stat.type !== 'dir') throw new FsPathError('ENOTDIR', path, 'not a directory');
    return this.readdirInode(r.ino);
  }

  /**
   * Lists a directory found by inode (the walk's read). The listing is kept as a name → inode
   * map for later path lookups in it: an inventory walks /var/lib/dpkg/info (hundreds of
   * entries, an htree) and then opens files in it by path, which would otherwise cost an htree
   * probe (two directory blocks and a name hash) per file.
   */
  async readdirInode(ino: InodeId): Promise<DirEntry[]> {
    const entries = await this.reader.readdir(ino);
    if (entries.length <= LOOKUP_CACHE_MAX_ENTRIES) this.#rememberListing(ino, entries);
    return entries;
  }

  async readFile(path: string, options: { maxBytes?: number } = {}): Promise<Uint8Array> {
    const r = await this.resolve(path, true);
    if (r.stat.type === 'dir') throw new FsPathError('EISDIR', path, 'is a directory');
    const max = options.maxBytes ?? MAX_READFILE_BYTES;
    if (r.stat.size > max) throw new FsPathError('EFBIG', path, `file of ${r.stat.size} bytes exceeds the ${max}-byte limit`);
    return this.reader.read(r.ino, 0, r.stat.size);
  }

  async readlink(path: string): Promise<string> {
    const r = await this.resolve(path, false);
    if (r.stat.type !== 'symlink') throw new FsPathError('EINVAL', path, 'not a symbolic link');
    return this.reader.readlink(r.ino);
  }

  async realpath(path: string): Promise<string> {
    return (await this.resolve(path, true)).path;
  }

  async open(path: string): Promise<OpenFile> {
    const r = await this.resolve(path, true);
    if (r.stat.type === 'dir') throw new FsPathError('EISDIR', path, 'is a directory');
    return this.openInode(r.ino, r.stat);
  }

  /** Opens an inode already found (by a walk) without resolving its path again. */
  openInode(ino: InodeId, stat: Stat): OpenFile {
    const reader = this.reader;
    const readInto = async (offset: number, target: Uint8Array): Promise<number> => {
      const n = Math.max(0, Math.min(stat.size - offset, target.length));
      if (n === 0) return 0;
      if (reader.readInto) return reader.readInto(ino, offset, target.subarray(0, n));
      const bytes = await reader.read(ino, offset, n);
      target.set(bytes);
      return bytes.length;
    };
    return {
      stat,
      read: (offset, length) => {
        const end = Math.min(stat.size, offset + length);
        return end <= offset ? Promise.resolve(new Uint8Array(0)) : reader.read(ino, offset, end - offset);
      },
      readInto,
      async *stream(options = {}) {
        const buffer = options.buffer;
        const chunk = Math.min(options.chunkBytes ?? buffer?.length ?? DEFAULT_STREAM_CHUNK_BYTES, buffer?.length ?? Infinity);
        if (!(chunk > 0)) throw new RangeError('stream: chunkBytes (or the buffer) must be at least 1 byte');
        for (let off = 0; off < stat.size; off += chunk) {
          const want = Math.min(chunk, stat.size - off);
          if (!buffer) {
            yield await reader.read(ino, off, want);
            continue;
          }
          const n = await readInto(off, buffer.subarray(0, want));
          yield buffer.subarray(0, n);
          if (n < want) return;
        }
      },
    };
  }

  close(): Promise<void> {
    return this.reader.close();
  }

  /** Resolves a path inside the image; `followLast` decides stat versus lstat. */
  async resolve(path: string, followLast: boolean): Promise<Resolved> {
    if (path.length > MAX_PATH_BYTES) throw new FsPathError('ENAMETOOLONG', path.slice(0, 64) + '…', 'path too long');
    const root = this.reader.rootIno;
    const stack: Array<{ ino: InodeId; name: string }> = [];
    let pending = splitPath(path);
    let hops = 0;
    let stat = await this.reader.stat(root);
    let ino = root;
    while (pending.length > 0) {
      const name = pending.shift()!;
      if (name === '..') {
        stack.pop();
        ino = stack.length ? stack[stack.length - 1]!.ino : root;
        stat = await this.reader.stat(ino);
        continue;
      }
      if (stat.type !== 'dir') throw new FsPathError('ENOTDIR', path, `${joinStack(stack)} is not a directory`);
      const child = await this.#lookup(ino, name);
      if (child === undefined) throw new FsPathError('ENOENT', path, 'no such file or directory');
      const childStat = await this.reader.stat(child);
      if (childStat.type === 'symlink' && (pending.length > 0 || followLast)) {
        if (++hops > MAX_SYMLINK_HOPS) throw new FsPathError('ELOOP', path, 'too many levels of symbolic links');
        const target = await this.reader.readlink(child);
        if (target.length === 0) throw new FsPathError('ENOENT', path, 'empty symbolic link');
        if (target.length > MAX_PATH_BYTES) throw new FsPathError('ENAMETOOLONG', path, 'symbolic link target too long');
        if (target.startsWith('/')) {
          stack.length = 0;
          ino = root;
          stat = await this.reader.stat(root);
        }
        pending = [...splitPath(target), ...pending];
        continue;
      }
      stack.push({ ino: child, name });
      ino = child;
      stat = childStat;
    }
    return { ino, stat, path: joinStack(stack) };
  }

  async #lookup(dir: InodeId, name: string): Promise<InodeId | undefined> {
    const cached = this.#dirCache.get(dir);
    if (cached) {
      this.#dirCache.delete(dir);
      this.#dirCache.set(dir, cached);
      return cached.get(name);
    }
    if (this.reader.lookup) return this.reader.lookup(dir, name);
    const entries = await this.reader.readdir(dir);
    if (entries.length <= LOOKUP_CACHE_MAX_ENTRIES) return this.#rememberListing(dir, entries).get(name);
    return entries.find((e) => e.name === name)?.ino;
  }

  /** Keeps a listing as a lookup map (LRU of LOOKUP_CACHE_DIRS). A name listed twice (a corrupt directory) resolves to its first entry, as a linear scan would. */
  #rememberListing(dir: InodeId, entries: readonly DirEntry[]): Map<string, InodeId> {
    const map = new Map<string, InodeId>();
    for (const e of entries) if (!map.has(e.name)) map.set(e.name, e.ino);
    const old = this.#dirCache.get(dir);
    if (old) {
      this.#dirCache.delete(dir);
      this.#dirCacheEntries -= old.size;
    }
    this.#dirCache.set(dir, map);
    this.#dirCacheEntries += map.size;
    while (this.#dirCache.size > LOOKUP_CACHE_DIRS || (this.#dirCacheEntries > LOOKUP_CACHE_TOTAL_ENTRIES && this.#dirCache.size > 1)) {
      const [oldest, evicted] = this.#dirCache.entries().next().value as [InodeId, Map<string, InodeId>];
      this.#dirCache.delete(oldest);
      this.#dirCacheEntries -= evicted.size;
    }
    return map;
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

function joinStack(stack: Array<{ name: string }>): string {
  return '/' + stack.map((s) => s.name).join('/');
}
