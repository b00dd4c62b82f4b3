import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apkAnalyzer } from '../../src/analyze/apk/index.ts';
import { dpkgAnalyzer } from '../../src/analyze/dpkg/index.ts';
import { kernelAnalyzer } from '../../src/analyze/kernel/index.ts';
import { osReleaseAnalyzer } from '../../src/analyze/os-release/index.ts';
import { ANALYZERS } from '../../src/analyze/registry.ts';
import { inventoryCommand, renderInventoryTable } from '../../src/cli/commands/inventory.ts';
import { describeError, EXIT_USAGE } from '../../src/cli/errors.ts';
import { UsageError } from '../../src/util/errors.ts';
import { inventoryFileSystem, inventoryTarget } from '../../src/scan/inventory.ts';
import { openTargetFilesystem } from '../../src/scan/target.ts';
import type { Inventory } from '../../src/inventory/index.ts';
import { debianRoot, fixtureOrSkip, fsImage, nodeDisk } from '../fixtures/node-image.ts';
import { MiB } from '../../src/util/units.ts';

/**
 * For the metadata analyzers (OS, package databases, kernel): measured 9.3 MB (metadata + 0.7 MB
 * of databases, in 1 MiB cache chunks) on the 843 MB disk; this leaves headroom, not a full read.
 * go-binary reads parts of executables and is measured on its own.
 */
const INVENTORY_READ_BUDGET_BYTES = 32 * MiB;

test('inventoryTarget on debianRoot(): OS, packages, kernel, analyzer versions; JSON form is the object', async (t) => {
  const root = await fixtureOrSkip(t, debianRoot());
  if (!root) return;
  const { inventory, close } = await inventoryTarget(root, { node: { cluster: 'c1', node: 'aks-np1-0' } });
  await close();
  assert.equal(inventory.target, root);
  assert.deepEqual(inventory.node, { cluster: 'c1', node: 'aks-np1-0' });
  assert.deepEqual([inventory.os?.family, inventory.os?.versionId, inventory.os?.codename], ['debian', '12', 'bookworm']);
  assert.ok(inventory.packages.length > 100);
  const debs = inventory.packages.filter((p) => p.foundBy === 'dpkg');
  assert.ok(debs.length > 100 && debs.every((p) => p.type === 'deb' && p.versionScheme === 'deb' && p.source !== undefined));
  assert.deepEqual(inventory.analyzers, Object.fromEntries(ANALYZERS.map((a) => [a.id, a.version])));
  assert.deepEqual(JSON.parse(JSON.stringify(inventory)), inventory);
});

test('inventoryFileSystem reuses an opened filesystem (an XFS image of the same tree gives the same packages)', async (t) => {
  const root = await fixtureOrSkip(t, debianRoot());
  const img = await fixtureOrSkip(t, fsImage('xfs'));
  if (!root || !img) return;
  const opened = await openTargetFilesystem(img);
  let fromXfs: Inventory;
  try {
    fromXfs = await inventoryFileSystem(opened.fs, img);
  } finally {
    await opened.close();
  }
  const fromDir = await inventoryTarget(root);
  await fromDir.close();
  assert.deepEqual(fromXfs.packages, fromDir.inventory.packages);
  assert.deepEqual(fromXfs.kernel, fromDir.inventory.kernel);
});

test('hullscan inventory: table and json formats, usage errors', async (t) => {
  const root = await fixtureOrSkip(t, debianRoot());
  if (!root) return;
  let out = '';
  assert.equal(await inventoryCommand([root, '--format', 'json'], (s) => (out += s)), 0);
  const inv = JSON.parse(out) as Inventory;
  assert.equal(inv.os?.id, 'debian');
  out = '';
  assert.equal(await inventoryCommand([root], (s) => (out += s)), 0);
  assert.equal(out, renderInventoryTable(inv));
  assert.match(out, /^OS: +Debian GNU\/Linux 12 \(bookworm\)/m);
  assert.match(out, /^deb +bash +\S+ +amd64 +bash /m);
  // Usage errors are typed; the CLI maps them to exit code 2 in one place (cli/errors.ts).
  for (const args of [[root, '--format', 'xml'], [], [root, root]]) {
    const err = await inventoryCommand(args, () => {}).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof UsageError, `${args.join(' ')}: ${String(err)}`);
    assert.equal(describeError(err).code, EXIT_USAGE);
  }
});

test('inventory reads metadata and package databases, not the disk', async (t) => {
  const disk = await fixtureOrSkip(t, nodeDisk('gpt-ext4'));
  if (!disk) return;
  const opened = await openTargetFilesystem(disk);
  try {
    const before = opened.disk!.medium.stats().bytesRead;
    const inv = await inventoryFileSystem(opened.fs, disk, { analyzers: [osReleaseAnalyzer, dpkgAnalyzer, apkAnalyzer, kernelAnalyzer] });
    const read = opened.disk!.medium.stats().bytesRead - before;
    assert.ok(inv.packages.length > 100);
    assert.ok(read < INVENTORY_READ_BUDGET_BYTES, `read ${read} bytes`);
    assert.ok(read < opened.disk!.medium.size / 20, `read ${read} of ${opened.disk!.medium.size} bytes`);
  } finally {
    await opened.close();
  }
});
