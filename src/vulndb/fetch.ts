/**
 * Downloads one feed file over HTTPS: the fetch stage of every source.
 *
 * Feed URLs are configured by the operator (defaults, `--source-url`, a config file), not by a
 * tenant, but they still go through the same URL policy as snapshot URLs
 * (src/util/url-policy.ts): https only, public addresses only, connections pinned to the vetted
 * addresses, each redirect hop vetted again. `allowPrivateUrls` lets tests and air-gapped
 * mirrors use http and loopback / private addresses; cloud metadata addresses stay refused.
 *
 * Bounded: a whole-request timeout, an idle timeout between body chunks, a byte cap checked
 * against Content-Length and while streaming, and a redirect budget. URLs appear in messages
 * only as scheme://host/path (src/util/redact.ts).
 */
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { assertAllowedUrl, pinnedLookup, UrlPolicyError, type VettedUrl } from '../util/url-policy.ts';
import { BudgetError, SourceError, UsageError } from '../util/errors.ts';
import { redactError, redactSecrets, redactUrl } from '../util/redact.ts';
import { GiB } from '../util/units.ts';

export const DEFAULT_FEED_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_FEED_IDLE_TIMEOUT_MS = 60_000;
/** Largest feed downloaded (osv.dev's biggest ecosystem zip is ~1 GiB). */
export const DEFAULT_MAX_FEED_BYTES = 2 * GiB - 1;
export const MAX_FEED_REDIRECTS = 5;

const USER_AGENT = 'hullscan-vulndb/1 (+https://github.com/hullscan/hullscan)';

export interface FetchOptions {
  /** Allow http:// and loopback / private-network addresses (tests, internal mirrors). */
  allowPrivateUrls?: boolean;
  /** Whole-download limit (default 10 min). */
  timeoutMs?: number;
  /** Longest pause between body chunks (default 60 s). */
  idleTimeoutMs?: number;
  /** Byte cap (default 2 GiB − 1). */
  maxBytes?: number;
}

/** The body of `url` in memory, following at most {@link MAX_FEED_REDIRECTS} vetted redirects. Non-2xx is a SourceError. */
export async function fetchFeed(url: string, options: FetchOptions = {}): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  await fetchFeedTo(url, options, (chunk) => {
    chunks.push(chunk);
    size += chunk.length;
  });
  return new Uint8Array(Buffer.concat(chunks, size));
}

/** Streams the body of `url` into the file `path` (created or truncated); returns its size. */
export async function fetchFeedToFile(url: string, path: string, options: FetchOptions = {}): Promise<number> {
  const out = createWriteStream(path);
  let size = 0;
  let failed: Error | undefined;
  out.on('error', (err) => (failed ??= err));
  try {
    await fetchFeedTo(url, options, (chunk) => {
      size += chunk.length;
      // Backpressure: the response pauses until the file has taken what it was given.
      return out.write(chunk) ? undefined : new Promise<void>((resolve) => out.once('drain', resolve));
    });
  } finally {
    await new Promise<void>((resolve) => out.end(() => resolve()));
  }
  if (failed) throw new SourceError(`cannot write the download of ${redactUrl(url)}: ${failed.message}`, { cause: failed });
  return size;
}

async function fetchFeedTo(url: string, options: FetchOptions, onChunk: ChunkSink): Promise<void> {
  const policy = { allowHttp: options.allowPrivateUrls === true, allowPrivateNetwork: options.allowPrivateUrls === true };
  const timeoutMs = options.timeoutMs ?? DEFAULT_FEED_TIMEOUT_MS;
  const idleMs = options.idleTimeoutMs ?? DEFAULT_FEED_IDLE_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FEED_BYTES;
  const shown = redactUrl(url);
  const signal = AbortSignal.timeout(timeoutMs);
  let current = url;
  for (let hop = 0; hop <= MAX_FEED_REDIRECTS; hop++) {
    let target: VettedUrl;
    try {
      target = await assertAllowedUrl(current, policy);
    } catch (err) {
      // The policy's hints name its own options; say which CLI / config switch relaxes it.
      if (err instanceof UrlPolicyError && !policy.allowPrivateNetwork && err.reason !== 'metadata' && err.reason !== 'credentials') {
        throw new UrlPolicyError(`${err.message.replace(/ \(plain http needs the allowHttp option\)|; labs and tests may set allowPrivateNetwork/, '')} (tests and internal mirrors: --allow-private-urls, or "allowPrivateUrls": true)`, err.reason);
      }
      throw err;
    }
    let res: IncomingMessage;
    try {
      res = await send(target, signal);
    } catch (err) {
      if (signal.aborted) throw new SourceError(`${shown}: timed out after ${timeoutMs} ms`, { cause: redactError(err) });
      const code = (err as { code?: unknown }).code;
      throw new SourceError(`${shown}: network error (${typeof code === 'string' ? code : redactSecrets((err as Error).message)})`, { cause: redactError(err) });
    }
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location !== undefined) {
      res.resume();
      let next: URL;
      try {
        next = new URL(res.headers.location, target.url);
      } catch {
        throw new SourceError(`${shown}: redirect to an invalid location`);
      }
      current = next.href;
      continue;
    }
    if (status < 200 || status >= 300) {
      res.resume();
      throw new SourceError(`${shown}: HTTP ${status}${hop > 0 ? ` (after redirect to ${redactUrl(current)})` : ''}`);
    }
    const length = Number(res.headers['content-length']);
    if (Number.isFinite(length) && length > maxBytes) {
      res.destroy();
      throw new BudgetError(`${shown}: ${length} bytes is larger than the ${maxBytes}-byte limit`);
    }
    try {
      await readBody(res, shown, maxBytes, idleMs, Number.isFinite(length) ? length : undefined, onChunk);
    } catch (err) {
      if (signal.aborted) throw new SourceError(`${shown}: timed out after ${timeoutMs} ms`, { cause: err });
      throw err;
    }
    return;
  }
  throw new SourceError(`${shown}: more than ${MAX_FEED_REDIRECTS} redirects`);
}

function send(target: VettedUrl, signal: AbortSignal): Promise<IncomingMessage> {
  const isHttps = target.url.protocol === 'https:';
  const options: http.RequestOptions = {
    method: 'GET',
    hostname: target.hostname,
    port: target.url.port === '' ? undefined : Number(target.url.port),
    path: `${target.url.pathname}${target.url.search}`,
    headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity' },
    lookup: pinnedLookup(target),
    signal,
  };
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = (isHttps ? https : http).request(options, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** Takes one body chunk; a returned promise pauses the response until it settles. */
type ChunkSink = (chunk: Buffer) => Promise<void> | undefined | void;

function readBody(res: IncomingMessage, shown: string, maxBytes: number, idleMs: number, expected: number | undefined, onChunk: ChunkSink): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let size = 0;
    let done = false;
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      res.destroy();
      reject(err);
    };
    res.setTimeout(idleMs, () => fail(new SourceError(`${shown}: no data for ${idleMs} ms`)));
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) fail(new BudgetError(`${shown}: body is larger than the ${maxBytes}-byte limit`));
      else {
        const wait = onChunk(chunk);
        if (wait) {
          res.pause();
          void wait.then(() => res.resume());
        }
      }
    });
    res.on('error', (err) => fail(new SourceError(`${shown}: download failed (${redactSecrets(err.message)})`, { cause: redactError(err) })));
    res.on('aborted', () => fail(new SourceError(`${shown}: connection closed before the body was complete`)));
    res.on('end', () => {
      if (done) return;
      if (!res.complete || (expected !== undefined && size !== expected)) {
        fail(new SourceError(`${shown}: body truncated (${size} of ${expected ?? '?'} bytes)`));
        return;
      }
      done = true;
      resolve();
    });
  });
}

/** Validates a user-supplied URL string early (for CLI arguments). */
export function checkFeedUrl(url: string): void {
  try {
    new URL(url);
  } catch {
    throw new UsageError(`not a valid URL: ${redactUrl(url)}`);
  }
}
