/**
 * Large shapes: a 5000-entry directory with a two-level htree (every name found by lookup through
 * the index agrees with the linear listing, for every hash algorithm and char signedness), and a
 * 5 GiB sparse file (i_size_high, extents and the triple-indirect map of ext2).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readSync, writeFileSync, writeSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { FileSource, openFile } from '../../../src/disk/file-source.ts';
import { Ext4Reader, openExt4 } from '../../../src/fs/ext4/index.ts';
import { tempDir } from '../../helpers/tools.ts';
import { skipReason } from './conformance.ts';
import { debugfs, indexDirectories, makeImage } from './images.ts';
import { assertBytesEqual } from '../../helpers/bytes.ts';

const ENTRIES = 5000;
let t: ReturnType<typeof tempDir> | undefined;
let dirImg = '';
let names: string[] = [];

before(async () => {
  if (skipReason) return;
  t = tempDir('hullscan-ext4-large-');
  const tree = join(t.dir, 'tree');
  mkdirSync(join(tree, 'big'), { recursive: true });
  // Names with bytes >= 0x80 hash differently under signed and unsigned char; long names need
  // more leaf blocks than one 1 KiB root indexes (123), so the tree gets a second level.
  const pad = '-padding-to-fill-leaf-blocks';
  names = Array.from({ length: ENTRIES }, (_, i) => (i % 5 === 0 ? `é-${i}-ü${pad}` : `file-${String(i).padStart(5, '0')}${pad}`));
  for (const n of names) writeFileSync(join(tree, 'big', n), '');
  dirImg = await makeImage(t.dir, tree, { name: 'bigdir', args: ['-b', '1024'] }, 'dir.img');
});

after(() => t?.cleanup());

const HASH_CONFIGS = [
  { hash: 'half_md4', flags: 1 },
  { hash: 'half_md4', flags: 2 },
  { hash: 'tea', flags: 1 },
  { hash: 'tea', flags: 2 },
  { hash: 'legacy', flags: 1 },
  { hash: 'legacy', flags: 2 },
];

for (const cfg of HASH_CONFIGS) {
  const label = `${cfg.hash} ${cfg.flags === 2 ? 'unsigned' : 'signed'}`;
  test(`5000-entry directory indexed with ${label}: each htree lookup agrees with readdir`, { skip: skipReason }, async () => {
    await debugfs(dirImg, `ssv def_hash_version ${cfg.hash}`, true);
    await debugfs(dirImg, `ssv flags ${cfg.flags}`, true);
    indexDirectories(dirImg);
    const dump = await debugfs(dirImg, 'htree_dump /big');
    assert.match(dump, /Indirect levels: 1/);
    assert.match(dump, new RegExp(`Hash Version: ${['legacy', 'half_md4', 'tea'].indexOf(cfg.hash)}\\b`));
    const src = await openFile(dirImg);
    try {
      const fs = await openExt4(src);
      const reader = fs.reader as Ext4Reader;
      const dirIno = (await fs.stat('/big')).ino;
      const listed = await reader.readdir(dirIno);
      assert.equal(listed.length, ENTRIES);
      assert.deepEqual(listed.map((e) => e.name).sort(), [...names].sort());
      for (const e of listed) assert.equal(await reader.lookup(dirIno, e.name), e.ino, e.name);
      for (const absent of ['file-99999', 'é-1-ü', 'nope', 'file-0000']) assert.equal(await reader.lookup(dirIno, absent), undefined, absent);
      assert.deepEqual(fs.issues, []);
    } finally {
      await src.close();
    }
  });
}

test('an htree lookup reads a root, an index node and a leaf, not the whole directory', { skip: skipReason }, async () => {
  const file = await FileSource.open(dirImg);
  try {
    const fs = await openExt4(file);
    const reader = fs.reader as Ext4Reader;
    const dir = await fs.stat('/big');
    const before = file.stats().bytesRead;
    const sample = names.filter((_, i) => i % 50 === 0);
    for (const name of sample) assert.notEqual(await reader.lookup(dir.ino, name), undefined, name);
    const perLookup = (file.stats().bytesRead - before) / sample.length;
    // Three 1 KiB blocks, plus the first lookup's inodes; a linear scan would read ~240 KiB.
    assert.ok(perLookup <= 4 * 1024 + 64 * 1024 / sample.length, `${perLookup} bytes per lookup (directory is ${dir.size})`);
  } finally {
    await file.close();
  }
});

const GiB = 1024 ** 3;
const PROBES: Array<[offset: number, bytes: Uint8Array]> = [
  [0, new TextEncoder().encode('start of a 5 GiB file')],
  [4 * GiB - 8, new TextEncoder().encode('across-the-4GiB-line')],
  [5 * GiB - 3, new TextEncoder().encode('end')],
];

for (const v of [
  { name: 'ext4 extents', mkfs: 'mkfs.ext4' as const, args: [] },
  { name: 'ext2 triple-indirect map (1 KiB blocks)', mkfs: 'mkfs.ext2' as const, args: ['-b', '1024'] },
]) {
  test(`5 GiB sparse file on ${v.name}: size from i_size_high, data around 4 GiB, holes as zeros`, { skip: skipReason }, async () => {
    const tree = join(t!.dir, `huge-${v.mkfs}`);
    mkdirSync(tree);
    const host = join(tree, 'huge');
    const fd = openSync(host, 'w');
    for (const [off, b] of PROBES) writeSync(fd, b, 0, b.length, off);
    closeSync(fd);
    truncateSync(host, 5 * GiB);
    const img = await makeImage(t!.dir, tree, { name: v.name, mkfs: v.mkfs, args: v.args, sizeMiB: 64 }, `huge-${v.mkfs}.img`);
    const src = await openFile(img);
    const hfd = openSync(host, 'r');
    try {
      const fs = await openExt4(src);
      const st = await fs.stat('/huge');
      assert.equal(st.size, 5 * GiB);
      const f = await fs.open('/huge');
      for (const [off, b] of PROBES) {
        const start = Math.max(0, off - 4096);
        const len = Math.min(5 * GiB - start, b.length + 8192);
        const want = new Uint8Array(len);
        readSync(hfd, want, 0, len, start);
        assertBytesEqual(await f.read(start, len), want, `offset ${off}`);
      }
      assert.ok((await f.read(2 * GiB, 1024 * 1024)).every((x) => x === 0));
      assert.deepEqual(fs.issues, []);
    } finally {
      closeSync(hfd);
      await src.close();
    }
  });
}
