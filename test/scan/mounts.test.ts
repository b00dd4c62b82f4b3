/**
 * Composing a node's volumes by its /etc/fstab: disks whose tree is split across a root, a
 * separate /boot and a separate /var (on GPT partitions and on LVM), built by the real tools
 * (test/fixtures/disk-layouts.ts), must read as the one tree they were split from; entries that
 * name no readable volume are coverage issues.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFile } from '../../src/disk/file-source.ts';
import { openDirectory } from '../../src/fs/directory/index.ts';
import { parseFstab } from '../../src/fs/fstab.ts';
import { PathFileSystem } from '../../src/fs/path-fs.ts';
import { walk } from '../../src/fs/walk.ts';
import type { Inventory } from '../../src/inventory/index.ts';
import { composeMounts, resolveSpec } from '../../src/scan/mounts.ts';
import { inventoryTarget } from '../../src/scan/inventory.ts';
import { openTargetFilesystem } from '../../src/scan/target.ts';
import type { Volume } from '../../src/volume/index.ts';
import { debianRoot, fixtureOrSkip, nodeDisk, smallTree, SPLIT_LAYOUTS } from '../fixtures/node-image.ts';
import { fixtureCacheDir, needTools, run, tempDir } from '../helpers/tools.ts';

function content(inv: Inventory): unknown {
  return { os: inv.os, packages: inv.packages, kernel: inv.kernel, analyzers: inv.analyzers };
}

/** Path → type, mode and size of every entry of a tree, without what a split adds or changes. */
async function listing(fs: PathFileSystem): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of walk(fs)) {
    if (e.path === '/etc/fstab' || /\/lost\+found$/.test(e.path) || e.path === '/boot/efi') continue;
    out.set(e.path, `${e.stat.type} ${e.stat.mode.toString(8)} ${e.stat.type === 'dir' ? '' : e.stat.size}`);
  }
  return out;
}

/** The Debian root is used when built (CI builds it first) or when HULLSCAN_BUILD_FIXTURES=1. */
function debianAvailable(): boolean {
  return process.env['HULLSCAN_BUILD_FIXTURES'] === '1' || existsSync(join(fixtureCacheDir(), 'debian-root', 'manifest.json'));
}

const TREES = [
  ['small tree', () => smallTree()],
  ['Debian tree', () => debianRoot()],
] as const;

const EXPECTED_MOUNTS: Record<(typeof SPLIT_LAYOUTS)[number], Array<{ mountPoint: string; volume: string }>> = {
  'gpt-split': [{ mountPoint: '/boot', volume: 'p2' }, { mountPoint: '/var', volume: 'p4' }],
  'lvm-split': [{ mountPoint: '/boot', volume: 'p2' }, { mountPoint: '/var', volume: 'lvm:nodevg/var' }],
};
/** Issues (code and mount point) each layout's fstab must produce. */
const EXPECTED_ISSUES: Record<(typeof SPLIT_LAYOUTS)[number], string[]> = {
  'gpt-split': ['info mount.unreadable /etc/fstab:4 /boot/efi', 'info mount.unresolved /etc/fstab:8 /mnt'],
  'lvm-split': [],
};

for (const layout of SPLIT_LAYOUTS) {
  for (const [treeName, tree] of TREES) {
    test(`${layout} (${treeName}): the composed disk reads as the tree it was split from`, async (t) => {
      if (treeName === 'Debian tree' && !debianAvailable()) {
        t.skip('the Debian root is not built (node scripts/fixtures.ts --all, or HULLSCAN_BUILD_FIXTURES=1)');
        return;
      }
      const root = await fixtureOrSkip(t, tree());
      if (!root) return;
      const disk = await fixtureOrSkip(t, nodeDisk(layout, { tree: root }));
      if (!disk) return;

      const opened = await openTargetFilesystem(disk);
      const dir = await openDirectory(root);
      try {
        assert.deepEqual(opened.mounts.map((m) => ({ mountPoint: m.mountPoint, volume: m.volume })), EXPECTED_MOUNTS[layout]);
        assert.deepEqual(opened.issues.map((i) => `${i.severity} ${i.code} ${i.location}`).sort(), EXPECTED_ISSUES[layout]);
        // Every path of the tree, with its type, mode and size, and nothing else.
        const want = await listing(dir as PathFileSystem);
        const got = await listing(opened.fs as PathFileSystem);
        assert.deepEqual([...got.keys()].filter((p) => !want.has(p)), [], 'paths only in the composed disk');
        assert.deepEqual([...want.keys()].filter((p) => !got.has(p)), [], 'paths missing from the composed disk');
        for (const [p, v] of want) assert.equal(got.get(p), v, p);
        // Files on each volume read back whole.
        assert.equal(Buffer.from(await opened.fs.readFile('/var/lib/dpkg/status')).equals(Buffer.from(await dir.readFile('/var/lib/dpkg/status'))), true);
      } finally {
        await dir.close();
        await opened.close();
      }

      // The same inventory as the tree itself: kernels from /boot, packages from /var.
      const ref = await inventoryTarget(root);
      const inv = await inventoryTarget(disk);
      try {
        assert.ok(inv.inventory.packages.length > 0 && inv.inventory.kernel?.installed.length, 'packages and kernels found');
        assert.deepEqual(content(inv.inventory), content(ref.inventory));
      } finally {
        await ref.close();
        await inv.close();
      }

      // The root alone (no composition) lacks both: what this test would miss without mounts.
      const alone = await openTargetFilesystem(disk, { mounts: false });
      try {
        assert.deepEqual(alone.mounts, []);
        assert.deepEqual(await alone.fs.readdir('/var'), []);
        assert.deepEqual(await alone.fs.readdir('/boot'), []);
      } finally {
        await alone.close();
      }
    });
  }
}

test('fstab parsing: comments, defaults, octal escapes, short lines', () => {
  const { entries, malformed } = parseFstab('# c\n\nLABEL=my\\040disk /mnt/with\\040space ext4 ro,noatime 0 2\nUUID=abc /data\n  broken\n');
  assert.deepEqual(entries, [
    { spec: 'LABEL=my disk', mountPoint: '/mnt/with space', type: 'ext4', options: ['ro', 'noatime'], line: 3 },
    { spec: 'UUID=abc', mountPoint: '/data', type: 'auto', options: ['defaults'], line: 4 },
  ]);
  assert.deepEqual(malformed, [5]);
});

test('device specs resolve by filesystem UUID and label, GPT and MBR partition UUID, partition name, LVM paths', () => {
  const vol = (id: string, extra: Partial<Volume>): Volume => ({ id, scheme: 'gpt', offset: 0, size: 1, source: undefined, issues: [], ...extra });
  const volumes = [
    vol('p1', { partitionNumber: 1, partitionGuid: 'AAAAAAAA-0000-4000-8000-000000000001', name: 'boot' }),
    vol('p5', { scheme: 'mbr', partitionNumber: 5 }),
    vol('lvm:vg-a/lv-b', { scheme: 'lvm', lvm: { vg: 'vg-a', lv: 'lv-b', segments: [], pvs: [] } }),
    vol('lvm:nodevg/var', { scheme: 'lvm', lvm: { vg: 'nodevg', lv: 'var', segments: [], pvs: [] } }),
  ];
  const disk = {
    layout: { scheme: 'gpt' as const, volumes, issues: [], details: { mbrDiskSignature: '48554c4c' } },
    filesystems: new Map([
      ['p1', { type: 'ext4' as const, uuid: '0f1e2d3c-0000-4000-8000-000000000001', label: 'boot' }],
      ['p5', { type: 'xfs' as const, uuid: '11111111-2222-4333-8444-555555555555', label: 'my disk' }],
    ]),
  };
  const id = (spec: string): string => {
    const r = resolveSpec(spec, disk);
    return 'volume' in r ? r.volume.id : `none: ${r.reason}`;
  };
  assert.equal(id('UUID=0F1E2D3C-0000-4000-8000-000000000001'), 'p1');
  assert.equal(id('LABEL=boot'), 'p1');
  assert.equal(id('/dev/disk/by-label/my\\x20disk'), 'p5');
  assert.equal(id('/dev/disk/by-uuid/11111111-2222-4333-8444-555555555555'), 'p5');
  assert.equal(id('PARTUUID=aaaaaaaa-0000-4000-8000-000000000001'), 'p1');
  assert.equal(id('PARTUUID=48554c4c-05'), 'p5', 'MBR: disk signature and partition number');
  assert.equal(id('PARTLABEL=boot'), 'p1');
  assert.equal(id('/dev/mapper/vg--a-lv--b'), 'lvm:vg-a/lv-b', 'dashes doubled in device-mapper names');
  assert.equal(id('/dev/nodevg/var'), 'lvm:nodevg/var');
  assert.match(id('UUID=deadbeef'), /^none: no volume on this disk has filesystem UUID deadbeef/);
  assert.match(id('/dev/sda1'), /^none: .*depends on the machine/);
  assert.match(id('/dev/mapper/luks-1234'), /^none: no volume on this disk has logical volume luks\/1234/);
});

const tmp = tempDir('hullscan-mounts-');
after(() => tmp.cleanup());

test('composition over real ext4 volumes: nested mounts, a missing mount point made, unresolved and noauto entries reported', { skip: needTools('mke2fs') }, async () => {
  const dir = tmp.dir;
  const mk = async (name: string, uuid: string, files: Record<string, string>): Promise<string> => {
    const src = join(dir, `${name}-src`);
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(join(src, p, '..'), { recursive: true });
      writeFileSync(join(src, p), text);
    }
    const img = join(dir, `${name}.img`);
    await run('mke2fs', ['-q', '-F', '-t', 'ext4', '-U', uuid, '-d', src, img, '8M']);
    return img;
  };
  const U = (n: number): string => `00000000-0000-4000-8000-00000000000${n}`;
  const data = await mk('data', U(1), { 'inner/.keep': '', 'a.txt': 'on data\n' });
  const inner = await mk('inner', U(2), { 'b.txt': 'on inner\n' });
  const rootDir = join(dir, 'root');
  mkdirSync(join(rootDir, 'etc'), { recursive: true });
  mkdirSync(join(rootDir, 'srv'), { recursive: true });
  writeFileSync(join(rootDir, 'srv', 'shadowed.txt'), 'hidden by the mount\n');
  writeFileSync(
    join(rootDir, 'etc', 'fstab'),
    [`UUID=${U(2)} /srv/inner ext4 defaults 0 2`, `UUID=${U(1)} /srv ext4 defaults 0 2`, `UUID=${U(3)} /opt ext4 defaults 0 2`, `UUID=${U(1)} /media ext4 noauto 0 0`, `UUID=${U(2)} /data2 ext4 defaults 0 2`].join('\n'),
  );
  const sources = [await openFile(data), await openFile(inner)];
  const volumes: Volume[] = sources.map((source, i) => ({ id: `p${i + 1}`, scheme: 'gpt', offset: 0, size: source.size, source, issues: [] }));
  const disk = {
    layout: { scheme: 'gpt' as const, volumes, issues: [], details: {} },
    filesystems: new Map([['p1', { type: 'ext4' as const, uuid: U(1) }], ['p2', { type: 'ext4' as const, uuid: U(2) }]]),
  };
  const root = await openDirectory(rootDir);
  const c = await composeMounts(root as PathFileSystem, { id: 'root', scheme: 'none', offset: 0, size: 0, source: undefined, issues: [] }, disk);
  try {
    // Parents first, then fstab order; /data2 does not exist in the root (systemd makes it).
    assert.deepEqual(c.mounts.map((m) => `${m.mountPoint} ${m.volume}`), ['/srv p1', '/data2 p2', '/srv/inner p2']);
    assert.equal(new TextDecoder().decode(await c.fs.readFile('/srv/a.txt')), 'on data\n');
    assert.equal(new TextDecoder().decode(await c.fs.readFile('/srv/inner/b.txt')), 'on inner\n', 'a mount inside a mount');
    await assert.rejects(c.fs.stat('/srv/shadowed.txt'), /ENOENT/);
    assert.deepEqual((await c.fs.readdir('/srv')).map((e) => e.name).sort(), ['a.txt', 'inner', 'lost+found']);
    assert.deepEqual((await c.fs.readdir('/')).map((e) => e.name).sort(), ['data2', 'etc', 'srv']);
    assert.equal(new TextDecoder().decode(await c.fs.readFile('/data2/b.txt')), 'on inner\n');
    // Distinct inode ids across volumes: the same inode number on two filesystems is two files.
    assert.notEqual((await c.fs.stat('/srv/a.txt')).ino, (await c.fs.stat('/srv/inner/b.txt')).ino);
    const walked: string[] = [];
    for await (const e of walk(c.fs)) if (e.stat.type === 'file') walked.push(e.path);
    assert.ok(walked.includes('/srv/inner/b.txt') && walked.includes('/srv/a.txt'), walked.join(','));
    assert.deepEqual(c.issues.map((i) => `${i.severity} ${i.code} ${i.location}`), ['info mount.noauto /etc/fstab:4 /media', 'warning mount.unresolved /etc/fstab:3 /opt']);
  } finally {
    await c.fs.close();
  }
});
