/**
 * One schema for SQLite and PostgreSQL, changed only by appending a migration. Each migration
 * runs in its own transaction and is recorded in schema_migrations; a store written by a newer
 * Hullscan (an unknown version in the table) is refused rather than guessed at.
 *
 * Portable SQL: TEXT ids (UUIDs or the user's ids), ISO-8601 UTC timestamps as TEXT (they sort
 * as time), BIGINT counts, DOUBLE PRECISION scores, INTEGER 0/1 flags, JSON as TEXT. Only the
 * byte type differs ({{bytes}}: BLOB / BYTEA).
 */
import { AUTH_MIGRATION } from './auth-store.ts';
import { StoreError, type Dialect, type SqlDriver } from './driver.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'fleet: accounts, clusters, pools, nodes, runs, node scans, inventories, findings, alerts, leases',
    sql: `
CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  external_id TEXT NOT NULL,
  name TEXT NOT NULL,
  settings TEXT NOT NULL,
  settings_version BIGINT NOT NULL,
  config_settings TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (provider, external_id)
);
CREATE TABLE account_settings_history (
  account_id TEXT NOT NULL REFERENCES accounts(id),
  version BIGINT NOT NULL,
  settings TEXT NOT NULL,
  changed_by TEXT NOT NULL,
  changed_at TEXT NOT NULL,
  PRIMARY KEY (account_id, version)
);
CREATE TABLE clusters (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  name TEXT NOT NULL,
  provider_id TEXT,
  region TEXT,
  kubernetes_version TEXT,
  tags TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  gone_at TEXT,
  UNIQUE (account_id, name)
);
CREATE TABLE node_pools (
  id TEXT PRIMARY KEY,
  cluster_id TEXT NOT NULL REFERENCES clusters(id),
  account_id TEXT NOT NULL REFERENCES accounts(id),
  name TEXT NOT NULL,
  os_sku TEXT,
  image_family TEXT,
  image_version TEXT,
  latest_image_version TEXT,
  vm_size TEXT,
  node_count BIGINT NOT NULL,
  mode TEXT,
  tags TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  gone_at TEXT,
  UNIQUE (cluster_id, name)
);
CREATE TABLE inventories (
  id TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL,
  os TEXT,
  package_count BIGINT NOT NULL,
  data {{bytes}} NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE nodes (
  id TEXT PRIMARY KEY,
  pool_id TEXT NOT NULL REFERENCES node_pools(id),
  cluster_id TEXT NOT NULL REFERENCES clusters(id),
  account_id TEXT NOT NULL REFERENCES accounts(id),
  name TEXT NOT NULL,
  provider_id TEXT,
  kernel TEXT,
  os_image TEXT,
  disk_ref TEXT,
  ephemeral_os_disk INTEGER NOT NULL,
  tags TEXT NOT NULL,
  current_inventory_id TEXT REFERENCES inventories(id),
  last_scan_id TEXT,
  last_published_at TEXT,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  gone_at TEXT,
  UNIQUE (pool_id, name)
);
CREATE INDEX nodes_account ON nodes (account_id, cluster_id);
CREATE TABLE scan_runs (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  trigger TEXT NOT NULL,
  state TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  scope TEXT,
  nodes_total BIGINT NOT NULL,
  nodes_published BIGINT NOT NULL,
  nodes_failed BIGINT NOT NULL,
  nodes_skipped BIGINT NOT NULL,
  error TEXT,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT
);
CREATE INDEX scan_runs_account ON scan_runs (account_id, created_at);
CREATE INDEX scan_runs_state ON scan_runs (state);
CREATE TABLE node_scans (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES scan_runs(id),
  node_id TEXT NOT NULL REFERENCES nodes(id),
  account_id TEXT NOT NULL REFERENCES accounts(id),
  state TEXT NOT NULL,
  reason TEXT,
  reason_detail TEXT,
  inventory_id TEXT REFERENCES inventories(id),
  inventory_source TEXT,
  fingerprint TEXT,
  bytes_read BIGINT NOT NULL,
  duration_ms BIGINT,
  findings_count BIGINT,
  alerts_count BIGINT,
  coverage TEXT,
  attempts BIGINT NOT NULL,
  worker TEXT,
  heartbeat_at TEXT,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  UNIQUE (run_id, node_id)
);
CREATE INDEX node_scans_state ON node_scans (state, created_at);
CREATE INDEX node_scans_node ON node_scans (node_id, created_at);
CREATE TABLE vulnerabilities (
  id TEXT PRIMARY KEY,
  summary TEXT,
  aliases TEXT NOT NULL,
  cvss TEXT NOT NULL,
  cvss_score DOUBLE PRECISION,
  epss DOUBLE PRECISION,
  epss_percentile DOUBLE PRECISION,
  kev TEXT,
  updated_at TEXT NOT NULL
);
CREATE TABLE findings (
  id TEXT PRIMARY KEY,
  node_id TEXT NOT NULL REFERENCES nodes(id),
  pool_id TEXT NOT NULL,
  cluster_id TEXT NOT NULL,
  account_id TEXT NOT NULL,
  finding_key TEXT NOT NULL,
  vulnerability_id TEXT NOT NULL,
  package_name TEXT NOT NULL,
  package_type TEXT NOT NULL,
  installed_version TEXT NOT NULL,
  fixed_version TEXT,
  state TEXT NOT NULL,
  severity TEXT NOT NULL,
  severity_rank INTEGER NOT NULL,
  kernel_release TEXT,
  detail_hash TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  resolved_at TEXT,
  last_scan_id TEXT NOT NULL,
  UNIQUE (node_id, finding_key)
);
CREATE INDEX findings_open_vuln ON findings (resolved_at, vulnerability_id);
CREATE TABLE finding_details (
  hash TEXT PRIMARY KEY,
  data TEXT NOT NULL
);
CREATE TABLE inventory_keys (
  key TEXT PRIMARY KEY,
  inventory_id TEXT NOT NULL REFERENCES inventories(id),
  created_at TEXT NOT NULL
);
CREATE INDEX findings_open_scope ON findings (account_id, cluster_id, pool_id, resolved_at);
CREATE INDEX findings_open_severity ON findings (resolved_at, severity_rank, vulnerability_id);
CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  node_id TEXT NOT NULL REFERENCES nodes(id),
  pool_id TEXT NOT NULL,
  cluster_id TEXT NOT NULL,
  account_id TEXT NOT NULL,
  alert_key TEXT NOT NULL,
  kind TEXT NOT NULL,
  engine TEXT NOT NULL,
  rule TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  severity TEXT NOT NULL,
  status TEXT NOT NULL,
  status_reason TEXT,
  status_by TEXT,
  status_at TEXT,
  data TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  resolved_at TEXT,
  last_scan_id TEXT NOT NULL,
  UNIQUE (node_id, alert_key)
);
CREATE INDEX alerts_status ON alerts (account_id, status);
CREATE TABLE snapshot_leases (
  id TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  account_id TEXT NOT NULL,
  node_id TEXT,
  node_scan_id TEXT,
  disk_ref TEXT NOT NULL,
  snapshot_ref TEXT,
  state TEXT NOT NULL,
  owner TEXT NOT NULL,
  error TEXT,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  deleted_at TEXT
);
CREATE INDEX snapshot_leases_open ON snapshot_leases (state, expires_at);
CREATE TABLE store_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'security views: exemptions, alert suppression rules, alert status history, recommendation thresholds; indexes of the Findings list and the CVE pane',
    sql: `
CREATE TABLE exemptions (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  cluster_id TEXT,
  pool_id TEXT,
  node_id TEXT,
  scope_label TEXT NOT NULL,
  vulnerability_pattern TEXT,
  package_pattern TEXT,
  reason TEXT NOT NULL,
  owner TEXT NOT NULL,
  note TEXT,
  expires_at TEXT,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  removed_by TEXT,
  removed_at TEXT
);
CREATE INDEX exemptions_account ON exemptions (account_id, removed_at);
CREATE TABLE alert_suppressions (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  cluster_id TEXT,
  pool_id TEXT,
  node_id TEXT,
  scope_label TEXT NOT NULL,
  path_glob TEXT,
  rule TEXT,
  sha256 TEXT,
  reason TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  removed_by TEXT,
  removed_at TEXT
);
CREATE INDEX alert_suppressions_account ON alert_suppressions (account_id, removed_at);
CREATE TABLE alert_status_history (
  alert_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  status TEXT NOT NULL,
  reason TEXT,
  changed_by TEXT NOT NULL,
  changed_at TEXT NOT NULL,
  PRIMARY KEY (alert_id, seq)
);
CREATE TABLE security_settings (
  account_id TEXT PRIMARY KEY REFERENCES accounts(id),
  severity_threshold TEXT NOT NULL,
  changed_by TEXT NOT NULL,
  changed_at TEXT NOT NULL
);
CREATE TABLE finding_rollup (
  pool_id TEXT NOT NULL,
  vulnerability_id TEXT NOT NULL,
  account_id TEXT NOT NULL,
  cluster_id TEXT NOT NULL,
  severity_rank INTEGER NOT NULL,
  findings BIGINT NOT NULL,
  exempt_findings BIGINT NOT NULL,
  nodes BIGINT NOT NULL,
  fixable INTEGER NOT NULL,
  first_seen TEXT NOT NULL,
  packages TEXT NOT NULL,
  states TEXT NOT NULL,
  fixed_versions TEXT NOT NULL,
  PRIMARY KEY (pool_id, vulnerability_id)
);
CREATE INDEX finding_rollup_vuln ON finding_rollup (vulnerability_id, severity_rank);
CREATE TABLE finding_rollup_state (
  pool_id TEXT PRIMARY KEY,
  stamp TEXT NOT NULL,
  affected_nodes TEXT NOT NULL,
  built_at TEXT NOT NULL
);
CREATE INDEX findings_pool_open ON findings (pool_id, resolved_at, vulnerability_id, node_id, severity_rank, first_seen, fixed_version, package_name, state);
CREATE INDEX findings_cluster_history ON findings (cluster_id, severity_rank, first_seen, resolved_at)
`,
  },
  // The API's tokens, role assignments, sessions, audit log and idempotency keys (issue #14).
  AUTH_MIGRATION,
];

export function migrationSql(m: Migration, dialect: Dialect): string {
  return m.sql.replaceAll('{{bytes}}', dialect === 'postgres' ? 'BYTEA' : 'BLOB');
}

/** Brings the schema up to the newest migration; returns the versions applied now. */
export async function migrate(driver: SqlDriver, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  await driver.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const newest = migrations.reduce((n, m) => Math.max(n, m.version), 0);
  const applied: number[] = [];
  for (const m of migrations) {
    const done = await driver.transaction(async (tx) => {
      // Two processes starting at once: PostgreSQL serialises them on an advisory lock, SQLite
      // on BEGIN IMMEDIATE; the loser finds the version recorded and moves on.
      if (tx.dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock(7220011) AS locked');
      const known = await tx.all<{ version: number }>('SELECT version FROM schema_migrations');
      const beyond = known.find((k) => k.version > newest);
      if (beyond) throw new StoreError(`the store has schema version ${beyond.version}, newer than this Hullscan knows (${newest}); upgrade Hullscan`);
      if (known.some((k) => k.version === m.version)) return false;
      for (const statement of migrationSql(m, tx.dialect).split(';').map((s) => s.trim()).filter(Boolean)) {
        await tx.run(statement);
      }
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, new Date().toISOString()]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  return applied;
}
