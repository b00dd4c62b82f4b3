import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { BlockSource } from '../../src/disk/index.ts';
import { FileSource } from '../../src/disk/file-source.ts';
import { MemorySource } from '../../src/disk/memory-source.ts';
import { vhdxDecoder } from '../../src/disk/containers/vhdx/index.ts';
import { findActiveSequence } from '../../src/disk/containers/vhdx/log.ts';
import { crc32c } from '../../src/util/crc32.ts';
import { BudgetError, CorruptError, NotThisFormatError, UnsupportedError } from '../../src/util/errors.ts';
import { fuzz, fuzzCases, prng } from '../helpers/fuzz.ts';
import { needTools, run, tempDir } from '../helpers/tools.ts';
import { assertBytesEqual } from '../helpers/bytes.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const skip = needTools('qemu-img');

const GUID = {
  fileParameters: 'CAA16737-FA36-4D43-B3B6-33F0AA44E76B',
  virtualDiskSize: '2FA54224-CD1B-4876-B211-5DBED83BF4B8',
  virtualDiskId: 'BECA12AB-B2E6-4523-93EF-C309E000C746',
  logicalSectorSize: '8141BF1D-A96F-4709-BA47-F233A8FAAB5F',
  physicalSectorSize: 'CDA348C7-445D-4471-9CC9-E9885251C556',
  parentLocator: 'A8D35F2D-B30B-454D-ABF7-D3D84834AB0C',
  vhdxLocatorType: 'B04AEFB7-D19E-4A81-B789-25B8E9445913',
  batRegion: '2DC27766-F623-4200-9D64-115E9BFD4A08',
  metadataRegion: '8B7CA206-4790-4B9A-B8FE-575F050F886E',
} as const;

/** Seeded random data at a few places (some crossing block boundaries), holes elsewhere. */
function patternDisk(size: number, seed: number): Uint8Array {
  const disk = new Uint8Array(size);
  const rnd = prng(seed);
  const spans: Array<[number, number]> = [
    [0, 64 * KiB],
    [3 * MiB + 1234, 70_000],
    [5 * MiB + 7, 2 * MiB + 3],
    [9 * MiB - 100, 300],
    [size - 4096, 4096],
  ];
  for (const [at, len] of spans) {
    if (at + len > size) continue;
    for (let i = 0; i < len; i++) disk[at + i] = Math.floor(rnd() * 256);
  }
  return disk;
}

interface Fixtures {
  dir: string;
  raw: Uint8Array;
  /** Default dynamic VHDX (qemu picks 8 MiB blocks for this size). */
  dynamic: Uint8Array;
  block1M: Uint8Array;
  fixed: Uint8Array;
  /** qemu-img's raw conversion of the default dynamic image: the oracle. */
  dynamicOut: Uint8Array;
  /** A 4 MiB disk in 1 MiB blocks, for fuzzing. */
  small: Uint8Array;
  /** A sparse 4.5 GiB disk in 1 MiB blocks: crosses the 4 GiB chunk (sector bitmap entry in the BAT). */
  bigPath: string;
}

const tmp = tempDir('hullscan-vhdx-');
after(() => tmp.cleanup());
let built: Promise<Fixtures> | undefined;

const BIG_SPANS: Array<[number, number, number]> = [
  [4 * GiB - 5000, 10_000, 0x41],
  [4 * GiB + 3 * MiB, 5000, 0x42],
  [4 * GiB + 500 * MiB - 4096, 4096, 0x43],
];

function fixtures(): Promise<Fixtures> {
  built ??= (async () => {
    const dir = tmp.dir;
    const p = (n: string) => join(dir, n);
    const raw = patternDisk(16 * MiB, 11);
    writeFileSync(p('disk.raw'), raw);
    writeFileSync(p('small.raw'), patternDisk(4 * MiB, 12));
    const fd = openSync(p('big.raw'), 'w');
    ftruncateSync(fd, 4 * GiB + 512 * MiB);
    for (const [at, len, byte] of BIG_SPANS) writeSync(fd, new Uint8Array(len).fill(byte), 0, len, at);
    closeSync(fd);
    const conv = (args: string[]) => run('qemu-img', ['convert', '-f', 'raw', '-O', 'vhdx', ...args]);
    await Promise.all([
      conv([p('disk.raw'), p('dynamic.vhdx')]),
      conv(['-o', 'block_size=1M', p('disk.raw'), p('block1m.vhdx')]),
      conv(['-o', 'subformat=fixed', p('disk.raw'), p('fixed.vhdx')]),
      conv(['-o', 'block_size=1M', p('small.raw'), p('small.vhdx')]),
      conv(['-o', 'block_size=1M', p('big.raw'), p('big.vhdx')]),
    ]);
    await run('qemu-img', ['convert', '-f', 'vhdx', '-O', 'raw', p('dynamic.vhdx'), p('dynamic.out')]);
    const r = (n: string) => new Uint8Array(readFileSync(p(n)));
    return {
      dir,
      raw,
      dynamic: r('dynamic.vhdx'),
      block1M: r('block1m.vhdx'),
      fixed: r('fixed.vhdx'),
      dynamicOut: r('dynamic.out'),
      small: r('small.vhdx'),
      bigPath: p('big.vhdx'),
    };
  })();
  return built;
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

async function hashSource(src: BlockSource): Promise<string> {
  const h = createHash('sha256');
  for (let o = 0; o < src.size; o += 3 * MiB) h.update(await src.read(o, Math.min(3 * MiB, src.size - o)));
  return h.digest('hex');
}

async function assertSameAs(src: BlockSource, oracle: Uint8Array): Promise<void> {
  assert.equal(src.size, oracle.length);
  assert.equal(await hashSource(src), sha256(oracle));
  const rnd = prng(43);
  for (let i = 0; i < 200; i++) {
    const len = 1 + Math.floor(rnd() * (rnd() < 0.3 ? 5 * MiB : 9000));
    const off = Math.floor(rnd() * (oracle.length - len));
    assertBytesEqual(await src.read(off, len), oracle.subarray(off, off + len), `offset ${off} length ${len}`);
  }
}

/** Flips bits of one byte (corrupting a checksummed structure). */
function flip(b: Uint8Array, at: number, mask: number): void {
  b[at] = b[at]! ^ mask;
}

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** GUID text to its on-disk mixed-endian bytes. */
function guidBytes(text: string): Uint8Array {
  const h = text.replace(/-/g, '');
  const b = Uint8Array.from({ length: 16 }, (_, i) => parseInt(h.slice(i * 2, i * 2 + 2), 16));
  return Uint8Array.from([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.subarray(8)]);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Rewrites a CRC-32C field (checksum taken as zero over `length` bytes at `start`). */
function fixCrc(b: Uint8Array, start: number, length: number, field = 4): void {
  dv(b).setUint32(start + field, 0, true);
  dv(b).setUint32(start + field, crc32c(b.subarray(start, start + length)), true);
}

function fixHeaders(b: Uint8Array): void {
  for (const off of [64 * KiB, 128 * KiB]) if (b[off] === 0x68) fixCrc(b, off, 4 * KiB);
}

function fixRegionTables(b: Uint8Array): void {
  for (const off of [192 * KiB, 256 * KiB]) if (b[off] === 0x72) fixCrc(b, off, 64 * KiB);
}

/** Where qemu put things, read from region table 1 and the metadata table. */
function layout(b: Uint8Array) {
  const t = 192 * KiB;
  let bat = 0;
  let meta = 0;
  for (let i = 0; i < dv(b).getUint32(t + 8, true); i++) {
    const e = t + 16 + i * 32;
    const off = Number(dv(b).getBigUint64(e + 16, true));
    if (sameBytes(b.subarray(e, e + 16), guidBytes(GUID.batRegion))) bat = off;
    if (sameBytes(b.subarray(e, e + 16), guidBytes(GUID.metadataRegion))) meta = off;
  }
  const item = (guid: string) => {
    for (let i = 0; i < dv(b).getUint16(meta + 10, true); i++) {
      const e = meta + 32 + i * 32;
      if (sameBytes(b.subarray(e, e + 16), guidBytes(guid))) return { entry: e, at: meta + dv(b).getUint32(e + 16, true) };
    }
    throw new Error(`no metadata item ${guid}`);
  };
  const h = dv(b);
  return {
    bat,
    meta,
    item,
    logOffset: Number(h.getBigUint64(64 * KiB + 72, true)),
    logLength: h.getUint32(64 * KiB + 68, true),
  };
}

async function probe(bytes: Uint8Array) {
  return vhdxDecoder.probe(new MemorySource(bytes, { description: 'test.vhdx' }), {});
}

test('a dynamic VHDX made by qemu-img reads as qemu-img converts it', { skip }, async () => {
  const fx = await fixtures();
  const c = await probe(fx.dynamic);
  assert.equal(c.format, 'vhdx');
  assert.equal(c.source.sectorSize, 512);
  assert.equal(c.details['logicalSectorSize'], 512);
  assert.equal(c.details['physicalSectorSize'], 512);
  assert.equal(c.details['blockSize'], 8 * MiB);
  assert.match(String(c.details['creator']), /QEMU/);
  assert.deepEqual(c.issues, []);
  await assertSameAs(c.source, fx.dynamicOut);
  assert.equal(sha256(fx.dynamicOut), sha256(fx.raw));
});

test('a VHDX with 1 MiB blocks and zero-state holes reads as the raw disk', { skip }, async () => {
  const fx = await fixtures();
  const c = await probe(fx.block1M);
  assert.equal(c.details['blockSize'], MiB);
  await assertSameAs(c.source, fx.raw);
});

test('a fixed VHDX reads as the raw disk and says its blocks stay allocated', { skip }, async () => {
  const fx = await fixtures();
  const c = await probe(fx.fixed);
  assert.equal(c.details['leaveBlockAllocated'], true);
  await assertSameAs(c.source, fx.raw);
});

test('a whole-disk read of a VHDX with blocks stored in order costs one underlying read', { skip }, async () => {
  const fx = await fixtures();
  const mem = new MemorySource(fx.block1M);
  const c = await vhdxDecoder.probe(mem, {});
  const before = mem.stats().reads;
  assert.equal(sha256(await c.source.read(0, c.source.size)), sha256(fx.raw));
  assert.equal(mem.stats().reads - before, 1);
});

test('a VHDX past 4 GiB skips the sector bitmap entry interleaved in its BAT', { skip }, async () => {
  const fx = await fixtures();
  const file = await FileSource.open(fx.bigPath);
  try {
    const c = await vhdxDecoder.probe(file, {});
    assert.equal(c.source.size, 4 * GiB + 512 * MiB);
    for (const [at, len, byte] of BIG_SPANS) {
      const got = await c.source.read(at - 100, len + 200);
      const want = new Uint8Array(len + 200);
      want.fill(byte, 100, 100 + len);
      assert.deepEqual(got, want, `span at ${at}`);
    }
    assertBytesEqual(await c.source.read(4 * GiB + 100 * MiB, 4096), new Uint8Array(4096));
  } finally {
    await file.close();
  }
});

test('a VHDX with 4096-byte logical sectors exposes sectorSize 4096', { skip }, async () => {
  // qemu-img cannot make one; its logical sector size item is patched (below 32 GiB the BAT
  // layout is the same for both sector sizes).
  const fx = await fixtures();
  const b = fx.block1M.slice();
  const l = layout(b);
  dv(b).setUint32(l.item(GUID.logicalSectorSize).at, 4096, true);
  dv(b).setUint32(l.item(GUID.physicalSectorSize).at, 4096, true);
  const c = await probe(b);
  assert.equal(c.source.sectorSize, 4096);
  assert.equal(c.details['logicalSectorSize'], 4096);
  assert.equal(c.details['physicalSectorSize'], 4096);
  assert.equal(await hashSource(c.source), sha256(fx.raw));
});

test('a VHDX whose current header has a bad CRC falls back to the other header', { skip }, async () => {
  const fx = await fixtures();
  const h = dv(fx.block1M);
  const current = h.getBigUint64(128 * KiB + 8, true) > h.getBigUint64(64 * KiB + 8, true) ? 128 * KiB : 64 * KiB;
  const b = fx.block1M.slice();
  flip(b, current + 100, 0x10);
  const c = await probe(b);
  assert.deepEqual(c.issues.map((i) => i.code), ['vhdx.header-invalid']);
  assert.equal(await hashSource(c.source), sha256(fx.raw));
});

test('a VHDX with both header CRCs bad is corrupt', { skip }, async () => {
  const fx = await fixtures();
  const b = fx.block1M.slice();
  flip(b, 64 * KiB + 100, 1);
  flip(b, 128 * KiB + 4, 1);
  await assert.rejects(probe(b), (err: Error) => err instanceof CorruptError && /both VHDX headers/.test(err.message));
});

test('a VHDX with a bad region table 1 uses region table 2; both bad is corrupt', { skip }, async () => {
  const fx = await fixtures();
  const b = fx.block1M.slice();
  flip(b, 192 * KiB + 40, 1);
  const c = await probe(b);
  assert.deepEqual(c.issues.map((i) => i.code), ['vhdx.region-table-invalid']);
  assert.equal(await hashSource(c.source), sha256(fx.raw));
  flip(b, 256 * KiB + 40, 1);
  await assert.rejects(probe(b), (err: Error) => err instanceof CorruptError && /region tables/.test(err.message));
});

test('a truncated VHDX is corrupt: inside the header section, or with blocks cut off', { skip }, async () => {
  const fx = await fixtures();
  await assert.rejects(probe(fx.block1M.subarray(0, 100 * KiB)), CorruptError);
  const c = await probe(fx.block1M.subarray(0, fx.block1M.length - 512 * KiB));
  await assert.rejects(c.source.read(c.source.size - 4096, 4096), (err: Error) => err instanceof CorruptError && /outside/.test(err.message));
});

test('a BAT entry pointing past the end of the file is corrupt when that block is read', { skip }, async () => {
  const fx = await fixtures();
  const b = fx.block1M.slice();
  const { bat } = layout(b);
  dv(b).setBigUint64(bat, (0x7_0000n << 20n) | 6n, true);
  const c = await probe(b);
  await assert.rejects(c.source.read(0, 512), (err: Error) => err instanceof CorruptError && /outside/.test(err.message));
  assertBytesEqual(await c.source.read(5 * MiB, 4096), fx.raw.subarray(5 * MiB, 5 * MiB + 4096));
});

test('a BAT entry in a reserved or differencing-only state is corrupt when read', { skip }, async () => {
  const fx = await fixtures();
  for (const state of [4n, 7n]) {
    const b = fx.block1M.slice();
    const { bat } = layout(b);
    dv(b).setBigUint64(bat, (dv(b).getBigUint64(bat, true) & ~7n) | state, true);
    const c = await probe(b);
    await assert.rejects(c.source.read(0, 512), CorruptError, `state ${state}`);
  }
});

test('absurd metadata is corrupt: block size, sector sizes, disk size, BAT region too small', { skip }, async () => {
  const fx = await fixtures();
  const cases: Array<[string, (b: Uint8Array, l: ReturnType<typeof layout>) => void]> = [
    ['block size 3 MiB', (b, l) => dv(b).setUint32(l.item(GUID.fileParameters).at, 3 * MiB, true)],
    ['block size 512 MiB', (b, l) => dv(b).setUint32(l.item(GUID.fileParameters).at, 512 * MiB, true)],
    ['block size 0', (b, l) => dv(b).setUint32(l.item(GUID.fileParameters).at, 0, true)],
    ['logical sector 1000', (b, l) => dv(b).setUint32(l.item(GUID.logicalSectorSize).at, 1000, true)],
    ['physical sector 0', (b, l) => dv(b).setUint32(l.item(GUID.physicalSectorSize).at, 0, true)],
    ['disk size 2^62', (b, l) => dv(b).setBigUint64(l.item(GUID.virtualDiskSize).at, 1n << 62n, true)],
    ['disk size 1 TiB (BAT region too small)', (b, l) => dv(b).setBigUint64(l.item(GUID.virtualDiskSize).at, 1n << 40n, true)],
    ['disk size not a sector multiple', (b, l) => dv(b).setBigUint64(l.item(GUID.virtualDiskSize).at, 16n * 1024n * 1024n + 7n, true)],
    ['item outside the region', (b, l) => dv(b).setUint32(l.item(GUID.fileParameters).entry + 16, 0xfffff000, true)],
    ['metadata entry count 0xffff', (b, l) => dv(b).setUint16(l.meta + 10, 0xffff, true)],
  ];
  for (const [name, patch] of cases) {
    const b = fx.block1M.slice();
    patch(b, layout(b));
    await assert.rejects(probe(b), CorruptError, name);
  }
});

test('an unknown required metadata item is refused as unsupported', { skip }, async () => {
  const fx = await fixtures();
  const b = fx.block1M.slice();
  const l = layout(b);
  b.set(guidBytes('11111111-2222-3333-4444-555555555555'), l.item(GUID.virtualDiskId).entry);
  dv(b).setUint32(l.item(GUID.fileParameters).entry + 24, 4, true);
  await assert.rejects(probe(b), (err: Error) => err instanceof UnsupportedError && /11111111-2222/.test(err.message));
});

/** Marks the image as differencing and, when given, adds a parent locator with these pairs. */
function makeDifferencing(src: Uint8Array, pairs?: Array<[string, string]>): Uint8Array {
  const b = src.slice();
  const l = layout(b);
  const fp = l.item(GUID.fileParameters).at;
  dv(b).setUint32(fp + 4, dv(b).getUint32(fp + 4, true) | 2, true);
  if (pairs) {
    const itemOffset = 256 * KiB;
    const item = new Uint8Array(4096);
    item.set(guidBytes(GUID.vhdxLocatorType), 0);
    dv(item).setUint16(18, pairs.length, true);
    let str = 20 + pairs.length * 12;
    const put = (s: string) => {
      const at = str;
      for (let i = 0; i < s.length; i++) dv(item).setUint16(at + i * 2, s.charCodeAt(i), true);
      str += s.length * 2;
      return at;
    };
    pairs.forEach(([k, v], i) => {
      const e = 20 + i * 12;
      const ko = put(k);
      const vo = put(v);
      dv(item).setUint32(e, ko, true);
      dv(item).setUint32(e + 4, vo, true);
      dv(item).setUint16(e + 8, k.length * 2, true);
      dv(item).setUint16(e + 10, v.length * 2, true);
    });
    b.set(item.subarray(0, str), l.meta + itemOffset);
    const count = dv(b).getUint16(l.meta + 10, true);
    const e = l.meta + 32 + count * 32;
    b.set(guidBytes(GUID.parentLocator), e);
    dv(b).setUint32(e + 16, itemOffset, true);
    dv(b).setUint32(e + 20, str, true);
    dv(b).setUint32(e + 24, 4, true);
    dv(b).setUint16(l.meta + 10, count + 1, true);
  }
  return b;
}

test('a differencing VHDX is refused naming the parent path from its locator', { skip }, async () => {
  const fx = await fixtures();
  const b = makeDifferencing(fx.block1M, [
    ['parent_linkage', '{83ed0ec3-24c8-49a6-a959-5e4bf1288bfb}'],
    ['absolute_win32_path', '\\\\?\\d:\\images\\parent.vhdx'],
    ['relative_path', '..\\images\\parent.vhdx'],
  ]);
  await assert.rejects(probe(b), (err: Error) => err instanceof UnsupportedError && err.message === "VHDX differencing disk needs its parent '..\\images\\parent.vhdx'");
  await assert.rejects(probe(makeDifferencing(fx.block1M)), (err: Error) => err instanceof UnsupportedError && /needs its parent/.test(err.message));
});

test('bytes without the vhdxfile signature are not a VHDX', async () => {
  await assert.rejects(probe(new Uint8Array(1 * MiB)), NotThisFormatError);
  await assert.rejects(probe(new Uint8Array(3)), NotThisFormatError);
  const vhd = new Uint8Array(1 * MiB);
  vhd.set(new TextEncoder().encode('conectix'), vhd.length - 512);
  await assert.rejects(probe(vhd), NotThisFormatError);
});

// ---- Log replay. qemu-img never leaves a log behind, so entries are written here per
// [MS-VHDX] 2.3.1: a 64-byte header, 32-byte descriptors, 4 KiB data sectors, CRC-32C. ----

type Desc = { kind: 'data'; fileOffset: number; data: Uint8Array } | { kind: 'zero'; fileOffset: number; length: number };

interface EntrySpec {
  seq: bigint;
  tail: number;
  guid: Uint8Array;
  flushed: number;
  last: number;
  descs: Desc[];
}

function logEntry(spec: EntrySpec): Uint8Array {
  const descSectors = Math.ceil((64 + 32 * spec.descs.length) / 4096);
  const data = spec.descs.filter((d) => d.kind === 'data');
  const e = new Uint8Array((descSectors + data.length) * 4096);
  const v = dv(e);
  e.set(new TextEncoder().encode('loge'), 0);
  v.setUint32(8, e.length, true);
  v.setUint32(12, spec.tail, true);
  v.setBigUint64(16, spec.seq, true);
  v.setUint32(24, spec.descs.length, true);
  e.set(spec.guid, 32);
  v.setBigUint64(48, BigInt(spec.flushed), true);
  v.setBigUint64(56, BigInt(spec.last), true);
  let sector = descSectors;
  spec.descs.forEach((d, i) => {
    const at = 64 + i * 32;
    v.setBigUint64(at + 16, BigInt(d.fileOffset), true);
    v.setBigUint64(at + 24, spec.seq, true);
    if (d.kind === 'zero') {
      e.set(new TextEncoder().encode('zero'), at);
      v.setBigUint64(at + 8, BigInt(d.length), true);
    } else {
      e.set(new TextEncoder().encode('desc'), at);
      e.set(d.data.subarray(4092, 4096), at + 4);
      e.set(d.data.subarray(0, 8), at + 8);
      const s = sector++ * 4096;
      e.set(new TextEncoder().encode('data'), s);
      v.setUint32(s + 4, Number(spec.seq >> 32n), true);
      e.set(d.data.subarray(8, 4092), s + 8);
      v.setUint32(s + 4092, Number(spec.seq & 0xffffffffn), true);
    }
  });
  fixCrc(e, 0, e.length);
  return e;
}

/** Writes an entry into the log ring at sector `at`, wrapping at the ring's end. */
function putInRing(b: Uint8Array, logOffset: number, logLength: number, at: number, entry: Uint8Array): void {
  const sectors = logLength / 4096;
  for (let i = 0; i < entry.length / 4096; i++) {
    b.set(entry.subarray(i * 4096, (i + 1) * 4096), logOffset + ((at + i) % sectors) * 4096);
  }
}

function setLogGuid(b: Uint8Array, guid: Uint8Array): void {
  for (const off of [64 * KiB, 128 * KiB]) b.set(guid, off + 48);
  fixHeaders(b);
}

interface LogImage {
  bytes: Uint8Array;
  /** What virtual block 2 must read as after replay. */
  block2: Uint8Array;
  /** Where entry A (sector 253) sits, for fuzzing. */
  entryA: [number, number];
}

/** Ring sectors of the entries: the default makes B wrap; the other puts the stale D last. */
interface RingPlan {
  a: number;
  b: number;
  c: number;
  d: number;
}
const WRAPPING: RingPlan = { a: 253, b: 255, c: 3, d: 10 };
const STALE_LAST: RingPlan = { a: 20, b: 22, c: 26, d: 100 };

/**
 * The 1 MiB-block image with a log whose active sequence is A (seq 10) and B (seq 11; by
 * default at ring sector 255, wrapping to sectors 0-1). A rewrites the BAT sector so that payload
 * block 2 (a hole) lives at the end of the file and zeroes that new megabyte; B writes two
 * data sectors into it, writes a third and zeroes it again. A stale but valid entry D (seq 3)
 * and an entry C with a foreign log GUID that would extend the sequence must both be ignored.
 */
function imageWithLog(src: Uint8Array, flushedExtra = 0, plan: RingPlan = WRAPPING): LogImage {
  const b = src.slice();
  const l = layout(b);
  const guid = guidBytes('0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0');
  const fileEnd = b.length;
  const rnd = prng(77);
  const p1 = Uint8Array.from({ length: 4096 }, () => Math.floor(rnd() * 256));
  const p2 = Uint8Array.from({ length: 4096 }, () => Math.floor(rnd() * 256));
  const p3 = new Uint8Array(4096).fill(0x99);

  const batSector = (block: number, state: bigint, mb: number) => {
    const s = b.slice(l.bat, l.bat + 4096);
    dv(s).setBigUint64(block * 8, (BigInt(mb) << 20n) | state, true);
    return s;
  };
  const A = logEntry({
    seq: 10n, tail: plan.a * 4096, guid, flushed: fileEnd, last: fileEnd + MiB,
    descs: [
      { kind: 'data', fileOffset: l.bat, data: batSector(2, 6n, fileEnd / MiB) },
      { kind: 'zero', fileOffset: fileEnd, length: MiB },
    ],
  });
  const B = logEntry({
    seq: 11n, tail: plan.a * 4096, guid, flushed: fileEnd + flushedExtra, last: fileEnd + MiB,
    descs: [
      { kind: 'data', fileOffset: fileEnd, data: p1 },
      { kind: 'data', fileOffset: fileEnd + 8192, data: p2 },
      { kind: 'data', fileOffset: fileEnd + 16384, data: p3 },
      { kind: 'zero', fileOffset: fileEnd + 16384, length: 4096 },
    ],
  });
  const C = logEntry({
    seq: 12n, tail: plan.a * 4096, guid: guidBytes('99999999-9999-9999-9999-999999999999'), flushed: fileEnd, last: fileEnd,
    descs: [{ kind: 'data', fileOffset: l.bat, data: batSector(2, 2n, 0) }],
  });
  const D = logEntry({
    seq: 3n, tail: plan.d * 4096, guid, flushed: fileEnd, last: fileEnd,
    descs: [{ kind: 'data', fileOffset: l.bat, data: batSector(1, 6n, 8) }],
  });
  assert.equal(A.length, 2 * 4096);
  assert.equal(B.length, 4 * 4096);
  putInRing(b, l.logOffset, l.logLength, plan.a, A);
  putInRing(b, l.logOffset, l.logLength, plan.b, B);
  putInRing(b, l.logOffset, l.logLength, plan.c, C);
  putInRing(b, l.logOffset, l.logLength, plan.d, D);
  setLogGuid(b, guid);
  const block2 = new Uint8Array(MiB);
  block2.set(p1, 0);
  block2.set(p2, 8192);
  return { bytes: b, block2, entryA: [l.logOffset + plan.a * 4096, A.length] };
}

test('a VHDX log left by an unclean shutdown is replayed in memory before the BAT is read', { skip }, async () => {
  const fx = await fixtures();
  for (const [name, plan] of [['entry wrapping the ring', WRAPPING], ['stale sequence scanned last', STALE_LAST]] as const) {
    await assertReplayed(fx, imageWithLog(fx.block1M, 0, plan), name);
  }
});

async function assertReplayed(fx: Fixtures, { bytes, block2 }: LogImage, name: string): Promise<void> {
  const c = await probe(bytes);
  assert.deepEqual(c.issues.map((i) => i.code), ['vhdx.log-replayed'], name);
  assert.match(c.issues[0]!.message, /replayed 2 entries \(sequence 10\.\.11\)/, name);
  assertBytesEqual(await c.source.read(2 * MiB, MiB), block2, name);
  // Everything else is as before; block 1 stays a hole (the stale entry D is not replayed).
  const expected = fx.raw.slice();
  expected.set(block2, 2 * MiB);
  assert.equal(await hashSource(c.source), sha256(expected), name);
  assertBytesEqual(await c.source.read(MiB, MiB), new Uint8Array(MiB), name);
  // The file itself was not touched.
  assert.equal(bytes.length, fx.block1M.length);
}

test('a VHDX log whose head entry claims a larger file than exists means truncation: corrupt', { skip }, async () => {
  const fx = await fixtures();
  const { bytes } = imageWithLog(fx.block1M, 2 * MiB);
  await assert.rejects(probe(bytes), (err: Error) => err instanceof CorruptError && /truncated/.test(err.message));
});

test('a VHDX header naming a log that holds no valid entry reads the file as it is, with a warning', { skip }, async () => {
  const fx = await fixtures();
  const b = fx.block1M.slice();
  setLogGuid(b, guidBytes('12345678-1234-1234-1234-123456789ABC'));
  const c = await probe(b);
  assert.deepEqual(c.issues.map((i) => i.code), ['vhdx.log-no-active-sequence']);
  assert.equal(await hashSource(c.source), sha256(fx.raw));
});

test('a hostile 16 MiB log of one-sector entries that never closes a sequence is stopped by a step budget', () => {
  // Every entry is valid and consecutive, but the head's tail points at a sector that is no
  // entry, so the search re-walks the ring from every sector.
  const ringBytes = 16 * MiB;
  const ring = new Uint8Array(ringBytes);
  const guid = guidBytes('0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0');
  for (let i = 0; i < ringBytes / 4096 - 1; i++) {
    const e = logEntry({ seq: BigInt(i + 1), tail: ringBytes - 4096, guid, flushed: 0, last: 0, descs: [] });
    ring.set(e, i * 4096);
  }
  assert.throws(() => findActiveSequence(ring, guid), BudgetError);
});

/**
 * Probes and reads the first 4 MiB plus 8 evenly spaced MiB: a mutated disk size may be
 * legitimately huge, and reading all of it would test nothing more.
 */
async function decodeAll(bytes: Uint8Array): Promise<void> {
  const c = await probe(bytes);
  const size = c.source.size;
  const offsets = [0, MiB, 2 * MiB, 3 * MiB, ...Array.from({ length: 8 }, (_, i) => Math.floor((size * i) / 8))];
  for (const o of offsets) if (o < size) await c.source.read(o, Math.min(MiB, size - o));
}

test('fuzz: mutated headers, region tables, metadata and BAT never crash the decoder', { skip }, async (t) => {
  const fx = await fixtures();
  const base = fx.small;
  const l = layout(base);
  const regions: Array<[number, number]> = [
    [64 * KiB, 64 * KiB + 80],
    [128 * KiB, 128 * KiB + 80],
    [192 * KiB, 192 * KiB + 80],
    [256 * KiB, 256 * KiB + 80],
    [l.meta, l.meta + 32 + 6 * 32],
    [l.meta + 64 * KiB, l.meta + 64 * KiB + 48],
    [l.bat, l.bat + 48],
  ];
  let n = 0;
  // Every other case re-seals the CRCs so mutations reach the structures behind them.
  const outcome = await fuzz(
    base,
    async (bytes) => {
      if (n++ % 2 === 0 && bytes.length === base.length) {
        fixHeaders(bytes);
        fixRegionTables(bytes);
      }
      await decodeAll(bytes);
    },
    { cases: fuzzCases(300), regions, allowTruncate: true, seed: 2000 },
  );
  t.diagnostic(JSON.stringify(outcome));
  assert.equal(outcome.cases, fuzzCases(300));
});

test('fuzz: mutated log entries never crash the replay', { skip }, async (t) => {
  const fx = await fixtures();
  const { bytes: base, entryA } = imageWithLog(fx.block1M);
  const l = layout(base);
  const ring = (sector: number, len: number): [number, number] => [l.logOffset + sector * 4096, l.logOffset + sector * 4096 + len];
  const regions: Array<[number, number]> = [ring(253, 200), ring(254, 16), ring(255, 300), ring(0, 16), ring(10, 100), [64 * KiB + 40, 64 * KiB + 80]];
  let n = 0;
  const outcome = await fuzz(
    base,
    async (bytes) => {
      if (n++ % 2 === 0 && bytes.length === base.length) {
        fixCrc(bytes, entryA[0], entryA[1]);
        fixHeaders(bytes);
      }
      await decodeAll(bytes);
    },
    { cases: fuzzCases(200), regions, allowTruncate: true, seed: 3000 },
  );
  t.diagnostic(JSON.stringify(outcome));
  assert.equal(outcome.cases, fuzzCases(200));
});
