/**
 * The same node tree in every filesystem, disk layout and container format must give one
 * inventory: the directory read of debianRoot() is the reference (itself checked against
 * dpkg-query in dpkg.test.ts), so a reader bug anywhere below the analyzers shows up here as a
 * difference in packages, digests, OS or kernel facts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Inventory } from '../../src/inventory/index.ts';
import { inventoryTarget } from '../../src/scan/inventory.ts';
import { CONTAINER_FORMATS, containerImage, debianRoot, DISK_LAYOUTS, fixtureOrSkip, FS_KINDS, fsImage, nodeDisk } from '../fixtures/node-image.ts';

/** The parts of an inventory that depend on the tree only (not on target name, time or container). */
function content(inv: Inventory): unknown {
  return { os: inv.os, packages: inv.packages, kernel: inv.kernel, analyzers: inv.analyzers, issues: inv.issues };
}

let reference: unknown;
async function referenceContent(t: { skip(m?: string): void }): Promise<unknown> {
  if (reference !== undefined) return reference;
  const root = await fixtureOrSkip(t, debianRoot());
  if (!root) return undefined;
  const r = await inventoryTarget(root);
  await r.close();
  reference = content(r.inventory);
  return reference;
}

async function assertSame(t: { skip(m?: string): void }, image: Promise<string>): Promise<void> {
  const ref = await referenceContent(t);
  const path = ref === undefined ? undefined : await fixtureOrSkip(t, image);
  if (!path) return;
  const r = await inventoryTarget(path);
  try {
    assert.deepEqual(content(r.inventory), ref);
  } finally {
    await r.close();
  }
}

for (const kind of FS_KINDS) {
  test(`the same inventory from a ${kind} filesystem image`, (t) => assertSame(t, fsImage(kind)));
}
for (const layout of DISK_LAYOUTS) {
  test(`the same inventory from a ${layout} disk`, (t) => assertSame(t, nodeDisk(layout)));
}
for (const format of CONTAINER_FORMATS) {
  test(`the same inventory from a ${format} container of the GPT/ext4 disk`, async (t) => {
    const raw = await fixtureOrSkip(t, nodeDisk('gpt-ext4'));
    if (raw) await assertSame(t, containerImage(raw, format));
  });
}
