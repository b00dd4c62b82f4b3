/**
 * Serving the API on a socket (@hono/node-server) and the first-run bootstrap owner token.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ControlPlane } from '../control/control-plane.ts';
import { METRICS_CONTENT_TYPE, metricsText } from '../control/metrics.ts';
import { SecurityService } from '../service/index.ts';
import { AuthStore } from '../store/auth-store.ts';
import { UsageError } from '../util/errors.ts';
import { createApi, type Api } from './app.ts';
import { staticPortal } from './static.ts';
import { hashSecret, newToken, TOKEN_PREFIX } from './auth.ts';
import type { OidcOptions } from './oidc.ts';

export const BOOTSTRAP_ENV = 'HULLSCAN_BOOTSTRAP_TOKEN';
/** A bootstrap token given in the environment must carry at least this many characters. */
const MIN_BOOTSTRAP_CHARS = 24;

export interface RunningServer {
  server: ServerType;
  host: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

export function listen(api: Api, at: { host: string; port: number }): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    let server: ServerType | undefined = undefined;
    const onError = (err: Error) => reject(new UsageError(`cannot listen on ${at.host}:${at.port}: ${err.message}`, { cause: err }));
    server = serve({ fetch: api.app.fetch, hostname: at.host, port: at.port }, (info: AddressInfo) => {
      server!.off('error', onError);
      const host = info.address;
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${info.port}`;
      resolve({
        server: server!,
        host,
        port: info.port,
        url,
        close: () =>
          new Promise<void>((r) => {
            const s = server as unknown as { close(cb: () => void): void; closeAllConnections?: () => void };
            s.close(() => r());
            s.closeAllConnections?.();
          }),
      });
    });
    server.once('error', onError);
  });
}

/**
 * On an empty store (no token, no role assignment) makes the first owner token: the value of
 * HULLSCAN_BOOTSTRAP_TOKEN when set, else a new random one. Answers the token when it was
 * generated here (for the caller to print once), 'from-env' when the environment's was used,
 * undefined when the store already had credentials.
 */
export async function bootstrapOwner(auth: AuthStore, env: NodeJS.ProcessEnv = process.env, at = new Date()): Promise<{ token?: string; id: string } | undefined> {
  if (!(await auth.isEmpty())) return undefined;
  const given = env[BOOTSTRAP_ENV];
  if (given !== undefined && given !== '' && (given.length < MIN_BOOTSTRAP_CHARS || /\s/.test(given))) {
    throw new UsageError(`${BOOTSTRAP_ENV} must be at least ${MIN_BOOTSTRAP_CHARS} characters without spaces (e.g. ${TOKEN_PREFIX} and 43 random base64url characters)`);
  }
  const token = given !== undefined && given !== '' ? given : newToken();
  const made = await auth.createBootstrapToken({ tokenHash: hashSecret(token), at: at.toISOString() });
  if (made === undefined) return undefined;
  return given !== undefined && given !== '' ? { id: made.id } : { id: made.id, token };
}

/** OIDC login from the environment: HULLSCAN_OIDC_ISSUER, _CLIENT_ID, _CLIENT_SECRET and _REDIRECT_URI (all four, or none). */
export function oidcFromEnv(env: NodeJS.ProcessEnv = process.env): OidcOptions | undefined {
  const issuer = env['HULLSCAN_OIDC_ISSUER'];
  const clientId = env['HULLSCAN_OIDC_CLIENT_ID'];
  const clientSecret = env['HULLSCAN_OIDC_CLIENT_SECRET'];
  const redirectUri = env['HULLSCAN_OIDC_REDIRECT_URI'];
  const given = [issuer, clientId, clientSecret, redirectUri].filter((v) => v !== undefined && v !== '');
  if (given.length === 0) return undefined;
  if (given.length !== 4) throw new UsageError('OIDC login needs HULLSCAN_OIDC_ISSUER, HULLSCAN_OIDC_CLIENT_ID, HULLSCAN_OIDC_CLIENT_SECRET and HULLSCAN_OIDC_REDIRECT_URI');
  const o: OidcOptions = { issuer: issuer!, clientId: clientId!, clientSecret: clientSecret!, redirectUri: redirectUri! };
  if (env['HULLSCAN_OIDC_ALLOW_HTTP'] === '1') o.allowInsecure = true;
  return o;
}

export interface ServeApiOptions {
  controlPlane: ControlPlane;
  listen: { host: string; port: number };
  ready: () => boolean;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** Told the bootstrap token when one was generated (to print it once). */
  onBootstrapToken?: (token: string) => void;
}

/** The API of `hullscan serve`: over the control plane's store, its runs and vulnerability database. */
export async function serveApi(o: ServeApiOptions): Promise<RunningServer & { service: SecurityService }> {
  const cp = o.controlPlane;
  const auth = new AuthStore(cp.store.driver);
  const env = o.env ?? process.env;
  const boot = await bootstrapOwner(auth, env);
  if (boot !== undefined) {
    o.log.info({ token: boot.id }, boot.token === undefined ? `bootstrap owner token taken from ${BOOTSTRAP_ENV}` : 'bootstrap owner token created (printed once)');
    if (boot.token !== undefined) o.onBootstrapToken?.(boot.token);
  }
  const service = new SecurityService({ store: cp.store, vulnDb: () => cp.vulnDb() });
  const oidc = oidcFromEnv(env);
  const api = createApi({
    store: cp.store,
    auth,
    service,
    scans: { start: (account, scope, by) => cp.startRun(account, 'on-demand', by, scope) },
    vulnDbStatus: () => cp.vulnDb()?.status(),
    ready: o.ready,
    log: o.log,
    metrics: { contentType: METRICS_CONTENT_TYPE, text: metricsText },
    ...(oidc !== undefined && { oidc }),
  });
  // The portal (web/dist, built by `npm run build:web`), after the API routes: it never answers
  // /api, /healthz, /readyz or /metrics.
  api.app.route('/', staticPortal(join(import.meta.dirname, '..', '..', 'web', 'dist')));
  const running = await listen(api, o.listen);
  o.log.info({ listen: running.url }, 'API listening');
  return { ...running, service };
}
