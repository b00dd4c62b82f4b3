/**
 * VHDX log: finding the active sequence and replaying it into an in-memory overlay.
 *
 * Spec: [MS-VHDX] section 2.3 (Log): 2.3.1.1 Entry Header, 2.3.1.2 Zero Descriptor, 2.3.1.3
 * Data Descriptor, 2.3.1.4 Data Sector, 2.3.2 Log Sequence, 2.3.3 Log Replay (the search for
 * the active sequence follows the steps listed there). The log is a ring of 4 KiB sectors;
 * an entry may wrap from the end of the ring to its start.
 */
import type { BlockSource } from '../../index.ts';
import { ascii, equalBytes, u64le, view } from '../../../util/bytes.ts';
import { BudgetError, CorruptError, UnsupportedError } from '../../../util/errors.ts';
import { MiB } from '../../../util/units.ts';
import { crc32cWithHole, VHDX_ALIGNMENT_BYTES, VHDX_HEADER_SECTION_BYTES, type VhdxHeader } from './header.ts';
import { LOG_SECTOR_BYTES, ReplayOverlay } from './overlay-source.ts';

/** Largest log we read (Hyper-V and qemu write 1 MiB logs); it is read in one piece. */
export const MAX_LOG_BYTES = 32 * MiB;
/** CRC work allowed while scanning a hostile log whose every sector claims a long entry. */
export const MAX_LOG_SCAN_BYTES = 256 * MiB;
/**
 * Entries visited while searching for the active sequence. A hostile ring of one-sector
 * entries that never closes a sequence is re-walked from every sector (quadratic); a real
 * log (256 sectors per MiB) needs far fewer.
 */
export const MAX_LOG_SCAN_STEPS = 4_000_000;
const ENTRY_HEADER_BYTES = 64;
const DESCRIPTOR_BYTES = 32;
/** Payload bytes of a data sector: the rest of the 4 KiB travels in its descriptor. */
const DATA_SECTOR_PAYLOAD_BYTES = 4084;

type Op = { kind: 'data'; fileOffset: number; sector: Uint8Array } | { kind: 'zero'; fileOffset: number; length: number };

export interface LogEntry {
  /** Byte position of the entry in the log ring. */
  position: number;
  length: number;
  tail: number;
  sequence: bigint;
  flushedFileOffset: number;
  lastFileOffset: number;
  ops: Op[];
}

export interface ReplayResult {
  overlay: ReplayOverlay;
  /** File size after replay: at least the file, the replayed writes and LastFileOffset. */
  fileSize: number;
  entries: number;
  /** The first and last sequence numbers replayed. */
  sequences: [bigint, bigint] | undefined;
}

/**
 * Reads the log named by `header` and replays its active sequence. Returns an empty overlay
 * (entries 0) when the log holds no valid sequence.
 */
export async function replayLog(file: BlockSource, header: VhdxHeader): Promise<ReplayResult> {
  const location = `VHDX log at ${header.logOffset}`;
  const { logOffset, logLength } = header;
  if (logLength > MAX_LOG_BYTES) {
    throw new UnsupportedError(`VHDX log of ${logLength} bytes exceeds the ${MAX_LOG_BYTES}-byte replay limit`, { location });
  }
  if (
    logOffset < VHDX_HEADER_SECTION_BYTES ||
    logOffset % VHDX_ALIGNMENT_BYTES !== 0 ||
    logLength % VHDX_ALIGNMENT_BYTES !== 0 ||
    logOffset + logLength > file.size
  ) {
    throw new CorruptError(`VHDX log at ${logOffset} (+${logLength}) is misaligned or outside the ${file.size}-byte file`, { location });
  }
  const ring = await file.read(logOffset, logLength);
  const active = findActiveSequence(ring, header.logGuid);
  const overlay = new ReplayOverlay();
  if (active.length === 0) return { overlay, fileSize: file.size, entries: 0, sequences: undefined };

  const head = active[active.length - 1]!;
  if (head.flushedFileOffset > file.size) {
    throw new CorruptError(
      `VHDX log says the file was at least ${head.flushedFileOffset} bytes but it is ${file.size}: the file is truncated`,
      { location },
    );
  }
  for (const entry of active) {
    for (const op of entry.ops) {
      if (op.kind === 'data') overlay.writeSector(op.fileOffset, op.sector);
      else overlay.writeZeros(op.fileOffset, op.length);
    }
  }
  return {
    overlay,
    fileSize: Math.max(file.size, overlay.minFileSize, head.lastFileOffset),
    entries: active.length,
    sequences: [active[0]!.sequence, head.sequence],
  };
}

/**
 * The active sequence (2.3.3): the newest run of valid entries with consecutive sequence
 * numbers whose head entry's tail points inside the run; returned from that tail entry on.
 */
export function findActiveSequence(ring: Uint8Array, logGuid: Uint8Array): LogEntry[] {
  const length = ring.length;
  const sectors = length / LOG_SECTOR_BYTES;
  const cache = new Map<number, LogEntry | undefined>();
  const budget = { crcBytes: 0 };
  const entryAt = (pos: number): LogEntry | undefined => {
    if (!cache.has(pos)) cache.set(pos, parseEntry(ring, pos, logGuid, budget));
    return cache.get(pos);
  };

  let candidate: LogEntry[] = [];
  let tail = 0;
  let oldTail = 0;
  let steps = 0;
  // Each outer step advances the tail by at least one sector until it wraps: at most `sectors` steps.
  for (let step = 0; step <= sectors; step++) {
    const run: LogEntry[] = [];
    let head = tail;
    // A run cannot hold more entries than the ring has sectors.
    while (run.length < sectors) {
      if (++steps > MAX_LOG_SCAN_STEPS) {
        throw new BudgetError(`VHDX log search exceeded ${MAX_LOG_SCAN_STEPS} steps`, { location: `log offset ${head}` });
      }
      const e = entryAt(head);
      if (!e) break;
      const prev = run[run.length - 1];
      if (prev && e.sequence !== prev.sequence + 1n) break;
      run.push(e);
      head = (head + e.length) % length;
    }
    const last = run[run.length - 1];
    const tailIndex = last ? run.findIndex((e) => e.position === last.tail) : -1;
    if (last && tailIndex >= 0) {
      const best = candidate[candidate.length - 1];
      if (!best || last.sequence > best.sequence) candidate = run.slice(tailIndex);
    }
    tail = last && tailIndex >= 0 ? head : (tail + LOG_SECTOR_BYTES) % length;
    if (tail <= oldTail) break;
    oldTail = tail;
  }
  return candidate;
}

/** Copies `n` bytes of the ring starting at `pos`, wrapping at its end. */
function ringBytes(ring: Uint8Array, pos: number, n: number): Uint8Array {
  if (pos + n <= ring.length) return ring.subarray(pos, pos + n);
  const out = new Uint8Array(n);
  const first = ring.length - pos;
  out.set(ring.subarray(pos), 0);
  out.set(ring.subarray(0, n - first), first);
  return out;
}

/** Parses and fully validates (2.3.1) the entry at `pos`, or returns undefined. */
function parseEntry(ring: Uint8Array, pos: number, logGuid: Uint8Array, budget: { crcBytes: number }): LogEntry | undefined {
  const h = ringBytes(ring, pos, ENTRY_HEADER_BYTES);
  if (ascii(h, 0, 4) !== 'loge') return undefined;
  const dv = view(h);
  const entryLength = dv.getUint32(8, true);
  const tail = dv.getUint32(12, true);
  const sequence = dv.getBigUint64(16, true);
  const descriptorCount = dv.getUint32(24, true);
  if (entryLength === 0 || entryLength % LOG_SECTOR_BYTES !== 0 || entryLength > ring.length) return undefined;
  if (tail % LOG_SECTOR_BYTES !== 0 || tail >= ring.length || sequence === 0n) return undefined;
  if (!equalBytes(h.subarray(32, 48), logGuid)) return undefined;
  const descriptorSectors = Math.ceil((ENTRY_HEADER_BYTES + descriptorCount * DESCRIPTOR_BYTES) / LOG_SECTOR_BYTES);
  if (descriptorSectors * LOG_SECTOR_BYTES > entryLength) return undefined;

  budget.crcBytes += entryLength;
  if (budget.crcBytes > MAX_LOG_SCAN_BYTES) {
    throw new BudgetError(`VHDX log scan exceeded ${MAX_LOG_SCAN_BYTES} bytes of checksumming`, { location: `log offset ${pos}` });
  }
  const entry = ringBytes(ring, pos, entryLength);
  const ev = view(entry);
  if (ev.getUint32(4, true) !== crc32cWithHole(entry, 4)) return undefined;
  let flushedFileOffset: number;
  let lastFileOffset: number;
  try {
    flushedFileOffset = u64le(ev, 48, 'flushed file offset');
    lastFileOffset = u64le(ev, 56, 'last file offset');
  } catch {
    return undefined;
  }

  const ops: Op[] = [];
  let dataSector = descriptorSectors;
  for (let i = 0; i < descriptorCount; i++) {
    const at = ENTRY_HEADER_BYTES + i * DESCRIPTOR_BYTES;
    const sig = ascii(entry, at, at + 4);
    if (ev.getBigUint64(at + 24, true) !== sequence) return undefined;
    const fileOffsetRaw = ev.getBigUint64(at + 16, true);
    if (fileOffsetRaw > BigInt(Number.MAX_SAFE_INTEGER) || fileOffsetRaw % BigInt(LOG_SECTOR_BYTES) !== 0n) return undefined;
    const fileOffset = Number(fileOffsetRaw);
    if (sig === 'zero') {
      const lengthRaw = ev.getBigUint64(at + 8, true);
      if (lengthRaw % BigInt(LOG_SECTOR_BYTES) !== 0n || fileOffsetRaw + lengthRaw > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
      ops.push({ kind: 'zero', fileOffset, length: Number(lengthRaw) });
    } else if (sig === 'desc') {
      const s = dataSector * LOG_SECTOR_BYTES;
      if (s + LOG_SECTOR_BYTES > entryLength) return undefined;
      const sv = new DataView(entry.buffer, entry.byteOffset + s, LOG_SECTOR_BYTES);
      if (ascii(entry, s, s + 4) !== 'data') return undefined;
      const seq = (BigInt(sv.getUint32(4, true)) << 32n) | BigInt(sv.getUint32(LOG_SECTOR_BYTES - 4, true));
      if (seq !== sequence) return undefined;
      // The 4 KiB update: 8 leading bytes and 4 trailing bytes from the descriptor, the rest here.
      const sector = new Uint8Array(LOG_SECTOR_BYTES);
      sector.set(entry.subarray(at + 8, at + 16), 0);
      sector.set(entry.subarray(s + 8, s + 8 + DATA_SECTOR_PAYLOAD_BYTES), 8);
      sector.set(entry.subarray(at + 4, at + 8), 8 + DATA_SECTOR_PAYLOAD_BYTES);
      ops.push({ kind: 'data', fileOffset, sector });
      dataSector++;
    } else {
      return undefined;
    }
  }
  return { position: pos, length: entryLength, tail, sequence, flushedFileOffset, lastFileOffset, ops };
}
