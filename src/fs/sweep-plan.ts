/**
 * The sweep's plan (sweep.ts): each file mapped and routed (swept from windows, streamed, read
 * the normal way, or an error), the swept files' data pieces in physical order, and the volume
 * windows cut from them. No I/O besides the drivers' mapFile.
 */
import { BudgetError, CorruptError, HullscanError } from '../util/errors.ts';
import type { FileExtent, InodeId, InodeReader } from './index.ts';

/** A layout with more pieces than this is refused as hostile (XFS allows 2^21 extents per fork). */
export const MAX_LAYOUT_PIECES_PER_FILE = 1 << 22;
/** A small file with more data pieces than this is read the normal way (too fragmented to sweep). */
const MAX_SWEPT_PIECES_PER_FILE = 1024;
/** mapFile calls in flight (inode and extent-tree reads, mostly cached after a walk). */
const MAP_CONCURRENCY = 16;

export interface SweepFile {
  /** In-image path, for messages and the consumer. */
  path: string;
  ino: InodeId;
  /** Bytes (stat size): must match the inode's size. */
  size: number;
}

export type Route = 'swept' | 'large' | 'fragmented' | 'unmapped' | 'empty' | 'error';

export interface Item<F> {
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

/** One data piece of a swept file, still to be read (`len` 0 once used up). */
export interface Segment<F> {
  item: Item<F>;
  src: number;
  len: number;
  fileOffset: number;
}

/** A planned volume read: bytes [start, end), covering segments up to index `next`. */
export interface WindowPlan {
  start: number;
  end: number;
  next: number;
}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
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

export interface RouteLimits {
  /** Size of the volume the layouts point into (undefined: nothing is mapped). */
  sourceSize: number | undefined;
  maxFileBuffer: number;
  windowBytes: number;
}

/** Maps every file and chooses its route. Errors of the image are the file's; others are bugs and thrown. */
export function routeFiles<F extends SweepFile>(reader: InodeReader, files: readonly F[], limits: RouteLimits): Promise<Item<F>[]> {
  return pool(files, MAP_CONCURRENCY, (file) => routeFile(reader, file, limits));
}

async function routeFile<F extends SweepFile>(reader: InodeReader, file: F, limits: RouteLimits): Promise<Item<F>> {
  const item: Item<F> = { file, route: 'unmapped', key: Infinity, missing: 0, done: false };
  if (limits.sourceSize === undefined || !reader.mapFile) return item;
  let layout: FileExtent[] | undefined;
  try {
    layout = await reader.mapFile(file.ino);
    if (layout === undefined) return item;
    checkLayout(file, layout, limits.sourceSize);
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
  else if (file.size > limits.maxFileBuffer) item.route = 'large';
  else if (last - first > limits.windowBytes || dataPieces > MAX_SWEPT_PIECES_PER_FILE) item.route = 'fragmented';
  else item.route = 'swept';
  return item;
}

/** The swept files' data pieces, in physical order. */
export function segmentsOf<F>(items: readonly Item<F>[]): Segment<F>[] {
  const segments: Segment<F>[] = [];
  for (const item of items) {
    if (item.route !== 'swept') continue;
    for (const p of item.layout!) if (p.kind === 'data') segments.push({ item, src: p.sourceOffset!, len: p.length, fileOffset: p.fileOffset });
  }
  return segments.sort((a, b) => a.src - b.src);
}

function live<F>(g: Segment<F>): boolean {
  return !g.item.done && g.len > 0;
}

/** The window that begins at segment `from`: up to the end of the last piece starting in it. */
export function planWindow<F>(segments: readonly Segment<F>[], from: number, windowBytes: number, sourceSize: number): WindowPlan | undefined {
  let i = from;
  while (i < segments.length && !live(segments[i]!)) i++;
  if (i >= segments.length) return undefined;
  const start = segments[i]!.src;
  const limit = Math.min(start + windowBytes, sourceSize);
  let end = start;
  for (; i < segments.length && segments[i]!.src < limit; i++) {
    const g = segments[i]!;
    if (live(g)) end = Math.max(end, Math.min(g.src + g.len, limit));
  }
  return { start, end, next: i };
}

/**
 * The window after the one ending at `wEnd`, as planWindow will see it once that one is consumed:
 * split pieces continue at wEnd, every other piece of it is used up. For the prefetch.
 */
export function planFollowing<F>(segments: readonly Segment<F>[], from: number, wEnd: number, windowBytes: number, sourceSize: number): { start: number; end: number } | undefined {
  let start = -1;
  let end = -1;
  let limit = Infinity;
  for (let i = from; i < segments.length; i++) {
    const g = segments[i]!;
    if (!live(g) || g.src + g.len <= wEnd) continue;
    const gStart = Math.max(g.src, wEnd);
    if (start < 0) {
      start = gStart;
      end = gStart;
      limit = Math.min(gStart + windowBytes, sourceSize);
    }
    if (gStart >= limit) break;
    end = Math.max(end, Math.min(g.src + g.len, limit));
  }
  return start >= 0 ? { start, end } : undefined;
}
