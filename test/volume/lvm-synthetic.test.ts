import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySource } from '../../src/disk/memory-source.ts';
import { SliceSource } from '../../src/disk/slice-source.ts';
import { probeVolumes } from '../../src/volume/probe.ts';
import { parseConfig, MAX_SECTION_DEPTH } from '../../src/volume/lvm/text.ts';
import { readMetadataArea } from '../../src/volume/lvm/mda.ts';
import { readPvLabel } from '../../src/volume/lvm/label.ts';
import { lvmCrc } from '../../src/volume/lvm/crc.ts';
import { vgFromConfig } from '../../src/volume/lvm/metadata.ts';
import { MappedSource } from '../../src/volume/lvm/mapped-source.ts';
import { CorruptError } from '../../src/util/errors.ts';
import { fuzz, fuzzCases, prng } from '../helpers/fuzz.ts';
import { buildPv, linearLv, vgText, type SynthVg } from './lvm-fixture.ts';

function flip(buf: Uint8Array, at: number, mask: number): void {
  buf[at] = buf[at]! ^ mask;
}

const PV_A = 'PVPVPVPVPVPVPVPVPVPVPVPVPVPVPVaa';
const PV_B = 'PVPVPVPVPVPVPVPVPVPVPVPVPVPVPVbb';
/** 4 KiB extents keep synthetic PVs tiny. */
const EXTENT_SECTORS = 8;
const EXTENT = EXTENT_SECTORS * 512;
const PE_START_SECTORS = 256; // 128 KiB: after a 64 KiB metadata area at 4 KiB

function oneVg(lvs: string, peCount = 8, seqno = 5): SynthVg {
  return { name: 'vg0', seqno, extentSizeSectors: EXTENT_SECTORS, pvs: [{ key: 'pv0', uuid: PV_A, peStartSectors: PE_START_SECTORS, peCount }], lvs };
}

function fill(disk: Uint8Array, from: number, length: number, seed: number): void {
  const r = prng(seed);
  for (let i = 0; i < length; i++) disk[from + i] = Math.floor(r() * 256);
}

test('lvm calc_crc matches the reference value of lvm2 lib/misc/crc.c', () => {
  // Computed with lvm2's nibble-table loop over "123456789" from INITIAL_CRC.
  const nibble = [0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c];
  let crc = 0xf597a6cf;
  for (const b of new TextEncoder().encode('123456789')) {
    crc ^= b;
    crc = (crc >>> 4) ^ nibble[crc & 0xf]!;
    crc = (crc >>> 4) ^ nibble[crc & 0xf]!;
  }
  assert.equal(lvmCrc(new TextEncoder().encode('123456789')), crc >>> 0);
});

test('the metadata text parser reads sections, escaped strings, numbers, arrays and comments', () => {
  const root = parseConfig('vg {  # comment\n a = 1\n b = "x \\"q\\" \\\\ y"\n c = [ "p", 2, -3 ]\n d = []\n e = 1.5\n sub { f = "g" }\n}\nversion = 1\n');
  const vg = root.sections.get('vg')!;
  assert.equal(vg.values.get('a'), 1);
  assert.equal(vg.values.get('b'), 'x "q" \\ y');
  assert.deepEqual(vg.values.get('c'), ['p', 2, -3]);
  assert.deepEqual(vg.values.get('d'), []);
  assert.equal(vg.values.get('e'), 1.5);
  assert.equal(vg.sections.get('sub')!.values.get('f'), 'g');
  assert.equal(root.values.get('version'), 1);
});

test('LVM metadata with huge nesting is a CorruptError, not a stack overflow', () => {
  const deep = 'a {'.repeat(200_000) + '}'.repeat(200_000);
  assert.throws(() => parseConfig(deep), (err: Error) => err instanceof CorruptError && err.message.includes(`deeper than ${MAX_SECTION_DEPTH}`));
});

test('unbalanced or truncated metadata text is a CorruptError', () => {
  for (const bad of ['vg {', 'vg { a = }', '}', 'vg { a = [1, 2 }', 'vg { s = "open }', 'vg { a = 99999999999999999999 }']) {
    assert.throws(() => parseConfig(bad), CorruptError, bad);
  }
});

test('huge nesting inside a PV becomes an issue on the disk, not a crash', async () => {
  const text = 'vg0 {' + ' x {'.repeat(5000) + ' }'.repeat(5001);
  const disk = buildPv({ sizeBytes: 192 * 1024, uuid: PV_A, text, peStartSectors: PE_START_SECTORS });
  const layout = await probeVolumes(new MemorySource(disk));
  assert.equal(layout.scheme, 'lvm');
  assert.ok(layout.issues.some((i) => i.code === 'lvm.metadata-unreadable' && /deeper/.test(i.message)));
});

test('a linear LV on a whole-disk PV maps LV bytes to pe_start + extent', async () => {
  const disk = buildPv({ sizeBytes: PE_START_SECTORS * 512 + 8 * EXTENT, uuid: PV_A, text: vgText(oneVg(linearLv('root', 'pv0', 2, 3))), peStartSectors: PE_START_SECTORS });
  fill(disk, PE_START_SECTORS * 512, 8 * EXTENT, 7);
  const layout = await probeVolumes(new MemorySource(disk));
  assert.equal(layout.scheme, 'lvm');
  assert.deepEqual(layout.volumes.map((v) => v.id), ['whole', 'lvm:vg0/root']);
  const lv = layout.volumes[1]!;
  assert.equal(lv.parent, 'whole');
  assert.equal(lv.offset, PE_START_SECTORS * 512 + 2 * EXTENT);
  assert.equal(lv.size, 3 * EXTENT);
  assert.deepEqual(await lv.source!.read(0, 3 * EXTENT), disk.subarray(lv.offset, lv.offset + 3 * EXTENT));
});

test('metadata text that wraps around the circular buffer is reassembled and checksummed', async () => {
  const mdaSize = 64 * 1024;
  const text = vgText(oneVg(linearLv('root', 'pv0', 0, 4)));
  const disk = buildPv({ sizeBytes: 192 * 1024, uuid: PV_A, text, peStartSectors: PE_START_SECTORS, mdaSize, textOffset: mdaSize - 200 });
  const label = await readPvLabel(new MemorySource(disk));
  const mda = await readMetadataArea(new MemorySource(disk), label.metadataAreas[0]!);
  assert.equal(mda!.wrapped, true);
  assert.equal(new TextDecoder().decode(mda!.text), text);
  const layout = await probeVolumes(new MemorySource(disk));
  assert.deepEqual(layout.volumes.map((v) => v.id), ['whole', 'lvm:vg0/root']);
});

test('a metadata checksum mismatch is reported as an issue and the text is not trusted', async () => {
  const disk = buildPv({ sizeBytes: 192 * 1024, uuid: PV_A, text: vgText(oneVg(linearLv('root', 'pv0', 0, 4))), peStartSectors: PE_START_SECTORS });
  flip(disk, 4096 + 512 + 10, 0x20);
  const layout = await probeVolumes(new MemorySource(disk));
  assert.deepEqual(layout.volumes.map((v) => v.id), ['whole']);
  assert.ok(layout.issues.some((i) => i.code === 'lvm.metadata-unreadable' && /checksum mismatch/.test(i.message)));
});

test('a PV whose metadata area points outside the disk gets an issue', async () => {
  const disk = buildPv({ sizeBytes: 192 * 1024, uuid: PV_A, text: vgText(oneVg(linearLv('root', 'pv0', 0, 4))), peStartSectors: PE_START_SECTORS, mdaOffset: 4096 });
  // Rewrite the mda disk_locn to lie past the end, and fix the label checksum.
  const dv = new DataView(disk.buffer);
  dv.setBigUint64(512 + 32 + 40 + 32, 1n << 40n, true);
  dv.setUint32(512 + 16, lvmCrc(disk.subarray(512 + 20, 1024)), true);
  const layout = await probeVolumes(new MemorySource(disk));
  assert.ok(layout.issues.some((i) => i.code === 'lvm.metadata-unreadable' && /outside the device/.test(i.message)), JSON.stringify(layout.issues));
  assert.ok(layout.issues.some((i) => i.code === 'lvm.orphan-pv'));
});

test('an LV whose extents point past the end of its PV has no source and an issue', async () => {
  const disk = buildPv({ sizeBytes: PE_START_SECTORS * 512 + 8 * EXTENT, uuid: PV_A, text: vgText(oneVg(linearLv('big', 'pv0', 4, 100), 200)), peStartSectors: PE_START_SECTORS });
  const layout = await probeVolumes(new MemorySource(disk));
  const lv = layout.volumes.find((v) => v.id === 'lvm:vg0/big')!;
  assert.equal(lv.source, undefined);
  assert.equal(lv.issues[0]!.code, 'lvm.extent-outside-pv');
});

test('a VG with a PV that is not on the disk reports it; LVs on present PVs still read', async () => {
  const vg: SynthVg = {
    name: 'vg0', seqno: 3, extentSizeSectors: EXTENT_SECTORS,
    pvs: [{ key: 'pv0', uuid: PV_A, peStartSectors: PE_START_SECTORS, peCount: 8 }, { key: 'pv1', uuid: PV_B, peStartSectors: PE_START_SECTORS, peCount: 8 }],
    lvs: linearLv('here', 'pv0', 0, 2) + linearLv('gone', 'pv1', 0, 2),
  };
  const disk = buildPv({ sizeBytes: PE_START_SECTORS * 512 + 8 * EXTENT, uuid: PV_A, text: vgText(vg), peStartSectors: PE_START_SECTORS });
  const layout = await probeVolumes(new MemorySource(disk));
  assert.ok(layout.issues.some((i) => i.code === 'lvm.pv-missing'));
  const here = layout.volumes.find((v) => v.id === 'lvm:vg0/here')!;
  const gone = layout.volumes.find((v) => v.id === 'lvm:vg0/gone')!;
  assert.ok(here.source);
  assert.equal(gone.source, undefined);
  assert.match(gone.issues[0]!.message, /pv1 .* is not on this disk/);
});

test('hidden sub-LVs are not listed and unsupported segment types are named', async () => {
  const thin = `thin1 {\n id = "a"\n status = ["READ", "WRITE", "VISIBLE"]\n segment_count = 1\n segment1 {\n start_extent = 0\n extent_count = 4\n type = "thin"\n thin_pool = "pool"\n device_id = 1\n }\n}\n`;
  const r1 = `mirr {\n id = "b"\n status = ["READ", "WRITE", "VISIBLE"]\n segment_count = 1\n segment1 {\n start_extent = 0\n extent_count = 1\n type = "raid1"\n device_count = 2\n raids = ["mirr_rmeta_0", "mirr_rimage_0"]\n }\n}\n`;
  const lvs = thin + r1 + linearLv('mirr_rimage_0', 'pv0', 0, 1, false) + linearLv('pool_tmeta', 'pv0', 1, 1, false);
  const disk = buildPv({ sizeBytes: PE_START_SECTORS * 512 + 8 * EXTENT, uuid: PV_A, text: vgText(oneVg(lvs)), peStartSectors: PE_START_SECTORS });
  const layout = await probeVolumes(new MemorySource(disk));
  assert.deepEqual(layout.volumes.map((v) => v.id), ['whole', 'lvm:vg0/thin1', 'lvm:vg0/mirr']);
  const [, t, m] = layout.volumes;
  assert.equal(t!.source, undefined);
  assert.equal(t!.issues[0]!.message, 'LVM volume vg0/thin1: thin volumes are not supported');
  assert.equal(t!.issues[0]!.code, 'lvm.thin-unsupported');
  assert.equal(t!.size, 4 * EXTENT);
  assert.equal(m!.issues[0]!.code, 'lvm.raid-unsupported');
});

test('the newest metadata (highest seqno) wins when PVs disagree', async () => {
  const size = PE_START_SECTORS * 512 + 8 * EXTENT;
  const vgOld: SynthVg = { name: 'vg0', seqno: 4, extentSizeSectors: EXTENT_SECTORS, pvs: [{ key: 'pv0', uuid: PV_A, peStartSectors: PE_START_SECTORS, peCount: 8 }, { key: 'pv1', uuid: PV_B, peStartSectors: PE_START_SECTORS, peCount: 8 }], lvs: linearLv('old', 'pv0', 0, 1) };
  const vgNew: SynthVg = { ...vgOld, seqno: 9, lvs: linearLv('new', 'pv1', 0, 1) };
  const disk = new Uint8Array(1024 * 1024 + 2 * size);
  disk.set(buildPv({ sizeBytes: size, uuid: PV_A, text: vgText(vgOld), peStartSectors: PE_START_SECTORS }), 1024 * 1024);
  disk.set(buildPv({ sizeBytes: size, uuid: PV_B, text: vgText(vgNew), peStartSectors: PE_START_SECTORS }), 1024 * 1024 + size);
  // An MBR with the two PVs as partitions.
  const dv = new DataView(disk.buffer);
  for (const [slot, lba] of [[0, 2048], [1, 2048 + size / 512]] as const) {
    disk[446 + slot * 16 + 4] = 0x8e;
    dv.setUint32(446 + slot * 16 + 8, lba, true);
    dv.setUint32(446 + slot * 16 + 12, size / 512, true);
  }
  disk[510] = 0x55;
  disk[511] = 0xaa;
  const layout = await probeVolumes(new MemorySource(disk));
  assert.deepEqual(layout.volumes.map((v) => v.id), ['p1', 'p2', 'lvm:vg0/new']);
  assert.equal(layout.volumes[2]!.parent, 'p2');
  assert.equal(layout.volumes[2]!.offset, 1024 * 1024 + size + PE_START_SECTORS * 512);
  assert.ok(layout.issues.some((i) => i.code === 'lvm.stale-metadata'));
});

test('MappedSource striped reads equal a byte-by-byte reference mapping, across segments', async () => {
  const dev = new Uint8Array(256 * 1024);
  fill(dev, 0, dev.length, 3);
  const src = new MemorySource(dev);
  const chunk = 4096;
  const stripes = 3;
  // segment 1: 3 stripes x 4 chunks at device offsets 0, 64K, 128K; segment 2: linear at 200K.
  const seg1Len = stripes * 4 * chunk;
  const mapped = new MappedSource(
    [
      { start: 0, length: seg1Len, stripeBytes: chunk, areas: [0, 65536, 131072].map((offset) => ({ source: src, offset })) },
      { start: seg1Len, length: 20000, stripeBytes: 20000, areas: [{ source: new SliceSource(src, 200 * 1024, 50000), offset: 100 }] },
    ],
    { description: 'test' },
  );
  const ref = (x: number): number => {
    if (x >= seg1Len) return dev[200 * 1024 + 100 + (x - seg1Len)]!;
    const c = Math.floor(x / chunk);
    return dev[[0, 65536, 131072][c % stripes]! + Math.floor(c / stripes) * chunk + (x % chunk)]!;
  };
  const r = prng(11);
  for (let k = 0; k < 200; k++) {
    const off = Math.floor(r() * mapped.size);
    const len = Math.floor(r() * Math.min(30000, mapped.size - off));
    const got = await mapped.read(off, len);
    for (let i = 0; i < len; i++) if (got[i] !== ref(off + i)) assert.fail(`byte ${off + i} differs (read ${off}+${len})`);
  }
  const before = src.stats().reads;
  await mapped.read(0, seg1Len);
  assert.equal(src.stats().reads - before, stripes, 'one device read per stripe');
});

test('fuzz: mutated LVM label, metadata area header and metadata text only return or throw typed errors', async () => {
  const lvs = linearLv('root', 'pv0', 0, 2) + `str {\n id = "s"\n status = ["READ", "WRITE", "VISIBLE"]\n segment_count = 1\n segment1 {\n start_extent = 0\n extent_count = 4\n type = "striped"\n stripe_count = 2\n stripe_size = 2\n stripes = [\n"pv0", 2,\n"pv0", 4\n]\n }\n}\n`;
  const text = vgText(oneVg(lvs));
  const base = buildPv({ sizeBytes: PE_START_SECTORS * 512 + 8 * EXTENT, uuid: PV_A, text, peStartSectors: PE_START_SECTORS });
  // Without fixing checksums most mutations of the text stop at the CRC: also fuzz a variant
  // whose checksum is recomputed after mutation, so the parser and mapper see hostile text.
  const textStart = 4096 + 512;
  const textEnd = textStart + text.length;
  const parseRefreshed = async (b: Uint8Array) => {
    if (b.length >= textEnd + 1) {
      const dv = new DataView(b.buffer, b.byteOffset);
      dv.setUint32(4096 + 56, lvmCrc(b.subarray(textStart, textEnd + 1)), true);
      dv.setUint32(4096, lvmCrc(b.subarray(4096 + 4, 4096 + 512)), true);
    }
    const layout = await probeVolumes(new MemorySource(b));
    for (const v of layout.volumes) if (v.source !== undefined && v.size > 0) await v.source.read(0, Math.min(v.size, 8192));
    return layout;
  };
  // The layer functions throw typed errors; the probe turns them into issues.
  const strict = async (b: Uint8Array) => {
    const src = new MemorySource(b);
    const label = await readPvLabel(src);
    const mda = await readMetadataArea(src, label.metadataAreas[0] ?? { offset: 0, size: 0 });
    return mda === undefined ? undefined : vgFromConfig(parseConfig(new TextDecoder().decode(mda.text)));
  };
  const cases = fuzzCases(300);
  const regions: Array<[number, number]> = [[512, 1024], [4096, 4096 + 64], [textStart, textEnd]];
  const a = await fuzz(base, strict, { cases, regions, allowTruncate: true });
  assert.ok(a.rejected > 0 && a.accepted > 0, JSON.stringify(a));
  const b = await fuzz(base, (bytes) => probeVolumes(new MemorySource(bytes)), { cases, seed: 5_000, regions, allowTruncate: true });
  const c = await fuzz(base, parseRefreshed, { cases, seed: 10_000, regions: [[textStart, textEnd]], maxMutations: 6 });
  assert.equal(a.cases + b.cases + c.cases, 3 * cases);
});
