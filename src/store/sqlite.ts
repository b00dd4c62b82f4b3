/**
 * The embedded store driver: one SQLite file through `node:sqlite` (no native addon), in WAL
 * mode so that readers in other processes (`hullscan findings` while `hullscan serve` scans)
 * read the last committed state while a node scan is being published.
 *
 * node:sqlite is synchronous; the driver still awaits between statements of a transaction body,
 * so it keeps a queue: while a transaction is open, every other caller of this driver waits for
 * it to end instead of running inside it.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { StoreError, type Dialect, type SqlDriver, type SqlExecutor, type SqlValue } from './driver.ts';

/** SQLite's default SQLITE_MAX_VARIABLE_NUMBER since 3.32. */
const SQLITE_MAX_PARAMS = 32_766;
/** How long a writer waits for another process's write lock before failing (ms). */
const BUSY_TIMEOUT_MS = 15_000;
/** Prepared statements kept per connection. */
const STATEMENT_CACHE_SIZE = 256;

class SqliteExecutor implements SqlExecutor {
  readonly dialect: Dialect = 'sqlite';
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  statement(sql: string): StatementSync {
    let s = this.#statements.get(sql);
    if (s === undefined) {
      try {
        s = this.#db.prepare(sql);
      } catch (err) {
        throw new StoreError(`SQLite could not prepare a statement: ${(err as Error).message}`, { cause: err });
      }
      if (this.#statements.size >= STATEMENT_CACHE_SIZE) this.#statements.delete(this.#statements.keys().next().value!);
      this.#statements.set(sql, s);
    }
    return s;
  }

  all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return Promise.resolve(this.statement(sql).all(...(params as SqlValue[])) as T[]);
  }

  get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return Promise.resolve(this.statement(sql).get(...(params as SqlValue[])) as T | undefined);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return Promise.resolve(Number(this.statement(sql).run(...(params as SqlValue[])).changes));
  }
}

export class SqliteDriver implements SqlDriver {
  readonly dialect: Dialect = 'sqlite';
  readonly maxParams = SQLITE_MAX_PARAMS;
  readonly description: string;
  readonly #db: DatabaseSync;
  readonly #exec: SqliteExecutor;
  /** Resolves when the open transaction (if any) has ended. */
  #idle: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.description = path;
    try {
      this.#db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
      this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
    } catch (err) {
      throw new StoreError(`cannot open the store ${path}: ${(err as Error).message}`, { cause: err });
    }
    this.#exec = new SqliteExecutor(this.#db);
  }

  async all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    await this.#idle;
    return this.#exec.all<T>(sql, params);
  }

  async get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    await this.#idle;
    return this.#exec.get<T>(sql, params);
  }

  async run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    await this.#idle;
    return this.#exec.run(sql, params);
  }

  async transaction<T>(body: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    // Chain behind any open transaction; callers arriving meanwhile chain behind this one.
    let release!: () => void;
    const previous = this.#idle;
    this.#idle = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        const result = await body(this.#exec);
        this.#db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
        throw err;
      }
    } finally {
      release();
    }
  }

  async exec(script: string): Promise<void> {
    await this.#idle;
    this.#db.exec(script);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#idle;
    this.#closed = true;
    this.#db.close();
  }
}
