import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzz, fuzzCases } from '../../helpers/fuzz.ts';
import type { XfsReader } from '../../../src/fs/xfs/index.ts';
import { needXfsTools } from './fixtures.ts';
import { exercise, locate, open, tinyImage } from './patch.ts';

test('fuzzed v4 (no CRC) superblock, inodes and directory blocks: typed errors only, bounded time', { skip: needXfsTools(), timeout: 120_000 }, async (t) => {
  const img = await tinyImage(['-m', 'crc=0', '-n', 'ftype=0', '-b', 'size=1024', '-i', 'size=256']);
  if (!(img instanceof Uint8Array)) return t.skip(img.skip);
  const fs = await open(img);
  const reader = fs.reader as XfsReader;
  const bs = reader.sb.blockBytes;
  const root = await locate(img, '/');
  const regions: Array<[number, number]> = [[0, 512], [root.at, root.at + 64 * reader.sb.inodeBytes]];
  for (const dir of ['/dir-60', '/dir-200', '/links', '/files']) {
    const inode = await reader.inode((await fs.lstat(dir)).ino);
    for (const e of inode.format === 1 ? [] : await reader.extents(inode)) regions.push([e.linearBlock * bs, (e.linearBlock + e.blocks) * bs]);
  }
  const link = await locate(img, '/links/long-1000');
  regions.push([link.at, link.at + reader.sb.inodeBytes]);
  const outcome = await fuzz(img, exercise, { regions, cases: fuzzCases(150), seed: 0x44, caseTimeoutMs: 3000, maxMutations: 6, allowTruncate: true });
  assert.equal(outcome.cases, fuzzCases(150));
});
