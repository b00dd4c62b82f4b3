import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFile } from '../../src/disk/file-source.ts';
import { MemorySource } from '../../src/disk/memory-source.ts';
import { probeVolumes } from '../../src/volume/probe.ts';
import { readMbr, MAX_LOGICAL_PARTITIONS } from '../../src/volume/mbr.ts';
import { needTools, run, tempDir } from '../helpers/tools.ts';
import { fuzz, fuzzCases } from '../helpers/fuzz.ts';

interface SfdiskPartition { node: string; start: number; size: number; type: string; bootable?: boolean }
interface SfdiskTable { partitiontable: { label: string; id: string; partitions: SfdiskPartition[] } }

/** Builds a disk image with sfdisk from a script; returns its path. */
async function sfdiskImage(dir: string, name: string, size: string, script: string): Promise<string> {
  const img = join(dir, name);
  await run('truncate', ['-s', size, img]);
  await run('sh', ['-c', `printf '%s' "$0" | sfdisk --no-reread --no-tell-kernel -q "$1"`, script, img]);
  return img;
}

const LOGICAL_SCRIPT = [
  'label: dos',
  'label-id: 0x1234abcd',
  'start=2048, size=20480, type=83, bootable',
  'start=22528, size=10240, type=82',
  'start=32768, type=5',
  'start=34816, size=4096, type=83',
  'start=40960, size=4096, type=8e',
  'start=47104, size=4096, type=7',
  '',
].join('\n');

test('MBR with an extended partition and 3 logical partitions (sfdisk script) matches sfdisk --json', { skip: needTools('sfdisk') }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const img = await sfdiskImage(dir, 'mbr.img', '32M', LOGICAL_SCRIPT);
    const table = (JSON.parse(await run('sfdisk', ['--json', img])) as SfdiskTable).partitiontable;
    const disk = await openFile(img);
    const layout = await probeVolumes(disk);
    await disk.close();
    assert.equal(layout.scheme, 'mbr');
    assert.deepEqual(layout.issues, []);
    assert.equal(`0x${layout.details['mbrDiskSignature']}`, table.id);
    assert.deepEqual(layout.volumes.map((v) => v.id), ['p1', 'p2', 'p3', 'p5', 'p6', 'p7']);
    assert.equal(layout.volumes.length, table.partitions.length);
    for (const [i, p] of table.partitions.entries()) {
      const v = layout.volumes[i]!;
      assert.equal(v.id, `p${/(\d+)$/.exec(p.node)![1]}`);
      assert.equal(v.offset, p.start * 512, `${v.id} offset`);
      assert.equal(v.size, p.size * 512, `${v.id} size`);
      assert.equal(v.mbrType, parseInt(p.type, 16), `${v.id} type`);
      assert.equal(v.bootable, p.bootable === true, `${v.id} bootable`);
    }
  } finally {
    cleanup();
  }
});

test('a disk with no 0x55AA and no GPT is one whole volume with scheme none', async () => {
  const layout = await probeVolumes(new MemorySource(new Uint8Array(64 * 1024)));
  assert.equal(layout.scheme, 'none');
  assert.deepEqual(layout.volumes.map((v) => [v.id, v.scheme, v.offset, v.size]), [['whole', 'none', 0, 64 * 1024]]);
  assert.ok(layout.volumes[0]!.source);
});

test('a vfat filesystem on the whole disk (its boot sector ends in 0x55AA) is not taken for an MBR', { skip: needTools('mkfs.vfat') }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const img = join(dir, 'fat.img');
    await run('truncate', ['-s', '8M', img]);
    await run('mkfs.vfat', ['-n', 'WHOLE', img]);
    const layout = await probeVolumes(new MemorySource(new Uint8Array(readFileSync(img))));
    assert.equal(layout.scheme, 'none');
    assert.equal(layout.volumes[0]!.id, 'whole');
  } finally {
    cleanup();
  }
});

// ---- synthetic MBRs ---------------------------------------------------------------------------

function setEntry(disk: Uint8Array, sectorLba: number, slot: number, type: number, start: number, sectors: number, boot = 0): void {
  const o = sectorLba * 512 + 446 + slot * 16;
  disk[o] = boot;
  disk[o + 4] = type;
  const dv = new DataView(disk.buffer, disk.byteOffset);
  dv.setUint32(o + 8, start, true);
  dv.setUint32(o + 12, sectors, true);
  disk[sectorLba * 512 + 510] = 0x55;
  disk[sectorLba * 512 + 511] = 0xaa;
}

test('an EBR chain that loops back (cycle) stops with mbr.ebr-cycle and keeps the partitions before it', async () => {
  const disk = new Uint8Array(256 * 512);
  setEntry(disk, 0, 0, 0x83, 1, 50);
  setEntry(disk, 0, 1, 0x05, 100, 100);
  setEntry(disk, 100, 0, 0x83, 10, 5); // p5 at 110
  setEntry(disk, 100, 1, 0x05, 20, 30); // next EBR at 120
  setEntry(disk, 120, 0, 0x83, 10, 5); // p6 at 130
  setEntry(disk, 120, 1, 0x05, 0, 30); // back to the first EBR
  const layout = await probeVolumes(new MemorySource(disk));
  assert.deepEqual(layout.volumes.map((v) => [v.id, v.offset / 512]), [['p1', 1], ['p2', 100], ['p5', 110], ['p6', 130]]);
  assert.deepEqual(layout.issues.map((i) => i.code), ['mbr.ebr-cycle']);
});

test(`an EBR chain longer than ${MAX_LOGICAL_PARTITIONS} links stops at the budget`, async () => {
  const links = MAX_LOGICAL_PARTITIONS + 20;
  const disk = new Uint8Array((3 * links + 10) * 512);
  setEntry(disk, 0, 0, 0x0f, 1, 3 * links + 5);
  for (let i = 0; i < links; i++) {
    const lba = 1 + 3 * i;
    setEntry(disk, lba, 0, 0x83, 1, 1);
    setEntry(disk, lba, 1, 0x05, 3 * (i + 1), 3);
  }
  const t = await readMbr(new MemorySource(disk));
  assert.equal(t.partitions.filter((p) => p.logical).length, MAX_LOGICAL_PARTITIONS);
  assert.ok(t.issues.some((i) => i.code === 'mbr.ebr-budget'));
});

test('an EBR link outside the extended partition ends the chain with an issue', async () => {
  const disk = new Uint8Array(256 * 512);
  setEntry(disk, 0, 0, 0x85, 100, 50);
  setEntry(disk, 100, 0, 0x83, 10, 5);
  setEntry(disk, 100, 1, 0x05, 200, 10);
  const t = await readMbr(new MemorySource(disk));
  assert.deepEqual(t.partitions.map((p) => p.number), [1, 5]);
  assert.equal(t.issues[0]!.code, 'mbr.ebr-outside-extended');
});

test('an MBR partition past the end of the disk has no source and an issue', async () => {
  const disk = new Uint8Array(64 * 512);
  setEntry(disk, 0, 0, 0x83, 1, 10, 0x80);
  setEntry(disk, 0, 1, 0x83, 20, 1000);
  const layout = await probeVolumes(new MemorySource(disk));
  assert.equal(layout.scheme, 'mbr');
  assert.ok(layout.volumes[0]!.source);
  assert.equal(layout.volumes[0]!.bootable, true);
  assert.equal(layout.volumes[1]!.source, undefined);
  assert.equal(layout.volumes[1]!.issues[0]!.code, 'mbr.partition-outside-disk');
});

test('an MBR on a 4096-byte-sector source counts LBAs in 4096-byte sectors', async () => {
  const disk = new Uint8Array(64 * 4096);
  setEntry(disk, 0, 0, 0x83, 8, 16);
  const layout = await probeVolumes(new MemorySource(disk, { sectorSize: 4096 }));
  assert.deepEqual(layout.volumes.map((v) => [v.offset, v.size]), [[8 * 4096, 16 * 4096]]);
});

test('fuzz: mutated MBR and EBR chain only return or throw typed errors', { skip: needTools('sfdisk') }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const script = ['label: dos', 'start=63, size=100, type=83', 'start=200, size=600, type=5', 'start=210, size=50, type=83', 'start=300, size=50, type=82', 'start=400, size=50, type=83', ''].join('\n');
    const img = await sfdiskImage(dir, 'fuzz.img', '512K', script);
    const base = new Uint8Array(readFileSync(img));
    const ebrs: Array<[number, number]> = [];
    for (let lba = 200; lba < 800; lba++) if (base[lba * 512 + 510] === 0x55) ebrs.push([lba * 512 + 446, lba * 512 + 512]);
    assert.ok(ebrs.length >= 3, 'sfdisk wrote the EBRs');
    const out = await fuzz(base, (b) => probeVolumes(new MemorySource(b)), {
      cases: fuzzCases(300),
      regions: [[446, 512], ...ebrs],
      allowTruncate: true,
    });
    assert.equal(out.cases, fuzzCases(300));
  } finally {
    cleanup();
  }
});
