/**
 * api/ — the REST API (issue #14): schema-first routes on Hono + @hono/zod-openapi, whose one
 * route table is the request/response validation, the OpenAPI 3.1 document at
 * /api/openapi.json and the authorisation matrix the tests walk. Central interface:
 * {@link createApi} (app.ts) over the service layer (service/), the control plane's runs
 * (control/) and the store's fleet and auth tables (store/); {@link listen} serves it
 * (@hono/node-server) for `hullscan serve`. Authentication: API tokens (bearer) and OIDC
 * sessions (oidc.ts); roles reader < security-admin < owner at tenant or account scope
 * (auth.ts); errors as RFC 9457 problems (problem.ts). docs/api.md.
 */
export { createApi, DEFAULT_RATE_LIMIT, MAX_BODY_BYTES, SESSION_COOKIE, type Api, type ApiOptions, type RateLimit } from './app.ts';
export { listen, bootstrapOwner, serveApi, oidcFromEnv, BOOTSTRAP_ENV, type RunningServer, type ServeApiOptions } from './server.ts';
export { hashSecret, newToken, roleOn, type Principal } from './auth.ts';
export type { OidcOptions } from './oidc.ts';
export type { Access, ApiRoute } from './route.ts';
export { redact } from './problem.ts';
