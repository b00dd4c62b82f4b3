/**
 * Cross-format conformance: the example node disk (Debian bookworm, cloud-style GPT, ext4 root)
 * converted by qemu-img to every container format must decode to the same disk.
 *  - openDisk() of each container finds the same volumes as openDisk() of the raw disk (ids,
 *    offsets, sizes, filesystem types, labels, UUIDs), and those match what the real tools say
 *    about the raw disk: `sfdisk --json` for the partition table, `blkid -p` per partition for
 *    the filesystems;
 *  - bytes at seeded random offsets and lengths (unaligned, some crossing block and grain
 *    boundaries, some several MiB long) equal the output of `qemu-img convert -O raw` of that
 *    very container file, the reference implementation's reading of it — read both with
 *    `read` and with `readInto` into a buffer of junk (which must come back fully written).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { readInto } from '../../src/disk/index.ts';
import { openDisk, type OpenedDisk } from '../../src/scan/target.ts';
import { CONTAINER_FORMATS, containerImage, fixtureOrSkip, nodeDisk } from '../fixtures/node-image.ts';
import { prng } from '../helpers/fuzz.ts';
import { needTools, run, tempDir } from '../helpers/tools.ts';

const skip = needTools('qemu-img', 'sfdisk', 'blkid');
const MiB = 1024 * 1024;
/** Random reads per container: small unaligned ones plus a few multi-MiB ones. */
const SMALL_READS = 400;
const LARGE_READS = 24;
const MAX_SMALL_READ_BYTES = 96 * 1024;
const MAX_LARGE_READ_BYTES = 6 * MiB;
/** What readInto targets hold before the read: any byte left unwritten shows up against qemu-img. */
const JUNK_BYTE = 0xa5;
/** qemu-img's names for our container formats (its -f argument). */
const QEMU_FORMAT: Record<(typeof CONTAINER_FORMATS)[number], string> = {
  qcow2: 'qcow2',
  'qcow2-v2': 'qcow2',
  'qcow2-compressed': 'qcow2',
  'vhd-fixed': 'vpc',
  'vhd-dynamic': 'vpc',
  vhdx: 'vhdx',
  'vmdk-sparse': 'vmdk',
  'vmdk-stream': 'vmdk',
  'vmdk-flat': 'vmdk',
};

interface VolumeFacts {
  id: string;
  scheme: string;
  offset: number;
  size: number;
  partitionNumber: number | undefined;
  typeGuid: string | undefined;
  partitionGuid: string | undefined;
  filesystem: string | undefined;
  label: string | undefined;
  uuid: string | undefined;
}

function facts(disk: OpenedDisk): VolumeFacts[] {
  return disk.layout.volumes.map((v) => {
    const fs = disk.filesystems.get(v.id);
    return {
      id: v.id,
      scheme: v.scheme,
      offset: v.offset,
      size: v.size,
      partitionNumber: v.partitionNumber,
      typeGuid: v.typeGuid?.toUpperCase(),
      partitionGuid: v.partitionGuid?.toUpperCase(),
      filesystem: fs?.type,
      label: fs?.label,
      uuid: fs?.uuid?.toLowerCase(),
    };
  });
}

/** Offsets and lengths inside [0, size), reproducible from the seed. */
function randomRanges(size: number, seed: number): Array<[number, number]> {
  const rnd = prng(seed);
  const ranges: Array<[number, number]> = [];
  for (let i = 0; i < SMALL_READS + LARGE_READS; i++) {
    const max = i < SMALL_READS ? MAX_SMALL_READ_BYTES : MAX_LARGE_READ_BYTES;
    const length = 1 + Math.floor(rnd() * max);
    const offset = Math.floor(rnd() * (size - length));
    ranges.push([offset, length]);
  }
  // The first and last bytes of the disk (GPT headers, the backup GPT, a VHD's last block).
  ranges.push([0, 64 * 1024], [size - 64 * 1024, 64 * 1024], [size - 1, 1]);
  return ranges;
}

let raw: string | undefined;
let rawFacts: VolumeFacts[] = [];
let virtualSize = 0;
const tmp = tempDir('hullscan-conformance-');
after(() => tmp.cleanup());

before(async () => {
  if (skip) return;
  try {
    raw = await nodeDisk('gpt-ext4');
  } catch {
    // Each test below reports the reason through fixtureOrSkip.
    return;
  }
  const disk = await openDisk(raw);
  try {
    rawFacts = facts(disk);
    virtualSize = disk.container.source.size;
  } finally {
    await disk.close();
  }
});

test('the raw node disk decodes to the volumes sfdisk and blkid report', { skip }, async (t) => {
  const path = await fixtureOrSkip(t, nodeDisk('gpt-ext4'));
  if (!path) return;
  assert.equal(virtualSize, statSync(path).size);
  const table = JSON.parse(await run('sfdisk', ['--json', path])) as {
    partitiontable: { label: string; sectorsize: number; partitions: Array<{ start: number; size: number; type: string; uuid: string; node: string }> };
  };
  const pt = table.partitiontable;
  assert.equal(pt.label, 'gpt');
  const parts = pt.partitions.map((p) => ({ ...p, number: Number(/(\d+)$/.exec(p.node)![1]) })).sort((a, b) => a.start - b.start);
  const gpt = rawFacts.filter((v) => v.scheme === 'gpt');
  assert.equal(gpt.length, parts.length, 'one volume per sfdisk partition');
  for (const p of parts) {
    const v = gpt.find((x) => x.partitionNumber === p.number);
    assert.ok(v, `partition ${p.number} found`);
    assert.equal(v.offset, p.start * pt.sectorsize, `p${p.number} offset`);
    assert.equal(v.size, p.size * pt.sectorsize, `p${p.number} size`);
    assert.equal(v.typeGuid, p.type.toUpperCase(), `p${p.number} type GUID`);
    assert.equal(v.partitionGuid, p.uuid.toUpperCase(), `p${p.number} partition GUID`);

    // blkid's low-level probe at the partition's offset is the filesystem oracle.
    const out: string = await run('blkid', ['-p', '-o', 'export', '-O', String(v.offset), path]).catch(() => '');
    const kv = new Map<string, string>(out.split('\n').filter((l: string) => l.includes('=')).map((l: string): [string, string] => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    if (!kv.has('TYPE')) {
      // The BIOS boot partition holds zeros: blkid finds nothing, and neither may we.
      assert.ok(v.filesystem === undefined || v.filesystem === 'unknown', `p${p.number}: blkid finds no filesystem, we found ${v.filesystem}`);
      continue;
    }
    assert.equal(v.filesystem, kv.get('TYPE'), `p${p.number} filesystem type`);
    assert.equal(v.label, kv.get('LABEL'), `p${p.number} label`);
    assert.equal(v.uuid, kv.get('UUID')?.toLowerCase(), `p${p.number} UUID`);
  }
  assert.ok(rawFacts.some((v) => v.filesystem === 'ext4' && v.label === 'cloudimg-rootfs'), 'the ext4 root is found');
});

for (const format of CONTAINER_FORMATS) {
  test(`${format}: same volumes as the raw disk, bytes equal qemu-img convert -O raw`, { skip }, async (t) => {
    const base = await fixtureOrSkip(t, nodeDisk('gpt-ext4'));
    if (!base) return;
    const path = await fixtureOrSkip(t, containerImage(base, format));
    if (!path) return;

    const disk = await openDisk(path);
    try {
      assert.equal(disk.container.source.size, virtualSize, 'virtual size');
      assert.deepEqual(facts(disk), rawFacts, 'volumes');
      assert.deepEqual(disk.layout.issues, [], 'no disk-level issues');

      const oracle = join(tmp.dir, `${format}.raw`);
      await run('qemu-img', ['convert', '-q', '-f', QEMU_FORMAT[format], '-O', 'raw', path, oracle]);
      const fh = await open(oracle, 'r');
      try {
        assert.equal((await fh.stat()).size, virtualSize, 'qemu-img raw size');
        const seed = 0x5eed + CONTAINER_FORMATS.indexOf(format);
        const source = disk.container.source;
        let index = 0;
        for (const [offset, length] of randomRanges(virtualSize, seed)) {
          const want = new Uint8Array(length);
          await fh.read(want, 0, length, offset);
          // Every other range through readInto, into a buffer full of junk: holes and
          // unallocated blocks must be written as zeros, not left as they were.
          const viaInto = index++ % 2 === 1;
          let got: Uint8Array;
          if (viaInto) {
            got = new Uint8Array(length).fill(JUNK_BYTE);
            await readInto(source, offset, got);
          } else {
            got = await source.read(offset, length);
          }
          if (!Buffer.from(got.buffer, got.byteOffset, got.length).equals(want)) {
            assert.fail(`${format}: bytes differ from qemu-img at [${offset}, +${length}) via ${viaInto ? 'readInto' : 'read'} (seed ${seed})`);
          }
        }
      } finally {
        await fh.close();
        await run('rm', ['-f', oracle]);
      }
    } finally {
      await disk.close();
    }
  });
}
