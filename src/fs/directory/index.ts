/**
 * A host directory (a mounted or extracted node root) as an InodeReader, so the same analyzers
 * run on it as on a disk image. Every host call uses lstat / O_NOFOLLOW on a path built only from
 * components that PathFileSystem has already resolved inside the tree, so a symlink in the tree
 * (`etc/passwd -> /etc/shadow`) resolves against the tree's root, never the host's.
 */
import { constants } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Issue } from '../../util/issues.ts';
import { SourceError } from '../../util/errors.ts';
import type { DirEntry, FileType, InodeId, InodeReader, Stat } from '../index.ts';
import { PathFileSystem } from '../path-fs.ts';
import type { Dirent, Stats } from 'node:fs';

/** Inode ids are handed out per host path; this bounds the table a huge tree can grow. */
const MAX_DIRECTORY_INODES = 10_000_000;

/** The FileType of a host lstat result or directory entry (both carry the same is* tests). */
export function hostFileType(s: Stats | Dirent): FileType {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'dir';
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isCharacterDevice()) return 'chardev';
  if (s.isBlockDevice()) return 'blockdev';
  if (s.isFIFO()) return 'fifo';
  if (s.isSocket()) return 'socket';
  return 'unknown';
}

export class DirectoryReader implements InodeReader {
  readonly type = 'directory' as const;
  readonly label = undefined;
  readonly uuid = undefined;
  readonly issues: Issue[] = [];
  readonly rootIno: InodeId = 1;
  readonly #paths: string[] = ['', ''];
  readonly #ids = new Map<string, InodeId>();
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
    this.#ids.set('', 1);
  }

  #hostPath(ino: InodeId): string {
    const rel = this.#paths[ino];
    if (rel === undefined) throw new SourceError(`directory reader: unknown inode ${ino}`);
    return join(this.#root, rel);
  }

  #idFor(rel: string): InodeId {
    let id = this.#ids.get(rel);
    if (id === undefined) {
      if (this.#paths.length >= MAX_DIRECTORY_INODES) throw new SourceError(`directory reader: more than ${MAX_DIRECTORY_INODES} entries`);
      id = this.#paths.length;
      this.#paths.push(rel);
      this.#ids.set(rel, id);
    }
    return id;
  }

  async stat(ino: InodeId): Promise<Stat> {
    const s = await lstat(this.#hostPath(ino), { bigint: false });
    const st: Stat = {
      type: hostFileType(s),
      mode: s.mode & 0o7777,
      uid: s.uid,
      gid: s.gid,
      size: s.size,
      nlink: s.nlink,
      ino,
      mtimeMs: Math.floor(s.mtimeMs),
      ctimeMs: Math.floor(s.ctimeMs),
      atimeMs: Math.floor(s.atimeMs),
    };
    if (st.type === 'chardev' || st.type === 'blockdev') st.rdev = { major: Math.floor(s.rdev / 256) & 0xfff, minor: (s.rdev & 0xff) | ((s.rdev >> 12) & 0xfff00) };
    return st;
  }

  async readdir(ino: InodeId): Promise<DirEntry[]> {
    const rel = this.#paths[ino]!;
    const dirents = await readdir(this.#hostPath(ino), { withFileTypes: true });
    return dirents.map((d) => ({
      name: d.name,
      ino: this.#idFor(rel === '' ? d.name : `${rel}/${d.name}`),
      type: hostFileType(d),
    }));
  }

  async lookup(dirIno: InodeId, name: string): Promise<InodeId | undefined> {
    const rel = this.#paths[dirIno]!;
    const childRel = rel === '' ? name : `${rel}/${name}`;
    try {
      await lstat(join(this.#root, childRel));
    } catch {
      return undefined;
    }
    return this.#idFor(childRel);
  }

  async readlink(ino: InodeId): Promise<string> {
    return readlink(this.#hostPath(ino));
  }

  async read(ino: InodeId, offset: number, length: number): Promise<Uint8Array> {
    const fh = await open(this.#hostPath(ino), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done === length ? buf : buf.subarray(0, done);
    } finally {
      await fh.close();
    }
  }

  async close(): Promise<void> {}
}

/** Opens a host directory as a read-only FileSystem rooted at it. */
export async function openDirectory(root: string): Promise<PathFileSystem> {
  const s = await lstat(root);
  if (!s.isDirectory()) throw new SourceError(`${root} is not a directory`);
  return new PathFileSystem(new DirectoryReader(root));
}
