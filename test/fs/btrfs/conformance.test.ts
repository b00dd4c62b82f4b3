/**
 * Conformance with the real tree: each btrfs fixture (mkfs.btrfs --rootdir, and kernel-written
 * zlib, lzo and zstd images made with compress-force) is walked whole and compared with the
 * Debian tree it was built from (see compare.ts for the reasoned skips).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openFile } from '../../../src/disk/file-source.ts';
import { openBtrfs } from '../../../src/fs/btrfs/index.ts';
import { debianRoot, fixtureOrSkip, fsImage, manifestOf } from '../../fixtures/node-image.ts';
import { compareBtrfs } from './compare.ts';

const KINDS = [
  { kind: 'btrfs', mkfsRootdir: true },
  { kind: 'btrfs-zlib', mkfsRootdir: false },
  { kind: 'btrfs-lzo', mkfsRootdir: false },
  { kind: 'btrfs-zstd', mkfsRootdir: false },
] as const;

for (const { kind, mkfsRootdir } of KINDS) {
  test(`${kind}: every entry of the Debian tree reads back identically`, { timeout: 120_000 }, async (t) => {
    const image = await fixtureOrSkip(t, fsImage(kind));
    const root = await fixtureOrSkip(t, debianRoot());
    if (image === undefined || root === undefined) return;
    const source = await openFile(image);
    try {
      const fs = await openBtrfs(source);
      const r = await compareBtrfs(fs, root, { mkfsRootdir });
      t.diagnostic(`${r.entries} entries, skipped ${JSON.stringify(r.skipped)}`);
      assert.deepEqual(r.unexplained, []);
      assert.deepEqual(r.issues, []);
      assert.deepEqual(fs.issues, []);
      assert.ok(r.entries > 10_000, `${r.entries} entries`);
      // Directories are always skipped for nlink; the other skips only where they apply.
      assert.ok((r.skipped['dir-nlink'] ?? 0) > 500);
      if (mkfsRootdir) assert.ok((r.skipped['mkfs-rootdir-rdev'] ?? 0) > 0);
      else assert.ok((r.skipped['mtime-ns'] ?? 0) > 100, 'kernel-written images keep sub-second mtimes');
      if (!mkfsRootdir) {
        const m = manifestOf(image);
        assert.ok(Number(m?.details['compressedExtents']) > 1000, 'the image really holds compressed extents');
      }
      const label = manifestOf(image)?.details['label'];
      assert.equal(fs.label, label);
    } finally {
      await source.close();
    }
  });
}
