/**
 * The XFS conformance check: walk the image with our reader and compare every entry's type,
 * mode, ownership, size, device number, link target and content digest with the manifest of the
 * source tree (taken with the host's own lstat/readlink/read when the tree was built).
 *
 * Reasoned skips: the protofile carries no timestamps and no hard links (each link becomes its
 * own file), so neither is compared. Directory sizes are filesystem-specific.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { walk, type WalkEntry } from '../../../src/fs/walk.ts';
import { openFile } from '../../../src/disk/file-source.ts';
import { openXfs } from '../../../src/fs/xfs/index.ts';
import type { XfsReader } from '../../../src/fs/xfs/index.ts';
import { FMT_LOCAL } from '../../../src/fs/xfs/inode.ts';
import { CorruptError } from '../../../src/util/errors.ts';
import type { Issue } from '../../../src/util/issues.ts';
import type { ManifestEntry } from './fixtures.ts';

export interface Summary {
  entries: number;
  files: number;
  bytes: number;
  /** v5 remote symlinks that mkfs 6.1 wrote without their 'XSLM' headers. */
  headerlessSymlinks: string[];
  walkMs: number;
}

/**
 * Compares the image with its source tree. On a v5 filesystem, xfsprogs 6.1 `mkfs -p` writes
 * remote symlink blocks without the v5 header (the kernel rejects them too: readlink gives
 * EFSCORRUPTED and xfs_repair junks them), so those links must fail with a CorruptError rather
 * than return garbage. Remote v5 symlinks written by the kernel are covered by kernel-made.test.ts.
 */
export async function compareWithTree(image: string, manifest: ManifestEntry[]): Promise<Summary> {
  const source = await openFile(image);
  const img = await openXfs(source);
  const reader = img.reader as XfsReader;
  const walkIssues: Issue[] = [];
  const t0 = performance.now();
  const got: WalkEntry[] = [];
  for await (const e of walk(img, { issues: walkIssues })) got.push(e);
  const walkMs = performance.now() - t0;
  assert.deepEqual(walkIssues, []);
  assert.deepEqual(got.map((e) => e.path), manifest.map((e) => e.path));
  const summary: Summary = { entries: got.length, files: 0, bytes: 0, headerlessSymlinks: [], walkMs };
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!;
    const w = manifest[i]!;
    const p = g.path;
    assert.equal(g.stat.type, w.type, `${p} type`);
    assert.equal(g.entry.type, w.type, `${p} directory entry type`);
    assert.equal(g.stat.mode, w.mode, `${p} mode`);
    assert.equal(g.stat.uid, w.uid, `${p} uid`);
    assert.equal(g.stat.gid, w.gid, `${p} gid`);
    if (g.stat.type === 'dir') continue;
    assert.equal(g.stat.size, w.size, `${p} size`);
    if (g.stat.type === 'chardev' || g.stat.type === 'blockdev') assert.deepEqual(g.stat.rdev, w.rdev, `${p} rdev`);
    if (g.stat.type === 'symlink') {
      const inode = await reader.inode(g.entry.ino);
      if (reader.sb.version === 5 && inode.format !== FMT_LOCAL) {
        await assert.rejects(img.readlink(p), CorruptError, `${p}: headerless v5 remote symlink must be refused`);
        summary.headerlessSymlinks.push(p);
      } else {
        assert.equal(await img.readlink(p), w.target, `${p} target`);
      }
    }
    if (g.stat.type === 'file') {
      const h = createHash('sha256');
      for await (const chunk of img.openInode(g.entry.ino, g.stat).stream({ chunkBytes: 1024 * 1024 })) h.update(chunk);
      assert.equal(h.digest('hex'), w.sha256, `${p} content`);
      summary.files++;
      summary.bytes += g.stat.size;
    }
  }
  // An absolute symlink resolves inside the image: the image's /etc/shadow, not the host's.
  assert.equal(new TextDecoder().decode(await img.readFile('/etc/abs-shadow')), 'root:image-shadow:19000:0:99999:7:::\n');
  assert.deepEqual(img.issues, []);
  await img.close();
  await source.close();
  return summary;
}
