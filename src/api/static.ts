/**
 * The web portal's built assets (web/dist, `npm run build:web`) on the API's listener: `/assets/*`
 * (content-hashed: cached for a year), the few root files, and index.html for every other GET
 * so that the portal's deep links (/recommendations/…?cve=…) load the app (SPA fallback). The
 * API's own paths (/api, /healthz, /readyz, /metrics) are never answered here: the sub-app passes
 * them on, so an unknown /api route stays a problem-details 404. Mount it after the API routes:
 *
 *   app.route('/', staticPortal(join(REPO, 'web', 'dist')))
 *
 * Files are read once and kept (the bundle is a few hundred KiB), with a gzip copy for clients
 * that accept it.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Hono, type Context } from 'hono';

/** Paths the portal never answers (the API's, the probes', the metrics'). */
const RESERVED = /^\/(api|healthz|readyz|metrics)(\/|$)/;
const IMMUTABLE = 'public, max-age=31536000, immutable';
const MAX_ASSET_BYTES = 20 * 1024 * 1024;
const MIN_GZIP_BYTES = 1024;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

/**
 * The portal's page: scripts only from this origin; styles inline too (Fluent UI's CSS-in-JS
 * inserts style rules at run time); API calls to this origin only; never framed.
 */
export const PORTAL_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

interface Asset {
  body: Uint8Array;
  gzip: Uint8Array | undefined;
  type: string;
}

export interface StaticPortalOptions {
  /** Cache file contents after the first read (default true; off while developing the portal). */
  cache?: boolean;
}

/** A Hono sub-app serving the built portal from `distDir`. */
export function staticPortal(distDir: string, o: StaticPortalOptions = {}): Hono {
  const root = normalize(distDir);
  const cache = new Map<string, Asset | null>();
  const load = (rel: string): Asset | undefined => {
    if (o.cache !== false && cache.has(rel)) return cache.get(rel) ?? undefined;
    const file = normalize(join(root, rel));
    let asset: Asset | null = null;
    if (file.startsWith(root + sep) && existsSync(file)) {
      const st = statSync(file);
      if (st.isFile() && st.size <= MAX_ASSET_BYTES) {
        const body = readFileSync(file);
        const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
        const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length >= MIN_GZIP_BYTES;
        asset = { body, gzip: compressible ? gzipSync(body, { level: 9 }) : undefined, type };
      }
    }
    if (o.cache !== false) cache.set(rel, asset);
    return asset ?? undefined;
  };
  const send = (c: Context, a: Asset, headers: Record<string, string>): Response => {
    const gz = a.gzip !== undefined && /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
    const h: Record<string, string> = { 'content-type': a.type, vary: 'accept-encoding', 'x-content-type-options': 'nosniff', ...headers };
    if (gz) h['content-encoding'] = 'gzip';
    const body = gz ? a.gzip! : a.body;
    h['content-length'] = String(body.length);
    return new Response(c.req.method === 'HEAD' ? null : (body as Uint8Array<ArrayBuffer>), { status: 200, headers: h });
  };
  const page = (c: Context): Response => {
    const index = load('index.html');
    if (index === undefined) {
      return c.text('The web portal is not built: run `npm run build:web` (the REST API is at /api/v1, its document at /api/openapi.json).', 503, { 'cache-control': 'no-store' });
    }
    return send(c, index, { 'cache-control': 'no-cache', 'content-security-policy': PORTAL_CSP, 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' });
  };

  const app = new Hono();
  app.get('*', async (c, next) => {
    const path = new URL(c.req.url).pathname;
    if (RESERVED.test(path)) return next();
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return next();
    }
    if (decoded.includes('\0') || decoded.split('/').includes('..')) return next();
    if (decoded.startsWith('/assets/')) {
      const a = load(decoded.slice(1));
      return a === undefined ? next() : send(c, a, { 'cache-control': IMMUTABLE });
    }
    // A root file of the build (favicon.ico, robots.txt); anything else is a portal route.
    if (/^\/[^/]+\.[a-z0-9]+$/i.test(decoded) && decoded !== '/index.html') {
      const a = load(decoded.slice(1));
      return a === undefined ? next() : send(c, a, { 'cache-control': 'no-cache' });
    }
    return page(c);
  });
  return app;
}
