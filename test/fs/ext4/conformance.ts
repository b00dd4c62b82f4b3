/** The shared conformance suite: each mkfs variant of one tree must read back like the tree. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openFile } from '../../../src/disk/file-source.ts';
import { openExt4 } from '../../../src/fs/ext4/index.ts';
import { needTools, tempDir } from '../../helpers/tools.ts';
import { buildTree, compareWithTree } from './tree.ts';
import { debugfs, makeImage, type Variant } from './images.ts';

export const skipReason = needTools('mkfs.ext4', 'e2fsck', 'debugfs', 'mknod', 'mkfifo', 'truncate') || (process.getuid?.() !== 0 ? 'mkfs -d keeps owners and device nodes only when run as root' : false);

export interface ConformanceVariant extends Variant {
  type: 'ext2' | 'ext3' | 'ext4';
  /** Files whose i_size the tool gets wrong (debugfs is the oracle for them), with the reason. */
  toolSizeBugs?: { paths: string[]; reason: string };
}

export interface Fixture {
  dir: string;
  tree: string;
}

/** Registers one test per variant over a shared tree; returns the fixture for extra tests. */
export function conformanceSuite(variants: readonly ConformanceVariant[]): Fixture {
  const fx: Fixture = { dir: '', tree: '' };
  let t: ReturnType<typeof tempDir> | undefined;
  before(async () => {
    if (skipReason) return;
    t = tempDir('hullscan-ext4-');
    fx.dir = t.dir;
    fx.tree = join(t.dir, 'tree');
    await buildTree(fx.tree, { entries: 600 });
  });
  after(() => t?.cleanup());
  variants.forEach((v, i) => {
    test(`${v.name}: a full walk matches the source tree`, { skip: skipReason }, async () => {
      const img = await makeImage(fx.dir, fx.tree, v, `variant-${i}.img`);
      const sizeOverrides: Record<string, number> = {};
      for (const p of v.toolSizeBugs?.paths ?? []) sizeOverrides[p] = Number(/Size: (\d+)/.exec(await debugfs(img, `stat ${p}`))?.[1]);
      const src = await openFile(img);
      try {
        const fs = await openExt4(src);
        assert.equal(fs.type, v.type);
        const r = await compareWithTree(fs, fx.tree, { sizeOverrides });
        assert.deepEqual(r.mismatches, []);
        assert.deepEqual(r.issues, []);
        assert.deepEqual(fs.issues, []);
        assert.ok(r.entries > 600, `walked ${r.entries} entries`);
      } finally {
        await src.close();
      }
    });
  });
  return fx;
}
