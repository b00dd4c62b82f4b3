/**
 * Writes an ndb `Packages.db` byte by byte, following rpm lib/backend/ndb/rpmpkg.c (rpm-4.18.0:
 * `rpmpkgWriteHeader`, `rpmpkgWriteEmptySlotpage`, `rpmpkgWriteslot`, `rpmpkgWriteBlob`),
 * because Debian's rpm is built without the ndb backend and cannot write one. The header blobs
 * it stores are real ones, from the rpm-built SQLite fixture.
 */
import { adler32, NDB_BLOB_HEAD_BYTES, NDB_BLOB_HEAD_MAGIC, NDB_BLOB_TAIL_BYTES, NDB_BLOB_TAIL_MAGIC, NDB_BLOCK_BYTES, NDB_MAGIC, NDB_PAGE_BYTES, NDB_SLOT_BYTES, NDB_SLOT_MAGIC } from '../../../src/analyze/rpm/ndb.ts';

export interface NdbLayout {
  /** Slot pages (default 1). */
  slotPages?: number;
  /** Free blocks left before each blob (rpm leaves holes after erases). */
  gapBlocks?: number;
}

export function buildNdb(blobs: readonly { pkgidx: number; blob: Uint8Array }[], layout: NdbLayout = {}): Uint8Array {
  const slotPages = layout.slotPages ?? 1;
  const gap = layout.gapBlocks ?? 0;
  let blk = slotPages * (NDB_PAGE_BYTES / NDB_BLOCK_BYTES);
  const placed = blobs.map((b) => {
    blk += gap;
    const blkcnt = Math.ceil((NDB_BLOB_HEAD_BYTES + b.blob.length + NDB_BLOB_TAIL_BYTES) / NDB_BLOCK_BYTES);
    const p = { ...b, blkoff: blk, blkcnt };
    blk += blkcnt;
    return p;
  });
  const out = new Uint8Array(blk * NDB_BLOCK_BYTES);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, NDB_MAGIC, true);
  dv.setUint32(4, 0, true);
  dv.setUint32(8, 1 + placed.length, true);
  dv.setUint32(12, slotPages, true);
  dv.setUint32(16, Math.max(0, ...placed.map((p) => p.pkgidx)) + 1, true);
  // Every slot carries the magic, free ones with zeros (rpmpkgWriteEmptySlotpage); slots 0 and 1 are the header.
  for (let o = 32; o < slotPages * NDB_PAGE_BYTES; o += NDB_SLOT_BYTES) dv.setUint32(o, NDB_SLOT_MAGIC, true);
  // Slots are written in reverse so that slot order differs from block order, as after updates.
  placed.forEach((p, i) => {
    const o = 32 + (placed.length - 1 - i) * NDB_SLOT_BYTES;
    dv.setUint32(o + 4, p.pkgidx, true);
    dv.setUint32(o + 8, p.blkoff, true);
    dv.setUint32(o + 12, p.blkcnt, true);
    const at = p.blkoff * NDB_BLOCK_BYTES;
    dv.setUint32(at, NDB_BLOB_HEAD_MAGIC, true);
    dv.setUint32(at + 4, p.pkgidx, true);
    dv.setUint32(at + 8, 1_700_000_000, true);
    dv.setUint32(at + 12, p.blob.length, true);
    out.set(p.blob, at + NDB_BLOB_HEAD_BYTES);
    const tail = at + p.blkcnt * NDB_BLOCK_BYTES - NDB_BLOB_TAIL_BYTES;
    dv.setUint32(tail, adler32([out.subarray(at, tail)]), true);
    dv.setUint32(tail + 4, p.blob.length, true);
    dv.setUint32(tail + 8, NDB_BLOB_TAIL_MAGIC, true);
  });
  return out;
}
