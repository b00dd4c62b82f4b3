/**
 * An EBS snapshot read with the EBS direct APIs (@aws-sdk/client-ebs), as a disk/ BlockSource:
 * ListSnapshotBlocks gives the snapshot's size, its block size (512 KiB) and a token per
 * written block; GetSnapshotBlock returns one block with its SHA-256 checksum, which **we
 * verify** (the SDK does not). Blocks absent from the list were never written: they read as
 * zeros without a request. Blocks of one read are fetched in parallel under one limit per
 * source.
 *
 * Reference: the EBS direct Smithy model (test/data/cloud-api/aws/ebs.json): `GET
 * /snapshots/{SnapshotId}/blocks?maxResults&pageToken&startingBlockIndex`, `GET
 * /snapshots/{SnapshotId}/blocks/{BlockIndex}?blockToken` (body = block data; headers
 * x-amz-Data-Length, x-amz-Checksum base64 SHA-256, x-amz-Checksum-Algorithm SHA256).
 */
import { createHash } from 'node:crypto';
import { GetSnapshotBlockCommand, ListSnapshotBlocksCommand, type EBSClient } from '@aws-sdk/client-ebs';
import type { BlockSource, SourceStats } from '../../disk/index.ts';
import { checkRange } from '../../disk/range.ts';
import { CorruptError, SourceError } from '../../util/errors.ts';
import { GiB, KiB, TiB } from '../../util/units.ts';

/** The one block size EBS direct uses. */
export const EBS_BLOCK_BYTES = 512 * KiB;
/** EBS volumes are at most 64 TiB. */
const MAX_VOLUME_BYTES = 64 * TiB;
const LIST_PAGE_BLOCKS = 10_000;
const DEFAULT_CONCURRENCY = 16;

export interface EbsDirectOptions {
  /** GetSnapshotBlock requests in flight at once (default 16). */
  concurrency?: number;
  sectorSize?: number;
  signal?: AbortSignal;
}

class Limiter {
  #active = 0;
  readonly #max: number;
  readonly #waiters: Array<() => void> = [];
  constructor(max: number) {
    this.#max = max;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#max) await new Promise<void>((r) => this.#waiters.push(r));
    else this.#active++;
    try {
      return await fn();
    } finally {
      const next = this.#waiters.shift();
      if (next) next();
      else this.#active--;
    }
  }
}

export class EbsDirectSource implements BlockSource {
  readonly size: number;
  readonly sectorSize: number;
  readonly description: string;
  readonly #client: EBSClient;
  readonly #snapshot: string;
  readonly #tokens: Map<number, string>;
  readonly #limit: Limiter;
  #reads = 0;
  #bytes = 0;
  #closed = false;

  private constructor(client: EBSClient, snapshot: string, size: number, tokens: Map<number, string>, o: EbsDirectOptions) {
    this.#client = client;
    this.#snapshot = snapshot;
    this.size = size;
    this.#tokens = tokens;
    this.sectorSize = o.sectorSize ?? 512;
    this.#limit = new Limiter(o.concurrency ?? DEFAULT_CONCURRENCY);
    this.description = `ebs-direct ${snapshot}`;
  }

  /** Lists the snapshot's blocks (every page) and returns a source over them. */
  static async open(client: EBSClient, snapshotId: string, o: EbsDirectOptions = {}): Promise<EbsDirectSource> {
    const tokens = new Map<number, string>();
    let next: string | undefined;
    let volumeGiB: number | undefined;
    do {
      const page = await client.send(new ListSnapshotBlocksCommand({ SnapshotId: snapshotId, MaxResults: LIST_PAGE_BLOCKS, ...(next !== undefined && { NextToken: next }) }));
      if (page.BlockSize !== undefined && page.BlockSize !== EBS_BLOCK_BYTES) throw new CorruptError(`EBS snapshot ${snapshotId}: block size ${page.BlockSize}, expected ${EBS_BLOCK_BYTES}`);
      volumeGiB = page.VolumeSize ?? volumeGiB;
      for (const b of page.Blocks ?? []) if (b.BlockIndex !== undefined && b.BlockToken !== undefined) tokens.set(b.BlockIndex, b.BlockToken);
      next = page.NextToken || undefined;
    } while (next !== undefined);
    if (volumeGiB === undefined || !Number.isInteger(volumeGiB) || volumeGiB <= 0 || volumeGiB * GiB > MAX_VOLUME_BYTES) throw new CorruptError(`EBS snapshot ${snapshotId}: volume size ${String(volumeGiB)} GiB`);
    const size = volumeGiB * GiB;
    for (const i of tokens.keys()) if (i < 0 || i * EBS_BLOCK_BYTES >= size) throw new CorruptError(`EBS snapshot ${snapshotId}: block ${i} beyond the volume`);
    return new EbsDirectSource(client, snapshotId, size, tokens, o);
  }

  /** Blocks the snapshot holds (the rest read as zeros). */
  get writtenBlocks(): number {
    return this.#tokens.size;
  }

  async #block(index: number): Promise<Uint8Array> {
    const token = this.#tokens.get(index);
    if (token === undefined) return new Uint8Array(EBS_BLOCK_BYTES);
    return this.#limit.run(async () => {
      if (this.#closed) throw new SourceError(`${this.description}: closed`);
      let out;
      try {
        out = await this.#client.send(new GetSnapshotBlockCommand({ SnapshotId: this.#snapshot, BlockIndex: index, BlockToken: token }));
      } catch (err) {
        throw new SourceError(`${this.description}: block ${index}: ${(err as Error).name}: ${(err as Error).message}`, { cause: err });
      }
      const data = out.BlockData ? await out.BlockData.transformToByteArray() : new Uint8Array(0);
      this.#reads++;
      this.#bytes += data.length;
      if (data.length !== EBS_BLOCK_BYTES || (out.DataLength !== undefined && out.DataLength !== data.length)) throw new CorruptError(`${this.description}: block ${index} has ${data.length} bytes (header says ${String(out.DataLength)}), expected ${EBS_BLOCK_BYTES}`);
      if (out.ChecksumAlgorithm !== 'SHA256' || out.Checksum === undefined) throw new CorruptError(`${this.description}: block ${index} came without a SHA-256 checksum`);
      const sum = createHash('sha256').update(data).digest('base64');
      if (sum !== out.Checksum) throw new CorruptError(`${this.description}: block ${index} fails its SHA-256 checksum`);
      return data;
    });
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    await this.readInto(offset, out);
    return out;
  }

  async readInto(offset: number, target: Uint8Array): Promise<void> {
    checkRange(this.size, offset, target.length, this.description);
    if (target.length === 0) return;
    const first = Math.floor(offset / EBS_BLOCK_BYTES);
    const last = Math.floor((offset + target.length - 1) / EBS_BLOCK_BYTES);
    target.fill(0);
    const jobs: Array<Promise<void>> = [];
    for (let i = first; i <= last; i++) {
      if (!this.#tokens.has(i)) continue; // never written: the target's zeros stand
      jobs.push(
        this.#block(i).then((block) => {
          const start = Math.max(offset, i * EBS_BLOCK_BYTES);
          const end = Math.min(offset + target.length, (i + 1) * EBS_BLOCK_BYTES);
          target.set(block.subarray(start - i * EBS_BLOCK_BYTES, end - i * EBS_BLOCK_BYTES), start - offset);
        }),
      );
    }
    const results = await Promise.allSettled(jobs);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  stats(): SourceStats {
    return { reads: this.#reads, bytesRead: this.#bytes };
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
