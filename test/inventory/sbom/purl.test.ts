/**
 * purl codec against the purl-spec's own test vectors (test/data/sbom/purl-spec-tests.json), and
 * the purls hullscan writes for each package type, including the forms Trivy, Syft and OSV use.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageId, type OsInfo, type Package } from '../../../src/inventory/index.ts';
import { decodeComponent, encodeComponent, formatPurl, MAX_PURL_LENGTH_CHARS, packageFromPurl, packagePurl, parsePurl, PurlError, type PackageUrl } from '../../../src/inventory/sbom/purl.ts';
import { CorruptError } from '../../../src/util/errors.ts';
import { DATA } from './inventories.ts';

interface SpecComponents {
  type: string | null;
  namespace: string | null;
  name: string | null;
  version: string | null;
  qualifiers: Record<string, string> | null;
  subpath: string | null;
}

interface SpecCase {
  file: string;
  description: string;
  test_type: 'parse' | 'build' | 'roundtrip';
  input: string | SpecComponents;
  expected_output: string | SpecComponents | null;
  expected_failure: boolean;
}

const cases = (JSON.parse(readFileSync(join(DATA, 'purl-spec-tests.json'), 'utf8')) as { tests: SpecCase[] }).tests;

function toSpec(p: PackageUrl): SpecComponents {
  return { type: p.type, namespace: p.namespace ?? null, name: p.name, version: p.version ?? null, qualifiers: Object.keys(p.qualifiers).length > 0 ? p.qualifiers : null, subpath: p.subpath ?? null };
}

function fromSpec(c: SpecComponents): PackageUrl {
  const p = { type: c.type as string, name: c.name as string, qualifiers: c.qualifiers ?? {} } as PackageUrl;
  if (c.namespace !== null) p.namespace = c.namespace;
  if (c.version !== null) p.version = c.version;
  if (c.subpath !== null) p.subpath = c.subpath;
  return p;
}

for (const c of cases) {
  test(`purl-spec ${c.file} ${c.test_type}: ${c.description} (${typeof c.input === 'string' ? c.input : JSON.stringify(c.input)})`, () => {
    if (c.test_type === 'parse') {
      if (c.expected_failure) assert.throws(() => parsePurl(c.input as string), PurlError);
      else assert.deepEqual(toSpec(parsePurl(c.input as string)), c.expected_output);
    } else if (c.test_type === 'build') {
      if (c.expected_failure) assert.throws(() => formatPurl(fromSpec(c.input as SpecComponents)), PurlError);
      else assert.equal(formatPurl(fromSpec(c.input as SpecComponents)), c.expected_output);
    } else {
      assert.equal(formatPurl(parsePurl(c.input as string)), c.expected_output);
    }
  });
}

const ubuntu: OsInfo = { family: 'ubuntu', id: 'ubuntu', versionId: '22.04', evidence: [] };
const debian: OsInfo = { family: 'debian', id: 'debian', versionId: '12', evidence: [] };
const azl: OsInfo = { family: 'azurelinux', id: 'azurelinux', versionId: '3.0', evidence: [] };
const alpine: OsInfo = { family: 'alpine', id: 'alpine', versionId: '3.21', evidence: [] };
const rhel: OsInfo = { family: 'rhel', id: 'rhel', versionId: '9.4', evidence: [] };
const mariner: OsInfo = { family: 'mariner', id: 'mariner', versionId: '2.0', evidence: [] };

function p(fields: Omit<Package, 'id' | 'foundBy' | 'evidence'>): Package {
  const full = { ...fields, foundBy: 'test', evidence: [] };
  return { ...full, id: packageId(full) };
}

const PACKAGE_PURLS: ReadonlyArray<readonly [string, Package, OsInfo | undefined, string]> = [
  ['ubuntu binary whose source has the same name', p({ type: 'deb', name: 'openssl', version: '3.0.2-0ubuntu1.10', versionScheme: 'deb', arch: 'amd64', source: { name: 'openssl', version: '3.0.2-0ubuntu1.10' } }), ubuntu, 'pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.10?arch=amd64&distro=ubuntu-22.04'],
  ['ubuntu binary built from another source gets upstream=', p({ type: 'deb', name: 'libssl3', version: '3.0.2-0ubuntu1.26', versionScheme: 'deb', arch: 'amd64', source: { name: 'openssl', version: '3.0.2-0ubuntu1.26' } }), ubuntu, 'pkg:deb/ubuntu/libssl3@3.0.2-0ubuntu1.26?arch=amd64&distro=ubuntu-22.04&upstream=openssl'],
  ['debian version with + is %2B-encoded', p({ type: 'deb', name: 'libc6', version: '2.36-9+deb12u7', versionScheme: 'deb', arch: 'amd64', source: { name: 'libc6', version: '2.36-9+deb12u7' } }), debian, 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12'],
  ['deb epoch colon stays unencoded (spec: ":" MUST NOT be encoded)', p({ type: 'deb', name: 'login', version: '1:4.8.1-2ubuntu2.2', versionScheme: 'deb', arch: 'amd64', source: { name: 'shadow', version: '1:4.8.1-2ubuntu2.2' } }), ubuntu, 'pkg:deb/ubuntu/login@1:4.8.1-2ubuntu2.2?arch=amd64&distro=ubuntu-22.04&upstream=shadow'],
  ['deb name is lowercased per the deb type', p({ type: 'deb', name: 'Foo', version: '1.0', versionScheme: 'deb', arch: 'all' }), debian, 'pkg:deb/debian/foo@1.0?arch=all&distro=debian-12'],
  ['azure linux rpm', p({ type: 'rpm', name: 'openssl', version: '3.3.2-1.azl3', versionScheme: 'rpm', arch: 'x86_64', source: { name: 'openssl', version: '3.3.2-1.azl3' } }), azl, 'pkg:rpm/azurelinux/openssl@3.3.2-1.azl3?arch=x86_64&distro=azurelinux-3.0'],
  ['rpm subpackage gets upstream= from the source rpm name', p({ type: 'rpm', name: 'openssl-libs', version: '3.3.7-4.azl3', versionScheme: 'rpm', arch: 'x86_64', source: { name: 'openssl', version: '3.3.7-4.azl3' } }), azl, 'pkg:rpm/azurelinux/openssl-libs@3.3.7-4.azl3?arch=x86_64&distro=azurelinux-3.0&upstream=openssl'],
  ['rpm epoch moves from the version to epoch=', p({ type: 'rpm', name: 'openssl', version: '1:3.0.7-27.el9', epoch: 1, versionScheme: 'rpm', arch: 'x86_64' }), rhel, 'pkg:rpm/rhel/openssl@3.0.7-27.el9?arch=x86_64&distro=rhel-9.4&epoch=1'],
  ['rpm epoch given only in the epoch field', p({ type: 'rpm', name: 'dbus', version: '1.14.10-1.cm2', epoch: 1, versionScheme: 'rpm', arch: 'x86_64' }), mariner, 'pkg:rpm/mariner/dbus@1.14.10-1.cm2?arch=x86_64&distro=mariner-2.0&epoch=1'],
  ['rpm epoch 0 is omitted', p({ type: 'rpm', name: 'bash', version: '0:5.2.15-3.azl3', epoch: 0, versionScheme: 'rpm', arch: 'x86_64' }), azl, 'pkg:rpm/azurelinux/bash@5.2.15-3.azl3?arch=x86_64&distro=azurelinux-3.0'],
  ['rpm name keeps case and encodes +', p({ type: 'rpm', name: 'perl-Text-Tabs+Wrap', version: '2024.001-509.azl3', versionScheme: 'rpm', arch: 'noarch' }), azl, 'pkg:rpm/azurelinux/perl-Text-Tabs%2BWrap@2024.001-509.azl3?arch=noarch&distro=azurelinux-3.0'],
  ['debian binNMU: upstream=<source>@<version> (Syft form)', p({ type: 'deb', name: 'bash', version: '5.2.15-2+b7', versionScheme: 'deb', arch: 'amd64', source: { name: 'bash', version: '5.2.15-2' } }), debian, 'pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2'],
  ['alpine apk', p({ type: 'apk', name: 'busybox', version: '1.36.1-r29', versionScheme: 'apk', arch: 'x86_64', source: { name: 'busybox', version: '1.36.1-r29' } }), alpine, 'pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=alpine-3.21'],
  ['alpine subpackage gets upstream= from origin', p({ type: 'apk', name: 'libcrypto3', version: '3.3.2-r4', versionScheme: 'apk', arch: 'x86_64', source: { name: 'openssl', version: '3.3.2-r4' } }), alpine, 'pkg:apk/alpine/libcrypto3@3.3.2-r4?arch=x86_64&distro=alpine-3.21&upstream=openssl'],
  ['go module with a major-version suffix', p({ type: 'golang', name: 'github.com/containerd/containerd/v2', version: 'v2.0.1', versionScheme: 'go', binaryPath: '/usr/local/bin/containerd' }), ubuntu, 'pkg:golang/github.com/containerd/containerd/v2@v2.0.1'],
  ['go module path keeps its case', p({ type: 'golang', name: 'github.com/BurntSushi/toml', version: 'v1.4.0', versionScheme: 'go' }), undefined, 'pkg:golang/github.com/BurntSushi/toml@v1.4.0'],
  ['go pseudo-version', p({ type: 'golang', name: 'golang.org/x/net', version: 'v0.0.0-20240119083558-1b970713d09a', versionScheme: 'go' }), undefined, 'pkg:golang/golang.org/x/net@v0.0.0-20240119083558-1b970713d09a'],
  ['go +incompatible version encodes +', p({ type: 'golang', name: 'github.com/docker/docker', version: 'v26.1.4+incompatible', versionScheme: 'go' }), undefined, 'pkg:golang/github.com/docker/docker@v26.1.4%2Bincompatible'],
  ['go stdlib in the Syft / OSV form (no "go" prefix)', p({ type: 'golang', name: 'stdlib', version: 'go1.22.5', versionScheme: 'go', binaryPath: '/usr/local/bin/kubelet' }), undefined, 'pkg:golang/stdlib@1.22.5'],
  ['unknown OS: no namespace, no distro', p({ type: 'deb', name: 'bash', version: '5.2.15-2+b7', versionScheme: 'deb', arch: 'amd64' }), undefined, 'pkg:deb/bash@5.2.15-2%2Bb7?arch=amd64'],
  ['binary without an ecosystem is generic', p({ type: 'binary', name: 'azure-vnet', version: '1.6.3', versionScheme: 'semver' }), undefined, 'pkg:generic/azure-vnet@1.6.3'],
];

for (const [name, pkg, os, expected] of PACKAGE_PURLS) {
  test(`packagePurl: ${name}`, () => {
    const purl = packagePurl(pkg, os);
    assert.equal(purl, expected);
    // Canonical: parsing and re-formatting changes nothing.
    assert.equal(formatPurl(parsePurl(purl)), purl);
    // And the facts come back (name, version with epoch, arch, upstream).
    const facts = packageFromPurl(parsePurl(purl))!;
    assert.equal(facts.type, pkg.type);
    assert.equal(facts.name, pkg.type === 'deb' ? pkg.name.toLowerCase() : pkg.name);
    // rpm: the reader's version is always "[epoch:]version-release" with a non-zero epoch written out.
    const rest = pkg.version.replace(/^\d+:/, '');
    const epoch = /^(\d+):/.exec(pkg.version)?.[1] ?? (pkg.epoch === undefined ? undefined : String(pkg.epoch));
    const version = pkg.type !== 'rpm' ? pkg.version : epoch !== undefined && epoch !== '0' ? `${epoch}:${rest}` : rest;
    assert.equal(facts.version, version);
    assert.equal(facts.arch, pkg.arch);
    if (pkg.source && (pkg.source.name !== pkg.name || pkg.source.version !== pkg.version)) {
      assert.equal(facts.sourceName, pkg.source.name);
      assert.equal(facts.sourceVersion ?? pkg.version, pkg.source.version);
    }
  });
}

test('percent-encoding: UTF-8 bytes in upper-case hex; unreserved characters and ":" kept', () => {
  assert.equal(encodeComponent('a b'), 'a%20b');
  assert.equal(encodeComponent('é'), '%C3%A9');
  assert.equal(encodeComponent('1:2.0~rc1-1_x.y'), '1:2.0~rc1-1_x.y');
  assert.equal(encodeComponent('a/b?c#d@e&f=g%h+i'), 'a%2Fb%3Fc%23d%40e%26f%3Dg%25h%2Bi');
  assert.equal(decodeComponent('a%2Fb%3fc%C3%A9', 'test'), 'a/b?cé');
});

test('purl parser accepts pkg:// and scheme case, drops empty qualifier values', () => {
  assert.deepEqual(parsePurl('PKG://deb/debian/curl@7.50.3-1?arch=i386&distro='), { type: 'deb', namespace: 'debian', name: 'curl', version: '7.50.3-1', qualifiers: { arch: 'i386' } });
});

const BAD_PURLS: ReadonlyArray<readonly [string, string, RegExp]> = [
  ['bad percent-escape', 'pkg:deb/debian/curl@7.5%G0', /bad percent-escape/],
  ['truncated percent-escape', 'pkg:deb/debian/curl@7.5%2', /bad percent-escape/],
  ['percent-decodes to invalid UTF-8', 'pkg:deb/debian/curl@%FF%FE', /not UTF-8/],
  ['duplicate qualifier', 'pkg:deb/debian/curl@1?arch=amd64&arch=i386', /appears twice/],
  ['qualifier without =', 'pkg:deb/debian/curl@1?arch', /not key=value/],
  ['no name', 'pkg:deb/', /no type\/name|no name/],
  ['not a purl at all', 'https://example.com/curl', /must start with 'pkg:'/],
  ['encoded slash inside a namespace segment', 'pkg:golang/github.com%2Fevil/x@v1', /encoded slash/],
  ['too long', `pkg:generic/${'a'.repeat(MAX_PURL_LENGTH_CHARS)}`, /over the limit/],
  ['too many qualifiers', `pkg:generic/a@1?${Array.from({ length: 40 }, (_, i) => `k${i}=v`).join('&')}`, /qualifiers, over the limit/],
];

for (const [name, input, message] of BAD_PURLS) {
  test(`parsePurl rejects: ${name}`, () => {
    assert.throws(
      () => parsePurl(input),
      (err: unknown) => err instanceof PurlError && err instanceof CorruptError && message.test(err.message),
    );
  });
}

test('rpm purl epoch that is not a number is an error', () => {
  assert.throws(() => packageFromPurl(parsePurl('pkg:rpm/fedora/curl@7.50.3-1.fc25?epoch=x')), /epoch 'x' is not a number/);
});

test('third-party purls map to facts: distro split, stdlib prefix, unknown types', () => {
  assert.deepEqual(packageFromPurl(parsePurl('pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12.5')), { type: 'deb', name: 'libc6', version: '2.36-9+deb12u7', arch: 'amd64', vendor: 'debian', distro: { id: 'debian', versionId: '12.5' } });
  assert.equal(packageFromPurl(parsePurl('pkg:golang/stdlib@v1.24.1'))!.version, 'go1.24.1');
  assert.equal(packageFromPurl(parsePurl('pkg:golang/stdlib@1.22.5'))!.version, 'go1.22.5');
  // Debian's "bookworm" codename as distro carries no version: no distro fact.
  assert.equal(packageFromPurl(parsePurl('pkg:deb/debian/curl@7.88.1-10?distro=bookworm'))!.distro, undefined);
  assert.equal(packageFromPurl(parsePurl('pkg:npm/left-pad@1.3.0')), undefined);
});
