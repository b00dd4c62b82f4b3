/**
 * A remote disk snapshot read with HTTP range requests: an Azure managed-disk snapshot exported
 * as a SAS URL to a VHD page blob, an S3 presigned URL, any server that answers `Range` with 206.
 *
 * References:
 * - RFC 9110 (HTTP Semantics) §14 Range Requests: §14.1.2 byte ranges, §14.3 Accept-Ranges,
 *   §14.4 Content-Range, §15.3.7 206 Partial Content, §15.5.17 416; §13.1.1 If-Match,
 *   §13.1.4 If-Unmodified-Since, §8.8.3 ETag (strong vs weak), §10.2.3 Retry-After.
 * - Azure Storage REST: "Specifying the range header for Blob service operations" (page blobs
 *   answer standard `Range: bytes=a-b` with 206) and "Versioning for the Azure Storage
 *   services" (x-ms-version).
 * - AWS S3 presigned URLs sign the HTTP method, so HEAD is usually refused (403) for a URL signed
 *   for GET: the size then comes from a one-byte range GET's Content-Range.
 *
 * Requests go through node:http / node:https (not fetch) so that every connection is pinned to
 * the addresses vetted by url-policy (DNS rebinding), and no query string reaches a message.
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { SourceError, UsageError } from '../util/errors.ts';
import { redactError, redactSecrets, redactUrl } from '../util/redact.ts';
import { KiB, MiB, TiB } from '../util/units.ts';
import { MAX_READ_BYTES, type BlockSource, type SourceStats } from './index.ts';
import { checkRange, unfilledBytes } from './range.ts';
import { assertAllowedUrl, pinnedLookup, type UrlPolicy, type VettedUrl } from '../util/url-policy.ts';

export interface HttpSourceLog {
  /** A static message plus a metadata object; neither ever holds a query string. */
  warn(message: string, meta: Record<string, unknown>): void;
}

export interface HttpSourceOptions extends UrlPolicy {
  /** Logical sector size reported to the layers above (default 512). */
  sectorSize?: number;
  /** Reads larger than this are split into parts fetched in parallel (default 4 MiB). */
  partBytes?: number;
  /** Requests in flight at once for this source, over all reads (default 8). */
  concurrency?: number;
  /** Retries after the first attempt of one request (default 4). */
  retries?: number;
  /** First backoff delay; doubles per retry, with jitter (default 200 ms). */
  retryBaseMs?: number;
  /** Cap of one backoff delay, and of an honoured Retry-After (default 10 s). */
  retryMaxDelayMs?: number;
  /** Time limit of one request, headers and body (default 60 s). */
  timeoutMs?: number;
  /** Follow 3xx redirects, re-vetting each hop against the policy (default false). */
  followRedirects?: boolean;
  /** Extra trusted CA certificates (PEM) for https: test servers, private CAs. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Receives one line per retried request. */
  log?: HttpSourceLog;
  /** Random source for backoff jitter, in [0, 1) (tests make it deterministic). */
  random?: () => number;
}

export interface HttpSourceStats extends SourceStats {
  /** HTTP requests sent, including retries, probes and redirects. */
  requests: number;
  /** Requests that were retried after a transient failure. */
  retries: number;
}

const DEFAULT_PART_BYTES = 4 * MiB;
const MIN_PART_BYTES = 4 * KiB;
const DEFAULT_CONCURRENCY = 8;
const MAX_CONCURRENCY = 64;
const DEFAULT_RETRIES = 4;
const MAX_RETRIES = 10;
const DEFAULT_RETRY_BASE_MS = 200;
const DEFAULT_RETRY_MAX_DELAY_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 60_000;
/** Redirect hops followed for one request when followRedirects is on. */
const MAX_REDIRECTS = 5;
/** Largest object accepted: above every managed-disk limit, well inside 2^53. */
const MAX_OBJECT_BYTES = 256 * TiB;
/** Bytes of an error response read to find its error code; the rest is discarded. */
const MAX_ERROR_BODY_BYTES = 4 * KiB;
/** Longest header value (ETag, Content-Range) we keep or compare. */
const MAX_HEADER_VALUE_CHARS = 512;

/** Azure Blob endpoints (public and sovereign clouds, managed-disk export hosts). */
const AZURE_BLOB_HOST_SUFFIXES = [
  '.blob.core.windows.net',
  '.blob.storage.azure.net',
  '.blob.core.usgovcloudapi.net',
  '.blob.core.chinacloudapi.cn',
];
const AZURE_STORAGE_VERSION = '2021-08-06';
const USER_AGENT = 'hullscan';

/** A transient failure: network error, timeout, 5xx, 408, 429, truncated body. */
class RetryableError extends SourceError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { cause?: unknown; retryAfterMs?: number | undefined } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }
}

interface Validators {
  etag: string | undefined;
  lastModified: string | undefined;
}

/** Bounds concurrent requests of one source; waiters are served in arrival order. */
class Limiter {
  readonly #max: number;
  #active = 0;
  readonly #waiters: Array<() => void> = [];

  constructor(max: number) {
    this.#max = max;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#max) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    else this.#active++;
    try {
      return await fn();
    } finally {
      const next = this.#waiters.shift();
      // The slot passes straight to the next waiter, so #active stays counted.
      if (next) next();
      else this.#active--;
    }
  }
}

export class HttpSource implements BlockSource {
  readonly sectorSize: number;
  readonly description: string;
  /** Set once by open() from HEAD / Content-Range. */
  #size = 0;
  #target: VettedUrl;
  readonly #options: Required<Pick<HttpSourceOptions, 'partBytes' | 'retries' | 'retryBaseMs' | 'retryMaxDelayMs' | 'timeoutMs'>>;
  readonly #policy: UrlPolicy;
  readonly #followRedirects: boolean;
  readonly #log: HttpSourceLog | undefined;
  readonly #random: () => number;
  readonly #limiter: Limiter;
  readonly #agents: { http: http.Agent; https: https.Agent };
  readonly #closed = new AbortController();
  readonly #stats: HttpSourceStats = { reads: 0, bytesRead: 0, requests: 0, retries: 0 };
  #validators: Validators = { etag: undefined, lastModified: undefined };

  private constructor(target: VettedUrl, options: HttpSourceOptions) {
    this.#target = target;
    this.sectorSize = options.sectorSize ?? 512;
    this.description = redactUrl(target.url);
    this.#policy = { allowHttp: options.allowHttp, allowPrivateNetwork: options.allowPrivateNetwork, resolve: options.resolve };
    this.#followRedirects = options.followRedirects ?? false;
    this.#log = options.log;
    this.#random = options.random ?? Math.random;
    this.#options = {
      partBytes: options.partBytes ?? DEFAULT_PART_BYTES,
      retries: options.retries ?? DEFAULT_RETRIES,
      retryBaseMs: options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS,
      retryMaxDelayMs: options.retryMaxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    };
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.#limiter = new Limiter(concurrency);
    const agentOptions = { keepAlive: true, maxSockets: concurrency, scheduling: 'lifo' as const };
    this.#agents = {
      http: new http.Agent(agentOptions),
      https: new https.Agent(options.ca === undefined ? agentOptions : { ...agentOptions, ca: options.ca }),
    };
  }

  /**
   * Vets the URL (url-policy), learns the size (HEAD, or a one-byte range GET when HEAD is
   * refused), checks that the server serves ranges and records ETag / Last-Modified so that a
   * change of the object during the scan is detected.
   */
  static async open(url: string | URL, options: HttpSourceOptions = {}): Promise<HttpSource> {
    validateOptions(options);
    const target = await assertAllowedUrl(url, options);
    const src = new HttpSource(target, options);
    try {
      const { size, validators } = await src.#discover();
      src.#size = size;
      src.#validators = validators;
      return src;
    } catch (err) {
      await src.close();
      throw err;
    }
  }

  get size(): number {
    return this.#size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    // Every part's body fills its bytes exactly or the read throws (readBody).
    const out = unfilledBytes(length);
    await this.readInto(offset, out);
    return out;
  }

  /** As read, with response bodies written straight into the caller's buffer. */
  async readInto(offset: number, out: Uint8Array): Promise<void> {
    const length = out.length;
    checkRange(this.size, offset, length, this.description);
    if (this.#closed.signal.aborted) throw new SourceError(`${this.description}: source is closed`);
    if (length === 0) return;
    // When one part fails the read has failed: the other parts stop instead of fetching on.
    const abandon = new AbortController();
    const stop = AbortSignal.any([this.#closed.signal, abandon.signal]);
    const parts: Promise<void>[] = [];
    const step = this.#options.partBytes;
    for (let pos = 0; pos < length; pos += step) {
      const n = Math.min(step, length - pos);
      const part = this.#readPart(offset + pos, out.subarray(pos, pos + n), stop).catch((err: unknown) => {
        abandon.abort('read abandoned after another part failed');
        throw err;
      });
      parts.push(part);
    }
    await Promise.all(parts);
  }

  stats(): HttpSourceStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    if (!this.#closed.signal.aborted) this.#closed.abort('source is closed');
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }

  // -------------------------------------------------------------------------------------------

  async #discover(): Promise<{ size: number; validators: Validators }> {
    const head = await this.#withRetries('HEAD', async (signal) => {
      const res = await this.#exchange('HEAD', {}, signal, true);
      res.resume();
      const status = res.statusCode ?? 0;
      if (isRetryableStatus(status)) {
        throw new RetryableError(`${this.description}: HEAD: HTTP ${status}`, {
          retryAfterMs: parseRetryAfter(headerValue(res.headers, 'retry-after')),
        });
      }
      return { status, headers: res.headers };
    });
    let size: number | undefined;
    let validators: Validators = { etag: undefined, lastModified: undefined };
    let rangesKnown = false;
    if (head.status >= 200 && head.status < 300) {
      checkEncoding(head.headers, this.description);
      const acceptRanges = headerValue(head.headers, 'accept-ranges')?.toLowerCase();
      if (acceptRanges === 'none') {
        throw new SourceError(`${this.description}: the server does not serve byte ranges (Accept-Ranges: none)`);
      }
      rangesKnown = acceptRanges === 'bytes';
      size = parseLength(headerValue(head.headers, 'content-length'), this.description);
      validators = validatorsOf(head.headers);
    }
    if (size === undefined || !rangesKnown) {
      // HEAD refused (S3 presigned GET), no length, or range support not announced: one byte
      // with a range GET proves 206 works and gives the total in Content-Range.
      const probe = await this.#probe();
      if (size !== undefined && probe.size !== size) this.#changed(`HEAD said ${size} bytes, Content-Range ${probe.size}`);
      if (validators.etag !== undefined && probe.validators.etag !== undefined && validators.etag !== probe.validators.etag) {
        this.#changed('ETag differs between HEAD and GET');
      }
      size = probe.size;
      validators = { etag: validators.etag ?? probe.validators.etag, lastModified: validators.lastModified ?? probe.validators.lastModified };
    }
    if (size === 0) throw new SourceError(`${this.description}: the object is empty (0 bytes)`);
    return { size, validators };
  }

  async #probe(): Promise<{ size: number; validators: Validators }> {
    return this.#withRetries('range probe', async (signal) => {
      const res = await this.#exchange('GET', { range: 'bytes=0-0' }, signal, true);
      return discardOnThrow(res, async () => {
        if (res.statusCode !== 206) await this.#failStatus(res, 'range probe');
        checkEncoding(res.headers, this.description);
        const cr = parseContentRange(headerValue(res.headers, 'content-range'));
        if (!cr || cr.first !== 0 || cr.last !== 0 || cr.total === undefined) {
          throw new SourceError(`${this.description}: range probe answered with an unusable Content-Range`);
        }
        if (cr.total > MAX_OBJECT_BYTES) {
          throw new SourceError(`${this.description}: object of ${cr.total} bytes exceeds the ${MAX_OBJECT_BYTES}-byte limit`);
        }
        await readBody(res, new Uint8Array(1), this.description, 'range probe');
        return { size: cr.total, validators: validatorsOf(res.headers) };
      });
    });
  }

  async #readPart(offset: number, into: Uint8Array, stop: AbortSignal): Promise<void> {
    const last = offset + into.length - 1;
    const what = `read of bytes ${offset}-${last}`;
    const headers: OutgoingHttpHeaders = { range: `bytes=${offset}-${last}` };
    const { etag, lastModified } = this.#validators;
    // If-Match needs a strong ETag (RFC 9110 §13.1.1 uses the strong comparison).
    if (etag !== undefined && !etag.startsWith('W/')) headers['if-match'] = etag;
    else if (lastModified !== undefined) headers['if-unmodified-since'] = lastModified;
    await this.#withRetries(what, async (signal) => {
      const res = await this.#exchange('GET', headers, signal, false);
      await discardOnThrow(res, async () => {
        if (res.statusCode !== 206) await this.#failStatus(res, what);
        checkEncoding(res.headers, this.description);
        this.#checkValidators(res);
        const cr = parseContentRange(headerValue(res.headers, 'content-range'));
        if (cr?.total !== undefined && cr.total !== this.size) this.#changed(`size is now ${cr.total}, was ${this.size}`);
        if (!cr || cr.first !== offset || cr.last !== last) {
          const got = cr ? `bytes ${cr.first}-${cr.last}` : 'no usable Content-Range';
          throw new SourceError(`${this.description}: ${what} answered with ${got}`);
        }
        const declared = headerValue(res.headers, 'content-length');
        if (declared !== undefined && Number(declared) !== into.length) {
          throw new SourceError(`${this.description}: ${what} declared Content-Length ${redactSecrets(declared.slice(0, 32))}`);
        }
        await readBody(res, into, this.description, what);
      });
    }, stop);
    this.#stats.reads++;
    this.#stats.bytesRead += into.length;
  }

  #checkValidators(res: IncomingMessage): void {
    const got = validatorsOf(res.headers);
    const { etag, lastModified } = this.#validators;
    if (etag !== undefined && got.etag !== undefined && got.etag !== etag) this.#changed('ETag changed');
    if (lastModified !== undefined && got.lastModified !== undefined && got.lastModified !== lastModified) {
      this.#changed('Last-Modified changed');
    }
  }

  #changed(detail: string): never {
    throw new SourceError(`${this.description}: snapshot changed while reading (${detail})`);
  }

  /** Turns a status other than the expected one into the right error; consumes the response. */
  async #failStatus(res: IncomingMessage, what: string): Promise<never> {
    const status = res.statusCode ?? 0;
    if (status === 200) {
      // Never read the body: it is the whole disk.
      res.destroy();
      throw new SourceError(
        `${this.description}: the server ignored the Range header (HTTP 200 instead of 206); refusing to download the whole object`,
      );
    }
    if (status === 412) {
      res.destroy();
      this.#changed('precondition failed: If-Match / If-Unmodified-Since');
    }
    if (isRetryableStatus(status)) {
      res.destroy();
      throw new RetryableError(`${this.description}: ${what}: HTTP ${status}`, {
        retryAfterMs: parseRetryAfter(headerValue(res.headers, 'retry-after')),
      });
    }
    if (status === 416) {
      const cr = parseContentRange(headerValue(res.headers, 'content-range'));
      res.destroy();
      if (cr?.total !== undefined && this.#size !== 0 && cr.total !== this.#size) this.#changed(`size is now ${cr.total}`);
      throw new SourceError(`${this.description}: ${what}: HTTP 416 range not satisfiable`);
    }
    const code = await errorCode(res);
    const label = code ? ` ${code}` : '';
    const hint = status === 401 || status === 403 ? ': the signed URL may have expired or lack read permission' : '';
    throw new SourceError(`${this.description}: ${what}: HTTP ${status}${label}${hint}`);
  }

  /**
   * One request with redirects handled: returns the response of the final hop, headers read,
   * body not consumed. With `adopt`, the final URL becomes the source's target (during open).
   */
  async #exchange(method: 'GET' | 'HEAD', headers: OutgoingHttpHeaders, signal: AbortSignal, adopt: boolean): Promise<IncomingMessage> {
    let target = this.#target;
    for (let hop = 0; ; hop++) {
      const res = await this.#send(method, target, headers, signal);
      const status = res.statusCode ?? 0;
      if (![301, 302, 303, 307, 308].includes(status)) {
        if (adopt) this.#target = target;
        return res;
      }
      res.destroy();
      const location = headerValue(res.headers, 'location');
      let next: URL | undefined;
      try {
        next = location === undefined ? undefined : new URL(location, target.url);
      } catch {
        next = undefined;
      }
      const where = next ? redactUrl(next) : 'an unparseable location';
      if (!this.#followRedirects) {
        throw new SourceError(`${this.description}: HTTP ${status} redirect to ${where}; redirects are not followed (followRedirects option)`);
      }
      if (!next) throw new SourceError(`${this.description}: HTTP ${status} redirect without a usable Location`);
      if (hop + 1 >= MAX_REDIRECTS) throw new SourceError(`${this.description}: more than ${MAX_REDIRECTS} redirects`);
      if (target.url.protocol === 'https:' && next.protocol !== 'https:') {
        throw new SourceError(`${this.description}: refusing a redirect from https to ${where}`);
      }
      // Each hop is vetted as if the user had given it: a redirect to an internal address is
      // the classic SSRF bypass.
      target = await assertAllowedUrl(next, this.#policy);
    }
  }

  /** Sends one request to a vetted target; resolves when the response headers arrive. */
  #send(method: 'GET' | 'HEAD', target: VettedUrl, extra: OutgoingHttpHeaders, signal: AbortSignal): Promise<IncomingMessage> {
    const isHttps = target.url.protocol === 'https:';
    const headers: OutgoingHttpHeaders = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...extra };
    if (AZURE_BLOB_HOST_SUFFIXES.some((s) => target.hostname.toLowerCase().endsWith(s))) {
      headers['x-ms-version'] = AZURE_STORAGE_VERSION;
    }
    const options: http.RequestOptions = {
      method,
      hostname: target.hostname,
      port: target.url.port === '' ? undefined : Number(target.url.port),
      path: `${target.url.pathname}${target.url.search}`,
      headers,
      agent: isHttps ? this.#agents.https : this.#agents.http,
      lookup: pinnedLookup(target),
      signal,
    };
    this.#stats.requests++;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = (isHttps ? https : http).request(options, resolve);
      // An aborted request is named by #withRetries, which knows whether it timed out.
      req.on('error', (err) => reject(signal.aborted ? err : this.#networkError(err)));
      req.end();
    });
  }

  #networkError(err: unknown): SourceError {
    const code = (err as { code?: unknown }).code;
    const detail = typeof code === 'string' ? code : redactSecrets((err as Error).message ?? String(err));
    // TLS failures are configuration problems, not transient ones.
    const tls = typeof code === 'string' && /^(ERR_TLS_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_|ERR_SSL_)/.test(code);
    const message = `${this.description}: network error (${detail})`;
    return tls ? new SourceError(message, { cause: redactError(err) }) : new RetryableError(message, { cause: redactError(err) });
  }

  /** The error for work stopped by close() or by a failed sibling part (the signal's reason). */
  #stopError(stop: AbortSignal): SourceError {
    return new SourceError(`${this.description}: ${typeof stop.reason === 'string' ? stop.reason : 'source is closed'}`);
  }

  /**
   * Runs one attempt per try, each with its own timeout and a concurrency slot, until it
   * succeeds, fails for good, the retry budget is spent or `stop` fires.
   */
  async #withRetries<T>(what: string, attempt: (signal: AbortSignal) => Promise<T>, stop: AbortSignal = this.#closed.signal): Promise<T> {
    for (let tries = 0; ; tries++) {
      try {
        return await this.#limiter.run(() => {
          if (stop.aborted) throw this.#stopError(stop);
          const signal = AbortSignal.any([AbortSignal.timeout(this.#options.timeoutMs), stop]);
          return attempt(signal).catch((err: unknown) => {
            // An aborted request or body surfaces as a stream error: name the real cause. Our
            // own verdicts (changed, refused) stand.
            const ours = err instanceof SourceError && !(err instanceof RetryableError);
            if (!signal.aborted || ours) throw err;
            if (stop.aborted) throw this.#stopError(stop);
            throw new RetryableError(`${this.description}: request timed out after ${this.#options.timeoutMs} ms`);
          });
        });
      } catch (err) {
        if (!(err instanceof RetryableError)) throw err;
        if (stop.aborted) throw this.#stopError(stop);
        if (tries >= this.#options.retries) {
          throw new SourceError(`${this.description}: ${what} failed after ${tries + 1} attempts: ${err.message}`, { cause: err });
        }
        const delayMs = this.#backoff(tries, err.retryAfterMs);
        this.#stats.retries++;
        this.#log?.warn('http range request failed, retrying', { source: this.description, what, attempt: tries + 1, delayMs, error: err.message });
        await sleep(delayMs, stop);
      }
    }
  }

  #backoff(tries: number, retryAfterMs: number | undefined): number {
    const cap = this.#options.retryMaxDelayMs;
    if (retryAfterMs !== undefined) return Math.min(cap, retryAfterMs);
    const exp = Math.min(cap, this.#options.retryBaseMs * 2 ** tries);
    // "Equal jitter": at least half the delay, so retries stay spread but never immediate.
    return Math.round(exp / 2 + (exp / 2) * this.#random());
  }
}

// ---------------------------------------------------------------------------------------------

function validateOptions(o: HttpSourceOptions): void {
  const checks: Array<[string, number | undefined, number, number]> = [
    ['partBytes', o.partBytes, MIN_PART_BYTES, MAX_READ_BYTES],
    ['concurrency', o.concurrency, 1, MAX_CONCURRENCY],
    ['retries', o.retries, 0, MAX_RETRIES],
    ['retryBaseMs', o.retryBaseMs, 0, 60_000],
    ['retryMaxDelayMs', o.retryMaxDelayMs, 0, 600_000],
    ['timeoutMs', o.timeoutMs, 1, 3_600_000],
  ];
  for (const [name, value, min, max] of checks) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < min || value > max)) {
      throw new UsageError(`HttpSource option ${name} must be an integer in [${min}, ${max}], got ${value}`);
    }
  }
  if (o.sectorSize !== undefined && o.sectorSize !== 512 && o.sectorSize !== 4096) {
    throw new UsageError(`HttpSource option sectorSize must be 512 or 4096, got ${o.sectorSize}`);
  }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined ? undefined : s.slice(0, MAX_HEADER_VALUE_CHARS);
}

function validatorsOf(headers: IncomingHttpHeaders): Validators {
  return { etag: headerValue(headers, 'etag'), lastModified: headerValue(headers, 'last-modified') };
}

function checkEncoding(headers: IncomingHttpHeaders, description: string): void {
  const enc = headerValue(headers, 'content-encoding');
  if (enc !== undefined && enc.trim().toLowerCase() !== 'identity' && enc.trim() !== '') {
    throw new SourceError(`${description}: the server sent an encoded body (Content-Encoding ${redactSecrets(enc.slice(0, 32))}); byte ranges need the identity encoding`);
  }
}

/** Digits of a byte position: at most 16 (below 2^53 is then checked). */
const BYTE_POS = /^\d{1,16}$/;

function parseLength(value: string | undefined, description: string): number | undefined {
  if (value === undefined || !BYTE_POS.test(value.trim())) return undefined;
  const n = Number(value.trim());
  if (!Number.isSafeInteger(n) || n > MAX_OBJECT_BYTES) {
    throw new SourceError(`${description}: object of ${n} bytes exceeds the ${MAX_OBJECT_BYTES}-byte limit`);
  }
  return n;
}

interface ContentRange {
  first: number;
  last: number;
  /** Complete length; undefined when the server sent `*`. */
  total: number | undefined;
}

/** `bytes first-last/total` (RFC 9110 §14.4); undefined for anything else. */
function parseContentRange(value: string | undefined): ContentRange | undefined {
  if (value === undefined) return undefined;
  const m = /^bytes (\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)$/.exec(value.trim());
  if (!m) return undefined;
  const first = Number(m[1]);
  const last = Number(m[2]);
  const total = m[3] === '*' ? undefined : Number(m[3]);
  if (last < first || (total !== undefined && last >= total)) return undefined;
  return { first, last, total };
}

function isRetryableStatus(status: number): boolean {
  if (status === 408 || status === 429) return true;
  // 501 Not Implemented and 505 Version Not Supported will not change on a retry.
  return status >= 500 && status <= 599 && status !== 501 && status !== 505;
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from now. */
function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d{1,9}$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - Date.now());
}

/**
 * The service's error code (Azure `x-ms-error-code` / `<Code>`, S3 `<Code>`), read from at most
 * MAX_ERROR_BODY_BYTES of the body. Only a token is kept: error bodies may echo the request.
 */
async function errorCode(res: IncomingMessage): Promise<string | undefined> {
  const header = headerValue(res.headers, 'x-ms-error-code');
  let text = '';
  try {
    for await (const chunk of res) {
      text += (chunk as Buffer).toString('latin1');
      if (text.length >= MAX_ERROR_BODY_BYTES) break;
    }
  } catch {
    // The code is a nicety; the status alone still makes the error.
  } finally {
    res.destroy();
  }
  const fromBody = /<Code>([^<]{1,64})<\/Code>/.exec(text.slice(0, MAX_ERROR_BODY_BYTES))?.[1];
  const code = header ?? fromBody;
  return code !== undefined && /^[A-Za-z0-9._-]{1,64}$/.test(code) ? code : undefined;
}

/**
 * Runs `fn` on a response; if it throws, the response is destroyed so that an unread body (maybe
 * the whole disk) neither downloads nor holds a pooled socket.
 */
async function discardOnThrow<T>(res: IncomingMessage, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    res.destroy();
    throw err;
  }
}

/** Streams a response body into `into`, which must be filled exactly. */
async function readBody(res: IncomingMessage, into: Uint8Array, description: string, what: string): Promise<void> {
  let got = 0;
  try {
    for await (const chunk of res) {
      const c = chunk as Buffer;
      if (got + c.length > into.length) {
        res.destroy();
        throw new SourceError(`${description}: ${what}: the body is longer than the ${into.length}-byte range`);
      }
      into.set(c, got);
      got += c.length;
    }
  } catch (err) {
    if (err instanceof SourceError) throw err;
    const code = (err as { code?: unknown }).code;
    const detail = typeof code === 'string' ? code : redactSecrets((err as Error).message ?? String(err));
    throw new RetryableError(`${description}: ${what}: body cut after ${got} of ${into.length} bytes (${detail})`, { cause: redactError(err) });
  }
  if (got !== into.length) {
    throw new RetryableError(`${description}: ${what}: short body (${got} of ${into.length} bytes)`);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
