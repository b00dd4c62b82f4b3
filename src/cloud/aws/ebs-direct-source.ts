/**
 * An EBS snapshot read with the EBS direct APIs (@aws-sdk/client-ebs), as a disk/ BlockSource:
 * ListSnapshotBlocks gives the snapshot's size, its block size (512 KiB) and a token per
 * written block; GetSnapshotBlock returns one block with its SHA-256 checksum, which **we
 * verify** (the SDK does not). Blocks absent from the list were never written: they read as
 * zeros without a request. Blocks of one read are fetched in parallel under one limit per
 * source. Block tokens expire (ListSnapshotBlocks says when): a fetch refused with
 * `ValidationException` / `INVALID_BLOCK_TOKEN`, or one due after the expiry, lists the blocks
 * again (once for every fetch waiting) and retries with the new token.
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

interface BlockList {
  volumeGiB: number;
  tokens: Map<number, string>;
  expiresAt: number | undefined;
}

async function listBlocks(client: EBSClient, snapshotId: string): Promise<BlockList> {
  const tokens = new Map<number, string>();
  let next: string | undefined;
  let volumeGiB: number | undefined;
  let expiresAt: number | undefined;
  do {
    const page = await client.send(new ListSnapshotBlocksCommand({ SnapshotId: snapshotId, MaxResults: LIST_PAGE_BLOCKS, ...(next !== undefined && { NextToken: next }) }));
    if (page.BlockSize !== undefined && page.BlockSize !== EBS_BLOCK_BYTES) throw new CorruptError(`EBS snapshot ${snapshotId}: block size ${page.BlockSize}, expected ${EBS_BLOCK_BYTES}`);
    volumeGiB = page.VolumeSize ?? volumeGiB;
    // The earliest expiry of any page holds for them all.
    if (page.ExpiryTime !== undefined) expiresAt = Math.min(expiresAt ?? Infinity, page.ExpiryTime.getTime());
    for (const b of page.Blocks ?? []) if (b.BlockIndex !== undefined && b.BlockToken !== undefined) tokens.set(b.BlockIndex, b.BlockToken);
    next = page.NextToken || undefined;
  } while (next !== undefined);
  if (volumeGiB === undefined || !Number.isInteger(volumeGiB) || volumeGiB <= 0 || volumeGiB * GiB > MAX_VOLUME_BYTES) throw new CorruptError(`EBS snapshot ${snapshotId}: volume size ${String(volumeGiB)} GiB`);
  for (const i of tokens.keys()) if (i < 0 || i * EBS_BLOCK_BYTES >= volumeGiB * GiB) throw new CorruptError(`EBS snapshot ${snapshotId}: block ${i} beyond the volume`);
  return { volumeGiB, tokens, expiresAt };
}

export class EbsDirectSource implements BlockSource {
  readonly size: number;
  readonly sectorSize: number;
  readonly description: string;
  readonly #client: EBSClient;
  readonly #snapshot: string;
  #tokens: Map<number, string>;
  /** When the current tokens expire (ms since the epoch), when ListSnapshotBlocks said. */
  #expiresAt: number | undefined;
  #relisting: Promise<void> | undefined;
  #relists = 0;
  readonly #limit: Limiter;
  #failure: Error | undefined;
  #reads = 0;
  #bytes = 0;
  #closed = false;

  private constructor(client: EBSClient, snapshot: string, size: number, listed: BlockList, o: EbsDirectOptions) {
    this.#client = client;
    this.#snapshot = snapshot;
    this.size = size;
    this.#tokens = listed.tokens;
    this.#expiresAt = listed.expiresAt;
    this.sectorSize = o.sectorSize ?? 512;
    this.#limit = new Limiter(o.concurrency ?? DEFAULT_CONCURRENCY);
    this.description = `ebs-direct ${snapshot}`;
  }

  /** Lists the snapshot's blocks (every page) and returns a source over them. */
  static async open(client: EBSClient, snapshotId: string, o: EbsDirectOptions = {}): Promise<EbsDirectSource> {
    const listed = await listBlocks(client, snapshotId);
    return new EbsDirectSource(client, snapshotId, listed.volumeGiB * GiB, listed, o);
  }

  /** Blocks the snapshot holds (the rest read as zeros). */
  get writtenBlocks(): number {
    return this.#tokens.size;
  }

  /** The first block fetch that failed (kept: the engine may record it as a per-file issue and go on). */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** How many times the block list was fetched again because its tokens expired. */
  get relists(): number {
    return this.#relists;
  }

  /** New tokens for every block: one ListSnapshotBlocks pass, shared by every fetch that needs it. */
  #relist(): Promise<void> {
    this.#relisting ??= (async () => {
      try {
        const listed = await listBlocks(this.#client, this.#snapshot);
        if (listed.volumeGiB * GiB !== this.size) throw new CorruptError(`${this.description}: the volume size changed while it was read`);
        this.#tokens = listed.tokens;
        this.#expiresAt = listed.expiresAt;
        this.#relists++;
      } finally {
        this.#relisting = undefined;
      }
    })();
    return this.#relisting;
  }

  async #block(index: number): Promise<Uint8Array> {
    if (!this.#tokens.has(index)) return new Uint8Array(EBS_BLOCK_BYTES);
    try {
      return await this.#fetch(index);
    } catch (err) {
      if (!this.#closed) this.#failure ??= err as Error;
      throw err;
    }
  }

  #fetch(index: number): Promise<Uint8Array> {
    return this.#limit.run(async () => {
      if (this.#closed) throw new SourceError(`${this.description}: closed`);
      if (this.#expiresAt !== undefined && Date.now() >= this.#expiresAt) await this.#relist();
      let out;
      for (let attempt = 0; ; attempt++) {
        const token = this.#tokens.get(index);
        if (token === undefined) throw new CorruptError(`${this.description}: block ${index} vanished from the snapshot's block list`);
        try {
          out = await this.#client.send(new GetSnapshotBlockCommand({ SnapshotId: this.#snapshot, BlockIndex: index, BlockToken: token }));
          break;
        } catch (err) {
          if (attempt === 0 && (err as { Reason?: unknown }).Reason === 'INVALID_BLOCK_TOKEN') {
            // Another fetch may have listed the blocks again since this one took its token.
            if (this.#tokens.get(index) === token) await this.#relist();
            continue;
          }
          // The HTTP status in the message: a 404 (the snapshot was deleted under the reader) is a lost snapshot to the node scan.
          const status = (err as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode;
          throw new SourceError(`${this.description}: block ${index}: ${typeof status === 'number' ? `HTTP ${status} ` : ''}${(err as Error).name}: ${(err as Error).message}`, { cause: err });
        }
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
