/**
 * store/ — the control plane's one store: accounts and their settings, clusters → node pools →
 * nodes, scan runs and node scans, inventories (shared by fingerprint), findings and alerts
 * with their history, and the snapshot lease ledger. Central interface: {@link FleetStore}
 * (store/fleet-store.ts), a typed query layer over a {@link SqlDriver} — SQLite by default,
 * PostgreSQL at scale, one schema (store/migrations.ts) and one conformance suite for both.
 */
export type { SqlDriver, SqlExecutor, SqlValue, Dialect } from './driver.ts';
export { ConflictError, StoreError } from './driver.ts';
export * from './model.ts';
export { FleetStore } from './fleet-store.ts';
export { SecurityStore } from './security-store.ts';
export { openStore, type StoreLocation } from './open.ts';
export { AuthStore, ROLES, type Role, type Grant, type ApiToken, type RoleAssignment, type AuditEntry, type AuditInput, type Session } from './auth-store.ts';
