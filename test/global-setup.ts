/**
 * Once per test run (node --test --test-global-setup): the real services the tests share.
 * PostgreSQL (test/helpers/postgres.ts) unless HULLSCAN_TEST_POSTGRES_URL already names one;
 * Redis (test/helpers/redis.ts) unless HULLSCAN_TEST_REDIS_URL does.
 * Outside CI a server that cannot start leaves the variable unset (those tests skip and say
 * why); in CI it fails the run.
 */
import { POSTGRES_ENV, startPostgres, type RunningPostgres } from './helpers/postgres.ts';
import { REDIS_ENV, startRedis, type RunningRedis } from './helpers/redis.ts';

let postgres: RunningPostgres | undefined;
let redis: RunningRedis | undefined;

export async function globalSetup(): Promise<void> {
  if (!process.env[POSTGRES_ENV]) {
    try {
      postgres = await startPostgres();
      process.env[POSTGRES_ENV] = postgres.url;
    } catch (err) {
      if (process.env['CI'] === 'true') throw err;
      process.stderr.write(`test setup: PostgreSQL not started (${(err as Error).message}); the PostgreSQL store tests will skip\n`);
    }
  }
  if (!process.env[REDIS_ENV]) {
    try {
      redis = await startRedis();
      process.env[REDIS_ENV] = redis.url;
    } catch (err) {
      if (process.env['CI'] === 'true') throw err;
      process.stderr.write(`test setup: Redis not started (${(err as Error).message}); the Redis queue tests will skip\n`);
    }
  }
}

export async function globalTeardown(): Promise<void> {
  postgres?.stop();
  postgres = undefined;
  redis?.stop();
  redis = undefined;
}
