/** The btrfs driver in the probe list: it claims btrfs volumes and only those. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openFile } from '../../../src/disk/file-source.ts';
import { openBtrfs } from '../../../src/fs/btrfs/index.ts';
import { openFilesystem } from '../../../src/fs/registry.ts';
import { NotThisFormatError } from '../../../src/util/errors.ts';
import { fixtureOrSkip, fsImage, smallTree } from '../../fixtures/node-image.ts';

test('openFilesystem finds btrfs through the registry', { timeout: 60_000 }, async (t) => {
  const image = await fixtureOrSkip(t, fsImage('btrfs', smallTree()));
  if (image === undefined) return;
  const source = await openFile(image);
  try {
    const fs = await openFilesystem(source);
    assert.equal(fs.type, 'btrfs');
    assert.equal(fs.label, 'hullscan-btrfs');
    assert.match(new TextDecoder().decode(await fs.readFile('/etc/os-release')), /ID=/);
  } finally {
    await source.close();
  }
});

for (const kind of ['ext4', 'xfs'] as const) {
  test(`an ${kind} volume is NotThisFormatError for openBtrfs`, { timeout: 60_000 }, async (t) => {
    const image = await fixtureOrSkip(t, fsImage(kind, smallTree()));
    if (image === undefined) return;
    const source = await openFile(image);
    try {
      await assert.rejects(openBtrfs(source), NotThisFormatError);
    } finally {
      await source.close();
    }
  });
}
