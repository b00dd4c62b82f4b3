/**
 * A read-only reader of rpm's own "ndb" package store, `Packages.db` (SUSE / openSUSE since rpm
 * 4.15), after rpm lib/backend/ndb/rpmpkg.c (rpm-4.18.0: `rpmpkgReadHeader`, `rpmpkgReadSlots`,
 * `rpmpkgReadBlob`). All integers are little endian.
 *
 * - bytes 0..31: header — magic "RpmP" at 0, version 0 at 4, generation at 8, slot page count
 *   at 12, next package index at 16;
 * - `slotnpages` pages of 4096 bytes hold 16-byte slots (the first two are the header): magic
 *   "Slot", package index, block offset, block count; block offset 0 is a free slot;
 * - a blob starts at block offset × 16: head (magic "BlbS", package index, timestamp, blob
 *   length), the header blob, zero padding to a 16-byte block, and a tail (Adler-32 of head,
 *   blob and padding; blob length; magic "BlbE"); its block count is ⌈(16 + length + 12) / 16⌉.
 *
 * The checks are rpm's: a slot pointing into the slot pages or past the end of the file, a
 * block count that does not match the blob length, a wrong package index or magic reject that
 * blob; a checksum mismatch is reported as a warning and the blob still read, as `rpmpkgGet`
 * (which does not verify it) would. Blobs are read in block order, as `rpmpkgList` returns them.
 */
import type { FileSystem } from '../../fs/index.ts';
import { BudgetError, CorruptError, NotThisFormatError } from '../../util/errors.ts';
import { ChunkedFile, MAX_RPM_PACKAGES, MAX_RPMDB_BYTES, type BackendItem } from './backend.ts';
import { MAX_HEADER_BLOB_BYTES } from './header.ts';

const fourcc = (s: string): number => (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;
export const NDB_MAGIC = fourcc('RpmP');
export const NDB_SLOT_MAGIC = fourcc('Slot');
export const NDB_BLOB_HEAD_MAGIC = fourcc('BlbS');
export const NDB_BLOB_TAIL_MAGIC = fourcc('BlbE');
export const NDB_PAGE_BYTES = 4096;
export const NDB_SLOT_BYTES = 16;
export const NDB_BLOCK_BYTES = 16;
export const NDB_BLOB_HEAD_BYTES = 16;
export const NDB_BLOB_TAIL_BYTES = 12;
const NDB_HEADER_BYTES = 32;
/** Slot pages read (go-rpmdb's sanity limit: 2048 pages × 256 slots ≈ 524k packages). */
export const MAX_NDB_SLOT_PAGES = 2048;

/** Adler-32 (RFC 1950 §9), as rpmpkg.c's update_adler32. */
export function adler32(bufs: readonly Uint8Array[]): number {
  let a = 1;
  let b = 0;
  for (const buf of bufs) {
    for (let i = 0; i < buf.length; ) {
      // 5552 is the longest run before b can overflow 2^32 (zlib's NMAX).
      const end = Math.min(buf.length, i + 5552);
      for (; i < end; i++) {
        a += buf[i]!;
        b += a;
      }
      a %= 65521;
      b %= 65521;
    }
  }
  return ((b << 16) | a) >>> 0;
}

interface Slot {
  pkgidx: number;
  blkoff: number;
  blkcnt: number;
  slotno: number;
}

/** Yields every header blob of an ndb `Packages.db`. */
export async function* readNdbPackages(fs: FileSystem, path: string): AsyncGenerator<BackendItem> {
  const open = await fs.open(path);
  if (open.stat.size > MAX_RPMDB_BYTES) throw new BudgetError(`${path} is ${open.stat.size} bytes, more than MAX_RPMDB_BYTES (${MAX_RPMDB_BYTES})`, { location: path });
  const file = new ChunkedFile(open);
  if (file.size < NDB_HEADER_BYTES) throw new NotThisFormatError(`${path} is too short to be an ndb Packages.db`, { location: path });
  const head = await file.read(0, NDB_HEADER_BYTES, 'ndb header');
  const hv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (hv.getUint32(0, true) !== NDB_MAGIC) throw new NotThisFormatError(`${path} is not an ndb Packages.db (magic)`, { location: path });
  const version = hv.getUint32(4, true);
  if (version !== 0) throw new CorruptError(`ndb version ${version}, expected 0`, { location: 'header' });
  const slotPages = hv.getUint32(12, true);
  if (slotPages === 0 || slotPages > MAX_NDB_SLOT_PAGES) throw new CorruptError(`ndb slot page count ${slotPages} is outside 1..${MAX_NDB_SLOT_PAGES}`, { location: 'header' });
  if (slotPages * NDB_PAGE_BYTES > file.size) throw new CorruptError(`ndb: ${slotPages} slot pages do not fit the ${file.size}-byte file`, { location: 'header' });
  // rpmpkgReadSlots refuses a file that is not a whole number of blocks.
  if (file.size % NDB_BLOCK_BYTES !== 0) throw new CorruptError(`ndb: file size ${file.size} is not a multiple of ${NDB_BLOCK_BYTES}`, { location: 'header' });
  const fileBlocks = file.size / NDB_BLOCK_BYTES;
  const minBlock = slotPages * (NDB_PAGE_BYTES / NDB_BLOCK_BYTES);
  const slots: Slot[] = [];
  for (let page = 0; page < slotPages; page++) {
    const bytes = await file.read(page * NDB_PAGE_BYTES, NDB_PAGE_BYTES, `ndb slot page ${page}`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let o = page === 0 ? NDB_HEADER_BYTES : 0; o < NDB_PAGE_BYTES; o += NDB_SLOT_BYTES) {
      const slotno = (page * NDB_PAGE_BYTES + o) / NDB_SLOT_BYTES;
      if (dv.getUint32(o, true) !== NDB_SLOT_MAGIC) throw new CorruptError(`ndb slot ${slotno}: bad magic`, { location: `slot ${slotno}` });
      const blkoff = dv.getUint32(o + 8, true);
      if (blkoff === 0) continue;
      const s: Slot = { pkgidx: dv.getUint32(o + 4, true), blkoff, blkcnt: dv.getUint32(o + 12, true), slotno };
      if (s.blkoff + s.blkcnt > fileBlocks) throw new CorruptError(`ndb slot ${slotno}: blocks ${s.blkoff}+${s.blkcnt} run past the end (truncated database)`, { location: `slot ${slotno}` });
      if (s.pkgidx === 0 || s.blkcnt === 0 || s.blkoff < minBlock) throw new CorruptError(`ndb slot ${slotno}: bad entry (pkgidx ${s.pkgidx}, block ${s.blkoff}, count ${s.blkcnt})`, { location: `slot ${slotno}` });
      if (slots.length >= MAX_RPM_PACKAGES) throw new BudgetError(`${path}: more than MAX_RPM_PACKAGES (${MAX_RPM_PACKAGES}) slots`, { location: path });
      slots.push(s);
    }
  }
  slots.sort((a, b) => a.blkoff - b.blkoff);
  for (const s of slots) {
    const record = `Packages.db (ndb) pkgidx ${s.pkgidx}`;
    let got: { blob: Uint8Array; checksumOk: boolean };
    try {
      got = await readBlob(file, s);
    } catch (err) {
      if (!(err instanceof CorruptError)) throw err;
      yield { kind: 'problem', record, error: err };
      continue;
    }
    if (!got.checksumOk) {
      yield { kind: 'problem', severity: 'warning', record, error: new CorruptError(`${record}: Adler-32 mismatch (read anyway, as rpm does)`, { location: record }) };
    }
    yield { kind: 'header', record, blob: got.blob };
  }
}

/** The blob of one slot, and whether its Adler-32 matched (rpm reads a mismatched blob anyway; only `rpmpkgVerifyblob` checks). */
async function readBlob(file: ChunkedFile, s: Slot): Promise<{ blob: Uint8Array; checksumOk: boolean }> {
  const where = `pkgidx ${s.pkgidx} at block ${s.blkoff}`;
  if (s.blkcnt < Math.ceil((NDB_BLOB_HEAD_BYTES + NDB_BLOB_TAIL_BYTES) / NDB_BLOCK_BYTES)) throw new CorruptError(`ndb blob ${where}: block count ${s.blkcnt} is too small`, { location: where });
  if (s.blkcnt * NDB_BLOCK_BYTES > MAX_HEADER_BLOB_BYTES + NDB_BLOB_HEAD_BYTES + NDB_BLOB_TAIL_BYTES + NDB_BLOCK_BYTES) {
    throw new CorruptError(`ndb blob ${where}: ${s.blkcnt} blocks is more than a header can hold`, { location: where });
  }
  const all = await file.read(s.blkoff * NDB_BLOCK_BYTES, s.blkcnt * NDB_BLOCK_BYTES, `ndb blob ${where}`);
  const dv = new DataView(all.buffer, all.byteOffset, all.byteLength);
  if (dv.getUint32(0, true) !== NDB_BLOB_HEAD_MAGIC) throw new CorruptError(`ndb blob ${where}: bad head magic`, { location: where });
  if (dv.getUint32(4, true) !== s.pkgidx) throw new CorruptError(`ndb blob ${where}: head names pkgidx ${dv.getUint32(4, true)}`, { location: where });
  const length = dv.getUint32(12, true);
  if (s.blkcnt !== Math.ceil((NDB_BLOB_HEAD_BYTES + length + NDB_BLOB_TAIL_BYTES) / NDB_BLOCK_BYTES)) {
    throw new CorruptError(`ndb blob ${where}: length ${length} does not match ${s.blkcnt} blocks`, { location: where });
  }
  const tailAt = all.length - NDB_BLOB_TAIL_BYTES;
  const checksumOk = dv.getUint32(tailAt, true) === adler32([all.subarray(0, tailAt)]);
  if (dv.getUint32(tailAt + 4, true) !== length) throw new CorruptError(`ndb blob ${where}: tail length mismatch`, { location: where });
  if (dv.getUint32(tailAt + 8, true) !== NDB_BLOB_TAIL_MAGIC) throw new CorruptError(`ndb blob ${where}: bad tail magic`, { location: where });
  return { blob: all.subarray(NDB_BLOB_HEAD_BYTES, NDB_BLOB_HEAD_BYTES + length), checksumOk };
}
