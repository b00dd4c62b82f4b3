/**
 * readSbom: round trips (inventory → CycloneDX → inventory, inventory → JSON → inventory) keep
 * every field the matcher uses; third-party CycloneDX (Trivy- and Syft-shaped) maps purls to
 * packages and OS; malformed and hostile input fails with a typed, located, clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Inventory, Package } from '../../../src/inventory/index.ts';
import { writeCycloneDx } from '../../../src/inventory/sbom/cyclonedx.ts';
import { writeInventoryJson } from '../../../src/inventory/sbom/index.ts';
import { MAX_COMPONENT_DEPTH, MAX_SBOM_BYTES, readSbom, SbomError } from '../../../src/inventory/sbom/read.ts';
import { CorruptError, NotThisFormatError, UnsupportedError } from '../../../src/util/errors.ts';
import { assertValid, cycloneDx16Validator } from './helpers.ts';
import { ALL_INVENTORIES, DATA, FIXED, ubuntuInventory } from './inventories.ts';

/** What CycloneDX does not carry: per-file digests (the JSON inventory keeps them). */
function withoutFiles(inv: Inventory): Inventory {
  return { ...inv, packages: inv.packages.map(({ files: _files, ...p }) => p as Package) };
}

function byId(inv: Inventory): Inventory {
  return { ...inv, packages: [...inv.packages].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
}

for (const [name, make] of ALL_INVENTORIES) {
  test(`round trip ${name}: inventory → CycloneDX → readSbom is the same inventory (file digests aside)`, () => {
    const inv = make();
    const back = readSbom(new TextEncoder().encode(writeCycloneDx(inv, FIXED)));
    assert.deepEqual(byId(back), byId(withoutFiles(inv)));
  });
  test(`round trip ${name}: inventory → JSON → readSbom is the same inventory, digests included`, () => {
    const inv = make();
    assert.deepEqual(readSbom(writeInventoryJson(inv)), inv);
  });
}

test('round trip keeps exactly the matcher fields (spelled out, so a regression names the field)', () => {
  const inv = ubuntuInventory();
  const back = readSbom(writeCycloneDx(inv, FIXED));
  assert.deepEqual(back.os && [back.os.family, back.os.versionId], ['ubuntu', '22.04']);
  assert.equal(back.kernel?.bootDefault, '5.15.0-1117-azure');
  assert.deepEqual(back.kernel?.newerThanBootDefault, ['5.15.0-1118-azure']);
  assert.equal(back.kernel?.installed[0]?.packageName, 'linux-image-5.15.0-1118-azure');
  const login = back.packages.find((p) => p.name === 'login')!;
  assert.deepEqual([login.type, login.version, login.versionScheme, login.arch, login.source], ['deb', '1:4.8.1-2ubuntu2.2', 'deb', 'amd64', { name: 'shadow', version: '1:4.8.1-2ubuntu2.2' }]);
  const stdlib = back.packages.filter((p) => p.name === 'stdlib').map((p) => [p.version, p.binaryPath]);
  assert.deepEqual(stdlib.sort(), [['go1.22.5', '/usr/local/bin/kubelet'], ['go1.23.4', '/usr/local/bin/containerd']]);
  assert.deepEqual(back.packages.find((p) => p.name === 'sudo')!.evidence.map((e) => e.path), ['/var/lib/dpkg/status', '/var/lib/dpkg/info/sudo.md5sums']);
});

test('third-party Trivy-shaped CycloneDX 1.6: purls → packages, Src* → source, OS component → OS, others counted', () => {
  const text = readFileSync(join(DATA, 'third-party', 'trivy-shaped-ubuntu2204.cdx.json'), 'utf8');
  assertValid(cycloneDx16Validator(), JSON.parse(text), 'the Trivy-shaped fixture');
  const inv = readSbom(text);
  assert.equal(inv.target, '/mnt/aks-node');
  assert.equal(inv.scannedAt, '2026-08-21T10:00:00+00:00');
  assert.deepEqual(inv.os, { family: 'ubuntu', id: 'ubuntu', versionId: '22.04', evidence: [] });
  const pk = (n: string) => inv.packages.find((p) => p.name === n)!;
  assert.deepEqual(pk('libssl3').source, { name: 'openssl', version: '3.0.2-0ubuntu1.26' });
  assert.equal(pk('libssl3').vendor, 'Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>');
  assert.equal(pk('libssl3').license, 'Apache-2.0');
  assert.deepEqual([pk('login').version, pk('login').source], ['1:4.8.1-2ubuntu2.2', { name: 'shadow', version: '1:4.8.1-2ubuntu2.2' }]);
  assert.deepEqual(pk('libxml2').source, { name: 'libxml2', version: '2.9.13+dfsg-1ubuntu0.12' });
  assert.deepEqual([pk('stdlib').type, pk('stdlib').version, pk('stdlib').versionScheme], ['golang', 'go1.22.5', 'go']);
  assert.equal(pk('k8s.io/kubernetes').version, 'v1.31.1');
  assert.equal(inv.packages.length, 5);
  for (const p of inv.packages) assert.equal(p.foundBy, 'sbom');
  const codes = inv.issues.map((i) => i.code).sort();
  assert.deepEqual(codes, ['sbom.component-not-read', 'sbom.component-not-read', 'sbom.third-party']);
  assert.match(inv.issues.find((i) => i.code === 'sbom.third-party')!.message, /made by trivy 0\.58\.1/);
  assert.ok(inv.issues.some((i) => /1 purl type npm/.test(i.message)));
  assert.ok(inv.issues.some((i) => /1 application components without a purl/.test(i.message)));
});

test('third-party Syft-shaped CycloneDX 1.4: OS from distro=, feed release from 12.5, upstream=name@version, locations', () => {
  const inv = readSbom(readFileSync(join(DATA, 'third-party', 'syft-shaped-debian12.cdx.json')));
  assert.deepEqual(inv.os, { family: 'debian', id: 'debian', versionId: '12', evidence: [] });
  const libc = inv.packages.find((p) => p.name === 'libc6')!;
  assert.deepEqual(libc.source, { name: 'glibc', version: '2.36-9+deb12u7' });
  assert.deepEqual(libc.evidence, [{ path: '/var/lib/dpkg/status' }, { path: '/usr/share/doc/libc6/copyright' }]);
  const bash = inv.packages.find((p) => p.name === 'bash')!;
  assert.deepEqual([bash.version, bash.source], ['5.2.15-2+b7', { name: 'bash', version: '5.2.15-2' }]);
  assert.ok(inv.issues.some((i) => i.code === 'sbom.os-from-purl'));
  assert.ok(inv.issues.some((i) => /made by syft 0\.105\.0/.test(i.message)));
});

function cdx(extra: Record<string, unknown>): string {
  return JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', version: 1, ...extra });
}

function ours(): Record<string, unknown> {
  return JSON.parse(writeCycloneDx(ubuntuInventory(), FIXED)) as Record<string, unknown>;
}

function nested(depth: number): Record<string, unknown> {
  let c: Record<string, unknown> = { type: 'library', name: 'leaf' };
  for (let i = 0; i < depth; i++) c = { type: 'library', name: `n${i}`, components: [c] };
  return c;
}

const BAD: ReadonlyArray<readonly [string, string | Uint8Array, new (...a: never[]) => Error, RegExp, string?]> = [
  ['not JSON', '{"bomFormat": ', NotThisFormatError, /not a JSON SBOM or inventory/],
  ['a JSON array', '[]', NotThisFormatError, /is an array, not an object/],
  ['JSON that is neither CycloneDX nor an inventory', '{"hello": 1}', NotThisFormatError, /not a CycloneDX SBOM/],
  ['not UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), SbomError, /not UTF-8/],
  ['SPDX input', '{"spdxVersion": "SPDX-2.3"}', UnsupportedError, /SPDX input .* is not read back/],
  ['CycloneDX 1.3', cdx({ specVersion: '1.3' }), UnsupportedError, /CycloneDX 1\.3 is not read/],
  ['components is an object', cdx({ components: { a: 1 } }), SbomError, /components: expected an array, got a object/, 'components'],
  ['component name is a number', cdx({ components: [{ type: 'library', name: 7, purl: 'pkg:deb/debian/x@1' }] }), SbomError, /components\[0\]\.name: expected a string, got a number/, 'components[0].name'],
  ['bad purl', cdx({ components: [{ type: 'library', name: 'x', purl: 'pkg:deb/debian/x@1%ZZ' }] }), SbomError, /components\[0\]\.purl: purl version has a bad percent-escape/, 'components[0].purl'],
  ['purl that is not a purl', cdx({ components: [{ type: 'library', name: 'x', purl: 'http://x' }] }), SbomError, /must start with 'pkg:'/],
  ['package without any version', cdx({ components: [{ type: 'library', name: 'x', purl: 'pkg:deb/debian/x' }] }), SbomError, /no version in its purl nor in `version`/],
  ['occurrence without location', cdx({ components: [{ type: 'library', name: 'x', purl: 'pkg:deb/debian/x@1', evidence: { occurrences: [{ line: 1 }] } }] }), SbomError, /occurrences\[0\]\.location: expected a string, got a undefined/],
  ['negative occurrence line', cdx({ components: [{ type: 'library', name: 'x', purl: 'pkg:deb/debian/x@1', evidence: { occurrences: [{ location: '/a', line: -1 }] } }] }), SbomError, /-1 is outside/],
  ['components nested too deep', cdx({ components: [nested(MAX_COMPONENT_DEPTH + 1)] }), SbomError, /nested deeper than 16/],
  ['bad timestamp', cdx({ metadata: { timestamp: 'yesterday' } }), SbomError, /metadata\.timestamp: 'yesterday' is not an ISO-8601 date-time/],
  ['huge properties array', cdx({ metadata: { properties: new Array(200_001).fill({ name: 'a', value: 'b' }) } }), SbomError, /metadata\.properties: array of 200001 entries is over the limit of 200000/],
  ['inventory of another schema version', JSON.stringify({ ...ubuntuInventory(), schemaVersion: 2 }), UnsupportedError, /schemaVersion 2 is not supported/],
  ['inventory with an unknown package type', JSON.stringify({ ...ubuntuInventory(), packages: [{ ...ubuntuInventory().packages[0], type: 'npm' }] }), SbomError, /packages\[0\]\.type: 'npm' is not one of deb, rpm, apk, golang, binary/, 'packages[0].type'],
  ['inventory package without evidence', JSON.stringify({ ...ubuntuInventory(), packages: [{ ...ubuntuInventory().packages[0], evidence: undefined }] }), SbomError, /packages\[0\]\.evidence: expected an array/],
  ['inventory with a bad digest', JSON.stringify({ ...ubuntuInventory(), packages: [{ ...ubuntuInventory().packages[0], files: [{ path: '/a', algorithm: 'md5', digest: 'XYZ' }] }] }), SbomError, /digest: must be lowercase hex/],
  ['inventory with a bad OS family', JSON.stringify({ ...ubuntuInventory(), os: { ...ubuntuInventory().os, family: 'windows' } }), SbomError, /os\.family: 'windows' is not one of/],
  ['inventory with a string analyzer version', JSON.stringify({ ...ubuntuInventory(), analyzers: { dpkg: '1' } }), SbomError, /analyzers\.dpkg: expected an integer, got a string/],
  ['our CycloneDX with an unknown version scheme', JSON.stringify(mutateFirstLibrary((c) => setProp(c, 'hullscan:package:versionScheme', 'zzz'))), SbomError, /'zzz' is not one of deb, rpm, apk, semver, go/],
  ['our CycloneDX with a kernel property that is not JSON', JSON.stringify(mutateMetadataProp('hullscan:kernel:installed', '{oops')), SbomError, /hullscan:kernel:installed\]: not JSON/],
  ['our CycloneDX with an issue of unknown severity', JSON.stringify(mutateMetadataProp('hullscan:issues', '[{"severity":"fatal","code":"x","message":"m"}]')), SbomError, /severity: 'fatal' is not one of error, warning, info/],
];

function setProp(c: { properties?: { name: string; value: string }[] }, name: string, value: string): void {
  for (const p of c.properties ?? []) if (p.name === name) p.value = value;
}

function mutateFirstLibrary(f: (c: { properties?: { name: string; value: string }[] }) => void): Record<string, unknown> {
  const doc = ours() as { components: { type: string; properties?: { name: string; value: string }[] }[] };
  f(doc.components.find((c) => c.type === 'library')!);
  return doc as unknown as Record<string, unknown>;
}

function mutateMetadataProp(name: string, value: string): Record<string, unknown> {
  const doc = ours() as { metadata: { properties: { name: string; value: string }[] } };
  setProp(doc.metadata, name, value);
  return doc as unknown as Record<string, unknown>;
}

for (const [name, input, cls, message, location] of BAD) {
  test(`readSbom rejects ${name} with ${cls.name}`, () => {
    assert.throws(
      () => readSbom(input),
      (err: unknown) => {
        assert.ok(err instanceof cls, `expected ${cls.name}, got ${(err as Error).name}: ${(err as Error).message}`);
        assert.match((err as Error).message, message);
        if (location !== undefined) assert.equal((err as SbomError).location, location);
        return true;
      },
    );
  });
}

test('readSbom refuses input over MAX_SBOM_BYTES before parsing it', () => {
  const big = { byteLength: MAX_SBOM_BYTES + 1 } as Uint8Array;
  assert.throws(() => readSbom(big), (err: unknown) => err instanceof SbomError && err instanceof CorruptError && /over the limit/.test(err.message));
});

test('readSbom tolerates a UTF-8 BOM and nested components', () => {
  const doc = cdx({ components: [{ type: 'application', name: 'app', components: [{ type: 'library', name: 'curl', purl: 'pkg:deb/debian/curl@7.88.1-10%2Bdeb12u8?arch=amd64&distro=debian-12' }] }] });
  const inv = readSbom('\uFEFF' + doc);
  assert.deepEqual(inv.packages.map((p) => [p.name, p.version, p.source]), [['curl', '7.88.1-10+deb12u8', { name: 'curl', version: '7.88.1-10+deb12u8' }]]);
  assert.equal(inv.os?.versionId, '12');
});

const OS_COMPONENTS: ReadonlyArray<readonly [string, string, string, string]> = [
  ['cbl-mariner', '2.0', 'mariner', '2.0'],
  ['amazon', '2023', 'amazon', '2023'],
  ['redhat', '9.4', 'rhel', '9.4'],
  ['alpine', '3.21.2', 'alpine', '3.21'],
  ['debian', '12.5', 'debian', '12'],
  ['opensuse.leap', '15.5', 'opensuse', '15.5'],
  ['wolfi', '20230201', 'unknown', '20230201'],
];

for (const [name, version, family, versionId] of OS_COMPONENTS) {
  test(`third-party operating-system component ${name} ${version} → family ${family}, release ${versionId}`, () => {
    const inv = readSbom(cdx({ components: [{ type: 'operating-system', name, version }] }));
    assert.deepEqual(inv.os && [inv.os.family, inv.os.id, inv.os.versionId], [family, name, versionId]);
  });
}
