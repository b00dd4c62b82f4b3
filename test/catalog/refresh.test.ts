/**
 * Refreshing the node-image catalogue (src/catalog/refresh.ts, `hullscan db update --catalog`)
 * against release notes served by a local HTTP server on 127.0.0.1 in the GitHub contents-API
 * shape: real AKS release notes (test/data/catalog/README.md) parse to exactly the shared TSVs'
 * package lists, a malformed notes file is reported and skipped, a failed listing keeps the old
 * catalogue, nothing is written into data/, and the CLI through the real binary.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { catalogDirForDb, catalogFromImages, DEFAULT_CATALOG_DIR, loadCatalog, refreshCatalog, type CatalogImage } from '../../src/catalog/index.ts';
import { parseReleaseNotes } from '../../src/catalog/release-notes.ts';
import type { ImageRecord } from '../../src/catalog/sources.ts';
import { writeFamilyFile } from '../../src/catalog/write.ts';
import { UsageError } from '../../src/util/errors.ts';
import { fetchFeed } from '../../src/vulndb/fetch.ts';

const DATA = new URL('../data/catalog/', import.meta.url).pathname;
const AZL = 'AKSAzureLinuxV3-gen2';
const U2404 = 'AKSUbuntu-2404gen2containerd';
const U2204 = 'AKSUbuntu-2204gen2containerd';
const NOTES = {
  azl2502: join(DATA, 'azurelinux3-gen2-202502.26.0.release-notes.txt'),
  azl2608: join(DATA, 'azurelinux3-gen2-202608.20.0.release-notes.txt'),
  u2404: join(DATA, 'ubuntu2404-gen2-containerd-202608.20.0.release-notes.cut.txt'),
};
const shipped = loadCatalog();

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'hullscan-catalog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Serves `routes` (path without query → handler); records every request (with its query). */
async function serve(t: TestContext, routes: (base: string) => Record<string, Handler>): Promise<{ base: string; seen: string[] }> {
  const seen: string[] = [];
  let table: Record<string, Handler> = {};
  const server = createServer((req, res) => {
    seen.push(req.url ?? '/');
    const h = table[(req.url ?? '/').split('?')[0]!];
    if (h) h(req, res);
    else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  table = routes(base);
  return { base, seen };
}

const body = (text: string | Buffer, status = 200): Handler => (_req, res) => {
  res.statusCode = status;
  res.end(text);
};
const listing = (entries: { name: string; download_url: string | null; type?: string }[]): Handler => body(JSON.stringify(entries.map((e) => ({ type: 'file', ...e }))));

/** The AgentBaker layout: three family folders, real notes, one malformed file, a README, a token on the download URLs. */
function agentBaker(opts: { u2204?: Handler; azl?: Handler; republished?: boolean } = {}): (base: string) => Record<string, Handler> {
  return (base) => ({
    '/release-notes/AKSAzureLinuxV3/gen2':
      opts.azl ??
      listing([
        { name: 'README.md', download_url: `${base}/raw/README.md` },
        { name: '202502.26.0.txt', download_url: `${base}/raw/azl/202502.26.0.txt?token=SECRET-TOKEN` },
        { name: '202608.20.0.txt', download_url: `${base}/raw/azl/202608.20.0.txt?token=SECRET-TOKEN` },
        { name: '202609.01.0.txt', download_url: `${base}/raw/azl/202609.01.0.txt` },
        { name: 'old', download_url: null, type: 'dir' },
        // The real 202608.20.0 notes under a version no catalogue holds (a new build, as the refresh would see it).
        ...(opts.republished === true ? [{ name: '202610.01.0.txt', download_url: `${base}/raw/azl/202608.20.0.txt` }] : []),
      ]),
    '/release-notes/AKSUbuntu/gen2/2404containerd': listing([{ name: '202608.20.0.txt', download_url: `${base}/raw/u2404/202608.20.0.txt` }]),
    '/release-notes/AKSUbuntu/gen2/2204containerd': opts.u2204 ?? listing([]),
    '/raw/azl/202502.26.0.txt': body(readFileSync(NOTES.azl2502)),
    '/raw/azl/202608.20.0.txt': body(readFileSync(NOTES.azl2608)),
    // A build whose package block was cut off: no "=== Installed Packages End".
    '/raw/azl/202609.01.0.txt': body(readFileSync(NOTES.azl2608, 'utf8').replace('=== Installed Packages End', '')),
    '/raw/u2404/202608.20.0.txt': body(readFileSync(NOTES.u2404)),
  });
}

const download = (url: string, maxBytes: number): Promise<Uint8Array> => fetchFeed(url, { allowPrivateUrls: true, maxBytes });

function readTsv(path: string): Record<string, string>[] {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
  const head = lines[0]!.split('\t');
  return lines.slice(1).map((l) => Object.fromEntries(l.split('\t').map((v, i) => [head[i]!, v])));
}

/** Name, version, arch of an image, sorted. */
function listOf(img: CatalogImage): string[] {
  return img.packages.map((p) => `${p.name} ${p.version} ${p.arch ?? ''}`).sort();
}

/** A loaded image back as a data-file record. */
function recordOf(img: CatalogImage): ImageRecord {
  return { version: img.version, builtAt: img.builtAt!, os: img.os, osFrom: 'test', ...(img.kernel !== undefined && { kernel: img.kernel }), archFrom: 'test', packages: img.packages.map((p) => [p.name, p.version, p.arch ?? '', p.source.name, p.source.version, p.sourceFrom!]) };
}

function dataSnapshot(): string[] {
  const dir = join(DEFAULT_CATALOG_DIR, '..');
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .sort()
    .map((f) => `${f} ${statSync(join(dir, f)).mtimeMs}`);
}

describe('parseReleaseNotes', () => {
  it('Azure Linux 3.0 202608.20.0: the rpm list equals the shared TSV, os-release and kernel read', () => {
    const notes = parseReleaseNotes(readFileSync(NOTES.azl2608, 'utf8'));
    const tsv = readTsv(join(DATA, 'azurelinux3-gen2-202608.20.0.packages.tsv'));
    assert.equal(notes.kind, 'rpm');
    assert.deepEqual(notes.packages.map((p) => `${p.name} ${p.version} ${p.arch}`), tsv.map((r) => `${r['name']} ${r['version']}-${r['release']} ${r['arch']}`));
    assert.equal(notes.kernel, '6.6.150.1-1.azl3');
    assert.equal(notes.osRelease['VERSION_ID'], '3.0');
  });

  it('Ubuntu 24.04 202608.20.0: the apt list equals the shared TSV (Listing... line dropped)', () => {
    const notes = parseReleaseNotes(readFileSync(NOTES.u2404, 'utf8'));
    const tsv = readTsv(join(DATA, 'ubuntu2404-gen2-containerd-202608.20.0.packages.tsv'));
    assert.equal(notes.kind, 'apt');
    assert.deepEqual(notes.packages.map((p) => `${p.name} ${p.version} ${p.arch}`), tsv.map((r) => `${r['name']} ${r['version']} ${r['arch']}`));
    assert.equal(notes.kernel, '6.8.0-1065-azure');
  });

  const real = (): string => readFileSync(NOTES.azl2502, 'utf8');
  const cases: [string, () => string, RegExp][] = [
    ['package block never closed', () => real().replace('=== Installed Packages End', ''), /Installed Packages Begin … End/],
    ['no os-release block', () => real().replace('=== os-release Begin', ''), /os-release Begin … End/],
    ['no "Using kernel" line', () => real().replace('Using kernel:', 'Kernel:'), /Using kernel/],
    ['empty package block', () => real().replace(/=== Installed Packages Begin\n[\s\S]*?=== Installed Packages End/, '=== Installed Packages Begin\n=== Installed Packages End'), /block is empty/],
    ['an rpm line without version-release', () => real().replace('filesystem-1.1-21.azl3.x86_64', 'filesystem.x86_64'), /not an rpm/],
    ['a package listed twice', () => real().replace('filesystem-1.1-21.azl3.x86_64', 'filesystem-1.1-21.azl3.x86_64\nfilesystem-1.1-21.azl3.x86_64'), /listed twice/],
    ['an apt list with a line of another shape', () => readFileSync(NOTES.u2404, 'utf8').replace(/^adduser\/.*$/m, 'adduser 3.137ubuntu1'), /not an "apt list" line/],
    ['larger than the limit', () => `${real()}${' '.repeat(4 * 1024 * 1024)}`, /larger than/],
  ];
  for (const [name, text, want] of cases) {
    it(`rejects: ${name}`, () => assert.throws(() => parseReleaseNotes(text(), 'x.txt'), want));
  }
});

describe('refreshCatalog against a local release-notes server', () => {
  it('adds unknown versions with exactly the TSV lists, reports the malformed file and the failed family, writes nothing into data/', async (t) => {
    const before = dataSnapshot();
    const { base, seen } = await serve(t, agentBaker({ u2204: body('rate limited', 403) }));
    const dir = join(tempDir(t), 'vuln.db.catalog');

    const report = await refreshCatalog({ dir, download, sourceUrl: `${base}/release-notes`, current: catalogFromImages([]) });

    const by = new Map(report.families.map((f) => [f.family, f]));
    assert.deepEqual(by.get(AZL)?.added, ['202502.26.0', '202608.20.0']);
    assert.equal(by.get(AZL)?.published, 3);
    assert.deepEqual(by.get(AZL)?.malformed.map((m) => m.version), ['202609.01.0']);
    assert.match(by.get(AZL)!.malformed[0]!.reason, /Installed Packages Begin … End/);
    assert.deepEqual(by.get(U2404)?.added, ['202608.20.0']);
    assert.match(by.get(U2204)?.error ?? '', /403/);
    assert.equal(by.get(U2204)?.file, undefined);
    assert.ok(seen.every((u) => !u.includes('README') && !u.endsWith('/old')), 'only <version>.txt entries are fetched');

    const refreshed = loadCatalog({ dir: tempDir(t), extraDirs: [dir] });
    assert.deepEqual(refreshed.versions(AZL), ['202502.26.0', '202608.20.0']);
    const tsv = readTsv(join(DATA, 'azurelinux3-gen2-202608.20.0.packages.tsv')).filter((r) => r['name'] !== 'gpg-pubkey');
    assert.deepEqual(listOf(refreshed.get(AZL, '202608.20.0')!), tsv.map((r) => `${r['name']} ${r['version']}-${r['release']} ${r['arch']}`).sort());
    const tsv2404 = readTsv(join(DATA, 'ubuntu2404-gen2-containerd-202608.20.0.packages.tsv'));
    assert.deepEqual(listOf(refreshed.get(U2404, '202608.20.0')!), tsv2404.map((r) => `${r['name']} ${r['version']} ${r['arch']}`).sort());
    // One parser for the shipped data and the refresh: the same images, field by field (sources included).
    assert.deepEqual(refreshed.get(AZL, '202608.20.0'), shipped.get(AZL, '202608.20.0'));
    assert.deepEqual(refreshed.get(AZL, '202502.26.0'), shipped.get(AZL, '202502.26.0'));
    assert.deepEqual(refreshed.get(U2404, '202608.20.0'), shipped.get(U2404, '202608.20.0'));
    assert.deepEqual(dataSnapshot(), before, 'data/ is untouched');
  });

  it('fetches only versions the catalogue lacks, newest first, at most maxNewPerFamily', async (t) => {
    const { base, seen } = await serve(t, agentBaker());
    const dir = tempDir(t);
    const current = catalogFromImages([shipped.get(AZL, '202502.26.0')!]);

    const report = await refreshCatalog({ dir, download, sourceUrl: `${base}/release-notes/`, current, maxNewPerFamily: 1 });

    const azl = report.families.find((f) => f.family === AZL)!;
    // 202609.01.0 is the newest unknown (and malformed); 202608.20.0 waits for the next run.
    assert.deepEqual([azl.added, azl.malformed.map((m) => m.version), azl.deferred], [[], ['202609.01.0'], 1]);
    assert.ok(!seen.some((u) => u.startsWith('/raw/azl/202502.26.0')), 'a known version is not fetched');
    assert.equal(azl.file, undefined, 'nothing new: no file written');
  });

  it('a failed listing keeps the previous refreshed catalogue, byte for byte', async (t) => {
    const dir = tempDir(t);
    writeFamilyFile(dir, { family: AZL, provenance: 'test', images: [recordOf(shipped.get(AZL, '202608.20.0')!)] }, 'test');
    const file = join(dir, `${AZL}.jsonl.zst`);
    const previous = readFileSync(file);
    const failing = await serve(t, agentBaker({ azl: body('boom', 500) }));

    const report = await refreshCatalog({ dir, download, sourceUrl: `${failing.base}/release-notes`, current: catalogFromImages([]) });

    assert.match(report.families.find((f) => f.family === AZL)?.error ?? '', /listing .*\/release-notes\/AKSAzureLinuxV3\/gen2: .*500/);
    assert.deepEqual(readFileSync(file), previous);
  });

  it('a refreshed image wins over the shipped one; earlier refreshed images are kept on the next run', async (t) => {
    const dir = tempDir(t);
    const img = shipped.get(AZL, '202608.20.0')!;
    writeFamilyFile(dir, { family: AZL, provenance: 'test', images: [recordOf({ ...img, kernel: '6.6.999.1-1.azl3' })] }, 'test');
    assert.equal(loadCatalog({ extraDirs: [dir] }).get(AZL, '202608.20.0')?.kernel, '6.6.999.1-1.azl3');
    assert.deepEqual(loadCatalog({ extraDirs: [dir] }).versions(AZL), shipped.versions(AZL));

    const { base } = await serve(t, agentBaker());
    const merged = loadCatalog({ dir: tempDir(t), extraDirs: [dir] });
    await refreshCatalog({ dir, download, sourceUrl: `${base}/release-notes`, current: merged });

    assert.deepEqual(loadCatalog({ dir: tempDir(t), extraDirs: [dir] }).versions(AZL), ['202502.26.0', '202608.20.0']);
    assert.equal(loadCatalog({ dir: tempDir(t), extraDirs: [dir] }).get(AZL, '202608.20.0')?.kernel, '6.6.999.1-1.azl3', 'the earlier refreshed image is kept');
  });

  it('refuses to write into the shipped data/node-images/', async () => {
    await assert.rejects(refreshCatalog({ dir: DEFAULT_CATALOG_DIR, download, current: shipped }), UsageError);
  });

  it('a refreshed directory that does not exist yet is no error', () => {
    assert.deepEqual(loadCatalog({ extraDirs: ['/nonexistent/vuln.db.catalog'] }).families(), shipped.families());
  });
});

describe('hullscan db update --catalog-only (the real binary)', () => {
  const bin = new URL('../../bin/hullscan.js', import.meta.url).pathname;
  const run = promisify(execFile);

  it('refreshes next to --db, prints the table, never the download token', async (t) => {
    const { base } = await serve(t, agentBaker({ republished: true }));
    const db = join(tempDir(t), 'vuln.db');

    const { stdout, stderr } = await run(process.execPath, [bin, 'db', 'update', '--catalog-only', '--db', db, '--catalog-url', `${base}/release-notes`, '--allow-private-urls'], { env: { ...process.env, HULLSCAN_CATALOG_URL: '' } });

    assert.match(stdout, new RegExp(`Node-image catalogue ${catalogDirForDb(db).replaceAll('.', '\\.')}`));
    assert.match(stdout, /AKSAzureLinuxV3-gen2\s+4\s+202610\.01\.0\s+1\s+0\s+ok/);
    assert.match(stdout, /202609\.01\.0: malformed release notes, skipped/);
    assert.ok(!`${stdout}${stderr}`.includes('SECRET-TOKEN'));
    assert.deepEqual(readdirSync(catalogDirForDb(db)), [`${AZL}.jsonl.zst`]);
    const merged = loadCatalog({ extraDirs: [catalogDirForDb(db)] });
    assert.deepEqual(merged.versions(AZL), ['202502.26.0', '202608.20.0', '202610.01.0']);
    assert.deepEqual(listOf(merged.get(AZL, '202610.01.0')!), listOf(shipped.get(AZL, '202608.20.0')!));
  });

  it('exit code 3 and the reason when a listing fails; the database is not touched', async (t) => {
    const { base } = await serve(t, agentBaker({ u2204: body('nope', 500) }));
    const db = join(tempDir(t), 'vuln.db');

    const r = await run(process.execPath, [bin, 'db', 'update', '--catalog-only', '--db', db, '--allow-private-urls'], { env: { ...process.env, HULLSCAN_CATALOG_URL: `${base}/release-notes` } }).then(
      () => assert.fail('expected a non-zero exit'),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );

    assert.equal(r.code, 3);
    assert.match(r.stderr, /node-image catalogue not refreshed for AKSUbuntu-2204gen2containerd .*500.*previous catalogue is kept/);
    assert.match(r.stdout, /FAILED \(previous catalogue kept\)/);
    assert.ok(!readdirSync(join(db, '..')).includes('vuln.db'));
  });
});
