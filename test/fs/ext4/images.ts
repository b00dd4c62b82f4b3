/** Building ext2/3/4 images from a tree with the real e2fsprogs tools. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { run } from '../../helpers/tools.ts';

export interface Variant {
  name: string;
  mkfs?: 'mkfs.ext2' | 'mkfs.ext3' | 'mkfs.ext4';
  args?: string[];
  sizeMiB?: number;
}

/**
 * `mkfs -d tree` (owners, modes, holes kept), then `e2fsck -fyD`, which builds the htree index
 * of every multi-block directory (mkfs -d writes linear directories only).
 */
export async function makeImage(dir: string, tree: string, v: Variant, file = 'fs.img'): Promise<string> {
  const img = join(dir, file);
  await run('truncate', ['-s', `${v.sizeMiB ?? 128}M`, img]);
  // mke2fs picks 1 KiB blocks for filesystems under 512 MiB ("small"); 4 KiB unless asked.
  const args = v.args ?? [];
  const blockSize = args.includes('-b') ? [] : ['-b', '4096'];
  await run(v.mkfs ?? 'mkfs.ext4', ['-q', '-F', '-N', '8192', ...blockSize, ...args, '-d', tree, img]);
  indexDirectories(img);
  return img;
}

/** e2fsck -fyD: exit 1 means "filesystem modified" (the rehash), which is what we asked for. */
export function indexDirectories(img: string): void {
  const r = spawnSync('e2fsck', ['-fyD', img], { encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1) throw new Error(`e2fsck -fyD ${img} exited ${r.status}: ${r.stdout}${r.stderr}`);
}

/** Runs a debugfs request against an image and returns its stdout. */
export async function debugfs(img: string, request: string, write = false): Promise<string> {
  return run('debugfs', [...(write ? ['-w'] : []), '-R', request, img]);
}
