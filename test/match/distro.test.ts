/**
 * Distro matcher tables: real package records (the Debian bookworm fixture's dpkg status, AKS
 * Ubuntu 22.04 and Azure Linux 3.0 lists) against real advisory entries (UCT jammy, Debian 12
 * OSV, Azure Linux OVAL 2025-02-24, Alpine secdb), each case named for the situation it pins.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchInventory } from '../../src/match/run.ts';
import { advisory, deb, inventory, os, pkg } from './helpers/build.ts';
import { memoryDb } from './helpers/memory-db.ts';

const U = 'ubuntu:22.04';
const D = 'debian:12';

// UCT jammy, 2024-08-09: CVE-2024-2511 openssl released 3.0.2-0ubuntu1.17 (priority low).
const openssl2511 = advisory({ id: 'UBUNTU-CVE-2024-2511', aliases: ['CVE-2024-2511'], affected: [{ namespace: U, name: 'openssl', ranges: [{ introduced: '0', fixed: '3.0.2-0ubuntu1.17' }], vendorSeverity: { source: 'ubuntu', level: 'low', severity: 'low' } }] });
// UCT jammy: CVE-2024-6387 openssh released 1:8.9p1-3ubuntu0.10 (high; nvd 8.1).
const openssh6387 = advisory({ id: 'UBUNTU-CVE-2024-6387', aliases: ['CVE-2024-6387'], cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H', source: 'nvd' }], affected: [{ namespace: U, name: 'openssh', ranges: [{ introduced: '0', fixed: '1:8.9p1-3ubuntu0.10' }], vendorSeverity: { source: 'ubuntu', level: 'high', severity: 'high' } }] });
// UCT jammy: CVE-2023-5678 edk2 "needed" — the derived OSV encodes it as introduced 0, no fix.
const edk2needed = advisory({ id: 'UBUNTU-CVE-2023-5678', aliases: ['CVE-2023-5678'], cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L', source: 'nvd' }], affected: [{ namespace: U, name: 'edk2', state: 'affected', ranges: [{ introduced: '0' }] }] });

describe('distro matcher: Ubuntu 22.04 by source package', () => {
  it('libssl3 (source openssl) below the fix: one fixed finding with evidence of the comparison', () => {
    const inv = inventory(os('ubuntu', '22.04'), [deb('libssl3', '3.0.2-0ubuntu1.15', ['openssl', '3.0.2-0ubuntu1.15'])]);
    const r = matchInventory(inv, memoryDb({ advisories: [openssl2511] }));
    assert.equal(r.findings.length, 1);
    const f = r.findings[0]!;
    assert.equal(f.vulnerabilityId, 'CVE-2024-2511');
    assert.equal(f.state, 'fixed');
    assert.equal(f.fixedVersion, '3.0.2-0ubuntu1.17');
    assert.equal(f.severity, 'low');
    assert.deepEqual(f.vendorSeverity, { source: 'ubuntu', level: 'low' });
    assert.equal(f.evidence.matchedOn, 'source');
    assert.equal(f.evidence.comparedName, 'openssl');
    assert.equal(f.evidence.comparison, '3.0.2-0ubuntu1.15 < 3.0.2-0ubuntu1.17 (deb)');
    assert.equal(f.evidence.advisory.id, 'UBUNTU-CVE-2024-2511');
    assert.deepEqual(f.evidence.package, [{ path: '/var/lib/dpkg/status', line: 1 }]);
    assert.equal(f.id, `CVE-2024-2511|${inv.packages[0]!.id}`);
    assert.deepEqual(r.assessed, [{ namespace: U, packages: 1 }]);
  });
  it('at the fixed version: no finding', () => {
    const inv = inventory(os('ubuntu', '22.04'), [deb('libssl3', '3.0.2-0ubuntu1.17', ['openssl', '3.0.2-0ubuntu1.17'])]);
    assert.equal(matchInventory(inv, memoryDb({ advisories: [openssl2511] })).findings.length, 0);
  });
  it('a binary named like another source is not matched by its binary name', () => {
    // binary "openssl" from source "openssl" matches; binary "libssl3" without a Source field is looked up as "libssl3" and misses.
    const inv = inventory(os('ubuntu', '22.04'), [deb('libssl3', '3.0.2-0ubuntu1.15')]);
    assert.equal(matchInventory(inv, memoryDb({ advisories: [openssl2511] })).findings.length, 0);
  });
  it('epoch and numeric revision: 1:8.9p1-3ubuntu0.6 < 1:8.9p1-3ubuntu0.10; severity is the vendor priority, not the CVSS', () => {
    const inv = inventory(os('ubuntu', '22.04'), [deb('openssh-server', '1:8.9p1-3ubuntu0.6', ['openssh', '1:8.9p1-3ubuntu0.6'])]);
    const [f] = matchInventory(inv, memoryDb({ advisories: [openssh6387] })).findings;
    assert.equal(f?.fixedVersion, '1:8.9p1-3ubuntu0.10');
    assert.equal(f?.severity, 'high');
    assert.equal(f?.cvss[0]?.score, 8.1, 'CVSS base score computed from the vector');
  });
  it('"needed"/"needs-triage"/"deferred"/"ignored" as the OSV feed encodes them (introduced 0 only): affected, no fixed version, severity from CVSS', () => {
    const inv = inventory(os('ubuntu', '22.04'), [deb('ovmf', '2022.02-3ubuntu0.22.04.2', ['edk2', '2022.02-3ubuntu0.22.04.2'])]);
    const [f] = matchInventory(inv, memoryDb({ advisories: [edk2needed] })).findings;
    assert.equal(f?.state, 'affected');
    assert.equal(f?.fixedVersion, undefined);
    assert.equal(f?.severity, 'medium', 'nvd 5.3');
    assert.match(f!.evidence.comparison, /no fix/);
  });
  it('wont-fix state (UCT "ignored" when a feed keeps it) is reported as wont-fix', () => {
    const a = advisory({ id: 'UBUNTU-CVE-2023-5678', aliases: ['CVE-2023-5678'], affected: [{ namespace: U, name: 'edk2', state: 'wont-fix', ranges: [{ introduced: '0' }] }] });
    const inv = inventory(os('ubuntu', '22.04'), [deb('ovmf', '2022.02-3ubuntu0.22.04.2', ['edk2', '2022.02-3ubuntu0.22.04.2'])]);
    assert.equal(matchInventory(inv, memoryDb({ advisories: [a] })).findings[0]?.state, 'wont-fix');
  });
  it('not-affected from the vendor: no finding, even when a third-party record says affected', () => {
    const vendor = advisory({ id: 'UBUNTU-CVE-2024-26130', aliases: ['CVE-2024-26130'], affected: [{ namespace: U, name: 'python-cryptography', state: 'not-affected', ranges: [] }] });
    const other = advisory({ id: 'THIRDPARTY-2024-26130', aliases: ['CVE-2024-26130'], source: 'other', affected: [{ namespace: U, name: 'python-cryptography', state: 'affected', ranges: [{ introduced: '0' }] }] });
    const inv = inventory(os('ubuntu', '22.04'), [deb('python3-cryptography', '3.4.8-1ubuntu2.1', ['python-cryptography', '3.4.8-1ubuntu2.1'])]);
    assert.equal(matchInventory(inv, memoryDb({ advisories: [vendor, other] })).findings.length, 0);
  });
  it('one finding per (CVE, package) when a USN and the UBUNTU-CVE record both name it; the per-CVE vendor record is the evidence', () => {
    // A USN-shaped notice naming two CVEs (constructed; real USNs list many).
    const usn = advisory({ id: 'USN-0000-1', aliases: ['CVE-2024-6387', 'CVE-2024-39894'], affected: [{ namespace: U, name: 'openssh', ranges: [{ introduced: '0', fixed: '1:8.9p1-3ubuntu0.10' }] }] });
    const inv = inventory(os('ubuntu', '22.04'), [deb('openssh-client', '1:8.9p1-3ubuntu0.6', ['openssh', '1:8.9p1-3ubuntu0.6'])]);
    const r = matchInventory(inv, memoryDb({ advisories: [usn, openssh6387] }));
    assert.deepEqual(r.findings.map((f) => f.vulnerabilityId).sort(), ['CVE-2024-39894', 'CVE-2024-6387']);
    const f = r.findings.find((x) => x.vulnerabilityId === 'CVE-2024-6387')!;
    assert.equal(f.evidence.advisory.id, 'UBUNTU-CVE-2024-6387');
    assert.ok(f.aliases.includes('USN-0000-1'));
  });
  it('EPSS and KEV are attached by CVE id', () => {
    const inv = inventory(os('ubuntu', '22.04'), [deb('openssh-server', '1:8.9p1-3ubuntu0.6', ['openssh', '1:8.9p1-3ubuntu0.6'])]);
    const db = memoryDb({ advisories: [openssh6387], kev: [{ cve: 'CVE-2024-6387', dateAdded: '2024-07-01' }], epss: [{ cve: 'CVE-2024-6387', score: 0.9, percentile: 0.99, date: '2026-08-16' }] });
    const [f] = matchInventory(inv, db).findings;
    assert.equal(f?.kev?.dateAdded, '2024-07-01');
    assert.equal(f?.epss?.score, 0.9);
  });
});

describe('distro matcher: Debian 12 (bookworm fixture records)', () => {
  it('binNMU: bash 5.2.15-2+b13 is compared as its source version 5.2.15-2', () => {
    // A fix between the source version and the binNMU binary version: comparing the binary would miss it.
    const a = advisory({ id: 'CVE-2099-0001', affected: [{ namespace: D, name: 'bash', ranges: [{ introduced: '0', fixed: '5.2.15-2+b20' }] }] });
    const inv = inventory(os('debian', '12'), [deb('bash', '5.2.15-2+b13', ['bash', '5.2.15-2'])]);
    const [f] = matchInventory(inv, memoryDb({ advisories: [a] })).findings;
    assert.equal(f?.evidence.comparedVersion, '5.2.15-2');
    assert.equal(f?.package.version, '5.2.15-2+b13');
  });
  it('dmsetup 2:1.02.185-2 (source lvm2 2.03.16-2): the binary epoch does not hide a source-version fix', () => {
    const a = advisory({ id: 'CVE-2099-0002', affected: [{ namespace: D, name: 'lvm2', ranges: [{ introduced: '0', fixed: '2.03.16-3' }] }] });
    const inv = inventory(os('debian', '12'), [deb('dmsetup', '2:1.02.185-2', ['lvm2', '2.03.16-2'])]);
    const [f] = matchInventory(inv, memoryDb({ advisories: [a] })).findings;
    assert.equal(f?.evidence.comparison, '2.03.16-2 < 2.03.16-3 (deb)');
  });
  it('tilde: 5.1~rc1-2 fix (CVE-2019-18276) is below 5.2.15-2', () => {
    const a = advisory({ id: 'CVE-2019-18276', affected: [{ namespace: D, name: 'bash', ranges: [{ introduced: '0', fixed: '5.1~rc1-2' }] }] });
    assert.equal(matchInventory(inventory(os('debian', '12'), [deb('bash', '5.2.15-2+b13', ['bash', '5.2.15-2'])]), memoryDb({ advisories: [a] })).findings.length, 0);
    assert.equal(matchInventory(inventory(os('debian', '12'), [deb('bash', '5.1~rc1-1', ['bash', '5.1~rc1-1'])]), memoryDb({ advisories: [a] })).findings.length, 1);
  });
  it('+deb12uN security updates: 1:2.66-4 < 1:2.66-4+deb12u1; the binNMU of deb12u3 is fixed', () => {
    // Shaped like a bookworm security update of libcap2 (the fixture has 1:2.66-4+deb12u3+b1).
    const a = advisory({ id: 'CVE-2099-0010', affected: [{ namespace: D, name: 'libcap2', ranges: [{ introduced: '0', fixed: '1:2.66-4+deb12u1' }] }] });
    const db = memoryDb({ advisories: [a] });
    assert.equal(matchInventory(inventory(os('debian', '12'), [deb('libcap2', '1:2.66-4+b1', ['libcap2', '1:2.66-4'])]), db).findings.length, 1);
    assert.equal(matchInventory(inventory(os('debian', '12'), [deb('libcap2', '1:2.66-4+deb12u3+b1', ['libcap2', '1:2.66-4+deb12u3'])]), db).findings.length, 0);
  });
  it('~deb12u1 backport fixes (Debian 12 OSV CVE-2024-9143 openssl fixed 3.0.15-1~deb12u1): tilde sorts before the release', () => {
    const a = advisory({ id: 'CVE-2024-9143', affected: [{ namespace: D, name: 'openssl', ranges: [{ introduced: '0', fixed: '3.0.15-1~deb12u1' }] }] });
    const db = memoryDb({ advisories: [a] });
    const at = (v: string): number => matchInventory(inventory(os('debian', '12'), [deb('libssl3', v, ['openssl', v])]), db).findings.length;
    assert.equal(at('3.0.11-1~deb12u2'), 1, 'the small tree fixture\'s libssl3');
    assert.equal(at('3.0.15-1~deb12u1'), 0);
    assert.equal(at('3.0.15-1'), 0, '3.0.15-1 > 3.0.15-1~deb12u1');
    assert.equal(at('3.0.15-0~deb12u9'), 1);
  });
  it('introduced/lastAffected ranges and explicit versions lists', () => {
    const a = advisory({ id: 'CVE-2099-0003', affected: [{ namespace: D, name: 'e2fsprogs', state: 'affected', ranges: [{ introduced: '1.46.0-1', lastAffected: '1.47.0-2' }] }] });
    const b = advisory({ id: 'CVE-2099-0004', affected: [{ namespace: D, name: 'e2fsprogs', state: 'affected', ranges: [], versions: ['1.47.0-1', '1.47.0-2'] }] });
    const db = memoryDb({ advisories: [a, b] });
    const at = (v: string): string[] => matchInventory(inventory(os('debian', '12'), [deb('e2fsprogs', `${v}+b2`, ['e2fsprogs', v])]), db).findings.map((f) => f.vulnerabilityId).sort();
    assert.deepEqual(at('1.47.0-2'), ['CVE-2099-0003', 'CVE-2099-0004']);
    assert.deepEqual(at('1.45.9-1'), []);
    assert.deepEqual(at('1.47.0-3'), []);
    assert.deepEqual(at('1.46.5-1'), ['CVE-2099-0003']);
  });
  it('signed kernel image (source linux-signed-amd64 6.1.176+1) matches Debian "linux" with its binary version, marked as the booting kernel', () => {
    const a = advisory({ id: 'CVE-2099-0005', affected: [{ namespace: D, name: 'linux', ranges: [{ introduced: '0', fixed: '6.1.177-1' }] }] });
    const image = deb('linux-image-6.1.0-50-cloud-amd64', '6.1.176-1', ['linux-signed-amd64', '6.1.176+1']);
    const old = deb('linux-image-6.1.0-49-cloud-amd64', '6.1.175-1', ['linux-signed-amd64', '6.1.175+1']);
    const kernel = { installed: [{ release: '6.1.0-50-cloud-amd64', hasModules: true, evidence: [] }, { release: '6.1.0-49-cloud-amd64', hasModules: true, evidence: [] }], bootDefault: '6.1.0-50-cloud-amd64' };
    const r = matchInventory(inventory(os('debian', '12'), [image, old], kernel), memoryDb({ advisories: [a] }));
    assert.equal(r.findings.length, 2);
    const byName = new Map(r.findings.map((f) => [f.package.name, f]));
    assert.deepEqual(byName.get(image.name)?.kernel, { release: '6.1.0-50-cloud-amd64', bootsByDefault: true });
    assert.deepEqual(byName.get(old.name)?.kernel, { release: '6.1.0-49-cloud-amd64', bootsByDefault: false });
    assert.equal(byName.get(image.name)?.evidence.comparedName, 'linux');
    assert.equal(byName.get(image.name)?.evidence.comparedVersion, '6.1.176-1');
  });
  it('linux-libc-dev (source linux) is matched but carries no kernel mark: it is not a booted kernel', () => {
    const a = advisory({ id: 'CVE-2099-0006', affected: [{ namespace: D, name: 'linux', ranges: [{ introduced: '0', fixed: '6.1.177-1' }] }] });
    const kernel = { installed: [{ release: '6.1.0-50-cloud-amd64', hasModules: true, evidence: [] }], bootDefault: '6.1.0-50-cloud-amd64' };
    const [f] = matchInventory(inventory(os('debian', '12'), [deb('linux-libc-dev', '6.1.176-1', ['linux', '6.1.176-1'])], kernel), memoryDb({ advisories: [a] })).findings;
    assert.equal(f?.kernel, undefined);
  });
  it('kernel CVEs: one finding per (CVE, installed kernel) listing the image, metapackage, headers and linux-libc-dev of that build; another installed kernel gets its own', () => {
    // Debian 12 tracker CVE-2024-26739 (linux, unfixed in bookworm at 6.1.176-1); the fixture's kernel packages plus an older kernel.
    const a = advisory({ id: 'CVE-2024-26739', affected: [{ namespace: D, name: 'linux', state: 'affected', ranges: [{}] }] });
    const image = deb('linux-image-6.1.0-50-cloud-amd64', '6.1.176-1', ['linux-signed-amd64', '6.1.176+1']);
    const meta = deb('linux-image-cloud-amd64', '6.1.176-1', ['linux-signed-amd64', '6.1.176+1']);
    const headers = deb('linux-headers-6.1.0-50-cloud-amd64', '6.1.176-1', ['linux', '6.1.176-1']);
    const libc = deb('linux-libc-dev', '6.1.176-1', ['linux', '6.1.176-1']);
    const old = deb('linux-image-6.1.0-49-cloud-amd64', '6.1.175-1', ['linux-signed-amd64', '6.1.175+1']);
    const base = deb('linux-base', '4.12.1~deb12u1', ['linux-base', '4.12.1~deb12u1']);
    const kernel = { installed: [{ release: '6.1.0-50-cloud-amd64', hasModules: true, evidence: [] }, { release: '6.1.0-49-cloud-amd64', hasModules: true, evidence: [] }], bootDefault: '6.1.0-50-cloud-amd64' };
    const r = matchInventory(inventory(os('debian', '12'), [libc, meta, headers, base, image, old], kernel), memoryDb({ advisories: [a] }));
    assert.deepEqual(r.findings.map((f) => f.id).sort(), ['CVE-2024-26739|kernel:6.1.0-49-cloud-amd64', 'CVE-2024-26739|kernel:6.1.0-50-cloud-amd64']);
    const boot = r.findings.find((f) => f.kernel?.bootsByDefault)!;
    assert.deepEqual(boot.kernel, { release: '6.1.0-50-cloud-amd64', bootsByDefault: true });
    assert.equal(boot.package.name, image.name, 'the kernel image is the finding\'s package');
    assert.deepEqual(boot.packages!.map((p) => p.name), [image.name, headers.name, meta.name, libc.name], 'carrier first, then by name');
    assert.deepEqual(boot.evidence.packages!.map((p) => [p.packageId, p.carriesKernel, p.comparedName, p.comparedVersion]), [
      [image.id, true, 'linux', '6.1.176-1'], [headers.id, false, 'linux', '6.1.176-1'], [meta.id, false, 'linux', '6.1.176-1'], [libc.id, false, 'linux', '6.1.176-1'],
    ]);
    assert.equal(boot.evidence.package.length, 4, 'every package record is evidence');
    const other = r.findings.find((f) => f.kernel?.bootsByDefault === false)!;
    assert.deepEqual(other.packages!.map((p) => p.name), [old.name]);
    assert.deepEqual(other.kernel, { release: '6.1.0-49-cloud-amd64', bootsByDefault: false });
  });
  it('a version that does not parse is counted and named, not silently skipped', () => {
    const a = advisory({ id: 'CVE-2099-0007', affected: [{ namespace: D, name: 'bash', ranges: [{ introduced: '0', fixed: '5.3-1' }] }] });
    const r = matchInventory(inventory(os('debian', '12'), [deb('bash', 'not a version', ['bash', 'not a version']), deb('dash', '0.5.12-2')]), memoryDb({ advisories: [a] }));
    const issue = r.issues.find((i) => i.code === 'match.version-unparseable');
    assert.match(issue?.message ?? '', /^1 packages not assessed.*bash not a version/);
    assert.deepEqual(r.assessed, [{ namespace: D, packages: 1 }]);
  });
});

describe('distro matcher: Azure Linux 3.0 (rpm) and Alpine (apk)', () => {
  // OVAL 2025-02-24 oval:com.microsoft.azurelinux:def:56898: openssh earlier than 9.8p1-3 (as its title writes it), High.
  const oval = advisory({ id: 'oval:com.microsoft.azurelinux:def:56898', aliases: ['CVE-2025-26466'], source: 'azurelinux-oval', affected: [{ namespace: 'azurelinux:3.0', name: 'openssh', versionScheme: 'rpm', ranges: [{ fixed: '9.8p1-3' }], vendorSeverity: { source: 'microsoft', level: 'High', severity: 'high' } }] });
  const rpm = (name: string, version: string, source: string): ReturnType<typeof pkg> => pkg({ type: 'rpm', name, version, versionScheme: 'rpm', arch: 'x86_64', source: { name: source, version } });
  it('openssh-server 9.8p1-2.azl3 (SOURCERPM openssh) < 9.8p1-3: finding with the vendor severity', () => {
    const [f] = matchInventory(inventory(os('azurelinux', '3.0'), [rpm('openssh-server', '9.8p1-2.azl3', 'openssh')]), memoryDb({ advisories: [oval] })).findings;
    assert.equal(f?.fixedVersion, '9.8p1-3');
    assert.equal(f?.severity, 'high');
    assert.equal(f?.evidence.comparison, '9.8p1-2.azl3 < 9.8p1-3 (rpm)');
  });
  it('the dist tag after the fixed release (9.8p1-3.azl3) is fixed', () => {
    assert.equal(matchInventory(inventory(os('azurelinux', '3.0'), [rpm('openssh', '9.8p1-3.azl3', 'openssh')]), memoryDb({ advisories: [oval] })).findings.length, 0);
  });
  it('rpm epoch is carried to the source version', () => {
    const a = advisory({ id: 'CVE-2099-0008', affected: [{ namespace: 'azurelinux:3.0', name: 'bind', versionScheme: 'rpm', ranges: [{ fixed: '1:9.20.0-1.azl3' }] }] });
    const p = pkg({ type: 'rpm', name: 'bind-libs', version: '9.19.21-1.azl3', epoch: 1, versionScheme: 'rpm', source: { name: 'bind', version: '9.19.21-1.azl3' } });
    const [f] = matchInventory(inventory(os('azurelinux', '3.0'), [p]), memoryDb({ advisories: [a] })).findings;
    assert.equal(f?.evidence.comparedVersion, '1:9.19.21-1.azl3');
  });
  it('Alpine: libcrypto3 is matched by its origin openssl; -r revisions order numerically', () => {
    // secdb v3.21 main (2025-01-04): openssl secfixes "3.3.2-r3": CVE-2024-9143.
    const a = advisory({ id: 'ALPINE-CVE-2024-9143', aliases: ['CVE-2024-9143'], affected: [{ namespace: 'alpine:3.21', name: 'openssl', versionScheme: 'apk', ranges: [{ introduced: '0', fixed: '3.3.2-r3' }] }] });
    const apk = (v: string): ReturnType<typeof pkg> => pkg({ type: 'apk', name: 'libcrypto3', version: v, versionScheme: 'apk', source: { name: 'openssl', version: v } });
    const db = memoryDb({ advisories: [a] });
    assert.equal(matchInventory(inventory(os('alpine', '3.21.2'), [apk('3.3.2-r2')]), db).findings[0]?.evidence.comparison, '3.3.2-r2 < 3.3.2-r3 (apk)');
    assert.equal(matchInventory(inventory(os('alpine', '3.21.2'), [apk('3.3.2-r10')]), db).findings.length, 0, 'r10 > r3: revisions are numbers, not strings');
    assert.equal(matchInventory(inventory(os('alpine', '3.21.2'), [apk('3.3.2_rc1-r0')]), db).findings.length, 1, '_rc1 sorts before the release');
  });
});

describe('coverage: never "0 findings" for an unassessed node', () => {
  it('an OS with no data (flatcar 3815) is a no-data issue and nothing is assessed', () => {
    const r = matchInventory(inventory(os('flatcar', '3815.2.5'), [pkg({ type: 'rpm', name: 'x', version: '1-1', versionScheme: 'rpm' })]), memoryDb({ advisories: [openssl2511] }));
    assert.equal(r.findings.length, 0);
    assert.deepEqual(r.assessed, []);
    assert.match(r.issues[0]!.message, /^no vulnerability data for flatcar 3815\.2\.5/);
  });
  it('a known OS whose namespace has no data imported (debian 12 with only Ubuntu data)', () => {
    const r = matchInventory(inventory(os('debian', '12'), [deb('bash', '5.2.15-2+b13', ['bash', '5.2.15-2'])]), memoryDb({ advisories: [openssl2511] }));
    assert.equal(r.issues[0]?.code, 'match.no-data');
    assert.match(r.issues[0]!.message, /namespace debian:12/);
  });
  it('no OS detected', () => {
    const r = matchInventory(inventory(undefined, [deb('bash', '5.2.15-2')]), memoryDb({ advisories: [openssl2511] }));
    assert.equal(r.issues[0]?.code, 'match.no-os');
  });
});

describe('coverage: an OS whose package database gave nothing', () => {
  it('is "not assessed", with the OS named', () => {
    const r = matchInventory(inventory(os('ubuntu', '22.04'), []), memoryDb({ advisories: [openssl2511] }));
    assert.deepEqual(r.assessed, []);
    assert.equal(r.issues[0]?.code, 'match.no-packages');
    assert.match(r.issues[0]!.message, /^ubuntu 22\.04 detected but no OS packages were read/);
  });
});
