/**
 * `hullscan disk inspect` end to end on real disks (sgdisk + mkfs.ext4 + qemu-img made): the JSON
 * output's container format and virtual size equal `qemu-img info`'s, its volumes equal
 * `sfdisk --json`'s partitions (offset, size, type and partition GUIDs), the root filesystem is
 * found by content; the table output names the same volumes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diskInspect } from '../../src/cli/commands/disk-inspect.ts';
import { containerImage, fixtureOrSkip, nodeDisk, smallTree } from '../fixtures/node-image.ts';
import { needTools, run } from '../helpers/tools.ts';

const skip = needTools('qemu-img', 'sfdisk');

interface Inspected {
  format: string;
  virtualSize: number;
  scheme: string;
  volumes: Array<{ id: string; offset: number; size: number; filesystem?: string; label: string | null; partitionNumber?: number; typeGuid?: string; partitionGuid?: string }>;
}

for (const format of ['raw', 'qcow2', 'vhdx'] as const) {
  test(`disk inspect --format json on the ${format} disk agrees with qemu-img info and sfdisk`, { skip }, async (t) => {
    const raw = await fixtureOrSkip(t, nodeDisk('gpt-ext4', { tree: smallTree() }));
    if (!raw) return;
    const path = format === 'raw' ? raw : await fixtureOrSkip(t, containerImage(raw, format));
    if (!path) return;
    let json = '';
    assert.equal(await diskInspect([path, '--format', 'json'], (s) => (json += s)), 0);
    const got = JSON.parse(json) as Inspected;
    const info = JSON.parse(await run('qemu-img', ['info', '--output=json', path])) as { format: string; 'virtual-size': number };
    assert.equal(got.format, info.format);
    assert.equal(got.virtualSize, info['virtual-size']);
    assert.equal(got.scheme, 'gpt');
    // sfdisk reads the raw disk (it cannot read containers): the same partitions from every container.
    const table = JSON.parse(await run('sfdisk', ['--json', raw])) as { partitiontable: { sectorsize: number; partitions: Array<{ node: string; start: number; size: number; type: string; uuid: string }> } };
    const ss = table.partitiontable.sectorsize;
    const parts = table.partitiontable.partitions;
    assert.equal(got.volumes.length, parts.length);
    for (const p of parts) {
      const n = Number(/(\d+)$/.exec(p.node)![1]);
      const v = got.volumes.find((x) => x.partitionNumber === n);
      assert.ok(v, `partition ${n}`);
      assert.equal(v.offset, p.start * ss);
      assert.equal(v.size, p.size * ss);
      assert.equal(v.typeGuid, p.type.toUpperCase());
      assert.equal(v.partitionGuid, p.uuid.toUpperCase());
    }
    assert.ok(got.volumes.some((v) => v.filesystem === 'ext4' && v.label === 'cloudimg-rootfs'), 'the ext4 root');

    let text = '';
    assert.equal(await diskInspect([path], (s) => (text += s)), 0);
    for (const v of got.volumes) assert.match(text, new RegExp(`\\b${v.id}\\b`), `table names ${v.id}`);
    assert.match(text, /ext4/);
  });
}

test('disk inspect of a missing file is a clear error naming it, not a crash', async () => {
  await assert.rejects(diskInspect(['/nonexistent/hullscan-no-such-disk.img'], () => {}), (err: unknown) => err instanceof Error && err.message.includes('hullscan-no-such-disk.img') && /cannot open|no such file/i.test(err.message));
});
