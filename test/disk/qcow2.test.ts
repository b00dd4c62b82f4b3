import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { qcow2Decoder } from '../../src/disk/containers/qcow2/index.ts';
import type { DiskContainer } from '../../src/disk/containers/types.ts';
import type { BlockSource } from '../../src/disk/index.ts';
import { MemorySource } from '../../src/disk/memory-source.ts';
import { CorruptError, NotThisFormatError, UnsupportedError } from '../../src/util/errors.ts';
import { fuzz, fuzzCases, prng } from '../helpers/fuzz.ts';
import { needTools, run, tempDir } from '../helpers/tools.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Not a multiple of any cluster size above 4 KiB: the last cluster is partial. */
const DISK_BYTES = 16 * MiB + 36 * KiB;
const skip = needTools('qemu-img', 'qemu-io');

/**
 * A seeded disk pattern: incompressible and compressible data, holes, written zeros, small
 * unaligned writes (partial clusters and subclusters) and data up to the last byte.
 */
function writePatternImage(path: string, seed: number): void {
  const rnd = prng(seed);
  const random = (n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
    return b;
  };
  const words = ['kubelet', 'containerd', 'vmlinuz', 'libssl3', 'openssh', 'etc', 'usr', 'lib', '\n', ' ', '/'];
  const text = (n: number) => {
    let s = '';
    while (s.length < n) s += words[Math.floor(rnd() * words.length)];
    return new TextEncoder().encode(s.slice(0, n));
  };
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, DISK_BYTES);
    const put = (offset: number, bytes: Uint8Array) => writeSync(fd, bytes, 0, bytes.length, offset);
    put(0, random(2 * MiB));
    put(3 * MiB, text(2 * MiB));
    put(5 * MiB, new Uint8Array(MiB)); // written zeros
    put(6 * MiB + 4 * KiB, random(4 * KiB));
    put(6 * MiB + 100 * KiB, text(512));
    put(6 * MiB + 333 * KiB + 17, random(9000));
    for (let i = 0; i < 64; i++) {
      const kind = i % 3;
      const at = 8 * MiB + i * 64 * KiB;
      put(at, kind === 0 ? random(64 * KiB) : kind === 1 ? text(64 * KiB) : new Uint8Array(64 * KiB));
    }
    put(DISK_BYTES - 40 * KiB, text(40 * KiB));
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

async function probeBytes(bytes: Uint8Array): Promise<{ mem: MemorySource; container: DiskContainer }> {
  const mem = new MemorySource(bytes, { description: 'file test.qcow2' });
  return { mem, container: await qcow2Decoder.probe(mem, {}) };
}

async function probeFile(path: string): Promise<{ mem: MemorySource; container: DiskContainer }> {
  return probeBytes(new Uint8Array(readFileSync(path)));
}

/** Random reads compared byte for byte with the reference. */
async function assertRandomReads(src: BlockSource, expected: Uint8Array, seed: number, count = 150): Promise<void> {
  const rnd = prng(seed);
  for (let i = 0; i < count; i++) {
    const length = 1 + Math.floor(rnd() * (rnd() < 0.2 ? 3 * MiB : 70 * KiB));
    const offset = Math.floor(rnd() * (expected.length - length));
    const got = await src.read(offset, length);
    if (sha256(got) !== sha256(expected.subarray(offset, offset + length))) {
      assert.fail(`read at ${offset} (+${length}) differs from qemu-img's raw output`);
    }
  }
}

function patch(bytes: Uint8Array, edit: (dv: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  edit(new DataView(copy.buffer));
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Real images built by qemu-img and edited by qemu-io, compared with qemu-img convert -O raw.

describe('qcow2 images built by qemu-img', { skip }, () => {
  let dir = '';
  let cleanup = () => {};
  let raw = '';
  let zstd = false;
  before(async () => {
    ({ dir, cleanup } = tempDir('hullscan-qcow2-'));
    raw = join(dir, 'pattern.raw');
    writePatternImage(raw, 2024);
    try {
      await run('qemu-img', ['create', '-f', 'qcow2', '-o', 'compression_type=zstd', join(dir, 'probe-zstd.qcow2'), '1M']);
      zstd = true;
    } catch {
      zstd = false;
    }
  });
  after(() => cleanup());

  interface Variant {
    name: string;
    options: string[];
    /** qemu-io commands run on the converted image (zero clusters, subclusters). */
    edits?: string[];
    details: Record<string, unknown>;
    needsZstd?: boolean;
  }
  const variants: Variant[] = [
    { name: 'v2 (compat=0.10)', options: ['-o', 'compat=0.10'], details: { version: 2, clusterSize: 65536, compressionType: 'zlib' } },
    { name: 'v3 (compat=1.1)', options: ['-o', 'compat=1.1'], details: { version: 3, clusterSize: 65536, compressionType: 'zlib' } },
    { name: 'v3 zlib-compressed clusters', options: ['-c'], details: { version: 3, compressionType: 'zlib' } },
    {
      name: 'v2 compressed clusters',
      options: ['-c', '-o', 'compat=0.10'],
      details: { version: 2, compressionType: 'zlib' },
    },
    {
      name: 'v3 zstd-compressed clusters',
      options: ['-c', '-o', 'compression_type=zstd'],
      details: { version: 3, compressionType: 'zstd' },
      needsZstd: true,
    },
    {
      name: 'v3 with zero clusters (write -z, with and without unmap)',
      options: ['-o', 'compat=1.1'],
      edits: ['write -z 64k 128k', 'write -z -u 1M 192k', 'write -z 3200k 64k'],
      details: { version: 3 },
    },
    {
      name: 'extended L2 entries with partial and zero subclusters',
      options: ['-o', 'extended_l2=on'],
      edits: ['write -z 70k 8k', 'write -P 0xab 2200k 2k', 'write -z -u 8M 6k', 'write -P 0x5c 12M 3k'],
      details: { version: 3, extendedL2: true, clusterSize: 65536 },
    },
    { name: '512-byte clusters', options: ['-o', 'cluster_size=512'], details: { clusterSize: 512 } },
    { name: '2 MiB clusters', options: ['-o', 'cluster_size=2M'], details: { clusterSize: 2 * MiB } },
    {
      name: '2 MiB clusters, compressed',
      options: ['-c', '-o', 'cluster_size=2M'],
      details: { clusterSize: 2 * MiB },
    },
  ];

  for (const [i, v] of variants.entries()) {
    test(`${v.name}: full content and random reads match qemu-img's raw output`, async (t) => {
      if (v.needsZstd && !zstd) {
        t.skip('this qemu-img has no zstd compression');
        return;
      }
      const img = join(dir, `v${i}.qcow2`);
      const expectedPath = join(dir, `v${i}.raw`);
      await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', ...v.options, raw, img]);
      for (const cmd of v.edits ?? []) await run('qemu-io', ['-f', 'qcow2', '-c', cmd, img]);
      await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', img, expectedPath]);
      const expected = new Uint8Array(readFileSync(expectedPath));

      const { container } = await probeFile(img);

      assert.equal(container.format, 'qcow2');
      for (const [k, want] of Object.entries(v.details)) assert.equal(container.details[k], want, `details.${k}`);
      assert.equal(container.source.size, DISK_BYTES);
      assert.deepEqual(container.issues, []);
      assert.equal(sha256(await readAll(container.source)), sha256(expected));
      await assertRandomReads(container.source, expected, 100 + i);
    });
  }

  test('compressed images really contain compressed clusters (the test exercises decompression)', async () => {
    const img = join(dir, 'check-compressed.qcow2');
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', '-c', raw, img]);
    const { mem, container } = await probeFile(img);
    const before = mem.stats().bytesRead;
    await container.source.read(3 * MiB, 2 * MiB); // compressible text region
    assert.ok(mem.stats().bytesRead - before < MiB, 'text region read fewer host bytes than it decodes to');
  });

  test('a large sequential read of contiguous clusters costs one underlying data read', async () => {
    const img = join(dir, 'coalesce.qcow2');
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', '-o', 'cluster_size=4k', raw, img]);
    const { mem, container } = await probeFile(img);
    await container.source.read(0, 4096); // warm the L2 table of the region
    const before = mem.stats().reads;
    const got = await container.source.read(0, 2 * MiB); // 512 clusters, one L2 table (2 MiB)
    assert.equal(mem.stats().reads - before, 1);
    assert.equal(sha256(got), sha256(new Uint8Array(readFileSync(raw)).subarray(0, 2 * MiB)));
  });

  test('a sequence of small reads inside one compressed cluster decompresses it once', async () => {
    const img = join(dir, 'small-reads.qcow2');
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', '-c', raw, img]);
    const { mem, container } = await probeFile(img);
    await container.source.read(3 * MiB, 4096);
    const before = mem.stats().reads;
    for (let off = 4096; off < 64 * KiB; off += 4096) await container.source.read(3 * MiB + off, 4096);
    assert.equal(mem.stats().reads, before);
  });

  test("an image with a backing file is refused, naming 'base.qcow2'", async () => {
    await run('qemu-img', ['create', '-f', 'qcow2', join(dir, 'base.qcow2'), '4M']);
    await run('qemu-img', ['create', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', join(dir, 'top.qcow2')]);
    await assert.rejects(probeFile(join(dir, 'top.qcow2')), (err: Error) => {
      assert.ok(err instanceof UnsupportedError, err.message);
      assert.match(err.message, /backing file 'base\.qcow2'/);
      return true;
    });
  });

  test('a LUKS-encrypted image is refused, naming LUKS', async () => {
    const img = join(dir, 'luks.qcow2');
    const create = () => run('qemu-img', [
      'create', '--object', 'secret,id=s0,data=hullscan', '-f', 'qcow2',
      '-o', 'encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10', img, '4M',
    ]);
    // qemu-img times PBKDF2 to pick an iteration count; on a loaded machine the timing can come
    // out as zero ("Unable to get accurate CPU usage"), which a retry gets past.
    for (let attempt = 1; ; attempt++) {
      try {
        await create();
        break;
      } catch (err) {
        if (attempt >= 5 || !/accurate CPU usage/.test(String((err as Error).message))) throw err;
      }
    }
    await assert.rejects(probeFile(img), (err: Error) => err instanceof UnsupportedError && /LUKS/.test(err.message));
  });

  test('an image with an external data file is refused, naming the file', async () => {
    const img = join(dir, 'ext.qcow2');
    // An absolute name: qemu-img creates the data file where the name points (a relative one
    // would land in the working directory).
    await run('qemu-img', ['create', '-f', 'qcow2', '-o', `data_file=${join(dir, 'ext-data.raw')}`, img, '4M']);
    await assert.rejects(probeFile(img), (err: Error) => err instanceof UnsupportedError && /ext-data\.raw/.test(err.message));
  });

  test('a truncated image: reads of clusters past the end are CorruptError, not zeros', async () => {
    const img = join(dir, 'trunc.qcow2');
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, img]);
    const full = new Uint8Array(readFileSync(img));
    const { container } = await probeBytes(full.subarray(0, Math.floor(full.length * 0.6)));
    await assert.rejects(readAll(container.source), CorruptError);
  });

  test('a real image cut inside its header is CorruptError', async () => {
    const img = join(dir, 'hdr.qcow2');
    await run('qemu-img', ['create', '-f', 'qcow2', img, '1M']);
    await assert.rejects(probeBytes(new Uint8Array(readFileSync(img)).subarray(0, 80)), CorruptError);
  });
});

// ---------------------------------------------------------------------------------------------
// Byte-built images: one header cluster, one L1 cluster, one L2 cluster, then data clusters.

interface SynthOptions {
  clusterBits?: number;
  size?: number;
  version?: 2 | 3;
  incompatible?: number;
  /** L2 entries of table 0 (extended: [entry, bitmap] pairs). */
  l2: Array<bigint | [bigint, bigint]>;
  /** Data placed from cluster 3 on. */
  data?: Uint8Array;
}

function synthQcow2(o: SynthOptions): Uint8Array {
  const bits = o.clusterBits ?? 12;
  const cs = 2 ** bits;
  const version = o.version ?? 3;
  const data = o.data ?? new Uint8Array(0);
  const out = new Uint8Array(3 * cs + Math.ceil(data.length / cs) * cs);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0x514649fb);
  dv.setUint32(4, version);
  dv.setUint32(20, bits);
  dv.setBigUint64(24, BigInt(o.size ?? 1 * MiB));
  dv.setUint32(36, 1); // l1_size
  dv.setBigUint64(40, BigInt(cs)); // l1_table_offset
  if (version === 3) {
    dv.setBigUint64(72, BigInt(o.incompatible ?? 0));
    dv.setUint32(96, 4);
    dv.setUint32(100, 104);
  }
  dv.setBigUint64(cs, BigInt(2 * cs)); // L1[0] -> L2 at cluster 2
  o.l2.forEach((e, i) => {
    if (Array.isArray(e)) {
      dv.setBigUint64(2 * cs + i * 16, e[0]);
      dv.setBigUint64(2 * cs + i * 16 + 8, e[1]);
    } else dv.setBigUint64(2 * cs + i * 8, e);
  });
  out.set(data, 3 * cs);
  return out;
}

function compressedEntry(offset: number, packedBytes: number, clusterBits: number): bigint {
  const x = 62n - BigInt(clusterBits - 8);
  const extraSectors = BigInt(Math.ceil(((offset % 512) + packedBytes) / 512) - 1);
  return (1n << 62n) | (extraSectors << x) | BigInt(offset);
}

describe('qcow2 corrupt and hostile structures (byte-built)', () => {
  const cs = 4096;
  const good = () => synthQcow2({ l2: [BigInt(3 * cs)], data: new Uint8Array(cs).fill(0x61) });

  test('the byte-built baseline decodes (so the corrupt variants below test one thing each)', async () => {
    const { container } = await probeBytes(good());
    assert.deepEqual(await container.source.read(0, 4), new Uint8Array([0x61, 0x61, 0x61, 0x61]));
    assert.equal((await container.source.read(cs, cs)).every((b) => b === 0), true);
  });

  test('not qcow2: zeros and other magics are NotThisFormatError', async () => {
    await assert.rejects(qcow2Decoder.probe(new MemorySource(new Uint8Array(4096)), {}), NotThisFormatError);
    await assert.rejects(qcow2Decoder.probe(new MemorySource(new Uint8Array(2)), {}), NotThisFormatError);
  });

  for (const bits of [0, 8, 22, 0xffffffff]) {
    test(`cluster_bits ${bits} is out of range: CorruptError`, async () => {
      await assert.rejects(probeBytes(patch(good(), (dv) => dv.setUint32(20, bits))), CorruptError);
    });
  }

  test('qcow version 1 and version 4 are UnsupportedError', async () => {
    await assert.rejects(probeBytes(patch(good(), (dv) => dv.setUint32(4, 1))), /qcow version 1/);
    await assert.rejects(probeBytes(patch(good(), (dv) => dv.setUint32(4, 4))), UnsupportedError);
  });

  test('an absurd l1_size (0xffffffff) is CorruptError before any allocation', async () => {
    await assert.rejects(probeBytes(patch(good(), (dv) => dv.setUint32(36, 0xffffffff))), /l1_size 4294967295 exceeds/);
  });

  test('an l1_size too small for the virtual size is CorruptError', async () => {
    await assert.rejects(probeBytes(patch(good(), (dv) => dv.setBigUint64(24, 64n * BigInt(MiB)))), /l1_size 1 is too small/);
  });

  test('a virtual size beyond 2^53 is CorruptError', async () => {
    await assert.rejects(probeBytes(patch(good(), (dv) => dv.setBigUint64(24, 0xffffffffffffff00n))), CorruptError);
  });

  test('an L1 entry past the end of the file is CorruptError naming L1[0]', async () => {
    await assert.rejects(probeBytes(patch(good(), (dv) => dv.setBigUint64(cs, 1024n * BigInt(cs)))), (err: Error) => {
      return err instanceof CorruptError && err.location === 'L1[0]';
    });
  });

  test('an L1 table past the end of the file is CorruptError', async () => {
    await assert.rejects(probeBytes(patch(good(), (dv) => dv.setBigUint64(40, 4096n * BigInt(cs)))), CorruptError);
  });

  test('an L2 entry past the end of the file is CorruptError on read', async () => {
    const { container } = await probeBytes(synthQcow2({ l2: [BigInt(1000 * cs)] }));
    await assert.rejects(container.source.read(0, 512), CorruptError);
  });

  test('an L2 entry that is not cluster-aligned is CorruptError on read', async () => {
    const { container } = await probeBytes(synthQcow2({ l2: [BigInt(3 * cs + 512)], data: new Uint8Array(2 * cs) }));
    await assert.rejects(container.source.read(0, 512), /not cluster-aligned/);
  });

  test('an L2 entry that points at the L2 table itself reads its bytes, nothing more (no loop)', async () => {
    const { container } = await probeBytes(synthQcow2({ l2: [BigInt(2 * cs)] }));
    const got = await container.source.read(0, 8);
    assert.deepEqual(got, new Uint8Array([0, 0, 0, 0, 0, 0, 0x20, 0]));
  });

  test('a compressed cluster that inflates to half a cluster is CorruptError', async () => {
    const packed = deflateRawSync(new Uint8Array(cs / 2).fill(7));
    const img = synthQcow2({ l2: [compressedEntry(3 * cs, packed.length, 12)], data: packed });
    const { container } = await probeBytes(img);
    await assert.rejects(container.source.read(0, 512), /decodes to 2048 bytes, expected 4096/);
  });

  test('a compressed cluster that inflates to more than a cluster is CorruptError', async () => {
    const packed = deflateRawSync(new Uint8Array(cs * 4).fill(7));
    const { container } = await probeBytes(synthQcow2({ l2: [compressedEntry(3 * cs, packed.length, 12)], data: packed }));
    await assert.rejects(container.source.read(0, 512), CorruptError);
  });

  test('compressed bytes that are not deflate are CorruptError', async () => {
    const junk = new Uint8Array(600).fill(0xff);
    const { container } = await probeBytes(synthQcow2({ l2: [compressedEntry(3 * cs, junk.length, 12)], data: junk }));
    await assert.rejects(container.source.read(0, 512), CorruptError);
  });

  test('a well-formed compressed cluster decodes (baseline for the two tests above)', async () => {
    const cluster = new Uint8Array(cs).map((_, i) => i % 251);
    const packed = deflateRawSync(cluster);
    const { container } = await probeBytes(synthQcow2({ l2: [compressedEntry(3 * cs + 100, packed.length, 12)], data: new Uint8Array([...new Uint8Array(100), ...packed]) }));
    assert.deepEqual(await container.source.read(0, cs), cluster);
  });

  test('an extended L2 entry with a subcluster both allocated and zero is CorruptError', async () => {
    const img = synthQcow2({ clusterBits: 14, incompatible: 1 << 4, l2: [[BigInt(3 * 16384), (1n << 32n) | 1n]], data: new Uint8Array(16384) });
    const { container } = await probeBytes(img);
    await assert.rejects(container.source.read(0, 512), /both allocated and zero/);
  });

  test('extended L2 entries with 4 KiB clusters are CorruptError (subclusters below 512 bytes)', async () => {
    await assert.rejects(probeBytes(synthQcow2({ clusterBits: 12, incompatible: 1 << 4, l2: [] })), CorruptError);
  });

  test('v3 zero flag reads zeros even with a host offset; v2 ignores the bit', async () => {
    const data = new Uint8Array(cs).fill(0x42);
    const v3 = await probeBytes(synthQcow2({ l2: [BigInt(3 * cs) | 1n], data }));
    assert.ok((await v3.container.source.read(0, cs)).every((b) => b === 0));
    const v2 = await probeBytes(synthQcow2({ version: 2, l2: [BigInt(3 * cs) | 1n], data }));
    assert.ok((await v2.container.source.read(0, cs)).every((b) => b === 0x42));
  });

  test('AES encryption (crypt_method 1) is UnsupportedError naming AES', async () => {
    await assert.rejects(probeBytes(patch(good(), (dv) => dv.setUint32(32, 1))), (err: Error) => err instanceof UnsupportedError && /AES/.test(err.message));
  });

  test('unknown incompatible feature bits are UnsupportedError', async () => {
    await assert.rejects(probeBytes(patch(good(), (dv) => dv.setUint32(76, 1 << 9))), /unknown incompatible features: bit 9/);
    await assert.rejects(probeBytes(patch(good(), (dv) => dv.setUint32(72, 1))), UnsupportedError);
  });

  test('dirty and corrupt bits are reported as warnings, and the image still reads', async () => {
    const { container } = await probeBytes(patch(good(), (dv) => dv.setUint32(76, 0b11)));
    assert.deepEqual(container.issues.map((i) => [i.severity, i.code]), [['warning', 'qcow2.dirty'], ['warning', 'qcow2.corrupt-bit']]);
    assert.equal((await container.source.read(0, 1))[0], 0x61);
  });

  test('a header_length that is not a multiple of 8 is CorruptError', async () => {
    await assert.rejects(probeBytes(patch(good(), (dv) => dv.setUint32(100, 105))), CorruptError);
  });

  test('a header extension that overruns the header cluster is CorruptError', async () => {
    const img = patch(good(), (dv) => {
      dv.setUint32(104, 0x12345678);
      dv.setUint32(108, 0x7fffffff);
    });
    await assert.rejects(probeBytes(img), /overruns the header cluster/);
  });

  test('a backing file name past the end of the file is CorruptError', async () => {
    const img = patch(good(), (dv) => {
      dv.setBigUint64(8, 1n << 40n);
      dv.setUint32(16, 10);
    });
    await assert.rejects(probeBytes(img), CorruptError);
  });

  test('an unallocated L1 entry (no L2 table) reads as zeros', async () => {
    const img = patch(good(), (dv) => dv.setBigUint64(cs, 0n));
    const { container } = await probeBytes(img);
    assert.ok((await container.source.read(0, 2 * cs)).every((b) => b === 0));
  });
});

// ---------------------------------------------------------------------------------------------

describe('qcow2 fuzzing over header, L1 and the first L2 tables', { skip }, () => {
  test('mutated qemu-img images only ever produce typed errors', { timeout: 60_000 }, async () => {
    const { dir, cleanup } = tempDir('hullscan-qcow2-fuzz-');
    try {
      const img = join(dir, 'fuzz.qcow2');
      await run('qemu-img', ['create', '-f', 'qcow2', '-o', 'cluster_size=4k', img, '512K']);
      for (const cmd of ['write -P 0x11 0 12k', 'write -c -P 0x22 64k 8k', 'write -z 128k 4k', 'write -P 0x33 300k 5k']) {
        await run('qemu-io', ['-f', 'qcow2', '-c', cmd, img]);
      }
      const base = new Uint8Array(readFileSync(img));
      const dv = new DataView(base.buffer);
      const l1 = Number(dv.getBigUint64(40));
      const l2 = Number(dv.getBigUint64(l1) & 0x00fffffffffffe00n);
      const outcome = await fuzz(
        base,
        async (bytes) => {
          const c = await qcow2Decoder.probe(new MemorySource(bytes), {});
          await readSome(c.source, 64 * KiB);
        },
        { cases: fuzzCases(300), seed: 7, regions: [[0, 256], [l1, l1 + 64], [l2, l2 + 4096]], allowTruncate: true },
      );
      assert.equal(outcome.cases, fuzzCases(300));
      assert.ok(outcome.accepted > 0 && outcome.rejected > 0, JSON.stringify(outcome));
    } finally {
      cleanup();
    }
  });

  test('byte-built compressed and extended-L2 images only ever produce typed errors', { timeout: 60_000 }, async () => {
    const cs = 16384;
    const packed = deflateRawSync(new Uint8Array(cs).map((_, i) => (i * 7) % 256));
    const data = new Uint8Array(2 * cs);
    data.set(packed, cs);
    const base = synthQcow2({
      clusterBits: 14,
      incompatible: 1 << 4,
      l2: [[BigInt(3 * cs), 0x0000ffffn | (0xff0000n << 32n)], [compressedEntry(4 * cs, packed.length, 14), 0n]],
      data,
    });
    const outcome = await fuzz(
      base,
      async (bytes) => {
        const c = await qcow2Decoder.probe(new MemorySource(bytes), {});
        await readSome(c.source, 256 * KiB);
      },
      { cases: fuzzCases(300), seed: 99, regions: [[0, 112], [cs, cs + 8], [2 * cs, 2 * cs + 64], [4 * cs, 4 * cs + 64]] },
    );
    assert.ok(outcome.accepted > 0 && outcome.rejected > 0, JSON.stringify(outcome));
  });
});
