/**
 * Opens the store named by a location: a `postgres://` / `postgresql://` URL, or a SQLite file
 * path (default `<data dir>/hullscan.db`). Migrations run on open.
 */
import { join } from 'node:path';
import type { SqlDriver } from './driver.ts';
import { FleetStore } from './fleet-store.ts';
import { migrate } from './migrations.ts';
import { PostgresDriver } from './postgres.ts';
import { SqliteDriver } from './sqlite.ts';

/** A SQLite file path or a PostgreSQL URL. */
export type StoreLocation = string;

export const STORE_FILE = 'hullscan.db';

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

export function defaultStoreLocation(dataDir: string): StoreLocation {
  return join(dataDir, STORE_FILE);
}

export function openDriver(location: StoreLocation): SqlDriver {
  return isPostgresUrl(location) ? new PostgresDriver(location) : new SqliteDriver(location);
}

/** Opens (and migrates) the store. */
export async function openStore(location: StoreLocation): Promise<FleetStore> {
  const driver = openDriver(location);
  try {
    await migrate(driver);
  } catch (err) {
    await driver.close();
    throw err;
  }
  return new FleetStore(driver);
}
