/**
 * The sweep's reads besides its windows (sweep.ts): large mapped files streamed from the volume,
 * files read the normal way through the driver (fragmented, unmapped, fallbacks), and the
 * buffers lent for them, reused instead of a fresh array per file.
 */
import { readInto, type BlockSource } from '../disk/index.ts';
import { unfilledBytes } from '../disk/range.ts';
import { CorruptError } from '../util/errors.ts';
import type { FileExtent, InodeReader } from './index.ts';
import type { SweepFile } from './sweep-plan.ts';

/** A small file read the normal way; `pooled` is the sweep's buffer it is a view of, to give back. */
export interface SmallRead {
  bytes: Uint8Array;
  pooled?: Uint8Array;
}

/**
 * Buffers lent for files read the normal way (not with ownBuffers, and when the driver can read
 * into a caller's buffer): for small files one per read in flight (at most the read-ahead + 1),
 * reused, instead of a fresh array per file that the garbage collector must catch up with; for
 * large ones a single chunk buffer (driverChunks reads one chunk at a time); for large mapped
 * files two alternating chunk buffers and a run of zeros.
 */
export class SweepBuffers {
  readonly lend: boolean;
  readonly #reader: InodeReader;
  readonly #maxFileBuffer: number;
  readonly #chunkBytes: number;
  readonly #spare: Uint8Array[] = [];
  #driverChunk: Uint8Array | undefined;
  #mapped: { buffers: Uint8Array[]; zeros: Uint8Array } | undefined;

  constructor(reader: InodeReader, own: boolean, maxFileBuffer: number, chunkBytes: number) {
    this.#reader = reader;
    this.lend = !own && typeof reader.readInto === 'function';
    this.#maxFileBuffer = maxFileBuffer;
    this.#chunkBytes = chunkBytes;
  }

  /** A whole small file through the driver's read (which clamps to the inode's real size). */
  async readSmall(file: SweepFile): Promise<SmallRead> {
    const reader = this.#reader;
    const pooled = this.lend ? (this.#spare.pop() ?? unfilledBytes(this.#maxFileBuffer)) : undefined;
    try {
      const bytes = pooled ? pooled.subarray(0, await reader.readInto!(file.ino, 0, pooled.subarray(0, file.size))) : await reader.read(file.ino, 0, file.size);
      if (bytes.length !== file.size) throw new CorruptError(`${file.path}: read ${bytes.length} bytes of a file listed with ${file.size}`, { location: file.path });
      return pooled ? { bytes, pooled } : { bytes };
    } catch (err) {
      if (pooled) this.#spare.push(pooled);
      throw err;
    }
  }

  /** The view was lent for the callback only: its buffer serves the next file. */
  giveBack(small: SmallRead): void {
    if (small.pooled) this.#spare.push(small.pooled);
  }

  /** A large file's chunks through the driver. */
  driverChunks(file: SweepFile): AsyncGenerator<Uint8Array> {
    return driverChunks(this.#reader, file, this.#chunkBytes, this.lend ? (this.#driverChunk ??= unfilledBytes(this.#chunkBytes)) : undefined);
  }

  /** A large mapped file's chunks straight from the volume. */
  mappedChunks(layout: readonly FileExtent[], source: BlockSource): AsyncGenerator<Uint8Array> {
    const chunkBytes = this.#chunkBytes;
    this.#mapped ??= { buffers: [unfilledBytes(chunkBytes), unfilledBytes(chunkBytes)], zeros: new Uint8Array(chunkBytes) };
    return mappedChunks(layout, source, this.#mapped.buffers, this.#mapped.zeros, chunkBytes);
  }
}

/**
 * The chunks of a checked layout read from the volume: data in reads of at most `chunkBytes`
 * into `buffers[0]` and `buffers[1]` alternately, holes as views of `zeros`. A chunk is valid
 * until the next one is requested; an in-flight read is awaited before the buffers are released.
 */
async function* mappedChunks(layout: readonly FileExtent[], source: BlockSource, buffers: readonly Uint8Array[], zeros: Uint8Array, chunkBytes: number): AsyncGenerator<Uint8Array> {
  const plan: Array<{ len: number; src: number | undefined }> = [];
  for (const p of layout) {
    for (let off = 0; off < p.length; off += chunkBytes) {
      plan.push({ len: Math.min(chunkBytes, p.length - off), src: p.kind === 'data' ? p.sourceOffset! + off : undefined });
    }
  }
  let turn = 0;
  const issue = (from: number): { bytes: Uint8Array; done: Promise<unknown> } | undefined => {
    let j = from;
    while (j < plan.length && plan[j]!.src === undefined) j++;
    if (j >= plan.length) return undefined;
    const bytes = buffers[turn]!.subarray(0, plan[j]!.len);
    turn ^= 1;
    return { bytes, done: readInto(source, plan[j]!.src!, bytes).then(() => undefined, (err: unknown) => err) };
  };
  let inFlight = issue(0);
  try {
    for (let i = 0; i < plan.length; i++) {
      const step = plan[i]!;
      if (step.src === undefined) {
        yield zeros.subarray(0, step.len);
        continue;
      }
      const cur = inFlight!;
      const err = await cur.done;
      if (err !== undefined) throw err;
      // The other buffer held the previous data chunk, which the consumer has let go of.
      inFlight = issue(i + 1);
      yield cur.bytes;
    }
  } finally {
    if (inFlight) await inFlight.done;
  }
}

/**
 * A large file through the driver's read, chunk by chunk, each checked to be complete. With
 * `buffer` (chunkBytes long, the driver able to readInto) every chunk is a view into it, valid
 * until the next is requested.
 */
async function* driverChunks(reader: InodeReader, file: SweepFile, chunkBytes: number, buffer?: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < file.size; off += chunkBytes) {
    const want = Math.min(chunkBytes, file.size - off);
    let bytes: Uint8Array;
    if (buffer && reader.readInto) bytes = buffer.subarray(0, await reader.readInto(file.ino, off, buffer.subarray(0, want)));
    else bytes = await reader.read(file.ino, off, want);
    if (bytes.length !== want) throw new CorruptError(`${file.path}: read ${bytes.length} of ${want} bytes at ${off} (the file is shorter than listed)`, { location: file.path });
    yield bytes;
  }
}

export async function* copies(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const c of chunks) yield c.slice();
}

export async function* zeroChunks(size: number, chunkBytes: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < size; off += chunkBytes) yield new Uint8Array(Math.min(chunkBytes, size - off));
}
