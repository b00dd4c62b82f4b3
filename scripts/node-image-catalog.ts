/**
 * Generates the node-image catalogue in data/node-images/ (docs/node-images.md) from the
 * project's real-data snapshot:
 *
 *   node scripts/node-image-catalog.ts <shared-data-dir> [--out DIR]
 *
 * <shared-data-dir> holds aks-node-images/ (AKS release-notes package lists, the 24-image Ubuntu
 * 22.04 catalogue, the approximate binary → source map) and azurelinux/ (the Azure Linux 3.0 OVAL,
 * whose package names are source RPM names). Deterministic: same input, same bytes.
 *
 * Source names are DERIVED (the AKS lists name binaries only), with the rules of
 * test/data/match/make-slices.py ported here and extended where that script's rules were
 * written for one image only (both kinds of extension are recorded per package in `sourceFrom`):
 * - Ubuntu: kernel rules, then overrides, then the approximate Debian-12 map, else the binary
 *   name. Extensions: an HWE kernel (a kernel series other than the release's own, e.g. 6.2 on
 *   22.04) takes the versioned source (`linux-azure-6.2`, `linux-signed-azure-6.2`), and every
 *   `linux-{image,headers,tools,cloud-tools}-azure[-lts-NN.NN]` meta package and the `linux-azure`
 *   meta package map to `linux-meta-azure[-X.Y]`. None of these changes 202408.05.0's list, which
 *   test/catalog/catalog.test.ts checks equal to test/data/match/aks-ubuntu2204-202408.05.0.packages.tsv.
 * - Azure Linux: the OVAL name rules of test/data/match/README.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync, zstdCompressSync, constants as zlibConstants } from 'node:zlib';

const REPO = join(import.meta.dirname, '..');
/** Version of the data file layout (read by src/catalog/load.ts). */
const CATALOG_SCHEMA = 1;
/** zstd's high levels: the data is written once and read often. */
const ZSTD_LEVEL = 19;
const COLUMNS = ['name', 'version', 'arch', 'sourceName', 'sourceVersion', 'sourceFrom'] as const;

type Row = [name: string, version: string, arch: string, sourceName: string, sourceVersion: string, sourceFrom: string];

interface ImageOut {
  version: string;
  builtAt: string;
  os: { family: 'ubuntu' | 'azurelinux'; id: string; versionId: string; codename?: string; prettyName?: string };
  osFrom: string;
  kernel?: string;
  kernelFrom?: string;
  archFrom: string;
  packages: Row[];
}

interface FamilyOut {
  family: string;
  provenance: string;
  images: ImageOut[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' } } });
const shared = positionals[0];
if (shared === undefined) {
  process.stderr.write('usage: node scripts/node-image-catalog.ts <shared-data-dir> [--out DIR]\n');
  process.exit(2);
}
const outDir = values.out ?? join(REPO, 'data', 'node-images');
const AKS = join(shared, 'aks-node-images');

/** "202408.05.0" → "2024-08-05": AKS node-image versions are named after their build date. */
function builtAtOf(version: string): string {
  const m = /^(\d{4})(\d{2})\.(\d{2})\.\d+$/.exec(version);
  if (!m) throw new Error(`not an AKS node-image version: ${version}`);
  return `${m[1]}-${m[2]}-${m[3]}`;
}

function readTsv(path: string): Record<string, string>[] {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
  const head = lines[0]!.split('\t');
  return lines.slice(1).map((l) => Object.fromEntries(l.split('\t').map((v, i) => [head[i]!, v])));
}

function osReleaseOf(notes: string): Record<string, string> {
  const m = /=== os-release Begin\n([\s\S]*?)=== os-release End/.exec(notes);
  if (!m) throw new Error('release notes: no os-release block');
  const out: Record<string, string> = {};
  for (const line of m[1]!.split('\n')) {
    const kv = /^([A-Z_]+)=(.*)$/.exec(line);
    if (kv) out[kv[1]!] = kv[2]!.replace(/^"(.*)"$/, '$1');
  }
  return out;
}

/** The kernel release of "Using kernel:\nLinux version 5.15.0-1041-azure (...)". */
function usingKernelOf(notes: string): string {
  const m = /Using kernel:\nLinux version (\S+)/.exec(notes);
  if (!m) throw new Error('release notes: no "Using kernel" line');
  return m[1]!;
}

// --- Ubuntu ---------------------------------------------------------------------------------

const approx = new Map<string, string>();
for (const r of readTsv(join(AKS, 'ubuntu-binary-to-source.approx-from-debian12.tsv'))) if (r['source_in_debian_bookworm']) approx.set(r['binary']!, r['source_in_debian_bookworm']!);

/** The kernel series each Ubuntu release ships as its own (GA) kernel; others are HWE kernels with versioned sources. */
const GA_KERNEL_SERIES: Record<string, string> = { '22.04': '5.15', '24.04': '6.8' };
/** Ubuntu source names that differ from Debian's (the approximate map is built from Debian 12): make-slices.py. */
const UBUNTU_OVERRIDES: Record<string, string> = { telnet: 'netkit-telnet', libssl3: 'openssl', openssl: 'openssl' };

function hweSuffix(series: string | undefined, release: string): string {
  return series === undefined || series === GA_KERNEL_SERIES[release] ? '' : `-${series}`;
}

/** [source name, how] for an Ubuntu binary (make-slices.py ubuntu_source, with the HWE and meta extensions). */
function ubuntuSource(name: string, version: string, release: string): [string, string] {
  let m = /^linux-image-(\d+\.\d+)\.\d+-\d+-azure$/.exec(name);
  if (m) {
    const hwe = hweSuffix(m[1], release);
    return [`linux-signed-azure${hwe}`, hwe ? 'kernel rule (HWE series)' : 'kernel rule'];
  }
  m = /^linux-(?:modules|modules-extra|headers|tools|cloud-tools)-(\d+\.\d+)\.\d+-\d+-azure$/.exec(name) ?? /^linux-azure-(?:headers|tools|cloud-tools)-(\d+\.\d+)\.\d+-\d/.exec(name);
  if (m) {
    const hwe = hweSuffix(m[1], release);
    return [`linux-azure${hwe}`, hwe ? 'kernel rule (HWE series)' : 'kernel rule'];
  }
  m = /^linux-azure-(\d+\.\d+)-(?:headers|tools|cloud-tools)-\d/.exec(name);
  if (m) return [`linux-azure${hweSuffix(m[1], release)}`, 'kernel rule (HWE series)'];
  if (/^linux-(image|headers|tools|cloud-tools)-azure-lts-\d\d\.\d\d$/.test(name)) return ['linux-meta-azure', 'kernel rule'];
  if (/^linux-(image|headers|tools|cloud-tools)-azure$/.test(name) || name === 'linux-azure') {
    // The meta packages' version is the kernel's ("6.2.0.1014.14~22.04.1"): an HWE series has its own meta source.
    const hwe = hweSuffix(/^(\d+\.\d+)\./.exec(version)?.[1], release);
    return [`linux-meta-azure${hwe}`, 'kernel rule (meta package)'];
  }
  if (name === 'linux-libc-dev' || name === 'linux-tools-common' || name === 'linux-cloud-tools-common') return ['linux', 'kernel rule'];
  const o = UBUNTU_OVERRIDES[name];
  if (o !== undefined) return [o, 'override'];
  const a = approx.get(name);
  if (a !== undefined) return [a, 'approx map'];
  return [name, 'unmapped (binary name)'];
}

/**
 * Ubuntu's point release by base-files version (base-files writes /etc/os-release). 4.4 → .3
 * and 4.7 → .5 are checked below against the release notes' os-release; 4.6 → .4 is base-files'
 * changelog ("Bump version to 22.04.4"), 13ubuntu10.4 → 24.04.4 from the 24.04 notes.
 */
const POINT_RELEASE_BY_BASE_FILES: Record<string, string> = { '12ubuntu4.4': '22.04.3', '12ubuntu4.6': '22.04.4', '12ubuntu4.7': '22.04.5', '13ubuntu10.4': '24.04.4' };
const CODENAME: Record<string, string> = { '22.04': 'jammy', '24.04': 'noble' };

/** name → arch from the release-notes TSVs of a release, newest list first (arch of a name does not change between images). */
function archLists(paths: string[]): Map<string, string>[] {
  return paths.map((p) => new Map(readTsv(p).map((r) => [r['name']!, r['arch']!])));
}

function ubuntuImage(release: string, version: string, pkgs: Record<string, string>, exactArch: Map<string, string> | undefined, otherArch: Map<string, string>[], notes: string | undefined): ImageOut {
  const rows: Row[] = [];
  for (const name of Object.keys(pkgs).sort()) {
    const v = pkgs[name]!;
    const [s, how] = ubuntuSource(name, v, release);
    const arch = exactArch?.get(name) ?? otherArch.map((m) => m.get(name)).find((a) => a !== undefined) ?? 'amd64';
    rows.push([name, v, arch, s, v, how]);
  }
  const images = Object.keys(pkgs).filter((n) => /^linux-image-\d.*-azure$/.test(n));
  if (images.length !== 1) throw new Error(`${version}: expected one kernel image package, got ${images.join(', ')}`);
  const kernel = images[0]!.slice('linux-image-'.length);
  const point = POINT_RELEASE_BY_BASE_FILES[pkgs['base-files'] ?? ''];
  let prettyName = point === undefined ? undefined : `Ubuntu ${point} LTS`;
  let osFrom = 'point release from the base-files version';
  if (notes !== undefined) {
    const osr = osReleaseOf(notes);
    if (prettyName !== undefined && osr['PRETTY_NAME'] !== prettyName) throw new Error(`${version}: base-files says ${prettyName}, the release notes ${osr['PRETTY_NAME']}`);
    prettyName = osr['PRETTY_NAME'];
    osFrom = 'release notes os-release';
    const using = usingKernelOf(notes);
    if (using !== kernel) throw new Error(`${version}: kernel package ${kernel}, release notes "Using kernel" ${using}`);
  }
  return {
    version,
    builtAt: builtAtOf(version),
    os: { family: 'ubuntu', id: 'ubuntu', versionId: release, codename: CODENAME[release]!, ...(prettyName !== undefined && { prettyName }) },
    osFrom,
    kernel,
    kernelFrom: notes !== undefined ? 'linux-image-<release> package, equal to the release notes\' "Using kernel"' : 'linux-image-<release> package',
    archFrom: exactArch !== undefined ? 'release notes' : 'the same name in the newest release-notes list of the release (amd64 when in none)',
    packages: rows,
  };
}

function ubuntu2204(): FamilyOut {
  const tsvs = ['202608.20.0', '202508.20.0', '202309.06.0'];
  const arch = new Map(tsvs.map((v) => [v, archLists([join(AKS, `ubuntu2204-gen2-containerd-${v}.packages.tsv`)])[0]!]));
  const others = tsvs.map((v) => arch.get(v)!);
  const images: ImageOut[] = [];
  for (const line of gunzipSync(readFileSync(join(AKS, 'catalog-ubuntu2204-gen2containerd.jsonl.gz'))).toString('utf8').split('\n')) {
    if (line === '') continue;
    const r = JSON.parse(line) as { image: string; version: string; packages: Record<string, string> };
    if (r.image !== 'AKSUbuntu-2204gen2containerd') throw new Error(`unexpected image ${r.image}`);
    const notes = tsvs.includes(r.version) ? readFileSync(join(AKS, `ubuntu2204-gen2-containerd-${r.version}.release-notes.txt`), 'utf8') : undefined;
    images.push(ubuntuImage('22.04', r.version, r.packages, arch.get(r.version), others, notes));
  }
  return {
    family: 'AKSUbuntu-2204gen2containerd',
    provenance: 'Azure/AgentBaker vhdbuilder/release-notes/AKSUbuntu/gen2/2204containerd/<version>.txt @ 06836ee2 (2026-08-21), 24 versions via the shared catalogue catalog-ubuntu2204-gen2containerd.jsonl.gz',
    images,
  };
}

function ubuntu2404(): FamilyOut {
  const v = '202608.20.0';
  const rows = readTsv(join(AKS, `ubuntu2404-gen2-containerd-${v}.packages.tsv`));
  const pkgs = Object.fromEntries(rows.map((r) => [r['name']!, r['version']!]));
  const arch = new Map(rows.map((r) => [r['name']!, r['arch']!]));
  const notes = readFileSync(join(AKS, `ubuntu2404-gen2-containerd-${v}.release-notes.txt`), 'utf8');
  return {
    family: 'AKSUbuntu-2404gen2containerd',
    provenance: 'Azure/AgentBaker vhdbuilder/release-notes/AKSUbuntu/gen2/2404containerd/202608.20.0.txt @ 768b94b0',
    images: [ubuntuImage('24.04', v, pkgs, arch, [], notes)],
  };
}

// --- Azure Linux ----------------------------------------------------------------------------

const ovalNames = new Set([...gunzipSync(readFileSync(join(shared, 'azurelinux', 'azurelinux-3.0-oval.xml.gz'))).toString('utf8').matchAll(/<linux-def:name>([^<]+)<\/linux-def:name>/g)].map((m) => m[1]!));

/** [source RPM name, how] for an Azure Linux binary: make-slices.py azl_source. */
function azlSource(name: string): [string, string] {
  if (ovalNames.has(name)) return [name, 'oval name'];
  if (name.startsWith('python3-')) {
    if (['python3-libs', 'python3-curses', 'python3-devel', 'python3-tools'].includes(name)) return ['python3', 'python3 subpackage'];
    const alt = `python-${name.slice('python3-'.length)}`;
    return ovalNames.has(alt) ? [alt, 'python-<module> oval name'] : [name, 'unmapped (binary name)'];
  }
  if (name.startsWith('mariadb-connector-c')) return ['mariadb-connector-c', 'own SRPM'];
  const parts = name.split('-');
  for (let i = parts.length - 1; i > 0; i--) {
    const stem = parts.slice(0, i).join('-');
    if (ovalNames.has(stem)) return [stem, 'prefix of an oval name'];
  }
  return [name, 'unmapped (binary name)'];
}

function azureLinux3(): FamilyOut {
  const images: ImageOut[] = [];
  for (const v of ['202502.26.0', '202608.20.0']) {
    const rows: Row[] = [];
    // gpg-pubkey: rpm's pseudo-package for an imported signing key, not a package (the rpm analyzer skips it too).
    for (const r of readTsv(join(AKS, `azurelinux3-gen2-${v}.packages.tsv`)).filter((x) => x['name'] !== 'gpg-pubkey')) {
      const vr = `${r['version']}-${r['release']}`;
      const [s, how] = azlSource(r['name']!);
      rows.push([r['name']!, vr, r['arch']!, s, vr, how]);
    }
    rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1));
    const notes = readFileSync(join(AKS, `azurelinux3-gen2-${v}.release-notes.txt`), 'utf8');
    const osr = osReleaseOf(notes);
    const kernel = usingKernelOf(notes);
    if (!rows.some((r) => r[0] === 'kernel' && r[1] === kernel)) throw new Error(`${v}: no kernel package ${kernel}`);
    images.push({
      version: v,
      builtAt: builtAtOf(v),
      os: { family: 'azurelinux', id: osr['ID']!, versionId: osr['VERSION_ID']!, prettyName: osr['PRETTY_NAME']! },
      osFrom: `release notes os-release (VERSION ${osr['VERSION']})`,
      kernel,
      kernelFrom: 'release notes "Using kernel"',
      archFrom: 'release notes',
      packages: rows,
    });
  }
  return {
    family: 'AKSAzureLinuxV3-gen2',
    provenance: 'Azure/AgentBaker vhdbuilder/release-notes/AKSAzureLinuxV3/gen2/<version>.txt (202502.26.0 @ 9385977b, 202608.20.0 @ 768b94b0)',
    images,
  };
}

// --- write ----------------------------------------------------------------------------------

mkdirSync(outDir, { recursive: true });
for (const f of [ubuntu2204(), ubuntu2404(), azureLinux3()]) {
  const header = { schema: CATALOG_SCHEMA, family: f.family, columns: COLUMNS, provenance: f.provenance, generatedBy: 'scripts/node-image-catalog.ts' };
  const lines = [JSON.stringify(header), ...f.images.map((i) => JSON.stringify(i))];
  // zstd, not gzip: consecutive images repeat ~700 packages each, and only zstd's window (8 MiB at
  // level 19) reaches back to the previous image; gzip's 32 KiB does not (235 KB against 20 KB).
  const gz = zstdCompressSync(`${lines.join('\n')}\n`, { params: { [zlibConstants.ZSTD_c_compressionLevel]: ZSTD_LEVEL } });
  const path = join(outDir, `${f.family}.jsonl.zst`);
  writeFileSync(path, gz);
  const how = new Map<string, number>();
  for (const i of f.images) for (const p of i.packages) how.set(p[5], (how.get(p[5]) ?? 0) + 1);
  process.stderr.write(`${path}: ${f.images.length} images, ${gz.length} bytes; sources: ${[...how].map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
}
