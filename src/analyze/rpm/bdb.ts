/**
 * A read-only reader of the Berkeley DB hash file rpm used for `/var/lib/rpm/Packages` before
 * rpm 4.16 (RHEL / CentOS 7 and 8, Amazon Linux 2, older SUSE). It follows rpm's own read-only
 * BDB reader, lib/backend/bdb_ro.c (rpm-4.18.0), and Berkeley DB 5.3's on-disk layout
 * (dbinc/db_page.h, hash/hash.h):
 *
 * - page 0 is the hash meta page: magic 0x061561 at byte 12 (its byte order tells the file's
 *   byte order), version at 16, page size at 20, last page number at 32, max_bucket / high_mask
 *   / low_mask at 72 / 76 / 80, and the 32 `spares` (first page of each split point) at 96;
 * - bucket b lives on page b + spares[⌈log2(b + 1)⌉], continued through `next_pgno` (16);
 * - a hash page (type 2 or 13 at byte 25) holds `entries` (u16 at 20) item offsets from byte
 *   26, in key/value pairs; an item's first byte is its type: 1 (H_KEYDATA, bytes follow) or 3
 *   (H_OFFPAGE: first overflow page at +4, total length at +8);
 * - an overflow page (type 7) carries `hf_offset` (u16 at 22) data bytes from byte 26, chained
 *   through `next_pgno`.
 *
 * Keys are 4-byte header numbers in the file's byte order; key 0 is rpm's instance counter,
 * not a header. Every page number is checked against the file, every chain against a page
 * budget and a visited set, so a page loop in a hostile file ends with a CorruptError.
 */
import type { FileSystem } from '../../fs/index.ts';
import { BudgetError, CorruptError, NotThisFormatError } from '../../util/errors.ts';
import { ChunkedFile, MAX_RPM_PACKAGES, MAX_RPMDB_BYTES, type BackendItem } from './backend.ts';
import { MAX_HEADER_BLOB_BYTES } from './header.ts';

export const BDB_HASH_MAGIC = 0x061561;
const PAGE_HEADER_BYTES = 26;
const META_READ_BYTES = 512;
const MIN_PAGE_BYTES = 512;
const MAX_PAGE_BYTES = 65536;
/** Hash versions bdb_ro accepts (Berkeley DB 4.x–5.x). */
const MIN_HASH_VERSION = 8;
const MAX_HASH_VERSION = 10;

const P_HASH_UNSORTED = 2;
const P_OVERFLOW = 7;
const P_HASHMETA = 8;
const P_HASH = 13;
const H_KEYDATA = 1;
const H_OFFPAGE = 3;

interface Meta {
  le: boolean;
  pageBytes: number;
  lastPage: number;
  maxBucket: number;
  spares: number[];
}

export function parseBdbMeta(meta: Uint8Array, fileBytes: number): Meta {
  if (meta.length < META_READ_BYTES) throw new NotThisFormatError('not a Berkeley DB file: shorter than its meta page');
  const dv = new DataView(meta.buffer, meta.byteOffset, meta.byteLength);
  let le: boolean;
  if (dv.getUint32(12, true) === BDB_HASH_MAGIC) le = true;
  else if (dv.getUint32(12, false) === BDB_HASH_MAGIC) le = false;
  else throw new NotThisFormatError('not a Berkeley DB hash database (magic)');
  const version = dv.getUint32(16, le);
  if (version < MIN_HASH_VERSION || version > MAX_HASH_VERSION) throw new CorruptError(`BDB hash version ${version} is not ${MIN_HASH_VERSION}..${MAX_HASH_VERSION}`, { location: 'meta page' });
  const pageBytes = dv.getUint32(20, le);
  if (pageBytes < MIN_PAGE_BYTES || pageBytes > MAX_PAGE_BYTES || (pageBytes & (pageBytes - 1)) !== 0) {
    throw new CorruptError(`BDB page size ${pageBytes} is not a power of two in ${MIN_PAGE_BYTES}..${MAX_PAGE_BYTES}`, { location: 'meta page' });
  }
  const lastPage = dv.getUint32(32, le);
  if ((lastPage + 1) * pageBytes > fileBytes) throw new CorruptError(`BDB last page ${lastPage} is past the end of the ${fileBytes}-byte file`, { location: 'meta page' });
  const maxBucket = dv.getUint32(72, le);
  if (maxBucket > lastPage) throw new CorruptError(`BDB max bucket ${maxBucket} exceeds the last page ${lastPage}`, { location: 'meta page' });
  const spares: number[] = [];
  for (let i = 0; i < 32; i++) spares.push(dv.getUint32(96 + 4 * i, le));
  return { le, pageBytes, lastPage, maxBucket, spares };
}

class BdbFile {
  readonly meta: Meta;
  readonly #file: ChunkedFile;
  constructor(file: ChunkedFile, meta: Meta) {
    this.#file = file;
    this.meta = meta;
  }

  async page(pgno: number, what: string): Promise<{ bytes: Uint8Array; dv: DataView; type: number; next: number; entries: number }> {
    const m = this.meta;
    if (pgno === 0 || pgno > m.lastPage) throw new CorruptError(`BDB ${what}: page ${pgno} is outside 1..${m.lastPage}`, { location: `page ${pgno}` });
    const bytes = await this.#file.read(pgno * m.pageBytes, m.pageBytes, `BDB page ${pgno}`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // bdb_getpage: a page must carry its own number.
    if (dv.getUint32(8, m.le) !== pgno) throw new CorruptError(`BDB ${what}: page ${pgno} records page number ${dv.getUint32(8, m.le)}`, { location: `page ${pgno}` });
    return { bytes, dv, type: bytes[25]!, next: dv.getUint32(16, m.le), entries: dv.getUint16(20, m.le) };
  }

  /** An item's bytes: inline (H_KEYDATA) or reassembled from its overflow chain (H_OFFPAGE). */
  async item(page: Uint8Array, dv: DataView, off: number, len: number, what: string): Promise<Uint8Array> {
    const m = this.meta;
    if (len <= 0 || off + len > m.pageBytes) throw new CorruptError(`BDB ${what}: item [${off}, ${off + len}) is outside the page`, { location: what });
    const type = page[off];
    if (type === H_KEYDATA) return page.subarray(off + 1, off + len);
    if (type !== H_OFFPAGE) throw new CorruptError(`BDB ${what}: item type ${type} is not key data or an overflow reference`, { location: what });
    if (len !== 12) throw new CorruptError(`BDB ${what}: overflow reference of ${len} bytes, not 12`, { location: what });
    let pgno = dv.getUint32(off + 4, m.le);
    const total = dv.getUint32(off + 8, m.le);
    if (total === 0 || total > MAX_HEADER_BLOB_BYTES) throw new CorruptError(`BDB ${what}: overflow length ${total} is outside 1..${MAX_HEADER_BLOB_BYTES}`, { location: what });
    if (total > (m.lastPage + 1) * (m.pageBytes - PAGE_HEADER_BYTES)) throw new CorruptError(`BDB ${what}: overflow length ${total} is more than the file holds`, { location: what });
    const out = new Uint8Array(total);
    let done = 0;
    // Each page carries at least one byte, so a chain longer than `total` pages loops.
    for (let steps = 0; done < total; steps++) {
      if (steps >= total) throw new CorruptError(`BDB ${what}: overflow chain does not end`, { location: `page ${pgno}` });
      const p = await this.page(pgno, `${what} overflow`);
      if (p.type !== P_OVERFLOW) throw new CorruptError(`BDB ${what}: page ${pgno} has type ${p.type}, not overflow`, { location: `page ${pgno}` });
      const plen = p.dv.getUint16(22, m.le);
      if (plen === 0 || plen + PAGE_HEADER_BYTES > m.pageBytes || plen > total - done) throw new CorruptError(`BDB ${what}: overflow page ${pgno} carries ${plen} bytes`, { location: `page ${pgno}` });
      out.set(p.bytes.subarray(PAGE_HEADER_BYTES, PAGE_HEADER_BYTES + plen), done);
      done += plen;
      pgno = p.next;
    }
    return out;
  }
}

/** bdb_ro.c hash_bucket_to_page. */
function bucketPage(meta: Meta, bucket: number): number {
  let i = 0;
  for (let b = bucket; b; b >>>= 1) i++;
  return bucket + meta.spares[i]!;
}

/** Yields every header blob of a BDB hash `Packages`, bucket by bucket as rpm's bdb_ro does. */
export async function* readBdbPackages(fs: FileSystem, path: string): AsyncGenerator<BackendItem> {
  const open = await fs.open(path);
  if (open.stat.size > MAX_RPMDB_BYTES) throw new BudgetError(`${path} is ${open.stat.size} bytes, more than MAX_RPMDB_BYTES (${MAX_RPMDB_BYTES})`, { location: path });
  const file = new ChunkedFile(open);
  if (file.size < META_READ_BYTES) throw new NotThisFormatError(`${path} is too short to be a Berkeley DB file`, { location: path });
  const meta = parseBdbMeta(await file.read(0, META_READ_BYTES, 'BDB meta page'), file.size);
  const db = new BdbFile(file, meta);
  const visited = new Set<number>();
  let packages = 0;
  for (let bucket = 0; bucket <= meta.maxBucket; bucket++) {
    let pgno = bucketPage(meta, bucket);
    while (pgno !== 0) {
      // Bucket chains are disjoint: a page seen twice is a loop (or two buckets sharing a page).
      if (visited.has(pgno)) throw new CorruptError(`BDB bucket ${bucket}: page ${pgno} is reached twice`, { location: `page ${pgno}` });
      visited.add(pgno);
      const p = await db.page(pgno, `bucket ${bucket}`);
      if (p.type !== P_HASH && p.type !== P_HASH_UNSORTED && p.type !== P_HASHMETA) {
        throw new CorruptError(`BDB bucket ${bucket}: page ${pgno} has type ${p.type}, not a hash page`, { location: `page ${pgno}` });
      }
      const maxEntries = Math.floor((meta.pageBytes - PAGE_HEADER_BYTES) / 2);
      if (p.entries > maxEntries) throw new CorruptError(`BDB page ${pgno}: ${p.entries} entries do not fit the page`, { location: `page ${pgno}` });
      for (let idx = 0; idx + 1 < p.entries; idx += 2) {
        const koff = p.dv.getUint16(PAGE_HEADER_BYTES + 2 * idx, meta.le);
        const voff = p.dv.getUint16(PAGE_HEADER_BYTES + 2 * idx + 2, meta.le);
        // Items are packed from the end of the page down: a key ends where the previous value starts.
        const kend = idx === 0 ? meta.pageBytes : p.dv.getUint16(PAGE_HEADER_BYTES + 2 * idx - 2, meta.le);
        const where = `page ${pgno} entry ${idx}`;
        let record = `Packages (bdb) ${where}`;
        try {
          const key = await db.item(p.bytes, p.dv, koff, kend - koff, `${where} key`);
          if (key.length !== 4) throw new CorruptError(`BDB ${where}: key of ${key.length} bytes, not a 4-byte header number`, { location: where });
          const hnum = new DataView(key.buffer, key.byteOffset, 4).getUint32(0, meta.le);
          if (hnum === 0) continue;
          record = `Packages (bdb) key ${hnum}`;
          const blob = await db.item(p.bytes, p.dv, voff, koff - voff, `${where} value`);
          if (++packages > MAX_RPM_PACKAGES) throw new BudgetError(`${path}: more than MAX_RPM_PACKAGES (${MAX_RPM_PACKAGES}) records`, { location: path });
          yield { kind: 'header', record, blob };
        } catch (err) {
          if (err instanceof BudgetError) throw err;
          if (!(err instanceof CorruptError)) throw err;
          yield { kind: 'problem', record, error: err };
        }
      }
      pgno = p.next;
    }
  }
}
