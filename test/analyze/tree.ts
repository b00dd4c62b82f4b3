/** Builds small node trees in a temp dir for analyzer tests and runs analyzers over them. */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Analyzer } from '../../src/analyze/index.ts';
import { runAnalyzers } from '../../src/analyze/run.ts';
import { openDirectory } from '../../src/fs/directory/index.ts';
import type { Inventory } from '../../src/inventory/index.ts';
import { tempDir } from '../helpers/tools.ts';

/** A file's content, a symlink (`{ link: target }`), or a directory (`{ dir: true }`). */
export type TreeNode = string | Uint8Array | { link: string } | { dir: true };

export function plantTree(root: string, tree: Record<string, TreeNode>): void {
  for (const [rel, node] of Object.entries(tree)) {
    const p = join(root, rel);
    if (typeof node === 'object' && 'dir' in node) {
      mkdirSync(p, { recursive: true });
      continue;
    }
    mkdirSync(dirname(p), { recursive: true });
    if (typeof node === 'object' && 'link' in node) symlinkSync(node.link, p);
    else writeFileSync(p, node);
  }
}

/** Plants `tree`, runs `analyzers` over it as a directory target, cleans up. */
export async function inventoryOfTree(tree: Record<string, TreeNode>, analyzers: readonly Analyzer[], setup?: (root: string) => void): Promise<Inventory> {
  const t = tempDir('hullscan-analyze-');
  try {
    plantTree(t.dir, tree);
    setup?.(t.dir);
    const fs = await openDirectory(t.dir);
    try {
      return await runAnalyzers(fs, analyzers, { target: 'test-tree', scannedAt: new Date(0) });
    } finally {
      await fs.close();
    }
  } finally {
    t.cleanup();
  }
}
