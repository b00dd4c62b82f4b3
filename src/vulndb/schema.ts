/**
 * The vulnerability database's SQLite schema, version {@link SCHEMA_VERSION} (kept in
 * `PRAGMA user_version`). The database is derived data: a file with another version is not
 * migrated but rebuilt (`hullscan db update`, or `db import` of the raw feeds kept beside it).
 * See docs/vulndb.md for the meaning of every column.
 */

/** 2: `affected.vendor_status` (the vendor's triage word and note: UCT, Debian "unimportant"). */
export const SCHEMA_VERSION = 2;

export const SCHEMA_SQL = `
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

-- One row per imported feed file (or URL). A re-import of the same name replaces it.
CREATE TABLE feeds (
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  name TEXT NOT NULL UNIQUE,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  raw_stored INTEGER NOT NULL,
  imported_at TEXT NOT NULL,
  advisories INTEGER NOT NULL,
  affected INTEGER NOT NULL,
  kev INTEGER NOT NULL,
  epss INTEGER NOT NULL,
  malformed INTEGER NOT NULL,
  malformed_examples TEXT NOT NULL,
  skipped TEXT NOT NULL,
  newest_record TEXT
) STRICT;

CREATE TABLE advisories (
  rowid INTEGER PRIMARY KEY,
  feed_id INTEGER NOT NULL,
  id TEXT NOT NULL,
  source TEXT NOT NULL,
  feed TEXT NOT NULL,
  aliases TEXT NOT NULL,
  published TEXT,
  modified TEXT,
  summary TEXT,
  cvss TEXT NOT NULL,
  refs TEXT NOT NULL
) STRICT;
CREATE INDEX advisories_feed ON advisories (feed_id);
CREATE INDEX advisories_id ON advisories (id);

CREATE TABLE affected (
  advisory INTEGER NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  name_kind TEXT NOT NULL,
  version_scheme TEXT NOT NULL,
  state TEXT NOT NULL,
  ranges TEXT NOT NULL,
  versions TEXT,
  vendor_source TEXT,
  vendor_level TEXT,
  vendor_severity TEXT,
  vendor_status TEXT
) STRICT;
CREATE INDEX affected_lookup ON affected (namespace, name);
CREATE INDEX affected_advisory ON affected (advisory);

CREATE TABLE kev (
  cve TEXT PRIMARY KEY,
  feed_id INTEGER NOT NULL,
  date_added TEXT NOT NULL,
  due_date TEXT,
  ransomware TEXT,
  vendor TEXT,
  product TEXT
) STRICT;

CREATE TABLE epss (
  cve TEXT PRIMARY KEY,
  feed_id INTEGER NOT NULL,
  score REAL NOT NULL,
  percentile REAL NOT NULL,
  date TEXT NOT NULL
) STRICT;

-- Recomputed at the end of every import.
CREATE TABLE namespaces (
  namespace TEXT PRIMARY KEY,
  advisories INTEGER NOT NULL,
  affected INTEGER NOT NULL
) STRICT;
`;
