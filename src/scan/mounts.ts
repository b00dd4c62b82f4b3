/**
 * Composing a disk's volumes into the tree the node boots with: the root filesystem's
 * /etc/fstab names the volumes mounted on it (UUID=, LABEL=, PARTUUID=, PARTLABEL=,
 * /dev/disk/by-*, LVM device paths), each is found among the disk's volumes and mounted on the
 * root through a MountReader (src/fs/mounts.ts). Every entry that names disk content but cannot
 * be composed — a device not on this disk, a filesystem we do not read, a missing mount point —
 * becomes a located coverage issue; nothing is dropped silently.
 */
import { openBtrfs, type BtrfsReader } from '../fs/btrfs/index.ts';
import type { FsSignature } from '../fs/detect.ts';
import { NETWORK_FS_TYPES, normaliseMountPoint, PSEUDO_FS_TYPES, readFstab, type FstabEntry } from '../fs/fstab.ts';
import type { InodeReader } from '../fs/index.ts';
import { MAX_MOUNTS, MountReader } from '../fs/mounts.ts';
import { PathFileSystem } from '../fs/path-fs.ts';
import { openFilesystem } from '../fs/registry.ts';
import { FsPathError } from '../fs/errors.ts';
import { issueFromError, type Issue } from '../util/issues.ts';
import type { Volume, VolumeLayout } from '../volume/index.ts';

/** Filesystem types we read; an fstab type outside these (and `auto`) is reported, not opened. */
const READABLE_TYPES: ReadonlySet<string> = new Set(['auto', 'ext2', 'ext3', 'ext4', 'xfs', 'btrfs']);

export interface ComposedMount {
  mountPoint: string;
  /** The volume mounted there. */
  volume: string;
  type: string;
  /** The fstab spec that named it. */
  spec: string;
  /** btrfs subvolume id, when the entry mounts one. */
  subvolume?: number;
}

export interface Composition {
  /** The composed tree (the root filesystem itself when nothing was mounted). */
  fs: PathFileSystem;
  mounts: ComposedMount[];
  issues: Issue[];
}

interface DiskView {
  layout: VolumeLayout;
  filesystems: Map<string, FsSignature>;
}

/** udev's escaping in /dev/disk/by-label names (`\x2f` for `/`, `\x20` for a space). */
function unescapeUdev(name: string): string {
  return name.replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Splits a device-mapper name `vg-lv` (a `-` inside either name is doubled). */
function splitDmName(name: string): { vg: string; lv: string } | undefined {
  for (let i = 0; i < name.length; i++) {
    if (name[i] !== '-') continue;
    if (name[i + 1] === '-') {
      i++;
      continue;
    }
    return { vg: name.slice(0, i).replaceAll('--', '-'), lv: name.slice(i + 1).replaceAll('--', '-') };
  }
  return undefined;
}

type Resolution = { volume: Volume } | { reason: string };

/** Finds the volume an fstab spec names, or says why none does. */
export function resolveSpec(spec: string, disk: DiskView): Resolution {
  const volumes = disk.layout.volumes;
  const one = (what: string, match: (v: Volume) => boolean): Resolution => {
    const found = volumes.filter(match);
    if (found.length === 1) return { volume: found[0]! };
    if (found.length > 1) return { reason: `${what} matches ${found.length} volumes (${found.map((v) => v.id).join(', ')})` };
    return { reason: `no volume on this disk has ${what}` };
  };
  const sig = (v: Volume): FsSignature | undefined => disk.filesystems.get(v.id);
  const byUuid = (u: string) => one(`filesystem UUID ${u}`, (v) => sig(v)?.uuid?.toLowerCase() === u.toLowerCase());
  const byLabel = (l: string) => one(`filesystem label '${l}'`, (v) => sig(v)?.label === l);
  const byPartUuid = (u: string) => {
    const want = u.toLowerCase();
    const mbrSig = disk.layout.details['mbrDiskSignature'];
    return one(`partition UUID ${u}`, (v) =>
      v.partitionGuid?.toLowerCase() === want ||
      (typeof mbrSig === 'string' && v.partitionNumber !== undefined && v.scheme === 'mbr' && `${mbrSig}-${v.partitionNumber.toString(16).padStart(2, '0')}` === want),
    );
  };
  const byPartLabel = (l: string) => one(`partition name '${l}'`, (v) => v.lvm === undefined && v.name === l);
  const byLv = (vg: string, lv: string) => one(`logical volume ${vg}/${lv}`, (v) => v.lvm?.vg === vg && v.lvm.lv === lv);

  const eq = /^(UUID|LABEL|PARTUUID|PARTLABEL)=(.*)$/.exec(spec);
  if (eq) {
    const value = eq[2]!.replace(/^"(.*)"$/, '$1');
    if (eq[1] === 'UUID') return byUuid(value);
    if (eq[1] === 'LABEL') return byLabel(value);
    if (eq[1] === 'PARTUUID') return byPartUuid(value);
    return byPartLabel(value);
  }
  const byDisk = /^\/dev\/disk\/by-(uuid|label|partuuid|partlabel)\/(.+)$/.exec(spec);
  if (byDisk) {
    const value = unescapeUdev(byDisk[2]!);
    if (byDisk[1] === 'uuid') return byUuid(value);
    if (byDisk[1] === 'label') return byLabel(value);
    if (byDisk[1] === 'partuuid') return byPartUuid(value);
    return byPartLabel(value);
  }
  const mapper = /^\/dev\/mapper\/([^/]+)$/.exec(spec);
  if (mapper) {
    const names = splitDmName(mapper[1]!);
    return names ? byLv(names.vg, names.lv) : { reason: `device-mapper name '${mapper[1]}' is not vg-lv (an encrypted or multipath device is not read)` };
  }
  const vgLv = /^\/dev\/([^/]+)\/([^/]+)$/.exec(spec);
  if (vgLv && disk.layout.volumes.some((v) => v.lvm?.vg === vgLv[1])) return byLv(vgLv[1]!, vgLv[2]!);
  return { reason: `'${spec}' names a device by a path that depends on the machine (kernel name, by-id, by-path, or another disk)` };
}

function optionValue(options: string[], key: string): string | undefined {
  const prefix = `${key}=`;
  return options.find((o) => o.startsWith(prefix))?.slice(prefix.length);
}

/** The btrfs subvolume an entry names (subvolid=, subvol=), or undefined for the default one. */
function btrfsSubvolume(entry: FstabEntry, reader: BtrfsReader): number | undefined {
  const id = optionValue(entry.options, 'subvolid');
  if (id !== undefined) return Number(id);
  const name = optionValue(entry.options, 'subvol');
  if (name === undefined) return undefined;
  const path = name.replace(/^\/+/, '').replace(/\/+$/, '');
  if (path === '') return 5;
  const sv = reader.subvolumes.find((s) => s.path === path);
  if (!sv) throw new FsPathError('ENOENT', name, `no btrfs subvolume '${path}'`);
  return sv.id;
}

/**
 * Reads the root's /etc/fstab and mounts the volumes it names on the root. Returns the root
 * itself when there is no fstab or nothing to mount. The root volume keeps its place; entries for
 * `/` are not re-mounted.
 */
export async function composeMounts(root: PathFileSystem, rootVolume: Volume, disk: DiskView): Promise<Composition> {
  const issues: Issue[] = [];
  let fstab: Awaited<ReturnType<typeof readFstab>>;
  try {
    fstab = await readFstab(root);
  } catch (err) {
    issues.push(issueFromError(err, 'mount.fstab', '/etc/fstab'));
    return { fs: root, mounts: [], issues };
  }
  if (!fstab) return { fs: root, mounts: [], issues };
  for (const line of fstab.malformed) issues.push({ severity: 'warning', code: 'mount.fstab', message: 'fstab line with fewer than two fields ignored', location: `/etc/fstab:${line}` });
  if (fstab.truncated) issues.push({ severity: 'warning', code: 'mount.fstab', message: 'fstab has more entries than are read; the rest are not mounted', location: '/etc/fstab' });

  const wanted: Array<{ entry: FstabEntry; mountPoint: string }> = [];
  for (const entry of fstab.entries) {
    const location = `/etc/fstab:${entry.line} ${entry.mountPoint}`;
    const type = entry.type.toLowerCase();
    if (PSEUDO_FS_TYPES.has(type) || entry.mountPoint === 'none' || entry.options.includes('bind') || entry.options.includes('rbind')) continue;
    if (NETWORK_FS_TYPES.has(type) || /^[^/=]+:/.test(entry.spec) || entry.spec.startsWith('//')) {
      issues.push({ severity: 'info', code: 'mount.network', message: `${entry.spec} (${entry.type}) is mounted from the network: its files are not on this disk`, location });
      continue;
    }
    const mountPoint = normaliseMountPoint(entry.mountPoint);
    if (mountPoint === undefined) {
      issues.push({ severity: 'warning', code: 'mount.point', message: `mount point '${entry.mountPoint}' is not an absolute path`, location });
      continue;
    }
    if (mountPoint === '/') continue;
    if (entry.options.includes('noauto')) {
      issues.push({ severity: 'info', code: 'mount.noauto', message: `${entry.spec} is not mounted at boot (noauto): not composed`, location });
      continue;
    }
    wanted.push({ entry, mountPoint });
  }
  if (wanted.length === 0) return { fs: root, mounts: [], issues };

  // Parents before the mounts inside them; the kernel stacks a later mount on the same point.
  const depth = (p: string): number => p.split('/').length;
  wanted.sort((a, b) => depth(a.mountPoint) - depth(b.mountPoint) || a.entry.line - b.entry.line);
  const reader = new MountReader(root.reader);
  const view = new PathFileSystem(reader);
  const mounts: ComposedMount[] = [];
  for (const { entry, mountPoint } of wanted) {
    const location = `/etc/fstab:${entry.line} ${mountPoint}`;
    const optional = entry.options.includes('nofail');
    const resolved = resolveSpec(entry.spec, disk);
    if ('reason' in resolved) {
      issues.push({
        severity: optional ? 'info' : 'warning',
        code: 'mount.unresolved',
        message: `${mountPoint} is not covered: ${resolved.reason}${optional ? ' (the entry is nofail: an optional or other disk)' : ''}`,
        location,
      });
      continue;
    }
    const volume = resolved.volume;
    const signature = disk.filesystems.get(volume.id);
    const type = entry.type.toLowerCase();
    const sigType = signature?.type ?? 'unknown';
    if (!READABLE_TYPES.has(type) || !volume.source || !['ext2', 'ext3', 'ext4', 'xfs', 'btrfs'].includes(sigType)) {
      issues.push({
        severity: sigType === 'vfat' ? 'info' : 'warning',
        code: 'mount.unreadable',
        message: `${mountPoint} (volume ${volume.id}, ${sigType === 'unknown' ? `fstab type ${entry.type}` : sigType}) is not read: ${!volume.source ? 'the volume cannot be read' : `${sigType} is not a filesystem Hullscan reads`}`,
        location,
      });
      continue;
    }
    if (mounts.length >= MAX_MOUNTS) {
      issues.push({ severity: 'warning', code: 'mount.budget', message: `more than ${MAX_MOUNTS} mounts: ${mountPoint} is not composed`, location });
      continue;
    }
    let mounted: InodeReader | undefined;
    let subvolume: number | undefined;
    try {
      if (sigType === 'btrfs') {
        const top = await openBtrfs(volume.source);
        subvolume = btrfsSubvolume(entry, top.reader as BtrfsReader);
        if (subvolume === undefined) mounted = top.reader;
        else {
          await top.close();
          mounted = (await openBtrfs(volume.source, { subvolume })).reader;
        }
      } else if (volume.id === rootVolume.id) {
        issues.push({ severity: 'warning', code: 'mount.unreadable', message: `${mountPoint} mounts the root volume ${volume.id} again: not composed`, location });
        continue;
      } else {
        mounted = (await openFilesystem(volume.source)).reader;
      }
      await attachAt(reader, view, mountPoint, mounted);
      mounts.push({ mountPoint, volume: volume.id, type: sigType, spec: entry.spec, ...(subvolume !== undefined ? { subvolume } : {}) });
    } catch (err) {
      if (mounted) await mounted.close().catch(() => undefined);
      issues.push({ ...issueFromError(err, 'mount.unreadable', location), severity: 'warning', message: `${mountPoint} (volume ${volume.id}) is not read: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  if (mounts.length === 0) return { fs: root, mounts, issues };
  // A fresh PathFileSystem: the view used while attaching may hold listings from before a mount.
  return { fs: new PathFileSystem(reader), mounts, issues };
}

/** Attaches a reader at a mount point of the tree composed so far. */
async function attachAt(reader: MountReader, view: PathFileSystem, mountPoint: string, mounted: InodeReader): Promise<void> {
  let target: { path: string; exists: boolean };
  try {
    const r = await view.resolve(mountPoint, true);
    if (r.stat.type !== 'dir') throw new FsPathError('ENOTDIR', mountPoint, 'the mount point is not a directory');
    target = { path: r.path, exists: true };
  } catch (err) {
    if (!(err instanceof FsPathError) || err.code !== 'ENOENT') throw err;
    target = { path: mountPoint, exists: false };
  }
  const cut = target.path.lastIndexOf('/');
  const parentPath = target.path.slice(0, cut) || '/';
  const name = target.path.slice(cut + 1);
  const parent = await view.resolve(parentPath, true);
  if (parent.stat.type !== 'dir') throw new FsPathError('ENOTDIR', parentPath, 'the mount point\'s parent is not a directory');
  reader.attach(target.path, parent.ino, name, mounted, target.exists);
}
