/**
 * The go-binary analyzer against real Go binaries — Debian's containerd and runc from the
 * debootstrapped node tree, and a test module cross-compiled by Debian's Go 1.19 for 64/32-bit,
 * little/big-endian ELF (fixture.ts) — with `go version -m` as the oracle; a section-stripped
 * copy exercises the data-segment scan; the pre-1.18 pointer format, which Go 1.19 cannot
 * produce, is checked on byte-built ELF files; hostile ELF input is truncated, mis-pointed and
 * fuzzed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { goBinaryAnalyzer, ldflagsAssignments, ldflagsVersion, OWNED_EXAMPLES_COUNT, pathAliases, stdlibVersion } from '../../../src/analyze/go-binary/index.ts';
import { GO_BUILDINFO_MAGIC, parseModinfo, readGoBuildInfo, uvarint, type GoBuildInfo, type GoModule } from '../../../src/analyze/go-binary/buildinfo.ts';
import { readElf } from '../../../src/analyze/go-binary/elf.ts';
import { packageId, type Package } from '../../../src/inventory/index.ts';
import { BudgetError, CorruptError, HullscanError, NotThisFormatError } from '../../../src/util/errors.ts';
import { debianRoot, fixtureOrSkip } from '../../fixtures/node-image.ts';
import { fuzz, fuzzCases } from '../../helpers/fuzz.ts';
import { needTools, run, tempDir } from '../../helpers/tools.ts';
import { analyzeTree } from '../rpm/helpers.ts';
import { GO_TARGETS, goTestBinaries, LDFLAGS } from './fixture.ts';

const skipGo = needTools('go');

const readAtOf = (bytes: Uint8Array) => (o: number, n: number): Promise<Uint8Array> => Promise.resolve(bytes.subarray(o, o + n));

async function buildInfoOf(path: string): Promise<GoBuildInfo> {
  const bytes = new Uint8Array(readFileSync(path));
  return readGoBuildInfo(readAtOf(bytes), bytes.length);
}

/** `go version -m` parsed into the same shape (cmd/go/internal/version prints BuildInfo.String()). */
async function goVersionM(path: string): Promise<Pick<GoBuildInfo, 'goVersion' | 'path' | 'main' | 'deps' | 'settings'>> {
  const out = await run('go', ['version', '-m', path]);
  const [first, ...lines] = out.split('\n');
  const goVersion = first!.slice(first!.indexOf(': ') + 2);
  const text = lines.filter((l) => l.startsWith('\t')).map((l) => l.slice(1)).join('\n');
  const { path: p, main, deps, settings } = parseModinfo(text);
  const r: Pick<GoBuildInfo, 'goVersion' | 'path' | 'main' | 'deps' | 'settings'> = { goVersion, deps, settings };
  if (p !== undefined) r.path = p;
  if (main !== undefined) r.main = main;
  return r;
}

function comparable(info: GoBuildInfo): Pick<GoBuildInfo, 'goVersion' | 'path' | 'main' | 'deps' | 'settings'> {
  const { goVersion, path, main, deps, settings } = info;
  const r: Pick<GoBuildInfo, 'goVersion' | 'path' | 'main' | 'deps' | 'settings'> = { goVersion, deps, settings };
  if (path !== undefined) r.path = path;
  if (main !== undefined) r.main = main;
  return r;
}

test('Debian containerd and runc: build info equals go version -m', { skip: skipGo }, async (t) => {
  const root = await fixtureOrSkip(t, debianRoot());
  if (!root) return;
  for (const bin of ['usr/bin/containerd', 'usr/sbin/runc', 'usr/bin/containerd-shim-runc-v2']) {
    const info = await buildInfoOf(join(root, bin));
    assert.equal(info.foundIn, 'elf .go.buildinfo', bin);
    assert.equal(info.format, 'inline');
    assert.deepEqual(info.warnings, []);
    assert.deepEqual(comparable(info), await goVersionM(join(root, bin)), bin);
  }
});

for (const target of GO_TARGETS) {
  test(`test module for ${target.goarch} (${target.bits}-bit ${target.le ? 'LE' : 'BE'} ELF): build info equals go version -m`, { skip: skipGo }, async (t) => {
    const dir = await fixtureOrSkip(t, goTestBinaries());
    if (!dir) return;
    const file = join(dir, `gotest-${target.goarch}`);
    const bytes = new Uint8Array(readFileSync(file));
    const elf = await readElf(readAtOf(bytes), bytes.length);
    assert.equal(elf.bits, target.bits);
    assert.equal(elf.littleEndian, target.le);
    const info = await buildInfoOf(file);
    assert.deepEqual(comparable(info), await goVersionM(file));
    assert.equal(info.main?.version, '(devel)');
    assert.deepEqual(info.deps.map((d) => [d.path, d.version, d.replace?.path, d.replace?.version]), [
      ['example.com/localdep', 'v0.0.0', './localdep', '(devel)'],
      ['github.com/fake/lib', 'v1.2.3', undefined, undefined],
      ['github.com/fake/old', 'v0.1.0', 'github.com/fake/new', 'v0.4.0'],
    ]);
  });
}

test('a (devel) main module gets the version stamped by -ldflags -X main.version (build info equal to go version -m)', { skip: skipGo }, async (t) => {
  const dir = await fixtureOrSkip(t, goTestBinaries());
  if (!dir) return;
  const file = join(dir, 'gotest-ldflags');
  const info = await buildInfoOf(file);
  assert.deepEqual(comparable(info), await goVersionM(file));
  assert.equal(info.settings.find((x) => x.key === '-ldflags')?.value, LDFLAGS);
  assert.deepEqual(ldflagsVersion(info), { version: 'v1.4.2', key: 'main.version' });
  const tmp = tempDir();
  try {
    mkdirSync(join(tmp.dir, 'usr/local/bin'), { recursive: true });
    copyFileSync(file, join(tmp.dir, 'usr/local/bin/gotest'));
    chmodSync(join(tmp.dir, 'usr/local/bin/gotest'), 0o755);
    const r = await analyzeTree(goBinaryAnalyzer, tmp.dir);
    const main = (r.packages ?? []).find((p) => p.name === 'example.com/hullscan/gotest');
    assert.equal(main?.version, 'v1.4.2');
    assert.equal(main?.evidence[0]?.note, 'main module; version from -ldflags -X main.version');
  } finally {
    tmp.cleanup();
  }
});

test('ldflags: -X forms, quoting, and which keys count as the main module version', () => {
  assert.deepEqual(ldflagsAssignments(`-s -w -X main.version=1.2.3 -X=a/b.c=d --X "k8s.io/component-base/version.gitVersion=v1.29.2" -X 'x.y=with space'`), [
    { key: 'main.version', value: '1.2.3' },
    { key: 'a/b.c', value: 'd' },
    { key: 'k8s.io/component-base/version.gitVersion', value: 'v1.29.2' },
    { key: 'x.y', value: 'with space' },
  ]);
  const info = (ldflags: string, main = 'github.com/containerd/containerd/v2'): GoBuildInfo => ({
    goVersion: 'go1.22.5', main: { path: main, version: '(devel)' }, deps: [], settings: [{ key: '-ldflags', value: ldflags }], foundIn: 'elf .go.buildinfo', format: 'inline', warnings: [],
  });
  const cases: [string, ReturnType<typeof ldflagsVersion>][] = [
    ['-X github.com/containerd/containerd/v2/version.Version=v2.0.1 -X github.com/containerd/containerd/v2/version.Revision=abc', { version: 'v2.0.1', key: 'github.com/containerd/containerd/v2/version.Version' }],
    ["-X 'k8s.io/component-base/version.gitVersion=v1.29.2' -X 'k8s.io/client-go/pkg/version.gitVersion=v1.29.2'", { version: 'v1.29.2', key: 'k8s.io/component-base/version.gitVersion' }],
    ['-X main.version=1.1.12', { version: 'v1.1.12', key: 'main.version' }],
    ['-X main.version=dev', undefined],
    ['-X main.version=1.6.20~ds1', undefined],
    ['-X other.org/pkg.Version=v9.9.9', undefined],
    ['-X main.version=v1.0.0 -X main.Version=v2.0.0', 'ambiguous'],
    ['-s -w', undefined],
  ];
  for (const [flags, want] of cases) assert.deepEqual(ldflagsVersion(info(flags)), want, flags);
});

test('section headers stripped (e_shoff = e_shnum = 0): found by scanning the data segment, same build info as go version -m', { skip: skipGo }, async (t) => {
  const dir = await fixtureOrSkip(t, goTestBinaries());
  if (!dir) return;
  const tmp = tempDir();
  try {
    const bytes = new Uint8Array(readFileSync(join(dir, 'gotest-amd64')));
    const dv = new DataView(bytes.buffer);
    dv.setBigUint64(40, 0n, true);
    dv.setUint16(60, 0, true);
    dv.setUint16(62, 0, true);
    const file = join(tmp.dir, 'stripped');
    writeFileSync(file, bytes, { mode: 0o755 });
    const info = await buildInfoOf(file);
    assert.equal(info.foundIn, 'elf data segment');
    assert.deepEqual(comparable(info), await goVersionM(file));
  } finally {
    tmp.cleanup();
  }
});

/** A minimal ELF with one RW PT_LOAD segment at `vaddr` holding `seg` (for the pointer format). */
function elfWithSegment(bits: 32 | 64, le: boolean, vaddr: number, seg: Uint8Array): Uint8Array {
  const ehsize = bits === 64 ? 64 : 52;
  const phentsize = bits === 64 ? 56 : 32;
  const segOff = 0x100;
  const out = new Uint8Array(segOff + seg.length);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, bits === 64 ? 2 : 1, le ? 1 : 2, 1]);
  dv.setUint16(16, 2, le);
  dv.setUint16(18, bits === 64 ? 62 : 8, le);
  if (bits === 64) {
    dv.setBigUint64(32, BigInt(ehsize), le);
    dv.setUint16(54, phentsize, le);
    dv.setUint16(56, 1, le);
    dv.setUint16(58, 64, le);
    const p = ehsize;
    dv.setUint32(p, 1, le);
    dv.setUint32(p + 4, 6, le); // PF_R | PF_W
    dv.setBigUint64(p + 8, BigInt(segOff), le);
    dv.setBigUint64(p + 16, BigInt(vaddr), le);
    dv.setBigUint64(p + 32, BigInt(seg.length), le);
    dv.setBigUint64(p + 40, BigInt(seg.length), le);
  } else {
    dv.setUint32(28, ehsize, le);
    dv.setUint16(42, phentsize, le);
    dv.setUint16(44, 1, le);
    dv.setUint16(46, 40, le);
    const p = ehsize;
    dv.setUint32(p, 1, le);
    dv.setUint32(p + 4, segOff, le);
    dv.setUint32(p + 8, vaddr, le);
    dv.setUint32(p + 16, seg.length, le);
    dv.setUint32(p + 20, seg.length, le);
    dv.setUint32(p + 24, 6, le);
  }
  out.set(seg, segOff);
  return out;
}

/** Go < 1.18 layout: header with two pointers to string headers, then the strings. */
function pointerFormat(bits: 32 | 64, le: boolean, version: string, modinfo: string): Uint8Array {
  const ptr = bits / 8;
  const vaddr = 0x400000;
  const v = new TextEncoder().encode(version);
  const m = new TextEncoder().encode(modinfo);
  const seg = new Uint8Array(64 + 4 * ptr + v.length + m.length);
  const dv = new DataView(seg.buffer);
  seg.set(GO_BUILDINFO_MAGIC, 0);
  seg[14] = ptr;
  seg[15] = le ? 0 : 1;
  const put = (at: number, x: number): void => (ptr === 8 ? dv.setBigUint64(at, BigInt(x), le) : dv.setUint32(at, x, le));
  const vh = 32;
  const mh = 32 + 2 * ptr;
  const vd = 32 + 4 * ptr;
  const md = vd + v.length;
  put(16, vaddr + vh);
  put(16 + ptr, vaddr + mh);
  put(vh, vaddr + vd);
  put(vh + ptr, v.length);
  put(mh, vaddr + md);
  put(mh + ptr, m.length);
  seg.set(v, vd);
  seg.set(m, md);
  return elfWithSegment(bits, le, vaddr, seg);
}

const SENTINEL = '0123456789abcdef';
const MODINFO = `${SENTINEL}path\tk8s.io/kubernetes/cmd/kubelet\nmod\tk8s.io/kubernetes\tv1.16.15\t\ndep\tgithub.com/gogo/protobuf\tv1.3.1\th1:abc=\n=>\tgithub.com/gogo/protobuf\tv1.3.2\th1:def=\nbuild\t-ldflags="-s -w"\n\n${SENTINEL}`;

for (const [bits, le] of [[64, true], [32, false]] as const) {
  test(`Go < 1.18 pointer format, byte-built ${bits}-bit ${le ? 'LE' : 'BE'} ELF: version and modinfo through the string headers`, async () => {
    const bytes = pointerFormat(bits, le, 'go1.16.15', MODINFO);
    const info = await readGoBuildInfo(readAtOf(bytes), bytes.length);
    assert.equal(info.format, 'pointer');
    assert.equal(info.foundIn, 'elf data segment');
    assert.equal(info.goVersion, 'go1.16.15');
    assert.equal(info.path, 'k8s.io/kubernetes/cmd/kubelet');
    assert.deepEqual(info.main, { path: 'k8s.io/kubernetes', version: 'v1.16.15' });
    assert.deepEqual(info.deps, [{ path: 'github.com/gogo/protobuf', version: 'v1.3.1', sum: 'h1:abc=', replace: { path: 'github.com/gogo/protobuf', version: 'v1.3.2', sum: 'h1:def=' } }]);
    assert.deepEqual(info.settings, [{ key: '-ldflags', value: '-s -w' }]);
  });
}

test('pointer format with a string length past the segment, or an address in no segment, is a typed error', async () => {
  const bytes = pointerFormat(64, true, 'go1.16.15', MODINFO);
  const seg = 0x100;
  const dv = new DataView(bytes.buffer);
  const longer = bytes.slice();
  new DataView(longer.buffer).setBigUint64(seg + 32 + 8, 1n << 40n, true);
  await assert.rejects(readGoBuildInfo(readAtOf(longer), longer.length), BudgetError);
  const nowhere = bytes.slice();
  new DataView(nowhere.buffer).setBigUint64(seg + 16, 0x10n, true);
  await assert.rejects(readGoBuildInfo(readAtOf(nowhere), nowhere.length), CorruptError);
  void dv;
});

test('varints and toolchain versions', () => {
  assert.deepEqual(uvarint(Uint8Array.from([0xac, 0x02]), 0), { value: 300, bytes: 2 });
  assert.equal(uvarint(Uint8Array.from(new Array(11).fill(0xff)), 0), undefined);
  assert.equal(uvarint(Uint8Array.from([0x80]), 0), undefined);
  assert.equal(stdlibVersion('go1.22.5'), 'go1.22.5');
  assert.equal(stdlibVersion('go1.22.5 X:boringcrypto'), 'go1.22.5');
  assert.equal(stdlibVersion('go1.23rc1'), 'go1.23rc1');
  assert.equal(stdlibVersion('devel go1.23-abc123 Tue'), undefined);
  assert.deepEqual(pathAliases('/usr/bin/runc'), ['/usr/bin/runc', '/bin/runc']);
  assert.deepEqual(pathAliases('/sbin/x'), ['/sbin/x', '/usr/sbin/x']);
  // The walk descends /opt/<name>/bin only, and nothing below the bin directories.
  const d = (p: string): boolean => goBinaryAnalyzer.descend!(p);
  assert.deepEqual(['/opt', '/opt/cni', '/opt/cni/bin', '/opt/cni/lib', '/opt/cni/bin/x', '/usr/local/bin', '/usr/bin/X11'].map(d), [true, true, true, false, false, true, false]);
});

test('the whole Debian node tree: the Go binaries found are exactly those `go version <dirs>` finds; with dpkg ownership every owned executable is skipped, summarised in one issue', { skip: skipGo }, async (t) => {
  const root = await fixtureOrSkip(t, debianRoot());
  if (!root) return;
  const dirs = ['usr/bin', 'usr/sbin', 'usr/local/bin', 'usr/local/sbin'];
  // `go version DIR` lists every Go executable in DIR (following symlinks, which the walk does not).
  const out = await run('go', ['version', ...dirs], { cwd: root });
  const oracle = new Map<string, string>();
  for (const line of out.split('\n').filter(Boolean)) {
    const [path, version] = line.split(': ');
    if (lstatSync(join(root, path!)).isFile()) oracle.set(`/${path}`, version!);
  }
  assert.ok(oracle.size >= 5);
  const unowned = await analyzeTree(goBinaryAnalyzer, root);
  assert.deepEqual(new Map((unowned.packages ?? []).map((p) => [p.binaryPath!, p.version])), oracle);
  assert.ok((unowned.packages ?? []).every((p) => p.name === 'stdlib'));
  // The dpkg analyzer's files: every md5sums list, as absolute paths.
  const info = join(root, 'var/lib/dpkg/info');
  const previous = readdirSync(info).filter((f) => f.endsWith('.md5sums')).map((f) => {
    const lines = readFileSync(join(info, f), 'utf8').split('\n').filter(Boolean);
    return ownedBy(f.replace(/\.md5sums$/, '').replace(/:.*$/, ''), lines.map((l) => `/${l.slice(l.indexOf('  ') + 2)}`));
  });
  const owned = await analyzeTree(goBinaryAnalyzer, root, previous);
  assert.deepEqual(owned.packages, []);
  // The oracle for the skip count: regular executables directly in the component directories
  // that some md5sums list names (as dpkg ships them under /usr on this merged-/usr tree).
  const listed = new Set(previous.flatMap((p) => (p.files ?? []).flatMap((f) => pathAliases(f.path))));
  const ownedExecutables = dirs.flatMap((d) => (existsSync(join(root, d)) ? readdirSync(join(root, d)) : []).map((n) => `/${d}/${n}`)).filter((p) => {
    const st = lstatSync(join(root, p));
    return st.isFile() && (st.mode & 0o111) !== 0 && listed.has(p);
  });
  assert.ok(ownedExecutables.length > 100, `${ownedExecutables.length} owned executables`);
  for (const k of oracle.keys()) assert.ok(ownedExecutables.includes(k), `${k} is dpkg-owned`);
  const issues = owned.issues ?? [];
  assert.deepEqual(issues.map((i) => [i.severity, i.code]), [['info', 'go-binary.owned']]);
  const m = /^(\d+) executable\(s\) in component directories are owned by OS packages and were not inspected; their packages are matched instead: (.*), and (\d+) more$/.exec(issues[0]!.message);
  assert.ok(m, issues[0]!.message);
  assert.equal(Number(m[1]), ownedExecutables.length);
  assert.equal(Number(m[3]), ownedExecutables.length - OWNED_EXAMPLES_COUNT);
  const examples = [...ownedExecutables].sort().slice(0, OWNED_EXAMPLES_COUNT);
  assert.equal(m[2]!.split(', ').length, OWNED_EXAMPLES_COUNT);
  assert.deepEqual(m[2]!.split(', ').map((e) => e.replace(/ \(deb package [^)]+\)$/, '')), examples);
  assert.equal(issues[0]!.location, examples[0]);
});

function ownedBy(name: string, paths: string[]): Package {
  const p: Package = { type: 'deb', name, version: '1', versionScheme: 'deb', foundBy: 'dpkg', evidence: [], id: '', files: paths.map((path) => ({ path, algorithm: 'md5', digest: '0'.repeat(32) })) };
  p.id = packageId(p);
  return p;
}

test('analyzer: a copy of containerd in /usr/local/bin is reported, the dpkg-owned /usr/bin/containerd is not read, summarised in an info issue', { skip: skipGo }, async (t) => {
  const root = await fixtureOrSkip(t, debianRoot());
  const bins = await fixtureOrSkip(t, goTestBinaries());
  if (!root || !bins) return;
  const tmp = tempDir();
  try {
    for (const d of ['usr/bin', 'usr/local/bin', 'opt/cni/bin', 'usr/share/doc']) mkdirSync(join(tmp.dir, d), { recursive: true });
    copyFileSync(join(root, 'usr/bin/containerd'), join(tmp.dir, 'usr/bin/containerd'));
    copyFileSync(join(root, 'usr/bin/containerd'), join(tmp.dir, 'usr/local/bin/containerd'));
    copyFileSync(join(bins, 'gotest-amd64'), join(tmp.dir, 'opt/cni/bin/bridge'));
    copyFileSync(join(bins, 'gotest-amd64'), join(tmp.dir, 'usr/local/bin/not-executable'));
    copyFileSync(join(bins, 'gotest-amd64'), join(tmp.dir, 'usr/share/doc/outside'));
    writeFileSync(join(tmp.dir, 'usr/local/bin/truncated'), readFileSync(join(bins, 'gotest-amd64')).subarray(0, 8192));
    // An owned path holding a broken Go binary: reading it would be a go-binary.unreadable error, so its absence shows owned files are not read.
    writeFileSync(join(tmp.dir, 'usr/bin/ctr'), readFileSync(join(bins, 'gotest-amd64')).subarray(0, 8192));
    writeFileSync(join(tmp.dir, 'usr/local/bin/helper.sh'), '#!/bin/sh\necho hi\n');
    for (const f of ['usr/bin/containerd', 'usr/bin/ctr', 'usr/local/bin/containerd', 'opt/cni/bin/bridge', 'usr/local/bin/truncated', 'usr/local/bin/helper.sh', 'usr/share/doc/outside']) chmodSync(join(tmp.dir, f), 0o755);
    chmodSync(join(tmp.dir, 'usr/local/bin/not-executable'), 0o644);
    // The dpkg analyzer's view of containerd: its md5sums file list, as absolute paths.
    const md5sums = readFileSync(join(root, 'var/lib/dpkg/info/containerd.md5sums'), 'utf8');
    const owned = md5sums.split('\n').filter(Boolean).map((l) => `/${l.slice(l.indexOf('  ') + 2)}`);
    assert.ok(owned.includes('/usr/bin/containerd'));
    const r = await analyzeTree(goBinaryAnalyzer, tmp.dir, [ownedBy('containerd', owned)]);
    const got = (r.packages ?? []).map((p) => [p.binaryPath, p.name, p.version, p.type, p.versionScheme, p.id === packageId(p)]).sort();
    assert.deepEqual(got, [
      ['/opt/cni/bin/bridge', 'github.com/fake/lib', 'v1.2.3', 'golang', 'go', true],
      ['/opt/cni/bin/bridge', 'github.com/fake/new', 'v0.4.0', 'golang', 'go', true],
      ['/opt/cni/bin/bridge', 'stdlib', 'go1.19.8', 'golang', 'go', true],
      ['/usr/local/bin/containerd', 'stdlib', 'go1.19.8', 'golang', 'go', true],
    ]);
    const fakeNew = (r.packages ?? []).find((p) => p.name === 'github.com/fake/new')!;
    assert.deepEqual(fakeNew.evidence, [{ path: '/opt/cni/bin/bridge', record: 'elf .go.buildinfo (inline build info)', note: 'dependency; replaces github.com/fake/old@v0.1.0' }]);
    const issues = (r.issues ?? []).map((i) => [i.severity, i.code, i.location]).sort();
    assert.deepEqual(issues, [
      ['error', 'go-binary.unreadable', '/usr/local/bin/truncated'],
      ['info', 'go-binary.module-version-unknown', '/opt/cni/bin/bridge'],
      ['info', 'go-binary.module-version-unknown', '/opt/cni/bin/bridge'],
      ['info', 'go-binary.no-module-info', '/usr/local/bin/containerd'],
      ['info', 'go-binary.owned', '/usr/bin/containerd'],
    ]);
    const ownedIssue = (r.issues ?? []).find((i) => i.code === 'go-binary.owned')!;
    assert.equal(ownedIssue.message, '2 executable(s) in component directories are owned by OS packages and were not inspected; their packages are matched instead: /usr/bin/containerd (deb package containerd), /usr/bin/ctr (deb package containerd)');
  } finally {
    tmp.cleanup();
  }
});

test('hostile ELF: truncations, section table past the end, absurd counts and a huge varint are typed errors', { skip: skipGo }, async (t) => {
  const bins = await fixtureOrSkip(t, goTestBinaries());
  if (!bins) return;
  const base = new Uint8Array(readFileSync(join(bins, 'gotest-amd64')));
  const parse = (b: Uint8Array): Promise<GoBuildInfo> => readGoBuildInfo(readAtOf(b), b.length);
  await assert.rejects(parse(base.subarray(0, 40)), NotThisFormatError);
  await assert.rejects(parse(new TextEncoder().encode('#!/bin/sh\n'.repeat(10))), NotThisFormatError);
  const sec0 = (await readElf(readAtOf(base), base.length)).sections.find((s) => s.name === '.go.buildinfo')!;
  for (const n of [64, 4096, sec0.offset + 20]) await assert.rejects(parse(base.subarray(0, n)), HullscanError, `truncated to ${n}`);
  const pastEnd = base.slice();
  new DataView(pastEnd.buffer).setBigUint64(40, BigInt(base.length + 1), true);
  await assert.rejects(parse(pastEnd), CorruptError);
  const manySections = base.slice();
  new DataView(manySections.buffer).setUint16(60, 0xfff0, true);
  await assert.rejects(parse(manySections), CorruptError);
  // A 10-byte varint for the version length inside .go.buildinfo.
  const elf = await readElf(readAtOf(base), base.length);
  const sec = elf.sections.find((s) => s.name === '.go.buildinfo')!;
  const huge = base.slice();
  huge.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f], sec.offset + 32);
  await assert.rejects(parse(huge), HullscanError);
});

test('hostile ELF: seeded mutation fuzz over the headers, section table and build info of a real Go binary', { skip: skipGo }, async (t) => {
  const bins = await fixtureOrSkip(t, goTestBinaries());
  if (!bins) return;
  for (const goarch of ['amd64', 'mips'] as const) {
    const base = new Uint8Array(readFileSync(join(bins, `gotest-${goarch}`)));
    const elf = await readElf(readAtOf(base), base.length);
    const sec = elf.sections.find((s) => s.name === '.go.buildinfo')!;
    const shstr = elf.sections.find((s) => s.name === '.shstrtab')!;
    const shoffAt = elf.bits === 64 ? 40 : 32;
    const shoff = elf.bits === 64 ? Number(new DataView(base.buffer).getBigUint64(shoffAt, elf.littleEndian)) : new DataView(base.buffer).getUint32(shoffAt, elf.littleEndian);
    const out = await fuzz(base, async (b) => {
      const info = await readGoBuildInfo(readAtOf(b), b.length);
      parseModinfo(info.deps.map((d: GoModule) => `dep\t${d.path}\t${d.version}`).join('\n'));
    }, {
      cases: fuzzCases(400),
      seed: goarch === 'amd64' ? 4242 : 4343,
      regions: [[0, 0x200], [sec.offset, sec.offset + Math.min(sec.size, 4096)], [shoff, base.length], [shstr.offset, shstr.offset + shstr.size]],
      allowTruncate: true,
    });
    assert.equal(out.cases, fuzzCases(400));
    assert.ok(out.rejected > 0);
  }
});
