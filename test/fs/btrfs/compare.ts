/**
 * btrfs conformance: the shared tree comparison (test/fs/ext4/tree.ts compareWithTree: every
 * entry's type, mode, owner, size, nlink, mtime, link target, content SHA-256, device numbers,
 * hard links sharing an inode, nothing missing) with explicit, reasoned skips. Each skip is
 * re-checked here rather than waved through:
 *
 * - dir-nlink: btrfs keeps every directory's link count at 1 (fs/btrfs/inode.c never counts
 *   subdirectories); the host's is 2 + subdirectories. We check that ours is exactly 1.
 * - mtime-ns: the shared helper expects whole seconds (what mke2fs -d stores); a btrfs written
 *   through the kernel keeps nanoseconds. We check ours equals the host's to the millisecond.
 * - mkfs-rootdir-rdev: btrfs-progs 6.2 `mkfs.btrfs --rootdir` stores rdev 0 for device nodes
 *   (`btrfs inspect-internal dump-tree` shows it; oracle.test.ts asserts that): ours reads 0:0.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { PathFileSystem } from '../../../src/fs/path-fs.ts';
import { compareWithTree } from '../ext4/tree.ts';

export type SkipReason = 'dir-nlink' | 'mtime-ns' | 'mkfs-rootdir-rdev';

export interface BtrfsCompare {
  entries: number;
  unexplained: string[];
  skipped: Partial<Record<SkipReason, number>>;
  issues: unknown[];
}

export async function compareBtrfs(fs: PathFileSystem, root: string, options: { mkfsRootdir: boolean }): Promise<BtrfsCompare> {
  const r = await compareWithTree(fs, root);
  const unexplained: string[] = [];
  const skipped: Partial<Record<SkipReason, number>> = {};
  const skip = (why: SkipReason) => (skipped[why] = (skipped[why] ?? 0) + 1);
  for (const m of r.mismatches) {
    const match = /^(.*): (nlink|mtime|rdev) (\S+) != (\S+)$/.exec(m);
    if (!match) {
      unexplained.push(m);
      continue;
    }
    const [, path, what, got] = match as unknown as [string, string, string, string];
    const host = lstatSync(join(root, path), { bigint: true });
    if (what === 'nlink' && host.isDirectory() && got === '1') skip('dir-nlink');
    else if (what === 'mtime' && !options.mkfsRootdir && BigInt(got) === floorMs(host.mtimeNs)) skip('mtime-ns');
    else if (what === 'rdev' && options.mkfsRootdir && got === '0:0') skip('mkfs-rootdir-rdev');
    else unexplained.push(m);
  }
  return { entries: r.entries, unexplained, skipped, issues: r.issues };
}

/** Nanoseconds to whole milliseconds, rounding down (also before 1970), as the reader does. */
function floorMs(ns: bigint): bigint {
  const q = ns / 1_000_000n;
  return ns < 0n && q * 1_000_000n !== ns ? q - 1n : q;
}
