/**
 * `db update`: download every configured public feed, then rebuild the database from them in
 * one atomic import (store.ts). Any failed download leaves the previous database in place.
 *
 * Default feeds (each id can be pointed elsewhere or switched off):
 * - osv.dev per-ecosystem exports, `https://osv-vulnerabilities.storage.googleapis.com/<Ecosystem>/all.zip`
 *   (osv.dev data dumps, https://google.github.io/osv.dev/data/#data-dumps);
 * - Azure Linux 3.0 and CBL-Mariner 2.0 OVAL from GitHub microsoft/AzureLinuxVulnerabilityData;
 * - CISA KEV, https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json;
 * - FIRST EPSS, https://epss.empiricalsecurity.com/epss_scores-current.csv.gz (FIRST's EPSS
 *   data page; redirects to the dated file).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UsageError } from '../util/errors.ts';
import { redactUrl } from '../util/redact.ts';
import { KiB } from '../util/units.ts';
import { fetchFeedToFile, type FetchOptions } from './fetch.ts';
import { importRawFeeds, type ImportOptions, type ImportReport, type RawFeed } from './store.ts';

export const DEFAULT_FEED_URLS: Readonly<Record<string, string>> = {
  'osv-debian': 'https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip',
  'osv-ubuntu': 'https://osv-vulnerabilities.storage.googleapis.com/Ubuntu/all.zip',
  'osv-alpine': 'https://osv-vulnerabilities.storage.googleapis.com/Alpine/all.zip',
  'osv-go': 'https://osv-vulnerabilities.storage.googleapis.com/Go/all.zip',
  'azurelinux-3.0-oval': 'https://raw.githubusercontent.com/microsoft/AzureLinuxVulnerabilityData/main/azurelinux-3.0-oval.xml',
  'mariner-2.0-oval': 'https://raw.githubusercontent.com/microsoft/AzureLinuxVulnerabilityData/main/cbl-mariner-2.0-oval.xml',
  kev: 'https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json',
  epss: 'https://epss.empiricalsecurity.com/epss_scores-current.csv.gz',
};

/** Largest update config file read. */
export const MAX_CONFIG_BYTES = 64 * KiB;
const FEED_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Feed id → URL, or `false` to switch a default feed off. */
export type FeedUrls = Record<string, string | false>;

export interface UpdateConfig {
  feeds: FeedUrls;
  fetch: FetchOptions;
}

/**
 * Reads an update config file (JSON):
 * `{"feeds": {"osv-go": false, "osv-wolfi": "https://…/Wolfi/all.zip"}, "timeoutSeconds": 600, "maxBytes": 1073741824, "allowPrivateUrls": false}`.
 */
export async function readUpdateConfig(path: string): Promise<UpdateConfig> {
  let text: string;
  try {
    const buf = await readFile(path);
    if (buf.length > MAX_CONFIG_BYTES) throw new UsageError(`config ${path} is larger than ${MAX_CONFIG_BYTES} bytes`);
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read config ${path}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`config ${path} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new UsageError(`config ${path}: expected a JSON object`);
  const o = doc as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!['feeds', 'timeoutSeconds', 'maxBytes', 'allowPrivateUrls'].includes(key)) throw new UsageError(`config ${path}: unknown key "${key.slice(0, 40)}"`);
  }
  const feeds: FeedUrls = {};
  if (o['feeds'] !== undefined) {
    if (typeof o['feeds'] !== 'object' || o['feeds'] === null || Array.isArray(o['feeds'])) throw new UsageError(`config ${path}: "feeds" must be an object`);
    for (const [id, url] of Object.entries(o['feeds'] as Record<string, unknown>)) {
      if (!FEED_ID.test(id)) throw new UsageError(`config ${path}: invalid feed id "${id.slice(0, 40)}"`);
      if (url === false || url === null) feeds[id] = false;
      else if (typeof url === 'string') feeds[id] = checkUrl(url, `config ${path}: feed ${id}`);
      else throw new UsageError(`config ${path}: feed ${id} must be a URL string or false`);
    }
  }
  const fetch: FetchOptions = {};
  const timeout = o['timeoutSeconds'];
  if (timeout !== undefined) {
    if (typeof timeout !== 'number' || !(timeout > 0 && timeout <= 86_400)) throw new UsageError(`config ${path}: timeoutSeconds must be in (0, 86400]`);
    fetch.timeoutMs = timeout * 1000;
  }
  const maxBytes = o['maxBytes'];
  if (maxBytes !== undefined) {
    if (typeof maxBytes !== 'number' || !Number.isInteger(maxBytes) || maxBytes <= 0) throw new UsageError(`config ${path}: maxBytes must be a positive integer`);
    fetch.maxBytes = maxBytes;
  }
  if (o['allowPrivateUrls'] !== undefined) {
    if (typeof o['allowPrivateUrls'] !== 'boolean') throw new UsageError(`config ${path}: allowPrivateUrls must be true or false`);
    fetch.allowPrivateUrls = o['allowPrivateUrls'];
  }
  return { feeds, fetch };
}

/** A usable http(s) URL, or a UsageError naming `what` (the URL shown without query or credentials). */
export function checkUrl(url: string, what: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`${what}: not a valid URL: ${redactUrl(url)}`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new UsageError(`${what}: only http(s) URLs are fetched`);
  return url;
}

/** Parses `--source-url id=URL` (or `id=off`) into an override. */
export function parseSourceUrl(arg: string): [string, string | false] {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new UsageError(`--source-url expects id=URL (or id=off), got "${redactUrl(arg).slice(0, 80)}"`);
  const id = arg.slice(0, eq);
  const url = arg.slice(eq + 1);
  if (!FEED_ID.test(id)) throw new UsageError(`--source-url: invalid feed id "${id.slice(0, 40)}"`);
  if (url === 'off' || url === '') return [id, false];
  return [id, checkUrl(url, `--source-url ${id}`)];
}

/** The feeds an update downloads: the defaults, then config, then command-line overrides. */
export function resolveFeeds(...layers: FeedUrls[]): { id: string; url: string }[] {
  const merged: FeedUrls = { ...DEFAULT_FEED_URLS };
  for (const layer of layers) Object.assign(merged, layer);
  return Object.entries(merged)
    .filter((e): e is [string, string] => e[1] !== false)
    .map(([id, url]) => ({ id, url }));
}

export interface UpdateProgress {
  (event: { id: string; url: string; phase: 'download' | 'done'; bytes?: number }): void;
}

/** Feeds downloaded at once. */
const DOWNLOAD_CONCURRENCY = 2;

/**
 * Downloads every feed (two at a time) into `<db>.download-<pid>-<random>/`, then rebuilds the database
 * from them atomically (one feed in memory at a time). The download directory is removed
 * whatever happens.
 */
export async function updateDb(dbPath: string, feeds: { id: string; url: string }[], options: ImportOptions & { onProgress?: UpdateProgress } = {}): Promise<ImportReport> {
  if (feeds.length === 0) throw new UsageError('every feed is switched off: nothing to update');
  const dir = `${dbPath}.download-${process.pid}-${randomBytes(4).toString('hex')}`;
  mkdirSync(dirname(dbPath), { recursive: true });
  mkdirSync(dir);
  try {
    const raws: RawFeed[] = new Array<RawFeed>(feeds.length);
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (next < feeds.length && !failed) {
        const i = next++;
        const f = feeds[i]!;
        const path = join(dir, String(i));
        options.onProgress?.({ id: f.id, url: redactUrl(f.url), phase: 'download' });
        try {
          const bytes = await fetchFeedToFile(f.url, path, options.fetch);
          options.onProgress?.({ id: f.id, url: redactUrl(f.url), phase: 'done', bytes });
        } catch (err) {
          failed = true;
          throw err;
        }
        raws[i] = { name: redactUrl(f.url), path };
      }
    };
    // allSettled: no download may still be writing into `dir` when it is removed below.
    const results = await Promise.allSettled(Array.from({ length: DOWNLOAD_CONCURRENCY }, () => worker()));
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected) throw rejected.reason;
    return await importRawFeeds(dbPath, raws, { ...options, replace: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
