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
import { checkRange, readInto, unfilledBytes } from '../range.ts';

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
  /** What points here, for errors ("qcow2 L2 entry"), and the virtual offset it maps. */
  what: string;
  at: number;
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
  at: number;
  /**
   * With `inParallel`, decodes off the main thread (async zlib on the libuv pool) so that the
   * many units of a large read decode in parallel; without it, synchronously, which is faster
   * for the one or two units of a small read.
   */
  decode: (packed: Uint8Array, inParallel: boolean) => Uint8Array | Promise<Uint8Array>;
}

export type Segment = ZeroSegment | HostSegment | PackedSegment;

/** Gap between two compressed units still worth reading through rather than splitting. */
const MAX_COALESCE_GAP_BYTES = 64 * KiB;
/** Largest single read issued for a run of compressed units. */
const MAX_PACKED_SPAN_BYTES = 16 * MiB;
/**
 * Decodes in flight at once: enough to keep the libuv pool busy, few enough that a read of
 * thousands of small compressed clusters does not hold thousands of zlib states at once.
 */
const MAX_PARALLEL_DECODES = 8;
/** Units to decode in one read from which decoding moves to the thread pool. */
const PARALLEL_DECODE_MIN_UNITS = 4;
/** Below this unit size a thread-pool round trip costs more than decoding on the spot. */
const PARALLEL_DECODE_MIN_UNIT_BYTES = 16 * KiB;
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

  host(source: BlockSource, offset: number, length: number, what: string, at: number): void {
    if (length <= 0) return;
    this.#total += length;
    const last = this.segments.at(-1);
    if (last?.kind === 'host' && last.source === source && last.offset + last.length === offset) last.length += length;
    else this.segments.push({ kind: 'host', length, source, offset, what, at });
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
  /** Decoded units by source index, host offset and virtual offset; least recently used first. */
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
    const segments = await this.#plan(offset, length);
    const only = segments.length === 1 ? segments[0]! : undefined;
    if (only?.kind === 'zero') return new Uint8Array(length);
    if (only?.kind === 'host') return this.#readHost(only);
    // #assemble writes every byte: host runs, decoded units and zeros.
    const out = unfilledBytes(length);
    await this.#assemble(segments, out, true);
    return out;
  }

  /** As read, into the caller's buffer: host runs are read straight into it, zeros filled. */
  async readInto(offset: number, target: Uint8Array): Promise<void> {
    const length = target.length;
    checkRange(this.size, offset, length, this.description);
    if (length === 0) return;
    await this.#assemble(await this.#plan(offset, length), target, true);
  }

  async #plan(offset: number, length: number): Promise<Segment[]> {
    const plan = new SegmentList();
    await this.#planner(offset, length, plan);
    if (plan.total !== length) {
      // A planner bug, never input-dependent; fail loudly rather than return short data.
      throw new Error(`${this.description}: plan covers ${plan.total} of ${length} bytes`);
    }
    return plan.segments;
  }

  /**
   * Fills `out` from the plan: every host run is read directly into its place in `out`, and
   * compressed units are decoded and copied in. `zeroFill` when `out` may hold old bytes.
   */
  async #assemble(segments: readonly Segment[], out: Uint8Array, zeroFill: boolean): Promise<void> {
    // Validate the whole plan before the first read starts, so that a corrupt segment never
    // leaves reads of other segments running unobserved.
    const hosts: Array<[HostSegment, number]> = [];
    const packedAt = new Map<PackedSegment, number>();
    const packed: PackedSegment[] = [];
    let pos = 0;
    for (const s of segments) {
      if (s.kind === 'host') {
        this.#checkHost(s);
        hosts.push([s, pos]);
      } else if (s.kind === 'packed') {
        packedAt.set(s, pos);
        packed.push(s);
      } else if (zeroFill) {
        out.fill(0, pos, pos + s.length);
      }
      pos += s.length;
    }
    const spans = this.#packedSpans(packed);

    const jobs: Promise<void>[] = [];
    for (const [s, at] of hosts) jobs.push(readInto(s.source, s.offset, out.subarray(at, at + s.length)));
    if (packed.length > 0) {
      jobs.push(
        this.#decodeSpans(spans, packed.length >= PARALLEL_DECODE_MIN_UNITS && packed[0]!.unitLength >= PARALLEL_DECODE_MIN_UNIT_BYTES).then((units) => {
          for (const [m, unit] of units) out.set(unit.subarray(m.skip, m.skip + m.length), packedAt.get(m)!);
        }),
      );
    }
    await Promise.all(jobs);
  }

  async #readHost(s: HostSegment): Promise<Uint8Array> {
    this.#checkHost(s);
    return s.source.read(s.offset, s.length);
  }

  #checkHost(s: HostSegment): void {
    if (s.offset + s.length > s.source.size) {
      throw new CorruptError(
        `${this.description}: ${where(s)} points to host bytes [${s.offset}, +${s.length}) past the end of ${s.source.description} (size ${s.source.size})`,
        { location: where(s) },
      );
    }
  }

  /** Groups compressed units that lie close together in one source into one read each. */
  #packedSpans(packed: PackedSegment[]): PackedSpan[] {
    const spans: PackedSpan[] = [];
    let cur: PackedSpan | undefined;
    for (const p of packed) {
      if (p.offset >= p.source.size) {
        throw new CorruptError(
          `${this.description}: ${where(p)} points to compressed data at ${p.offset}, past the end of ${p.source.description} (size ${p.source.size})`,
          { location: where(p) },
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

  /**
   * Reads every span (in parallel), then decodes their units with a bounded number in flight.
   * Returns the decoded unit of each member.
   */
  async #decodeSpans(spans: PackedSpan[], inParallel: boolean): Promise<Map<PackedSegment, Uint8Array>> {
    interface Unit {
      member: PackedSegment;
      key: string;
      hit: Uint8Array | undefined;
      span: number;
    }
    const units: Unit[] = [];
    spans.forEach((span, spanIndex) => {
      const sourceIndex = this.#sources.indexOf(span.source);
      for (const member of span.members) {
        // Keyed by host offset and virtual position: a unit aliased by two virtual places
        // (hostile, or qcow2 dedup) is decoded and checked for each, never served from the other's entry.
        const key = `${sourceIndex}:${member.offset}:${member.at}`;
        units.push({ member, key, hit: this.#cacheGet(key), span: spanIndex });
      }
    });
    const needed = new Array<boolean>(spans.length).fill(false);
    for (const u of units) if (u.hit === undefined) needed[u.span] = true;
    const bytes = await Promise.all(spans.map((span, i) => (needed[i] ? span.source.read(span.start, span.end - span.start) : undefined)));
    const decoded = await mapLimit(units, inParallel ? MAX_PARALLEL_DECODES : 1, async (u) => {
      if (u.hit) return u.hit;
      const m = u.member;
      const span = spans[u.span]!;
      const packedBytes = bytes[u.span]!.subarray(m.offset - span.start, Math.min(span.end, m.offset + m.packedLength) - span.start);
      let unit: Uint8Array;
      try {
        unit = await m.decode(packedBytes, inParallel);
      } catch (err) {
        if (err instanceof HullscanError) throw err;
        throw new CorruptError(`${this.description}: ${where(m)} does not decompress: ${(err as Error).message}`, {
          location: where(m),
          cause: err,
        });
      }
      if (unit.length !== m.unitLength) {
        throw new CorruptError(`${this.description}: ${where(m)} decodes to ${unit.length} bytes, expected ${m.unitLength}`, {
          location: where(m),
        });
      }
      // Only a unit this read uses in part can serve the next small sequential read; caching the
      // units a large read consumes whole would only churn the LRU.
      if (m.skip > 0 || m.skip + m.length < m.unitLength) this.#cachePut(u.key, unit);
      return unit;
    });
    return new Map(units.map((u, i) => [u.member, decoded[i]!]));
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

/** Maps `items` through `fn` with at most `limit` calls in flight, keeping the order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function where(s: HostSegment | PackedSegment): string {
  return `${s.what} for virtual offset ${s.at}`;
}

/** Closes every source, reporting the first failure after trying all of them. */
export async function closeAll(sources: readonly BlockSource[]): Promise<void> {
  const results = await Promise.allSettled(sources.map((s) => s.close()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
