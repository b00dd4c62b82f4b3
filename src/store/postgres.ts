/**
 * The store driver at scale: PostgreSQL through `pg` (a connection pool). Repositories write
 * `?` placeholders; they are numbered here ($1, $2 …) outside string literals. int8 and numeric
 * columns come back as JavaScript numbers, as on SQLite (counts never exceed 2^53 here).
 */
import pg from 'pg';
import { StoreError, type Dialect, type SqlDriver, type SqlExecutor, type SqlValue } from './driver.ts';

/** PostgreSQL's limit of bind parameters per statement (a 16-bit count on the wire). */
const POSTGRES_MAX_PARAMS = 65_535;
const INT8_OID = 20;
const NUMERIC_OID = 1700;
/** Connections per process. */
const DEFAULT_POOL_SIZE = 8;

/** Numbers `?` placeholders as $1, $2 … skipping quoted literals and identifiers. */
export function numberPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  let quote: string | undefined;
  for (const ch of sql) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '?') {
      out += `$${++n}`;
    } else {
      out += ch;
    }
  }
  return out;
}

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (v: string) => (v === null ? null : Number(v));
    return pg.types.getTypeParser(oid, format);
  },
};

function toParams(params: readonly SqlValue[]): unknown[] {
  return params.map((p) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : p));
}

/** bytea arrives as a Buffer: hand callers a plain Uint8Array view as SQLite does. */
function normalizeRow(row: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(row)) {
    if (Buffer.isBuffer(v)) row[k] = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  return row;
}

class PgExecutor implements SqlExecutor {
  readonly dialect: Dialect = 'postgres';
  readonly #client: pg.Pool | pg.PoolClient;
  readonly #sql = new Map<string, string>();
  constructor(client: pg.Pool | pg.PoolClient) {
    this.#client = client;
  }

  #text(sql: string): string {
    let t = this.#sql.get(sql);
    if (t === undefined) {
      t = numberPlaceholders(sql);
      this.#sql.set(sql, t);
    }
    return t;
  }

  async #query(sql: string, params: readonly SqlValue[]): Promise<pg.QueryResult> {
    try {
      return await this.#client.query({ text: this.#text(sql), values: toParams(params), types });
    } catch (err) {
      throw new StoreError(`PostgreSQL query failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.#query(sql, params)).rows.map(normalizeRow) as T[];
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    const rows = (await this.#query(sql, params)).rows;
    return rows.length === 0 ? undefined : (normalizeRow(rows[0]) as T);
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.#query(sql, params)).rowCount ?? 0;
  }
}

/** The URL as shown in logs: no password. */
export function redactPostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable url)';
  }
}

export class PostgresDriver implements SqlDriver {
  readonly dialect: Dialect = 'postgres';
  readonly maxParams = POSTGRES_MAX_PARAMS;
  readonly description: string;
  readonly #pool: pg.Pool;
  readonly #exec: PgExecutor;

  constructor(url: string, options: { poolSize?: number } = {}) {
    this.description = redactPostgresUrl(url);
    this.#pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? DEFAULT_POOL_SIZE });
    // An idle client's error (server restart) must not crash the process; the next query reconnects.
    this.#pool.on('error', () => {});
    this.#exec = new PgExecutor(this.#pool);
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.#exec.all<T>(sql, params);
  }

  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.#exec.get<T>(sql, params);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.#exec.run(sql, params);
  }

  async transaction<T>(body: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw new StoreError(`cannot connect to PostgreSQL (${this.description}): ${(err as Error).message}`, { cause: err });
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      try {
        const result = await body(new PgExecutor(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw err;
      }
    } finally {
      client.release(broken);
    }
  }

  async exec(script: string): Promise<void> {
    try {
      await this.#pool.query(script);
    } catch (err) {
      throw new StoreError(`PostgreSQL script failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
