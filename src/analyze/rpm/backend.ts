/**
 * What every rpm database backend (sqlite.ts, bdb.ts, ndb.ts) yields: header blobs, each with the
 * record key that becomes its evidence. Backends read the database file from the image through
 * the FileSystem only, bounded by the limits here; a broken record is reported and skipped by
 * the backend where the format lets it continue, a broken structure throws a typed error.
 */
import type { OpenFile } from '../../fs/index.ts';
import { CorruptError } from '../../util/errors.ts';
import { GiB, MiB } from '../../util/units.ts';

/** A package database larger than this is not read (RHEL hosts with thousands of packages stay well below). */
export const MAX_RPMDB_BYTES = 2 * GiB;
/** Packages (header records) read from one database. */
export const MAX_RPM_PACKAGES = 200_000;

export interface HeaderRecord {
  kind: 'header';
  /** Record key for evidence: "rpmdb.sqlite Packages hnum 42", "Packages (bdb) key 42", "Packages.db (ndb) pkgidx 42". */
  record: string;
  blob: Uint8Array;
}

/** A problem with one record that does not stop the rest of the database being read. */
export interface RecordProblem {
  kind: 'problem';
  /** 'error' (default): the record was not read; 'warning': it was read despite the problem. */
  severity?: 'error' | 'warning';
  record: string;
  error: unknown;
}

/** What a backend's reader yields, in database order. */
export type BackendItem = HeaderRecord | RecordProblem;

const CHUNK_BYTES = MiB;
const MAX_CACHED_CHUNKS = 8;

/**
 * Random access to a database file in the image in aligned 1 MiB chunks with a small LRU, so a
 * page-by-page walk turns into few large reads, and a read past the end is a typed error.
 */
export class ChunkedFile {
  readonly size: number;
  readonly #file: OpenFile;
  readonly #chunks = new Map<number, Uint8Array>();

  constructor(file: OpenFile) {
    this.#file = file;
    this.size = file.stat.size;
  }

  async read(offset: number, length: number, what: string): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new CorruptError(`${what}: bytes [${offset}, ${offset + length}) are past the end of the ${this.size}-byte file`, { location: `offset ${offset}` });
    }
    const first = Math.floor(offset / CHUNK_BYTES);
    const last = Math.floor((offset + length - 1) / CHUNK_BYTES);
    if (length === 0) return new Uint8Array(0);
    if (first === last) {
      const c = await this.#chunk(first);
      const at = offset - first * CHUNK_BYTES;
      return c.subarray(at, at + length);
    }
    const out = new Uint8Array(length);
    for (let i = first; i <= last; i++) {
      const c = await this.#chunk(i);
      const cStart = i * CHUNK_BYTES;
      const from = Math.max(offset, cStart);
      const to = Math.min(offset + length, cStart + c.length);
      out.set(c.subarray(from - cStart, to - cStart), from - offset);
    }
    return out;
  }

  async #chunk(i: number): Promise<Uint8Array> {
    const hit = this.#chunks.get(i);
    if (hit !== undefined) {
      this.#chunks.delete(i);
      this.#chunks.set(i, hit);
      return hit;
    }
    const start = i * CHUNK_BYTES;
    const want = Math.min(CHUNK_BYTES, this.size - start);
    const c = await this.#file.read(start, want);
    if (c.length !== want) throw new CorruptError(`short read: ${c.length} of ${want} bytes at ${start}`, { location: `offset ${start}` });
    this.#chunks.set(i, c);
    if (this.#chunks.size > MAX_CACHED_CHUNKS) this.#chunks.delete(this.#chunks.keys().next().value!);
    return c;
  }
}
