/**
 * Opening a scan target: the composition of disk → container → volumes → filesystem. A target
 * is a local disk image or filesystem image, an HTTP(S) URL of one, or a directory holding an
 * extracted or mounted root.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CachedSource } from '../disk/cached-source.ts';
import { openContainer } from '../disk/containers/open.ts';
import type { DiskContainer, ProbeContext } from '../disk/containers/types.ts';
import { openFile } from '../disk/file-source.ts';
import { HttpSource, type HttpSourceOptions } from '../disk/http-source.ts';
import type { BlockSource } from '../disk/index.ts';
import { detectFilesystem, type FsSignature } from '../fs/detect.ts';
import { openDirectory } from '../fs/directory/index.ts';
import type { FileSystem } from '../fs/index.ts';
import { PathFileSystem } from '../fs/path-fs.ts';
import { openFilesystem } from '../fs/registry.ts';
import { issueFromError, type Issue } from '../util/issues.ts';
import { NotThisFormatError, SourceError, UsageError } from '../util/errors.ts';
import { MiB } from '../util/units.ts';
import type { Volume, VolumeLayout } from '../volume/index.ts';
import { probeVolumes } from '../volume/probe.ts';
import { composeMounts, type ComposedMount } from './mounts.ts';

export interface TargetOptions {
  /** Options for HTTP(S) targets (URL policy, timeouts, concurrency). */
  http?: HttpSourceOptions;
  /** Bytes of chunk cache in front of the source. */
  cacheBytes?: number;
  /** An already-open medium (a cloud provider's, e.g. EBS direct) read instead of opening the spec; closed with the target. */
  source?: BlockSource;
}

export interface OpenedDisk {
  /** The target as shown to users (URLs without query strings). */
  target: string;
  container: DiskContainer;
  layout: VolumeLayout;
  /** Filesystem signature per volume id (volumes without a source have none). */
  filesystems: Map<string, FsSignature>;
  /** The medium under everything (for byte counters). */
  medium: BlockSource;
  close(): Promise<void>;
}

const DEFAULT_CACHE_BYTES = 64 * MiB;

function isUrl(spec: string): boolean {
  return /^https?:\/\//i.test(spec);
}

/** Opens the bytes of a target (file or URL) with a chunk cache in front. */
async function openMedium(spec: string, options: TargetOptions): Promise<{ medium: BlockSource; context: ProbeContext }> {
  const cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
  if (options.source !== undefined) return { medium: new CachedSource(options.source, { cacheBytes }), context: {} };
  if (isUrl(spec)) {
    const http = await HttpSource.open(spec, options.http ?? {});
    return { medium: new CachedSource(http, { cacheBytes }), context: {} };
  }
  const medium = await openFile(spec, { cacheBytes });
  const dir = dirname(spec);
  const context: ProbeContext = {
    // VMDK descriptors name their extents; only plain names beside the descriptor are opened.
    openSibling: async (name: string) => {
      if (name !== basename(name) || name === '..' || name === '.' || name.includes('\0')) {
        throw new UsageError(`refusing extent file '${name}': only files beside the descriptor are opened`);
      }
      return openFile(join(dir, name), { cacheBytes });
    },
  };
  return { medium, context };
}

/** Decodes a disk target down to its volumes and their filesystem signatures. */
export async function openDisk(spec: string, options: TargetOptions = {}): Promise<OpenedDisk> {
  const { medium, context } = await openMedium(spec, options);
  try {
    const container = await openContainer(medium, context);
    const layout = await probeVolumes(container.source);
    const filesystems = new Map<string, FsSignature>();
    for (const v of layout.volumes) {
      if (!v.source) continue;
      try {
        filesystems.set(v.id, await detectFilesystem(v.source));
      } catch (err) {
        v.issues.push(issueFromError(err, 'fs.detect', `volume ${v.id}`));
      }
    }
    return {
      target: isUrl(spec) && options.source === undefined ? redactTarget(spec) : spec,
      container,
      layout,
      filesystems,
      medium,
      close: async () => {
        await container.source.close();
        if (container.source !== medium) await medium.close();
      },
    };
  } catch (err) {
    await medium.close();
    throw err;
  }
}

function redactTarget(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

export interface OpenedFilesystem {
  fs: FileSystem;
  /** The volume it came from (undefined for a directory target). */
  volume: Volume | undefined;
  disk: OpenedDisk | undefined;
  /** Volumes that were probed and why each was not chosen; fstab entries that could not be mounted. */
  issues: Issue[];
  /** Volumes mounted on the root as its /etc/fstab says (empty for a single-volume view). */
  mounts: ComposedMount[];
  close(): Promise<void>;
}

const ROOT_MARKERS = ['/etc/os-release', '/usr/lib/os-release', '/etc/passwd', '/var/lib/dpkg/status', '/bin/sh'];

/**
 * Opens the filesystem to read: `volume` picks one by id ("p1", "lvm:vg/root") or index;
 * otherwise the root filesystem is chosen by probe — the readable filesystem with the most
 * root markers (os-release, passwd, package DBs), never by partition name. The volumes its
 * /etc/fstab mounts (a separate /boot, /var, /usr) are then mounted on it, so every reader sees
 * the node's tree (scan/mounts.ts); `mounts: false` reads the one volume alone.
 */
export async function openTargetFilesystem(spec: string, options: TargetOptions & { volume?: string; mounts?: boolean } = {}): Promise<OpenedFilesystem> {
  if (options.source === undefined && !isUrl(spec) && (await stat(spec)).isDirectory()) {
    const fs = await openDirectory(spec);
    return { fs, volume: undefined, disk: undefined, issues: [], mounts: [], close: () => fs.close() };
  }
  const disk = await openDisk(spec, options);
  const issues: Issue[] = [];
  try {
    const candidates = selectVolumes(disk.layout.volumes, options.volume);
    let best: { fs: FileSystem; volume: Volume; score: number } | undefined;
    let mediumError: SourceError | undefined;
    for (const volume of candidates) {
      if (!volume.source) continue;
      let fs: FileSystem;
      try {
        fs = await openFilesystem(volume.source);
      } catch (err) {
        if (err instanceof SourceError) mediumError ??= err;
        if (!(err instanceof NotThisFormatError) || options.volume !== undefined) issues.push(issueFromError(err, 'fs.open', `volume ${volume.id}`));
        continue;
      }
      let score = 0;
      for (const marker of ROOT_MARKERS) {
        try {
          await fs.lstat(marker);
          score++;
        } catch {
          // absent marker: not this volume's root
        }
      }
      if (!best || score > best.score) {
        if (best) await best.fs.close();
        best = { fs, volume, score };
      } else {
        await fs.close();
      }
    }
    if (!best) {
      const why = issues.map((i) => `${i.location}: ${i.message}`).join('; ');
      // The medium itself failed (a read URL that went away, an I/O error): say that, not "no filesystem".
      if (mediumError !== undefined) throw new SourceError(`cannot read ${disk.target}: ${mediumError.message}`, { cause: mediumError });
      throw new NotThisFormatError(`no readable filesystem found in ${disk.target}${why ? ` (${why})` : ''}`);
    }
    const chosen = best;
    let fs: FileSystem = chosen.fs;
    let mounts: ComposedMount[] = [];
    if (options.mounts !== false && chosen.fs instanceof PathFileSystem) {
      try {
        const composed = await composeMounts(chosen.fs, chosen.volume, disk);
        fs = composed.fs;
        mounts = composed.mounts;
        issues.push(...composed.issues);
      } catch (err) {
        await chosen.fs.close();
        throw err;
      }
    }
    // Closing the composed view closes the root and every mounted filesystem.
    return { fs, volume: chosen.volume, disk, issues, mounts, close: async () => { await fs.close(); await disk.close(); } };
  } catch (err) {
    await disk.close();
    throw err;
  }
}

function selectVolumes(volumes: Volume[], wanted: string | undefined): Volume[] {
  if (wanted === undefined) return volumes;
  const byId = volumes.find((v) => v.id === wanted);
  if (byId) return [byId];
  const index = Number(wanted);
  if (Number.isInteger(index) && index >= 0 && index < volumes.length) return [volumes[index]!];
  throw new UsageError(`no volume '${wanted}'; volumes: ${volumes.map((v) => v.id).join(', ') || 'none'}`);
}
