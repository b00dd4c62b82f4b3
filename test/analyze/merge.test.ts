import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INVENTORY_SCHEMA_VERSION, packageId, type OsInfo, type Package } from '../../src/inventory/index.ts';
import { mergeInventory } from '../../src/analyze/merge.ts';

function pkg(name: string, version: string, evidencePath: string, arch = 'amd64'): Package {
  const p: Package = { type: 'deb', name, version, versionScheme: 'deb', arch, foundBy: 'dpkg', evidence: [{ path: evidencePath }], id: '' };
  p.id = packageId(p);
  return p;
}
const debian: OsInfo = { family: 'debian', id: 'debian', versionId: '12', evidence: [{ path: '/etc/os-release', line: 1 }] };
const header = { target: 'disk.raw', scannedAt: '2026-01-01T00:00:00.000Z', analyzers: { dpkg: 1 } };

test('merge: packages in analyzer order; one id reported twice keeps one record with both evidences', () => {
  const inv = mergeInventory(header, [
    { packages: [pkg('bash', '5.2', '/var/lib/dpkg/status'), pkg('libc6', '2.36', '/var/lib/dpkg/status')] },
    { packages: [pkg('bash', '5.2', '/var/lib/dpkg/status.d/bash'), pkg('libc6', '2.36', '/s', 'i386')] },
  ]);
  assert.deepEqual(inv.packages.map((p) => `${p.name}:${p.arch}`), ['bash:amd64', 'libc6:amd64', 'libc6:i386']);
  assert.deepEqual(inv.packages[0]!.evidence.map((e) => e.path), ['/var/lib/dpkg/status', '/var/lib/dpkg/status.d/bash']);
  assert.equal(inv.schemaVersion, INVENTORY_SCHEMA_VERSION);
  assert.deepEqual(inv.analyzers, { dpkg: 1 });
});

test('merge: the first OS wins; a disagreeing later claim is an issue', () => {
  const inv = mergeInventory(header, [{ os: debian }, { os: { ...debian, family: 'ubuntu', id: 'ubuntu', versionId: '22.04', evidence: [{ path: '/etc/lsb-release' }] } }, { os: debian }]);
  assert.equal(inv.os, debian);
  assert.deepEqual(inv.issues.map((i) => [i.code, i.location]), [['inventory.os-conflict', '/etc/lsb-release']]);
});

test('merge: kernel facts join by release; the first boot default wins; issues keep order', () => {
  const inv = mergeInventory(header, [
    { kernel: { installed: [{ release: '6.1.0-1', hasModules: false, evidence: [{ path: '/boot/vmlinuz-6.1.0-1' }], imagePath: '/boot/vmlinuz-6.1.0-1' }] }, issues: [{ severity: 'info', code: 'a', message: 'a' }] },
    { kernel: { installed: [{ release: '6.1.0-1', hasModules: true, packageName: 'linux-image-6.1.0-1', evidence: [{ path: '/usr/lib/modules/6.1.0-1' }] }], bootDefault: '6.1.0-1', bootDefaultMethod: 'x' }, issues: [{ severity: 'info', code: 'b', message: 'b' }] },
    { kernel: { installed: [], bootDefault: '9', bootDefaultMethod: 'y' } },
  ]);
  assert.deepEqual(inv.kernel, {
    installed: [{ release: '6.1.0-1', hasModules: true, packageName: 'linux-image-6.1.0-1', imagePath: '/boot/vmlinuz-6.1.0-1', evidence: [{ path: '/boot/vmlinuz-6.1.0-1' }, { path: '/usr/lib/modules/6.1.0-1' }] }],
    bootDefault: '6.1.0-1',
    bootDefaultMethod: 'x',
  });
  assert.deepEqual(inv.issues.map((i) => i.code), ['a', 'b']);
});

test('merge: the JSON form is the object itself (no undefined fields, no Maps)', () => {
  const inv = mergeInventory({ ...header, node: { cluster: 'c1', node: 'n1' } }, [{ os: debian, packages: [pkg('bash', '5.2', '/s')] }]);
  assert.deepEqual(JSON.parse(JSON.stringify(inv)), inv);
  assert.equal('kernel' in inv, false);
});
