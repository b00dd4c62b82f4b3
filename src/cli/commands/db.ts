/**
 * `hullscan db import|update|status`: the local vulnerability database (src/vulndb/, docs/vulndb.md).
 */
import { parseDuration } from '../units.ts';
import { ArgumentError, parseOptions } from '../args.ts';
import { UsageError } from '../../util/errors.ts';
import type { DbStatus } from '../../vulndb/index.ts';
import type { ImportReport } from '../../vulndb/store.ts';
import type { FeedUrls } from '../../vulndb/update.ts';
import { renderTable } from '../table.ts';
import { DEFAULT_CATALOG_SOURCE_URL, DEFAULT_MAX_NEW_PER_FAMILY } from '../../catalog/refresh.ts';
import type { RefreshReport } from '../../catalog/refresh.ts';
import type { FetchOptions } from '../../vulndb/fetch.ts';

/** `db status` exit code when the database (or one of its sources) is older than --max-age. */
export const EXIT_STALE = 1;
export const DEFAULT_MAX_AGE = '72h';

const DB_OPTION = `      --db PATH              Database file (default: $HULLSCAN_DB, else
                             $XDG_DATA_HOME/hullscan/vuln.db, else ~/.local/share/hullscan/vuln.db).`;
const PRIVATE_URLS_OPTION = `      --allow-private-urls   Allow http:// and loopback / private addresses (tests, internal
                             mirrors). Cloud metadata addresses stay refused.`;
const HELP_OPTION = '  -h, --help                 Show this help.';

export const DB_IMPORT_HELP = `Usage: hullscan db import <file|dir|url>… [--db PATH] [--allow-private-urls]

Imports feed files offline: OSV (JSON, JSONL, .gz, a directory, an ecosystem all.zip),
Azure Linux / CBL-Mariner OVAL XML(.gz), Alpine secdb JSON, CISA KEV JSON, FIRST EPSS
CSV(.gz). The kind is detected from the content. Re-importing a file replaces what it
imported before. The bundled snapshot: hullscan db import data/vulndb/*

Options:
${DB_OPTION}
${PRIVATE_URLS_OPTION}
${HELP_OPTION}
`;

export const DB_UPDATE_HELP = `Usage: hullscan db update [--db PATH] [--source-url ID=URL|ID=off]… [--config FILE] [--allow-private-urls]
                          [--catalog | --catalog-only] [--catalog-url URL] [--catalog-max-new N]

Downloads the public feeds and rebuilds the database (osv-debian, osv-ubuntu, osv-alpine,
osv-go, azurelinux-3.0-oval, mariner-2.0-oval, kev, epss). A failed download keeps the
previous database. With --catalog (or --catalog-only) it also refreshes the node-image
catalogue from the AKS release notes into PATH.catalog/ (docs/node-images.md); a family that
fails keeps its previous catalogue.

Options:
${DB_OPTION}
      --source-url ID=URL    Fetch feed ID from URL; ID=off drops a feed, a new ID adds one (repeatable).
      --config FILE          JSON: {"feeds": {ID: URL|false}, "timeoutSeconds", "maxBytes", "allowPrivateUrls"}.
      --catalog              Also refresh the node-image catalogue.
      --catalog-only         Refresh only the node-image catalogue (no feeds).
      --catalog-url URL      Root of the release-notes folders (default: $HULLSCAN_CATALOG_URL, else
                             ${DEFAULT_CATALOG_SOURCE_URL}).
      --catalog-max-new N    Release notes fetched per image family and run, newest first (default ${DEFAULT_MAX_NEW_PER_FAMILY}).
${PRIVATE_URLS_OPTION}
${HELP_OPTION}
`;

export const DB_STATUS_HELP = `Usage: hullscan db status [--db PATH] [--max-age 72h] [--format table|json]

Sources, record counts, newest record, built at. Exit code ${EXIT_STALE} with a WARNING when the
database or a source is older than --max-age.

Options:
${DB_OPTION}
      --max-age AGE          Oldest acceptable age (units s, m, h, d, w; default ${DEFAULT_MAX_AGE}).
      --format F             table (default) or json.
${HELP_OPTION}
`;

/** All three subcommands' help (`db()` without a subcommand). */
export const DB_HELP = [DB_IMPORT_HELP, DB_UPDATE_HELP, DB_STATUS_HELP].join('\n');

type Out = (s: string) => void;

export async function db(sub: string | undefined, args: string[], out: Out, err: Out = (s) => process.stderr.write(s)): Promise<number> {
  if (sub === 'import') return dbImport(args, out);
  if (sub === 'update') return dbUpdate(args, out, err);
  if (sub === 'status') return dbStatus(args, out, err);
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    out(DB_HELP);
    return sub === undefined ? 2 : 0;
  }
  throw new UsageError(`unknown db command '${sub}': expected import, update or status`);
}

export async function dbImport(args: string[], out: Out): Promise<number> {
  const { values, positionals } = parseOptions({
    args,
    allowPositionals: true,
    options: { db: { type: 'string' }, 'allow-private-urls': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    out(DB_IMPORT_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new ArgumentError('db import needs at least one feed file, directory or URL');
  // The database code is loaded only now: `--help` and usage errors need none of it.
  const { defaultDbPath, importFeeds } = await import('../../vulndb/store.ts');
  const path = defaultDbPath(values.db);
  const report = await importFeeds(path, positionals, { fetch: { allowPrivateUrls: values['allow-private-urls'] === true } });
  out(renderImport(report));
  return 0;
}

export async function dbUpdate(args: string[], out: Out, err: Out): Promise<number> {
  const { values, positionals } = parseOptions({
    args,
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      'source-url': { type: 'string', multiple: true },
      config: { type: 'string' },
      'allow-private-urls': { type: 'boolean' },
      catalog: { type: 'boolean' },
      'catalog-only': { type: 'boolean' },
      'catalog-url': { type: 'string' },
      'catalog-max-new': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    out(DB_UPDATE_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new ArgumentError(`db update takes no arguments (got ${positionals.length}); use db import for files`);
  const maxNew = values['catalog-max-new'] === undefined ? undefined : Number(values['catalog-max-new']);
  if (maxNew !== undefined && !(Number.isInteger(maxNew) && maxNew >= 0 && maxNew <= 1000)) throw new ArgumentError('--catalog-max-new expects a whole number from 0 to 1000');
  const catalogUrl = values['catalog-url'] ?? process.env['HULLSCAN_CATALOG_URL'];
  const [{ defaultDbPath }, { parseSourceUrl, readUpdateConfig, resolveFeeds, updateDb }] = await Promise.all([import('../../vulndb/store.ts'), import('../../vulndb/update.ts')]);
  const config = values.config === undefined ? { feeds: {}, fetch: {} } : await readUpdateConfig(values.config);
  const overrides: FeedUrls = {};
  for (const arg of values['source-url'] ?? []) {
    const [id, url] = parseSourceUrl(arg);
    overrides[id] = url;
  }
  const fetch = { ...config.fetch };
  if (values['allow-private-urls']) fetch.allowPrivateUrls = true;
  const path = defaultDbPath(values.db);
  if (!values['catalog-only']) {
    const report = await updateDb(path, resolveFeeds(config.feeds, overrides), {
      fetch,
      onProgress: (e) => err(e.phase === 'download' ? `downloading ${e.id}: ${e.url}\n` : `downloaded ${e.id}: ${e.bytes ?? 0} bytes\n`),
    });
    out(renderImport(report));
  }
  if (values.catalog || values['catalog-only']) await catalogUpdate(path, fetch, { ...(catalogUrl !== undefined && catalogUrl !== '' && { url: catalogUrl }), ...(maxNew !== undefined && { maxNew }) }, out, err);
  return 0;
}

/** Refreshes the node-image catalogue next to the database; a SourceError (exit 3) when a family could not be refreshed. */
async function catalogUpdate(dbPath: string, fetch: FetchOptions, o: { url?: string; maxNew?: number }, out: Out, err: Out): Promise<void> {
  const [{ catalogDirForDb, loadCatalog }, { refreshCatalog }, { fetchFeed }, { checkUrl }, { SourceError }] = await Promise.all([import('../../catalog/load.ts'), import('../../catalog/refresh.ts'), import('../../vulndb/fetch.ts'), import('../../vulndb/update.ts'), import('../../util/errors.ts')]);
  if (o.url !== undefined) checkUrl(o.url, '--catalog-url');
  const dir = catalogDirForDb(dbPath);
  const report = await refreshCatalog({
    dir,
    current: loadCatalog({ extraDirs: [dir] }),
    download: (url, maxBytes) => fetchFeed(url, { ...fetch, maxBytes: Math.min(maxBytes, fetch.maxBytes ?? maxBytes) }),
    ...(o.url !== undefined && { sourceUrl: o.url }),
    ...(o.maxNew !== undefined && { maxNewPerFamily: o.maxNew }),
    onProgress: (e) => err(e.phase === 'list' ? `listing ${e.family}: ${e.url}\n` : `fetching ${e.family} release notes: ${e.url}\n`),
  });
  out(renderCatalogRefresh(report));
  const failed = report.families.filter((f) => f.error !== undefined);
  if (failed.length > 0) throw new SourceError(`node-image catalogue not refreshed for ${failed.map((f) => `${f.family} (${f.error})`).join('; ')}; its previous catalogue is kept`);
}

function renderCatalogRefresh(r: RefreshReport): string {
  const rows = r.families.map((f) => [f.family, String(f.published), f.added.length === 0 ? '-' : f.added.join(' '), String(f.malformed.length), String(f.deferred), f.error === undefined ? 'ok' : 'FAILED (previous catalogue kept)']);
  let s = `Node-image catalogue ${r.dir}\n` + renderTable(['FAMILY', 'PUBLISHED', 'ADDED', 'MALFORMED', 'DEFERRED', 'STATUS'], rows);
  for (const f of r.families) {
    for (const m of f.malformed) s += `\n${f.family} ${m.version}: malformed release notes, skipped: ${m.reason}\n`;
    if (f.error !== undefined) s += `\n${f.family}: ${f.error}\n`;
  }
  return s;
}

function renderImport(r: ImportReport): string {
  const rows = r.feeds.map((f) => [
    f.source,
    f.name,
    String(f.advisories),
    String(f.affected),
    String(f.malformed),
    Object.entries(f.skipped)
      .map(([k, n]) => `${k}=${n}`)
      .join(' '),
  ]);
  let s = `Database ${r.dbPath} built at ${r.builtAt}\n` + renderTable(['SOURCE', 'FEED', 'RECORDS', 'AFFECTED', 'MALFORMED', 'SKIPPED'], rows);
  for (const f of r.feeds) {
    if (f.malformed === 0) continue;
    s += `\n${f.malformed} malformed record(s) in ${f.name} were counted and skipped, e.g.:\n`;
    for (const e of f.malformedExamples.slice(0, 5)) s += `  ${e}\n`;
  }
  return s;
}

/** "72h" → milliseconds. */
export function parseAge(text: string): number {
  return parseDuration(text, '--max-age');
}

/** Warnings for a database older than maxAgeMs: the build, and each source's newest record. */
export function staleness(status: DbStatus, maxAgeMs: number, now: Date): string[] {
  const warnings: string[] = [];
  const limit = now.getTime() - maxAgeMs;
  const age = (iso: string): string => {
    const hours = Math.floor((now.getTime() - Date.parse(iso)) / 3_600_000);
    return hours < 48 ? `${hours} h` : `${Math.floor(hours / 24)} days`;
  };
  if (status.builtAt === undefined) warnings.push('the database has never been built');
  else if (Date.parse(status.builtAt) < limit) warnings.push(`the database was built at ${status.builtAt}, ${age(status.builtAt)} ago: run 'hullscan db update'`);
  for (const s of status.sources) {
    // Undated feeds (Alpine secdb) are judged by the build time alone.
    if (s.newestRecord !== undefined && Date.parse(s.newestRecord) < limit) warnings.push(`source ${s.source}: newest record is from ${s.newestRecord}, ${age(s.newestRecord)} ago`);
  }
  if (status.sources.length === 0) warnings.push('the database holds no feed');
  return warnings;
}

export async function dbStatus(args: string[], out: Out, err: Out): Promise<number> {
  const { values, positionals } = parseOptions({
    args,
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      'max-age': { type: 'string', default: DEFAULT_MAX_AGE },
      format: { type: 'string', default: 'table' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    out(DB_STATUS_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new ArgumentError('db status takes no arguments');
  if (values.format !== 'table' && values.format !== 'json') throw new UsageError(`--format must be table or json, got "${values.format.slice(0, 20)}"`);
  const maxAgeMs = parseAge(values['max-age']);
  const { defaultDbPath, openVulnDb } = await import('../../vulndb/store.ts');
  const v = openVulnDb(defaultDbPath(values.db));
  let status: DbStatus;
  try {
    status = v.status();
  } finally {
    v.close();
  }
  const warnings = staleness(status, maxAgeMs, new Date());
  if (values.format === 'json') {
    out(JSON.stringify({ ...status, maxAge: values['max-age'], stale: warnings.length > 0, warnings }, null, 2) + '\n');
  } else {
    out(`Database ${status.path} (schema ${status.schemaVersion}), built at ${status.builtAt ?? 'never'}\n`);
    out(
      renderTable(
        ['SOURCE', 'FEEDS', 'RECORDS', 'AFFECTED', 'MALFORMED', 'NEWEST RECORD', 'IMPORTED AT'],
        status.sources.map((s) => [s.source, String(s.feeds.length), String(s.advisories), String(s.affectedPackages), String(s.malformed), s.newestRecord ?? '-', s.importedAt]),
      ),
    );
    out(`Namespaces: ${status.namespaces.map((n) => `${n.namespace} (${n.advisories})`).join(', ') || 'none'}\n`);
    out(`KEV entries: ${status.kevEntries}; EPSS scores: ${status.epssScores}${status.epssDate ? ` (${status.epssDate})` : ''}\n`);
  }
  for (const w of warnings) err(`WARNING: ${w}\n`);
  return warnings.length > 0 ? EXIT_STALE : 0;
}
