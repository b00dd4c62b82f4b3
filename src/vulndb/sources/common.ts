/**
 * Helpers every source uses on raw feed bytes: gzip/zip unpacking with budgets, line splitting,
 * JSON field readers for untrusted records, and the malformed-record tally.
 *
 * Feeds are public data, but a mirror, a proxy or an operator's file may be anything: every
 * decompression has an output budget, every archive an entry budget, and a record that does not
 * parse is counted with an example instead of aborting the import.
 */
import { gunzipSync } from 'node:zlib';
import { Unzip, UnzipInflate, UnzipPassThrough } from 'fflate';
import { BudgetError, CorruptError } from '../../util/errors.ts';
import { GiB, KiB, MiB } from '../../util/units.ts';
import type { NormalizeReport } from '../index.ts';

/** Largest decompressed size of one gzip feed (the Ubuntu and Debian OSV JSONL are ~0.1 GiB). */
export const MAX_GUNZIP_BYTES = 2 * GiB;
/** Largest number of entries read from one zip archive (osv.dev's PyPI all.zip has ~60 k). */
export const MAX_ZIP_ENTRIES = 2_000_000;
/** Largest decompressed size of one zip entry (one OSV record). */
export const MAX_ZIP_ENTRY_BYTES = 64 * MiB;
/** Largest decompressed total of one zip archive. */
export const MAX_ZIP_TOTAL_BYTES = 16 * GiB;
/** Largest expansion ratio of one zip entry above {@link ZIP_RATIO_FLOOR_BYTES} (JSON is ~10:1). */
export const MAX_ZIP_RATIO = 200;
/** Entries smaller than this are exempt from the ratio check (tiny files compress oddly). */
export const ZIP_RATIO_FLOOR_BYTES = 1 * MiB;
/** Longest line in a JSONL or CSV feed (one OSV record). */
export const MAX_LINE_BYTES = 64 * MiB;
/** How many malformed-record reasons a report keeps. */
export const MAX_MALFORMED_EXAMPLES = 10;
/** Longest text kept from an untrusted string field (summaries, titles). */
export const MAX_TEXT_CHARS = 64 * KiB;
/** Longest identifier (package name, version, advisory id) accepted from a feed. */
export const MAX_ID_CHARS = 512;

export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

export function isZip(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
}

/** The gunzipped bytes, or the input itself when it is not gzip. Truncation is a CorruptError. */
export function maybeGunzip(raw: Uint8Array, what: string): Uint8Array {
  if (!isGzip(raw)) return raw;
  try {
    return gunzipSync(raw, { maxOutputLength: MAX_GUNZIP_BYTES });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new BudgetError(`${what}: gzip expands beyond ${MAX_GUNZIP_BYTES} bytes`, { cause: err });
    throw new CorruptError(`${what}: gzip stream is corrupt or truncated`, { cause: err });
  }
}

/** A (possibly gzipped) JSON feed document; `what` names the feed kind in the error. */
export function parseJsonFeed(raw: Uint8Array, name: string, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(maybeGunzip(raw, name)));
  } catch (err) {
    if (err instanceof CorruptError) throw err;
    throw new CorruptError(`${name}: ${what} does not parse as JSON`, { cause: err });
  }
}

/** Each non-empty line of a text buffer (LF or CRLF), decoded as UTF-8. */
export function* lines(buf: Uint8Array, what: string): Generator<{ line: string; number: number }> {
  const decoder = new TextDecoder('utf-8');
  let start = 0;
  let number = 0;
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    number++;
    if (end - start > MAX_LINE_BYTES) throw new BudgetError(`${what}: line ${number} is longer than ${MAX_LINE_BYTES} bytes`);
    let stop = end;
    if (stop > start && buf[stop - 1] === 0x0d) stop--;
    if (stop > start) yield { line: decoder.decode(buf.subarray(start, stop)), number };
    start = end + 1;
  }
}

export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

/**
 * Every file entry of a zip archive, decompressed one at a time with fflate's streaming Unzip,
 * within the entry-count, entry-size, total-size and ratio budgets. An entry over its own size
 * or ratio budget is reported through `onSkip` (counted as malformed by the caller); an archive
 * over the count or total budget is a BudgetError.
 */
export function unzipEntries(raw: Uint8Array, what: string, onEntry: (e: ZipEntry) => void, onSkip: (name: string, reason: string) => void): void {
  let entries = 0;
  let total = 0;
  const unzip = new Unzip((file) => {
    entries++;
    if (entries > MAX_ZIP_ENTRIES) throw new BudgetError(`${what}: more than ${MAX_ZIP_ENTRIES} zip entries`);
    if (file.name.endsWith('/')) return;
    if (file.compression !== 0 && file.compression !== 8) {
      onSkip(file.name, `zip compression method ${file.compression} not supported`);
      return;
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    let over: string | undefined;
    file.ondata = (err, chunk, final) => {
      if (err) throw new CorruptError(`${what}: zip entry ${file.name}: ${err.message}`, { cause: err });
      if (over === undefined) {
        size += chunk.length;
        total += chunk.length;
        if (total > MAX_ZIP_TOTAL_BYTES) throw new BudgetError(`${what}: zip expands beyond ${MAX_ZIP_TOTAL_BYTES} bytes`);
        if (size > MAX_ZIP_ENTRY_BYTES) over = `larger than ${MAX_ZIP_ENTRY_BYTES} bytes`;
        else if (file.size !== undefined && size > ZIP_RATIO_FLOOR_BYTES && size > MAX_ZIP_RATIO * Math.max(file.size, 1)) over = `expands more than ${MAX_ZIP_RATIO}:1`;
        if (over === undefined) chunks.push(chunk);
        else chunks.length = 0;
      }
      if (final) {
        if (over !== undefined) onSkip(file.name, `zip entry ${over}`);
        else onEntry({ name: file.name, data: concat(chunks, size) });
      }
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  unzip.register(UnzipPassThrough);
  try {
    unzip.push(raw, true);
  } catch (err) {
    if (err instanceof BudgetError || err instanceof CorruptError) throw err;
    throw new CorruptError(`${what}: zip archive is corrupt or truncated`, { cause: err });
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Collects counts for a NormalizeReport. */
export class Tally {
  advisories = 0;
  malformed = 0;
  readonly malformedExamples: string[] = [];
  readonly skipped: Record<string, number> = {};

  bad(where: string, reason: string): void {
    this.malformed++;
    if (this.malformedExamples.length < MAX_MALFORMED_EXAMPLES) this.malformedExamples.push(`${where}: ${reason}`.slice(0, 300));
  }

  skip(what: string, n = 1): void {
    this.skipped[what] = (this.skipped[what] ?? 0) + n;
  }

  report(): NormalizeReport {
    return { advisories: this.advisories, malformed: this.malformed, malformedExamples: [...this.malformedExamples], skipped: { ...this.skipped } };
  }
}

/** A record is not usable: the reason goes to the malformed tally. */
export class MalformedRecord extends Error {}

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A required identifier-like string field. */
export function reqId(o: JsonObject, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0) throw new MalformedRecord(`${where}.${key} is not a non-empty string`);
  if (v.length > MAX_ID_CHARS) throw new MalformedRecord(`${where}.${key} is longer than ${MAX_ID_CHARS} characters`);
  return v;
}

/** An optional string field, cut to {@link MAX_TEXT_CHARS}. */
export function optText(o: JsonObject, key: string): string | undefined {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0) return undefined;
  return v.length > MAX_TEXT_CHARS ? v.slice(0, MAX_TEXT_CHARS) : v;
}

/** An optional array field; a present non-array is malformed. */
export function optArray(o: JsonObject, key: string, where: string): unknown[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new MalformedRecord(`${where}.${key} is not an array`);
  return v;
}

/** An RFC 3339 timestamp normalized to ISO-8601 UTC, or undefined when absent or unparseable. */
export function isoDate(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length === 0 || v.length > 64) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return new Date(t).toISOString();
}
