/**
 * CycloneDX 1.6 and SPDX 2.3 writers: every inventory's output validates against the official
 * schema, equals its reviewed golden byte for byte, and says what the docs promise (OS component,
 * purls, evidence occurrences, hullscan:* properties, NOASSERTION, DESCRIBES / CONTAINS).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeCycloneDx } from '../../../src/inventory/sbom/cyclonedx.ts';
import { writeInventoryJson, writeSbom } from '../../../src/inventory/sbom/index.ts';
import { SPDX_NODE_ID, SPDX_OS_ID, writeSpdx } from '../../../src/inventory/sbom/spdx.ts';
import { ALL_INVENTORIES, FIXED, ubuntuInventory } from './inventories.ts';
import { assertGolden, assertValid, cycloneDx16Validator, isValid, spdx23Validator } from './helpers.ts';

interface CdxDoc {
  specVersion: string;
  serialNumber: string;
  metadata: { timestamp: string; tools: { components: { name: string; version: string }[] }; component: { type: string; 'bom-ref': string; name: string }; properties: { name: string; value: string }[] };
  components: { type: string; name: string; version: string; 'bom-ref': string; purl?: string; properties?: { name: string; value: string }[]; evidence?: { occurrences: { location: string; line?: number }[] } }[];
  dependencies: { ref: string; dependsOn?: string[] }[];
}

for (const [name, make] of ALL_INVENTORIES) {
  test(`CycloneDX 1.6 of ${name}: valid against the official schema and equal to its golden`, () => {
    const text = writeCycloneDx(make(), FIXED);
    assertValid(cycloneDx16Validator(), JSON.parse(text), `CycloneDX of ${name}`);
    assertGolden(`${name}.cdx.json`, text);
  });
  test(`SPDX 2.3 of ${name}: valid against the official schema and equal to its golden`, () => {
    const text = writeSpdx(make(), FIXED);
    assertValid(spdx23Validator(), JSON.parse(text), `SPDX of ${name}`);
    assertGolden(`${name}.spdx.json`, text);
  });
}

test('the schema validators reject invalid documents (the validation above can fail)', () => {
  const cdx = JSON.parse(writeCycloneDx(ubuntuInventory(), FIXED)) as CdxDoc & Record<string, unknown>;
  assert.equal(isValid(cycloneDx16Validator(), cdx), true);
  assert.equal(isValid(cycloneDx16Validator(), { ...cdx, components: [{ ...cdx.components[0], type: 'not-a-type' }] }), false);
  assert.equal(isValid(cycloneDx16Validator(), { ...cdx, components: [{ ...cdx.components[0], evidence: { occurrences: [{ line: 3 }] } }] }), false, 'an occurrence needs a location');
  const spdx = JSON.parse(writeSpdx(ubuntuInventory(), FIXED)) as Record<string, unknown> & { packages: Record<string, unknown>[] };
  assert.equal(isValid(spdx23Validator(), spdx), true);
  assert.equal(isValid(spdx23Validator(), { ...spdx, packages: [{ ...spdx.packages[1], downloadLocation: undefined }] }), false, 'downloadLocation is required');
  assert.equal(isValid(spdx23Validator(), { ...spdx, relationships: [{ spdxElementId: 'a', relatedSpdxElement: 'b', relationshipType: 'LIKES' }] }), false);
});

test('CycloneDX layout: node platform, OS component, library per package with purl and bom-ref = id', () => {
  const inv = ubuntuInventory();
  const doc = JSON.parse(writeCycloneDx(inv, FIXED)) as CdxDoc;
  assert.equal(doc.specVersion, '1.6');
  assert.equal(doc.serialNumber, `urn:uuid:${FIXED.uuid}`);
  assert.equal(doc.metadata.timestamp, '2026-08-21T12:00:00.000Z');
  assert.deepEqual(doc.metadata.tools.components.map((t) => [t.name, t.version]), [['hullscan', '0.1.0']]);
  assert.equal(doc.metadata.component.type, 'platform');
  assert.equal(doc.metadata.component.name, 'aks-system-12345678-vmss000000');
  const os = doc.components.filter((c) => c.type === 'operating-system');
  assert.deepEqual(os.map((c) => [c.name, c.version]), [['ubuntu', '22.04']]);
  const libs = doc.components.filter((c) => c.type === 'library');
  assert.equal(libs.length, inv.packages.length);
  assert.deepEqual(new Set(libs.map((c) => c['bom-ref'])), new Set(inv.packages.map((p) => p.id)));
  const libssl = libs.find((c) => c.name === 'libssl3')!;
  assert.equal(libssl.purl, 'pkg:deb/ubuntu/libssl3@3.0.2-0ubuntu1.26?arch=amd64&distro=ubuntu-22.04&upstream=openssl');
  const prop = (c: (typeof libs)[number], n: string) => c.properties?.find((x) => x.name === n)?.value;
  assert.equal(prop(libssl, 'hullscan:source:name'), 'openssl');
  assert.equal(prop(libssl, 'hullscan:source:version'), '3.0.2-0ubuntu1.26');
  assert.equal(prop(libssl, 'hullscan:package:versionScheme'), 'deb');
  assert.deepEqual(libssl.evidence?.occurrences, [{ location: '/var/lib/dpkg/status', line: inv.packages.find((p) => p.name === 'libssl3')!.evidence[0]!.line }]);
  const stdlib = libs.find((c) => c.name === 'stdlib' && c.version === 'go1.22.5')!;
  assert.equal(stdlib.purl, 'pkg:golang/stdlib@1.22.5');
  assert.equal(prop(stdlib, 'hullscan:package:binaryPath'), '/usr/local/bin/kubelet');
  const md = (n: string) => doc.metadata.properties.filter((x) => x.name === n).map((x) => x.value);
  assert.deepEqual(md('hullscan:kernel:bootDefault'), ['5.15.0-1117-azure']);
  assert.deepEqual(md('hullscan:kernel:newerThanBootDefault'), ['["5.15.0-1118-azure"]']);
  assert.deepEqual(md('hullscan:kernel:bootDefaultMethod'), ['grubenv saved_entry']);
  assert.deepEqual(md('hullscan:issues').map((v) => JSON.parse(v) as unknown), [inv.issues]);
  // Dependencies: node → OS and Go modules; OS → deb packages.
  const deps = new Map(doc.dependencies.map((d) => [d.ref, d.dependsOn ?? []]));
  const debIds = inv.packages.filter((p) => p.type === 'deb').map((p) => p.id);
  assert.deepEqual(new Set(deps.get('hullscan:os')), new Set(debIds));
  assert.ok(deps.get('hullscan:node')!.includes('hullscan:os'));
  assert.ok(deps.get('hullscan:node')!.includes(inv.packages.find((p) => p.name === 'stdlib')!.id));
});

test('SPDX layout: DESCRIBES the node, CONTAINS OS and packages, purl external refs, NOASSERTION for the unknown', () => {
  const inv = ubuntuInventory();
  const doc = JSON.parse(writeSpdx(inv, FIXED)) as {
    documentNamespace: string;
    creationInfo: { created: string; creators: string[] };
    packages: { SPDXID: string; name: string; versionInfo?: string; supplier: string; originator: string; downloadLocation: string; licenseDeclared: string; externalRefs?: { referenceType: string; referenceLocator: string }[] }[];
    relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
  };
  assert.equal(doc.documentNamespace, `https://spdx.org/spdxdocs/hullscan-aks-system-12345678-vmss000000-${FIXED.uuid}`);
  assert.equal(doc.creationInfo.created, '2026-08-21T12:00:00Z');
  assert.deepEqual(doc.creationInfo.creators, ['Tool: hullscan-0.1.0']);
  assert.equal(doc.packages.length, inv.packages.length + 2);
  const ids = doc.packages.map((p) => p.SPDXID);
  assert.equal(new Set(ids).size, ids.length, 'SPDXIDs are unique');
  for (const id of ids) assert.match(id, /^SPDXRef-[A-Za-z0-9.-]+$/);
  const libssl = doc.packages.find((p) => p.name === 'libssl3')!;
  assert.equal(libssl.versionInfo, '3.0.2-0ubuntu1.26');
  assert.deepEqual(libssl.externalRefs, [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:deb/ubuntu/libssl3@3.0.2-0ubuntu1.26?arch=amd64&distro=ubuntu-22.04&upstream=openssl' }]);
  assert.equal(libssl.supplier, 'NOASSERTION');
  assert.equal(libssl.originator, 'NOASSERTION');
  assert.equal(libssl.downloadLocation, 'NOASSERTION');
  const rel = (type: string, from: string) => doc.relationships.filter((r) => r.relationshipType === type && r.spdxElementId === from).map((r) => r.relatedSpdxElement);
  assert.deepEqual(rel('DESCRIBES', 'SPDXRef-DOCUMENT'), [SPDX_NODE_ID]);
  assert.ok(rel('CONTAINS', SPDX_NODE_ID).includes(SPDX_OS_ID));
  assert.equal(rel('CONTAINS', SPDX_OS_ID).length, inv.packages.filter((p) => p.type === 'deb').length);
  assert.equal(rel('CONTAINS', SPDX_NODE_ID).length, 1 + inv.packages.filter((p) => p.type === 'golang').length);
});

test('rpm vendor becomes the SPDX supplier and the CycloneDX supplier', async () => {
  const { azureLinuxInventory } = await import('./inventories.ts');
  const inv = azureLinuxInventory();
  const spdx = JSON.parse(writeSpdx(inv, FIXED)) as { packages: { name: string; supplier: string; licenseComments?: string }[] };
  const perl = spdx.packages.find((p) => p.name === 'perl-Text-Tabs+Wrap')!;
  assert.equal(perl.supplier, 'Organization: Microsoft Corporation');
  assert.equal(perl.licenseComments, 'declared by the package manager: TTWL');
  const cdx = JSON.parse(writeCycloneDx(inv, FIXED)) as { components: { name: string; purl?: string; supplier?: { name: string } }[] };
  const c = cdx.components.find((x) => x.name === 'perl-Text-Tabs+Wrap')!;
  assert.equal(c.supplier?.name, 'Microsoft Corporation');
  assert.equal(c.purl, 'pkg:rpm/azurelinux/perl-Text-Tabs%2BWrap@2024.001-509.azl3?arch=noarch&distro=azurelinux-3.0&epoch=1');
});

test('output is deterministic: package order in the inventory does not change the bytes', () => {
  const a = ubuntuInventory();
  const b = ubuntuInventory();
  b.packages.reverse();
  assert.equal(writeCycloneDx(a, FIXED), writeCycloneDx(b, FIXED));
  assert.equal(writeSpdx(a, FIXED), writeSpdx(b, FIXED));
});

test('without injected options the serial number and namespace are fresh UUIDs', () => {
  const inv = ubuntuInventory();
  const s1 = (JSON.parse(writeCycloneDx(inv)) as CdxDoc).serialNumber;
  const s2 = (JSON.parse(writeCycloneDx(inv)) as CdxDoc).serialNumber;
  assert.match(s1, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(s1, s2);
});

test('json format is exactly JSON.stringify of the inventory', () => {
  const inv = ubuntuInventory();
  assert.equal(writeSbom(inv, 'json'), JSON.stringify(inv, null, 2) + '\n');
  assert.equal(writeInventoryJson(inv), writeSbom(inv, 'json'));
});
