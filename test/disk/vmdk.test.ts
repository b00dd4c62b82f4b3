import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { vmdkDecoder } from '../../src/disk/containers/vmdk/index.ts';
import type { DiskContainer, ProbeContext } from '../../src/disk/containers/types.ts';
import type { BlockSource } from '../../src/disk/index.ts';
import { FileSource } from '../../src/disk/file-source.ts';
import { MemorySource } from '../../src/disk/memory-source.ts';
import { CorruptError, NotThisFormatError, SourceError, UnsupportedError } from '../../src/util/errors.ts';
import { fuzz, fuzzCases, prng } from '../helpers/fuzz.ts';
import { needTools, run, tempDir } from '../helpers/tools.ts';
import { assertBytesEqual } from '../helpers/bytes.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Not a multiple of the 64 KiB grain: the last grain is partial. */
const DISK_BYTES = 16 * MiB + 36 * KiB;
const skip = needTools('qemu-img', 'qemu-io');

/** A seeded disk pattern: random and compressible data, holes, written zeros, small writes. */
function writePatternImage(path: string, seed: number, size = DISK_BYTES): void {
  const rnd = prng(seed);
  const random = (n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
    return b;
  };
  const words = ['kubelet', 'containerd', 'vmlinuz', 'libssl3', 'openssh', 'etc', 'usr', '\n', ' ', '/'];
  const text = (n: number) => {
    let s = '';
    while (s.length < n) s += words[Math.floor(rnd() * words.length)];
    return new TextEncoder().encode(s.slice(0, n));
  };
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
    const put = (offset: number, bytes: Uint8Array) => {
      if (offset + bytes.length <= size) writeSync(fd, bytes, 0, bytes.length, offset);
    };
    put(0, random(2 * MiB));
    put(3 * MiB, text(2 * MiB));
    put(5 * MiB, new Uint8Array(MiB));
    put(6 * MiB + 4 * KiB, random(4 * KiB));
    put(6 * MiB + 333 * KiB + 17, random(9000));
    for (let i = 0; i < 64; i++) {
      const at = 8 * MiB + i * 64 * KiB;
      put(at, i % 3 === 0 ? random(64 * KiB) : i % 3 === 1 ? text(64 * KiB) : new Uint8Array(64 * KiB));
    }
    put(size - 40 * KiB, text(40 * KiB));
  } finally {
    closeSync(fd);
  }
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/**
 * What a fuzz case reads: the first MiB, the last chunk and a few seeded places, without
 * allocating by the (possibly mutated, absurd) virtual size.
 */
async function readSome(src: BlockSource, chunk: number): Promise<void> {
  const rnd = prng(src.size);
  const offsets = [0, Math.max(0, src.size - chunk)];
  for (let i = 0; i < 8; i++) offsets.push(Math.floor(rnd() * Math.max(0, src.size - chunk)));
  for (let off = chunk; off < Math.min(src.size, MiB); off += chunk) offsets.push(off);
  for (const off of offsets) await src.read(off, Math.min(chunk, src.size - off));
}

async function readAll(src: BlockSource, chunk = 4 * MiB): Promise<Uint8Array> {
  const out = new Uint8Array(src.size);
  for (let off = 0; off < src.size; off += chunk) out.set(await src.read(off, Math.min(chunk, src.size - off)), off);
  return out;
}

async function assertRandomReads(src: BlockSource, expected: Uint8Array, seed: number, count = 150): Promise<void> {
  const rnd = prng(seed);
  for (let i = 0; i < count; i++) {
    const length = 1 + Math.floor(rnd() * (rnd() < 0.2 ? 3 * MiB : 70 * KiB));
    const offset = Math.floor(rnd() * (expected.length - length));
    if (sha256(await src.read(offset, length)) !== sha256(expected.subarray(offset, offset + length))) {
      assert.fail(`read at ${offset} (+${length}) differs from qemu-img's raw output`);
    }
  }
}

/** Sibling files served from memory, recording every name asked for. */
function memorySiblings(files: Record<string, Uint8Array>): { context: ProbeContext; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    context: {
      openSibling: async (name) => {
        asked.push(name);
        const bytes = files[name];
        if (!bytes) throw new SourceError(`no sibling ${name}`);
        return new MemorySource(bytes, { description: `file ${name}` });
      },
    },
  };
}

/** Sibling files from a directory (names are already checked by the decoder). */
function dirSiblings(dir: string): ProbeContext {
  return { openSibling: (name) => FileSource.open(join(dir, name)) };
}

async function probe(bytes: Uint8Array, context: ProbeContext = {}): Promise<DiskContainer> {
  return vmdkDecoder.probe(new MemorySource(bytes, { description: 'file test.vmdk' }), context);
}

function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function descriptor(extentLines: string[], extra = ''): string {
  return `# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="monolithicFlat"\n${extra}\n# Extent description\n${extentLines.join('\n')}\n\n# The Disk Data Base\nddb.adapterType = "ide"\n`;
}

function patch(bytes: Uint8Array, edit: (dv: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  edit(new DataView(copy.buffer));
  return copy;
}

// ---------------------------------------------------------------------------------------------

describe('VMDK images built by qemu-img', { skip }, () => {
  let dir = '';
  let cleanup = () => {};
  let raw = '';
  before(() => {
    ({ dir, cleanup } = tempDir('hullscan-vmdk-'));
    raw = join(dir, 'pattern.raw');
    writePatternImage(raw, 4711);
  });
  after(() => cleanup());

  async function build(name: string, options: string): Promise<{ path: string; expected: Uint8Array }> {
    const path = join(dir, `${name}.vmdk`);
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', options, raw, path]);
    return { path, expected: new Uint8Array(0) };
  }

  async function expectedOf(path: string): Promise<Uint8Array> {
    const out = `${path}.raw`;
    await run('qemu-img', ['convert', '-f', 'vmdk', '-O', 'raw', path, out]);
    return new Uint8Array(readFileSync(out));
  }

  const variants = [
    { sub: 'monolithicSparse', format: 'vmdk-sparse', compressed: false, grain: true },
    { sub: 'streamOptimized', format: 'vmdk-stream', compressed: true, grain: true },
    { sub: 'monolithicFlat', format: 'vmdk-flat', compressed: false, grain: false },
    { sub: 'twoGbMaxExtentFlat', format: 'vmdk-flat', compressed: false, grain: false },
    { sub: 'twoGbMaxExtentSparse', format: 'vmdk-sparse', compressed: false, grain: true },
  ] as const;

  for (const [i, v] of variants.entries()) {
    test(`${v.sub}: full content and random reads match qemu-img's raw output`, async () => {
      const { path } = await build(v.sub, `subformat=${v.sub}`);
      const expected = await expectedOf(path);

      const c = await probe(new Uint8Array(readFileSync(path)), dirSiblings(dir));

      assert.equal(c.format, v.format);
      assert.equal(c.details['createType'], v.sub);
      assert.equal(c.details['compressed'], v.compressed);
      if (v.grain) assert.equal(c.details['grainSize'], 64 * KiB);
      assert.equal(c.source.size, DISK_BYTES);
      assert.deepEqual(c.issues, []);
      assert.equal(sha256(await readAll(c.source)), sha256(expected));
      await assertRandomReads(c.source, expected, 10 + i);
      await c.source.close();
    });
  }

  test('zeroed-grain GTEs (GTE 1, written by qemu-io write -z) read as zeros', async () => {
    const { path } = await build('zeroed', 'subformat=monolithicSparse,zeroed_grain=on');
    await run('qemu-io', ['-f', 'vmdk', '-c', 'write -z 0 256k', '-c', 'write -z 3M 128k', path]);
    const expected = await expectedOf(path);
    const bytes = new Uint8Array(readFileSync(path));
    const dv = new DataView(bytes.buffer);
    const gt = dv.getUint32(Number(dv.getBigUint64(56, true)) * 512, true) * 512;
    assert.equal(dv.getUint32(gt, true), 1, 'grain 0 is a zeroed-grain GTE');

    const c = await probe(bytes);
    assert.equal(sha256(await readAll(c.source)), sha256(expected));
  });

  test('streamOptimized with the grain directory in the footer (gdOffset = GD_AT_END)', async () => {
    const { path } = await build('stream-footer', 'subformat=streamOptimized');
    const expected = await expectedOf(path);
    const orig = new Uint8Array(readFileSync(path));
    const tail = new Uint8Array(3 * 512);
    const tdv = new DataView(tail.buffer);
    tdv.setBigUint64(0, 1n, true); // footer marker: one sector, size 0, type FOOTER
    tdv.setUint32(12, 3, true);
    tail.set(orig.subarray(0, 512), 512); // the footer is a header copy with the real gdOffset
    const bytes = new Uint8Array(orig.length + tail.length);
    bytes.set(orig);
    bytes.set(tail, orig.length);
    new DataView(bytes.buffer).setBigUint64(56, 0xffffffffffffffffn, true);

    const c = await probe(bytes);
    assert.equal(c.format, 'vmdk-stream');
    assert.equal(sha256(await readAll(c.source)), sha256(expected));

    // Without the footer (an interrupted upload) the directory cannot be found.
    await assert.rejects(probe(bytes.subarray(0, orig.length)), /no footer/);
  });

  test('a large read of a streamOptimized image costs one underlying read of the compressed grains', async () => {
    const { path } = await build('stream-coalesce', 'subformat=streamOptimized');
    const mem = new MemorySource(new Uint8Array(readFileSync(path)));
    const c = await vmdkDecoder.probe(mem, {});
    await c.source.read(3 * MiB, 512); // warm the grain table
    const before = mem.stats().reads;
    await c.source.read(3 * MiB, 2 * MiB);
    assert.equal(mem.stats().reads - before, 1);
  });

  test('a monolithicSparse whose primary grain directory is past the end falls back to the redundant one', async () => {
    const { path } = await build('rgd', 'subformat=monolithicSparse');
    const expected = await expectedOf(path);
    const bytes = patch(new Uint8Array(readFileSync(path)), (dv) => dv.setBigUint64(56, 1n << 30n, true));
    const c = await probe(bytes);
    assert.deepEqual(c.issues.map((i) => i.code), ['vmdk.grain-directory-fallback']);
    assert.equal(sha256(await readAll(c.source)), sha256(expected));
  });

  test('a truncated monolithicSparse is CorruptError (at open or on read), never zeros', async () => {
    const { path } = await build('trunc', 'subformat=monolithicSparse');
    const full = new Uint8Array(readFileSync(path));
    await assert.rejects(async () => readAll((await probe(full.subarray(0, Math.floor(full.length * 0.6)))).source), CorruptError);
    await assert.rejects(probe(full.subarray(0, 100)), CorruptError);
  });

  test("a delta disk (qemu-img create -b) is refused, naming its parent 'base.vmdk'", async () => {
    await run('qemu-img', ['create', '-f', 'vmdk', join(dir, 'base.vmdk'), '4M']);
    await run('qemu-img', ['create', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', join(dir, 'child.vmdk')]);
    await assert.rejects(probe(new Uint8Array(readFileSync(join(dir, 'child.vmdk')))), (err: Error) => {
      assert.ok(err instanceof UnsupportedError, err.message);
      assert.match(err.message, /parent disk 'base\.vmdk'/);
      return true;
    });
  });

  for (const sub of ['twoGbMaxExtentSparse', 'twoGbMaxExtentFlat']) {
    test(`${sub} over 4.5 GiB: three extents concatenate, data across the 2 GiB boundaries reads back`, async () => {
      const path = join(dir, `split-${sub}.vmdk`);
      await run('qemu-img', ['create', '-f', 'vmdk', '-o', `subformat=${sub}`, path, '4608M']);
      const writes: Array<[number, number, number]> = [
        [0x5a, 2047 * MiB + 17 * 512, 2 * MiB], // across the first extent boundary
        [0x6b, 4095 * MiB, 2 * MiB], // across the second
        [0x7c, 4608 * MiB - 64 * KiB, 64 * KiB], // the last bytes of the disk
      ];
      for (const [p, off, len] of writes) await run('qemu-io', ['-f', 'vmdk', '-c', `write -P ${p} ${off} ${len}`, path]);

      const c = await probe(new Uint8Array(readFileSync(path)), dirSiblings(dir));

      assert.equal(c.details['extents'], 3);
      assert.equal(c.source.size, 4608 * MiB);
      for (const [p, off, len] of writes) {
        const readLength = Math.min(len + 8192, c.source.size - (off - 4096));
        const want = new Uint8Array(readLength);
        want.fill(p, 4096, 4096 + len);
        assertBytesEqual(await c.source.read(off - 4096, readLength), want, `pattern 0x${p.toString(16)} at ${off}`);
      }
      assert.ok((await c.source.read(3 * 1024 * MiB, MiB)).every((b) => b === 0));
      await c.source.close();
    });
  }

  test('a hand-written multi-extent descriptor concatenates FLAT, ZERO and SPARSE extents', async () => {
    const all = new Uint8Array(readFileSync(raw));
    const a = all.subarray(0, 3 * MiB);
    const c = all.subarray(4 * MiB, 8 * MiB);
    const d = all.subarray(8 * MiB, 9 * MiB);
    writeFileSync(join(dir, 'part-a.bin'), a);
    writeFileSync(join(dir, 'part-c.raw'), c);
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', join(dir, 'part-c.raw'), join(dir, 'part-c.vmdk')]);
    const dWithPrefix = new Uint8Array(8192 + d.length).fill(0xee);
    dWithPrefix.set(d, 8192);
    writeFileSync(join(dir, 'part-d.bin'), dWithPrefix);
    const desc = descriptor([
      `RW ${a.length / 512} FLAT "part-a.bin" 0`,
      `RW ${MiB / 512} ZERO`,
      `RW ${c.length / 512} SPARSE "part-c.vmdk"`,
      `RDONLY ${d.length / 512} FLAT "part-d.bin" 16`,
    ]);
    const expected = new Uint8Array(a.length + MiB + c.length + d.length);
    expected.set(a);
    expected.set(c, a.length + MiB);
    expected.set(d, a.length + MiB + c.length);

    const container = await probe(text(desc), dirSiblings(dir));

    assert.equal(container.format, 'vmdk-sparse');
    assert.equal(container.details['extents'], 4);
    assert.equal(sha256(await readAll(container.source, 1536 * KiB)), sha256(expected));
    await assertRandomReads(container.source, expected, 77, 100);
    await container.source.close();
  });
});

// ---------------------------------------------------------------------------------------------
// Byte-built sparse extents: header (sector 0), grain directory (sector 1), grain tables, grains.

interface SynthGrain {
  index: number;
  /** Uncompressed grain bytes (grain size). */
  bytes?: Uint8Array;
  /** Compressed payload written after the marker as is (for wrong-size tests). */
  packed?: Uint8Array;
  lba?: bigint;
  /** Overrides the GTE (e.g. 1 for a zeroed grain). */
  gte?: number;
}

interface SynthVmdk {
  capacitySectors?: number;
  grainSectors?: number;
  gtes?: number;
  compressed?: boolean;
  grains: SynthGrain[];
}

function synthVmdk(o: SynthVmdk): Uint8Array {
  const capacity = o.capacitySectors ?? 2048;
  const grainSectors = o.grainSectors ?? 8;
  const gtes = o.gtes ?? 64;
  const gdEntries = Math.ceil(capacity / (grainSectors * gtes));
  const gtSectors = Math.ceil((gtes * 4) / 512);
  const gdSectors = Math.ceil((gdEntries * 4) / 512);
  const firstGt = 1 + gdSectors;
  let next = firstGt + gdEntries * gtSectors;
  const chunks: Array<[number, Uint8Array]> = [];
  const gtes32 = new Uint32Array(gdEntries * gtes);
  for (const g of o.grains) {
    if (g.gte !== undefined) {
      gtes32[g.index] = g.gte;
      continue;
    }
    let payload: Uint8Array;
    if (o.compressed) {
      const packed = g.packed ?? deflateSync(g.bytes!);
      payload = new Uint8Array(12 + packed.length);
      const pdv = new DataView(payload.buffer);
      pdv.setBigUint64(0, g.lba ?? BigInt(g.index * grainSectors), true);
      pdv.setUint32(8, packed.length, true);
      payload.set(packed, 12);
    } else payload = g.bytes!;
    gtes32[g.index] = next;
    chunks.push([next, payload]);
    next += Math.ceil(payload.length / 512);
  }
  const out = new Uint8Array(next * 512);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0x564d444b, true);
  dv.setUint32(4, o.compressed ? 3 : 1, true);
  dv.setUint32(8, 1 | (o.compressed ? (1 << 16) | (1 << 17) : 0), true);
  dv.setBigUint64(12, BigInt(capacity), true);
  dv.setBigUint64(20, BigInt(grainSectors), true);
  dv.setUint32(44, gtes, true);
  dv.setBigUint64(56, 1n, true); // gdOffset: sector 1
  out.set([0x0a, 0x20, 0x0d, 0x0a], 73);
  dv.setUint16(77, o.compressed ? 1 : 0, true);
  for (let i = 0; i < gdEntries; i++) dv.setUint32(512 + i * 4, firstGt + i * gtSectors, true);
  for (let i = 0; i < gdEntries; i++) {
    for (let j = 0; j < gtes; j++) dv.setUint32((firstGt + i * gtSectors) * 512 + j * 4, gtes32[i * gtes + j]!, true);
  }
  for (const [sector, payload] of chunks) out.set(payload, sector * 512);
  return out;
}

describe('VMDK corrupt and hostile structures (byte-built)', () => {
  const grain = 4096;
  const fill = (v: number) => new Uint8Array(grain).fill(v);

  test('the byte-built baselines decode (sparse, compressed, zeroed grain)', async () => {
    const sparse = await probe(synthVmdk({ grains: [{ index: 0, bytes: fill(1) }, { index: 100, bytes: fill(2) }, { index: 3, gte: 1 }] }));
    assert.equal(sparse.format, 'vmdk-sparse');
    assert.equal((await sparse.source.read(0, 1))[0], 1);
    assert.equal((await sparse.source.read(100 * grain + 5, 1))[0], 2);
    assert.ok((await sparse.source.read(3 * grain, grain)).every((b) => b === 0));
    const stream = await probe(synthVmdk({ compressed: true, grains: [{ index: 7, bytes: fill(9) }] }));
    assert.equal(stream.format, 'vmdk-stream');
    assert.ok((await stream.source.read(7 * grain, grain)).every((b) => b === 9));
  });

  test('not VMDK: zeros and plain text are NotThisFormatError; COWD is UnsupportedError', async () => {
    await assert.rejects(probe(new Uint8Array(1024)), NotThisFormatError);
    await assert.rejects(probe(text('hello world, not a descriptor')), NotThisFormatError);
    await assert.rejects(probe(text('COWD\x01\x00\x00\x00')), UnsupportedError);
  });

  test('a grain size that is not a power of two is CorruptError', async () => {
    await assert.rejects(probe(patch(synthVmdk({ grains: [] }), (dv) => dv.setBigUint64(20, 7n, true))), /power of two/);
  });

  test('an absurd grain size (2^20 sectors) is CorruptError', async () => {
    await assert.rejects(probe(patch(synthVmdk({ grains: [] }), (dv) => dv.setBigUint64(20, 1n << 20n, true))), CorruptError);
  });

  test('an absurd numGTEsPerGT is CorruptError', async () => {
    await assert.rejects(probe(patch(synthVmdk({ grains: [] }), (dv) => dv.setUint32(44, 0xffffffff, true))), /numGTEsPerGT/);
  });

  test('an absurd capacity (2^50 sectors) is CorruptError before any allocation', async () => {
    await assert.rejects(probe(patch(synthVmdk({ grains: [] }), (dv) => dv.setBigUint64(12, 1n << 50n, true))), /capacity/);
  });

  test('a grain directory whose entry count exceeds the bound is CorruptError', async () => {
    const img = patch(synthVmdk({ grains: [] }), (dv) => {
      dv.setBigUint64(12, 1n << 36n, true); // 32 TiB of 512-byte grains in 1-entry tables
      dv.setBigUint64(20, 1n, true);
      dv.setUint32(44, 1, true);
    });
    await assert.rejects(probe(img), /grain directory of \d+ entries exceeds/);
  });

  test('a grain directory entry past the end of the file is CorruptError naming it', async () => {
    const img = patch(synthVmdk({ grains: [] }), (dv) => dv.setUint32(512 + 4, 1 << 30, true));
    await assert.rejects(probe(img), (err: Error) => err instanceof CorruptError && /grain directory\[1\]/.test(err.message));
  });

  test('a grain table entry past the end of the file is CorruptError on read', async () => {
    const img = synthVmdk({ grains: [{ index: 0, gte: 1 << 20 }] });
    await assert.rejects(async () => (await probe(img)).source.read(0, 512), CorruptError);
  });

  test('a header copied in text mode (line-ending check) is CorruptError', async () => {
    await assert.rejects(probe(patch(synthVmdk({ grains: [] }), (dv) => dv.setUint8(75, 0x0a))), /text mode/);
  });

  test('a compressed grain that inflates to half a grain is CorruptError', async () => {
    const img = synthVmdk({ compressed: true, grains: [{ index: 0, packed: deflateSync(new Uint8Array(grain / 2)) }] });
    await assert.rejects(async () => (await probe(img)).source.read(0, 512), /decodes to 2048 bytes, expected 4096/);
  });

  test('a compressed grain that inflates to more than a grain is CorruptError', async () => {
    const img = synthVmdk({ compressed: true, grains: [{ index: 0, packed: deflateSync(new Uint8Array(grain * 8)) }] });
    await assert.rejects(async () => (await probe(img)).source.read(0, 512), CorruptError);
  });

  test('a compressed grain whose size field is larger than any grain compresses to is CorruptError', async () => {
    const img = synthVmdk({ compressed: true, grains: [{ index: 0, bytes: fill(3) }] });
    const gte = new DataView(img.buffer).getUint32(2 * 512, true); // GT 0 follows the one-sector GD
    const bad = patch(img, (dv) => dv.setUint32(gte * 512 + 8, 0x7fffffff, true));
    await assert.rejects(async () => (await probe(bad)).source.read(0, 512), /larger than a 4096-byte grain/);
  });

  test('a compressed grain whose marker names another sector is CorruptError', async () => {
    const img = synthVmdk({ compressed: true, grains: [{ index: 2, bytes: fill(3), lba: 0n }] });
    await assert.rejects(async () => (await probe(img)).source.read(2 * grain, 512), /grain marker is for sector 0/);
  });

  test('compressed grain bytes that are not deflate are CorruptError', async () => {
    const img = synthVmdk({ compressed: true, grains: [{ index: 0, packed: new Uint8Array(300).fill(0xff) }] });
    await assert.rejects(async () => (await probe(img)).source.read(0, 512), CorruptError);
  });

  test("a descriptor naming '../../etc/passwd' is refused without asking for the file", async () => {
    const { context, asked } = memorySiblings({});
    for (const name of ['../../etc/passwd', '/etc/passwd', '..', 'sub\\x.vmdk', 'C:x.vmdk']) {
      await assert.rejects(probe(text(descriptor([`RW 8 FLAT "${name}" 0`])), context), (err: Error) => {
        assert.ok(err instanceof UnsupportedError, err.message);
        assert.ok(err.message.includes(`'${name}'`), err.message);
        return true;
      });
    }
    assert.deepEqual(asked, []);
  });

  test('a descriptor opened without a sibling opener is UnsupportedError', async () => {
    await assert.rejects(probe(text(descriptor(['RW 8 FLAT "x-flat.vmdk" 0']))), /VMDK descriptor needs its extent files/);
  });

  test('a descriptor of ZERO extents needs no sibling files', async () => {
    const c = await probe(text(descriptor(['RW 16 ZERO'])));
    assert.equal(c.source.size, 8192);
    assert.ok((await c.source.read(0, 8192)).every((b) => b === 0));
  });

  test('a descriptor with a parentCID is refused, naming parentFileNameHint', async () => {
    const desc = descriptor(['RW 8 FLAT "a.bin" 0'], 'parentFileNameHint="base-disk.vmdk"').replace('parentCID=ffffffff', 'parentCID=0badf00d');
    await assert.rejects(probe(text(desc), memorySiblings({ 'a.bin': new Uint8Array(4096) }).context), /parent disk 'base-disk\.vmdk'/);
  });

  test('a flat extent file shorter than its extent is CorruptError', async () => {
    const { context } = memorySiblings({ 'a.bin': new Uint8Array(2048) });
    await assert.rejects(probe(text(descriptor(['RW 8 FLAT "a.bin" 0'])), context), /shorter than its 4096-byte extent/);
  });

  test('a sparse extent holding less than its descriptor line says is CorruptError', async () => {
    const { context } = memorySiblings({ 's.vmdk': synthVmdk({ grains: [] }) });
    await assert.rejects(probe(text(descriptor(['RW 4096 SPARSE "s.vmdk"'])), context), /less than its/);
  });

  test('a sparse extent file without KDMV magic is CorruptError', async () => {
    const { context } = memorySiblings({ 's.vmdk': new Uint8Array(4096) });
    await assert.rejects(probe(text(descriptor(['RW 8 SPARSE "s.vmdk"'])), context), CorruptError);
  });

  test('ESX-only extents (VMFSSPARSE, VMFSRDM) and NOACCESS extents are UnsupportedError', async () => {
    for (const line of ['RW 8 VMFSSPARSE "d-delta.vmdk"', 'RW 8 VMFSRDM "d-rdm.vmdk"', 'NOACCESS 8 FLAT "a.bin" 0']) {
      await assert.rejects(probe(text(descriptor([line])), memorySiblings({}).context), UnsupportedError, line);
    }
  });

  test('a descriptor without extents is CorruptError', async () => {
    await assert.rejects(probe(text(descriptor([]))), /lists no extents/);
  });

  test('extents opened before a failure are closed', async () => {
    const closed: string[] = [];
    const context: ProbeContext = {
      openSibling: async (name) => {
        const m = new MemorySource(new Uint8Array(4096), { description: name });
        m.close = async () => void closed.push(name);
        return m;
      },
    };
    await assert.rejects(probe(text(descriptor(['RW 8 FLAT "a.bin" 0', 'RW 8 SPARSE "b.vmdk"'])), context), CorruptError);
    assert.deepEqual(closed.sort(), ['a.bin', 'b.vmdk']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('VMDK fuzzing over header, grain directory and grain tables', () => {
  test('mutated qemu-img monolithicSparse images only ever produce typed errors', { skip, timeout: 60_000 }, async () => {
    const { dir, cleanup } = tempDir('hullscan-vmdk-fuzz-');
    try {
      const img = join(dir, 'fuzz.vmdk');
      await run('qemu-img', ['create', '-f', 'vmdk', '-o', 'subformat=monolithicSparse', img, '1M']);
      for (const cmd of ['write -P 0x11 0 64k', 'write -P 0x22 512k 4k', 'write -P 0x33 960k 64k']) await run('qemu-io', ['-f', 'vmdk', '-c', cmd, img]);
      const base = new Uint8Array(readFileSync(img));
      const dv = new DataView(base.buffer);
      const gd = Number(dv.getBigUint64(56, true)) * 512;
      const rgd = Number(dv.getBigUint64(48, true)) * 512;
      const gt = dv.getUint32(gd, true) * 512;
      const outcome = await fuzz(
        base,
        async (bytes) => readSome((await probe(bytes)).source, 256 * KiB),
        { cases: fuzzCases(300), seed: 11, regions: [[0, 80], [gd, gd + 8], [rgd, rgd + 8], [gt, gt + 2048]], allowTruncate: true },
      );
      assert.ok(outcome.accepted > 0 && outcome.rejected > 0, JSON.stringify(outcome));
    } finally {
      cleanup();
    }
  });

  test('mutated byte-built compressed (stream) images only ever produce typed errors', { timeout: 60_000 }, async () => {
    const words = text('kubelet containerd etc usr lib '.repeat(200)).subarray(0, 4096);
    const base = synthVmdk({ compressed: true, grains: [{ index: 0, bytes: words }, { index: 65, bytes: words }, { index: 66, gte: 1 }] });
    const outcome = await fuzz(base, async (bytes) => readSome((await probe(bytes)).source, 128 * KiB), {
      cases: fuzzCases(300),
      seed: 21,
      regions: [[0, 80], [512, 528], [1024, 1024 + 4 * 512], [base.length - 1024, base.length]],
      allowTruncate: true,
    });
    assert.ok(outcome.accepted > 0 && outcome.rejected > 0, JSON.stringify(outcome));
  });

  test('mutated descriptors only ever produce typed errors and never escape the directory', { timeout: 60_000 }, async () => {
    const files = { 'a.bin': new Uint8Array(8192).fill(1), 's.vmdk': synthVmdk({ grains: [{ index: 1, bytes: new Uint8Array(4096).fill(5) }] }) };
    const { context, asked } = memorySiblings(files);
    const base = text(descriptor(['RW 16 FLAT "a.bin" 0', 'RW 8 ZERO', 'RW 2048 SPARSE "s.vmdk"']));
    const outcome = await fuzz(base, async (bytes) => readSome((await probe(bytes, context)).source, 256 * KiB), {
      cases: fuzzCases(300),
      seed: 31,
      regions: [[0, base.length]],
      allowTruncate: true,
    });
    assert.ok(outcome.accepted > 0 && outcome.rejected > 0, JSON.stringify(outcome));
    for (const name of asked) assert.ok(!name.includes('/') && name !== '..', name);
  });
});
