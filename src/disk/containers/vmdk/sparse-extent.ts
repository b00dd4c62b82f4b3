/**
 * A VMDK hosted sparse extent (monolithicSparse, twoGbMaxExtentSparse pieces, streamOptimized):
 * header, grain directory, grain tables and (compressed) grains.
 *
 * Spec: VMware Virtual Disk Format 1.1, "Hosted Sparse Extents" (grain directory and tables,
 * redundant directory, zeroed-grain GTE) and "Stream-Optimized Compressed Sparse Extents"
 * (grain markers, footer). A GTE of 0 is an unallocated grain, which reads as zeros because we
 * refuse delta disks; a GTE of 1 is the zeroed-grain marker and also reads as zeros (sector 1
 * always holds header or descriptor, never grain data, so we honour it with or without the flag).
 */
import { promisify } from 'node:util';
import { constants, inflate, inflateRaw, inflateRawSync, inflateSync } from 'node:zlib';
import { CorruptError } from '../../../util/errors.ts';
import type { Issue } from '../../../util/issues.ts';
import { u64le, view } from '../../../util/bytes.ts';
import { MiB } from '../../../util/units.ts';
import type { BlockSource } from '../../index.ts';
import type { SegmentList } from '../mapped-source.ts';
import { TableCache } from '../table-cache.ts';
import { type Descriptor, parseDescriptor } from './descriptor.ts';
import {
  FLAG_COMPRESSED_GRAINS,
  FLAG_REDUNDANT_GRAIN_TABLE,
  GRAIN_MARKER_BYTES,
  gdEntryCount,
  MARKER_FOOTER,
  maxCompressedGrainBytes,
  parseSparseHeader,
  SECTOR_BYTES,
  SPARSE_HEADER_BYTES,
  type SparseHeader,
} from './sparse-header.ts';

const inflateAsync = promisify(inflate);
const inflateRawAsync = promisify(inflateRaw);

/** Bytes of grain tables kept in memory per extent. */
export const GT_CACHE_BYTES = 16 * MiB;
const GTE_ZEROED_GRAIN = 1;
/** footer marker + footer + end-of-stream marker at the end of a streamOptimized image. */
const STREAM_TAIL_BYTES = 3 * SECTOR_BYTES;

export interface OpenedSparseExtent {
  extent: SparseExtent;
  header: SparseHeader;
  descriptor?: Descriptor;
  issues: Issue[];
}

export class SparseExtent {
  readonly header: SparseHeader;
  readonly capacityBytes: number;
  readonly compressed: boolean;
  readonly #source: BlockSource;
  readonly #name: string;
  /** Grain table offsets in bytes (0 = table not allocated). */
  readonly #gd: Float64Array;
  readonly #grainBytes: number;
  readonly #gtCache: TableCache<DataView>;
  readonly #hostWhat: string;

  private constructor(source: BlockSource, name: string, header: SparseHeader, gd: Float64Array) {
    this.#source = source;
    this.#name = name;
    this.header = header;
    this.#gd = gd;
    this.capacityBytes = header.capacitySectors * SECTOR_BYTES;
    this.compressed = (header.flags & FLAG_COMPRESSED_GRAINS) !== 0;
    this.#grainBytes = header.grainSectors * SECTOR_BYTES;
    const gtBytes = header.gtesPerGt * 4;
    // Copy each table: a read may be a view into a larger cache chunk the LRU would keep alive.
    this.#gtCache = new TableCache(Math.floor(GT_CACHE_BYTES / gtBytes), async (offset) => view((await source.read(offset, gtBytes)).slice()));
    this.#hostWhat = `${name} grain table entry`;
  }

  /** Reads header, embedded descriptor and grain directory of the extent in `source`. */
  static async open(source: BlockSource, name: string): Promise<OpenedSparseExtent> {
    if (source.size < SPARSE_HEADER_BYTES) throw new CorruptError(`${name} is truncated: ${source.size} bytes`, { location: `${name} header` });
    const header = parseSparseHeader(await source.read(0, SPARSE_HEADER_BYTES), `${name} header`);
    const issues: Issue[] = [];
    const descriptor = await readEmbeddedDescriptor(source, header, name);

    let gdSectors = header.gdOffsetSectors;
    if (gdSectors === 'at-end') gdSectors = await gdFromFooter(source, header, name);
    let gd: Float64Array;
    try {
      gd = await readGrainDirectory(source, header, gdSectors, `${name} grain directory`);
    } catch (err) {
      const redundant = (header.flags & FLAG_REDUNDANT_GRAIN_TABLE) !== 0 && header.rgdOffsetSectors > 0;
      if (!(err instanceof CorruptError) || !redundant) throw err;
      gd = await readGrainDirectory(source, header, header.rgdOffsetSectors, `${name} redundant grain directory`);
      issues.push({
        severity: 'warning',
        code: 'vmdk.grain-directory-fallback',
        message: `${name}: primary grain directory is unusable (${err.message}); read through the redundant one`,
        location: `${name} grain directory`,
      });
    }
    if (header.uncleanShutdown) {
      issues.push({
        severity: 'warning',
        code: 'vmdk.unclean-shutdown',
        message: `${name} was not closed cleanly: recently written grains may be missing`,
        location: `${name} header`,
      });
    }
    const opened: OpenedSparseExtent = { extent: new SparseExtent(source, name, header, gd), header, issues };
    if (descriptor) opened.descriptor = descriptor;
    return opened;
  }

  /** Appends the segments of [offset, offset + length) of this extent to `plan`. */
  async plan(offset: number, length: number, plan: SegmentList, virtualBase: number): Promise<void> {
    const gb = this.#grainBytes;
    const gtes = this.header.gtesPerGt;
    const coverage = gb * gtes;
    const firstGt = Math.floor(offset / coverage);
    const lastGt = Math.floor((offset + length - 1) / coverage);
    const tables: Array<DataView | undefined> = await Promise.all(
      Array.from({ length: lastGt - firstGt + 1 }, (_, i) => {
        const gt = this.#gd[firstGt + i]!;
        return gt === 0 ? undefined : this.#gtCache.get(gt);
      }),
    );
    const end = offset + length;
    let pos = offset;
    while (pos < end) {
      const gtIndex = Math.floor(pos / coverage);
      const table = tables[gtIndex - firstGt];
      const tableEnd = Math.min(end, (gtIndex + 1) * coverage);
      if (table === undefined) {
        plan.zero(tableEnd - pos);
        pos = tableEnd;
        continue;
      }
      while (pos < tableEnd) {
        const grain = Math.floor(pos / gb);
        const inGrain = pos - grain * gb;
        const n = Math.min(gb - inGrain, tableEnd - pos);
        const gte = table.getUint32((grain % gtes) * 4, true);
        if (gte === 0 || gte === GTE_ZEROED_GRAIN) plan.zero(n);
        else if (this.compressed) this.#planCompressed(gte, grain, inGrain, n, plan, virtualBase);
        else plan.host(this.#source, gte * SECTOR_BYTES + inGrain, n, this.#hostWhat, virtualBase + pos);
        pos += n;
      }
    }
  }

  #planCompressed(gte: number, grain: number, inGrain: number, n: number, plan: SegmentList, virtualBase: number): void {
    const gb = this.#grainBytes;
    const lba = grain * this.header.grainSectors;
    const validBytes = Math.min(gb, this.capacityBytes - grain * gb);
    const name = this.#name;
    plan.packed({
      length: n,
      source: this.#source,
      offset: gte * SECTOR_BYTES,
      // The real size is in the grain marker; read up to the largest legal grain.
      packedLength: GRAIN_MARKER_BYTES + maxCompressedGrainBytes(gb),
      unitLength: gb,
      skip: inGrain,
      what: `${name} compressed grain`,
      at: virtualBase + grain * gb,
      decode: (packed, inParallel) => decodeGrain(packed, lba, gb, validBytes, `${name} grain at sector ${gte}`, inParallel),
    });
  }
}

/**
 * Decodes one compressed grain: marker (lba, size) then a zlib stream (RFC 1950, as VMware and
 * QEMU write it; a bare RFC 1951 stream, which the spec's wording allows, is accepted too).
 */
export async function decodeGrain(
  packed: Uint8Array,
  lba: number,
  grainBytes: number,
  validBytes: number,
  where: string,
  inParallel: boolean,
): Promise<Uint8Array> {
  if (packed.length < GRAIN_MARKER_BYTES) throw new CorruptError(`${where}: truncated grain marker`, { location: where });
  const dv = view(packed);
  const markerLba = u64le(dv, 0, `${where} lba`);
  const size = dv.getUint32(8, true);
  if (size === 0) throw new CorruptError(`${where}: grain table points at a stream marker, not a grain`, { location: where });
  if (size > maxCompressedGrainBytes(grainBytes)) {
    throw new CorruptError(`${where}: compressed grain of ${size} bytes is larger than a ${grainBytes}-byte grain can compress to`, { location: where });
  }
  if (GRAIN_MARKER_BYTES + size > packed.length) throw new CorruptError(`${where}: compressed grain runs past the end of the file`, { location: where });
  if (markerLba !== lba) throw new CorruptError(`${where}: grain marker is for sector ${markerLba}, expected ${lba}`, { location: where });
  const data = packed.subarray(GRAIN_MARKER_BYTES, GRAIN_MARKER_BYTES + size);
  // chunkSize of a whole grain: one output buffer and one callback per grain instead of per 16 KiB.
  const options = { maxOutputLength: grainBytes, chunkSize: grainBytes, finishFlush: constants.Z_SYNC_FLUSH };
  const zlib = isZlibHeader(data);
  // Async zlib runs on the libuv thread pool, so the grains of a large read inflate in parallel.
  let out: Uint8Array;
  if (inParallel) out = await (zlib ? inflateAsync(data, options) : inflateRawAsync(data, options));
  else out = zlib ? inflateSync(data, options) : inflateRawSync(data, options);
  if (out.length === grainBytes || out.length !== validBytes) return out;
  // The last grain of a disk whose size is not a multiple of the grain may be stored short.
  const full = new Uint8Array(grainBytes);
  full.set(out);
  return full;
}

function isZlibHeader(d: Uint8Array): boolean {
  return d.length >= 2 && (d[0]! & 0x0f) === 8 && (d[0]! >>> 4) <= 7 && ((d[0]! << 8) | d[1]!) % 31 === 0;
}

async function readEmbeddedDescriptor(source: BlockSource, h: SparseHeader, name: string): Promise<Descriptor | undefined> {
  if (h.descriptorOffsetSectors === 0 || h.descriptorSectors === 0) return undefined;
  const start = h.descriptorOffsetSectors * SECTOR_BYTES;
  const bytes = h.descriptorSectors * SECTOR_BYTES;
  if (start + bytes > source.size) {
    throw new CorruptError(`${name}: embedded descriptor [${start}, +${bytes}) is past the end of the file`, { location: `${name} descriptorOffset` });
  }
  const buf = await source.read(start, bytes);
  let end = buf.indexOf(0);
  if (end < 0) end = buf.length;
  return parseDescriptor(new TextDecoder('utf-8', { fatal: false }).decode(buf.subarray(0, end)), `${name} embedded descriptor`);
}

/** streamOptimized with GD_AT_END: the footer (a header copy) before the end-of-stream marker. */
async function gdFromFooter(source: BlockSource, header: SparseHeader, name: string): Promise<number> {
  if (source.size < SPARSE_HEADER_BYTES + STREAM_TAIL_BYTES) {
    throw new CorruptError(`${name}: streamOptimized image has no footer (truncated or incomplete upload?)`, { location: `${name} footer` });
  }
  const tail = await source.read(source.size - STREAM_TAIL_BYTES, STREAM_TAIL_BYTES);
  const dv = view(tail);
  if (dv.getUint32(8, true) !== 0 || dv.getUint32(12, true) !== MARKER_FOOTER) {
    throw new CorruptError(`${name}: streamOptimized image has no footer marker (truncated or incomplete upload?)`, { location: `${name} footer` });
  }
  const footer = parseSparseHeader(tail.subarray(SECTOR_BYTES, 2 * SECTOR_BYTES), `${name} footer`);
  if (footer.gdOffsetSectors === 'at-end') throw new CorruptError(`${name}: footer does not locate the grain directory`, { location: `${name} footer` });
  if (footer.grainSectors !== header.grainSectors || footer.gtesPerGt !== header.gtesPerGt || footer.capacitySectors !== header.capacitySectors) {
    throw new CorruptError(`${name}: footer disagrees with the header on geometry`, { location: `${name} footer` });
  }
  return footer.gdOffsetSectors;
}

/** Reads the grain directory and checks that every grain table lies inside the file. */
async function readGrainDirectory(source: BlockSource, h: SparseHeader, gdSectors: number, where: string): Promise<Float64Array> {
  const count = gdEntryCount(h);
  if (count === 0) return new Float64Array(0);
  const start = gdSectors * SECTOR_BYTES;
  if (gdSectors === 0 || start + count * 4 > source.size) {
    throw new CorruptError(`${where} (${count} entries at sector ${gdSectors}) is past the end of the file`, { location: where });
  }
  const gd = new Float64Array(count);
  const dv = view(await source.read(start, count * 4));
  const gtBytes = h.gtesPerGt * 4;
  for (let i = 0; i < count; i++) {
    const gt = dv.getUint32(i * 4, true) * SECTOR_BYTES;
    if (gt !== 0 && gt + gtBytes > source.size) {
      throw new CorruptError(`${where}[${i}] points to a grain table at ${gt}, past the end of the file (size ${source.size})`, {
        location: `${where}[${i}]`,
      });
    }
    gd[i] = gt;
  }
  return gd;
}
