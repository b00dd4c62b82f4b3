/**
 * Seeded mutation fuzzing of a small real btrfs image (fsImage('btrfs', smallTree()), packed:
 * see packed.ts): the superblock and every tree block. One run leaves the checksums as mutated
 * (the checksum checks must stop everything), one reseals them first so the mutations reach the
 * node, item and extent parsers. Each case opens, walks, stats, looks up and reads everything;
 * anything but a HullscanError, or a hang, fails with its seed.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { InodeId } from '../../../src/fs/index.ts';
import { HullscanError } from '../../../src/util/errors.ts';
import { FixtureUnavailableError, fsImage, smallTree } from '../../fixtures/node-image.ts';
import { fuzz, fuzzCases } from '../../helpers/fuzz.ts';
import { needTools } from '../../helpers/tools.ts';
import { metadataRegions, openPacked, packImage, resealAll, type PackedImage } from './packed.ts';

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

/** Open + walk + stat + lookup + read everything; only HullscanErrors may escape a step. */
async function exercise(bytes: Uint8Array): Promise<number> {
  const fs = await openPacked(img!, bytes);
  const reader = fs.reader;
  const stack: InodeId[] = [reader.rootIno];
  const seen = new Set(stack);
  let entries = 0;
  const guard = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      if (!(err instanceof HullscanError)) throw err;
    }
  };
  while (stack.length > 0 && entries < MAX_ENTRIES_PER_CASE) {
    const dir = stack.pop()!;
    let list: Awaited<ReturnType<typeof reader.readdir>> = [];
    await guard(async () => (list = await reader.readdir(dir)));
    for (const e of list) {
      if (++entries > MAX_ENTRIES_PER_CASE) break;
      await guard(() => reader.lookup!(dir, e.name));
      await guard(async () => {
        const st = await reader.stat(e.ino);
        if (st.type === 'dir' && !seen.has(e.ino)) {
          seen.add(e.ino);
          stack.push(e.ino);
        }
        if (st.type === 'file') await reader.read(e.ino, 0, Math.min(st.size, READ_BYTES));
        if (st.type === 'symlink') await reader.readlink(e.ino);
      });
    }
  }
  await guard(() => fs.readFile('/etc/os-release', { maxBytes: READ_BYTES }));
  return entries;
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
