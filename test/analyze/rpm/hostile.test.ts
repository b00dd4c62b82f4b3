/**
 * Hostile rpm databases: headers built or mutated byte by byte from real rpm-written blobs,
 * garbage SQLite files, BDB page loops, broken ndb slots, and seeded mutation fuzzing of the
 * header parser and of whole BDB / ndb files. Every failure must be a typed HullscanError or a
 * located issue, within the fuzz helper's time and memory budgets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDirectory } from '../../../src/fs/directory/index.ts';
import { readBdbPackages } from '../../../src/analyze/rpm/bdb.ts';
import type { BackendItem } from '../../../src/analyze/rpm/backend.ts';
import { parseHeader, parseSourceRpm, MAX_HEADER_INDEX_ENTRIES } from '../../../src/analyze/rpm/header.ts';
import { rpmAnalyzer } from '../../../src/analyze/rpm/index.ts';
import { readNdbPackages } from '../../../src/analyze/rpm/ndb.ts';
import { CorruptError, HullscanError } from '../../../src/util/errors.ts';
import { fixtureOrSkip } from '../../fixtures/node-image.ts';
import { fuzz, fuzzCases } from '../../helpers/fuzz.ts';
import { needTools, tempDir } from '../../helpers/tools.ts';
import { fixtureBlobs, rpmBdbRoot, rpmSqliteRoot } from './fixture.ts';
import { analyzeTree } from './helpers.ts';
import { buildNdb } from './ndb-writer.ts';

const skipRpm = needTools('rpm', 'rpmbuild');

/** A minimal header blob: entries [tag, type, offset, count] over `data`. */
function blob(entries: [number, number, number, number][], data: Uint8Array, il = entries.length, dl = data.length): Uint8Array {
  const out = new Uint8Array(8 + 16 * entries.length + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, il);
  dv.setUint32(4, dl);
  entries.forEach(([tag, type, off, count], i) => {
    dv.setInt32(8 + 16 * i, tag);
    dv.setUint32(12 + 16 * i, type);
    dv.setInt32(16 + 16 * i, off);
    dv.setUint32(20 + 16 * i, count);
  });
  out.set(data, 8 + 16 * entries.length);
  return out;
}
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const NVR = enc('n\0v\0r\0');
const NVR_ENTRIES: [number, number, number, number][] = [[1000, 6, 0, 1], [1001, 6, 2, 1], [1002, 6, 4, 1]];

test('header: a minimal NAME/VERSION/RELEASE blob parses', () => {
  const h = parseHeader(blob(NVR_ENTRIES, NVR));
  assert.deepEqual([h.name, h.version, h.release, h.epoch, h.files], ['n', 'v', 'r', undefined, []]);
});

const BAD_HEADERS: [string, () => Uint8Array][] = [
  ['shorter than the intro', () => new Uint8Array(5)],
  ['absurd index count', () => blob(NVR_ENTRIES, NVR, 0xffffffff)],
  ['index count just over rpm limit', () => blob(NVR_ENTRIES, NVR, MAX_HEADER_INDEX_ENTRIES + 1)],
  ['zero index entries', () => blob([], new Uint8Array(0))],
  ['data length larger than the blob', () => blob(NVR_ENTRIES, NVR, 3, 1000)],
  ['truncated after the index', () => blob(NVR_ENTRIES, NVR).subarray(0, 8 + 16 * 3 + 2)],
  ['tag offset past the data', () => blob([[1000, 6, 4000, 1], [1001, 6, 2, 1], [1002, 6, 4, 1]], NVR)],
  ['negative tag offset', () => blob([[1000, 6, -4, 1], [1001, 6, 2, 1], [1002, 6, 4, 1]], NVR)],
  ['string without NUL', () => blob(NVR_ENTRIES, enc('n\0v\0rrr'))],
  ['unknown type', () => blob([[1000, 42, 0, 1], [1001, 6, 2, 1], [1002, 6, 4, 1]], NVR)],
  ['string array count past the data', () => blob([...NVR_ENTRIES, [1117, 8, 0, 4000]], NVR)],
  ['INT32 epoch past the data', () => blob([...NVR_ENTRIES, [1003, 4, 4, 2]], NVR)],
  ['INT32 epoch misaligned', () => blob([...NVR_ENTRIES, [1003, 4, 1, 1]], new Uint8Array([...NVR, 0, 0]))],
  ['NAME missing', () => blob([[1001, 6, 2, 1], [1002, 6, 4, 1]], NVR)],
  ['DIRINDEXES pointing past DIRNAMES', () => {
    const data = enc('n\0v\0r\0b\0/d/\0\0\0\0\0\0\0\x07');
    return blob([...NVR_ENTRIES, [1117, 8, 6, 1], [1118, 8, 8, 1], [1116, 4, 16, 1]], data);
  }],
];
for (const [name, make] of BAD_HEADERS) {
  test(`header: ${name} is a CorruptError`, () => {
    assert.throws(() => parseHeader(make()), CorruptError);
  });
}

test('SOURCERPM names split into source name and version-release', () => {
  const cases: [string, { name: string; version: string } | undefined][] = [
    ['openssl-3.3.2-1.azl3.src.rpm', { name: 'openssl', version: '3.3.2-1.azl3' }],
    ['python-dateutil-2.8.2-5.el9.src.rpm', { name: 'python-dateutil', version: '2.8.2-5.el9' }],
    ['kernel-6.6.57.1-7.azl3.nosrc.rpm', { name: 'kernel', version: '6.6.57.1-7.azl3' }],
    ['garbage', undefined],
    ['noversion.src.rpm', undefined],
  ];
  for (const [s, want] of cases) assert.deepEqual(parseSourceRpm(s), want, s);
});

test('header parser: seeded mutation fuzz over real rpm-written headers', { skip: skipRpm }, async (t) => {
  const root = await fixtureOrSkip(t, rpmSqliteRoot());
  if (!root) return;
  const blobs = fixtureBlobs(root);
  for (const [i, b] of blobs.slice(0, 3).entries()) {
    const il = new DataView(b.blob.buffer, b.blob.byteOffset).getUint32(0);
    const out = await fuzz(b.blob, async (bytes) => parseHeader(bytes), {
      cases: fuzzCases(700),
      seed: 1000 * (i + 1),
      regions: [[0, 8 + 16 * il], [8 + 16 * il, b.blob.length]],
      allowTruncate: true,
    });
    assert.equal(out.cases, fuzzCases(700));
    assert.ok(out.rejected > 0, 'some mutations must be rejected');
  }
});

test('a garbage rpmdb.sqlite (SQLite magic, then noise) and a non-SQLite one are located db-unreadable issues', async () => {
  const tmp = tempDir();
  try {
    for (const [dir, bytes] of [['var/lib/rpm', Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(8192, 0xa5)])], ['usr/lib/sysimage/rpm', Buffer.from('not a database at all, just text\n')]] as const) {
      mkdirSync(join(tmp.dir, dir), { recursive: true });
      writeFileSync(join(tmp.dir, dir, 'rpmdb.sqlite'), bytes);
    }
    const r = await analyzeTree(rpmAnalyzer, tmp.dir);
    assert.equal(r.packages, undefined);
    assert.deepEqual(r.issues?.map((i) => [i.severity, i.code, i.location]), [
      ['error', 'rpm.db-unreadable', '/var/lib/rpm/rpmdb.sqlite'],
      ['error', 'rpm.db-unreadable', '/usr/lib/sysimage/rpm/rpmdb.sqlite'],
    ]);
  } finally {
    tmp.cleanup();
  }
});

test('a corrupt header among good ones: the others are read, the bad record is a located issue', { skip: skipRpm }, async (t) => {
  const root = await fixtureOrSkip(t, rpmSqliteRoot());
  if (!root) return;
  const blobs = fixtureBlobs(root).map((b) => ({ pkgidx: b.hnum, blob: b.blob.slice() }));
  new DataView(blobs[1]!.blob.buffer).setUint32(0, 0x7fffffff);
  const tmp = tempDir();
  try {
    mkdirSync(join(tmp.dir, 'usr/lib/sysimage/rpm'), { recursive: true });
    writeFileSync(join(tmp.dir, 'usr/lib/sysimage/rpm/Packages.db'), buildNdb(blobs));
    const r = await analyzeTree(rpmAnalyzer, tmp.dir);
    assert.ok((r.packages ?? []).length >= 4);
    assert.deepEqual(r.issues?.map((i) => [i.code, i.location]), [['rpm.header-corrupt', `/usr/lib/sysimage/rpm/Packages.db Packages.db (ndb) pkgidx ${blobs[1]!.pkgidx}`]]);
  } finally {
    tmp.cleanup();
  }
});

async function drain(it: AsyncGenerator<BackendItem>): Promise<BackendItem[]> {
  const out: BackendItem[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('ndb: a checksum mismatch is a warning and the blob is still read; a bad slot magic stops with CorruptError', { skip: skipRpm }, async (t) => {
  const root = await fixtureOrSkip(t, rpmSqliteRoot());
  if (!root) return;
  const blobs = fixtureBlobs(root).map((b) => ({ pkgidx: b.hnum, blob: b.blob }));
  const good = buildNdb(blobs);
  const tmp = tempDir();
  try {
    const bad = good.slice();
    // The last 12 bytes are the final blob's tail: corrupt its Adler-32.
    bad[bad.length - 12] = bad[bad.length - 12]! ^ 0xff;
    writeFileSync(join(tmp.dir, 'Packages.db'), bad);
    const fs = await openDirectory(tmp.dir);
    const items = await drain(readNdbPackages(fs, '/Packages.db'));
    assert.equal(items.filter((i) => i.kind === 'header').length, blobs.length);
    const problems = items.filter((i) => i.kind === 'problem');
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.kind === 'problem' && problems[0]!.severity, 'warning');
    const slotless = good.slice();
    slotless[32] = 0x58;
    writeFileSync(join(tmp.dir, 'Packages.db'), slotless);
    await assert.rejects(drain(readNdbPackages(fs, '/Packages.db')), CorruptError);
  } finally {
    tmp.cleanup();
  }
});

test('BDB: a bucket page whose next-page link points to itself is a CorruptError, reported as db-unreadable', { skip: skipRpm || needTools('db5.3_load') }, async (t) => {
  const root = await fixtureOrSkip(t, rpmBdbRoot('le', 4096));
  if (!root) return;
  const bytes = new Uint8Array(readFileSync(join(root, 'var/lib/rpm/Packages')));
  const pageBytes = 4096;
  // Find a hash page (type 13 or 2) and make its next_pgno its own number.
  let looped = -1;
  for (let p = 1; p * pageBytes < bytes.length; p++) {
    const type = bytes[p * pageBytes + 25];
    if (type === 13 || type === 2) {
      new DataView(bytes.buffer).setUint32(p * pageBytes + 16, p, true);
      looped = p;
      break;
    }
  }
  assert.ok(looped > 0);
  const tmp = tempDir();
  try {
    mkdirSync(join(tmp.dir, 'var/lib/rpm'), { recursive: true });
    writeFileSync(join(tmp.dir, 'var/lib/rpm/Packages'), bytes);
    const fs = await openDirectory(tmp.dir);
    await assert.rejects(drain(readBdbPackages(fs, '/var/lib/rpm/Packages')), (e: Error) => e instanceof CorruptError && /reached twice/.test(e.message));
    const r = await analyzeTree(rpmAnalyzer, tmp.dir);
    assert.deepEqual(r.issues?.map((i) => [i.code, i.location]), [['rpm.db-unreadable', '/var/lib/rpm/Packages']]);
  } finally {
    tmp.cleanup();
  }
});

for (const kind of ['bdb', 'ndb'] as const) {
  test(`${kind}: seeded mutation fuzz over a whole database file ends in headers, problems or a HullscanError`, { skip: skipRpm || (kind === 'bdb' && needTools('db5.3_load')) }, async (t) => {
    const src = await fixtureOrSkip(t, kind === 'bdb' ? rpmBdbRoot('le', 4096) : rpmSqliteRoot());
    if (!src) return;
    const base = kind === 'bdb'
      ? new Uint8Array(readFileSync(join(src, 'var/lib/rpm/Packages')))
      : buildNdb(fixtureBlobs(src).map((b) => ({ pkgidx: b.hnum, blob: b.blob })));
    const tmp = tempDir();
    try {
      const file = join(tmp.dir, 'db');
      const fs = await openDirectory(tmp.dir);
      const read = kind === 'bdb' ? readBdbPackages : readNdbPackages;
      const out = await fuzz(base, async (bytes) => {
        writeFileSync(file, bytes);
        for await (const item of read(fs, '/db')) {
          if (item.kind === 'header') {
            try {
              parseHeader(item.blob);
            } catch (err) {
              if (!(err instanceof HullscanError)) throw err;
            }
          }
        }
      }, { cases: fuzzCases(250), seed: kind === 'bdb' ? 77 : 99, regions: [[0, Math.min(base.length, 3 * 4096)], [0, base.length]], allowTruncate: true });
      assert.equal(out.cases, fuzzCases(250));
    } finally {
      tmp.cleanup();
    }
  });
}

test('the analyzer claims only database files in the two rpm directories', () => {
  const file = { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1, nlink: 1, ino: 1, mtimeMs: 0 } as const;
  assert.ok(rpmAnalyzer.wants('/var/lib/rpm/rpmdb.sqlite', file));
  assert.ok(rpmAnalyzer.wants('/usr/lib/sysimage/rpm/Packages.db', file));
  assert.ok(rpmAnalyzer.wants('/var/lib/rpm/Packages', file));
  assert.ok(!rpmAnalyzer.wants('/var/lib/rpm/rpmdb.sqlite-wal', file));
  assert.ok(!rpmAnalyzer.wants('/var/lib/rpm/Name', file));
  assert.ok(!rpmAnalyzer.wants('/home/u/.rpmdb/rpmdb.sqlite', file));
  assert.ok(!rpmAnalyzer.wants('/var/lib/rpm/rpmdb.sqlite', { ...file, type: 'dir' }));
});


