/**
 * Namespaces from feed ecosystem names (OSV ecosystems.json, OVAL files) and from a node's
 * os-release, and the version scheme of each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ecosystemNamespace, namespaceScheme, osNamespace, ovalNamespace } from '../../src/vulndb/namespace.ts';

test('OSV ecosystem strings map to namespaces, schemes and name kinds', () => {
  const cases: [string, string | undefined, string?][] = [
    ['Ubuntu:22.04:LTS', 'ubuntu:22.04', 'deb'],
    ['Ubuntu:24.04:LTS', 'ubuntu:24.04', 'deb'],
    ['Ubuntu:24.10', 'ubuntu:24.10', 'deb'],
    ['Ubuntu:Pro:22.04:LTS', 'ubuntu-pro:22.04', 'deb'],
    ['Ubuntu:Pro:FIPS-updates:22.04:LTS', 'ubuntu-pro-fips-updates:22.04', 'deb'],
    ['Debian:12', 'debian:12', 'deb'],
    ['Debian:sid', 'debian:sid', 'deb'],
    ['Alpine:v3.21', 'alpine:3.21', 'apk'],
    ['Alpine:v3.9', 'alpine:3.9', 'apk'],
    ['Alpine:edge', 'alpine:edge', 'apk'],
    ['Azure Linux:3', 'azurelinux:3.0', 'rpm'],
    ['Azure Linux:3.0', 'azurelinux:3.0', 'rpm'],
    ['Go', 'go', 'go'],
    // Not ours: no version scheme, or malformed.
    ['PyPI', undefined],
    ['Ubuntu', undefined],
    ['Ubuntu:22.04:ESM', undefined],
    ['Alpine:3.21', undefined],
    ['Debian:12:extra', undefined],
    ['Go:x', undefined],
    ['', undefined],
    ['Debian:' + '1'.repeat(200), undefined],
  ];
  for (const [eco, ns, scheme] of cases) {
    const got = ecosystemNamespace(eco);
    assert.equal(got?.namespace, ns, eco);
    if (scheme) assert.equal(got?.scheme, scheme, eco);
  }
  assert.equal(ecosystemNamespace('Go')?.nameKind, 'module');
  assert.equal(ecosystemNamespace('Debian:12')?.nameKind, 'source');
});

test('OVAL file and product names map to Azure Linux and CBL-Mariner namespaces', () => {
  assert.equal(ovalNamespace('azurelinux-3.0-oval.xml')?.namespace, 'azurelinux:3.0');
  assert.equal(ovalNamespace('azurelinux-3.0-oval.xml.gz')?.namespace, 'azurelinux:3.0');
  assert.equal(ovalNamespace('cbl-mariner-2.0-oval.xml')?.namespace, 'mariner:2.0');
  assert.equal(ovalNamespace('Azure Linux 3')?.namespace, 'azurelinux:3.0');
  assert.equal(ovalNamespace('oval.xml'), undefined);
});

test('osNamespace follows each feed\'s release keys', () => {
  const cases: [string, string, string | undefined][] = [
    ['ubuntu', '22.04', 'ubuntu:22.04'],
    ['ubuntu', '24.04', 'ubuntu:24.04'],
    ['debian', '12', 'debian:12'],
    ['debian', '12.5', 'debian:12'],
    ['alpine', '3.21.2', 'alpine:3.21'],
    ['alpine', '3.9.0', 'alpine:3.9'],
    ['azurelinux', '3.0', 'azurelinux:3.0'],
    ['azurelinux', '3.0.20250102', 'azurelinux:3.0'],
    ['mariner', '2.0', 'mariner:2.0'],
    ['flatcar', '3815.2.0', undefined],
    ['ubuntu', 'jammy', undefined],
    ['unknown', '', undefined],
  ];
  for (const [family, versionId, ns] of cases) {
    assert.equal(osNamespace({ family: family as 'ubuntu', versionId }), ns, `${family} ${versionId}`);
  }
});

test('namespaceScheme knows the scheme of every namespace it creates', () => {
  assert.deepEqual(['ubuntu:22.04', 'ubuntu-pro:22.04', 'debian:12', 'alpine:3.21', 'azurelinux:3.0', 'mariner:2.0', 'go', 'pypi'].map(namespaceScheme), ['deb', 'deb', 'deb', 'apk', 'rpm', 'rpm', 'go', undefined]);
});
