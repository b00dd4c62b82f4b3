/**
 * Seeded mutation fuzzing of small real images: the superblock, group descriptors, the inode
 * table around the root and the first directories, extent blocks and directory blocks (linear and
 * htree). Each case opens the image, walks every directory, stats every entry, looks every name
 * up, reads every file and link; anything but a HullscanError or a hang fails with its seed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MemorySource } from '../../../src/disk/memory-source.ts';
import { openExt4 } from '../../../src/fs/ext4/index.ts';
import { fuzz, fuzzCases } from '../../helpers/fuzz.ts';
import { tempDir } from '../../helpers/tools.ts';
import { skipReason } from './conformance.ts';
import { debugfs, makeImage } from './images.ts';
import { exerciseFileSystem } from '../../helpers/fs-exercise.ts';

const BLOCK = 1024;
/** Bytes read per file per case: enough to cross extents, bounded against absurd sizes. */
const READ_BYTES = 256 * 1024;
const MAX_ENTRIES_PER_CASE = 2000;

let t: ReturnType<typeof tempDir> | undefined;

before(() => {
  if (!skipReason) t = tempDir('hullscan-ext4-fuzz-');
});
after(() => t?.cleanup());

async function buildSmallImage(name: string, mkfs: 'mkfs.ext4' | 'mkfs.ext2', args: string[]): Promise<{ bytes: Uint8Array; regions: Array<[number, number]> }> {
  const tree = join(t!.dir, `tree-${name}`);
  mkdirSync(join(tree, 'etc/sub'), { recursive: true });
  mkdirSync(join(tree, 'dir'));
  writeFileSync(join(tree, 'etc/hostname'), 'node-1\n');
  writeFileSync(join(tree, 'etc/sub/data'), new Uint8Array(40_000).map((_, i) => i * 7));
  symlinkSync('../etc/hostname', join(tree, 'etc/sub/link'));
  symlinkSync('/' + 'component/'.repeat(10), join(tree, 'slow-link'));
  const fd = openSync(join(tree, 'fragmented'), 'w');
  for (let i = 0; i < 8; i++) writeSync(fd, new Uint8Array(BLOCK).fill(i + 1), 0, BLOCK, i * 3 * BLOCK);
  closeSync(fd);
  for (let i = 0; i < 60; i++) writeFileSync(join(tree, 'dir', `a-longer-file-name-number-${i}`), String(i));
  const img = await makeImage(t!.dir, tree, { name, mkfs, args: ['-b', String(BLOCK), '-O', '^has_journal', '-N', '128', ...args], sizeMiB: 2 }, `${name}.img`);

  const regions: Array<[number, number]> = [[1024, 2048], [2 * BLOCK, 3 * BLOCK]];
  const imap = await debugfs(img, 'imap <2>');
  const table = Number(/located at block (\d+)/.exec(imap)?.[1]);
  regions.push([table * BLOCK, table * BLOCK + 8 * BLOCK]);
  for (const path of ['/', '/etc', '/dir', '/etc/sub']) {
    for (const b of (await debugfs(img, `blocks ${path}`)).trim().split(/\s+/).map(Number)) regions.push([b * BLOCK, (b + 1) * BLOCK]);
  }
  const etb = /\((?:ETB0|IND)\):(\d+)/.exec(await debugfs(img, 'stat /fragmented'))?.[1];
  if (etb !== undefined) regions.push([Number(etb) * BLOCK, (Number(etb) + 1) * BLOCK]);
  return { bytes: new Uint8Array(readFileSync(img)), regions };
}

/** Open, then walk + stat + lookup + read everything; only HullscanErrors may escape a step. */
async function exercise(bytes: Uint8Array): Promise<void> {
  const fs = await openExt4(new MemorySource(bytes));
  await exerciseFileSystem(fs, { maxEntries: MAX_ENTRIES_PER_CASE, readBytes: READ_BYTES, finalPath: '/etc/sub/link' });
}

for (const v of [
  { name: 'ext4 (extents, metadata_csum, htree)', id: 'ext4', mkfs: 'mkfs.ext4' as const, args: [] },
  { name: 'ext4 with inline_data', id: 'inline', mkfs: 'mkfs.ext4' as const, args: ['-O', 'inline_data'] },
  { name: 'ext2 (indirect block maps)', id: 'ext2', mkfs: 'mkfs.ext2' as const, args: [] },
]) {
  test(`fuzzing the metadata of a small ${v.name} image: only typed errors, no hangs`, { skip: skipReason }, async () => {
    const { bytes, regions } = await buildSmallImage(v.id, v.mkfs, v.args);
    await exercise(bytes); // the unmutated image itself must read cleanly
    const outcome = await fuzz(bytes, exercise, { regions, cases: fuzzCases(300), seed: 0xe4f5 + v.id.length, maxMutations: 4, allowTruncate: true, caseTimeoutMs: 3000 });
    assert.equal(outcome.cases, fuzzCases(300));
    console.log(`${v.name}: ${JSON.stringify(outcome)}`);
  });
}
