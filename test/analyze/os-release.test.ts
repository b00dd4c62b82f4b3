import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_OS_RELEASE_BYTES, osFromOsRelease, osFromReleaseFile, osReleaseAnalyzer } from '../../src/analyze/os-release/index.ts';
import { parseOsRelease } from '../../src/analyze/os-release/parse.ts';
import codenames from '../../data/os-codenames.json' with { type: 'json' };
import { inventoryOfTree } from './tree.ts';

const DATA = join(import.meta.dirname, '..', 'data', 'os-release');

const CASES: Array<{ file: string; family: string; id: string; versionId: string; codename?: string; pretty?: string }> = [
  { file: 'ubuntu-22.04', family: 'ubuntu', id: 'ubuntu', versionId: '22.04', codename: 'jammy', pretty: 'Ubuntu 22.04.5 LTS' },
  { file: 'ubuntu-24.04', family: 'ubuntu', id: 'ubuntu', versionId: '24.04', codename: 'noble' },
  { file: 'debian-12', family: 'debian', id: 'debian', versionId: '12', codename: 'bookworm' },
  { file: 'azurelinux-3.0', family: 'azurelinux', id: 'azurelinux', versionId: '3.0', pretty: 'Microsoft Azure Linux 3.0' },
  { file: 'mariner-2.0', family: 'mariner', id: 'mariner', versionId: '2.0' },
  { file: 'amzn-2', family: 'amazon', id: 'amzn', versionId: '2' },
  { file: 'amzn-2023', family: 'amazon', id: 'amzn', versionId: '2023' },
  { file: 'bottlerocket-1.20', family: 'bottlerocket', id: 'bottlerocket', versionId: '1.20.3' },
  { file: 'flatcar-3975', family: 'flatcar', id: 'flatcar', versionId: '3975.2.0' },
  { file: 'cos-113', family: 'cos', id: 'cos', versionId: '113' },
  { file: 'rhel-9.4', family: 'rhel', id: 'rhel', versionId: '9' },
  { file: 'rocky-9.3', family: 'rocky', id: 'rocky', versionId: '9' },
  { file: 'alma-9.4', family: 'alma', id: 'almalinux', versionId: '9' },
  { file: 'centos-stream-9', family: 'centos', id: 'centos', versionId: '9' },
  { file: 'fedora-40', family: 'fedora', id: 'fedora', versionId: '40' },
  { file: 'sles-15.5', family: 'sles', id: 'sles', versionId: '15.5' },
  { file: 'opensuse-leap-15.5', family: 'opensuse', id: 'opensuse-leap', versionId: '15.5' },
  { file: 'alpine-3.21', family: 'alpine', id: 'alpine', versionId: '3.21', pretty: 'Alpine Linux v3.21' },
];

for (const c of CASES) {
  test(`os-release of ${c.file}: family ${c.family}, release ${c.versionId}`, () => {
    const os = osFromOsRelease(readFileSync(join(DATA, c.file), 'utf8'), '/etc/os-release');
    assert.ok(os);
    assert.equal(os.family, c.family);
    assert.equal(os.id, c.id);
    assert.equal(os.versionId, c.versionId);
    if (c.codename) assert.equal(os.codename, c.codename);
    if (c.pretty) assert.equal(os.prettyName, c.pretty);
    assert.equal(os.evidence[0]!.path, '/etc/os-release');
  });
}

test('os-release: ID_LIKE words and CPE_NAME are kept', () => {
  const os = osFromOsRelease(readFileSync(join(DATA, 'rocky-9.3'), 'utf8'), '/etc/os-release')!;
  assert.deepEqual(os.idLike, ['rhel', 'centos', 'fedora']);
  assert.equal(os.cpe, 'cpe:/o:rocky:rocky:9::baseos');
});

test('os-release syntax: quotes, escapes, comments, CRLF', () => {
  const kv = parseOsRelease('# comment\r\nNAME="A \\"quoted\\" \\$name"\r\nID=\'single\'\r\nBAD LINE\r\nVERSION_ID=1\r\n');
  assert.equal(kv.get('NAME')?.value, 'A "quoted" $name');
  assert.equal(kv.get('ID')?.value, 'single');
  assert.equal(kv.get('VERSION_ID')?.value, '1');
  assert.equal(kv.get('ID')?.line, 3);
});

test('relative symlink /etc/os-release -> ../usr/lib/os-release is read inside the tree', async () => {
  const inv = await inventoryOfTree({ 'usr/lib/os-release': readFileSync(join(DATA, 'ubuntu-22.04')), 'etc/os-release': { link: '../usr/lib/os-release' } }, [osReleaseAnalyzer]);
  assert.equal(inv.os?.family, 'ubuntu');
  assert.equal(inv.os?.evidence[0]!.path, '/etc/os-release');
  assert.deepEqual(inv.issues, []);
});

test('a dangling /etc/os-release falls back to /usr/lib/os-release', async () => {
  const inv = await inventoryOfTree({ 'usr/lib/os-release': readFileSync(join(DATA, 'debian-12')), 'etc/os-release': { link: '/nowhere' } }, [osReleaseAnalyzer]);
  assert.equal(inv.os?.versionId, '12');
  assert.equal(inv.os?.evidence[0]!.path, '/usr/lib/os-release');
  assert.deepEqual(inv.issues.map((i) => [i.code, i.severity]), [['os.read', 'warning']]);
});

test('an unknown OS is reported by name as unsupported', async () => {
  const inv = await inventoryOfTree({ 'etc/os-release': readFileSync(join(DATA, 'arch-rolling')) }, [osReleaseAnalyzer]);
  assert.equal(inv.os?.family, 'unknown');
  assert.equal(inv.os?.id, 'arch');
  const issue = inv.issues.find((i) => i.code === 'os.unsupported');
  assert.ok(issue);
  assert.match(issue.message, /'arch'.*Arch Linux/);
});

test('no identification file at all is an os.not-found error', async () => {
  const inv = await inventoryOfTree({ 'etc/hostname': 'node\n' }, [osReleaseAnalyzer]);
  assert.equal(inv.os, undefined);
  assert.deepEqual(inv.issues.map((i) => i.code), ['os.not-found']);
});

const FALLBACKS: Array<{ name: string; path: string; text: string; family: string; versionId: string; codename?: string }> = [
  { name: 'Ubuntu lsb-release', path: '/etc/lsb-release', text: 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\nDISTRIB_DESCRIPTION="Ubuntu 22.04.5 LTS"\n', family: 'ubuntu', versionId: '22.04', codename: 'jammy' },
  { name: 'Debian point release', path: '/etc/debian_version', text: '12.9\n', family: 'debian', versionId: '12', codename: 'bookworm' },
  { name: 'Debian testing', path: '/etc/debian_version', text: 'trixie/sid\n', family: 'debian', versionId: 'trixie', codename: 'trixie' },
  { name: 'RHEL redhat-release', path: '/etc/redhat-release', text: 'Red Hat Enterprise Linux release 9.4 (Plow)\n', family: 'rhel', versionId: '9' },
  { name: 'Rocky redhat-release', path: '/etc/redhat-release', text: 'Rocky Linux release 9.3 (Blue Onyx)\n', family: 'rocky', versionId: '9' },
  { name: 'CentOS Stream redhat-release', path: '/etc/redhat-release', text: 'CentOS Stream release 9\n', family: 'centos', versionId: '9' },
  { name: 'Amazon Linux 2 system-release', path: '/etc/system-release', text: 'Amazon Linux release 2 (Karoo)\n', family: 'amazon', versionId: '2' },
  { name: 'Amazon Linux 2023 system-release', path: '/etc/system-release', text: 'Amazon Linux release 2023.6.20241212 (Amazon Linux)\n', family: 'amazon', versionId: '2023.6.20241212' },
  { name: 'Alpine alpine-release', path: '/etc/alpine-release', text: '3.21.2\n', family: 'alpine', versionId: '3.21' },
  { name: 'CBL-Mariner mariner-release', path: '/etc/mariner-release', text: 'CBL-Mariner 2.0.20240609\nMARINER_BUILD_NUMBER=5f8e6a5\n', family: 'mariner', versionId: '2.0' },
  { name: 'Azure Linux azurelinux-release', path: '/etc/azurelinux-release', text: 'Microsoft Azure Linux 3.0.20250206\nAZURELINUX_BUILD_NUMBER=2c0b2ec\n', family: 'azurelinux', versionId: '3.0' },
];

for (const c of FALLBACKS) {
  test(`fallback ${c.name}`, async () => {
    const direct = osFromReleaseFile(c.path, c.text);
    assert.equal(direct?.family, c.family);
    assert.equal(direct?.versionId, c.versionId);
    if (c.codename) assert.equal(direct?.codename, c.codename);
    // Through the analyzer: only the fallback file exists.
    const inv = await inventoryOfTree({ [c.path.slice(1)]: c.text }, [osReleaseAnalyzer]);
    assert.equal(inv.os?.family, c.family);
    assert.equal(inv.os?.evidence[0]!.path, c.path);
  });
}

test('os-release wins over release files', async () => {
  const inv = await inventoryOfTree({ 'etc/os-release': readFileSync(join(DATA, 'ubuntu-24.04')), 'etc/lsb-release': 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\n', 'etc/debian_version': 'trixie/sid\n' }, [osReleaseAnalyzer]);
  assert.equal(inv.os?.versionId, '24.04');
});

test('data/os-codenames.json agrees with distro-info-data where installed', (t) => {
  for (const distro of ['debian', 'ubuntu'] as const) {
    const csv = `/usr/share/distro-info/${distro}.csv`;
    if (!existsSync(csv)) return t.skip(`${csv} not installed`);
    const rows = readFileSync(csv, 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split(','));
    for (const [version, name] of Object.entries(codenames[distro])) {
      const row = rows.find((r) => r[0]!.replace(/ LTS$/, '') === version);
      assert.ok(row, `${distro} ${version} in ${csv}`);
      assert.equal(row[2], name, `${distro} ${version}`);
    }
  }
});

test('hostile os-release: binary content, a huge file', async () => {
  let seed = 7;
  const bytes = new Uint8Array(8 * 1024).map(() => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
  const bin = await inventoryOfTree({ 'etc/os-release': bytes }, [osReleaseAnalyzer]);
  assert.equal(bin.os, undefined);
  assert.deepEqual(bin.issues.map((i) => i.code), ['os.unparsable', 'os.not-found']);
  const huge = await inventoryOfTree({ 'etc/os-release': 'ID=ubuntu\n' + '#'.repeat(MAX_OS_RELEASE_BYTES) }, [osReleaseAnalyzer]);
  assert.deepEqual(huge.issues.map((i) => i.code), ['os.read', 'os.not-found']);
});

test('hostile release files: long lines of spaces or digits are cut, not backtracked over', () => {
  assert.equal(osFromReleaseFile('/etc/redhat-release', ' '.repeat(60_000) + 'x'), undefined);
  assert.equal(osFromReleaseFile('/etc/mariner-release', '9'.repeat(60_000)), undefined);
  assert.equal(osFromReleaseFile('/etc/redhat-release', 'Rocky Linux  release  9.3')?.versionId, '9');
});
