/**
 * A disk-order sweep: reads many files at near-sequential speed by reading the volume in large
 * windows, in physical order, and cutting each window into the files whose blocks it holds —
 * instead of one small read (a thread-pool round trip, a buffer and a promise chain) per file.
 * For full-disk work (malware scan, benchmark (b) of issue #3). See docs/fs-sweep.md.
 *
 * Algorithm: every file is mapped (InodeReader.mapFile); files are sorted by their first data
 * byte on the volume. A small file (≤ maxFileBufferBytes) whose data lies within one window span
 * is assembled from the windows; a window starts at the lowest unread data piece and ends at the
 * last piece that begins inside it. A file is delivered as soon as its last byte arrives. Large
 * files are streamed straight from the volume, and fragmented small ones read the normal way
 * (InodeReader.read), when the sweep reaches their first data byte; files with no plain layout
 * (inline, compressed, encrypted, btrfs) after the sweep. Every file is delivered exactly once,
 * or reported once as an error.
 */
import { MAX_READ_BYTES, readInto, type BlockSource } from '../disk/index.ts';
import { unfilledBytes } from '../disk/range.ts';
import { BudgetError, CorruptError, HullscanError } from '../util/errors.ts';
import type { FileExtent, InodeId, InodeReader } from './index.ts';
import type { PathFileSystem } from './path-fs.ts';

const MiB = 1024 * 1024;
/** Default size of one sequential read of the volume. */
export const DEFAULT_WINDOW_BYTES = 8 * MiB;
/** Files up to this size are delivered as one Uint8Array; larger ones as ordered chunks. */
export const DEFAULT_MAX_FILE_BUFFER_BYTES = 1 * MiB;
/** Bytes of partially assembled files held at once; beyond it the largest falls back. */
export const DEFAULT_MAX_PENDING_BYTES = 64 * MiB;
/** Small files read ahead on the normal path (hides the per-read round trip on 2 cores). */
const READ_AHEAD_FILES = 8;
/** mapFile calls in flight (inode and extent-tree reads, mostly cached after a walk). */
const MAP_CONCURRENCY = 16;
/** A layout with more pieces than this is refused as hostile (XFS allows 2^21 extents per fork). */
export const MAX_LAYOUT_PIECES_PER_FILE = 1 << 22;
/** A small file with more data pieces than this is read the normal way (too fragmented to sweep). */
const MAX_SWEPT_PIECES_PER_FILE = 1024;
/** Files one sweep accepts (a node disk has about a million). */
export const MAX_SWEEP_FILES = 20_000_000;

export interface SweepFile {
  /** In-image path, for messages and the consumer. */
  path: string;
  ino: InodeId;
  /** Bytes (stat size): must match the inode's size. */
  size: number;
}

export interface SweepOptions<F extends SweepFile> {
  /** One volume read (default DEFAULT_WINDOW_BYTES; at most MAX_READ_BYTES). */
  windowBytes?: number;
  /** Files up to this size arrive as one Uint8Array (default DEFAULT_MAX_FILE_BUFFER_BYTES). */
  maxFileBufferBytes?: number;
  /** Bound on partially assembled files (default DEFAULT_MAX_PENDING_BYTES). */
  maxPendingBytes?: number;
  /** Largest chunk of a large file's iterable (default: windowBytes). */
  chunkBytes?: number;
  /**
   * Deliver bytes the consumer owns (fresh arrays it may keep or transfer to a worker) instead
   * of views lent for the duration of the callback; costs one copy of most files.
   */
  ownBuffers?: boolean;
  /**
   * Receives each file's bytes exactly once: one Uint8Array for files up to maxFileBufferBytes,
   * otherwise an iterable of chunks in file order, which is consumed (or abandoned) before the
   * returned promise settles. Unless ownBuffers is set the bytes are lent and read-only: often a
   * view into the sweep's window buffer, valid until the promise settles (a chunk: until the
   * next one is requested). Calls never overlap.
   */
  onFile(file: F, contents: Uint8Array | AsyncIterable<Uint8Array>): void | Promise<void>;
  /** A file that could not be read (instead of onFile for it). Default: only counted in the result. */
  onError?(file: F, error: Error): void | Promise<void>;
}

export interface SweepResult<F extends SweepFile> {
  /** Files delivered through onFile. */
  delivered: number;
  /** ... of which assembled from the sweep's windows. */
  swept: number;
  /** ... of which larger than maxFileBufferBytes, streamed from the volume in their disk position. */
  streamed: number;
  /** ... of which read the normal way (the driver's read), by reason. */
  normal: { fragmented: number; unmapped: number; pendingBudget: number; windowFailed: number; empty: number };
  errors: Array<{ file: F; error: Error }>;
  /** Volume reads of the sweep itself and their bytes (normal reads are not counted). */
  windows: number;
  windowBytesRead: number;
}

type Route = 'swept' | 'large' | 'fragmented' | 'unmapped' | 'empty' | 'error';

interface Item<F> {
  file: F;
  route: Route;
  /** Physical byte of the first data piece (Infinity without one). */
  key: number;
  layout?: FileExtent[];
  error?: Error;
  /** Swept files: the buffer being assembled and the data bytes still missing. */
  buf?: Uint8Array;
  missing: number;
  done: boolean;
}

interface Segment<F> {
  item: Item<F>;
  src: number;
  len: number;
  fileOffset: number;
}

/**
 * Whether `fs` can be swept (its driver maps files). Without it sweepFiles still delivers every
 * file, by normal reads after the caller's walk, which on btrfs costs more than reading each
 * file during the walk (docs/fs-sweep.md): callers may keep their interleaved walk then.
 */
export function canSweep(fs: PathFileSystem): boolean {
  return fs.reader.mapFile !== undefined && fs.reader.dataSource !== undefined;
}

/**
 * Checks a layout against the file and the volume: pieces in file order, contiguous from 0 to
 * the size, positive lengths, data inside the source. A hostile mapping is a per-file CorruptError.
 */
export function checkLayout(file: SweepFile, layout: readonly FileExtent[], sourceSize: number): void {
  const bad = (why: string): never => {
    throw new CorruptError(`${file.path}: file layout ${why}`, { location: file.path });
  };
  if (layout.length > MAX_LAYOUT_PIECES_PER_FILE) throw new BudgetError(`${file.path}: ${layout.length} layout pieces exceed ${MAX_LAYOUT_PIECES_PER_FILE}`, { location: file.path });
  let pos = 0;
  for (const [i, p] of layout.entries()) {
    if (p.fileOffset !== pos) bad(`piece ${i} starts at ${p.fileOffset}, expected ${pos} (overlap or gap)`);
    if (!Number.isSafeInteger(p.length) || p.length <= 0) bad(`piece ${i} has length ${p.length}`);
    if (p.kind === 'data') {
      const s = p.sourceOffset;
      if (s === undefined || !Number.isSafeInteger(s) || s < 0 || s + p.length > sourceSize) bad(`piece ${i} at volume bytes ${s}+${p.length} is outside the ${sourceSize}-byte volume`);
    } else if (p.kind !== 'zero') bad(`piece ${i} has kind ${String(p.kind)}`);
    pos += p.length;
  }
  if (pos !== file.size) bad(`covers ${pos} bytes of a ${file.size}-byte file`);
}

/** A small file read the normal way; `pooled` is the sweep's buffer it is a view of, to give back. */
interface SmallRead {
  bytes: Uint8Array;
  pooled?: Uint8Array;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping order of results. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Reads every file of `files` once, in physical order, delivering each through onFile (or
 * onError). Errors of one file never stop the sweep; errors thrown by the callbacks do.
 */
export async function sweepFiles<F extends SweepFile>(fs: PathFileSystem, files: readonly F[], options: SweepOptions<F>): Promise<SweepResult<F>> {
  if (files.length > MAX_SWEEP_FILES) throw new BudgetError(`sweep of ${files.length} files exceeds ${MAX_SWEEP_FILES}`);
  const windowBytes = Math.min(options.windowBytes ?? DEFAULT_WINDOW_BYTES, MAX_READ_BYTES);
  const maxFileBuffer = options.maxFileBufferBytes ?? DEFAULT_MAX_FILE_BUFFER_BYTES;
  const maxPending = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
  const chunkBytes = Math.min(options.chunkBytes ?? windowBytes, MAX_READ_BYTES);
  const own = options.ownBuffers === true;
  if (!(windowBytes > 0) || !(chunkBytes > 0) || !(maxFileBuffer >= 0) || !(maxPending >= 0)) throw new RangeError('sweepFiles: window, buffer and pending sizes must be positive');
  const reader = fs.reader;
  const source: BlockSource | undefined = reader.mapFile ? reader.dataSource : undefined;
  const result: SweepResult<F> = {
    delivered: 0,
    swept: 0,
    streamed: 0,
    normal: { fragmented: 0, unmapped: 0, pendingBudget: 0, windowFailed: 0, empty: 0 },
    errors: [],
    windows: 0,
    windowBytesRead: 0,
  };

  // 1. Map and route every file.
  const items = await pool(files, MAP_CONCURRENCY, async (file): Promise<Item<F>> => {
    const item: Item<F> = { file, route: 'unmapped', key: Infinity, missing: 0, done: false };
    if (!source || !reader.mapFile) return item;
    let layout: FileExtent[] | undefined;
    try {
      layout = await reader.mapFile(file.ino);
      if (layout === undefined) return item;
      checkLayout(file, layout, source.size);
    } catch (err) {
      if (!(err instanceof HullscanError)) throw err; // a bug, not the image
      // A mapping too large to hold is still readable piecewise; a corrupt one is the file's error.
      if (err instanceof BudgetError && !(layout && layout.length > MAX_LAYOUT_PIECES_PER_FILE)) return item;
      item.route = 'error';
      item.error = asError(err);
      return item;
    }
    item.layout = layout;
    let first = Infinity;
    let last = -Infinity;
    let dataPieces = 0;
    for (const p of layout) {
      if (p.kind !== 'data') continue;
      dataPieces++;
      item.missing += p.length;
      first = Math.min(first, p.sourceOffset!);
      last = Math.max(last, p.sourceOffset! + p.length);
    }
    item.key = first;
    if (dataPieces === 0) item.route = 'empty';
    else if (file.size > maxFileBuffer) item.route = 'large';
    else if (last - first > windowBytes || dataPieces > MAX_SWEPT_PIECES_PER_FILE) item.route = 'fragmented';
    else item.route = 'swept';
    return item;
  });

  const fail = async (item: Item<F>, err: unknown) => {
    if (item.done) return;
    item.done = true;
    item.buf = undefined;
    const error = asError(err);
    result.errors.push({ file: item.file, error });
    await options.onError?.(item.file, error);
  };
  const deliver = async (item: Item<F>, contents: Uint8Array | AsyncIterable<Uint8Array>) => {
    item.done = true;
    result.delivered++;
    await options.onFile(item.file, contents);
  };
  /**
   * Buffers lent for small files read the normal way (not with ownBuffers, and when the driver
   * can read into a caller's buffer): one per read in flight (at most READ_AHEAD_FILES + 1),
   * reused, instead of a fresh array per file that the garbage collector must catch up with.
   */
  const spare: Uint8Array[] = [];
  const lend = !own && typeof reader.readInto === 'function';
  const giveBack = (small: SmallRead) => {
    if (small.pooled) spare.push(small.pooled);
  };
  /** The one buffer large files read the normal way are lent chunks of (driverChunks reads them one at a time). */
  let streamBuffer: Uint8Array | undefined;
  /** A whole small file through the driver's read (which clamps to the inode's real size). */
  const readSmall = async (file: F): Promise<SmallRead> => {
    const pooled = lend ? (spare.pop() ?? unfilledBytes(maxFileBuffer)) : undefined;
    try {
      const bytes = pooled ? pooled.subarray(0, await reader.readInto!(file.ino, 0, pooled.subarray(0, file.size))) : await reader.read(file.ino, 0, file.size);
      if (bytes.length !== file.size) throw new CorruptError(`${file.path}: read ${bytes.length} bytes of a file listed with ${file.size}`, { location: file.path });
      return pooled ? { bytes, pooled } : { bytes };
    } catch (err) {
      if (pooled) spare.push(pooled);
      throw err;
    }
  };
  /**
   * The normal read path (the driver's read): one read for a small file, a stream of chunks
   * otherwise. `early` is a read of the small file already started (read-ahead).
   */
  const readNormally = async (item: Item<F>, reason: keyof SweepResult<F>['normal'], early?: Promise<SmallRead>) => {
    if (item.done) return;
    result.normal[reason]++;
    item.buf = undefined;
    const { file } = item;
    if (file.size <= maxFileBuffer) {
      let small: SmallRead;
      try {
        small = await (early ?? readSmall(file));
      } catch (err) {
        if (!(err instanceof HullscanError) && !(err instanceof RangeError)) throw err;
        await fail(item, err);
        return;
      }
      try {
        await deliver(item, small.bytes);
      } finally {
        // The view was lent for the callback only: its buffer serves the next file.
        giveBack(small);
      }
      return;
    }
    await deliverStream(item, driverChunks(reader, file, chunkBytes, lend ? (streamBuffer ??= unfilledBytes(chunkBytes)) : undefined));
  };
  /**
   * Delivers a stream; a failure mid-file reaches the consumer's iteration, so it is caught
   * around the whole delivery and reported as the file's error.
   */
  const deliverStream = async (item: Item<F>, chunks: AsyncIterable<Uint8Array>) => {
    let streamError: unknown;
    const guarded = (async function* () {
      try {
        yield* chunks;
      } catch (err) {
        streamError = err;
        throw err;
      }
    })();
    try {
      await deliver(item, guarded);
    } catch (err) {
      if (err !== streamError) throw err;
    }
    // Also when the consumer swallowed it: the file was not read whole, so it is an error.
    if (streamError !== undefined) {
      result.delivered--;
      item.done = false;
      await fail(item, streamError);
    }
  };
  // Large mapped files are read straight from the volume in window-sized pieces into two
  // alternating buffers (the next piece is read while the consumer takes this one).
  const streamBuffers: Uint8Array[] = [];
  let zeros: Uint8Array | undefined;
  const streamMapped = async (item: Item<F>) => {
    if (item.done) return;
    if (streamBuffers.length === 0) streamBuffers.push(unfilledBytes(chunkBytes), unfilledBytes(chunkBytes));
    zeros ??= new Uint8Array(chunkBytes);
    result.streamed++;
    const chunks = mappedChunks(item.layout!, source!, streamBuffers, zeros, chunkBytes);
    await deliverStream(item, own ? copies(chunks) : chunks);
  };

  // Files with nothing to read on the volume: zeros (or empty) without any I/O.
  for (const item of items) {
    if (item.route === 'error') await fail(item, item.error);
    else if (item.route === 'empty') {
      result.normal.empty++;
      if (item.file.size <= maxFileBuffer) await deliver(item, new Uint8Array(item.file.size));
      else await deliver(item, zeroChunks(item.file.size, chunkBytes));
    }
  }

  // 2. The sweep: swept files' data pieces and the other files' positions, in physical order.
  const segments: Array<Segment<F>> = [];
  for (const item of items) {
    if (item.route !== 'swept') continue;
    for (const p of item.layout!) if (p.kind === 'data') segments.push({ item, src: p.sourceOffset!, len: p.length, fileOffset: p.fileOffset });
  }
  segments.sort((a, b) => a.src - b.src);
  const positional = items.filter((i) => i.route === 'large' || i.route === 'fragmented').sort((a, b) => a.key - b.key);
  const pending = new Set<Item<F>>();
  let pendingBytes = 0;
  const release = (item: Item<F>) => {
    if (pending.delete(item)) pendingBytes -= item.file.size;
  };
  /** Starts assembling `item`; false when it went the normal way (the pending budget). */
  const admit = async (item: Item<F>): Promise<boolean> => {
    while (pendingBytes + item.file.size > maxPending) {
      let largest = item;
      for (const p of pending) if (p.file.size > largest.file.size) largest = p;
      release(largest);
      await readNormally(largest, 'pendingBudget');
      if (largest === item) return false;
    }
    // Every data byte is copied in from the windows; only the holes are zeroed here.
    const buf = unfilledBytes(item.file.size);
    for (const p of item.layout!) if (p.kind === 'zero') buf.fill(0, p.fileOffset, p.fileOffset + p.length);
    item.buf = buf;
    pending.add(item);
    pendingBytes += item.file.size;
    return true;
  };

  // Two window buffers: the next window is read while the current one is cut into files. A
  // buffer is refilled only after every onFile call that borrowed a view of it has settled.
  const buffers = segments.length > 0 ? [unfilledBytes(windowBytes), unfilledBytes(windowBytes)] : [];
  let turn = 0;
  interface Window {
    start: number;
    end: number;
    bytes: Uint8Array;
    /** Settles with the read's error, or undefined. */
    done: Promise<unknown>;
  }
  const startRead = (start: number, end: number): Window => {
    const bytes = buffers[turn]!.subarray(0, end - start);
    turn ^= 1;
    const done = readInto(source!, start, bytes).then(
      () => undefined,
      (err: unknown) => err,
    );
    return { start, end, bytes, done };
  };
  /** The window that begins at segment `from`: up to the end of the last piece starting in it. */
  const plan = (from: number): { start: number; end: number; next: number } | undefined => {
    let i = from;
    while (i < segments.length && (segments[i]!.item.done || segments[i]!.len === 0)) i++;
    if (i >= segments.length) return undefined;
    const start = segments[i]!.src;
    const limit = Math.min(start + windowBytes, source!.size);
    let end = start;
    for (; i < segments.length && segments[i]!.src < limit; i++) {
      const g = segments[i]!;
      if (!g.item.done && g.len > 0) end = Math.max(end, Math.min(g.src + g.len, limit));
    }
    return { start, end, next: i };
  };
  let prefetched: Window | undefined;
  let s = 0;
  let q = 0;
  while (s < segments.length || q < positional.length) {
    const head = segments[s];
    if (head !== undefined && (head.item.done || head.len === 0)) {
      s++;
      continue;
    }
    if (q < positional.length && (head === undefined || positional[q]!.key <= head.src)) {
      const item = positional[q++]!;
      if (item.route === 'large') await streamMapped(item);
      else await readNormally(item, 'fragmented');
      continue;
    }
    const cur = plan(s)!;
    const k = cur.next;
    // A prefetch made before evictions or splits changed the plan is dropped (and waited for,
    // because its buffer is about to be reused).
    let win = prefetched;
    prefetched = undefined;
    if (win && (win.start !== cur.start || win.end !== cur.end)) {
      await win.done;
      win = undefined;
    }
    win ??= startRead(cur.start, cur.end);
    const readError = await win.done;
    if (readError !== undefined && !(readError instanceof HullscanError)) throw readError;
    const { start: wStart, end: wEnd, bytes: window } = win;
    if (readError === undefined) {
      result.windows++;
      result.windowBytesRead += window.length;
      // The next window as the plan will see it once this one is consumed: split pieces
      // continue at wEnd, every other piece of [s, k) is used up.
      let nextStart = -1;
      let nextEnd = -1;
      let limit = Infinity;
      for (let i = s; i < segments.length; i++) {
        const g = segments[i]!;
        if (g.item.done || g.len === 0 || g.src + g.len <= wEnd) continue;
        const gStart = Math.max(g.src, wEnd);
        if (nextStart < 0) {
          nextStart = gStart;
          nextEnd = gStart;
          limit = Math.min(gStart + windowBytes, source!.size);
        }
        if (gStart >= limit) break;
        nextEnd = Math.max(nextEnd, Math.min(g.src + g.len, limit));
      }
      if (nextStart >= 0) prefetched = startRead(nextStart, nextEnd);
    }
    for (let i = s; i < k; i++) {
      const g = segments[i]!;
      const item = g.item;
      if (item.done || g.len === 0) continue;
      if (readError !== undefined) {
        release(item);
        await readNormally(item, 'windowFailed');
        continue;
      }
      const n = Math.min(g.len, wEnd - g.src);
      const slice = window.subarray(g.src - wStart, g.src - wStart + n);
      if (!item.buf && n === item.file.size) {
        // The whole file is one run inside this window: lend the consumer a view, no copy.
        g.len = 0;
        item.missing = 0;
        result.swept++;
        await deliver(item, own ? slice.slice() : slice);
        continue;
      }
      if (!item.buf && !(await admit(item))) continue;
      item.buf!.set(slice, g.fileOffset);
      item.missing -= n;
      if (n < g.len) {
        // The piece runs past this window (wEnd is the window's limit then): the rest starts the
        // next window. Every piece left in [s, k) now starts at wEnd and every later one at or
        // after the limit, so the array stays sorted.
        g.src += n;
        g.len -= n;
        g.fileOffset += n;
        continue;
      }
      g.len = 0;
      if (item.missing === 0) {
        const bytes = item.buf!;
        release(item);
        item.buf = undefined;
        result.swept++;
        await deliver(item, bytes);
      }
    }
  }
  if (prefetched) await prefetched.done;
  // Swept files still pending here lost a piece to a bug: never drop a file silently.
  for (const item of pending) await readNormally(item, 'windowFailed');

  // 3. Files without a plain layout, the normal way, with the next small files' reads already
  //    in flight (at most READ_AHEAD_FILES and maxPendingBytes) while the consumer takes one.
  const rest = items.filter((i) => i.route === 'unmapped');
  const early = new Map<Item<F>, Promise<SmallRead>>();
  let earlyBytes = 0;
  let next = 0;
  for (const item of rest) {
    for (; next < rest.length && early.size < READ_AHEAD_FILES; next++) {
      const ahead = rest[next]!;
      if (ahead.file.size > maxFileBuffer) continue;
      if (early.size > 0 && earlyBytes + ahead.file.size > maxPending) break;
      const p = readSmall(ahead.file);
      p.catch(() => undefined); // awaited (and reported) in its turn
      early.set(ahead, p);
      earlyBytes += ahead.file.size;
    }
    const p = early.get(item);
    if (p) {
      early.delete(item);
      earlyBytes -= item.file.size;
    }
    await readNormally(item, 'unmapped', p);
  }
  return result;
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

async function* copies(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const c of chunks) yield c.slice();
}

async function* zeroChunks(size: number, chunkBytes: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < size; off += chunkBytes) yield new Uint8Array(Math.min(chunkBytes, size - off));
}
