/**
 * Refreshes the node-image catalogue from the public release notes (docs/node-images.md,
 * "Refreshing the catalogue"): for each known family, list the published versions (default:
 * GitHub's contents API over Azure/AgentBaker `vhdbuilder/release-notes/<path>`, a JSON array of
 * `{ name: "<version>.txt", download_url }`), fetch the release notes of versions the catalogue
 * does not hold yet (newest first, at most `maxNewPerFamily` per run), parse them with the same
 * code as the shipped data (release-notes.ts, sources.ts), and write `<dir>/<family>.jsonl.zst`
 * in the shipped format, which loadCatalog({ extraDirs }) reads over the shipped data.
 *
 * Failure keeps what was there: a family whose listing or a download fails is not rewritten and
 * is reported with the reason; a release-notes file that does not parse is reported and skipped
 * (the family is still written with the others). The downloader is injected (the CLI passes the
 * SSRF-safe feed fetch of vulndb/fetch.ts), so this layer does no I/O on the network itself.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { CorruptError, HullscanError, UsageError } from '../util/errors.ts';
import { redactUrl } from '../util/redact.ts';
import { KiB } from '../util/units.ts';
import { compareImageVersions } from './image-name.ts';
import { DEFAULT_CATALOG_DIR, readCatalogDir } from './load.ts';
import { builtAtOf, MAX_RELEASE_NOTES_BYTES, parseReleaseNotes } from './release-notes.ts';
import { imageFromNotes, loadSourceNameRules, type ImageRecord, type SourceNameRules } from './sources.ts';
import { writeFamilyFile } from './write.ts';
import type { CatalogImage, NodeImageCatalog } from './index.ts';

export const DEFAULT_CATALOG_SOURCE_URL = 'https://api.github.com/repos/Azure/AgentBaker/contents/vhdbuilder/release-notes';
/** Release notes fetched per family and run: the newest versions first (GitHub allows 60 unauthenticated API calls an hour). */
export const DEFAULT_MAX_NEW_PER_FAMILY = 5;
/** Largest listing accepted (a folder of ~150 versions is ~100 KiB as contents-API JSON). */
export const MAX_LISTING_BYTES = 4096 * KiB;
/** Most entries read from one listing (the contents API returns at most 1,000). */
export const MAX_LISTING_ENTRIES = 5000;
const NOTES_NAME = /^(\d{6}\.\d{2}\.\d{1,4})\.txt$/;

export interface CatalogFamilySource {
  family: string;
  /** The folder under the release-notes root. */
  path: string;
  os: { family: 'ubuntu'; release: string } | { family: 'azurelinux' };
}

/** The families refreshed: those the shipped catalogue holds (an explicit list, not discovered). */
export const CATALOG_FAMILY_SOURCES: readonly CatalogFamilySource[] = [
  { family: 'AKSUbuntu-2204gen2containerd', path: 'AKSUbuntu/gen2/2204containerd', os: { family: 'ubuntu', release: '22.04' } },
  { family: 'AKSUbuntu-2404gen2containerd', path: 'AKSUbuntu/gen2/2404containerd', os: { family: 'ubuntu', release: '24.04' } },
  { family: 'AKSAzureLinuxV3-gen2', path: 'AKSAzureLinuxV3/gen2', os: { family: 'azurelinux' } },
];

/** Downloads a URL's body, at most maxBytes (the CLI: vulndb/fetch.ts fetchFeed with the URL policy). */
export type Download = (url: string, maxBytes: number) => Promise<Uint8Array>;

export interface RefreshOptions {
  /** Where refreshed family files are written (catalogDirForDb(dbPath)). Never the shipped data/node-images/. */
  dir: string;
  download: Download;
  /** Root of the release-notes folders (default {@link DEFAULT_CATALOG_SOURCE_URL}). */
  sourceUrl?: string;
  maxNewPerFamily?: number;
  /** The catalogue as it is (shipped + refreshed): its versions are not fetched again. */
  current: NodeImageCatalog;
  families?: readonly CatalogFamilySource[];
  rules?: SourceNameRules;
  onProgress?: (event: { family: string; phase: 'list' | 'fetch'; url: string }) => void;
}

export interface FamilyRefresh {
  family: string;
  /** scheme://host/path of the listing. */
  listing: string;
  /** Versions published in the listing. */
  published: number;
  added: string[];
  /** Release notes that did not parse: skipped. */
  malformed: { version: string; reason: string }[];
  /** New versions left for a later run (the per-run limit). */
  deferred: number;
  /** Set when the family was not refreshed (listing or a download failed): its old files stay. */
  error?: string;
  /** The file written, when one was. */
  file?: string;
}

export interface RefreshReport {
  dir: string;
  families: FamilyRefresh[];
}

interface ListingEntry {
  version: string;
  url: string;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The `<version>.txt` entries of a contents-API listing; other entries (README, folders) are ignored. */
export function parseListing(body: Uint8Array, where: string): ListingEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (err) {
    throw new CorruptError('release-notes listing: not JSON', { cause: err, location: where });
  }
  if (!Array.isArray(doc)) throw new CorruptError('release-notes listing: expected a JSON array of { name, download_url }', { location: where });
  if (doc.length > MAX_LISTING_ENTRIES) throw new CorruptError(`release-notes listing: more than ${MAX_LISTING_ENTRIES} entries`, { location: where });
  const out: ListingEntry[] = [];
  for (const e of doc as unknown[]) {
    if (typeof e !== 'object' || e === null) continue;
    const { name, download_url: url } = e as { name?: unknown; download_url?: unknown };
    const m = typeof name === 'string' ? NOTES_NAME.exec(name) : null;
    if (!m) continue;
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw new CorruptError(`release-notes listing: ${String(name)} has no http(s) download_url`, { location: where });
    out.push({ version: m[1]!, url });
  }
  return out;
}

async function refreshFamily(src: CatalogFamilySource, o: RefreshOptions, rules: SourceNameRules, refreshed: CatalogImage[]): Promise<FamilyRefresh> {
  const listingUrl = `${(o.sourceUrl ?? DEFAULT_CATALOG_SOURCE_URL).replace(/\/+$/, '')}/${src.path}`;
  const r: FamilyRefresh = { family: src.family, listing: redactUrl(listingUrl), published: 0, added: [], malformed: [], deferred: 0 };
  let entries: ListingEntry[];
  try {
    o.onProgress?.({ family: src.family, phase: 'list', url: r.listing });
    entries = parseListing(await o.download(listingUrl, MAX_LISTING_BYTES), r.listing);
  } catch (err) {
    r.error = `listing ${r.listing}: ${messageOf(err)}`;
    return r;
  }
  r.published = entries.length;
  const known = new Set(o.current.versions(src.family));
  const fresh = entries.filter((e) => !known.has(e.version)).sort((a, b) => compareImageVersions(b.version, a.version));
  const limit = o.maxNewPerFamily ?? DEFAULT_MAX_NEW_PER_FAMILY;
  r.deferred = Math.max(0, fresh.length - limit);
  const images: ImageRecord[] = [];
  for (const e of fresh.slice(0, limit)) {
    const shown = redactUrl(e.url);
    let text: string;
    try {
      o.onProgress?.({ family: src.family, phase: 'fetch', url: shown });
      text = Buffer.from(await o.download(e.url, MAX_RELEASE_NOTES_BYTES)).toString('utf8');
    } catch (err) {
      r.error = `release notes ${e.version} (${shown}): ${messageOf(err)}`;
      return r;
    }
    try {
      const img = imageFromNotes(rules, src.os, e.version, parseReleaseNotes(text, shown), text);
      images.push({ ...img, releaseNotes: shown });
      r.added.push(e.version);
    } catch (err) {
      if (!(err instanceof HullscanError)) throw err;
      r.malformed.push({ version: e.version, reason: messageOf(err) });
    }
  }
  if (images.length === 0) return r;
  // The family's earlier refreshed images are kept (re-encoded from what load.ts read) and the new ones added.
  const before = refreshed.filter((i) => i.family === src.family && !r.added.includes(i.version)).map(recordOf);
  const all = [...before, ...images].sort((a, b) => compareImageVersions(a.version, b.version));
  r.file = writeFamilyFile(o.dir, { family: src.family, provenance: `refreshed from ${r.listing}`, images: all }, 'hullscan db update --catalog').path;
  r.added.sort(compareImageVersions);
  return r;
}

/** A loaded image back as a record (for rewriting a refreshed file with more images). */
function recordOf(i: CatalogImage): ImageRecord {
  return {
    version: i.version,
    builtAt: i.builtAt ?? builtAtOf(i.version),
    os: i.os,
    osFrom: 'an earlier refresh',
    ...(i.kernel !== undefined && { kernel: i.kernel }),
    archFrom: 'an earlier refresh',
    packages: i.packages.map((p) => [p.name, p.version, p.arch ?? '', p.source.name, p.source.version, p.sourceFrom ?? '']),
  };
}

/** Refreshes every family (one after another); never throws for a failed family, which the report names. */
export async function refreshCatalog(o: RefreshOptions): Promise<RefreshReport> {
  const dir = resolve(o.dir);
  if (dir === resolve(DEFAULT_CATALOG_DIR)) throw new UsageError('the refreshed catalogue is written next to the database, never into the shipped data/node-images/');
  if (o.maxNewPerFamily !== undefined && !(Number.isInteger(o.maxNewPerFamily) && o.maxNewPerFamily >= 0)) throw new UsageError('the number of new versions per family must be a whole number ≥ 0');
  mkdirSync(dir, { recursive: true });
  const rules = o.rules ?? loadSourceNameRules();
  const refreshed = readCatalogDir(dir, true);
  const families: FamilyRefresh[] = [];
  for (const src of o.families ?? CATALOG_FAMILY_SOURCES) families.push(await refreshFamily(src, { ...o, dir }, rules, refreshed));
  return { dir, families };
}
