/**
 * Reads the catalogue's data files (data/node-images/<family>.jsonl.zst, written by
 * scripts/node-image-catalog.ts): line 1 a header (schema, family, column names, provenance),
 * then one image per line with its packages as rows of those columns. Every field is checked
 * here, at the boundary; a file that does not check out is a CorruptError naming file and line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { CorruptError } from '../util/errors.ts';
import { MiB } from '../util/units.ts';
import { compareImageVersions } from './image-name.ts';
import type { CatalogImage, CatalogPackage, NodeImageCatalog } from './index.ts';

export const DEFAULT_CATALOG_DIR = join(import.meta.dirname, '..', '..', 'data', 'node-images');
/** Decompressed size limit of one data file (the largest today is ~1.2 MiB). */
export const MAX_CATALOG_FILE_BYTES = 64 * MiB;
/** Version of the data file layout (written by write.ts). */
export const CATALOG_SCHEMA = 1;
export const COLUMNS = ['name', 'version', 'arch', 'sourceName', 'sourceVersion', 'sourceFrom'] as const;
const OS_FAMILIES = new Set(['ubuntu', 'azurelinux']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Record<string, unknown>, key: string, where: string, optional = false): string | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v === '') throw new CorruptError(`node-image catalogue: ${key} must be a non-empty string`, { location: where });
  return v;
}

function parseImage(family: string, raw: unknown, where: string): CatalogImage {
  if (!isRecord(raw)) throw new CorruptError('node-image catalogue: an image must be an object', { location: where });
  const version = str(raw, 'version', where)!;
  const os = raw['os'];
  if (!isRecord(os) || !OS_FAMILIES.has(os['family'] as string)) throw new CorruptError('node-image catalogue: os.family must be ubuntu or azurelinux', { location: where });
  const rows = raw['packages'];
  if (!Array.isArray(rows)) throw new CorruptError('node-image catalogue: packages must be an array', { location: where });
  const packages: CatalogPackage[] = [];
  for (const [i, row] of rows.entries()) {
    if (!Array.isArray(row) || row.length !== COLUMNS.length || !row.every((c, j) => typeof c === 'string' && (c !== '' || j === 2))) {
      throw new CorruptError(`node-image catalogue: package row ${i} must be ${COLUMNS.length} strings (${COLUMNS.join(', ')})`, { location: where });
    }
    const [name, v, arch, sourceName, sourceVersion, sourceFrom] = row as string[];
    packages.push({ name: name!, version: v!, ...(arch !== '' && { arch }), source: { name: sourceName!, version: sourceVersion! }, sourceFrom: sourceFrom! });
  }
  const codename = str(os, 'codename', where, true);
  const prettyName = str(os, 'prettyName', where, true);
  const builtAt = str(raw, 'builtAt', where, true);
  const kernel = str(raw, 'kernel', where, true);
  return {
    family,
    version,
    ...(builtAt !== undefined && { builtAt }),
    os: { family: os['family'] as CatalogImage['os']['family'], id: str(os, 'id', where)!, versionId: str(os, 'versionId', where)!, ...(codename !== undefined && { codename }), ...(prettyName !== undefined && { prettyName }) },
    ...(kernel !== undefined && { kernel }),
    packages,
  };
}

function readFamilyFile(path: string): CatalogImage[] {
  let text: string;
  try {
    text = zstdDecompressSync(readFileSync(path), { maxOutputLength: MAX_CATALOG_FILE_BYTES }).toString('utf8');
  } catch (err) {
    throw new CorruptError(`node-image catalogue: cannot decompress ${path}`, { cause: err, location: path });
  }
  const lines = text.split('\n').filter((l) => l !== '');
  const parse = (line: string, n: number): unknown => {
    try {
      return JSON.parse(line) as unknown;
    } catch (err) {
      throw new CorruptError('node-image catalogue: not JSON', { cause: err, location: `${path}:${n}` });
    }
  };
  const header = parse(lines[0] ?? '', 1);
  if (!isRecord(header) || header['schema'] !== CATALOG_SCHEMA || JSON.stringify(header['columns']) !== JSON.stringify(COLUMNS)) {
    throw new CorruptError(`node-image catalogue: header must have schema ${CATALOG_SCHEMA} and columns ${COLUMNS.join(', ')}`, { location: `${path}:1` });
  }
  const family = str(header, 'family', `${path}:1`)!;
  return lines.slice(1).map((l, i) => parseImage(family, parse(l, i + 2), `${path}:${i + 2}`));
}

/** A catalogue over images held in memory (tests; a candidate image not yet in the data). */
export function catalogFromImages(images: readonly CatalogImage[]): NodeImageCatalog {
  const byFamily = new Map<string, Map<string, CatalogImage>>();
  for (const img of images) {
    const m = byFamily.get(img.family) ?? new Map<string, CatalogImage>();
    if (m.has(img.version)) throw new CorruptError(`node-image catalogue: ${img.family} ${img.version} is listed twice`);
    m.set(img.version, img);
    byFamily.set(img.family, m);
  }
  const sorted = new Map([...byFamily].map(([f, m]) => [f, [...m.keys()].sort(compareImageVersions)]));
  return {
    families: () => [...sorted.keys()].sort(),
    versions: (family) => [...(sorted.get(family) ?? [])],
    get: (family, version) => byFamily.get(family)?.get(version),
    latest(family) {
      const v = sorted.get(family)?.at(-1);
      return v === undefined ? undefined : byFamily.get(family)?.get(v);
    },
  };
}

export interface LoadCatalogOptions {
  /** The shipped catalogue (default: the repository's data/node-images/). */
  dir?: string;
  /**
   * Refreshed catalogues (`hullscan db update --catalog`, {@link catalogDirForDb}), same format;
   * an image in one of them wins over the same family + version before it. A directory that does
   * not exist yet is skipped.
   */
  extraDirs?: readonly string[];
}

/** Where `hullscan db update --catalog` writes the refreshed catalogue of the database at dbPath. */
export function catalogDirForDb(dbPath: string): string {
  return `${dbPath}.catalog`;
}

function familyFiles(dir: string, optional: boolean): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.jsonl.zst')).sort().map((f) => join(dir, f));
  } catch (err) {
    if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The images of every `*.jsonl.zst` file in dir. */
export function readCatalogDir(dir: string, optional = false): CatalogImage[] {
  return familyFiles(dir, optional).flatMap((f) => readFamilyFile(f));
}

/** The catalogue: every `*.jsonl.zst` file in the shipped dir, then in each extra dir (later wins). */
export function loadCatalog(dirOrOptions: string | LoadCatalogOptions = {}): NodeImageCatalog {
  const o = typeof dirOrOptions === 'string' ? { dir: dirOrOptions } : dirOrOptions;
  const byKey = new Map<string, CatalogImage>();
  const add = (images: CatalogImage[], where: string): void => {
    const seen = new Set<string>();
    for (const img of images) {
      const key = `${img.family}\0${img.version}`;
      if (seen.has(key)) throw new CorruptError(`node-image catalogue: ${img.family} ${img.version} is listed twice`, { location: where });
      seen.add(key);
      byKey.set(key, img);
    }
  };
  const dir = o.dir ?? DEFAULT_CATALOG_DIR;
  add(readCatalogDir(dir), dir);
  for (const extra of o.extraDirs ?? []) add(readCatalogDir(extra, true), extra);
  return catalogFromImages([...byKey.values()]);
}
