/**
 * A virtual disk described by a mapping onto host bytes: the shared read path of the sparse
 * container decoders (qcow2, VMDK). A decoder only plans a read as a list of segments in
 * virtual order (zeros, plain host ranges, compressed units); this module coalesces the plan
 * into as few underlying reads as possible, decodes compressed units (with a small LRU so that
 * small sequential reads do not inflate one unit again and again) and assembles the result.
 */
import { CorruptError, HullscanError } from '../../util/errors.ts';
import { MiB, KiB } from '../../util/units.ts';
import type { BlockSource, SourceStats } from '../index.ts';
import { checkRange } from '../range.ts';

/** Bytes that read as zeros (holes, zero clusters, unallocated grains). */
export interface ZeroSegment {
  kind: 'zero';
  length: number;
}

/** Bytes stored as-is at `offset` of `source`. */
export interface HostSegment {
  kind: 'host';
  length: number;
  source: BlockSource;
  offset: number;
  /** What points here, for errors: "L2 entry of virtual offset 65536". */
  what: string;
}

/**
 * Bytes inside a compressed unit (a qcow2 compressed cluster, a VMDK compressed grain). The
 * unit is stored in [offset, offset + packedLength) of `source` (an upper bound when the real
 * length is only known after reading, as for VMDK grain markers); `decode` turns those bytes
 * into exactly `unitLength` bytes, of which `length` bytes from `skip` are wanted.
 */
export interface PackedSegment {
  kind: 'packed';
  length: number;
  source: BlockSource;
  offset: number;
  packedLength: number;
  unitLength: number;
  skip: number;
  what: string;
  decode: (packed: Uint8Array) => Uint8Array;
}

export type Segment = ZeroSegment | HostSegment | PackedSegment;

/** Gap between two compressed units still worth reading through rather than splitting. */
const MAX_COALESCE_GAP_BYTES = 64 * KiB;
/** Largest single read issued for a run of compressed units. */
const MAX_PACKED_SPAN_BYTES = 16 * MiB;
/** Decoded compressed units kept for small sequential reads. */
const DECODED_CACHE_BYTES = 8 * MiB;

/**
 * Builds a plan in virtual order, merging a segment into the previous one when they are
 * contiguous (zeros after zeros, host bytes directly after host bytes of the same source).
 */
export class SegmentList {
  readonly segments: Segment[] = [];
  #total = 0;

  get total(): number {
    return this.#total;
  }

  zero(length: number): void {
    if (length <= 0) return;
    this.#total += length;
    const last = this.segments.at(-1);
    if (last?.kind === 'zero') last.length += length;
    else this.segments.push({ kind: 'zero', length });
  }

  host(source: BlockSource, offset: number, length: number, what: string): void {
    if (length <= 0) return;
    this.#total += length;
    const last = this.segments.at(-1);
    if (last?.kind === 'host' && last.source === source && last.offset + last.length === offset) last.length += length;
    else this.segments.push({ kind: 'host', length, source, offset, what });
  }

  packed(segment: Omit<PackedSegment, 'kind'>): void {
    if (segment.length <= 0) return;
    this.#total += segment.length;
    this.segments.push({ kind: 'packed', ...segment });
  }
}

/** Plans a read of [offset, offset + length) of the virtual disk by appending to `plan`. */
export type ReadPlanner = (offset: number, length: number, plan: SegmentList) => Promise<void>;

export interface MappedSourceOptions {
  size: number;
  description: string;
  planner: ReadPlanner;
  /** Sources read by the plan (the container file, VMDK extent files): for stats and close. */
  sources: readonly BlockSource[];
  sectorSize?: number;
}

interface PackedSpan {
  source: BlockSource;
  start: number;
  end: number;
  members: PackedSegment[];
}

/** A BlockSource over a planner: see the module comment. */
export class MappedSource implements BlockSource {
  readonly size: number;
  readonly sectorSize: number;
  readonly description: string;
  readonly #planner: ReadPlanner;
  readonly #sources: readonly BlockSource[];
  /** Decoded units by source index and host offset, least recently used first. */
  readonly #decoded = new Map<string, Uint8Array>();
  #decodedBytes = 0;

  constructor(options: MappedSourceOptions) {
    this.size = options.size;
    this.sectorSize = options.sectorSize ?? 512;
    this.description = options.description;
    this.#planner = options.planner;
    this.#sources = options.sources;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, this.description);
    if (length === 0) return new Uint8Array(0);
    const plan = new SegmentList();
    await this.#planner(offset, length, plan);
    if (plan.total !== length) {
      // A planner bug, never input-dependent; fail loudly rather than return short data.
      throw new Error(`${this.description}: plan covers ${plan.total} of ${length} bytes`);
    }
    const segments = plan.segments;
    const only = segments.length === 1 ? segments[0]! : undefined;
    if (only?.kind === 'zero') return new Uint8Array(length);
    if (only?.kind === 'host') return this.#readHost(only);

    const out = new Uint8Array(length);
    const jobs: Promise<void>[] = [];
    let pos = 0;
    const packedAt = new Map<PackedSegment, number>();
    const packed: PackedSegment[] = [];
    for (const s of segments) {
      if (s.kind === 'host') {
        const at = pos;
        jobs.push(this.#readHost(s).then((b) => out.set(b, at)));
      } else if (s.kind === 'packed') {
        packedAt.set(s, pos);
        packed.push(s);
      }
      pos += s.length;
    }
    for (const span of this.#packedSpans(packed)) {
      jobs.push(
        this.#readSpan(span).then((units) => {
          span.members.forEach((m, i) => out.set(units[i]!.subarray(m.skip, m.skip + m.length), packedAt.get(m)!));
        }),
      );
    }
    await Promise.all(jobs);
    return out;
  }

  async #readHost(s: HostSegment): Promise<Uint8Array> {
    if (s.offset + s.length > s.source.size) {
      throw new CorruptError(
        `${this.description}: ${s.what} points to host bytes [${s.offset}, +${s.length}) past the end of ${s.source.description} (size ${s.source.size})`,
        { location: s.what },
      );
    }
    return s.source.read(s.offset, s.length);
  }

  /** Groups compressed units that lie close together in one source into one read each. */
  #packedSpans(packed: PackedSegment[]): PackedSpan[] {
    const spans: PackedSpan[] = [];
    let cur: PackedSpan | undefined;
    for (const p of packed) {
      if (p.offset >= p.source.size) {
        throw new CorruptError(
          `${this.description}: ${p.what} points to compressed data at ${p.offset}, past the end of ${p.source.description} (size ${p.source.size})`,
          { location: p.what },
        );
      }
      const end = Math.min(p.source.size, p.offset + p.packedLength);
      if (
        cur !== undefined && cur.source === p.source && p.offset >= cur.start && p.offset <= cur.end + MAX_COALESCE_GAP_BYTES &&
        Math.max(cur.end, end) - cur.start <= MAX_PACKED_SPAN_BYTES
      ) {
        cur.end = Math.max(cur.end, end);
        cur.members.push(p);
        continue;
      }
      cur = { source: p.source, start: p.offset, end, members: [p] };
      spans.push(cur);
    }
    return spans;
  }

  async #readSpan(span: PackedSpan): Promise<Uint8Array[]> {
    const sourceIndex = this.#sources.indexOf(span.source);
    const keys = span.members.map((m) => `${sourceIndex}:${m.offset}`);
    const cached = keys.map((k) => this.#cacheGet(k));
    let bytes: Uint8Array | undefined;
    if (cached.some((c) => c === undefined)) bytes = await span.source.read(span.start, span.end - span.start);
    return span.members.map((m, i) => {
      const hit = cached[i];
      if (hit) return hit;
      const packedBytes = bytes!.subarray(m.offset - span.start, Math.min(span.end, m.offset + m.packedLength) - span.start);
      let unit: Uint8Array;
      try {
        unit = m.decode(packedBytes);
      } catch (err) {
        if (err instanceof HullscanError) throw err;
        throw new CorruptError(`${this.description}: ${m.what} does not decompress: ${(err as Error).message}`, {
          location: m.what,
          cause: err,
        });
      }
      if (unit.length !== m.unitLength) {
        throw new CorruptError(`${this.description}: ${m.what} decodes to ${unit.length} bytes, expected ${m.unitLength}`, {
          location: m.what,
        });
      }
      this.#cachePut(keys[i]!, unit);
      return unit;
    });
  }

  #cacheGet(key: string): Uint8Array | undefined {
    const hit = this.#decoded.get(key);
    if (hit) {
      this.#decoded.delete(key);
      this.#decoded.set(key, hit);
    }
    return hit;
  }

  #cachePut(key: string, unit: Uint8Array): void {
    if (unit.length > DECODED_CACHE_BYTES) return;
    const old = this.#decoded.get(key);
    if (old) this.#decodedBytes -= old.length;
    this.#decoded.delete(key);
    this.#decoded.set(key, unit);
    this.#decodedBytes += unit.length;
    for (const [k, v] of this.#decoded) {
      if (this.#decodedBytes <= DECODED_CACHE_BYTES) break;
      this.#decoded.delete(k);
      this.#decodedBytes -= v.length;
    }
  }

  stats(): SourceStats {
    const total: SourceStats = { reads: 0, bytesRead: 0 };
    for (const s of this.#sources) {
      const st = s.stats();
      total.reads += st.reads;
      total.bytesRead += st.bytesRead;
    }
    return total;
  }

  async close(): Promise<void> {
    await closeAll(this.#sources);
  }
}

/** Closes every source, reporting the first failure after trying all of them. */
export async function closeAll(sources: readonly BlockSource[]): Promise<void> {
  const results = await Promise.allSettled(sources.map((s) => s.close()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
