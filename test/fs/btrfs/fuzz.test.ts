/**
 * Seeded mutation fuzzing of a small real btrfs image (fsImage('btrfs', smallTree()), packed:
 * see packed.ts): the superblock and every tree block. One run leaves the checksums as mutated
 * (the checksum checks must stop everything), one reseals them first so the mutations reach the
 * node, item and extent parsers. Each case opens, walks, stats, looks up and reads everything;
 * anything but a HullscanError, or a hang, fails with its seed.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { FixtureUnavailableError, fsImage, smallTree } from '../../fixtures/node-image.ts';
import { fuzz, fuzzCases } from '../../helpers/fuzz.ts';
import { needTools } from '../../helpers/tools.ts';
import { metadataRegions, openPacked, packImage, resealAll, type PackedImage } from './packed.ts';
import { exerciseFileSystem } from '../../helpers/fs-exercise.ts';

/** Bytes read per file per case. */
const READ_BYTES = 256 * 1024;
const MAX_ENTRIES_PER_CASE = 2000;

let img: PackedImage | undefined;
let skip: string | false = needTools('btrfs', 'mkfs.btrfs');

before(async () => {
  if (skip) return;
  try {
    img = await packImage(await fsImage('btrfs', smallTree()));
  } catch (err) {
    if (!(err instanceof FixtureUnavailableError)) throw err;
    skip = err.message;
  }
});

/** Open, then walk + stat + lookup + read everything; only HullscanErrors may escape a step. */
async function exercise(bytes: Uint8Array): Promise<number> {
  const fs = await openPacked(img!, bytes);
  return await exerciseFileSystem(fs, { maxEntries: MAX_ENTRIES_PER_CASE, readBytes: READ_BYTES, finalPath: '/etc/os-release' });
}

for (const resealed of [false, true]) {
  test(`fuzzing the superblock and tree blocks of a small btrfs image${resealed ? ' (checksums resealed)' : ''}: only typed errors, no hangs`, { timeout: 120_000 }, async (t) => {
    if (skip || !img) return t.skip(skip || 'no image');
    assert.ok((await exercise(img.bytes)) > 100, 'the unmutated image walks whole');
    const regions = metadataRegions(img.layout);
    const cases = fuzzCases(150);
    const outcome = await fuzz(
      img.bytes,
      (bytes) => {
        if (resealed) resealAll(img!.layout, bytes);
        return exercise(bytes);
      },
      { regions, cases, seed: resealed ? 0xb7f5 : 0xb7f0, maxMutations: 4, allowTruncate: true, caseTimeoutMs: 3000 },
    );
    assert.equal(outcome.cases, cases);
    t.diagnostic(JSON.stringify(outcome));
  });
}
