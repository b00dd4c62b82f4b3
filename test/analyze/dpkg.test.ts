import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { dpkgAnalyzer, MAX_STATUS_BYTES, parseDpkgDatabase, parseMd5sums, parseSourceField, parseStatusField } from '../../src/analyze/dpkg/index.ts';
import { MAX_KEPT_FIELD_CHARS } from '../../src/analyze/dpkg/control.ts';
import type { Inventory, Package } from '../../src/inventory/index.ts';
import type { Issue } from '../../src/util/issues.ts';
import { inventoryTarget } from '../../src/scan/inventory.ts';
import { debianRoot, fixtureOrSkip, nodeDisk } from '../fixtures/node-image.ts';
import { needTools, run, tempDir } from '../helpers/tools.ts';
import { inventoryOfTree } from './tree.ts';

const DATA = join(import.meta.dirname, '..', 'data', 'dpkg');
const FORMAT = '${binary:Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\t${source:Version}\\t${db:Status-Abbrev}\\n';
/** db:Status-Abbrev's second letter for the states we count as installed (half-installed and later). */
const INSTALLED_ABBREV = new Set(['H', 'U', 'F', 'W', 't', 'i']);

/** dpkg-query's view of an admin dir: "name arch version source srcversion" of installed packages. */
async function dpkgQuerySet(admindir: string): Promise<string[]> {
  const out = await run('dpkg-query', [`--admindir=${admindir}`, '-W', '-f', FORMAT]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'))
    .filter((f) => INSTALLED_ABBREV.has(f[5]![1]!))
    .map(([bin, ver, arch, src, srcVer]) => `${bin!.split(':')[0]} ${arch} ${ver} ${src} ${srcVer}`)
    .sort();
}

function ourSet(packages: Package[]): string[] {
  return packages.map((p) => `${p.name} ${p.arch} ${p.version} ${p.source!.name} ${p.source!.version}`).sort();
}

async function withAdmindir<R>(status: string | Uint8Array, fn: (dir: string) => Promise<R>): Promise<R> {
  const t = tempDir();
  try {
    mkdirSync(join(t.dir, 'info'));
    mkdirSync(join(t.dir, 'updates'));
    writeFileSync(join(t.dir, 'status'), status);
    return await fn(t.dir);
  } finally {
    t.cleanup();
  }
}

function assertMatchesDebianRoot(inv: Inventory, oracle: string[], root: string): void {
  assert.deepEqual(ourSet(inv.packages.filter((p) => p.foundBy === 'dpkg')), oracle);
  const info = join(root, 'var/lib/dpkg/info');
  const md5 = readdirSync(info).filter((f) => f.endsWith('.md5sums'));
  let compared = 0;
  for (const f of md5) {
    const base = f.slice(0, -'.md5sums'.length);
    const [name, arch] = base.split(':');
    const pkg = inv.packages.find((p) => p.name === name && (arch === undefined || p.arch === arch));
    assert.ok(pkg, `md5sums ${f} belongs to an installed package`);
    const lines = readFileSync(join(info, f), 'utf8').split('\n').filter(Boolean).length;
    assert.equal(pkg.files?.length, lines, `${f}: one digest per md5sums line`);
    assert.ok(pkg.files!.every((d) => d.path.startsWith('/') && d.algorithm === 'md5' && /^[0-9a-f]{32}$/.test(d.digest)));
    compared++;
  }
  assert.ok(compared > 50, `compared ${compared} md5sums files`);
  const kernel = inv.packages.find((p) => p.name.startsWith('linux-image-6'));
  assert.ok(kernel?.files?.some((f) => f.path.startsWith('/boot/vmlinuz-')), 'the kernel package owns its /boot image');
}

test('debianRoot() as a directory: installed set equals dpkg-query, md5sums complete', async (t) => {
  const skip = needTools('dpkg-query');
  if (skip) return t.skip(skip);
  const root = await fixtureOrSkip(t, debianRoot());
  if (!root) return;
  const oracle = await dpkgQuerySet(join(root, 'var/lib/dpkg'));
  const { inventory, close } = await inventoryTarget(root);
  await close();
  assertMatchesDebianRoot(inventory, oracle, root);
  assert.deepEqual(inventory.issues.filter((i) => i.severity === 'error'), []);
  assert.equal(inventory.analyzers['dpkg'], dpkgAnalyzer.version);
});

test('debianRoot() through nodeDisk(gpt-ext4): the same inventory as the directory', async (t) => {
  const skip = needTools('dpkg-query');
  if (skip) return t.skip(skip);
  const root = await fixtureOrSkip(t, debianRoot());
  const disk = await fixtureOrSkip(t, nodeDisk('gpt-ext4'));
  if (!root || !disk) return;
  const oracle = await dpkgQuerySet(join(root, 'var/lib/dpkg'));
  const fromDisk = await inventoryTarget(disk);
  const fromDir = await inventoryTarget(root);
  await fromDisk.close();
  await fromDir.close();
  assertMatchesDebianRoot(fromDisk.inventory, oracle, root);
  assert.deepEqual(fromDisk.inventory.packages, fromDir.inventory.packages, 'every analyzer sees the same files through the disk');
  assert.deepEqual(fromDisk.inventory.os, fromDir.inventory.os);
  assert.deepEqual(fromDisk.inventory.kernel, fromDir.inventory.kernel);
});

test('tricky status file: the installed set equals dpkg-query (states, binNMU, Source versions, multiarch)', async (t) => {
  const skip = needTools('dpkg-query');
  if (skip) return t.skip(skip);
  const text = readFileSync(join(DATA, 'tricky-status'), 'utf8');
  const oracle = await withAdmindir(text, dpkgQuerySet);
  const r = parseDpkgDatabase(text, '/var/lib/dpkg/status');
  assert.deepEqual(ourSet(r.packages), oracle);
  assert.deepEqual(r.issues, []);
});

const TRICKY: Array<{ name: string; pkg: string; arch?: string; installed: boolean; source?: [string, string]; version?: string; note?: RegExp }> = [
  { name: 'deinstall ok installed is installed', pkg: 'removed-not-purged', installed: true },
  { name: 'deinstall ok config-files is not installed', pkg: 'config-only', installed: false },
  { name: 'install ok config-files is not installed', pkg: 'config-only-install', installed: false },
  { name: 'purge ok not-installed is not installed', pkg: 'purged', installed: false },
  { name: 'half-installed counts, with its state in evidence', pkg: 'half-inst', installed: true, note: /half-installed/ },
  { name: 'half-configured counts', pkg: 'half-conf', installed: true, note: /half-configured/ },
  { name: 'unpacked counts', pkg: 'unpacked-only', installed: true },
  { name: 'triggers-awaited counts', pkg: 'trig-await', installed: true },
  { name: 'hold ok installed counts', pkg: 'held', installed: true },
  { name: 'binNMU changes only the binary version', pkg: 'libpam0g', installed: true, version: '1.4.0-9+b1', source: ['pam', '1.4.0-9'] },
  { name: 'Source without version takes the binary version', pkg: 'libpam-modules', installed: true, source: ['pam', '1.4.0-9'] },
  { name: 'multiarch same package, amd64', pkg: 'libc6', arch: 'amd64', installed: true, source: ['glibc', '2.36-9+deb12u4'] },
  { name: 'multiarch same package, i386', pkg: 'libc6', arch: 'i386', installed: true },
  { name: 'epoch only in the binary version', pkg: 'epoch-pkg', installed: true, version: '1:2.38.1-5+deb12u3', source: ['util-linux', '2.38.1-5+deb12u3'] },
];

for (const c of TRICKY) {
  test(`dpkg status: ${c.name}`, () => {
    const r = parseDpkgDatabase(readFileSync(join(DATA, 'tricky-status'), 'utf8'), '/var/lib/dpkg/status');
    const p = r.packages.find((x) => x.name === c.pkg && (c.arch === undefined || x.arch === c.arch));
    assert.equal(p !== undefined, c.installed);
    if (!p) return;
    if (c.version) assert.equal(p.version, c.version);
    if (c.source) assert.deepEqual(p.source, { name: c.source[0], version: c.source[1] });
    if (c.note) assert.match(p.evidence[0]!.note ?? '', c.note);
    assert.equal(p.evidence[0]!.path, '/var/lib/dpkg/status');
    assert.ok(p.evidence[0]!.line! > 0);
  });
}

test('dpkg status: evidence line numbers point at the Package paragraph', () => {
  const text = readFileSync(join(DATA, 'tricky-status'), 'utf8');
  const lines = text.split('\n');
  for (const p of parseDpkgDatabase(text, '/s').packages) {
    const first = lines[p.evidence[0]!.line! - 1]!;
    assert.equal(first, `Package: ${p.name}`);
  }
});

test('dpkg status: CRLF line endings read as LF (dpkg itself refuses them)', () => {
  const text = readFileSync(join(DATA, 'tricky-status'), 'utf8');
  const lf = parseDpkgDatabase(text, '/s');
  const crlf = parseDpkgDatabase(text.replace(/\n/g, '\r\n'), '/s');
  assert.deepEqual(ourSet(crlf.packages), ourSet(lf.packages));
});

test('dpkg status: Multi-Arch kept; architecture in the package id', () => {
  const r = parseDpkgDatabase(readFileSync(join(DATA, 'tricky-status'), 'utf8'), '/s');
  const libc = r.packages.filter((p) => p.name === 'libc6');
  assert.deepEqual(libc.map((p) => p.multiArch), ['same', 'same']);
  assert.equal(new Set(libc.map((p) => p.id)).size, 2);
});

test('dpkg status: missing and malformed fields become located issues, other records survive', () => {
  const text = [
    'Package: ok-one', 'Status: install ok installed', 'Version: 1', 'Architecture: all', '',
    'Status: install ok installed', 'Version: 1', '',
    'Package: no-version', 'Status: install ok installed', 'Architecture: all', '',
    'Package: bad-status', 'Status: install installed', 'Version: 1', '',
    'Package: no-status', 'Version: 1', '',
    'Package: bad-source', 'Status: install ok installed', 'Version: 1', 'Source: a b c', '',
    'Package: no-arch', 'Status: install ok installed', 'Version: 1', '',
    'garbage line without colon', 'Package: after-garbage', 'Status: install ok installed', 'Version: 2', 'Architecture: all', '',
  ].join('\n');
  const r = parseDpkgDatabase(text, '/var/lib/dpkg/status');
  assert.deepEqual(r.packages.map((p) => p.name), ['ok-one', 'no-arch', 'after-garbage']);
  const codes = r.issues.map((i) => `${i.code}@${i.location}`);
  assert.deepEqual(codes, [
    'dpkg.record-invalid@/var/lib/dpkg/status:6',
    'dpkg.record-invalid@/var/lib/dpkg/status:9',
    'dpkg.record-invalid@/var/lib/dpkg/status:13',
    'dpkg.record-invalid@/var/lib/dpkg/status:17',
    'dpkg.record-invalid@/var/lib/dpkg/status:20',
    'dpkg.no-architecture@/var/lib/dpkg/status:25',
    'dpkg.syntax@/var/lib/dpkg/status:29',
  ]);
});

test('dpkg status: a huge field is scanned without being kept; a huge kept field is refused', () => {
  const huge = 'x'.repeat(2 * MAX_KEPT_FIELD_CHARS);
  const text = `Package: big\nStatus: install ok installed\nVersion: 1\nArchitecture: all\nDescription: d\n ${huge}\n\nPackage: bigver\nStatus: install ok installed\nArchitecture: all\nVersion: ${huge}\n`;
  const r = parseDpkgDatabase(text, '/s');
  assert.deepEqual(r.packages.map((p) => p.name), ['big']);
  assert.ok(r.issues.some((i) => i.code === 'dpkg.syntax' && /longer than/.test(i.message)));
  assert.ok(r.issues.some((i) => i.code === 'dpkg.record-invalid' && /bigver/.test(i.message)));
});

test('parseStatusField takes the third word as the state', () => {
  assert.deepEqual(parseStatusField('deinstall ok installed'), { want: 'deinstall', flag: 'ok', state: 'installed' });
  assert.deepEqual(parseStatusField('install reinstreq half-installed'), { want: 'install', flag: 'reinstreq', state: 'half-installed' });
  assert.equal(parseStatusField('installed'), undefined);
  assert.equal(parseStatusField('install ok installed extra'), undefined);
  assert.equal(parseStatusField('install ok broken'), undefined);
});

test('parseSourceField', () => {
  assert.deepEqual(parseSourceField('pam (1.4.0-9)', 'libpam0g', '1.4.0-9+b1'), { name: 'pam', version: '1.4.0-9' });
  assert.deepEqual(parseSourceField('pam', 'libpam0g', '1.4.0-9+b1'), { name: 'pam', version: '1.4.0-9+b1' });
  assert.deepEqual(parseSourceField(undefined, 'bash', '5.2'), { name: 'bash', version: '5.2' });
  assert.equal(parseSourceField('pam (1.0', 'x', '1'), undefined);
});

const STATUS_D_BASE = 'Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\nMaintainer: Santiago Vila <sanvila@debian.org>\nInstalled-Size: 343\nSection: admin\nPriority: required\nDescription: Debian base system miscellaneous files\n';
const STATUS_D_LIBSSL = 'Package: libssl3\nSource: openssl\nVersion: 3.0.15-1~deb12u1\nArchitecture: amd64\nMulti-Arch: same\nMaintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>\nInstalled-Size: 6338\nDescription: Secure Sockets Layer toolkit - shared libraries\n';

test('status.d (distroless): one control file per package, md5sums beside them', async () => {
  const inv = await inventoryOfTree({
    'var/lib/dpkg/status.d/base': STATUS_D_BASE,
    'var/lib/dpkg/status.d/libssl3': STATUS_D_LIBSSL,
    'var/lib/dpkg/status.d/libssl3.md5sums': 'e0d1a5b8d7d5b3bd6b0d1a0f1f6f3f9a  usr/lib/x86_64-linux-gnu/libssl.so.3\n0123456789abcdef0123456789abcdef  usr/lib/x86_64-linux-gnu/libcrypto.so.3\n',
  }, [dpkgAnalyzer]);
  assert.deepEqual(ourSet(inv.packages), ['base-files amd64 12.4+deb12u5 base-files 12.4+deb12u5', 'libssl3 amd64 3.0.15-1~deb12u1 openssl 3.0.15-1~deb12u1']);
  const ssl = inv.packages.find((p) => p.name === 'libssl3')!;
  assert.deepEqual(ssl.files?.map((f) => f.path), ['/usr/lib/x86_64-linux-gnu/libssl.so.3', '/usr/lib/x86_64-linux-gnu/libcrypto.so.3']);
  assert.equal(ssl.evidence[0]!.path, '/var/lib/dpkg/status.d/libssl3');
  assert.deepEqual(inv.issues, []);
});

const HOSTILE: Array<{ name: string; tree: Parameters<typeof inventoryOfTree>[0]; setup?: (root: string) => void; code: string }> = [
  { name: 'status is a symlink loop', tree: { 'var/lib/dpkg/status': { link: 'status2' }, 'var/lib/dpkg/status2': { link: 'status' } }, code: 'dpkg.status-unreadable' },
  { name: 'status is a dangling absolute symlink', tree: { 'var/lib/dpkg/status': { link: '/nowhere/status' } }, code: 'dpkg.status-unreadable' },
  { name: 'status is a directory', tree: { 'var/lib/dpkg/status': { dir: true } }, code: 'dpkg.status-unreadable' },
  {
    name: 'status larger than MAX_STATUS_BYTES',
    tree: { 'var/lib/dpkg/status': '' },
    setup: (root) => truncateSync(join(root, 'var/lib/dpkg/status'), MAX_STATUS_BYTES + 1),
    code: 'dpkg.status-unreadable',
  },
  { name: 'info/ without a status file', tree: { 'var/lib/dpkg/info/bash.md5sums': 'd41d8cd98f00b204e9800998ecf8427e  bin/bash\n' }, code: 'dpkg.status-missing' },
  {
    name: 'an empty status while md5sums exist',
    tree: { 'var/lib/dpkg/status': '', 'var/lib/dpkg/info/bash.md5sums': 'd41d8cd98f00b204e9800998ecf8427e  bin/bash\n' },
    code: 'dpkg.status-empty',
  },
];

for (const c of HOSTILE) {
  test(`hostile dpkg: ${c.name} is a typed issue, never an empty list`, async () => {
    const inv = await inventoryOfTree(c.tree, [dpkgAnalyzer], c.setup);
    assert.deepEqual(inv.packages, []);
    const issue = inv.issues.find((i) => i.code === c.code);
    assert.ok(issue, `expected ${c.code}, got ${JSON.stringify(inv.issues)}`);
    assert.equal(issue.severity, 'error');
    assert.ok(issue.location?.startsWith('/var/lib/dpkg'));
  });
}

test('hostile dpkg: a truncated status keeps the complete records and reads the cut one as far as it goes', () => {
  const text = readFileSync(join(DATA, 'tricky-status'), 'utf8');
  const cut = text.slice(0, text.indexOf('Version: 1.4.0-9+b1') + 'Version: 1.4'.length);
  const r = parseDpkgDatabase(cut, '/s');
  assert.ok(r.packages.some((p) => p.name === 'held'));
  assert.equal(r.packages.find((p) => p.name === 'libpam0g')?.version, '1.4');
});

test('hostile dpkg: random binary bytes never throw and yield issues, not packages', () => {
  let seed = 12345;
  const bytes = new Uint8Array(64 * 1024).map(() => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
  const r = parseDpkgDatabase(new TextDecoder().decode(bytes), '/s');
  assert.deepEqual(r.packages, []);
  assert.ok(r.issues.length > 0);
});

test('dpkg status: the same name:arch recorded twice is a warning (dpkg keeps one record per package)', () => {
  const rec = (v: string) => `Package: dup\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${v}\n`;
  const r = parseDpkgDatabase(`${rec('1')}\n${rec('2')}`, '/var/lib/dpkg/status');
  assert.deepEqual(r.packages.map((p) => p.version), ['1', '2']);
  assert.deepEqual(r.issues.map((i) => `${i.code}@${i.location}`), ['dpkg.duplicate-package@/var/lib/dpkg/status:6']);
});

/**
 * The reference for the md5sums line scanner: the line pattern it replaced, over LF/CRLF lines
 * (the scanner exists for speed; what a line means must not change).
 */
function md5sumsByPattern(text: string): { digests: { path: string; digest: string }[]; bad: number; firstBad: number } {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const digests: { path: string; digest: string }[] = [];
  let bad = 0;
  let firstBad = 0;
  for (const [i, line] of lines.entries()) {
    const m = /^([0-9a-fA-F]{32}) [ *]?(.+)$/.exec(line);
    if (!m) {
      if (line.trim() !== '' && bad++ === 0) firstBad = i + 1;
      continue;
    }
    digests.push({ path: m[2]!.startsWith('/') ? m[2]! : `/${m[2]!}`, digest: m[1]!.toLowerCase() });
  }
  return { digests, bad, firstBad };
}

test('md5sums scanner: the same digests, paths and malformed-line count as the md5sums line pattern (edge cases and seeded random lines)', () => {
  const h = 'D41D8cd98f00b204e9800998ecf8427e';
  const cases = [
    `${h}  usr/bin/a\n${h} *usr/bin/b\r\n${h} usr/bin/c\n${h}  \n${h} \n${h}   two spaces\n${h}  /abs\n`,
    `${h}\tusr/tab\n${h.slice(1)}  short\n${h}g  long\n\n   \n\r\n${h}  has\rcr\n${h}  has\u2028ls\n${h}  **star\n${h} * \n`,
    `${h}  no-final-newline`,
    '',
    '\n\n',
    `${h}  x\n\r`,
  ];
  // Seeded random lines from the characters that matter to the pattern.
  let seed = 0x9e3779b9;
  const rand = (k: number): number => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return seed % k;
  };
  const alphabet = ['a', 'F', '0', '9', 'g', ' ', '*', '\r', '\n', '\t', '/', 'é', '\u2029'];
  for (let c = 0; c < 300; c++) {
    let s = '';
    const lines = 1 + rand(5);
    for (let l = 0; l < lines; l++) {
      // Mostly a full digest and its space (the interesting part is what follows), else a near miss.
      s += rand(3) !== 0 ? `${h} ` : h.slice(0, 30 + rand(4));
      const tail = rand(8);
      for (let k = 0; k < tail; k++) s += alphabet[rand(alphabet.length)];
      s += rand(4) === 0 ? '\r\n' : '\n';
    }
    cases.push(s);
  }
  let wellFormed = 0;
  for (const text of cases) {
    const want = md5sumsByPattern(text);
    const issues: Issue[] = [];
    const got = parseMd5sums(text, '/x.md5sums', issues);
    assert.deepEqual(got.map((d) => ({ path: d.path, digest: d.digest })), want.digests, JSON.stringify(text));
    assert.ok(got.every((d) => d.algorithm === 'md5'));
    assert.deepEqual(issues, want.bad === 0 ? [] : [{ severity: 'warning', code: 'dpkg.md5sums-syntax', message: `${want.bad} malformed line(s)`, location: `/x.md5sums:${want.firstBad}` }], JSON.stringify(text));
    wellFormed += got.length;
  }
  assert.ok(wellFormed > 50, `${wellFormed} well-formed lines among the cases`);
});
