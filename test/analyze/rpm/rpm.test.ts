/**
 * The rpm analyzer against real rpm databases made by Debian's rpm 4.18 (fixture.ts), with
 * `rpm --root R -qa` / `rpm -qa --dump` as the oracle: SQLite (with and without a live WAL),
 * Berkeley DB hash in both byte orders and two page sizes (written by Berkeley DB's db5.3_load,
 * read by rpm's bdb_ro), and ndb (byte-built from the same real headers: Debian's rpm has no
 * ndb backend).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { cpSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rpmAnalyzer } from '../../../src/analyze/rpm/index.ts';
import type { Package } from '../../../src/inventory/index.ts';
import { fixtureOrSkip } from '../../fixtures/node-image.ts';
import { needTools, run, tempDir } from '../../helpers/tools.ts';
import { fixtureBlobs, rpmBdbRoot, rpmSqliteRoot, DBPATH_DEFINE } from './fixture.ts';
import { analyzeTree, qaLine, QA_FORMAT, rpmQa } from './helpers.ts';
import { buildNdb } from './ndb-writer.ts';

const skipRpm = needTools('rpm', 'rpmbuild');

/** path → digest from `rpm -qa --dump`, regular files only (rpm prints zeros for the rest). */
async function dumpDigests(root: string, backend?: 'bdb_ro'): Promise<Map<string, string>> {
  const args = [DBPATH_DEFINE, ...(backend ? [`--define=_db_backend ${backend}`] : []), '--root', root, '-qa', '--dump'];
  const out = await run('rpm', args);
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    if (!line.startsWith('/')) continue; // "(contains no files)"
    // path size mtime digest mode owner group isconfig isdoc rdev symlink
    const f = line.split(' ');
    const digest = f[3]!;
    if (/^0+$/.test(digest)) continue;
    m.set(f[0]!, digest);
  }
  return m;
}

function ourDigests(packages: readonly Package[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const p of packages) for (const f of p.files ?? []) m.set(f.path, f.digest);
  return m;
}

test('rpmdb.sqlite: the package set is exactly rpm -qa (NAME, EPOCHNUM, EVR, ARCH, VENDOR, LICENSE, SOURCERPM)', { skip: skipRpm }, async (t) => {
  const root = await fixtureOrSkip(t, rpmSqliteRoot());
  if (!root) return;
  const r = await analyzeTree(rpmAnalyzer, root);
  assert.deepEqual(r.issues, []);
  const ours = (r.packages ?? []).map(qaLine).sort();
  assert.deepEqual(ours, await rpmQa(root, QA_FORMAT));
  assert.equal(ours.length, 6);
  // gpg-pubkey is in rpm's own list (when the fixture imported a key) but is not software.
  const all = await run('rpm', [DBPATH_DEFINE, '--root', root, '-qa']);
  if (all.includes('gpg-pubkey')) assert.ok(!(r.packages ?? []).some((p) => p.name === 'gpg-pubkey'));
});

test('rpmdb.sqlite: sources, epochs, evidence and digest algorithms per package', { skip: skipRpm }, async (t) => {
  const root = await fixtureOrSkip(t, rpmSqliteRoot());
  if (!root) return;
  const r = await analyzeTree(rpmAnalyzer, root);
  const by = new Map((r.packages ?? []).map((p) => [p.name, p]));
  const cases: [name: string, version: string, epoch: number | undefined, source: { name: string; version: string }, algorithm: string | undefined][] = [
    ['beta-libs', '2:3.1~rc1-4.azl3', 2, { name: 'beta', version: '2:3.1~rc1-4.azl3' }, 'sha512'],
    ['beta', '2:3.1~rc1-4.azl3', 2, { name: 'beta', version: '2:3.1~rc1-4.azl3' }, 'sha512'],
    ['alpha', '1.0-1.azl3', undefined, { name: 'alpha', version: '1.0-1.azl3' }, 'sha256'],
    // An explicit "Epoch: 0" is recorded, and rpm's %{EVR} shows it.
    ['gamma', '0:0.9^20240101-1.el7', 0, { name: 'gamma', version: '0:0.9^20240101-1.el7' }, 'md5'],
    ['delta-sha1', '20240101-7', undefined, { name: 'delta', version: '20240101-7' }, 'sha1'],
    ['delta', '20240101-7', undefined, { name: 'delta', version: '20240101-7' }, undefined],
  ];
  for (const [name, version, epoch, source, algorithm] of cases) {
    const p = by.get(name);
    assert.ok(p, name);
    assert.equal(p.version, version, name);
    assert.equal(p.epoch, epoch, name);
    assert.deepEqual(p.source, source, name);
    assert.equal(p.versionScheme, 'rpm');
    assert.equal(p.foundBy, 'rpm');
    assert.equal(p.id, `rpm:${name}@${version}:${p.arch}:`);
    assert.equal(p.files?.[0]?.algorithm, algorithm, name);
    assert.equal(p.evidence.length, 1);
    assert.equal(p.evidence[0]!.path, '/var/lib/rpm/rpmdb.sqlite');
    assert.match(p.evidence[0]!.record!, /^rpmdb\.sqlite Packages hnum \d+$/);
  }
  // Directories, symlinks and %ghost files have no digest and are not listed.
  const alpha = by.get('alpha')!.files!.map((f) => f.path).sort();
  assert.deepEqual(alpha, ['/etc/alpha.conf', '/usr/bin/alpha', '/usr/share/alpha/README']);
});

test('rpmdb.sqlite: file digests equal rpm -qa --dump', { skip: skipRpm }, async (t) => {
  const root = await fixtureOrSkip(t, rpmSqliteRoot());
  if (!root) return;
  const r = await analyzeTree(rpmAnalyzer, root);
  const expected = await dumpDigests(root);
  assert.ok(expected.size >= 8);
  assert.deepEqual(ourDigests(r.packages ?? []), expected);
});

test('rpmdb.sqlite with committed transactions still in the -wal file: the WAL is read too', { skip: skipRpm }, async (t) => {
  const root = await fixtureOrSkip(t, rpmSqliteRoot());
  if (!root) return;
  const tmp = tempDir();
  const db = (() => {
    const dbdir = join(tmp.dir, 'var/lib/rpm');
    mkdirSync(dbdir, { recursive: true });
    cpSync(join(root, 'var/lib/rpm/rpmdb.sqlite'), join(dbdir, 'rpmdb.sqlite'));
    const d = new DatabaseSync(join(dbdir, 'rpmdb.sqlite'));
    d.exec('PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; PRAGMA foreign_keys=OFF;');
    d.exec("DELETE FROM Packages WHERE hnum = (SELECT min(hnum) FROM Packages)");
    return d;
  })();
  try {
    // The delete lives only in the WAL while this connection stays open.
    assert.ok(statSync(join(tmp.dir, 'var/lib/rpm/rpmdb.sqlite-wal')).size > 0);
    const r = await analyzeTree(rpmAnalyzer, tmp.dir);
    const full = fixtureBlobs(root).length - 1;
    const gpg = (await run('rpm', [DBPATH_DEFINE, '--root', root, '-qa'])).includes('gpg-pubkey') ? 1 : 0;
    assert.equal((r.packages ?? []).length, full - gpg);
    assert.ok(!(r.packages ?? []).some((p) => p.evidence[0]!.record === 'rpmdb.sqlite Packages hnum 1'));
  } finally {
    db.close();
    tmp.cleanup();
  }
});

test('two databases: SQLite in /usr/lib/sysimage/rpm wins over a leftover BDB Packages, which is named in an info issue', { skip: skipRpm || needTools('db5.3_load') }, async (t) => {
  const sqlite = await fixtureOrSkip(t, rpmSqliteRoot());
  const bdb = await fixtureOrSkip(t, rpmBdbRoot('le', 4096));
  if (!sqlite || !bdb) return;
  const tmp = tempDir();
  try {
    mkdirSync(join(tmp.dir, 'usr/lib/sysimage/rpm'), { recursive: true });
    cpSync(join(sqlite, 'var/lib/rpm/rpmdb.sqlite'), join(tmp.dir, 'usr/lib/sysimage/rpm/rpmdb.sqlite'));
    mkdirSync(join(tmp.dir, 'var/lib/rpm'), { recursive: true });
    cpSync(join(bdb, 'var/lib/rpm/Packages'), join(tmp.dir, 'var/lib/rpm/Packages'));
    const r = await analyzeTree(rpmAnalyzer, tmp.dir);
    assert.equal((r.packages ?? []).length, 6);
    assert.ok((r.packages ?? []).every((p) => p.evidence[0]!.path === '/usr/lib/sysimage/rpm/rpmdb.sqlite'));
    assert.deepEqual(r.issues?.map((i) => [i.severity, i.code, i.location]), [['info', 'rpm.db-not-read', '/var/lib/rpm/Packages']]);
  } finally {
    tmp.cleanup();
  }
});

for (const [order, pageBytes] of [['le', 4096], ['be', 4096], ['le', 16384]] as const) {
  test(`BDB hash Packages (${order === 'le' ? 'little' : 'big'} endian, ${pageBytes}-byte pages, by db5.3_load): equals rpm's bdb_ro -qa and --dump`, { skip: skipRpm || needTools('db5.3_load') }, async (t) => {
    const root = await fixtureOrSkip(t, rpmBdbRoot(order, pageBytes));
    if (!root) return;
    const r = await analyzeTree(rpmAnalyzer, root);
    assert.deepEqual(r.issues, []);
    const pk = r.packages ?? [];
    assert.deepEqual(pk.map(qaLine).sort(), await rpmQa(root, QA_FORMAT, 'bdb_ro'));
    assert.deepEqual(ourDigests(pk), await dumpDigests(root, 'bdb_ro'));
    assert.ok(pk.every((p) => /^Packages \(bdb\) key \d+$/.test(p.evidence[0]!.record!)));
    // Keys are header numbers in the file's byte order, and equal the SQLite hnums they came from.
    assert.deepEqual(pk.map((p) => Number(p.evidence[0]!.record!.split(' ').pop())).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6].filter((n) => pk.length >= n));
  });
}

test('ndb Packages.db (byte-built from the real headers, per rpmpkg.c): equals rpm -qa of the same headers', { skip: skipRpm }, async (t) => {
  const root = await fixtureOrSkip(t, rpmSqliteRoot());
  if (!root) return;
  const tmp = tempDir();
  try {
    const blobs = fixtureBlobs(root).map((b) => ({ pkgidx: b.hnum, blob: b.blob }));
    mkdirSync(join(tmp.dir, 'usr/lib/sysimage/rpm'), { recursive: true });
    writeFileSync(join(tmp.dir, 'usr/lib/sysimage/rpm/Packages.db'), buildNdb(blobs, { gapBlocks: 3 }));
    const r = await analyzeTree(rpmAnalyzer, tmp.dir);
    assert.deepEqual(r.issues, []);
    assert.deepEqual((r.packages ?? []).map(qaLine).sort(), await rpmQa(root, QA_FORMAT));
    assert.deepEqual(ourDigests(r.packages ?? []), await dumpDigests(root));
    assert.ok((r.packages ?? []).every((p) => /^Packages\.db \(ndb\) pkgidx \d+$/.test(p.evidence[0]!.record!)));
  } finally {
    tmp.cleanup();
  }
});
