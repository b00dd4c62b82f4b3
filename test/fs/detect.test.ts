import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFile } from '../../src/disk/file-source.ts';
import { MemorySource } from '../../src/disk/memory-source.ts';
import { detectFilesystem, type FsSignature } from '../../src/fs/detect.ts';
import { canUseLoopDevices, needTools, run, tempDir } from '../helpers/tools.ts';
import { fuzz, fuzzCases } from '../helpers/fuzz.ts';

const BLKID_TYPES: Record<string, FsSignature['type']> = {
  ext2: 'ext2', ext3: 'ext3', ext4: 'ext4', xfs: 'xfs', btrfs: 'btrfs', vfat: 'vfat', swap: 'swap', crypto_LUKS: 'luks', LVM2_member: 'lvm2-pv',
};

async function blkid(path: string): Promise<Record<string, string>> {
  const out = await run('blkid', ['-p', '-o', 'export', path]);
  // `-o export` shell-escapes values ("LVM2\ 001").
  return Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/\\(.)/g, '$1')]));
}

interface Case {
  name: string;
  tools: string[];
  size: string;
  make: (img: string, dir: string) => Promise<void>;
  /** blkid reports the sector size as BLOCK_SIZE for XFS; we report the filesystem block size. */
  compareBlockSize?: boolean;
  expect: Partial<FsSignature>;
}

const UUID = '5e1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b';

const CASES: Case[] = [
  { name: 'ext2', tools: ['mkfs.ext2'], size: '8M', make: (img) => run('mkfs.ext2', ['-q', '-L', 'data2', '-U', UUID, img]).then(() => undefined), expect: { type: 'ext2', label: 'data2', uuid: UUID } },
  { name: 'ext3 (has_journal)', tools: ['mkfs.ext3'], size: '8M', make: (img) => run('mkfs.ext3', ['-q', '-L', 'data3', '-U', UUID, img]).then(() => undefined), expect: { type: 'ext3' } },
  { name: 'ext4 with 4 KiB blocks', tools: ['mkfs.ext4'], size: '16M', make: (img) => run('mkfs.ext4', ['-q', '-b', '4096', '-L', 'cloudimg-rootfs', '-U', UUID, img]).then(() => undefined), expect: { type: 'ext4', blockSize: 4096 } },
  { name: 'ext4 without journal (extents make it ext4)', tools: ['mkfs.ext4'], size: '8M', make: (img) => run('mkfs.ext4', ['-q', '-O', '^has_journal', img]).then(() => undefined), expect: { type: 'ext4' } },
  { name: 'xfs', tools: ['mkfs.xfs'], size: '300M', compareBlockSize: false, make: (img) => run('mkfs.xfs', ['-q', '-L', 'xfsroot', '-m', `uuid=${UUID}`, img]).then(() => undefined), expect: { type: 'xfs', label: 'xfsroot', blockSize: 4096 } },
  { name: 'btrfs', tools: ['mkfs.btrfs'], size: '128M', make: (img) => run('mkfs.btrfs', ['-q', '-L', 'btrroot', '-U', UUID, img]).then(() => undefined), expect: { type: 'btrfs', label: 'btrroot' } },
  { name: 'vfat FAT12', tools: ['mkfs.vfat'], size: '4M', make: (img) => run('mkfs.vfat', ['-F', '12', '-n', 'SMALL', '-i', '1a2b3c4d', img]).then(() => undefined), expect: { type: 'vfat', version: 'FAT12', uuid: '1A2B-3C4D' } },
  { name: 'vfat FAT16', tools: ['mkfs.vfat'], size: '40M', make: (img) => run('mkfs.vfat', ['-F', '16', '-n', 'MIDDLE', img]).then(() => undefined), expect: { type: 'vfat', version: 'FAT16' } },
  { name: 'vfat FAT32 ESP', tools: ['mkfs.vfat'], size: '40M', make: (img) => run('mkfs.vfat', ['-F', '32', '-n', 'UEFI', img]).then(() => undefined), expect: { type: 'vfat', version: 'FAT32', label: 'UEFI' } },
  { name: 'vfat without a label', tools: ['mkfs.vfat'], size: '4M', make: (img) => run('mkfs.vfat', [img]).then(() => undefined), expect: { type: 'vfat' } },
  { name: 'swap', tools: ['mkswap'], size: '8M', make: (img) => run('mkswap', ['-L', 'swappy', '-U', UUID, img]).then(() => undefined), expect: { type: 'swap', label: 'swappy', uuid: UUID, version: '1' } },
  {
    name: 'LUKS2 with label', tools: ['cryptsetup'], size: '20M',
    make: async (img, dir) => {
      writeFileSync(join(dir, 'key'), 'secret');
      await run('cryptsetup', ['luksFormat', '-q', '--type', 'luks2', '--label', 'cryptroot', '--uuid', UUID, '--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000', '--key-file', join(dir, 'key'), img]);
    },
    expect: { type: 'luks', version: '2', label: 'cryptroot', uuid: UUID },
  },
  {
    name: 'LUKS1', tools: ['cryptsetup'], size: '20M',
    make: async (img, dir) => {
      writeFileSync(join(dir, 'key'), 'secret');
      await run('cryptsetup', ['luksFormat', '-q', '--type', 'luks1', '--pbkdf-force-iterations', '1000', '--key-file', join(dir, 'key'), img]);
    },
    expect: { type: 'luks', version: '1' },
  },
];

for (const c of CASES) {
  test(`detects ${c.name} like blkid -p`, { skip: needTools('blkid', ...c.tools) }, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const img = join(dir, 'fs.img');
      await run('truncate', ['-s', c.size, img]);
      await c.make(img, dir);
      const ref = await blkid(img);
      const src = await openFile(img);
      const sig = await detectFilesystem(src);
      await src.close();
      assert.equal(sig.type, BLKID_TYPES[ref['TYPE']!], 'type');
      assert.equal(sig.label, ref['LABEL'], 'label');
      assert.equal(sig.uuid, ref['UUID'], 'uuid');
      if (ref['VERSION'] !== undefined) assert.equal(sig.version, ref['VERSION'], 'version');
      if (ref['BLOCK_SIZE'] !== undefined && c.compareBlockSize !== false) assert.equal(sig.blockSize, Number(ref['BLOCK_SIZE']), 'block size');
      for (const [k, v] of Object.entries(c.expect)) assert.equal(sig[k as keyof FsSignature], v, k);
    } finally {
      cleanup();
    }
  });
}

test('detects an LVM2 PV like blkid -p', { skip: needTools('blkid', 'pvcreate', 'losetup') || canUseLoopDevices() }, async () => {
  const { dir, cleanup } = tempDir();
  let loop: string | undefined;
  try {
    const img = join(dir, 'pv.img');
    await run('truncate', ['-s', '8M', img]);
    loop = (await run('losetup', ['-f', '--show', img])).trim();
    // Only our loop device is visible to LVM, and nothing is recorded in the host's devices file.
    const config = `devices { filter = [ "a|^${loop}$|", "r|.*|" ] use_devicesfile = 0 } backup { backup = 0 archive = 0 } global { activation = 0 }`;
    await run('env', ['LVM_SUPPRESS_FD_WARNINGS=1', 'pvcreate', '-q', '--config', config, loop]);
    await run('losetup', ['-d', loop]);
    loop = undefined;
    const ref = await blkid(img);
    const sig = await detectFilesystem(new MemorySource(new Uint8Array(readFileSync(img))));
    assert.equal(sig.type, 'lvm2-pv');
    assert.equal(sig.uuid, ref['UUID']);
    assert.equal(sig.version, ref['VERSION']);
  } finally {
    if (loop !== undefined) await run('losetup', ['-d', loop]).catch(() => undefined);
    cleanup();
  }
});

test('zeros, a tiny volume and random bytes are unknown, not errors', async () => {
  assert.deepEqual(await detectFilesystem(new MemorySource(new Uint8Array(1 << 20))), { type: 'unknown' });
  assert.deepEqual(await detectFilesystem(new MemorySource(new Uint8Array(100))), { type: 'unknown' });
  const noise = new Uint8Array(128 * 1024);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  assert.equal((await detectFilesystem(new MemorySource(noise))).type, 'unknown');
});

test('fuzz: mutated ext4 and vfat superblocks only return or throw typed errors', { skip: needTools('mkfs.ext4', 'mkfs.vfat') }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const e = join(dir, 'e.img');
    const f = join(dir, 'f.img');
    await run('truncate', ['-s', '2M', e]);
    await run('truncate', ['-s', '2M', f]);
    await run('mkfs.ext4', ['-q', e]);
    await run('mkfs.vfat', ['-n', 'FUZZ', f]);
    for (const [img, regions] of [[e, [[1024, 1280]]], [f, [[0, 512], [0x4000, 0x4400]]]] as const) {
      const base = new Uint8Array(readFileSync(img)).subarray(0, 128 * 1024);
      const out = await fuzz(base, (b) => detectFilesystem(new MemorySource(b)), { cases: fuzzCases(200), regions: regions.map((r) => [r[0], r[1]] as [number, number]), allowTruncate: true });
      assert.equal(out.cases, fuzzCases(200));
    }
  } finally {
    cleanup();
  }
});
