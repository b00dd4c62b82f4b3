/**
 * The SQL seam under the store: one small interface with two implementations, SQLite
 * (`node:sqlite`, the embedded default) and PostgreSQL (`pg`). Repositories write portable SQL
 * with `?` placeholders; the PostgreSQL driver numbers them. Both drivers return integers as
 * JavaScript numbers (PostgreSQL's int8 and numeric would otherwise arrive as strings).
 */
export type SqlValue = string | number | null | Uint8Array;
export type Dialect = 'sqlite' | 'postgres';

/** Runs statements: the driver itself, or the handle a transaction body gets. */
export interface SqlExecutor {
  readonly dialect: Dialect;
  /** Rows of a query. */
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The first row, or undefined. */
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface SqlDriver extends SqlExecutor {
  /** Bound parameters one statement may carry (SQLite's SQLITE_MAX_VARIABLE_NUMBER; PostgreSQL's 65,535). */
  readonly maxParams: number;
  /**
   * Runs `body` in one transaction: committed when it resolves, rolled back when it throws.
   * Other callers of the same driver wait until it ends, so no reader in this process sees a
   * half-written transaction either.
   */
  transaction<T>(body: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Runs a script of several DDL statements (migrations). */
  exec(script: string): Promise<void>;
  /** What the store is, for logs: a file path or a URL without its password. */
  readonly description: string;
  close(): Promise<void>;
}

/** Splits rows into batches whose parameters fit one statement. */
export function batches<T>(rows: readonly T[], columnsPerRow: number, maxParams: number, maxRows = 500): T[][] {
  const per = Math.max(1, Math.min(maxRows, Math.floor(maxParams / columnsPerRow)));
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += per) out.push(rows.slice(i, i + per));
  return out;
}

/** `(?, ?, ?), (?, ?, ?)` for a multi-row VALUES list. */
export function valuesList(rows: number, columns: number): string {
  const one = `(${Array.from({ length: columns }, () => '?').join(', ')})`;
  return Array.from({ length: rows }, () => one).join(', ');
}

/** A store error: a failed query, a refused migration, a conflicting update. */
export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** An optimistic-concurrency conflict: the row changed since the caller read it. */
export class ConflictError extends StoreError {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}
