/**
 * A real PostgreSQL for the tests: Debian's `postgresql` server binaries (scripts/apt-packages.txt),
 * started once per test run by test/global-setup.ts on a temporary directory and a free loopback
 * port (as the `postgres` user when the tests run as root: the server refuses root), and stopped
 * after it. Tests get their own database each (`postgresDatabase`), dropped when they end.
 *
 * HULLSCAN_TEST_POSTGRES_URL points at it (or at a server you run yourself). Without it the
 * PostgreSQL tests skip and say why — except in CI (CI=true), where they fail: CI installs the
 * server, so a missing one is a broken set-up, not an opt-out.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './tools.ts';

export const POSTGRES_ENV = 'HULLSCAN_TEST_POSTGRES_URL';

export interface RunningPostgres {
  url: string;
  dir: string;
  stop(): void;
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0]!, 'bin') : undefined;
}


/** Starts a throwaway server; throws with the reason when it cannot. */
export async function startPostgres(): Promise<RunningPostgres> {
  const bin = binDir();
  if (bin === undefined) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)');
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'hullscan-pg-'));
  const run = (cmd: string, args: string[]) => {
    const full = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] as const : [join(bin, cmd), args] as const;
    const r = spawnSync(full[0], [...full[1]], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error ?? '')).slice(-1500)}`);
  };
  try {
    if (asRoot) execFileSync('chown', ['postgres:postgres', dir]);
    const port = await freePort();
    run('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'hullscan', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    run('pg_ctl', ['-D', join(dir, 'data'), '-o', opts, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
    const url = `postgres://hullscan@127.0.0.1:${port}/postgres`;
    return {
      url,
      dir,
      stop: () => {
        try {
          run('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Ensures the directory is usable by the server user (tests that hand it paths). */
export function chownForPostgres(path: string): void {
  if (process.getuid?.() === 0) chownSync(path, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()), 0);
}

/**
 * A fresh database on the test server for one test (dropped by the returned cleanup), or
 * undefined after t.skip when there is no server outside CI.
 */
export async function postgresDatabase(t: { skip(message?: string): void }): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const base = process.env[POSTGRES_ENV];
  if (!base) {
    const why = `no PostgreSQL for the tests (${POSTGRES_ENV} unset: the test run's global setup could not start one; apt-get install postgresql)`;
    if (process.env['CI'] === 'true') throw new Error(`${why} — CI installs PostgreSQL, so this is a set-up failure`);
    t.skip(why);
    return undefined;
  }
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
