import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BlockSource } from '../../src/disk/index.ts';
import { MemorySource } from '../../src/disk/memory-source.ts';
import { vhdDecoder } from '../../src/disk/containers/vhd/index.ts';
import { CorruptError, NotThisFormatError, UnsupportedError } from '../../src/util/errors.ts';
import { fuzz, fuzzCases, prng } from '../helpers/fuzz.ts';
import { needTools, run, tempDir } from '../helpers/tools.ts';
import { assertBytesEqual } from '../helpers/bytes.ts';

const MiB = 1024 * 1024;
const skip = needTools('qemu-img');
const FOOTER_CHECKSUM = 64;
const HEADER_CHECKSUM = 36;

/** Seeded random data at a few places (some crossing block boundaries), holes elsewhere. */
function patternDisk(size: number, seed: number): Uint8Array {
  const disk = new Uint8Array(size);
  const rnd = prng(seed);
  const spans: Array<[number, number]> = [
    [0, 64 * 1024],
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
  fixed: Uint8Array;
  dynamic: Uint8Array;
  /** qemu-img's own raw conversion of each image: the oracle. */
  fixedRaw: Uint8Array;
  dynamicRaw: Uint8Array;
  /** A 4 MiB dynamic image (two 2 MiB blocks) for fuzzing. */
  small: Uint8Array;
}

const tmp = tempDir('hullscan-vhd-');
after(() => tmp.cleanup());
let built: Promise<Fixtures> | undefined;

function fixtures(): Promise<Fixtures> {
  built ??= (async () => {
    const dir = tmp.dir;
    writeFileSync(join(dir, 'disk.raw'), patternDisk(12 * MiB, 7));
    writeFileSync(join(dir, 'small.raw'), patternDisk(4 * MiB, 9));
    const conv = (args: string[]) => run('qemu-img', ['convert', ...args]);
    await Promise.all([
      conv(['-f', 'raw', '-O', 'vpc', '-o', 'subformat=fixed', join(dir, 'disk.raw'), join(dir, 'fixed.vhd')]),
      conv(['-f', 'raw', '-O', 'vpc', '-o', 'subformat=dynamic', join(dir, 'disk.raw'), join(dir, 'dynamic.vhd')]),
      conv(['-f', 'raw', '-O', 'vpc', '-o', 'subformat=dynamic', join(dir, 'small.raw'), join(dir, 'small.vhd')]),
    ]);
    await Promise.all([
      conv(['-f', 'vpc', '-O', 'raw', join(dir, 'fixed.vhd'), join(dir, 'fixed.out')]),
      conv(['-f', 'vpc', '-O', 'raw', join(dir, 'dynamic.vhd'), join(dir, 'dynamic.out')]),
    ]);
    const r = (n: string) => new Uint8Array(readFileSync(join(dir, n)));
    return {
      dir,
      fixed: r('fixed.vhd'),
      dynamic: r('dynamic.vhd'),
      fixedRaw: r('fixed.out'),
      dynamicRaw: r('dynamic.out'),
      small: r('small.vhd'),
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

/** The whole-image hash and 200 seeded random reads must match the oracle. */
async function assertSameAs(src: BlockSource, oracle: Uint8Array): Promise<void> {
  assert.equal(src.size, oracle.length);
  assert.equal(await hashSource(src), sha256(oracle));
  const rnd = prng(42);
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

/** Rewrites the VHD checksum (one's complement byte sum without the field) of a structure. */
function fixChecksum(b: Uint8Array, start: number, length: number, field: number): void {
  dv(b).setUint32(start + field, 0);
  let sum = 0;
  for (let i = start; i < start + length; i++) sum = (sum + b[i]!) >>> 0;
  dv(b).setUint32(start + field, ~sum >>> 0);
}

function fixFooters(b: Uint8Array): void {
  fixChecksum(b, b.length - 512, 512, FOOTER_CHECKSUM);
  if (b[0] === 0x63) fixChecksum(b, 0, 512, FOOTER_CHECKSUM);
}

/** Offsets of the dynamic header and the BAT, from the footer. */
function layout(b: Uint8Array): { header: number; bat: number } {
  const header = Number(dv(b).getBigUint64(b.length - 512 + 16));
  return { header, bat: Number(dv(b).getBigUint64(header + 16)) };
}

async function probe(bytes: Uint8Array) {
  return vhdDecoder.probe(new MemorySource(bytes, { description: 'test.vhd' }), {});
}

test('a fixed VHD made by qemu-img is detected as vhd-fixed and reads as qemu-img converts it', { skip }, async () => {
  const fx = await fixtures();
  const c = await probe(fx.fixed);
  assert.equal(c.format, 'vhd-fixed');
  assert.equal(c.details['diskType'], 'fixed');
  assert.equal(c.details['creatorApp'], 'qemu');
  assert.deepEqual(c.issues, []);
  await assertSameAs(c.source, fx.fixedRaw);
});

test('a dynamic VHD made by qemu-img reads as qemu-img converts it, holes as zeros', { skip }, async () => {
  const fx = await fixtures();
  const c = await probe(fx.dynamic);
  assert.equal(c.format, 'vhd-dynamic');
  assert.equal(c.details['blockSize'], 2 * MiB);
  assert.equal(c.details['diskType'], 'dynamic');
  assert.equal(c.source.sectorSize, 512);
  await assertSameAs(c.source, fx.dynamicRaw);
});

test('a whole-disk read of a dynamic VHD with blocks stored in order costs one underlying read', { skip }, async () => {
  const fx = await fixtures();
  const mem = new MemorySource(fx.dynamic);
  const c = await vhdDecoder.probe(mem, {});
  const before = mem.stats().reads;
  const all = await c.source.read(0, c.source.size);
  assert.equal(mem.stats().reads - before, 1);
  assert.equal(sha256(all), sha256(fx.dynamicRaw));
});

test('sectors whose bitmap bit is clear read as zeros', { skip }, async () => {
  const fx = await fixtures();
  const b = fx.dynamic.slice();
  const { bat } = layout(b);
  const block0 = dv(b).getUint32(bat) * 512;
  // Clear sectors 1, 2, 3 and 100 of block 0 (MSB-first bit order).
  b[block0] = 0b1000_1111;
  b[block0 + 12] = 0b1111_0111;
  const expected = fx.dynamicRaw.slice(0, 2 * MiB);
  expected.fill(0, 512, 4 * 512);
  expected.fill(0, 100 * 512, 101 * 512);
  const c = await probe(b);
  assertBytesEqual(await c.source.read(0, 2 * MiB), expected);
  assert.deepEqual(await c.source.read(700, 1000), expected.subarray(700, 1700));
  assert.deepEqual(await c.source.read(100 * 512 - 10, 20), expected.subarray(100 * 512 - 10, 100 * 512 + 10));
});

test('a fixed VHD with the old 511-byte footer reads as the file minus 511 bytes', { skip }, async () => {
  const fx = await fixtures();
  const b = fx.fixed.subarray(0, fx.fixed.length - 1);
  const c = await probe(b);
  assert.equal(c.format, 'vhd-fixed');
  assert.equal(c.source.size, fx.fixedRaw.length);
  assert.equal(await hashSource(c.source), sha256(fx.fixedRaw));
});

test('a dynamic VHD whose trailing footer checksum is bad falls back to the footer copy at offset 0', { skip }, async () => {
  const fx = await fixtures();
  const b = fx.dynamic.slice();
  flip(b, b.length - 512 + 28, 0x20);
  const c = await probe(b);
  assert.equal(c.format, 'vhd-dynamic');
  assert.deepEqual(c.issues.map((i) => i.code), ['vhd.footer-checksum']);
  assert.equal(await hashSource(c.source), sha256(fx.dynamicRaw));
});

test('a fixed VHD with a bad footer checksum is corrupt', { skip }, async () => {
  const fx = await fixtures();
  const b = fx.fixed.slice();
  flip(b, b.length - 512 + 50, 1);
  await assert.rejects(probe(b), CorruptError);
});

test('a differencing VHD is refused with its parent name', { skip }, async () => {
  const fx = await fixtures();
  const b = fx.dynamic.slice();
  const { header } = layout(b);
  dv(b).setUint32(b.length - 512 + 60, 4);
  dv(b).setUint32(60, 4);
  fixFooters(b);
  const name = 'base-node-image.vhd';
  for (let i = 0; i < name.length; i++) dv(b).setUint16(header + 64 + i * 2, name.charCodeAt(i));
  fixChecksum(b, header, 1024, HEADER_CHECKSUM);
  await assert.rejects(probe(b), (err: Error) => err instanceof UnsupportedError && err.message === "VHD differencing disk needs its parent 'base-node-image.vhd'");
});

test('a dynamic VHD cut short (trailing footer lost) is corrupt, not raw', { skip }, async () => {
  const fx = await fixtures();
  await assert.rejects(probe(fx.dynamic.subarray(0, fx.dynamic.length - 3000)), (err: Error) => err instanceof CorruptError && /truncated/.test(err.message));
});

test('a BAT entry pointing past the end of the file is corrupt when that block is read', { skip }, async () => {
  const fx = await fixtures();
  const b = fx.dynamic.slice();
  dv(b).setUint32(layout(b).bat, 0x7fff_0000);
  const c = await probe(b);
  await assert.rejects(c.source.read(10, 10), (err: Error) => err instanceof CorruptError && /past the end/.test(err.message));
  // Other blocks still read.
  assertBytesEqual(await c.source.read(5 * MiB, 4096), fx.dynamicRaw.subarray(5 * MiB, 5 * MiB + 4096));
});

test('absurd dynamic header geometry is corrupt: block size not a power of two, huge, or a BAT too big', { skip }, async () => {
  const fx = await fixtures();
  for (const [field, value] of [[32, 3 * MiB], [32, 0x8000_0000], [32, 256], [28, 0xffff_ffff], [28, 1]] as const) {
    const b = fx.dynamic.slice();
    const { header } = layout(b);
    dv(b).setUint32(header + field, value);
    fixChecksum(b, header, 1024, HEADER_CHECKSUM);
    await assert.rejects(probe(b), CorruptError, `field ${field} = ${value}`);
  }
});

test('a dynamic header with a bad checksum or cookie is corrupt', { skip }, async () => {
  const fx = await fixtures();
  const b = fx.dynamic.slice();
  flip(b, layout(b).header + 40, 1);
  await assert.rejects(probe(b), CorruptError);
  const c = fx.dynamic.slice();
  c[layout(c).header] = 0x41;
  await assert.rejects(probe(c), CorruptError);
});

test('bytes without a conectix footer are not a VHD', async () => {
  await assert.rejects(probe(new Uint8Array(4096)), NotThisFormatError);
  await assert.rejects(probe(new Uint8Array(100)), NotThisFormatError);
  const looksLikeVhdx = new Uint8Array(2 * MiB);
  looksLikeVhdx.set(new TextEncoder().encode('vhdxfile'));
  await assert.rejects(probe(looksLikeVhdx), NotThisFormatError);
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

test('fuzz: mutated footer, dynamic header and BAT never crash the decoder', { skip }, async (t) => {
  const fx = await fixtures();
  const base = fx.small;
  const { header, bat } = layout(base);
  const regions: Array<[number, number]> = [
    [base.length - 512, base.length - 512 + 90],
    [0, 90],
    [header, header + 64],
    [bat, bat + 16],
  ];
  // Half the cases keep checksums valid so mutations reach the decoding behind them.
  const outcome = await fuzz(
    base,
    async (bytes) => {
      if (bytes.length === base.length && bytes[0]! % 2 === 0) {
        fixFooters(bytes);
        fixChecksum(bytes, header, 1024, HEADER_CHECKSUM);
      }
      await decodeAll(bytes);
    },
    { cases: fuzzCases(300), regions, allowTruncate: true, seed: 1000 },
  );
  t.diagnostic(JSON.stringify(outcome));
  assert.equal(outcome.cases, fuzzCases(300));
});

test('fuzz: mutated fixed-disk footers never crash the decoder', { skip }, async (t) => {
  const fx = await fixtures();
  const base = fx.fixed.subarray(fx.fixed.length - 2 * MiB);
  const outcome = await fuzz(
    base,
    async (bytes) => {
      if (bytes.length === base.length && bytes[0]! % 2 === 0) fixChecksum(bytes, bytes.length - 512, 512, FOOTER_CHECKSUM);
      await decodeAll(bytes);
    },
    { cases: fuzzCases(200), regions: [[base.length - 512, base.length - 512 + 90]], allowTruncate: true, seed: 5000 },
  );
  t.diagnostic(JSON.stringify(outcome));
  assert.equal(outcome.cases, fuzzCases(200));
});

/**
 * The CHS geometry the VHD spec's algorithm ("CHS Calculation", appendix) gives a size, rounding
 * down as Virtual PC does.
 */
function specGeometry(bytes: number): [number, number, number] {
  const total = Math.min(bytes / 512, 65535 * 16 * 255);
  let spt: number;
  let heads: number;
  let cth: number;
  if (total >= 65535 * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = Math.floor(total / spt);
  } else {
    spt = 17;
    cth = Math.floor(total / spt);
    heads = Math.max(4, Math.floor((cth + 1023) / 1024));
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = Math.floor(total / spt);
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = Math.floor(total / spt);
    }
  }
  return [Math.floor(cth / heads), heads, spt];
}

/**
 * A VHD whose footer(s) now name `creator` (checksums rewritten): a byte-built Virtual PC,
 * Hyper-V or Azure disk. With `geometry`, the footers carry it instead of qemu's.
 */
function withCreator(bytes: Uint8Array, creator: string, geometry?: [number, number, number]): Uint8Array {
  const b = bytes.slice();
  for (const at of b[0] === 0x63 ? [0, b.length - 512] : [b.length - 512]) {
    for (let i = 0; i < 4; i++) b[at + 28 + i] = creator.charCodeAt(i);
    if (geometry) {
      dv(b).setUint16(at + 56, geometry[0]);
      b[at + 58] = geometry[1];
      b[at + 59] = geometry[2];
    }
  }
  fixFooters(b);
  return b;
}

/** The footer's CHS geometry in bytes. */
function chsBytes(b: Uint8Array): number {
  const f = b.length - 512;
  return dv(b).getUint16(f + 56) * b[f + 58]! * b[f + 59]! * 512;
}

test('the disk size follows the creator: geometry for Virtual PC, Virtual Server and old qemu, current size for Hyper-V, Azure, qem2 — as qemu-img reads them', { skip }, async () => {
  const { dir } = await fixtures();
  // 12 MiB is not a whole CHS geometry: force_size keeps it as the current size, the geometry is smaller.
  for (const sub of ['dynamic', 'fixed'] as const) {
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'vpc', '-o', `subformat=${sub},force_size=on`, join(dir, 'disk.raw'), join(dir, `forced-${sub}.vhd`)]);
    // force_size writes the maximum geometry (qemu's "use the current size" mark); Virtual PC
    // writes the spec's geometry, which rounds 12 MiB down.
    const forced = new Uint8Array(readFileSync(join(dir, `forced-${sub}.vhd`)));
    assert.equal(chsBytes(forced), 65535 * 16 * 255 * 512);
    const made = withCreator(forced, 'qem2', specGeometry(12 * MiB));
    const chs = chsBytes(made);
    assert.ok(chs < 12 * MiB && chs > 11 * MiB, `geometry of ${chs} bytes`);
    // Creators on which this host's qemu-img (7.2) and current qemu agree, and Virtual Server,
    // which qemu 7.2 sizes by geometry.
    const cases: Array<[string, number, string]> = [
      ['qem2', 12 * MiB, 'current-size'],
      ['win ', 12 * MiB, 'current-size'],
      ['vpc ', chs, 'chs'],
      ['vs  ', chs, 'chs'],
      ['qemu', chs, 'chs'],
    ];
    for (const [creator, want, rule] of cases) {
      const bytes = withCreator(made, creator);
      const file = join(dir, `creator-${sub}.vhd`);
      writeFileSync(file, bytes);
      const info = JSON.parse(await run('qemu-img', ['info', '--output=json', '-f', 'vpc', file])) as { 'virtual-size': number };
      assert.equal(info['virtual-size'], want, `${sub} '${creator}': qemu-img`);
      const c = await probe(bytes);
      assert.equal(c.source.size, want, `${sub} '${creator}': size`);
      assert.equal(c.details['sizeFrom'], rule, `${sub} '${creator}': rule`);
      assert.equal(c.issues.some((i) => i.code === 'vhd.chs-size'), rule === 'chs', `${sub} '${creator}': issue`);
      // The bytes the guest sees are the disk's first `want` bytes.
      const oracle = new Uint8Array(readFileSync(join(dir, 'disk.raw'))).subarray(0, want);
      assert.equal(await hashSource(c.source), sha256(oracle), `${sub} '${creator}': bytes`);
    }
    // Azure writes 'wa\0\0' and means the current size: qemu since 10.0 (vpc_ignore_current_size)
    // reads it so; qemu 7.2 still took the geometry, so no qemu-img oracle here.
    const azure = await probe(withCreator(made, 'wa\0\0'));
    assert.equal(azure.source.size, 12 * MiB, `${sub} Azure`);
  }
});

test('byte-built footers: the maximum geometry means the current size; a zero geometry from Virtual PC is a warning', async () => {
  const footer = (creator: string, currentSize: number, c: number, h: number, s: number): Uint8Array => {
    const disk = new Uint8Array(currentSize + 512);
    const f = disk.subarray(currentSize);
    f.set(new TextEncoder().encode('conectix'));
    dv(f).setUint32(8, 2);
    dv(f).setUint32(12, 0x00010000);
    dv(f).setBigUint64(16, 0xffffffffffffffffn);
    for (let i = 0; i < 4; i++) f[28 + i] = creator.charCodeAt(i);
    dv(f).setBigUint64(40, BigInt(currentSize));
    dv(f).setBigUint64(48, BigInt(currentSize));
    dv(f).setUint16(56, c);
    f[58] = h;
    f[59] = s;
    dv(f).setUint32(60, 2); // fixed
    fixChecksum(disk, currentSize, 512, FOOTER_CHECKSUM);
    return disk;
  };
  // 2 cylinders × 4 heads × 17 sectors = 136 sectors of a 70 KiB (140-sector) disk.
  const vpc = await probe(footer('vpc ', 140 * 512, 2, 4, 17));
  assert.equal(vpc.source.size, 136 * 512);
  assert.equal(vpc.issues.find((i) => i.code === 'vhd.chs-size')?.severity, 'info');
  const hyperV = await probe(footer('win ', 140 * 512, 2, 4, 17));
  assert.equal(hyperV.source.size, 140 * 512);
  // The largest geometry cannot describe a bigger disk: qemu (VHD_MAX_GEOMETRY) takes the current size.
  const maxed = footer('vpc ', 2 * MiB, 65535, 16, 255);
  assert.equal((await probe(maxed)).source.size, 2 * MiB);
  const zero = await probe(footer('vpc ', 140 * 512, 0, 0, 0));
  assert.equal(zero.source.size, 0);
  assert.equal(zero.issues.find((i) => i.code === 'vhd.chs-size')?.severity, 'warning');
});
