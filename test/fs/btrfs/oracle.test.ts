/**
 * btrfs-progs as the oracle: `btrfs inspect-internal dump-super` for the superblock fields,
 * `dump-tree -t chunk` for the chunk map, `dump-tree -t fs` for directory hashes, inode numbers
 * and stored device numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openFile } from '../../../src/disk/file-source.ts';
import { btrfsNameHash, decodeIno, openBtrfs, type BtrfsReader } from '../../../src/fs/btrfs/index.ts';
import { fixtureOrSkip, fsImage, smallTree } from '../../fixtures/node-image.ts';
import { needTools, run } from '../../helpers/tools.ts';

const skip = needTools('btrfs');

function field(dump: string, name: string): string {
  const m = new RegExp(`^${name}\\s+(\\S+)`, 'm').exec(dump);
  assert.ok(m, `dump-super has no ${name}`);
  return m[1]!;
}

for (const kind of ['btrfs', 'btrfs-zstd'] as const) {
  test(`${kind}: superblock and chunk map agree with dump-super and dump-tree -t chunk`, { skip, timeout: 60_000 }, async (t) => {
    const image = await fixtureOrSkip(t, fsImage(kind));
    if (image === undefined) return;
    const source = await openFile(image);
    try {
      const fs = await openBtrfs(source);
      const { sb, chunkMap } = fs.reader as BtrfsReader;
      const sup = await run('btrfs', ['inspect-internal', 'dump-super', image]);
      assert.equal(sb.uuid, field(sup, 'fsid'));
      assert.equal(fs.uuid, field(sup, 'fsid'));
      assert.equal(sb.label, field(sup, 'label'));
      for (const [ours, theirs] of [
        [sb.generation, 'generation'],
        [sb.root, 'root'],
        [sb.rootLevel, 'root_level'],
        [sb.chunkRoot, 'chunk_root'],
        [sb.chunkRootLevel, 'chunk_root_level'],
        [sb.totalBytes, 'total_bytes'],
        [sb.sectorSize, 'sectorsize'],
        [sb.nodeSize, 'nodesize'],
        [sb.numDevices, 'num_devices'],
        [sb.logRoot, 'log_root'],
      ] as const) {
        assert.equal(ours, Number(field(sup, theirs)), theirs);
      }
      const chunkDump = await run('btrfs', ['inspect-internal', 'dump-tree', '-t', 'chunk', image]);
      const oracle = [...chunkDump.matchAll(/key \(FIRST_CHUNK_TREE CHUNK_ITEM (\d+)\)[^\n]*\n\s+length (\d+) owner \d+ stripe_len \d+ type (\S+)\n[^\n]*\n\s+num_stripes (\d+)[^\n]*\n\s+stripe 0 devid (\d+) offset (\d+)/g)].map((m) => ({
        logical: Number(m[1]),
        length: Number(m[2]),
        profile: m[3]!.split('|')[1]!.toUpperCase(),
        stripes: Number(m[4]),
        first: { devid: Number(m[5]), offset: Number(m[6]) },
      }));
      assert.ok(oracle.length >= 3, 'dump-tree listed the chunks');
      assert.deepEqual(
        chunkMap.chunks.map((c) => ({ logical: c.logical, length: c.length, profile: c.profile, stripes: c.stripes.length, first: c.stripes[0] })),
        oracle,
      );
    } finally {
      await source.close();
    }
  });
}

test('small tree: DIR_ITEM name hashes and DIR_INDEX inode numbers agree with dump-tree', { skip, timeout: 60_000 }, async (t) => {
  const image = await fixtureOrSkip(t, fsImage('btrfs', smallTree()));
  if (image === undefined) return;
  const dump = await run('btrfs', ['inspect-internal', 'dump-tree', '-t', 'fs', image]);
  const items = [...dump.matchAll(/key \((\d+) (DIR_ITEM|DIR_INDEX) (\d+)\)[^\n]*\n\s+location key \((\d+) INODE_ITEM 0\)[^\n]*\n[^\n]*\n\s+name: ([^\n]+)/g)];
  assert.ok(items.length > 50);
  const source = await openFile(image);
  try {
    const fs = await openBtrfs(source);
    const enc = new TextEncoder();
    let hashes = 0;
    const byDir = new Map<string, Map<string, number>>();
    for (const [, dir, type, offset, target, name] of items as unknown as Array<[string, string, string, string, string, string]>) {
      if (type === 'DIR_ITEM') {
        assert.equal(btrfsNameHash(enc.encode(name)), Number(offset), `hash of ${name}`);
        hashes++;
      } else {
        if (!byDir.has(dir)) byDir.set(dir, new Map());
        byDir.get(dir)!.set(name, Number(target));
      }
    }
    assert.ok(hashes > 50);
    // Every directory we walk lists exactly the DIR_INDEX entries dump-tree printed.
    const stack = ['/'];
    let dirs = 0;
    while (stack.length) {
      const path = stack.pop()!;
      const st = await fs.stat(path);
      const entries = await fs.readdir(path);
      const oracle = byDir.get(String(decodeIno(st.ino).objectId)) ?? new Map();
      assert.deepEqual(new Map(entries.map((e) => [e.name, decodeIno(e.ino).objectId])), oracle, path);
      dirs++;
      for (const e of entries) if (e.type === 'dir') stack.push(`${path === '/' ? '' : path}/${e.name}`);
    }
    assert.ok(dirs > 10);
  } finally {
    await source.close();
  }
});

test('device numbers: kernel-written images store MKDEV(major, minor), mkfs --rootdir stores 0', { skip, timeout: 60_000 }, async (t) => {
  for (const [kind, want] of [['btrfs-zstd', (1 << 20) | 3], ['btrfs', 0]] as const) {
    const image = await fixtureOrSkip(t, fsImage(kind));
    if (image === undefined) return;
    const source = await openFile(image);
    try {
      const fs = await openBtrfs(source);
      const st = await fs.lstat('/dev/null');
      const obj = decodeIno(st.ino).objectId;
      const dump = await run('btrfs', ['inspect-internal', 'dump-tree', '-t', 'fs', image]);
      const m = new RegExp(`key \\(${obj} INODE_ITEM 0\\)[^\\n]*\\n[^\\n]*\\n[^\\n]*rdev (\\d+)`).exec(dump);
      assert.ok(m, `dump-tree shows inode ${obj}`);
      assert.equal(Number(m[1]), want, `${kind} stored rdev`);
      assert.deepEqual(st.rdev, want === 0 ? { major: 0, minor: 0 } : { major: 1, minor: 3 });
    } finally {
      await source.close();
    }
  }
});
