/**
 * Writes one family's data file (`<family>.jsonl.zst`, read by load.ts): line 1 the header,
 * then one image per line. Deterministic: the same images give the same bytes. Used by
 * scripts/node-image-catalog.ts (data/node-images/) and by the refresh (next to the database).
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zstdCompressSync, constants as zlibConstants } from 'node:zlib';
import { CATALOG_SCHEMA, COLUMNS } from './load.ts';
import type { ImageRecord } from './sources.ts';

/** zstd's high levels: the data is written once and read often. */
const ZSTD_LEVEL = 19;

export interface FamilyRecord {
  family: string;
  provenance: string;
  images: ImageRecord[];
}

/** The compressed bytes of a family's data file. */
export function familyFileBytes(f: FamilyRecord, generatedBy: string): Buffer {
  const header = { schema: CATALOG_SCHEMA, family: f.family, columns: COLUMNS, provenance: f.provenance, generatedBy };
  const lines = [JSON.stringify(header), ...f.images.map((i) => JSON.stringify(i))];
  // zstd, not gzip: consecutive images repeat ~700 packages each, and only zstd's window (8 MiB at
  // level 19) reaches back to the previous image; gzip's 32 KiB does not (235 KB against 20 KB).
  return zstdCompressSync(`${lines.join('\n')}\n`, { params: { [zlibConstants.ZSTD_c_compressionLevel]: ZSTD_LEVEL } });
}

/** Writes `<dir>/<family>.jsonl.zst` through a temporary file and a rename (a reader never sees half a file); returns its path and size. */
export function writeFamilyFile(dir: string, f: FamilyRecord, generatedBy: string): { path: string; bytes: number } {
  const bytes = familyFileBytes(f, generatedBy);
  const path = join(dir, `${f.family}.jsonl.zst`);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
  return { path, bytes: bytes.length };
}
