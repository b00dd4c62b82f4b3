/**
 * Local "snapshots": a node's disk is an image file, a directory or a URL. A file is frozen by a
 * hard link under the data directory's snapshots/<lease>/ (the same inode: replacing or deleting
 * the original by rename or unlink mid-scan does not change what is read), or a reflink copy
 * where a hard link cannot be made (another filesystem); a VMDK descriptor's extent files are
 * linked beside it. Directories and URLs cannot be frozen here and are read in place — the
 * snapshot says so (`inPlace`). Every snapshot directory holds its tags (tags.json), which is
 * how the sweeper finds ours when the ledger lost one.
 */
import { constants } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SnapshotError, type Snapshot, type SnapshotProvider, type SnapshotTags, type SnapshotTarget, type TaggedSnapshot } from '../index.ts';
import type { Node } from '../../store/index.ts';
import { isUrl } from '../../util/url-policy.ts';

/** A VMDK descriptor is a small text file; larger files are never parsed as one. */
const MAX_DESCRIPTOR_BYTES = 64 * 1024;
const TAGS_FILE = 'tags.json';
const LEASE_ID = /^[0-9a-f-]{36}$/;


/** Extent file names a VMDK text descriptor refers to ("RW 2048 FLAT \"disk-flat.vmdk\" 0"). */
async function vmdkExtents(path: string, size: number): Promise<string[]> {
  if (size > MAX_DESCRIPTOR_BYTES) return [];
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, MAX_DESCRIPTOR_BYTES));
    await fh.read(head, 0, head.length, 0);
    const text = head.toString('latin1');
    if (!text.startsWith('# Disk DescriptorFile')) return [];
    const out: string[] = [];
    for (const m of text.matchAll(/^\s*(?:RW|RDONLY|NOACCESS)\s+\d+\s+\w+\s+"([^"]+)"/gm)) {
      const name = m[1]!;
      if (name === basename(name) && name !== '..' && name !== '.') out.push(name);
    }
    return out;
  } finally {
    await fh.close();
  }
}

async function freeze(src: string, dst: string): Promise<void> {
  try {
    await link(src, dst);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
    // Another filesystem: a copy-on-write clone where the filesystem has them; never a full copy.
    await copyFile(src, dst, constants.COPYFILE_FICLONE_FORCE);
  }
}

function failureOf(err: unknown, what: string): SnapshotError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new SnapshotError('disk-not-found', `${what} does not exist`, { cause: err });
  if (code === 'EACCES' || code === 'EPERM') return new SnapshotError('snapshot-denied', `${what}: permission denied`, { cause: err });
  return new SnapshotError('snapshot-failed', `${what}: ${(err as Error).message}`, { cause: err });
}

export class LocalSnapshotProvider implements SnapshotProvider {
  readonly provider = 'local';
  readonly #dir: string;

  /** `dir`: where snapshots live (the data directory's snapshots/). */
  constructor(dir: string) {
    this.#dir = dir;
  }

  async create(node: Node, tags: SnapshotTags): Promise<Snapshot> {
    if (!LEASE_ID.test(tags.lease)) throw new SnapshotError('snapshot-failed', `lease id '${tags.lease}' is not a UUID`);
    const disk = node.diskRef;
    if (disk === undefined) throw new SnapshotError('no-disk', `node ${node.name} names no disk`);
    const home = join(this.#dir, tags.lease);
    await mkdir(home, { recursive: true, mode: 0o700 });
    await writeFile(join(home, TAGS_FILE), JSON.stringify(tags));
    if (isUrl(disk)) return { provider: this.provider, id: tags.lease, ref: disk, inPlace: true };
    let st;
    try {
      st = await stat(disk);
    } catch (err) {
      await rm(home, { recursive: true, force: true });
      throw failureOf(err, `disk ${disk}`);
    }
    if (st.isDirectory()) return { provider: this.provider, id: tags.lease, ref: disk, inPlace: true };
    const frozen = join(home, basename(disk));
    try {
      await freeze(disk, frozen);
      for (const extent of await vmdkExtents(disk, st.size)) await freeze(join(dirname(disk), extent), join(home, extent));
    } catch (err) {
      await rm(home, { recursive: true, force: true });
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw failureOf(err, `disk ${disk}`);
      // No link and no reflink (a foreign filesystem): read the original in place, and say so.
      await mkdir(home, { recursive: true, mode: 0o700 });
      await writeFile(join(home, TAGS_FILE), JSON.stringify(tags));
      return { provider: this.provider, id: tags.lease, ref: disk, inPlace: true };
    }
    return { provider: this.provider, id: tags.lease, ref: frozen };
  }

  open(snapshot: Snapshot): Promise<SnapshotTarget> {
    return Promise.resolve({ spec: snapshot.ref });
  }

  /** Deletes the snapshot's directory (its links and tags); the original disk is never touched. */
  async delete(snapshot: Snapshot): Promise<void> {
    if (!LEASE_ID.test(snapshot.id)) throw new SnapshotError('snapshot-failed', `'${snapshot.id}' is not a local snapshot id`);
    await rm(join(this.#dir, snapshot.id), { recursive: true, force: true });
  }

  async listOurs(): Promise<TaggedSnapshot[]> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: TaggedSnapshot[] = [];
    for (const name of names) {
      if (!LEASE_ID.test(name)) continue;
      let tags: SnapshotTags;
      try {
        tags = JSON.parse(await readFile(join(this.#dir, name, TAGS_FILE), 'utf8')) as SnapshotTags;
      } catch {
        // A directory whose tags were never written (crash between mkdir and write): ours by its name.
        tags = { owner: 'hullscan', lease: name, expires: new Date(0).toISOString() };
      }
      if (tags.owner !== 'hullscan') continue;
      out.push({ snapshot: { provider: this.provider, id: name, ref: join(this.#dir, name) }, tags });
    }
    return out;
  }
}
