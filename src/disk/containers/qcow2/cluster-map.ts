/**
 * Maps virtual byte ranges of a qcow2 image onto host bytes through the L1 and L2 tables.
 *
 * Spec: QEMU docs/interop/qcow2.txt, "Cluster mapping" and "Extended L2 Entries". With no
 * backing file (we refuse images that have one) unallocated clusters and subclusters read as
 * zeros.
 */
import { CorruptError } from '../../../util/errors.ts';
import { view } from '../../../util/bytes.ts';
import { MiB } from '../../../util/units.ts';
import type { BlockSource } from '../../index.ts';
import type { SegmentList } from '../mapped-source.ts';
import { TableCache } from '../table-cache.ts';
import { decompressCluster } from './compression.ts';
import type { Qcow2Header } from './header.ts';
import { compressedCluster, entryOffset, L2_COMPRESSED_HI, L2_ZERO_LO } from './l2-entry.ts';

/** Bytes of L2 tables kept in memory per image. */
export const L2_CACHE_BYTES = 32 * MiB;
const SUBCLUSTERS = 32;
const ALL_SUBCLUSTERS = 0xffffffff;

export class ClusterMap {
  readonly #source: BlockSource;
  readonly #header: Qcow2Header;
  /** Host offsets of the L2 tables (0 = not allocated), one per L1 entry that maps the disk. */
  readonly #l1: Float64Array;
  readonly #l2Entries: number;
  readonly #entryBytes: number;
  readonly #l2Cache: TableCache<DataView>;

  constructor(source: BlockSource, header: Qcow2Header, l1: Float64Array) {
    this.#source = source;
    this.#header = header;
    this.#l1 = l1;
    this.#entryBytes = header.extendedL2 ? 16 : 8;
    this.#l2Entries = header.clusterSize / this.#entryBytes;
    this.#l2Cache = new TableCache(Math.floor(L2_CACHE_BYTES / header.clusterSize), (offset) => this.#loadL2(offset));
  }

  async #loadL2(offset: number): Promise<DataView> {
    // The L1 walk at open checked that every table lies inside the image. Copy: the read may
    // be a view into a larger cache chunk that the LRU would otherwise keep alive.
    return view((await this.#source.read(offset, this.#header.clusterSize)).slice());
  }

  /** Appends the segments of [offset, offset + length) to `plan` (a ReadPlanner). */
  readonly plan = async (offset: number, length: number, plan: SegmentList): Promise<void> => {
    const cs = this.#header.clusterSize;
    const coverage = cs * this.#l2Entries;
    const firstL1 = Math.floor(offset / coverage);
    const lastL1 = Math.floor((offset + length - 1) / coverage);
    const tables: Array<DataView | undefined> = await Promise.all(
      Array.from({ length: lastL1 - firstL1 + 1 }, (_, i) => {
        const l2 = this.#l1[firstL1 + i]!;
        return l2 === 0 ? undefined : this.#l2Cache.get(l2);
      }),
    );
    const end = offset + length;
    let pos = offset;
    while (pos < end) {
      const l1Index = Math.floor(pos / coverage);
      const table = tables[l1Index - firstL1];
      const tableEnd = Math.min(end, (l1Index + 1) * coverage);
      if (table === undefined) {
        plan.zero(tableEnd - pos);
        pos = tableEnd;
        continue;
      }
      while (pos < tableEnd) {
        const cluster = Math.floor(pos / cs);
        const inCluster = pos - cluster * cs;
        const n = Math.min(cs - inCluster, tableEnd - pos);
        this.#mapCluster(table, (cluster % this.#l2Entries) * this.#entryBytes, pos, inCluster, n, plan);
        pos += n;
      }
    }
  };

  #mapCluster(table: DataView, at: number, pos: number, inCluster: number, n: number, plan: SegmentList): void {
    const h = this.#header;
    const hi = table.getUint32(at);
    const lo = table.getUint32(at + 4);
    if ((hi & L2_COMPRESSED_HI) !== 0) {
      const c = compressedCluster(hi, lo, h.clusterBits, `qcow2 L2 entry for virtual offset ${pos}`);
      const type = h.compressionType;
      const cs = h.clusterSize;
      plan.packed({
        length: n,
        source: this.#source,
        offset: c.offset,
        packedLength: c.packedLength,
        unitLength: cs,
        skip: inCluster,
        what: `qcow2 ${type} compressed cluster`,
        at: pos - inCluster,
        decode: (packed, inParallel) => decompressCluster(type, packed, cs, inParallel),
      });
      return;
    }
    if (!h.extendedL2 && h.version === 3 && (lo & L2_ZERO_LO) !== 0) {
      plan.zero(n);
      return;
    }
    let alloc = ALL_SUBCLUSTERS;
    if (h.extendedL2) {
      const zeros = table.getUint32(at + 8);
      alloc = table.getUint32(at + 12);
      if ((zeros & alloc) !== 0) {
        throw new CorruptError(`qcow2 extended L2 entry for virtual offset ${pos - inCluster}: subclusters both allocated and zero`, {
          location: `L2 entry for virtual offset ${pos - inCluster}`,
        });
      }
      if (alloc === 0) {
        plan.zero(n);
        return;
      }
    }
    const host = entryOffset(hi, lo);
    if (host < 0) {
      throw new CorruptError(`qcow2 L2 entry for virtual offset ${pos - inCluster}: host offset beyond 2^53`, {
        location: `L2 entry for virtual offset ${pos - inCluster}`,
      });
    }
    if (host === 0) {
      if (h.extendedL2) {
        throw new CorruptError(`qcow2 L2 entry for virtual offset ${pos - inCluster}: allocated subclusters without a host cluster`, {
          location: `L2 entry for virtual offset ${pos - inCluster}`,
        });
      }
      plan.zero(n);
      return;
    }
    if (host % h.clusterSize !== 0) {
      throw new CorruptError(`qcow2 L2 entry for virtual offset ${pos - inCluster}: host offset ${host} is not cluster-aligned`, {
        location: `L2 entry for virtual offset ${pos - inCluster}`,
      });
    }
    if (alloc === ALL_SUBCLUSTERS) {
      plan.host(this.#source, host + inCluster, n, 'qcow2 cluster', pos);
      return;
    }
    // Partly allocated cluster: runs of allocated subclusters read from the host, the rest is zero.
    const sub = h.clusterSize / SUBCLUSTERS;
    let p = inCluster;
    const stop = inCluster + n;
    while (p < stop) {
      const index = Math.floor(p / sub);
      const runEnd = Math.min(stop, (index + 1) * sub);
      if (((alloc >>> index) & 1) !== 0) plan.host(this.#source, host + p, runEnd - p, 'qcow2 subcluster', pos - inCluster + p);
      else plan.zero(runEnd - p);
      p = runEnd;
    }
  }
}
