/**
 * `hullscan db import|update|status` against feeds served by a local HTTP server on 127.0.0.1:
 * downloads, the URL policy (loopback only with --allow-private-urls), atomicity on HTTP
 * errors / truncated bodies / corrupt gzip, redirects, secrets never printed, status age warnings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { db, EXIT_STALE, parseAge } from '../../src/cli/commands/db.ts';
import { describeError } from '../../src/cli/errors.ts';
import { SourceError, UsageError } from '../../src/util/errors.ts';
import { importRawFeeds, openVulnDb } from '../../src/vulndb/store.ts';
import { DEFAULT_FEED_URLS } from '../../src/vulndb/update.ts';
import { SLICES, tempDir } from './helpers.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Serves `routes` (path without query → handler) on 127.0.0.1; records every request path. */
async function serve(t: import('node:test').TestContext, routes: Record<string, Handler>): Promise<{ base: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    seen.push(path);
    const h = routes[path];
    if (h) h(req, res);
    else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, seen };
}

function file(path: string): Handler {
  const body = readFileSync(path);
  return (_req, res) => {
    res.setHeader('content-length', body.length);
    res.end(body);
  };
}

/** Every default feed pointed at the local server (or switched off). */
function sourceArgs(base: string, overrides: Record<string, string> = {}): string[] {
  const map: Record<string, string> = {
    'osv-debian': `${base}/debian.jsonl.gz`,
    'osv-ubuntu': `${base}/ubuntu.jsonl`,
    'osv-alpine': `${base}/Alpine/all.zip`,
    'osv-go': 'off',
    'azurelinux-3.0-oval': `${base}/azurelinux-3.0-oval.xml.gz`,
    'mariner-2.0-oval': 'off',
    kev: `${base}/kev.json`,
    epss: `${base}/epss_scores-2026-08-16.csv.gz`,
    ...overrides,
  };
  assert.deepEqual(Object.keys(map).sort(), Object.keys(DEFAULT_FEED_URLS).sort(), 'the test overrides every default feed');
  return Object.entries(map).flatMap(([id, url]) => ['--source-url', `${id}=${url}`]);
}

const ROUTES = (): Record<string, Handler> => ({
  '/debian.jsonl.gz': file(SLICES.debian),
  '/ubuntu.jsonl': file(SLICES.ubuntu),
  '/Alpine/all.zip': file(SLICES.alpine),
  '/azurelinux-3.0-oval.xml.gz': file(SLICES.oval),
  '/kev.json': file(SLICES.kev),
  '/epss_scores-2026-08-16.csv.gz': file(SLICES.epss),
});

function capture(): { out: (s: string) => void; err: (s: string) => void; stdout: () => string; stderr: () => string } {
  let o = '';
  let e = '';
  return { out: (s) => (o += s), err: (s) => (e += s), stdout: () => o, stderr: () => e };
}

test('db update downloads every configured feed from a loopback server and builds the database', async (t) => {
  const { base, seen } = await serve(t, ROUTES());
  const dbPath = join(tempDir(t), 'vuln.db');
  const io = capture();
  const code = await db('update', ['--db', dbPath, '--allow-private-urls', ...sourceArgs(base, { kev: `${base}/kev.json?sig=SECRET-TOKEN&se=2030` })], io.out, io.err);
  assert.equal(code, 0);
  assert.deepEqual(seen.sort(), ['/Alpine/all.zip', '/azurelinux-3.0-oval.xml.gz', '/debian.jsonl.gz', '/epss_scores-2026-08-16.csv.gz', '/kev.json', '/ubuntu.jsonl']);
  assert.match(io.stdout(), /osv\s+http:\/\/127\.0\.0\.1:\d+\/debian\.jsonl\.gz\s+146\s+157\s+0/);
  assert.match(io.stdout(), /azurelinux-oval\s+\S+\s+71\s+71/);
  assert.doesNotMatch(io.stdout() + io.stderr(), /SECRET-TOKEN|sig=/);
  const v = openVulnDb(dbPath);
  t.after(() => v.close());
  const s = v.status();
  assert.deepEqual(s.sources.map((x) => [x.source, x.advisories]), [
    ['azurelinux-oval', 71],
    ['epss', 405],
    ['kev', 103],
    ['osv', 146 + 87 + 70],
  ]);
  // Advisories name their feed by URL without the query.
  assert.match(v.lookup('debian:12', 'openssl')[0]!.advisory.feed, /^http:\/\/127\.0\.0\.1:\d+\/debian\.jsonl\.gz$/);
  assert.ok(s.sources.find((x) => x.source === 'kev')!.feeds[0]!.endsWith('/kev.json'));
});

test('db update refuses loopback feed URLs unless --allow-private-urls is given', async (t) => {
  const { base, seen } = await serve(t, ROUTES());
  const dbPath = join(tempDir(t), 'vuln.db');
  const io = capture();
  await assert.rejects(db('update', ['--db', dbPath, ...sourceArgs(base)], io.out, io.err), UsageError);
  assert.deepEqual(seen, []);
  // Even with the switch, cloud metadata addresses stay refused.
  await assert.rejects(db('update', ['--db', dbPath, '--allow-private-urls', ...sourceArgs(base, { kev: 'http://169.254.169.254/latest/meta-data/' })], io.out, io.err), /refusing a metadata address/);
  assert.equal(existsSync(dbPath), false);
});

test('a failed update (HTTP 500, truncated body, corrupt gzip, redirect loop) keeps the previous database', async (t) => {
  const routes = ROUTES();
  const gz = readFileSync(SLICES.debian);
  routes['/500'] = (_req, res) => {
    res.statusCode = 500;
    res.end('boom');
  };
  routes['/truncated-body'] = (_req, res) => {
    res.setHeader('content-length', gz.length);
    res.write(gz.subarray(0, 1000));
    setTimeout(() => res.destroy(), 10);
  };
  routes['/bad.jsonl.gz'] = (_req, res) => {
    const half = gzipSync(readFileSync(SLICES.ubuntu)).subarray(0, 5000);
    res.setHeader('content-length', half.length);
    res.end(half);
  };
  routes['/loop'] = (_req, res) => {
    res.statusCode = 302;
    res.setHeader('location', '/loop');
    res.end();
  };
  const { base } = await serve(t, routes);
  const dbPath = join(tempDir(t), 'vuln.db');
  assert.equal(await db('update', ['--db', dbPath, '--allow-private-urls', ...sourceArgs(base)], capture().out, capture().err), 0);
  const before = readFileSync(dbPath);
  const cases: [string, Record<string, string>, RegExp][] = [
    ['HTTP 500', { kev: `${base}/500` }, /HTTP 500/],
    ['truncated body', { 'osv-debian': `${base}/truncated-body` }, /closed before the body was complete|truncated|network error/],
    ['corrupt gzip', { 'osv-ubuntu': `${base}/bad.jsonl.gz` }, /corrupt or truncated/],
    ['redirect loop', { epss: `${base}/loop` }, /more than 5 redirects/],
  ];
  for (const [what, override, message] of cases) {
    await assert.rejects(db('update', ['--db', dbPath, '--allow-private-urls', ...sourceArgs(base, override)], capture().out, capture().err), message, what);
    assert.deepEqual(readFileSync(dbPath), before, `${what}: previous database kept`);
    assert.deepEqual(readdirSync(dirname(dbPath)).filter((n) => /\.(download|tmp)-/.test(n)), [], `${what}: no download or temporary files left`);
  }
  // The CLI maps these to the "unreadable input" exit code.
  assert.equal(describeError(new SourceError('x')).code, 3);
});

test('db update follows a bounded redirect to the dated EPSS file', async (t) => {
  const routes = ROUTES();
  // FIRST's daily file starts with the model/score-date comment (the slice is an API dump without it).
  const daily = gzipSync(Buffer.concat([Buffer.from('#model_version:v2025.03.14,score_date:2026-08-15T00:00:00+0000\n'), gunzipSync(readFileSync(SLICES.epss))]));
  routes['/epss_scores-2026-08-15.csv.gz'] = (_req, res) => res.end(daily);
  routes['/epss_scores-current.csv.gz'] = (_req, res) => {
    res.statusCode = 302;
    res.setHeader('location', '/epss_scores-2026-08-15.csv.gz');
    res.end();
  };
  const { base, seen } = await serve(t, routes);
  const dbPath = join(tempDir(t), 'vuln.db');
  assert.equal(await db('update', ['--db', dbPath, '--allow-private-urls', ...sourceArgs(base, { epss: `${base}/epss_scores-current.csv.gz` })], capture().out, capture().err), 0);
  assert.ok(seen.includes('/epss_scores-current.csv.gz') && seen.includes('/epss_scores-2026-08-15.csv.gz'));
  const v = openVulnDb(dbPath);
  t.after(() => v.close());
  assert.equal(v.status().epssScores, 405);
  assert.equal(v.status().epssDate, '2026-08-15');
});

test('db update reads feed URLs from a config file; false switches a feed off', async (t) => {
  const { base, seen } = await serve(t, ROUTES());
  const dir = tempDir(t);
  const config = join(dir, 'feeds.json');
  const feeds: Record<string, string | false> = Object.fromEntries(Object.keys(DEFAULT_FEED_URLS).map((id) => [id, false]));
  feeds['kev'] = `${base}/kev.json`;
  feeds['my-mirror-oval'] = `${base}/azurelinux-3.0-oval.xml.gz`;
  writeFileSync(config, JSON.stringify({ feeds, allowPrivateUrls: true, timeoutSeconds: 30 }));
  const dbPath = join(dir, 'vuln.db');
  assert.equal(await db('update', ['--db', dbPath, '--config', config], capture().out, capture().err), 0);
  assert.deepEqual(seen.sort(), ['/azurelinux-3.0-oval.xml.gz', '/kev.json']);
  writeFileSync(config, JSON.stringify({ feeds: { kev: 'ftp://x/y' } }));
  await assert.rejects(db('update', ['--db', dbPath, '--config', config], capture().out, capture().err), /only http\(s\) URLs/);
  writeFileSync(config, JSON.stringify({ feed: {} }));
  await assert.rejects(db('update', ['--db', dbPath, '--config', config], capture().out, capture().err), /unknown key "feed"/);
});

test('db import reports malformed records and exits 0; db status warns on age with exit code 1', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'vuln.db');
  const feed = join(dir, 'ubuntu-plus-garbage.jsonl');
  writeFileSync(feed, readFileSync(SLICES.ubuntu, 'utf8') + '{"id": broken\n');
  const io = capture();
  assert.equal(await db('import', ['--db', dbPath, feed, SLICES.kev], io.out, io.err), 0);
  assert.match(io.stdout(), /1 malformed record\(s\) in .*ubuntu-plus-garbage\.jsonl were counted and skipped/);
  assert.match(io.stdout(), /ubuntu-plus-garbage\.jsonl:88: JSON does not parse/);

  // Freshly built, but the Ubuntu slice's newest record is 2024-07-01: stale at 72h.
  const st = capture();
  assert.equal(await db('status', ['--db', dbPath], st.out, st.err), EXIT_STALE);
  assert.match(st.stderr(), /WARNING: source osv: newest record is from 2024-07-01T00:00:00\.000Z/);
  assert.doesNotMatch(st.stderr(), /the database was built/);
  assert.match(st.stdout(), /osv\s+1\s+87\s+215\s+1\s+2024-07-01/);
  assert.match(st.stdout(), /KEV entries: 103/);

  const ok = capture();
  assert.equal(await db('status', ['--db', dbPath, '--max-age', '99999d', '--format', 'json'], ok.out, ok.err), 0);
  const json = JSON.parse(ok.stdout()) as { stale: boolean; warnings: string[]; sources: { source: string }[] };
  assert.equal(json.stale, false);
  assert.deepEqual(json.warnings, []);
  assert.deepEqual(json.sources.map((s) => s.source), ['kev', 'osv']);

  // A database built long ago is stale whatever its records say.
  const old = join(dir, 'old.db');
  await importRawFeeds(old, [{ name: 'kev.json', bytes: readFileSync(SLICES.kev) }], { now: () => new Date('2025-08-26T00:00:00Z') });
  const o = capture();
  assert.equal(await db('status', ['--db', old, '--max-age', '1w'], o.out, o.err), EXIT_STALE);
  assert.match(o.stderr(), /WARNING: the database was built at 2025-08-26T00:00:00\.000Z/);
  await assert.rejects(db('status', ['--db', old, '--max-age', '3 days'], o.out, o.err), UsageError);
});

test('parseAge reads s/m/h/d/w', () => {
  assert.equal(parseAge('72h'), 72 * 3_600_000);
  assert.equal(parseAge('2w'), 14 * 86_400_000);
  assert.equal(parseAge('30s'), 30_000);
  assert.throws(() => parseAge('1y'), UsageError);
});

test('the hullscan binary dispatches db status and exits with its code', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'vuln.db');
  await importRawFeeds(dbPath, [{ name: 'kev.json', bytes: readFileSync(SLICES.kev) }]);
  const bin = new URL('../../bin/hullscan.js', import.meta.url).pathname;
  const run = promisify(execFile);
  const ok = await run(process.execPath, [bin, 'db', 'status', '--db', dbPath, '--max-age', '9999d']);
  assert.match(ok.stdout, /kev\s+1\s+103/);
  await assert.rejects(run(process.execPath, [bin, 'db', 'status', '--db', dbPath]), (e: { code?: number; stderr?: string }) => e.code === EXIT_STALE && /WARNING/.test(e.stderr ?? ''));
  await assert.rejects(run(process.execPath, [bin, 'db', 'status', '--db', join(dir, 'missing.db')]), (e: { code?: number; stderr?: string }) => e.code === 2 && /db update/.test(e.stderr ?? ''));
});

test('db update enforces the size cap (Content-Length and chunked) and the download timeout', async (t) => {
  const routes = ROUTES();
  const kev = readFileSync(SLICES.kev);
  routes['/chunked-kev.json'] = (_req, res) => {
    // No Content-Length: the cap is enforced while streaming.
    res.write(kev.subarray(0, 60_000));
    res.end(kev.subarray(60_000));
  };
  routes['/stall'] = (_req, res) => {
    res.setHeader('content-length', 1000);
    res.write('{');
    t.after(() => res.destroy());
  };
  const { base } = await serve(t, routes);
  const dir = tempDir(t);
  const dbPath = join(dir, 'vuln.db');
  const config = join(dir, 'feeds.json');
  const only = (id: string, url: string): Record<string, string | false> => ({ ...Object.fromEntries(Object.keys(DEFAULT_FEED_URLS).map((k) => [k, false])), [id]: url });
  writeFileSync(config, JSON.stringify({ feeds: only('kev', `${base}/kev.json`), allowPrivateUrls: true, maxBytes: 50_000 }));
  await assert.rejects(db('update', ['--db', dbPath, '--config', config], capture().out, capture().err), /larger than the 50000-byte limit/);
  writeFileSync(config, JSON.stringify({ feeds: only('kev', `${base}/chunked-kev.json`), allowPrivateUrls: true, maxBytes: 50_000 }));
  await assert.rejects(db('update', ['--db', dbPath, '--config', config], capture().out, capture().err), /body is larger than the 50000-byte limit/);
  writeFileSync(config, JSON.stringify({ feeds: only('kev', `${base}/stall`), allowPrivateUrls: true, timeoutSeconds: 0.3 }));
  await assert.rejects(db('update', ['--db', dbPath, '--config', config], capture().out, capture().err), /timed out after 300 ms/);
  assert.equal(existsSync(dbPath), false);
  writeFileSync(config, JSON.stringify({ feeds: only('kev', `${base}/chunked-kev.json`), allowPrivateUrls: true }));
  assert.equal(await db('update', ['--db', dbPath, '--config', config], capture().out, capture().err), 0);
});

test('db import takes a URL too (same policy), named without its query string', async (t) => {
  const { base } = await serve(t, ROUTES());
  const dbPath = join(tempDir(t), 'vuln.db');
  const io = capture();
  assert.equal(await db('import', ['--db', dbPath, '--allow-private-urls', `${base}/kev.json?token=abc123`], io.out, io.err), 0);
  assert.doesNotMatch(io.stdout(), /abc123|token/);
  const v = openVulnDb(dbPath);
  t.after(() => v.close());
  assert.deepEqual(v.status().sources[0]!.feeds, [`${base}/kev.json`]);
  await assert.rejects(db('import', ['--db', dbPath, `${base}/kev.json`], capture().out, capture().err), /only https URLs are allowed \(tests and internal mirrors: --allow-private-urls/);
  await assert.rejects(db('import', ['--db', dbPath, `https://127.0.0.1:1/kev.json`], capture().out, capture().err), /refusing a loopback address \(tests and internal mirrors: --allow-private-urls/);
});
