/**
 * LVM2 against the real lvm tools on loop devices. The tools run with a private LVM_SYSTEM_DIR
 * whose filter accepts only this test's loop devices, with backups/archives off and without
 * device-mapper interaction (global/activation = 0): the host's LVM state is never touched, and
 * the tests also run where the kernel has no device-mapper. LV bytes are therefore written at the
 * PV offsets lvs reports (seg_pe_ranges, pe_start, stripe size) and read back through our
 * mapping, instead of through an activated LV.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openFile } from '../../src/disk/file-source.ts';
import { MemorySource } from '../../src/disk/memory-source.ts';
import { probeVolumes } from '../../src/volume/probe.ts';
import { readPvLabel } from '../../src/volume/lvm/label.ts';
import { readMetadataArea } from '../../src/volume/lvm/mda.ts';
import type { Volume } from '../../src/volume/index.ts';
import { canUseLoopDevices, needTools, run, tempDir } from '../helpers/tools.ts';

const skip = needTools('pvcreate', 'vgcreate', 'lvcreate', 'lvs', 'losetup', 'sgdisk', 'sfdisk') || canUseLoopDevices();
const MiB = 1024 * 1024;

/** Loop devices and VGs of one test, always released in finally. */
class LvmSandbox {
  readonly dir: string;
  readonly #cleanupDir: () => void;
  readonly #loops: string[] = [];
  readonly #vgs: string[] = [];
  readonly #confDir: string;

  constructor() {
    const t = tempDir('hullscan-lvm-');
    this.dir = t.dir;
    this.#cleanupDir = t.cleanup;
    this.#confDir = join(this.dir, 'lvm');
    mkdirSync(join(this.#confDir, 'lock'), { recursive: true });
    this.#writeConf();
  }

  /** lvm.conf accepting only our loop devices; LVM reads it from LVM_SYSTEM_DIR. */
  #writeConf(): void {
    const accept = this.#loops.map((l) => `"a|^${l}$|"`).join(', ');
    writeFileSync(
      join(this.#confDir, 'lvm.conf'),
      `devices { filter = [ ${accept}${accept ? ', ' : ''}"r|.*|" ] global_filter = [ ${accept}${accept ? ', ' : ''}"r|.*|" ] use_devicesfile = 0 obtain_device_list_from_udev = 0 }\n` +
        `global { activation = 0 locking_dir = "${join(this.#confDir, 'lock')}" thin_check_executable = "" use_lvmlockd = 0 }\n` +
        `activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }\n` +
        `backup { backup = 0 archive = 0 }\n`,
    );
  }

  async lvm(cmd: string, ...args: string[]): Promise<string> {
    return run('env', [`LVM_SYSTEM_DIR=${this.#confDir}`, 'LVM_SUPPRESS_FD_WARNINGS=1', cmd, ...args]);
  }

  async attach(file: string, offset = 0, sizeLimit?: number): Promise<string> {
    const args = ['-f', '--show', '--offset', String(offset)];
    if (sizeLimit !== undefined) args.push('--sizelimit', String(sizeLimit));
    const loop = (await run('losetup', [...args, file])).trim();
    this.#loops.push(loop);
    this.#writeConf();
    return loop;
  }

  vgName(): string {
    const vg = `hs${randomBytes(4).toString('hex')}`;
    this.#vgs.push(vg);
    return vg;
  }

  /** Deactivates our VGs and detaches our loop devices (also when the test failed). */
  async release(): Promise<void> {
    for (const vg of this.#vgs.splice(0)) await this.lvm('vgchange', '-an', vg).catch(() => undefined);
    for (const loop of this.#loops.splice(0)) await run('losetup', ['-d', loop]).catch(() => undefined);
  }

  async dispose(): Promise<void> {
    try {
      await this.release();
    } finally {
      this.#cleanupDir();
    }
  }
}

interface LvsSeg { lv_name: string; seg_start_pe: string; seg_size_pe: string; segtype: string; stripes: string; stripe_size: string; seg_pe_ranges: string }
interface PvsRow { pv_name: string; pe_start: string; vg_extent_size: string }

async function lvsSegments(sb: LvmSandbox, vg: string): Promise<LvsSeg[]> {
  const out = await sb.lvm('lvs', '-a', '--segments', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o', 'lv_name,seg_start_pe,seg_size_pe,segtype,stripes,stripe_size,seg_pe_ranges', vg);
  return (JSON.parse(out) as { report: Array<{ seg: LvsSeg[] }> }).report[0]!.seg;
}

async function pvsRows(sb: LvmSandbox, vg: string): Promise<PvsRow[]> {
  const out = await sb.lvm('pvs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o', 'pv_name,pe_start,vg_extent_size', '-S', `vg_name=${vg}`);
  return (JSON.parse(out) as { report: Array<{ pv: PvsRow[] }> }).report[0]!.pv;
}

/**
 * Where LV byte `x` lives, as an absolute image offset, computed from the tools' own report:
 * seg_pe_ranges lists one "dev:first-last" range per stripe; stripes interleave in stripe_size
 * chunks (device-mapper striped target).
 */
function toolMapping(segs: LvsSeg[], pvs: Map<string, { imageOffset: number; peStart: number }>, extent: number): (x: number) => { at: number; run: number } {
  const parsed = segs.map((s) => ({
    start: Number(s.seg_start_pe) * extent,
    length: Number(s.seg_size_pe) * extent,
    stripes: Number(s.stripes),
    chunk: Number(s.stripe_size),
    areas: s.seg_pe_ranges.split(' ').map((r) => {
      const m = /^(.*):(\d+)-(\d+)$/.exec(r)!;
      const pv = pvs.get(m[1]!)!;
      return pv.imageOffset + pv.peStart + Number(m[2]) * extent;
    }),
  }));
  return (x) => {
    const s = parsed.find((p) => x >= p.start && x < p.start + p.length)!;
    const rel = x - s.start;
    if (s.stripes === 1) return { at: s.areas[0]! + rel, run: s.length - rel };
    const c = Math.floor(rel / s.chunk);
    return { at: s.areas[c % s.stripes]! + Math.floor(c / s.stripes) * s.chunk + (rel % s.chunk), run: s.chunk - (rel % s.chunk) };
  };
}

/** Writes `pattern` as the LV's contents, into the image file, at the offsets the tools report. */
function writeThroughToolMapping(img: string, pattern: Uint8Array, map: (x: number) => { at: number; run: number }): void {
  const fd = openSync(img, 'r+');
  try {
    for (let x = 0; x < pattern.length; ) {
      const { at, run: n } = map(x);
      const len = Math.min(n, pattern.length - x);
      writeSync(fd, pattern, x, len, at);
      x += len;
    }
  } finally {
    closeSync(fd);
  }
}

async function readAll(v: Volume): Promise<Uint8Array> {
  return v.source!.read(0, v.size);
}

test('linear, striped (-i2 across two PVs) and PV-spanning LVs on two GPT partitions match lvs/pvs, and their bytes read back', { skip }, async () => {
  const sb = new LvmSandbox();
  try {
    const img = join(sb.dir, 'disk.img');
    await run('truncate', ['-s', '64M', img]);
    await run('sgdisk', ['-n', '1:2048:+30M', '-t', '1:8E00', '-n', '2:0:0', '-t', '2:8E00', img]);
    const parts = (JSON.parse(await run('sfdisk', ['--json', img])) as { partitiontable: { partitions: Array<{ start: number; size: number }> } }).partitiontable.partitions;
    const [p1, p2] = parts.map((p) => ({ offset: p.start * 512, size: p.size * 512 }));
    const l1 = await sb.attach(img, p1!.offset, p1!.size);
    const l2 = await sb.attach(img, p2!.offset, p2!.size);
    const vg = sb.vgName();
    await sb.lvm('pvcreate', '-q', l1, l2);
    await sb.lvm('vgcreate', '-q', '-s', '1M', vg, l1, l2);
    await sb.lvm('lvcreate', '-q', '-an', '-Zn', '-L', '6M', '-n', 'lin', vg, l1);
    await sb.lvm('lvcreate', '-q', '-an', '-Zn', '-i2', '-I64k', '-L', '8M', '-n', 'str', vg);
    await sb.lvm('lvcreate', '-q', '-an', '-Zn', '-L', '28M', '-n', 'span', vg);
    const segs = await lvsSegments(sb, vg);
    const pvRows = await pvsRows(sb, vg);
    await sb.release();

    const extent = Number(pvRows[0]!.vg_extent_size);
    const imageOffsetOf = new Map([[l1, p1!.offset], [l2, p2!.offset]]);
    const pvs = new Map(pvRows.map((r) => [r.pv_name, { imageOffset: imageOffsetOf.get(r.pv_name)!, peStart: Number(r.pe_start) }]));
    const patterns = new Map<string, Uint8Array>();
    for (const lv of ['lin', 'str', 'span']) {
      const lvSegs = segs.filter((s) => s.lv_name === lv);
      const size = lvSegs.reduce((a, s) => a + Number(s.seg_size_pe) * extent, 0);
      const pattern = new Uint8Array(randomBytes(size));
      writeThroughToolMapping(img, pattern, toolMapping(lvSegs, pvs, extent));
      patterns.set(lv, pattern);
    }
    assert.ok(segs.some((s) => s.lv_name === 'span' && s.seg_pe_ranges.startsWith(l1)) && segs.some((s) => s.lv_name === 'span' && s.seg_pe_ranges.startsWith(l2)), 'span crosses both PVs');

    const disk = await openFile(img);
    try {
      const layout = await probeVolumes(disk);
      assert.equal(layout.scheme, 'gpt');
      assert.deepEqual(layout.issues, []);
      assert.equal(layout.details['lvmVolumeGroups'], vg);
      const lvs = layout.volumes.filter((v) => v.scheme === 'lvm');
      assert.deepEqual(lvs.map((v) => v.id).sort(), [`lvm:${vg}/lin`, `lvm:${vg}/span`, `lvm:${vg}/str`]);
      for (const lv of lvs) {
        const name = lv.lvm!.lv;
        const first = segs.find((s) => s.lv_name === name && s.seg_start_pe === '0')!;
        const firstRange = /^([^:]*):(\d+)-/.exec(first.seg_pe_ranges)!;
        const pv = pvs.get(firstRange[1]!)!;
        assert.equal(lv.offset, pv.imageOffset + pv.peStart + Number(firstRange[2]) * extent, `${name} offset`);
        assert.equal(lv.parent, firstRange[1] === l1 ? 'p1' : 'p2');
        assert.equal(lv.size, patterns.get(name)!.length, `${name} size`);
        assert.deepEqual(lv.lvm!.segments, [...new Set(segs.filter((s) => s.lv_name === name).map((s) => (s.segtype === 'linear' ? 'striped' : s.segtype)))]);
        assert.ok(Buffer.from(await readAll(lv)).equals(patterns.get(name)!), `${name} bytes`);
        // Unaligned reads crossing stripe chunks and segment boundaries.
        for (const [off, len] of [[65536 - 7, 70000], [lv.size - 100_003, 100_003], [1, 3 * 65536 + 5]] as const) {
          assert.ok(Buffer.from(await lv.source!.read(off, len)).equals(patterns.get(name)!.subarray(off, off + len)), `${name} read ${off}+${len}`);
        }
      }
      // LVs are listed right after the partition holding their first extent.
      const ids = layout.volumes.map((v) => v.id);
      assert.equal(ids[0], 'p1');
      assert.ok(ids.indexOf(`lvm:${vg}/lin`) < ids.indexOf('p2'));
    } finally {
      await disk.close();
    }

    // Wipe the second PV's label: LVs needing it lose their source, the others still read.
    const fd = openSync(img, 'r+');
    writeSync(fd, new Uint8Array(2048), 0, 2048, p2!.offset);
    closeSync(fd);
    const partial = await probeVolumes(new MemorySource(new Uint8Array(readFileSync(img))));
    assert.ok(partial.issues.some((i) => i.code === 'lvm.pv-missing'));
    const lin = partial.volumes.find((v) => v.id === `lvm:${vg}/lin`)!;
    const str = partial.volumes.find((v) => v.id === `lvm:${vg}/str`)!;
    assert.ok(Buffer.from(await readAll(lin)).equals(patterns.get('lin')!));
    assert.equal(str.source, undefined);
    assert.ok(str.issues.some((i) => i.code === 'lvm.pv-missing'));
  } finally {
    await sb.dispose();
  }
});

/** A random LVM id: 32 characters from LVM's alphabet, printed 6-4-4-4-4-4-6. */
function lvmId(): string {
  const abc = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const raw = [...randomBytes(32)].map((b) => abc[b % abc.length]).join('');
  return [raw.slice(0, 6), raw.slice(6, 10), raw.slice(10, 14), raw.slice(14, 18), raw.slice(18, 22), raw.slice(22, 26), raw.slice(26)].join('-');
}

function linearSection(name: string, visible: boolean, extents: number, pvExtent: number): string {
  return `${name} {\nid = "${lvmId()}"\nstatus = ["READ", "WRITE"${visible ? ', "VISIBLE"' : ''}]\nflags = []\ncreation_time = 1700000000\ncreation_host = "test"\nsegment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = ${extents}\ntype = "striped"\nstripe_count = 1\nstripes = [\n"pv0", ${pvExtent}\n]\n}\n}\n`;
}

test('a thin pool and thin LV (restored with vgcfgrestore) are listed with issues; hidden sub-LVs are not; whole-disk PV works', { skip }, async () => {
  const sb = new LvmSandbox();
  try {
    const img = join(sb.dir, 'pv.img');
    await run('truncate', ['-s', '32M', img]);
    const loop = await sb.attach(img);
    const vg = sb.vgName();
    // Two metadata copies: one after the label, one at the end of the PV.
    await sb.lvm('pvcreate', '-q', '--pvmetadatacopies', '2', loop);
    await sb.lvm('vgcreate', '-q', '-s', '1M', vg, loop);
    await sb.lvm('lvcreate', '-q', '-an', '-Zn', '-l', '2', '-n', 'lin', vg);
    // Thin pools cannot be created without device-mapper: write their metadata ourselves in
    // lvm's own format and let vgcfgrestore validate and commit it.
    const backup = join(sb.dir, 'vg.txt');
    await sb.lvm('vgcfgbackup', '-f', backup, vg);
    const thinLvs =
      `pool {\nid = "${lvmId()}"\nstatus = ["READ", "WRITE", "VISIBLE"]\nflags = []\ncreation_time = 1700000000\ncreation_host = "test"\nsegment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = 4\ntype = "thin-pool"\nmetadata = "pool_tmeta"\npool = "pool_tdata"\ntransaction_id = 1\nchunk_size = 128\ndiscards = "passdown"\nzero_new_blocks = 1\n}\n}\n` +
      `thin1 {\nid = "${lvmId()}"\nstatus = ["READ", "WRITE", "VISIBLE"]\nflags = []\ncreation_time = 1700000000\ncreation_host = "test"\nsegment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = 8\ntype = "thin"\nthin_pool = "pool"\ntransaction_id = 0\ndevice_id = 1\n}\n}\n` +
      linearSection('lvol0_pmspare', false, 1, 2) + linearSection('pool_tmeta', false, 1, 3) + linearSection('pool_tdata', false, 4, 4);
    const text = readFileSync(backup, 'utf8').replace(/logical_volumes \{\n/, `logical_volumes {\n${thinLvs}`);
    writeFileSync(backup, text);
    await sb.lvm('vgcfgrestore', '--force', '-f', backup, vg);
    const listed = await sb.lvm('lvs', '-a', '--noheadings', '-o', 'lv_name,segtype', vg);
    assert.match(listed, /thin1\s+thin/);
    await sb.release();

    const disk = await openFile(img);
    try {
      const layout = await probeVolumes(disk);
      assert.equal(layout.scheme, 'lvm');
      assert.deepEqual(layout.issues, []);
      assert.equal((await readPvLabel(disk)).metadataAreas.length, 2);
      // LVs come in metadata order (vgcfgrestore kept ours: pool, thin1, then lin).
      assert.deepEqual(layout.volumes.map((v) => v.id), ['whole', `lvm:${vg}/pool`, `lvm:${vg}/thin1`, `lvm:${vg}/lin`]);
      const [, pool, thin, lin] = layout.volumes;
      assert.ok(lin!.source);
      assert.equal(lin!.parent, 'whole');
      assert.equal(pool!.source, undefined);
      assert.equal(pool!.issues[0]!.code, 'lvm.thin-pool-unsupported');
      assert.equal(thin!.source, undefined);
      assert.equal(thin!.size, 8 * MiB);
      assert.deepEqual(thin!.issues.map((i) => i.message), [`LVM volume ${vg}/thin1: thin volumes are not supported`]);
    } finally {
      await disk.close();
    }
  } finally {
    await sb.dispose();
  }
});

test('metadata that wrapped around the circular buffer after many updates (real lvm) is read', { skip }, async () => {
  const sb = new LvmSandbox();
  try {
    const img = join(sb.dir, 'wrap.img');
    await run('truncate', ['-s', '16M', img]);
    const loop = await sb.attach(img);
    const vg = sb.vgName();
    await sb.lvm('pvcreate', '-q', '--metadatasize', '1m', loop);
    await sb.lvm('vgcreate', '-q', '-s', '1M', vg, loop);
    await sb.lvm('lvcreate', '-q', '-an', '-Zn', '-l', '1', '-n', 'keep', vg);
    // Large tags make every metadata write ~90 KiB, so the ~1 MiB buffer wraps within a
    // dozen updates.
    const tags = Array.from({ length: 700 }, (_, i) => ['--addtag', `t${i}_${'x'.repeat(120)}`]).flat();
    await sb.lvm('vgchange', '-q', ...tags, vg);
    let wrapped = false;
    for (let i = 0; i < 80 && !wrapped; i++) {
      await sb.lvm('vgchange', '-q', '--addtag', `step${i}`, vg);
      const src = await openFile(img);
      try {
        const label = await readPvLabel(src);
        wrapped = (await readMetadataArea(src, label.metadataAreas[0]!))!.wrapped;
      } finally {
        await src.close();
      }
    }
    assert.ok(wrapped, 'metadata text wrapped around the buffer');
    const seqno = Number((await sb.lvm('vgs', '--noheadings', '-o', 'vg_seqno', vg)).trim());
    await sb.release();
    const layout = await probeVolumes(new MemorySource(new Uint8Array(readFileSync(img))));
    assert.deepEqual(layout.issues, []);
    assert.deepEqual(layout.volumes.map((v) => v.id), ['whole', `lvm:${vg}/keep`]);
    const label = await readPvLabel(new MemorySource(new Uint8Array(readFileSync(img))));
    const mda = await readMetadataArea(new MemorySource(new Uint8Array(readFileSync(img))), label.metadataAreas[0]!);
    assert.match(new TextDecoder().decode(mda!.text), new RegExp(`seqno = ${seqno}\\n`));
  } finally {
    await sb.dispose();
  }
});
