import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzz, fuzzCases } from '../../helpers/fuzz.ts';
import type { XfsReader } from '../../../src/fs/xfs/index.ts';
import { needXfsTools } from './fixtures.ts';
import { exercise, firstExtent, locate, makeBtreeRoot, open, plantBmbtBlock, spareBlock, tinyImage } from './patch.ts';

test('fuzzed superblock, root inode cluster, directory and bmbt blocks: typed errors only, bounded time', { skip: needXfsTools(), timeout: 120_000 }, async () => {
  const img = await tinyImage();
  if (!(img instanceof Uint8Array)) return assert.fail(img.skip);
  // Give one file a real bmbt (root -> leaf) so the tree walker is fuzzed too.
  const loc = await locate(img, '/files/size-100000');
  const [fo, fb, n] = firstExtent(img, loc);
  const leaf = spareBlock(loc.sb);
  makeBtreeRoot(img, loc, 1, [leaf]);
  plantBmbtBlock(img, loc.sb, leaf, loc.ino, 0, { records: [[fo, fb, n]] });
  const fs = await open(img);
  const reader = fs.reader as XfsReader;
  const bs = reader.sb.blockBytes;
  const root = await locate(img, '/');
  const regions: Array<[number, number]> = [[0, 512], [root.at, root.at + 64 * reader.sb.inodeBytes], [loc.at, loc.at + 512], [leaf * bs, leaf * bs + bs]];
  for (const dir of ['/dir-60', '/dir-200', '/links']) {
    const inode = await reader.inode((await fs.lstat(dir)).ino);
    for (const e of inode.format === 1 ? [] : await reader.extents(inode)) regions.push([e.linearBlock * bs, (e.linearBlock + e.blocks) * bs]);
  }
  const dir5 = await locate(img, '/dir-5');
  regions.push([dir5.at, dir5.at + reader.sb.inodeBytes]);
  const outcome = await fuzz(img, exercise, { regions, cases: fuzzCases(250), seed: 0x5f5, caseTimeoutMs: 3000, maxMutations: 6, allowTruncate: true });
  assert.equal(outcome.cases, fuzzCases(250));
  console.log('xfs fuzz', outcome);
});
