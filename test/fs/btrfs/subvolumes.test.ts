/**
 * Subvolumes on a kernel-made image (Ubuntu-style @, @home, @snapshots/1; @ is the default):
 * the list matches what `btrfs subvolume list` printed when the image was built (recorded in
 * the fixture manifest), `/` is the default subvolume, a subvolume's entry in its parent is its
 * root directory, and the read-only snapshot reads back as the tree it was taken of.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openFile } from '../../../src/disk/file-source.ts';
import { decodeIno, openBtrfs, type BtrfsReader } from '../../../src/fs/btrfs/index.ts';
import { debianRoot, fixtureOrSkip, fsImage, manifestOf } from '../../fixtures/node-image.ts';
import { UsageError } from '../../../src/util/errors.ts';
import { compareBtrfs } from './compare.ts';

const AFTER = '/var/lib/hullscan-test/after-snapshot.txt';
const text = (b: Uint8Array) => new TextDecoder().decode(b);

test('btrfs-subvol: subvolumes as `btrfs subvolume list` lists them, default subvolume as /', { timeout: 60_000 }, async (t) => {
  const image = await fixtureOrSkip(t, fsImage('btrfs-subvol'));
  if (image === undefined) return;
  const details = manifestOf(image)!.details as { subvolumes: Array<{ id: number; parent: number; path: string }>; defaultSubvolume: number };
  const source = await openFile(image);
  try {
    const fs = await openBtrfs(source);
    const reader = fs.reader as BtrfsReader;
    assert.deepEqual(
      reader.subvolumes.map((s) => ({ id: s.id, parent: s.parentId, path: s.path })),
      details.subvolumes,
    );
    assert.deepEqual(reader.subvolumes.map((s) => s.readOnly), [false, false, false, true], 'only the snapshot is read-only');
    assert.equal(reader.defaultSubvolume, details.defaultSubvolume);
    assert.equal(decodeIno(reader.rootIno).subvolumeId, 256);
    // The default subvolume @ holds the tree plus the file written after the snapshot.
    assert.match(text(await fs.readFile(AFTER)), /written after @snapshots\/1/);
    assert.ok((await fs.stat('/etc/os-release')).size > 0);
    assert.deepEqual(fs.issues, []);
  } finally {
    await source.close();
  }
});

test('btrfs-subvol: the top level shows each subvolume as a directory that is its root', { timeout: 60_000 }, async (t) => {
  const image = await fixtureOrSkip(t, fsImage('btrfs-subvol'));
  if (image === undefined) return;
  const source = await openFile(image);
  try {
    const top = await openBtrfs(source, { subvolume: 5 });
    const names = (await top.readdir('/')).map((e) => `${e.name}:${e.type}`).sort();
    assert.deepEqual(names, ['@:dir', '@home:dir', '@snapshots:dir']);
    const at = await top.stat('/@');
    assert.deepEqual(decodeIno(at.ino), { subvolumeId: 256, objectId: 256 });
    assert.deepEqual(decodeIno((await top.stat('/@snapshots/1')).ino), { subvolumeId: 259, objectId: 256 });
    assert.equal(text(await top.readFile('/@home/azureuser/notes.txt')), 'hullscan: a file in the @home subvolume\n');
    // Paths cross subvolume boundaries both ways ('..' from a subvolume root goes to its parent).
    assert.equal(text(await top.readFile('/@snapshots/1/../../@home/azureuser/notes.txt')), 'hullscan: a file in the @home subvolume\n');
    assert.match(text(await top.readFile(`/@${AFTER}`)), /after/);
    await assert.rejects(top.stat(`/@snapshots/1${AFTER}`), /ENOENT/, 'the snapshot predates the file');
    // The same inode through the default mount and through the top level.
    const viaDefault = await openBtrfs(source);
    assert.equal((await viaDefault.stat('/etc/passwd')).ino, (await top.stat('/@/etc/passwd')).ino);
  } finally {
    await source.close();
  }
});

test('btrfs-subvol: the read-only snapshot @snapshots/1 reads back as the tree it was taken of', { timeout: 120_000 }, async (t) => {
  const image = await fixtureOrSkip(t, fsImage('btrfs-subvol'));
  const root = await fixtureOrSkip(t, debianRoot());
  if (image === undefined || root === undefined) return;
  const source = await openFile(image);
  try {
    const fs = await openBtrfs(source, { subvolume: 259 });
    const r = await compareBtrfs(fs, root, { mkfsRootdir: false });
    t.diagnostic(`${r.entries} entries, skipped ${JSON.stringify(r.skipped)}`);
    assert.deepEqual(r.unexplained, []);
    assert.deepEqual(fs.issues, []);
    assert.ok(r.entries > 10_000);
  } finally {
    await source.close();
  }
});

test('btrfs-subvol: asking for a subvolume that does not exist is UsageError listing the ones that do', { timeout: 60_000 }, async (t) => {
  const image = await fixtureOrSkip(t, fsImage('btrfs-subvol'));
  if (image === undefined) return;
  const source = await openFile(image);
  try {
    await assert.rejects(openBtrfs(source, { subvolume: 4242 }), (e: unknown) => e instanceof UsageError && /5, 256, 257, 258, 259/.test(e.message));
  } finally {
    await source.close();
  }
});
