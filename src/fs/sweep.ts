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
import { BudgetError, HullscanError } from '../util/errors.ts';
import type { PathFileSystem } from './path-fs.ts';
import { asError, planFollowing, planWindow, routeFiles, segmentsOf, type Item, type Segment, type SweepFile } from './sweep-plan.ts';
import { copies, SweepBuffers, zeroChunks, type SmallRead } from './sweep-reads.ts';

export { checkLayout, MAX_LAYOUT_PIECES_PER_FILE, type SweepFile } from './sweep-plan.ts';

const MiB = 1024 * 1024;
/** Default size of one sequential read of the volume. */
export const DEFAULT_WINDOW_BYTES = 8 * MiB;
/** Files up to this size are delivered as one Uint8Array; larger ones as ordered chunks. */
export const DEFAULT_MAX_FILE_BUFFER_BYTES = 1 * MiB;
/** Bytes of partially assembled files held at once; beyond it the largest falls back. */
export const DEFAULT_MAX_PENDING_BYTES = 64 * MiB;
/** Small files read ahead on the normal path (hides the per-read round trip on 2 cores). */
const READ_AHEAD_FILES = 8;
/** Files one sweep accepts (a node disk has about a million). */
export const MAX_SWEEP_FILES = 20_000_000;

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

/**
 * Whether `fs` can be swept (its driver maps files). Without it sweepFiles still delivers every
 * file, by normal reads after the caller's walk, which on btrfs costs more than reading each
 * file during the walk (docs/fs-sweep.md): callers may keep their interleaved walk then.
 */
export function canSweep(fs: PathFileSystem): boolean {
  return fs.reader.mapFile !== undefined && fs.reader.dataSource !== undefined;
}

/**
 * Reads every file of `files` once, in physical order, delivering each through onFile (or
 * onError). Errors of one file never stop the sweep; errors thrown by the callbacks do.
 */
export async function sweepFiles<F extends SweepFile>(fs: PathFileSystem, files: readonly F[], options: SweepOptions<F>): Promise<SweepResult<F>> {
  if (files.length > MAX_SWEEP_FILES) throw new BudgetError(`sweep of ${files.length} files exceeds ${MAX_SWEEP_FILES}`);
  const sweep = new Sweep(fs, options);
  // 1. Map and route every file.
  const items = await routeFiles(fs.reader, files, { sourceSize: sweep.source?.size, maxFileBuffer: sweep.maxFileBuffer, windowBytes: sweep.windowBytes });
  await sweep.deliverUnread(items);
  // 2. The swept files from the volume's windows, the streamed and fragmented ones in their place.
  await sweep.sweepWindows(items);
  // 3. Files without a plain layout, the normal way.
  await sweep.readUnmapped(items);
  return sweep.result;
}

/** A volume read under way: [start, end) into `bytes`. */
interface Window {
  start: number;
  end: number;
  bytes: Uint8Array;
  /** Settles with the read's error, or undefined. */
  done: Promise<unknown>;
}

/** One sweepFiles call: its options, counts, buffers and the swept files being assembled. */
class Sweep<F extends SweepFile> {
  readonly windowBytes: number;
  readonly maxFileBuffer: number;
  readonly source: BlockSource | undefined;
  readonly result: SweepResult<F> = {
    delivered: 0,
    swept: 0,
    streamed: 0,
    normal: { fragmented: 0, unmapped: 0, pendingBudget: 0, windowFailed: 0, empty: 0 },
    errors: [],
    windows: 0,
    windowBytesRead: 0,
  };
  readonly #options: SweepOptions<F>;
  readonly #maxPending: number;
  readonly #chunkBytes: number;
  readonly #own: boolean;
  readonly #buffers: SweepBuffers;
  /** Swept files being assembled, and their bytes (bounded by maxPendingBytes). */
  readonly #pending = new Set<Item<F>>();
  #pendingBytes = 0;

  constructor(fs: PathFileSystem, options: SweepOptions<F>) {
    this.windowBytes = Math.min(options.windowBytes ?? DEFAULT_WINDOW_BYTES, MAX_READ_BYTES);
    this.maxFileBuffer = options.maxFileBufferBytes ?? DEFAULT_MAX_FILE_BUFFER_BYTES;
    this.#maxPending = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    this.#chunkBytes = Math.min(options.chunkBytes ?? this.windowBytes, MAX_READ_BYTES);
    this.#own = options.ownBuffers === true;
    if (!(this.windowBytes > 0) || !(this.#chunkBytes > 0) || !(this.maxFileBuffer >= 0) || !(this.#maxPending >= 0)) throw new RangeError('sweepFiles: window, buffer and pending sizes must be positive');
    this.#options = options;
    const reader = fs.reader;
    this.source = reader.mapFile ? reader.dataSource : undefined;
    this.#buffers = new SweepBuffers(reader, this.#own, this.maxFileBuffer, this.#chunkBytes);
  }

  /** Files with nothing to read on the volume (zeros or empty, without any I/O) and mapping errors. */
  async deliverUnread(items: readonly Item<F>[]): Promise<void> {
    for (const item of items) {
      if (item.route === 'error') await this.#fail(item, item.error);
      else if (item.route === 'empty') {
        this.result.normal.empty++;
        if (item.file.size <= this.maxFileBuffer) await this.#deliver(item, new Uint8Array(item.file.size));
        else await this.#deliver(item, zeroChunks(item.file.size, this.#chunkBytes));
      }
    }
  }

  /**
   * The sweep: swept files' data pieces and the other mapped files' positions, in physical
   * order. Two window buffers: the next window is read while the current one is cut into files.
   * A buffer is refilled only after every onFile call that borrowed a view of it has settled.
   */
  async sweepWindows(items: readonly Item<F>[]): Promise<void> {
    const segments = segmentsOf(items);
    const positional = items.filter((i) => i.route === 'large' || i.route === 'fragmented').sort((a, b) => a.key - b.key);
    const buffers = segments.length > 0 ? [unfilledBytes(this.windowBytes), unfilledBytes(this.windowBytes)] : [];
    let turn = 0;
    const source = this.source!;
    const startRead = (start: number, end: number): Window => {
      const bytes = buffers[turn]!.subarray(0, end - start);
      turn ^= 1;
      const done = readInto(source, start, bytes).then(
        () => undefined,
        (err: unknown) => err,
      );
      return { start, end, bytes, done };
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
        if (item.route === 'large') await this.#streamMapped(item);
        else await this.#readNormally(item, 'fragmented');
        continue;
      }
      const cur = planWindow(segments, s, this.windowBytes, source.size)!;
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
      if (readError === undefined) {
        this.result.windows++;
        this.result.windowBytesRead += win.bytes.length;
        const following = planFollowing(segments, s, win.end, this.windowBytes, source.size);
        if (following) prefetched = startRead(following.start, following.end);
        await this.#cutWindow(segments, s, cur.next, win);
      } else {
        for (let i = s; i < cur.next; i++) {
          const item = segments[i]!.item;
          if (item.done || segments[i]!.len === 0) continue;
          this.#release(item);
          await this.#readNormally(item, 'windowFailed');
        }
      }
    }
    if (prefetched) await prefetched.done;
    // Swept files still pending here lost a piece to a bug: never drop a file silently.
    for (const item of this.#pending) await this.#readNormally(item, 'windowFailed');
  }

  /** Segments [from, to) out of a window read: whole files lent as views, others assembled. */
  async #cutWindow(segments: Segment<F>[], from: number, to: number, win: Window): Promise<void> {
    const { start: wStart, end: wEnd, bytes: window } = win;
    for (let i = from; i < to; i++) {
      const g = segments[i]!;
      const item = g.item;
      if (item.done || g.len === 0) continue;
      const n = Math.min(g.len, wEnd - g.src);
      const slice = window.subarray(g.src - wStart, g.src - wStart + n);
      if (!item.buf && n === item.file.size) {
        // The whole file is one run inside this window: lend the consumer a view, no copy.
        g.len = 0;
        item.missing = 0;
        this.result.swept++;
        await this.#deliver(item, this.#own ? slice.slice() : slice);
        continue;
      }
      if (!item.buf && !(await this.#admit(item))) continue;
      item.buf!.set(slice, g.fileOffset);
      item.missing -= n;
      if (n < g.len) {
        // The piece runs past this window (wEnd is the window's limit then): the rest starts the
        // next window. Every piece left in [from, to) now starts at wEnd and every later one at
        // or after the limit, so the array stays sorted.
        g.src += n;
        g.len -= n;
        g.fileOffset += n;
        continue;
      }
      g.len = 0;
      if (item.missing === 0) {
        const bytes = item.buf!;
        this.#release(item);
        item.buf = undefined;
        this.result.swept++;
        await this.#deliver(item, bytes);
      }
    }
  }

  /**
   * Files without a plain layout (inline, compressed, encrypted, btrfs), the normal way, with
   * the next small files' reads already in flight (at most READ_AHEAD_FILES and maxPendingBytes)
   * while the consumer takes one.
   */
  async readUnmapped(items: readonly Item<F>[]): Promise<void> {
    const rest = items.filter((i) => i.route === 'unmapped');
    const early = new Map<Item<F>, Promise<SmallRead>>();
    let earlyBytes = 0;
    let next = 0;
    for (const item of rest) {
      for (; next < rest.length && early.size < READ_AHEAD_FILES; next++) {
        const ahead = rest[next]!;
        if (ahead.file.size > this.maxFileBuffer) continue;
        if (early.size > 0 && earlyBytes + ahead.file.size > this.#maxPending) break;
        const p = this.#buffers.readSmall(ahead.file);
        p.catch(() => undefined); // awaited (and reported) in its turn
        early.set(ahead, p);
        earlyBytes += ahead.file.size;
      }
      const p = early.get(item);
      if (p) {
        early.delete(item);
        earlyBytes -= item.file.size;
      }
      await this.#readNormally(item, 'unmapped', p);
    }
  }

  /** Starts assembling `item`; false when it went the normal way (the pending budget). */
  async #admit(item: Item<F>): Promise<boolean> {
    while (this.#pendingBytes + item.file.size > this.#maxPending) {
      let largest = item;
      for (const p of this.#pending) if (p.file.size > largest.file.size) largest = p;
      this.#release(largest);
      await this.#readNormally(largest, 'pendingBudget');
      if (largest === item) return false;
    }
    // Every data byte is copied in from the windows; only the holes are zeroed here.
    const buf = unfilledBytes(item.file.size);
    for (const p of item.layout!) if (p.kind === 'zero') buf.fill(0, p.fileOffset, p.fileOffset + p.length);
    item.buf = buf;
    this.#pending.add(item);
    this.#pendingBytes += item.file.size;
    return true;
  }

  #release(item: Item<F>): void {
    if (this.#pending.delete(item)) this.#pendingBytes -= item.file.size;
  }

  async #fail(item: Item<F>, err: unknown): Promise<void> {
    if (item.done) return;
    item.done = true;
    item.buf = undefined;
    const error = asError(err);
    this.result.errors.push({ file: item.file, error });
    await this.#options.onError?.(item.file, error);
  }

  async #deliver(item: Item<F>, contents: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    item.done = true;
    this.result.delivered++;
    await this.#options.onFile(item.file, contents);
  }

  /**
   * The normal read path (the driver's read): one read for a small file, a stream of chunks
   * otherwise. `early` is a read of the small file already started (read-ahead).
   */
  async #readNormally(item: Item<F>, reason: keyof SweepResult<F>['normal'], early?: Promise<SmallRead>): Promise<void> {
    if (item.done) return;
    this.result.normal[reason]++;
    item.buf = undefined;
    const { file } = item;
    if (file.size > this.maxFileBuffer) return this.#deliverStream(item, this.#buffers.driverChunks(file));
    let small: SmallRead;
    try {
      small = await (early ?? this.#buffers.readSmall(file));
    } catch (err) {
      if (!(err instanceof HullscanError) && !(err instanceof RangeError)) throw err;
      await this.#fail(item, err);
      return;
    }
    try {
      await this.#deliver(item, small.bytes);
    } finally {
      this.#buffers.giveBack(small);
    }
  }

  /** Large mapped files are read straight from the volume, the next piece while the consumer takes this one. */
  async #streamMapped(item: Item<F>): Promise<void> {
    if (item.done) return;
    this.result.streamed++;
    const chunks = this.#buffers.mappedChunks(item.layout!, this.source!);
    await this.#deliverStream(item, this.#own ? copies(chunks) : chunks);
  }

  /**
   * Delivers a stream; a failure mid-file reaches the consumer's iteration, so it is caught
   * around the whole delivery and reported as the file's error.
   */
  async #deliverStream(item: Item<F>, chunks: AsyncIterable<Uint8Array>): Promise<void> {
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
      await this.#deliver(item, guarded);
    } catch (err) {
      if (err !== streamError) throw err;
    }
    // Also when the consumer swallowed it: the file was not read whole, so it is an error.
    if (streamError !== undefined) {
      this.result.delivered--;
      item.done = false;
      await this.#fail(item, streamError);
    }
  }
}
