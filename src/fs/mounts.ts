/**
 * One tree out of several filesystems: the root volume with the image's other volumes mounted
 * on it by path, as its /etc/fstab mounts them at boot. A {@link MountReader} is an InodeReader,
 * so {@link PathFileSystem} resolves paths across mounts with the same in-image rules, and the
 * walk, the analyzers and the malware scan see one tree: kernels under a separate /boot, package
 * databases under a separate /var.
 *
 * Inode ids: the root filesystem's ids are kept as they are (a composed view reports the same
 * inodes as the root alone). A mounted filesystem's inode `i` in mount slot `s` (1-based) is
 * `-(i * MOUNT_SLOTS + s)`: negative, so never equal to a root id, and unique across mounts.
 */
import type { BlockSource } from '../disk/index.ts';
import { UnsupportedError } from '../util/errors.ts';
import type { Issue } from '../util/issues.ts';
import type { DirEntry, FileExtent, InodeId, InodeReader, Stat } from './index.ts';

/** Mount slots an id can encode (slot 0 is the root, which keeps its own ids). */
export const MOUNT_SLOTS = 64;
/** Filesystems mounted on one root at most. */
export const MAX_MOUNTS = MOUNT_SLOTS - 1;

export interface Mount {
  /** Normalised absolute mount point. */
  path: string;
  reader: InodeReader;
}

interface Covering {
  /** The mounted filesystem's root, as an id of this reader. */
  rootIno: InodeId;
  /** Whether the mount point is absent from the directory below (systemd makes missing mount points). */
  synthetic: boolean;
}

/**
 * An InodeReader over a root reader with others mounted on directories of it. Mount points are
 * attached with {@link MountReader.attach} in order (a parent mount before the mounts inside it),
 * through paths resolved in the tree composed so far.
 */
export class MountReader implements InodeReader {
  readonly #root: InodeReader;
  readonly #slots: InodeReader[] = [];
  /** Directory id (in this reader's ids) → name → what is mounted there. */
  readonly #covered = new Map<InodeId, Map<string, Covering>>();
  readonly #issues: Issue[] = [];
  /** Issues already copied from each reader (root first, then the slots). */
  readonly #seen: number[] = [0];
  readonly mounts: Mount[] = [];

  constructor(root: InodeReader) {
    this.#root = root;
    const mapRoot = root.mapFile?.bind(root);
    if (mapRoot) this.mapFile = async (ino) => (ino >= 0 ? mapRoot(ino) : undefined);
  }

  get type() {
    return this.#root.type;
  }
  get label() {
    return this.#root.label;
  }
  get uuid() {
    return this.#root.uuid;
  }
  get rootIno() {
    return this.#root.rootIno;
  }
  /** The root's data source: mapFile maps only the root's files (the others are read through their driver). */
  get dataSource(): BlockSource | undefined {
    return this.#root.dataSource;
  }

  /**
   * Every reader's issues in one append-only list: new ones are copied in on each access, so a
   * caller that remembers a length and slices later sees exactly what was found in between.
   */
  get issues(): Issue[] {
    const readers = [this.#root, ...this.#slots];
    readers.forEach((r, i) => {
      const seen = this.#seen[i] ?? 0;
      if (r.issues.length > seen) {
        this.#issues.push(...r.issues.slice(seen));
        this.#seen[i] = r.issues.length;
      }
    });
    return this.#issues;
  }

  /**
   * Mounts `reader` on directory `name` of directory `parentIno` (ids of this reader, found by
   * resolving the mount point's parent in the tree composed so far). `exists`: whether the
   * directory below has that name (a missing one is made, as systemd makes missing mount points).
   */
  attach(path: string, parentIno: InodeId, name: string, reader: InodeReader, exists: boolean): void {
    if (this.#slots.length >= MAX_MOUNTS) throw new UnsupportedError(`more than ${MAX_MOUNTS} mounted filesystems`, { location: path });
    this.#slots.push(reader);
    this.#seen.push(0);
    const slot = this.#slots.length;
    let names = this.#covered.get(parentIno);
    if (!names) this.#covered.set(parentIno, (names = new Map()));
    names.set(name, { rootIno: this.#outer(slot, reader.rootIno), synthetic: !exists });
    this.mounts.push({ path, reader });
  }

  async stat(ino: InodeId): Promise<Stat> {
    const { reader, inner, slot } = this.#decode(ino);
    const st = await reader.stat(inner);
    return slot === 0 ? st : { ...st, ino };
  }

  async readdir(ino: InodeId): Promise<DirEntry[]> {
    const { reader, inner, slot } = this.#decode(ino);
    const entries = await reader.readdir(inner);
    const out = slot === 0 ? entries.slice() : entries.map((e) => ({ ...e, ino: this.#outer(slot, e.ino) }));
    const covered = this.#covered.get(ino);
    if (!covered) return out;
    const listed = new Set<string>();
    for (let i = 0; i < out.length; i++) {
      const c = covered.get(out[i]!.name);
      if (!c) continue;
      out[i] = { name: out[i]!.name, type: 'dir', ino: c.rootIno };
      listed.add(out[i]!.name);
    }
    for (const [name, c] of covered) if (!listed.has(name)) out.push({ name, type: 'dir', ino: c.rootIno });
    return out;
  }

  async lookup(dirIno: InodeId, name: string): Promise<InodeId | undefined> {
    const c = this.#covered.get(dirIno)?.get(name);
    if (c) return c.rootIno;
    const { reader, inner, slot } = this.#decode(dirIno);
    let found: InodeId | undefined;
    if (reader.lookup) found = await reader.lookup(inner, name);
    else found = (await reader.readdir(inner)).find((e) => e.name === name)?.ino;
    return found === undefined ? undefined : this.#outer(slot, found);
  }

  readlink(ino: InodeId): Promise<string> {
    const { reader, inner } = this.#decode(ino);
    return reader.readlink(inner);
  }

  read(ino: InodeId, offset: number, length: number): Promise<Uint8Array> {
    const { reader, inner } = this.#decode(ino);
    return reader.read(inner, offset, length);
  }

  async readInto(ino: InodeId, offset: number, target: Uint8Array): Promise<number> {
    const { reader, inner } = this.#decode(ino);
    if (reader.readInto) return reader.readInto(inner, offset, target);
    const bytes = await reader.read(inner, offset, target.length);
    target.set(bytes);
    return bytes.length;
  }

  /**
   * Layouts of the root's files only (present when the root maps files): the other mounts'
   * offsets refer to other sources, so their files are read through their drivers.
   */
  readonly mapFile?: (ino: InodeId) => Promise<FileExtent[] | undefined>;

  async close(): Promise<void> {
    const errors: unknown[] = [];
    for (const r of [...this.#slots].reverse()) await r.close().catch((err: unknown) => errors.push(err));
    await this.#root.close().catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw errors[0];
  }

  #outer(slot: number, inner: InodeId): InodeId {
    if (slot === 0) return inner;
    const id = inner * MOUNT_SLOTS + slot;
    if (!Number.isSafeInteger(id)) throw new UnsupportedError(`inode ${inner} of mount ${this.mounts[slot - 1]?.path ?? slot} is too large to compose`, { location: `inode ${inner}` });
    return -id;
  }

  #decode(ino: InodeId): { reader: InodeReader; inner: InodeId; slot: number } {
    if (ino >= 0) return { reader: this.#root, inner: ino, slot: 0 };
    const id = -ino;
    const slot = id % MOUNT_SLOTS;
    const reader = this.#slots[slot - 1];
    if (!reader) throw new RangeError(`inode id ${ino} names no mount`);
    return { reader, inner: (id - slot) / MOUNT_SLOTS, slot };
  }
}
