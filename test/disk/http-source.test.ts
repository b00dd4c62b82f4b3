import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { HttpSource, type HttpSourceOptions } from '../../src/disk/http-source.ts';
import { UrlPolicyError } from '../../src/disk/url-policy.ts';
import { SourceError, UsageError } from '../../src/util/errors.ts';
import { prng } from '../helpers/fuzz.ts';
import { needTools, run, tempDir } from '../helpers/tools.ts';

// ---------------------------------------------------------------------------------------------
// A range-serving test server with fault knobs.

interface Knobs {
  /** HEAD answers this status instead of 200 (S3 presigned GET URLs refuse HEAD with 403). */
  headStatus?: number;
  /** Accept-Ranges on HEAD; null leaves the header out. */
  acceptRanges?: string | null;
  /** The next N range GETs answer failStatus. */
  failGets?: number;
  failStatus?: number;
  retryAfter?: string;
  /** Answer 200 with the whole object, as a server without range support does. */
  ignoreRange?: boolean;
  /** Length of a 200 answer's body (the data repeated): a disk far larger than socket buffers. */
  wholeBodyBytes?: number;
  /** Content-Range shifted by one byte. */
  wrongContentRange?: boolean;
  /** The next N range GETs send half the range (chunked, ended cleanly). */
  shortBodies?: number;
  /** Delay before the response headers of range GETs. */
  delayMs?: number;
  /** After this many GETs the object is replaced: new ETag and Last-Modified. */
  changeAfterGets?: number;
  /** Whether If-Match is honoured (412) or ignored (206 with the new ETag). */
  honourIfMatch?: boolean;
  /** HEAD and GET answer 302 to this location. */
  redirectTo?: string;
  /** Status for every GET (e.g. 404, 403) with an error body. */
  errorStatus?: number;
}

interface ServerLog {
  heads: number;
  gets: number;
  inflight: number;
  maxInflight: number;
  urls: string[];
  headers: IncomingHttpHeaders[];
  /** Body bytes written by 200 (range-ignoring) responses. */
  fullBodyBytesSent: number;
}

interface TestServer {
  base: string;
  port: number;
  knobs: Knobs;
  log: ServerLog;
  reset(knobs?: Knobs): void;
  close(): Promise<void>;
}

const ETAG_1 = '"0x8DC0FFEE0001"';
const ETAG_2 = '"0x8DC0FFEE0002"';
const LAST_MODIFIED_1 = 'Wed, 01 Jan 2025 00:00:00 GMT';
const LAST_MODIFIED_2 = 'Thu, 02 Jan 2025 00:00:00 GMT';

function freshLog(): ServerLog {
  return { heads: 0, gets: 0, inflight: 0, maxInflight: 0, urls: [], headers: [], fullBodyBytesSent: 0 };
}

function handler(data: Uint8Array, state: { knobs: Knobs; log: ServerLog }) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const { knobs, log } = state;
    log.urls.push(req.url ?? '');
    log.headers.push(req.headers);
    if (knobs.redirectTo !== undefined && !(req.url ?? '').startsWith('/moved')) {
      res.writeHead(302, { location: knobs.redirectTo }).end();
      return;
    }
    const changed = knobs.changeAfterGets !== undefined && log.gets >= knobs.changeAfterGets;
    const etag = changed ? ETAG_2 : ETAG_1;
    const lastModified = changed ? LAST_MODIFIED_2 : LAST_MODIFIED_1;
    if (req.method === 'HEAD') {
      log.heads++;
      if (knobs.headStatus !== undefined) {
        res.writeHead(knobs.headStatus).end();
        return;
      }
      const headers: Record<string, string> = { 'content-length': String(data.length), etag, 'last-modified': lastModified };
      if (knobs.acceptRanges !== null) headers['accept-ranges'] = knobs.acceptRanges ?? 'bytes';
      res.writeHead(200, headers).end();
      return;
    }
    log.gets++;
    log.inflight++;
    log.maxInflight = Math.max(log.maxInflight, log.inflight);
    res.on('close', () => log.inflight--);
    const respond = () => {
      if (res.destroyed) return;
      if (knobs.errorStatus !== undefined) {
        const body = `<?xml version="1.0"?><Error><Code>AuthenticationFailed</Code><Message>sig=${'ECHOEDSECRET'}</Message></Error>`;
        res.writeHead(knobs.errorStatus, { 'content-type': 'application/xml' }).end(body);
        return;
      }
      if ((knobs.failGets ?? 0) > 0) {
        knobs.failGets = (knobs.failGets ?? 0) - 1;
        const headers: Record<string, string> = {};
        if (knobs.retryAfter !== undefined) headers['retry-after'] = knobs.retryAfter;
        res.writeHead(knobs.failStatus ?? 503, headers).end('busy');
        return;
      }
      const ifMatch = req.headers['if-match'];
      if (knobs.honourIfMatch && ifMatch !== undefined && ifMatch !== etag) {
        res.writeHead(412).end();
        return;
      }
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (knobs.ignoreRange || !m) {
        streamWhole(data, res, log, etag, knobs.wholeBodyBytes ?? data.length);
        return;
      }
      const first = Number(m[1]);
      const last = Math.min(Number(m[2]), data.length - 1);
      if (first >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
        return;
      }
      const shift = knobs.wrongContentRange ? 1 : 0;
      const body = data.subarray(first, last + 1);
      const headers: Record<string, string> = {
        'content-range': `bytes ${first + shift}-${last + shift}/${data.length}`,
        etag,
        'last-modified': lastModified,
        'accept-ranges': 'bytes',
      };
      if ((knobs.shortBodies ?? 0) > 0) {
        knobs.shortBodies = (knobs.shortBodies ?? 0) - 1;
        res.writeHead(206, headers);
        res.end(body.subarray(0, Math.floor(body.length / 2)));
        return;
      }
      headers['content-length'] = String(body.length);
      res.writeHead(206, headers).end(body);
    };
    if (knobs.delayMs) {
      const timer = setTimeout(respond, knobs.delayMs);
      res.on('close', () => clearTimeout(timer));
    } else {
      respond();
    }
  };
}

/** A 200 with the whole object, written with backpressure so an early hang-up stops it. */
function streamWhole(data: Uint8Array, res: ServerResponse, log: ServerLog, etag: string, total: number): void {
  res.writeHead(200, { 'content-length': String(total), etag });
  let pos = 0;
  const pump = () => {
    while (pos < total && !res.destroyed) {
      const at = pos % data.length;
      const chunk = data.subarray(at, Math.min(at + 16 * 1024, data.length, at + total - pos));
      pos += chunk.length;
      log.fullBodyBytesSent += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

async function startServer(data: Uint8Array, tls?: { key: Buffer; cert: Buffer }): Promise<TestServer> {
  const state = { knobs: {} as Knobs, log: freshLog() };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler(data, state)) : http.createServer(handler(data, state));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    get knobs() {
      return state.knobs;
    },
    get log() {
      return state.log;
    },
    reset(knobs: Knobs = {}) {
      state.knobs = knobs;
      state.log = freshLog();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------

const DATA_BYTES = 8 * 1024 * 1024;
const WHOLE_BODY_BYTES = 256 * 1024 * 1024;
const SECRET = 'sv%2BSUPERSECRETSIG';
const AMZ_SECRET = 'AMZSECRETSIGNATURE0123';
const SAS_QUERY = `?sv=2021-08-06&sr=b&st=2025-01-01T00%3A00%3A00Z&se=2099-01-01T00%3A00%3A00Z&sp=r&sig=${SECRET}`;

function seededBytes(n: number, seed: number): Uint8Array {
  const rnd = prng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const v = Math.floor(rnd() * 2 ** 32);
    out[i] = v & 0xff;
    out[i + 1] = (v >>> 8) & 0xff;
    out[i + 2] = (v >>> 16) & 0xff;
    out[i + 3] = v >>> 24;
  }
  return out;
}

/** Options for the local server: loopback allowed, fast retries, deterministic jitter. */
function local(extra: HttpSourceOptions = {}): HttpSourceOptions {
  return { allowHttp: true, allowPrivateNetwork: true, retryBaseMs: 5, retryMaxDelayMs: 50, random: () => 0.5, ...extra };
}

/** Every string an error exposes: messages and stacks along the cause chain, and inspect(). */
function exposedText(err: unknown): string {
  const parts: string[] = [inspect(err, { depth: 10 })];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && depth < 20; depth++) {
    if (e instanceof Error) {
      parts.push(e.message, e.stack ?? '', String(e));
      e = e.cause;
    } else {
      parts.push(String(e));
      e = undefined;
    }
  }
  return parts.join('\n');
}

function assertNoSecret(text: string, what: string): void {
  for (const s of [SECRET, AMZ_SECRET, 'SUPERSECRETSIG', 'ECHOEDSECRET', 'sig=', 'X-Amz-Signature=', 'userpw']) {
    assert.ok(!text.includes(s), `${what} leaks ${s}: ${text.slice(0, 400)}`);
  }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

describe('HttpSource over a local range server', () => {
  const data = seededBytes(DATA_BYTES, 42);
  let server: TestServer;
  let url: string;

  before(async () => {
    server = await startServer(data);
    url = `${server.base}/snapshots/disk.vhd${SAS_QUERY}`;
  });
  after(() => server.close());

  test('many random reads return the same bytes as the file, with stats counting them', async () => {
    server.reset();
    const src = await HttpSource.open(url, local({ partBytes: 64 * 1024, concurrency: 8 }));
    try {
      assert.equal(src.size, DATA_BYTES);
      assert.equal(src.sectorSize, 512);
      const rnd = prng(7);
      let expectedBytes = 0;
      const cases: Array<[number, number]> = [[0, 1], [DATA_BYTES - 1, 1], [DATA_BYTES - 300_000, 300_000], [65_535, 2], [0, 0]];
      for (let i = 0; i < 150; i++) {
        const len = 1 + Math.floor(rnd() * 300_000);
        cases.push([Math.floor(rnd() * (DATA_BYTES - len)), len]);
      }
      await Promise.all(
        cases.map(async ([off, len]) => {
          const got = await src.read(off, len);
          expectedBytes += len;
          assert.ok(Buffer.from(got).equals(data.subarray(off, off + len)), `offset ${off} length ${len}`);
        }),
      );
      assert.equal(src.stats().bytesRead, expectedBytes);
      assert.ok(src.stats().reads >= cases.length - 1);
      assert.equal(src.stats().retries, 0);
      // The signed query string reaches the server (it is the credential) on every request.
      assert.ok(server.log.urls.every((u) => u.includes(`sig=${SECRET}`)));
      assert.ok(server.log.headers.every((h) => h['x-ms-version'] === undefined), 'x-ms-version only for Azure hosts');
    } finally {
      await src.close();
    }
  });

  test('a large read is split into parts fetched in parallel, bounded by the concurrency', async () => {
    server.reset({ delayMs: 30 });
    const src = await HttpSource.open(url, local({ partBytes: 64 * 1024, concurrency: 4 }));
    try {
      const got = await src.read(100, 1024 * 1024);
      assert.ok(Buffer.from(got).equals(data.subarray(100, 100 + 1024 * 1024)));
      assert.equal(server.log.gets, 16);
      assert.equal(server.log.maxInflight, 4);
    } finally {
      await src.close();
    }
  });

  test('the concurrency limit is shared by all reads of one source', async () => {
    server.reset({ delayMs: 20 });
    const src = await HttpSource.open(url, local({ partBytes: 64 * 1024, concurrency: 3 }));
    try {
      await Promise.all([src.read(0, 512 * 1024), src.read(2 * 1024 * 1024, 512 * 1024), src.read(5 * 1024 * 1024, 256 * 1024)]);
      assert.equal(server.log.gets, 20);
      assert.equal(server.log.maxInflight, 3);
    } finally {
      await src.close();
    }
  });

  test('a refused HEAD (presigned GET URL) falls back to a one-byte range probe for the size', async () => {
    server.reset({ headStatus: 403 });
    const src = await HttpSource.open(url, local());
    try {
      assert.equal(src.size, DATA_BYTES);
      assert.equal(server.log.heads, 1);
      assert.equal(server.log.headers[1]?.range, 'bytes=0-0');
      assert.deepEqual(await src.read(4096, 16), data.subarray(4096, 4112));
    } finally {
      await src.close();
    }
  });

  test('a HEAD without Accept-Ranges is confirmed by a range probe', async () => {
    server.reset({ acceptRanges: null });
    const src = await HttpSource.open(url, local());
    try {
      assert.equal(server.log.gets, 1);
      assert.equal(server.log.headers[1]?.range, 'bytes=0-0');
    } finally {
      await src.close();
    }
  });

  test('Accept-Ranges: none is refused at open', async () => {
    server.reset({ acceptRanges: 'none' });
    await assert.rejects(HttpSource.open(url, local()), (err: unknown) => err instanceof SourceError && /Accept-Ranges: none/.test(err.message));
  });

  test('a 200 answer to a range read is refused without downloading the disk', async () => {
    // The 200 body is a 256 MiB "disk": loopback socket buffers hold a few MiB, so a client that
    // hangs up at once stops the server far below it, however loaded the machine is.
    server.reset({ ignoreRange: true, wholeBodyBytes: WHOLE_BODY_BYTES });
    const src = await HttpSource.open(url, local());
    try {
      const err = await rejection(src.read(0, 4096));
      assert.ok(err instanceof SourceError);
      assert.match(err.message, /ignored the Range header \(HTTP 200 instead of 206\)/);
      assert.equal(server.log.gets, 1, 'not retried');
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(server.log.fullBodyBytesSent < WHOLE_BODY_BYTES / 8, `sent ${server.log.fullBodyBytesSent} bytes`);
    } finally {
      await src.close();
    }
  });

  test('a server without range support is refused at open when HEAD is refused too', async () => {
    server.reset({ headStatus: 405, ignoreRange: true });
    await assert.rejects(HttpSource.open(url, local()), /HTTP 200 instead of 206/);
  });

  test('a wrong Content-Range is refused and not retried', async () => {
    server.reset({ wrongContentRange: true });
    const src = await HttpSource.open(url, local());
    try {
      const err = await rejection(src.read(1000, 100));
      assert.ok(err instanceof SourceError);
      assert.match(err.message, /read of bytes 1000-1099 answered with bytes 1001-1100/);
      assert.equal(server.log.gets, 1);
    } finally {
      await src.close();
    }
  });

  test('a short body is retried, and fails after the retry budget when it persists', async () => {
    server.reset({ shortBodies: 1 });
    const src = await HttpSource.open(url, local({ retries: 2 }));
    try {
      assert.deepEqual(await src.read(10_000, 5000), data.subarray(10_000, 15_000));
      assert.equal(server.log.gets, 2);
      assert.equal(src.stats().retries, 1);
      server.reset({ shortBodies: 100 });
      const err = await rejection(src.read(20_000, 5000));
      assert.ok(err instanceof SourceError);
      assert.match(err.message, /failed after 3 attempts: .*short body \(2500 of 5000 bytes\)/);
      assert.equal(server.log.gets, 3);
    } finally {
      await src.close();
    }
  });

  test('503 then success: the read is retried with backoff and succeeds', async () => {
    server.reset({ failGets: 2, failStatus: 503 });
    const lines: string[] = [];
    const src = await HttpSource.open(url, local({ log: { warn: (m, meta) => lines.push(`${m} ${JSON.stringify(meta)}`) } }));
    try {
      assert.deepEqual(await src.read(512, 512), data.subarray(512, 1024));
      assert.equal(server.log.gets, 3);
      assert.equal(src.stats().retries, 2);
      assert.equal(lines.length, 2);
      assert.match(lines[0]!, /retrying.*HTTP 503/);
      for (const l of lines) assert.ok(!l.includes('sig'), l);
    } finally {
      await src.close();
    }
  });

  test('persistent 5xx fails after the bounded number of attempts', async () => {
    server.reset({ failGets: 100, failStatus: 500 });
    const src = await HttpSource.open(url, local({ retries: 3 }));
    try {
      await assert.rejects(src.read(0, 10), /failed after 4 attempts: .*HTTP 500/);
      assert.equal(server.log.gets, 4);
    } finally {
      await src.close();
    }
  });

  test('429 with a long Retry-After is honoured only up to the delay cap', async () => {
    server.reset({ failGets: 1, failStatus: 429, retryAfter: '3600' });
    const src = await HttpSource.open(url, local({ retryMaxDelayMs: 40 }));
    try {
      const t0 = performance.now();
      assert.deepEqual(await src.read(0, 10), data.subarray(0, 10));
      assert.ok(performance.now() - t0 < 2000);
      assert.equal(server.log.gets, 2);
    } finally {
      await src.close();
    }
  });

  test('4xx other than 408/429 is not retried; 403 names the likely cause without the secret', async () => {
    for (const status of [403, 404]) {
      server.reset({ errorStatus: status });
      const src = await HttpSource.open(url, local());
      try {
        const err = await rejection(src.read(0, 10));
        assert.ok(err instanceof SourceError);
        assert.match(err.message, new RegExp(`HTTP ${status} AuthenticationFailed`));
        if (status === 403) assert.match(err.message, /signed URL may have expired/);
        assert.equal(server.log.gets, 1);
        assertNoSecret(exposedText(err), `HTTP ${status} error`);
      } finally {
        await src.close();
      }
    }
  });

  test('a slow response hits the per-request timeout, and the retries stay bounded', async () => {
    server.reset({ delayMs: 10_000 });
    const src = await HttpSource.open(url, local({ timeoutMs: 150, retries: 1 }));
    try {
      const t0 = performance.now();
      const err = await rejection(src.read(0, 10));
      const elapsed = performance.now() - t0;
      assert.ok(err instanceof SourceError);
      assert.match(err.message, /failed after 2 attempts: .*timed out after 150 ms/);
      assert.ok(elapsed >= 290 && elapsed < 2000, `elapsed ${elapsed} ms`);
      assert.equal(server.log.gets, 2);
    } finally {
      await src.close();
    }
  });

  test('an object replaced mid-scan is refused: If-Match answered with 412', async () => {
    server.reset({ changeAfterGets: 1, honourIfMatch: true });
    const src = await HttpSource.open(url, local());
    try {
      assert.deepEqual(await src.read(0, 10), data.subarray(0, 10));
      assert.equal(server.log.headers[1]?.['if-match'], ETAG_1);
      await assert.rejects(src.read(0, 10), /snapshot changed while reading/);
    } finally {
      await src.close();
    }
  });

  test('an object replaced mid-scan is refused: If-Match ignored, ETag differs', async () => {
    server.reset({ changeAfterGets: 1, honourIfMatch: false });
    const src = await HttpSource.open(url, local());
    try {
      await src.read(0, 10);
      const err = await rejection(src.read(0, 10));
      assert.ok(err instanceof SourceError);
      assert.match(err.message, /snapshot changed while reading \(ETag changed\)/);
    } finally {
      await src.close();
    }
  });

  test('redirects are not followed by default; the refusal shows the target without its query', async () => {
    server.reset({ redirectTo: `${server.base}/moved/disk.vhd?X-Amz-Signature=${AMZ_SECRET}` });
    const err = await rejection(HttpSource.open(url, local()));
    assert.ok(err instanceof SourceError);
    assert.match(err.message, /redirect to http:\/\/127\.0\.0\.1:\d+\/moved\/disk\.vhd; redirects are not followed/);
    assertNoSecret(exposedText(err), 'redirect refusal');
  });

  test('followed redirects are re-vetted: a hop to the metadata address is refused', async () => {
    server.reset({ redirectTo: 'http://169.254.169.254/latest/meta-data/' });
    const err = await rejection(HttpSource.open(url, local({ followRedirects: true })));
    assert.ok(err instanceof UrlPolicyError);
    assert.equal(err.reason, 'metadata');
  });

  test('a followed redirect to an allowed address is read from', async () => {
    server.reset({ redirectTo: `${server.base}/moved/disk.vhd?X-Amz-Signature=${AMZ_SECRET}` });
    const src = await HttpSource.open(url, local({ followRedirects: true }));
    try {
      assert.deepEqual(await src.read(100, 100), data.subarray(100, 200));
      assert.ok(server.log.urls.at(-1)?.startsWith('/moved/disk.vhd?X-Amz-Signature='));
      // The description names what the user asked for; the redirect target is only used.
      assert.equal(src.description, `${server.base}/snapshots/disk.vhd`);
    } finally {
      await src.close();
    }
  });

  test('Azure blob hosts get x-ms-version, and connections go to the pinned address only', async () => {
    server.reset();
    let lookups = 0;
    const azureUrl = `http://acct.blob.core.windows.net:${server.port}/snapshots/abcd.vhd${SAS_QUERY}`;
    const src = await HttpSource.open(
      azureUrl,
      local({
        resolve: async () => {
          lookups++;
          return [{ address: '127.0.0.1', family: 4 }];
        },
      }),
    );
    try {
      await src.read(0, 512);
      await src.read(1 << 20, 512);
      assert.equal(lookups, 1, 'resolved once at open, never again (no rebinding window)');
      assert.ok(server.log.headers.every((h) => h['x-ms-version'] === '2021-08-06'));
      assert.equal(server.log.headers[0]?.host, `acct.blob.core.windows.net:${server.port}`);
      assert.equal(src.description, `http://acct.blob.core.windows.net:${server.port}/snapshots/abcd.vhd`);
    } finally {
      await src.close();
    }
  });

  test('the signed query string never appears in descriptions, errors, causes, stats or logs', async () => {
    const lines: string[] = [];
    const log = { warn: (m: string, meta: Record<string, unknown>) => lines.push(`${m} ${inspect(meta)}`) };
    const urls = [url, `${server.base}/disk.raw?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20250101&X-Amz-Signature=${AMZ_SECRET}`];
    const errors: unknown[] = [];
    for (const u of urls) {
      const scenarios: Knobs[] = [
        { failGets: 100 },
        { ignoreRange: true },
        { wrongContentRange: true },
        { shortBodies: 100 },
        { delayMs: 5000 },
        { changeAfterGets: 1, honourIfMatch: true },
        { errorStatus: 403 },
      ];
      for (const knobs of scenarios) {
        server.reset(knobs);
        const src = await HttpSource.open(u, local({ retries: 1, timeoutMs: 200, log }));
        try {
          assertNoSecret(src.description, 'description');
          await src.read(0, 10).catch(() => undefined);
          errors.push(await rejection(src.read(0, 10)));
          assertNoSecret(JSON.stringify(src.stats()), 'stats');
        } finally {
          await src.close();
        }
      }
      errors.push(await rejection(HttpSource.open(u.replace(String(server.port), '1'), local({ retries: 1 }))));
      errors.push(await rejection(HttpSource.open(u.replace('http:', 'https:'), local({ retries: 0, allowHttp: false }))));
      errors.push(await rejection(HttpSource.open(u.replace('http:', 'ftp:'), local())));
      errors.push(await rejection(HttpSource.open(u.replace('127.0.0.1', '169.254.169.254'), local())));
      errors.push(await rejection(HttpSource.open(u.replace('http://', 'http://user:userpw@'), local())));
      errors.push(await rejection(HttpSource.open(u.replace('http://127.0.0.1', 'http://[::1'), local())));
    }
    assert.ok(errors.length >= 24);
    for (const err of errors) {
      assert.ok(err instanceof SourceError || err instanceof UsageError, inspect(err));
      assertNoSecret(exposedText(err), `error ${(err as Error).message}`);
    }
    assert.ok(lines.length > 0);
    for (const l of lines) assertNoSecret(l, 'log line');
  });

  test('when one part of a large read fails for good, the other parts are not fetched', async () => {
    server.reset({ errorStatus: 404, delayMs: 10 });
    const src = await HttpSource.open(url, local({ partBytes: 64 * 1024, concurrency: 2 }));
    try {
      await assert.rejects(src.read(0, 1024 * 1024), /HTTP 404/);
      // Give queued parts the time they would need to reach the server.
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(server.log.gets <= 3, `${server.log.gets} of 16 parts requested`);
    } finally {
      await src.close();
    }
  });

  test('close() stops a read in flight promptly', async () => {
    server.reset({ delayMs: 10_000 });
    const src = await HttpSource.open(url, local());
    const t0 = performance.now();
    const pending = rejection(src.read(0, 10));
    await new Promise((r) => setTimeout(r, 50));
    await src.close();
    const err = await pending;
    assert.ok(err instanceof SourceError);
    assert.match(err.message, /source is closed/);
    assert.ok(performance.now() - t0 < 2000);
  });

  test('a closed source refuses reads', async () => {
    server.reset();
    const src = await HttpSource.open(url, local());
    await src.close();
    await assert.rejects(src.read(0, 1), /source is closed/);
  });

  test('read range and option validation', async () => {
    server.reset();
    await assert.rejects(HttpSource.open(url, local({ partBytes: 10 })), UsageError);
    await assert.rejects(HttpSource.open(url, local({ concurrency: 0 })), UsageError);
    const src = await HttpSource.open(url, local());
    try {
      await assert.rejects(src.read(DATA_BYTES - 1, 2), /read past end/);
      await assert.rejects(src.read(-1, 1), SourceError);
      assert.equal(server.log.gets, 0);
    } finally {
      await src.close();
    }
  });

  test('plain http is refused unless allowHttp is set', async () => {
    const err = await rejection(HttpSource.open(url, { allowPrivateNetwork: true }));
    assert.ok(err instanceof UrlPolicyError);
    assert.equal(err.reason, 'scheme');
  });

  test('loopback is refused unless allowPrivateNetwork is set', async () => {
    const err = await rejection(HttpSource.open(url, { allowHttp: true }));
    assert.ok(err instanceof UrlPolicyError);
    assert.equal(err.reason, 'loopback');
  });
});

describe('HttpSource over https with a self-signed certificate', () => {
  const skip = needTools('openssl');
  const data = seededBytes(1024 * 1024, 9);
  let server: TestServer | undefined;
  let ca: Buffer;
  let cleanup: (() => void) | undefined;

  before(async () => {
    if (skip) return;
    const tmp = tempDir('hullscan-tls-');
    cleanup = tmp.cleanup;
    const key = join(tmp.dir, 'key.pem');
    const cert = join(tmp.dir, 'cert.pem');
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]);
    ca = readFileSync(cert);
    server = await startServer(data, { key: readFileSync(key), cert: ca });
  });
  after(async () => {
    await server?.close();
    cleanup?.();
  });

  test('range reads over https with the test CA return the file bytes', { skip }, async () => {
    server!.reset();
    const src = await HttpSource.open(`${server!.base}/disk.vhd${SAS_QUERY}`, { allowPrivateNetwork: true, ca, partBytes: 64 * 1024 });
    try {
      assert.equal(src.size, data.length);
      const got = await src.read(1000, 300_000);
      assert.ok(Buffer.from(got).equals(data.subarray(1000, 301_000)));
      assert.equal(src.description, `${server!.base}/disk.vhd`);
    } finally {
      await src.close();
    }
  });

  test('an untrusted certificate is a SourceError, not retried, without the secret', { skip }, async () => {
    server!.reset();
    const err = await rejection(HttpSource.open(`${server!.base}/disk.vhd${SAS_QUERY}`, { allowPrivateNetwork: true, retryBaseMs: 1 }));
    assert.ok(err instanceof SourceError);
    assert.match(err.message, /network error \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    assert.equal(server!.log.heads, 0, 'the TLS handshake failed before any request');
    assertNoSecret(exposedText(err), 'TLS error');
  });
});
