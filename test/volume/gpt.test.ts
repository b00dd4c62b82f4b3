import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFile } from '../../src/disk/file-source.ts';
import { MemorySource } from '../../src/disk/memory-source.ts';
import { probeVolumes } from '../../src/volume/probe.ts';
import { readGpt, MAX_GPT_ENTRIES } from '../../src/volume/gpt.ts';
import { detectFilesystem } from '../../src/fs/detect.ts';
import { CorruptError } from '../../src/util/errors.ts';
import { crc32 } from '../../src/util/crc32.ts';
import { canUseLoopDevices, needTools, run, tempDir } from '../helpers/tools.ts';
import { fuzz, fuzzCases } from '../helpers/fuzz.ts';

function flip(buf: Uint8Array, at: number, mask: number): void {
  buf[at] = buf[at]! ^ mask;
}

const MiB = 1024 * 1024;

interface SfdiskPartition { node: string; start: number; size: number; type: string; uuid?: string; name?: string }
interface SfdiskTable { partitiontable: { label: string; id: string; sectorsize?: number; partitions: SfdiskPartition[] } }

async function sfdiskJson(path: string): Promise<SfdiskTable['partitiontable']> {
  return (JSON.parse(await run('sfdisk', ['--json', path])) as SfdiskTable).partitiontable;
}

/** Asserts our GPT volumes equal what sfdisk reports, partition by partition. */
function assertMatchesSfdisk(volumes: Awaited<ReturnType<typeof probeVolumes>>['volumes'], table: SfdiskTable['partitiontable'], ss: number): void {
  assert.equal(volumes.length, table.partitions.length);
  for (const [i, p] of table.partitions.entries()) {
    const v = volumes[i]!;
    assert.equal(v.id, `p${/(\d+)$/.exec(p.node)![1]}`);
    assert.equal(v.offset, p.start * ss, `${v.id} offset`);
    assert.equal(v.size, p.size * ss, `${v.id} size`);
    assert.equal(v.typeGuid, p.type);
    assert.equal(v.partitionGuid, p.uuid);
    assert.equal(v.name, p.name ?? '');
    assert.ok(v.source, `${v.id} readable`);
  }
}

/** A cloud-style layout: BIOS boot 1 MiB, ESP 100 MiB, root from 128 MiB to the end. */
async function makeCloudImage(path: string, sizeMiB = 300): Promise<void> {
  await run('truncate', ['-s', `${sizeMiB}M`, path]);
  await run('sgdisk', ['-n', '1:2048:+1M', '-t', '1:EF02', '-c', '1:BIOS boot', '-n', '2:4096:+100M', '-t', '2:EF00', '-c', '2:EFI System', '-n', '3:262144:0', '-t', '3:8300', '-c', '3:cloudimg-rootfs', '-A', '2:set:0', path]);
}

test('cloud-style GPT made by sgdisk matches sfdisk --json, with vfat ESP and ext4 root detected', { skip: needTools('sgdisk', 'sfdisk', 'mkfs.vfat', 'mkfs.ext4') }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const img = join(dir, 'cloud.img');
    await makeCloudImage(img);
    await run('mkfs.vfat', ['-F', '32', '-n', 'UEFI', '--offset', '4096', img, String(100 * 1024)]);
    // The root filesystem must stay inside its partition: mke2fs wipes the end of its range,
    // which would otherwise destroy the backup GPT.
    const rootBytes = (await sfdiskJson(img)).partitions[2]!.size * 512;
    await run('mkfs.ext4', ['-q', '-L', 'cloudimg-rootfs', '-E', `offset=${128 * MiB}`, img, `${Math.floor(rootBytes / 1024)}k`]);
    const disk = await openFile(img);
    const layout = await probeVolumes(disk);
    assert.equal(layout.scheme, 'gpt');
    assert.deepEqual(layout.issues, []);
    const table = await sfdiskJson(img);
    assert.equal(layout.details['gptDiskGuid'], table.id);
    assertMatchesSfdisk(layout.volumes, table, 512);
    assert.equal(layout.volumes[1]!.gptAttributes, '0x0000000000000001');
    const esp = await detectFilesystem(layout.volumes[1]!.source!);
    assert.equal(esp.type, 'vfat');
    assert.equal(esp.label, 'UEFI');
    const root = await detectFilesystem(layout.volumes[2]!.source!);
    assert.equal(root.type, 'ext4');
    assert.equal(root.label, 'cloudimg-rootfs');
    await disk.close();
  } finally {
    cleanup();
  }
});

test('GPT with 4096-byte logical sectors (sgdisk on a 4Kn loop device) is found from a 512-byte source', { skip: needTools('sgdisk', 'sfdisk', 'losetup') || canUseLoopDevices() }, async () => {
  const { dir, cleanup } = tempDir();
  let loop: string | undefined;
  try {
    const img = join(dir, '4kn.img');
    await run('truncate', ['-s', '64M', img]);
    loop = (await run('losetup', ['-f', '--show', '--sector-size', '4096', img])).trim();
    await run('sgdisk', ['-n', '1:256:+1M', '-t', '1:EF02', '-c', '1:bios', '-n', '2:0:+20M', '-t', '2:EF00', '-n', '3:0:0', '-t', '3:8300', '-c', '3:root', loop]);
    const table = await sfdiskJson(loop);
    await run('losetup', ['-d', loop]);
    loop = undefined;
    assert.equal(table.sectorsize, 4096);
    const disk = await openFile(img);
    assert.equal(disk.sectorSize, 512);
    const layout = await probeVolumes(disk);
    assert.equal(layout.scheme, 'gpt');
    assert.equal(layout.details['gptSectorSize'], 4096);
    assertMatchesSfdisk(layout.volumes, table, 4096);
    // A source that already says 4096 finds it on the first try.
    const mem = new MemorySource(new Uint8Array(readFileSync(img)), { sectorSize: 4096 });
    const again = await probeVolumes(mem);
    assert.deepEqual(again.volumes.map((v) => [v.offset, v.size]), layout.volumes.map((v) => [v.offset, v.size]));
    await disk.close();
  } finally {
    if (loop !== undefined) await run('losetup', ['-d', loop]).catch(() => undefined);
    cleanup();
  }
});

let smallImage: Promise<Uint8Array> | undefined;

/** A small real GPT image read into memory, for corruption tests (built once per file: sgdisk takes a second). */
function smallGptImage(_dir: string): Promise<Uint8Array> {
  smallImage ??= (async () => {
    const { dir, cleanup } = tempDir();
    try {
      const img = join(dir, 'small.img');
      await run('truncate', ['-s', '4M', img]);
      await run('sgdisk', ['-n', '1:2048:+1M', '-t', '1:8300', '-c', '1:data', '-n', '2:0:0', '-t', '2:8200', '-c', '2:swap', img]);
      return new Uint8Array(readFileSync(img));
    } finally {
      cleanup();
    }
  })();
  return smallImage;
}

test('a corrupted primary GPT header falls back to the backup and reports gpt.primary-invalid', { skip: needTools('sgdisk', 'sfdisk') }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const bytes = await smallGptImage(dir);
    const good = await probeVolumes(new MemorySource(bytes));
    const bad = bytes.slice();
    flip(bad, 512 + 60, 0xff); // inside the disk GUID: header CRC no longer matches
    const layout = await probeVolumes(new MemorySource(bad));
    assert.equal(layout.scheme, 'gpt');
    assert.equal(layout.details['gptHeader'], 'backup');
    assert.deepEqual(layout.issues.map((i) => i.code), ['gpt.primary-invalid']);
    assert.match(layout.issues[0]!.message, /CRC32 mismatch/);
    assert.deepEqual(layout.volumes.map((v) => [v.id, v.offset, v.size, v.name]), good.volumes.map((v) => [v.id, v.offset, v.size, v.name]));
  } finally {
    cleanup();
  }
});

test('a wiped primary GPT header on a disk with a protective MBR is read from the backup', { skip: needTools('sgdisk') }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const bad = (await smallGptImage(dir)).slice();
    bad.fill(0, 512, 1024);
    const layout = await probeVolumes(new MemorySource(bad));
    assert.equal(layout.details['gptHeader'], 'backup');
    assert.equal(layout.volumes.length, 2);
    assert.equal(layout.issues[0]!.code, 'gpt.primary-invalid');
  } finally {
    cleanup();
  }
});

test('a primary entry array with a bad CRC falls back to the backup array', { skip: needTools('sgdisk') }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const bad = (await smallGptImage(dir)).slice();
    flip(bad, 1024 + 56, 0x01); // first entry's name
    const layout = await probeVolumes(new MemorySource(bad));
    assert.equal(layout.details['gptHeader'], 'backup');
    assert.match(layout.issues[0]!.message, /entry array CRC32 mismatch/);
    assert.equal(layout.volumes[0]!.name, 'data');
  } finally {
    cleanup();
  }
});

test('a truncated image (backup GPT missing) is read from the primary with gpt.backup-invalid', { skip: needTools('sgdisk') }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const bytes = await smallGptImage(dir);
    const cut = bytes.subarray(0, bytes.length - 64 * 1024);
    const layout = await probeVolumes(new MemorySource(cut));
    assert.equal(layout.details['gptHeader'], 'primary');
    assert.ok(layout.issues.some((i) => i.code === 'gpt.backup-invalid'));
    assert.ok(layout.volumes[0]!.source);
    assert.equal(layout.volumes[1]!.source, undefined, 'the last partition now runs past the end');
    assert.equal(layout.volumes[1]!.issues[0]!.code, 'gpt.partition-outside-disk');
  } finally {
    cleanup();
  }
});

test('both GPT headers corrupt is a CorruptError, not an empty disk', { skip: needTools('sgdisk') }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const bad = (await smallGptImage(dir)).slice();
    flip(bad, 512 + 60, 0xff);
    flip(bad, bad.length - 512 + 60, 0xff);
    await assert.rejects(probeVolumes(new MemorySource(bad)), CorruptError);
  } finally {
    cleanup();
  }
});

test('a hybrid MBR next to the GPT is noted', { skip: needTools('sgdisk') }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const img = join(dir, 'hybrid.img');
    writeFileSync(img, await smallGptImage(dir));
    await run('sgdisk', ['-h', '1', img]);
    const disk = await openFile(img);
    const layout = await probeVolumes(disk);
    await disk.close();
    assert.equal(layout.scheme, 'gpt');
    assert.equal(layout.details['hybridMbr'], true);
    assert.ok(layout.issues.some((i) => i.code === 'gpt.hybrid-mbr'));
    assert.equal(layout.volumes.length, 2);
  } finally {
    cleanup();
  }
});

test('a GPT without the 0x55AA protective MBR is still read', { skip: needTools('sgdisk') }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const bytes = (await smallGptImage(dir)).slice();
    bytes.fill(0, 0, 512);
    const layout = await probeVolumes(new MemorySource(bytes));
    assert.equal(layout.scheme, 'gpt');
    assert.equal(layout.volumes.length, 2);
    assert.ok(layout.issues.some((i) => i.code === 'gpt.no-protective-mbr'));
  } finally {
    cleanup();
  }
});

// ---- synthetic GPTs, byte by byte -----------------------------------------------------------

interface SynthEntry { first: number; last: number; name?: string }

/** Writes a GPT header at `lba` (CRCs computed) describing `entryCount` entries at `entriesLba`. */
function writeHeader(disk: Uint8Array, ss: number, lba: number, alt: number, entriesLba: number, entryCount: number, entryBytes: number, arrayCrc: number, lastLba: number): void {
  const h = disk.subarray(lba * ss, lba * ss + ss);
  h.fill(0);
  h.set(new TextEncoder().encode('EFI PART'), 0);
  const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
  dv.setUint32(8, 0x00010000, true);
  dv.setUint32(12, 92, true);
  dv.setBigUint64(24, BigInt(lba), true);
  dv.setBigUint64(32, BigInt(alt), true);
  dv.setBigUint64(40, 34n, true);
  dv.setBigUint64(48, BigInt(lastLba - 33), true);
  h.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], 56);
  dv.setBigUint64(72, BigInt(entriesLba), true);
  dv.setUint32(80, entryCount, true);
  dv.setUint32(84, entryBytes, true);
  dv.setUint32(88, arrayCrc, true);
  dv.setUint32(16, crc32(h.subarray(0, 92)), true);
}

function synthGpt(sectors: number, entries: SynthEntry[], options: { backup?: boolean; entryCount?: number } = {}): Uint8Array {
  const ss = 512;
  const disk = new Uint8Array(sectors * ss);
  // protective MBR
  disk[446 + 4] = 0xee;
  new DataView(disk.buffer).setUint32(446 + 8, 1, true);
  new DataView(disk.buffer).setUint32(446 + 12, sectors - 1, true);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  const count = 4;
  const array = new Uint8Array(count * 128);
  entries.forEach((e, i) => {
    const o = i * 128;
    array.set([0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4], o);
    array[o + 16] = i + 1;
    const dv = new DataView(array.buffer);
    dv.setBigUint64(o + 32, BigInt(e.first), true);
    dv.setBigUint64(o + 40, BigInt(e.last), true);
    const name = e.name ?? `part${i + 1}`;
    for (let c = 0; c < name.length; c++) dv.setUint16(o + 56 + 2 * c, name.charCodeAt(c), true);
  });
  const crc = crc32(array);
  disk.set(array, 2 * ss);
  writeHeader(disk, ss, 1, sectors - 1, 2, options.entryCount ?? count, 128, crc, sectors - 1);
  if (options.backup !== false) {
    disk.set(array, (sectors - 2) * ss);
    writeHeader(disk, ss, sectors - 1, 1, sectors - 2, count, 128, crc, sectors - 1);
  }
  return disk;
}

test('GPT entry count absurd (0xFFFFFFFF) with no backup is a CorruptError naming the limit', async () => {
  const disk = synthGpt(128, [{ first: 34, last: 60 }], { backup: false, entryCount: 0xffffffff });
  await assert.rejects(readGpt(new MemorySource(disk)), (err: Error) => err instanceof CorruptError && err.message.includes(String(MAX_GPT_ENTRIES)));
});

test('GPT entry count absurd in the primary with a valid backup uses the backup', async () => {
  const disk = synthGpt(128, [{ first: 34, last: 60 }], { entryCount: 0xffffffff });
  const t = await readGpt(new MemorySource(disk));
  assert.equal(t.header, 'backup');
  assert.equal(t.partitions.length, 1);
});

test('GPT entry array past the end of the disk is a CorruptError', async () => {
  const disk = synthGpt(128, [{ first: 34, last: 60 }], { backup: false });
  writeHeader(disk, 512, 1, 127, 126, 128, 128, 0, 127); // 128 entries * 128 bytes from LBA 126
  await assert.rejects(readGpt(new MemorySource(disk)), /past the end of the disk/);
});

test('a GPT partition past the end of the disk is listed without a source and with an issue', async () => {
  const disk = synthGpt(128, [{ first: 34, last: 60 }, { first: 61, last: 5000 }]);
  const layout = await probeVolumes(new MemorySource(disk));
  assert.equal(layout.volumes.length, 2);
  assert.ok(layout.volumes[0]!.source);
  assert.equal(layout.volumes[1]!.source, undefined);
  assert.equal(layout.volumes[1]!.issues[0]!.code, 'gpt.partition-outside-disk');
  assert.ok(layout.issues.some((i) => i.code === 'gpt.entry-outside-usable'));
});

test('overlapping GPT partitions are reported', async () => {
  const disk = synthGpt(128, [{ first: 34, last: 60 }, { first: 50, last: 90 }]);
  const layout = await probeVolumes(new MemorySource(disk));
  assert.ok(layout.issues.some((i) => i.code === 'volume.overlap'));
});

test('fuzz: mutated GPT headers and entry arrays only return or throw typed errors', { skip: needTools('sgdisk') }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const img = join(dir, 'fuzz.img');
    await run('truncate', ['-s', '128K', img]);
    await run('sgdisk', ['-n', '1:34:+20K', '-t', '1:EF00', '-c', '1:esp', '-n', '2:0:0', '-c', '2:root', img]);
    const base = new Uint8Array(readFileSync(img)); // a Buffer's slice() is a view: copy into a plain Uint8Array
    const n = base.length;
    const out = await fuzz(base, async (b) => probeVolumes(new MemorySource(b)), {
      cases: fuzzCases(300),
      regions: [[0, 512], [512, 604], [1024, 1024 + 256], [n - 512, n - 420], [n - 33 * 512, n - 33 * 512 + 256]],
      allowTruncate: true,
    });
    assert.equal(out.cases, fuzzCases(300));
  } finally {
    cleanup();
  }
});
