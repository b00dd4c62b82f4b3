/**
 * A real Redis for the tests: Debian's `redis-server` (scripts/apt-packages.txt), started once
 * per test run by test/global-setup.ts on a free loopback port in a temporary directory (no
 * persistence), and stopped after it. HULLSCAN_TEST_REDIS_URL points at it (or at a server you
 * run yourself). Without it the queue tests skip and say why — except in CI (CI=true), where
 * they fail: CI installs the server, so a missing one is a broken set-up, not an opt-out.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './tools.ts';

export const REDIS_ENV = 'HULLSCAN_TEST_REDIS_URL';
const START_TIMEOUT_MS = 20_000;

export interface RunningRedis {
  url: string;
  dir: string;
  stop(): void;
}


function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port }, () => c.write('PING\r\n'));
    c.setTimeout(1000, () => (c.destroy(), resolve(false)));
    c.once('data', (d) => (c.destroy(), resolve(d.toString().startsWith('+PONG'))));
    c.once('error', () => resolve(false));
  });
}

/** Starts a throwaway server; throws with the reason when it cannot. */
export async function startRedis(): Promise<RunningRedis> {
  const which = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (which.error || which.status !== 0) throw new Error('redis-server not found (apt-get install redis-server)');
  const dir = mkdtempSync(join(tmpdir(), 'hullscan-redis-'));
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--logfile', join(dir, 'redis.log')], { stdio: 'ignore', detached: false });
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await ping(port)) {
      child.unref();
      return { url: `redis://127.0.0.1:${port}`, dir, stop };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  stop();
  throw new Error(`redis-server did not answer on 127.0.0.1:${port} (exit ${child.exitCode ?? 'none'})`);
}

/** The test server's URL, or undefined after t.skip when there is none outside CI. */
export function redisUrl(t: { skip(message?: string): void }): string | undefined {
  const url = process.env[REDIS_ENV];
  if (url) return url;
  const why = `no Redis for the tests (${REDIS_ENV} unset: the test run's global setup could not start one; apt-get install redis-server)`;
  if (process.env['CI'] === 'true') throw new Error(`${why} — CI installs Redis, so this is a set-up failure`);
  t.skip(why);
  return undefined;
}
