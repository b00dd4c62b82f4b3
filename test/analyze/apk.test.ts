import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apkAnalyzer, decodeApkChecksum, parseApkInstalled } from '../../src/analyze/apk/index.ts';
import { inventoryOfTree } from './tree.ts';

const DB = readFileSync(join(import.meta.dirname, '..', 'data', 'apk', 'installed'), 'utf8');

test('apk installed db: names, versions, arch, origin as source, license', () => {
  const r = parseApkInstalled(DB, '/lib/apk/db/installed');
  assert.deepEqual(
    r.packages.map((p) => [p.name, p.version, p.arch, p.source?.name, p.source?.version, p.license]),
    [
      ['musl', '1.2.5-r8', 'x86_64', 'musl', '1.2.5-r8', 'MIT'],
      ['busybox', '1.37.0-r12', 'x86_64', 'busybox', '1.37.0-r12', 'GPL-2.0-only'],
      ['ssl_client', '1.37.0-r12', 'x86_64', 'busybox', '1.37.0-r12', 'GPL-2.0-only'],
      ['libcrypto3', '3.3.2-r4', 'x86_64', 'openssl', '3.3.2-r4', 'Apache-2.0'],
      ['alpine-release', '3.21.2-r0', 'x86_64', 'alpine-base', '3.21.2-r0', 'MIT'],
    ],
  );
  assert.deepEqual(r.issues, []);
  assert.ok(r.packages.every((p) => p.type === 'apk' && p.versionScheme === 'apk' && p.foundBy === 'apk'));
});

test('apk files: F: directory + R: name, Z: Q1 base64 SHA-1 as hex', () => {
  const r = parseApkInstalled(DB, '/lib/apk/db/installed');
  const busybox = r.packages.find((p) => p.name === 'busybox')!;
  assert.deepEqual(busybox.files?.map((f) => f.path), ['/bin/busybox', '/etc/securetty', '/etc/busybox-paths.d/busybox']);
  // The empty file's SHA-1.
  assert.deepEqual(busybox.files?.[2], { path: '/etc/busybox-paths.d/busybox', algorithm: 'sha1', digest: 'da39a3ee5e6b4b0d3255bfef95601890afd80709' });
  const rel = r.packages.find((p) => p.name === 'alpine-release')!;
  assert.deepEqual(rel.files?.at(-1), { path: '/etc/apk/arch', algorithm: 'sha1', digest: 'a8fccbd2ab32f4aa628ac5c7704e8e4767eea0fb' });
  const ssl = r.packages.find((p) => p.name === 'ssl_client')!;
  assert.deepEqual(ssl.files?.map((f) => f.path), ['/usr/bin/ssl_client']);
});

test('apk evidence: the line of each record', () => {
  const lines = DB.split('\n');
  for (const p of parseApkInstalled(DB, '/lib/apk/db/installed').packages) {
    const l = p.evidence[0]!.line!;
    assert.match(lines[l - 1]!, /^C:/);
    assert.equal(lines[l]!, `P:${p.name}`);
  }
});

test('decodeApkChecksum: Q1 sha1, Q2 sha256, bare md5, garbage', () => {
  assert.deepEqual(decodeApkChecksum('Q12jmj7l5rSw0yVb/vlWAYkK/YBwk='), { algorithm: 'sha1', digest: 'da39a3ee5e6b4b0d3255bfef95601890afd80709' });
  assert.deepEqual(decodeApkChecksum('Q247DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='), { algorithm: 'sha256', digest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' });
  assert.deepEqual(decodeApkChecksum('D41D8CD98F00B204E9800998ECF8427E'), { algorithm: 'md5', digest: 'd41d8cd98f00b204e9800998ecf8427e' });
  assert.equal(decodeApkChecksum('Q1short'), undefined);
  assert.equal(decodeApkChecksum('nonsense'), undefined);
});

test('apk: records without P or V, bad lines and bad checksums are located issues', () => {
  const r = parseApkInstalled('P:ok\nV:1-r0\n\nV:2-r0\nA:x86_64\n\nP:noversion\n\nthis is not apk\nP:after\nV:3-r0\nR:orphan\nZ:Q1bad\n', '/lib/apk/db/installed');
  assert.deepEqual(r.packages.map((p) => p.name), ['ok', 'after']);
  assert.deepEqual(r.issues.map((i) => `${i.code}@${i.location}`), [
    'apk.record-invalid@/lib/apk/db/installed:4',
    'apk.record-invalid@/lib/apk/db/installed:7',
    'apk.syntax@/lib/apk/db/installed:9',
    'apk.checksum-invalid@/lib/apk/db/installed:10',
  ]);
});

test('apk analyzer through a tree; an unreadable db is an issue', async () => {
  const inv = await inventoryOfTree({ 'lib/apk/db/installed': DB }, [apkAnalyzer]);
  assert.equal(inv.packages.length, 5);
  assert.equal(inv.packages[0]!.evidence[0]!.path, '/lib/apk/db/installed');
  const bad = await inventoryOfTree({ 'lib/apk/db/installed': { link: 'installed' } }, [apkAnalyzer]);
  assert.deepEqual(bad.packages, []);
  assert.deepEqual(bad.issues.map((i) => [i.code, i.severity]), [['apk.db-unreadable', 'error']]);
});

test('hostile apk: random bytes never throw', () => {
  let seed = 99;
  const bytes = new Uint8Array(32 * 1024).map(() => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
  const r = parseApkInstalled(new TextDecoder().decode(bytes), '/lib/apk/db/installed');
  assert.ok(r.issues.length > 0);
  for (const p of r.packages) assert.ok(p.name.length > 0 && p.version.length > 0);
});
