/**
 * The local vulnerability database: a SQLite file (node:sqlite) written by `importFeeds` and
 * read by `openVulnDb`.
 *
 * Atomic update: an import builds `<db>.tmp-<pid>-<random>` (starting from a copy of the current
 * database unless `replace` is set), normalizes every feed into it inside one transaction, and
 * only then renames it over `<db>`. Any failure (unreadable or truncated feed, unrecognised
 * file, download error) deletes the temporary file and leaves the previous database untouched.
 *
 * Raw feeds: each imported file's bytes are kept, content-addressed, in `<db>.raw/<sha256>` so
 * that a newer normalizer can rebuild the database without downloading again
 * (`rebuildFromRaw`). Raw files are written before the rename (a crash leaves only unreferenced
 * files, removed by the next import).
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { lstat, open, readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { BudgetError, UsageError } from '../util/errors.ts';
import { redactUrl } from '../util/redact.ts';
import { GiB, KiB, MiB } from '../util/units.ts';
import type { VersionSchemeId } from '../version/index.ts';
import { fetchFeed, type FetchOptions } from './fetch.ts';
import type {
  Advisory,
  AffectedPackage,
  AffectedRecord,
  DbStatus,
  EpssScore,
  FixState,
  KevEntry,
  Namespace,
  NormalizeSink,
  Severity,
  SourceStatus,
  VendorStatus,
  VulnDb,
  VulnSource,
} from './index.ts';
import { SCHEMA_SQL, SCHEMA_VERSION } from './schema.ts';
import { isGzip } from './sources/common.ts';
import { detectSource, VULN_SOURCES } from './sources/registry.ts';

/** Largest feed file read (Node's readFile limit is 2 GiB; osv.dev's largest all.zip is ~1 GiB). */
export const MAX_FEED_FILE_BYTES = 2 * GiB - 1;
/** Most files walked under one directory input, and deepest nesting. */
export const MAX_DIR_FILES = 1_000_000;
export const MAX_DIR_DEPTH = 16;
/**
 * Most bytes of loose OSV JSON packed from one directory (the pack is held in memory). A larger
 * tree (Canonical's whole `osv/` is ~8 GB) should be imported as osv.dev's ecosystem all.zip.
 */
export const MAX_DIR_PACK_BYTES = 1 * GiB;
/** Bytes of a feed (compressed) decompressed for detection. */
const DETECT_COMPRESSED_BYTES = 64 * KiB;
const DETECT_HEAD_BYTES = 1 * MiB;
/** Rows returned by one lookup (a package with more advisories than this is a broken feed). */
export const MAX_LOOKUP_ROWS = 100_000;
/**
 * Rows kept in one VulnDb's lookup cache. Re-matching many stored inventories asks for the same
 * packages again (and a kernel lookup is thousands of rows); the oldest answers go first.
 */
export const MAX_CACHED_LOOKUP_ROWS = 200_000;
/**
 * KEV and EPSS answers kept per VulnDb (one match asks for every finding's CVE, ~5,000 for a
 * 1,000-package node; a re-match asks again); the cache is emptied when it reaches this many.
 */
export const MAX_CACHED_SCORE_ANSWERS = 500_000;
/** A KEV table up to this many rows is read whole on first use instead of one query per CVE (CISA's catalog: ~1,500). */
export const MAX_PRELOADED_KEV_ROWS = 50_000;

/** Sources whose feed is one catalogue: a new feed replaces every earlier feed of the source. */
const SINGLE_CATALOGUE_SOURCES = new Set(['kev', 'epss']);

export interface DbPathEnv {
  HULLSCAN_DB?: string | undefined;
  XDG_DATA_HOME?: string | undefined;
  HOME?: string | undefined;
}

/** `--db` if given, else `$HULLSCAN_DB`, else `$XDG_DATA_HOME/hullscan/vuln.db`, else `~/.local/share/hullscan/vuln.db`. */
export function defaultDbPath(explicit?: string, env: DbPathEnv = process.env): string {
  if (explicit !== undefined && explicit !== '') return resolve(explicit);
  if (env.HULLSCAN_DB) return resolve(env.HULLSCAN_DB);
  const data = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/') ? env.XDG_DATA_HOME : join(env.HOME ?? homedir(), '.local', 'share');
  return join(data, 'hullscan', 'vuln.db');
}

/** Where the raw feeds of a database are kept. */
export function rawDir(dbPath: string): string {
  return `${dbPath}.raw`;
}

/**
 * One feed and the name it is recorded under (a path, or a URL without its query): its bytes,
 * or a file to read them from when the import reaches it (so that only one feed is in memory).
 */
export type RawFeed = { name: string; bytes: Uint8Array } | { name: string; path: string; /** Expected content hash (raw files). */ sha256?: string };

async function loadFeed(f: RawFeed): Promise<Uint8Array> {
  if ('bytes' in f) return f.bytes;
  return readBoundedFile(f.path, statSync(f.path).size);
}

/** The first bytes of a feed, for detection, without reading a whole file. */
async function feedPrefix(f: RawFeed): Promise<Uint8Array> {
  if ('bytes' in f) return f.bytes.subarray(0, DETECT_COMPRESSED_BYTES);
  const fh = await open(f.path, 'r');
  try {
    const buf = new Uint8Array(DETECT_COMPRESSED_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export interface ImportOptions {
  /** Start from an empty database instead of a copy of the current one (`db update`). */
  replace?: boolean;
  /** Keep raw feed bytes in `<db>.raw/` (default true). */
  storeRaw?: boolean;
  /** Sources to detect feeds with (default: the registry). */
  sources?: readonly VulnSource[];
  /** How URLs are fetched (policy, timeouts, size caps). */
  fetch?: FetchOptions;
  /** Clock for `imported at` / `built at` (tests). */
  now?: () => Date;
}

export interface FeedImportReport {
  name: string;
  source: string;
  sha256: string;
  bytes: number;
  advisories: number;
  affected: number;
  kev: number;
  epss: number;
  malformed: number;
  malformedExamples: string[];
  skipped: Record<string, number>;
  newestRecord?: string;
}

export interface ImportReport {
  dbPath: string;
  builtAt: string;
  feeds: FeedImportReport[];
  /** Feeds of the previous database that this import replaced. */
  replaced: string[];
}

/** Import feed files, directories and URLs into the database at `dbPath` (atomically). */
export async function importFeeds(dbPath: string, inputs: string[], options: ImportOptions = {}): Promise<ImportReport> {
  const feeds: RawFeed[] = [];
  for (const input of inputs) {
    if (/^https?:\/\//i.test(input)) {
      feeds.push({ name: redactUrl(input), bytes: await fetchFeed(input, options.fetch) });
      continue;
    }
    const path = resolve(input);
    let st;
    try {
      // The operator named this path: a symlink to a feed is followed (inside a directory input it is not).
      st = await stat(path);
    } catch (err) {
      throw new UsageError(`cannot read feed ${input}: ${(err as Error).message}`, { cause: err });
    }
    if (st.isDirectory()) feeds.push(...(await readFeedDirectory(path, options.sources ?? VULN_SOURCES)));
    else if (st.isFile()) {
      if (st.size > MAX_FEED_FILE_BYTES) throw new BudgetError(`feed ${path} is larger than ${MAX_FEED_FILE_BYTES} bytes`);
      feeds.push({ name: path, path });
    }
    else throw new UsageError(`feed ${input} is neither a file nor a directory`);
  }
  return importRawFeeds(dbPath, feeds, options);
}

async function readBoundedFile(path: string, size: number): Promise<Uint8Array> {
  if (size > MAX_FEED_FILE_BYTES) throw new BudgetError(`feed ${path} is larger than ${MAX_FEED_FILE_BYTES} bytes`);
  return new Uint8Array(await readFile(path));
}

/**
 * A directory: loose OSV `*.json` records (e.g. a checkout of canonical/ubuntu-security-notices
 * `osv/`) are packed into one zip feed named after the directory; every other file is its own feed.
 */
async function readFeedDirectory(dir: string, sources: readonly VulnSource[]): Promise<RawFeed[]> {
  const osvFiles: Record<string, Uint8Array> = {};
  let osvCount = 0;
  let packed = 0;
  const others: RawFeed[] = [];
  const stack: { path: string; depth: number }[] = [{ path: dir, depth: 0 }];
  let files = 0;
  while (stack.length > 0) {
    const { path, depth } = stack.pop()!;
    const entries = await readdir(path, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? 1 : -1));
    for (const e of entries) {
      const full = join(path, e.name);
      if (e.isDirectory()) {
        if (depth + 1 > MAX_DIR_DEPTH) throw new BudgetError(`feed directory ${dir}: deeper than ${MAX_DIR_DEPTH} levels at ${full}`);
        stack.push({ path: full, depth: depth + 1 });
        continue;
      }
      if (!e.isFile()) continue; // symlinks and devices are not followed
      if (++files > MAX_DIR_FILES) throw new BudgetError(`feed directory ${dir}: more than ${MAX_DIR_FILES} files`);
      if (e.name.startsWith('.') || /\.(md|txt)$/i.test(e.name)) continue;
      if (!/\.json$/i.test(e.name)) {
        // Detected (or refused) by the import like any file; read only when imported.
        others.push({ name: full, path: full });
        continue;
      }
      const bytes = await readBoundedFile(full, (await lstat(full)).size);
      if (detectSource(e.name, detectHead(bytes), sources)?.id === 'osv') {
        osvFiles[relative(dir, full)] = bytes;
        osvCount++;
        packed += bytes.length;
        if (packed > MAX_DIR_PACK_BYTES) throw new BudgetError(`feed directory ${dir}: more than ${MAX_DIR_PACK_BYTES} bytes of OSV JSON; import the ecosystem's all.zip instead`);
      } else {
        others.push({ name: full, bytes });
      }
    }
  }
  const out: RawFeed[] = [];
  if (osvCount > 0) out.push({ name: `${dir}/`, bytes: zipSync(osvFiles, { level: 1, mtime: new Date('1980-01-01T00:00:00Z') }) });
  return [...out, ...others];
}

/** The start of a feed as detection sees it: gunzipped when gzip (a bounded prefix only). */
export function detectHead(bytes: Uint8Array): Uint8Array {
  if (!isGzip(bytes)) return bytes.subarray(0, DETECT_HEAD_BYTES);
  try {
    // Z_SYNC_FLUSH lets a prefix of the stream decompress without "unexpected end of file".
    return new Uint8Array(gunzipSync(bytes.subarray(0, DETECT_COMPRESSED_BYTES), { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: 64 * MiB }));
  } catch {
    return bytes.subarray(0, 0);
  }
}

/** What advisories record as their feed: a URL in full (already without query), a file by its base name. */
function advisoryFeedName(name: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(name) ? name : basename(name.replace(/\/$/, ''));
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

interface Statements {
  insertAdvisory: StatementSync;
  insertAffected: StatementSync;
  insertKev: StatementSync;
  insertEpss: StatementSync;
}

/** Import already-read feeds (used by importFeeds and `db update`). Atomic, see the module comment. */
export async function importRawFeeds(dbPath: string, feeds: RawFeed[], options: ImportOptions = {}): Promise<ImportReport> {
  const now = options.now ?? (() => new Date());
  const sources = options.sources ?? VULN_SOURCES;
  // Detect every feed before touching anything: an unrecognised file fails the whole import.
  const plan: { feed: RawFeed; source: VulnSource }[] = [];
  for (const f of feeds) {
    const source = detectSource(advisoryFeedName(f.name), detectHead(await feedPrefix(f)), sources);
    if (!source) throw new UsageError(`no vulnerability source recognises ${f.name} (known: ${sources.map((s) => s.id).join(', ')})`);
    plan.push({ feed: f, source });
  }
  mkdirSync(dirname(dbPath), { recursive: true });
  // pid plus a random part: two imports in one process never share a temporary file.
  const tmp = `${dbPath}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  rmSync(tmp, { force: true });
  const reports: FeedImportReport[] = [];
  const replaced: string[] = [];
  let db: DatabaseSync | undefined;
  try {
    if (!options.replace && existsSync(dbPath) && schemaVersionOf(dbPath) === SCHEMA_VERSION) copyFileSync(dbPath, tmp);
    db = new DatabaseSync(tmp);
    db.exec('PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;');
    const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    if (version === 0) {
      db.exec(SCHEMA_SQL);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    }
    const st: Statements = {
      insertAdvisory: db.prepare('INSERT INTO advisories (feed_id, id, source, feed, aliases, published, modified, summary, cvss, refs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      insertAffected: db.prepare(
        'INSERT INTO affected (advisory, namespace, name, name_kind, version_scheme, state, ranges, versions, vendor_source, vendor_level, vendor_severity, vendor_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      insertKev: db.prepare('INSERT OR REPLACE INTO kev (cve, feed_id, date_added, due_date, ransomware, vendor, product) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      insertEpss: db.prepare('INSERT OR REPLACE INTO epss (cve, feed_id, score, percentile, date) VALUES (?, ?, ?, ?, ?)'),
    };
    db.exec('BEGIN');
    for (const { feed, source } of plan) {
      const bytes = await loadFeed(feed);
      const digest = sha256(bytes);
      if ('sha256' in feed && feed.sha256 !== undefined && feed.sha256 !== digest) throw new UsageError(`raw file of feed ${feed.name} does not match its recorded sha256`);
      // Content-addressed, so safe to write before the rename: an aborted import leaves only
      // an unreferenced file, which the next import's garbage collection removes.
      if (options.storeRaw !== false) storeRawFeed(dbPath, digest, bytes);
      replaced.push(...deleteFeeds(db, feed.name, SINGLE_CATALOGUE_SOURCES.has(source.id) ? source.id : undefined));
      const importedAt = now().toISOString();
      const feedId = Number(
        db
          .prepare(
            "INSERT INTO feeds (source, name, sha256, bytes, raw_stored, imported_at, advisories, affected, kev, epss, malformed, malformed_examples, skipped) VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, '[]', '{}')",
          )
          .run(source.id, feed.name, digest, bytes.length, options.storeRaw === false ? 0 : 1, importedAt).lastInsertRowid,
      );
      const counts = { affected: 0, kev: 0, epss: 0 };
      const sink = makeSink(st, feedId, counts);
      const r = await source.normalize(advisoryFeedName(feed.name), bytes, sink);
      const newest = (db.prepare('SELECT max(coalesce(modified, published)) AS n FROM advisories WHERE feed_id = ?').get(feedId) as { n: string | null }).n ?? undefined;
      const epssDate = source.id === 'epss' ? ((db.prepare('SELECT max(date) AS n FROM epss WHERE feed_id = ?').get(feedId) as { n: string | null }).n ?? undefined) : undefined;
      const kevDate = source.id === 'kev' ? ((db.prepare('SELECT max(date_added) AS n FROM kev WHERE feed_id = ?').get(feedId) as { n: string | null }).n ?? undefined) : undefined;
      const newestRecord = newest ?? epssDate ?? kevDate;
      db.prepare('UPDATE feeds SET advisories = ?, affected = ?, kev = ?, epss = ?, malformed = ?, malformed_examples = ?, skipped = ?, newest_record = ? WHERE id = ?').run(
        r.advisories,
        counts.affected,
        counts.kev,
        counts.epss,
        r.malformed,
        JSON.stringify(r.malformedExamples),
        JSON.stringify(r.skipped ?? {}),
        newestRecord ?? null,
        feedId,
      );
      const report: FeedImportReport = {
        name: feed.name,
        source: source.id,
        sha256: digest,
        bytes: bytes.length,
        advisories: r.advisories,
        affected: counts.affected,
        kev: counts.kev,
        epss: counts.epss,
        malformed: r.malformed,
        malformedExamples: r.malformedExamples,
        skipped: r.skipped ?? {},
      };
      if (newestRecord !== undefined) report.newestRecord = newestRecord;
      reports.push(report);
    }
    db.exec('DELETE FROM namespaces');
    db.exec('INSERT INTO namespaces (namespace, advisories, affected) SELECT namespace, count(DISTINCT advisory), count(*) FROM affected GROUP BY namespace');
    const builtAt = now().toISOString();
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('built_at', ?)").run(builtAt);
    db.exec('COMMIT');
    db.exec('PRAGMA optimize');
    db.close();
    db = undefined;
    // The journal is off while building: flush the finished file before it replaces the old one.
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, dbPath);
    if (options.storeRaw !== false) collectRawGarbage(dbPath);
    return { dbPath, builtAt, feeds: reports, replaced: replaced.filter((n) => !plan.some((p) => p.feed.name === n)) };
  } catch (err) {
    try {
      db?.close();
    } catch {
      // already closed or broken: the file is removed below either way
    }
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Deletes the feed named `name` (and, for catalogue sources, every feed of `source`); returns their names. */
function deleteFeeds(db: DatabaseSync, name: string, source: string | undefined): string[] {
  const rows = db.prepare('SELECT id, name FROM feeds WHERE name = ? OR source = ?').all(name, source ?? null) as { id: number; name: string }[];
  for (const { id } of rows) {
    db.prepare('DELETE FROM affected WHERE advisory IN (SELECT rowid FROM advisories WHERE feed_id = ?)').run(id);
    db.prepare('DELETE FROM advisories WHERE feed_id = ?').run(id);
    db.prepare('DELETE FROM kev WHERE feed_id = ?').run(id);
    db.prepare('DELETE FROM epss WHERE feed_id = ?').run(id);
    db.prepare('DELETE FROM feeds WHERE id = ?').run(id);
  }
  return rows.map((r) => r.name);
}

function makeSink(st: Statements, feedId: number, counts: { affected: number; kev: number; epss: number }): NormalizeSink {
  return {
    advisory(a: Advisory): void {
      const rowid = st.insertAdvisory.run(
        feedId,
        a.id,
        a.source,
        a.feed,
        JSON.stringify(a.aliases),
        a.published ?? null,
        a.modified ?? null,
        a.summary ?? null,
        JSON.stringify(a.cvss),
        JSON.stringify(a.references),
      ).lastInsertRowid;
      for (const p of a.affected) {
        st.insertAffected.run(
          rowid,
          p.namespace,
          p.name,
          p.nameKind,
          p.versionScheme,
          p.state,
          JSON.stringify(p.ranges),
          p.versions ? JSON.stringify(p.versions) : null,
          p.vendorSeverity?.source ?? null,
          p.vendorSeverity?.level ?? null,
          p.vendorSeverity?.severity ?? null,
          p.vendorStatus ? JSON.stringify(p.vendorStatus) : null,
        );
        counts.affected++;
      }
    },
    kev(e: KevEntry): void {
      st.insertKev.run(e.cve, feedId, e.dateAdded, e.dueDate ?? null, e.knownRansomwareCampaignUse ?? null, e.vendorProject ?? null, e.product ?? null);
      counts.kev++;
    },
    epss(s: EpssScore): void {
      st.insertEpss.run(s.cve, feedId, s.score, s.percentile, s.date);
      counts.epss++;
    },
  };
}

function storeRawFeed(dbPath: string, digest: string, bytes: Uint8Array): void {
  const dir = rawDir(dbPath);
  mkdirSync(dir, { recursive: true });
  const target = join(dir, digest);
  if (existsSync(target) && statSync(target).size === bytes.length) return;
  const part = `${target}.part-${process.pid}`;
  writeFileSync(part, bytes);
  renameSync(part, target);
}

/** Removes raw files no feed of the current database references. */
function collectRawGarbage(dbPath: string): void {
  const dir = rawDir(dbPath);
  if (!existsSync(dir)) return;
  const db = new DatabaseSync(dbPath, { readOnly: true });
  let keep: Set<string>;
  try {
    keep = new Set((db.prepare('SELECT sha256 FROM feeds WHERE raw_stored = 1').all() as { sha256: string }[]).map((r) => r.sha256));
  } finally {
    db.close();
  }
  for (const name of readdirSync(dir)) {
    // Unreferenced raw files, and parts left by an interrupted write of this process id.
    if ((/^[0-9a-f]{64}$/.test(name) && !keep.has(name)) || name.endsWith(`.part-${process.pid}`)) rmSync(join(dir, name), { force: true });
  }
}

/** Re-normalizes every feed from the raw files kept beside the database (after a normalizer change). */
export async function rebuildFromRaw(dbPath: string, options: Omit<ImportOptions, 'replace'> = {}): Promise<ImportReport> {
  const db = openReadOnly(dbPath);
  let rows: { name: string; sha256: string; raw_stored: number }[];
  try {
    rows = db.prepare('SELECT name, sha256, raw_stored FROM feeds ORDER BY id').all() as typeof rows;
  } finally {
    db.close();
  }
  const feeds: RawFeed[] = [];
  for (const r of rows) {
    if (r.raw_stored !== 1) throw new UsageError(`feed ${r.name} was imported without keeping its raw file: import it again`);
    const path = join(rawDir(dbPath), r.sha256);
    if (!existsSync(path)) throw new UsageError(`raw file of feed ${r.name} is missing from ${rawDir(dbPath)}`);
    feeds.push({ name: r.name, path, sha256: r.sha256 });
  }
  return importRawFeeds(dbPath, feeds, { ...options, replace: true });
}

/** The schema version of an existing file, or -1 when it is not an SQLite database at all. */
function schemaVersionOf(path: string): number {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path, { readOnly: true });
    return (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  } catch {
    return -1;
  } finally {
    db?.close();
  }
}

function openReadOnly(path: string): DatabaseSync {
  if (!existsSync(path)) throw new UsageError(`no vulnerability database at ${path}: run 'hullscan db update' or 'hullscan db import <file>'`);
  let db: DatabaseSync;
  let version: number;
  try {
    db = new DatabaseSync(path, { readOnly: true });
    version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  } catch (err) {
    throw new UsageError(`${path} is not a vulnerability database (${(err as Error).message}): run 'hullscan db update'`, { cause: err });
  }
  if (version !== SCHEMA_VERSION) {
    db.close();
    throw new UsageError(`vulnerability database ${path} has schema version ${version}, this hullscan reads ${SCHEMA_VERSION}: run 'hullscan db update'`);
  }
  return db;
}

interface LookupRow {
  rowid: number;
  id: string;
  source: string;
  feed: string;
  aliases: string;
  published: string | null;
  modified: string | null;
  summary: string | null;
  cvss: string;
  refs: string;
  namespace: string;
  name: string;
  name_kind: string;
  version_scheme: string;
  state: string;
  ranges: string;
  versions: string | null;
  vendor_source: string | null;
  vendor_level: string | null;
  vendor_severity: string | null;
  vendor_status: string | null;
}

function toRecord(r: LookupRow): AffectedRecord {
  const advisory: AffectedRecord['advisory'] = {
    id: r.id,
    aliases: JSON.parse(r.aliases) as string[],
    source: r.source,
    feed: r.feed,
    cvss: JSON.parse(r.cvss) as Advisory['cvss'],
    references: JSON.parse(r.refs) as string[],
  };
  if (r.published !== null) advisory.published = r.published;
  if (r.modified !== null) advisory.modified = r.modified;
  if (r.summary !== null) advisory.summary = r.summary;
  const affected: AffectedPackage = {
    namespace: r.namespace,
    name: r.name,
    nameKind: r.name_kind as AffectedPackage['nameKind'],
    versionScheme: r.version_scheme as VersionSchemeId,
    state: r.state as FixState,
    ranges: JSON.parse(r.ranges) as AffectedPackage['ranges'],
  };
  if (r.versions !== null) affected.versions = JSON.parse(r.versions) as string[];
  if (r.vendor_source !== null && r.vendor_level !== null) {
    affected.vendorSeverity = { source: r.vendor_source, level: r.vendor_level, severity: (r.vendor_severity ?? 'unknown') as Severity };
  }
  if (r.vendor_status !== null) affected.vendorStatus = JSON.parse(r.vendor_status) as VendorStatus;
  return { advisory, affected };
}

interface KevRow {
  cve: string;
  date_added: string;
  due_date: string | null;
  ransomware: string | null;
  vendor: string | null;
  product: string | null;
}

function toKev(r: KevRow): KevEntry {
  const e: KevEntry = { cve: r.cve, dateAdded: r.date_added };
  if (r.due_date !== null) e.dueDate = r.due_date;
  if (r.ransomware !== null) e.knownRansomwareCampaignUse = r.ransomware;
  if (r.vendor !== null) e.vendorProject = r.vendor;
  if (r.product !== null) e.product = r.product;
  return e;
}

/** Opens the database read-only. A missing file or another schema version is a UsageError. */
export function openVulnDb(path: string): VulnDb {
  const db = openReadOnly(path);
  const lookupSt = db.prepare(
    `SELECT a.rowid, a.id, a.source, a.feed, a.aliases, a.published, a.modified, a.summary, a.cvss, a.refs,
            f.namespace, f.name, f.name_kind, f.version_scheme, f.state, f.ranges, f.versions, f.vendor_source, f.vendor_level, f.vendor_severity, f.vendor_status
       FROM affected f JOIN advisories a ON a.rowid = f.advisory
      WHERE f.namespace = ? AND f.name = ?
      LIMIT ${MAX_LOOKUP_ROWS}`,
  );
  const hasNsSt = db.prepare('SELECT 1 AS x FROM namespaces WHERE namespace = ?');
  const kevSt = db.prepare('SELECT cve, date_added, due_date, ransomware, vendor, product FROM kev WHERE cve = ?');
  const epssSt = db.prepare('SELECT cve, score, percentile, date FROM epss WHERE cve = ?');
  // Cached answers are shared between callers: records from lookup are read-only.
  const cache = new Map<string, AffectedRecord[]>();
  let cachedRows = 0;
  // Point queries cost ~10 µs each (bench/vulndb.ts): KEV, small, is read whole once; every
  // answer is remembered; an empty EPSS table is never queried.
  const kevRows = (db.prepare('SELECT count(*) AS n FROM kev').get() as { n: number }).n;
  let kevAll: Map<string, KevEntry> | undefined;
  const kevCache = new Map<string, KevEntry | undefined>();
  const hasEpss = db.prepare('SELECT 1 AS x FROM epss LIMIT 1').get() !== undefined;
  const epssCache = new Map<string, EpssScore | undefined>();
  const remembered = <T>(answers: Map<string, T | undefined>, cve: string, load: (cve: string) => T | undefined): T | undefined => {
    if (answers.has(cve)) return answers.get(cve);
    if (answers.size >= MAX_CACHED_SCORE_ANSWERS) answers.clear();
    const v = load(cve);
    answers.set(cve, v);
    return v;
  };
  return {
    lookup(namespace: Namespace, name: string): AffectedRecord[] {
      const key = `${namespace}\u0000${name}`;
      const hit = cache.get(key);
      if (hit) return hit;
      const rows = (lookupSt.all(namespace, name) as unknown as LookupRow[]).map(toRecord);
      cache.set(key, rows);
      cachedRows += rows.length + 1;
      for (const [k, v] of cache) {
        if (cachedRows <= MAX_CACHED_LOOKUP_ROWS) break;
        cache.delete(k);
        cachedRows -= v.length + 1;
      }
      return rows;
    },
    hasNamespace(namespace: Namespace): boolean {
      return hasNsSt.get(namespace) !== undefined;
    },
    kev(cve: string): KevEntry | undefined {
      if (kevRows === 0) return undefined;
      if (kevRows <= MAX_PRELOADED_KEV_ROWS) {
        kevAll ??= new Map((db.prepare('SELECT cve, date_added, due_date, ransomware, vendor, product FROM kev').all() as unknown as KevRow[]).map((r) => [r.cve, toKev(r)]));
        return kevAll.get(cve);
      }
      return remembered(kevCache, cve, (c) => {
        const r = kevSt.get(c) as KevRow | undefined;
        return r ? toKev(r) : undefined;
      });
    },
    epss(cve: string): EpssScore | undefined {
      if (!hasEpss) return undefined;
      return remembered(epssCache, cve, (c) => {
        const r = epssSt.get(c) as { cve: string; score: number; percentile: number; date: string } | undefined;
        return r ? { cve: r.cve, score: r.score, percentile: r.percentile, date: r.date } : undefined;
      });
    },
    status(): DbStatus {
      return readStatus(db, path);
    },
    close(): void {
      db.close();
    },
  };
}

function readStatus(db: DatabaseSync, path: string): DbStatus {
  const builtAt = (db.prepare("SELECT value FROM meta WHERE key = 'built_at'").get() as { value: string } | undefined)?.value;
  const feedRows = db.prepare('SELECT source, name, imported_at, advisories, affected, malformed, newest_record FROM feeds ORDER BY source, name').all() as {
    source: string;
    name: string;
    imported_at: string;
    advisories: number;
    affected: number;
    malformed: number;
    newest_record: string | null;
  }[];
  const bySource = new Map<string, SourceStatus>();
  for (const f of feedRows) {
    let s = bySource.get(f.source);
    if (!s) {
      s = { source: f.source, feeds: [], advisories: 0, affectedPackages: 0, importedAt: f.imported_at, malformed: 0 };
      bySource.set(f.source, s);
    }
    s.feeds.push(f.name);
    s.advisories += f.advisories;
    s.affectedPackages += f.affected;
    s.malformed += f.malformed;
    if (f.imported_at > s.importedAt) s.importedAt = f.imported_at;
    if (f.newest_record !== null && (s.newestRecord === undefined || f.newest_record > s.newestRecord)) s.newestRecord = f.newest_record;
  }
  const namespaces = (db.prepare('SELECT namespace, advisories FROM namespaces ORDER BY namespace').all() as { namespace: string; advisories: number }[]).map((r) => ({
    namespace: r.namespace,
    advisories: r.advisories,
  }));
  const kevEntries = (db.prepare('SELECT count(*) AS n FROM kev').get() as { n: number }).n;
  const epssRow = db.prepare('SELECT count(*) AS n, max(date) AS d FROM epss').get() as { n: number; d: string | null };
  const status: DbStatus = { path, schemaVersion: SCHEMA_VERSION, sources: [...bySource.values()], namespaces, kevEntries, epssScores: epssRow.n };
  if (builtAt !== undefined) status.builtAt = builtAt;
  if (epssRow.d !== null) status.epssDate = epssRow.d;
  return status;
}
