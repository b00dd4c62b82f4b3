/**
 * Source package names of catalogue images, and the image records written to the data files.
 * The AKS lists name binaries only, so source names are DERIVED, with the rules of
 * test/data/match/make-slices.py ported here and extended where that script's rules were written
 * for one image only (each package records how in `sourceFrom`; docs/node-images.md):
 * - Ubuntu: kernel rules, then overrides, then the approximate Debian-12 map, else the binary
 *   name. Extensions: an HWE kernel (a kernel series other than the release's own, e.g. 6.2 on
 *   22.04) takes the versioned source (`linux-azure-6.2`, `linux-signed-azure-6.2`), and every
 *   `linux-{image,headers,tools,cloud-tools}-azure[-lts-NN.NN]` meta package and the `linux-azure`
 *   meta package map to `linux-meta-azure[-X.Y]`.
 * - Azure Linux: the OVAL name rules of test/data/match/README.md.
 * The two lookup tables (the approximate map and the OVAL's package names) are reference data in
 * data/node-images/source-names.json, written by scripts/node-image-catalog.ts.
 * Used by the script (the shipped catalogue) and by the refresh (src/catalog/refresh.ts) alike.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptError } from '../util/errors.ts';
import { MiB } from '../util/units.ts';
import { builtAtOf, osReleaseOf, usingKernelOf, type NotesPackage, type ReleaseNotes } from './release-notes.ts';

export const DEFAULT_SOURCE_NAMES_PATH = join(import.meta.dirname, '..', '..', 'data', 'node-images', 'source-names.json');
/** Largest source-names file read (today ~25 KiB). */
export const MAX_SOURCE_NAMES_BYTES = 4 * MiB;
const SOURCE_NAMES_SCHEMA = 1;

/** A package row of a data file: the columns of src/catalog/load.ts. */
export type Row = [name: string, version: string, arch: string, sourceName: string, sourceVersion: string, sourceFrom: string];

/** One image as written to a data file (load.ts reads the fields it knows; the `*From` fields are provenance). */
export interface ImageRecord {
  version: string;
  builtAt: string;
  os: { family: 'ubuntu' | 'azurelinux'; id: string; versionId: string; codename?: string; prettyName?: string };
  osFrom: string;
  kernel?: string;
  kernelFrom?: string;
  archFrom: string;
  /** Where the release notes were fetched from (refreshed images only; scheme://host/path). */
  releaseNotes?: string;
  packages: Row[];
}

export interface SourceNameRules {
  /** Ubuntu binary → source, from Debian 12 metadata (approximate). */
  ubuntuApprox: ReadonlyMap<string, string>;
  /** Package names of the Azure Linux 3.0 OVAL (source RPM names). */
  azurelinuxOvalNames: ReadonlySet<string>;
}

/** The layout of data/node-images/source-names.json. */
export interface SourceNamesFile {
  schema: number;
  provenance: { ubuntuApprox: string; azurelinuxOvalNames: string };
  ubuntuApprox: Record<string, string>;
  azurelinuxOvalNames: string[];
}

export function sourceNamesFile(rules: SourceNameRules, provenance: SourceNamesFile['provenance']): SourceNamesFile {
  return {
    schema: SOURCE_NAMES_SCHEMA,
    provenance,
    ubuntuApprox: Object.fromEntries([...rules.ubuntuApprox].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    azurelinuxOvalNames: [...rules.azurelinuxOvalNames].sort(),
  };
}

/** Reads data/node-images/source-names.json (or `path`), checked at the boundary. */
export function loadSourceNameRules(path: string = DEFAULT_SOURCE_NAMES_PATH): SourceNameRules {
  const buf = readFileSync(path);
  if (buf.length > MAX_SOURCE_NAMES_BYTES) throw new CorruptError(`source names: larger than ${MAX_SOURCE_NAMES_BYTES} bytes`, { location: path });
  let doc: unknown;
  try {
    doc = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new CorruptError('source names: not JSON', { cause: err, location: path });
  }
  const o = doc as Partial<SourceNamesFile> | null;
  const approx = o?.ubuntuApprox;
  const oval = o?.azurelinuxOvalNames;
  if (o?.schema !== SOURCE_NAMES_SCHEMA || typeof approx !== 'object' || approx === null || !Array.isArray(oval)) {
    throw new CorruptError(`source names: expected schema ${SOURCE_NAMES_SCHEMA} with ubuntuApprox and azurelinuxOvalNames`, { location: path });
  }
  if (!Object.values(approx).every((v) => typeof v === 'string') || !oval.every((v) => typeof v === 'string')) throw new CorruptError('source names: names must be strings', { location: path });
  return { ubuntuApprox: new Map(Object.entries(approx)), azurelinuxOvalNames: new Set(oval) };
}

// --- Ubuntu ---------------------------------------------------------------------------------

/** The kernel series each Ubuntu release ships as its own (GA) kernel; others are HWE kernels with versioned sources. */
const GA_KERNEL_SERIES: Record<string, string> = { '22.04': '5.15', '24.04': '6.8' };
/** Ubuntu source names that differ from Debian's (the approximate map is built from Debian 12): make-slices.py. */
const UBUNTU_OVERRIDES: Record<string, string> = { telnet: 'netkit-telnet', libssl3: 'openssl', openssl: 'openssl' };
export const UBUNTU_CODENAME: Record<string, string> = { '22.04': 'jammy', '24.04': 'noble' };
/**
 * Ubuntu's point release by base-files version (base-files writes /etc/os-release). 4.4 → .3
 * and 4.7 → .5 are checked against the release notes' os-release; 4.6 → .4 is base-files'
 * changelog ("Bump version to 22.04.4"), 13ubuntu10.4 → 24.04.4 from the 24.04 notes.
 */
const POINT_RELEASE_BY_BASE_FILES: Record<string, string> = { '12ubuntu4.4': '22.04.3', '12ubuntu4.6': '22.04.4', '12ubuntu4.7': '22.04.5', '13ubuntu10.4': '24.04.4' };

function hweSuffix(series: string | undefined, release: string): string {
  return series === undefined || series === GA_KERNEL_SERIES[release] ? '' : `-${series}`;
}

/** [source name, how] for an Ubuntu binary (make-slices.py ubuntu_source, with the HWE and meta extensions). */
export function ubuntuSource(rules: SourceNameRules, name: string, version: string, release: string): [string, string] {
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
  const a = rules.ubuntuApprox.get(name);
  if (a !== undefined) return [a, 'approx map'];
  return [name, 'unmapped (binary name)'];
}

export interface UbuntuImageInput {
  release: string;
  version: string;
  /** Binary name → version. */
  packages: Record<string, string>;
  /** name → arch from this image's own list, when known. */
  exactArch?: ReadonlyMap<string, string>;
  /** name → arch of other lists of the release, newest first (an image without its own arch column). */
  otherArch?: readonly ReadonlyMap<string, string>[];
  /** The image's release notes, when at hand: os-release and "Using kernel" are taken and checked. */
  notes?: string;
}

/** An Ubuntu image record. Throws CorruptError when the list and the notes disagree or the kernel is not one package. */
export function ubuntuImage(rules: SourceNameRules, input: UbuntuImageInput): ImageRecord {
  const { release, version, packages: pkgs, exactArch, otherArch = [], notes } = input;
  const rows: Row[] = [];
  for (const name of Object.keys(pkgs).sort()) {
    const v = pkgs[name]!;
    const [s, how] = ubuntuSource(rules, name, v, release);
    const arch = exactArch?.get(name) ?? otherArch.map((m) => m.get(name)).find((a) => a !== undefined) ?? 'amd64';
    rows.push([name, v, arch, s, v, how]);
  }
  const images = Object.keys(pkgs).filter((n) => /^linux-image-\d.*-azure$/.test(n));
  if (images.length !== 1) throw new CorruptError(`${version}: expected one kernel image package, got ${images.join(', ').slice(0, 200) || 'none'}`);
  const kernel = images[0]!.slice('linux-image-'.length);
  const point = POINT_RELEASE_BY_BASE_FILES[pkgs['base-files'] ?? ''];
  let prettyName = point === undefined ? undefined : `Ubuntu ${point} LTS`;
  let osFrom = 'point release from the base-files version';
  if (notes !== undefined) {
    const osr = osReleaseOf(notes);
    if (prettyName !== undefined && osr['PRETTY_NAME'] !== prettyName) throw new CorruptError(`${version}: base-files says ${prettyName}, the release notes ${osr['PRETTY_NAME']?.slice(0, 80)}`);
    if (osr['VERSION_ID'] !== undefined && osr['VERSION_ID'] !== release) throw new CorruptError(`${version}: the release notes are of Ubuntu ${osr['VERSION_ID'].slice(0, 20)}, not ${release}`);
    prettyName = osr['PRETTY_NAME'];
    osFrom = 'release notes os-release';
    const using = usingKernelOf(notes);
    if (using !== kernel) throw new CorruptError(`${version}: kernel package ${kernel}, release notes "Using kernel" ${using.slice(0, 80)}`);
  }
  const codename = UBUNTU_CODENAME[release];
  if (codename === undefined) throw new CorruptError(`Ubuntu ${release} is not a known release`);
  return {
    version,
    builtAt: builtAtOf(version),
    os: { family: 'ubuntu', id: 'ubuntu', versionId: release, codename, ...(prettyName !== undefined && { prettyName }) },
    osFrom,
    kernel,
    kernelFrom: notes !== undefined ? 'linux-image-<release> package, equal to the release notes\' "Using kernel"' : 'linux-image-<release> package',
    archFrom: exactArch !== undefined ? 'release notes' : 'the same name in the newest release-notes list of the release (amd64 when in none)',
    packages: rows,
  };
}

// --- Azure Linux ----------------------------------------------------------------------------

/** [source RPM name, how] for an Azure Linux binary: make-slices.py azl_source. */
export function azlSource(rules: SourceNameRules, name: string): [string, string] {
  const oval = rules.azurelinuxOvalNames;
  if (oval.has(name)) return [name, 'oval name'];
  if (name.startsWith('python3-')) {
    if (['python3-libs', 'python3-curses', 'python3-devel', 'python3-tools'].includes(name)) return ['python3', 'python3 subpackage'];
    const alt = `python-${name.slice('python3-'.length)}`;
    return oval.has(alt) ? [alt, 'python-<module> oval name'] : [name, 'unmapped (binary name)'];
  }
  if (name.startsWith('mariadb-connector-c')) return ['mariadb-connector-c', 'own SRPM'];
  const parts = name.split('-');
  for (let i = parts.length - 1; i > 0; i--) {
    const stem = parts.slice(0, i).join('-');
    if (oval.has(stem)) return [stem, 'prefix of an oval name'];
  }
  return [name, 'unmapped (binary name)'];
}

/** An Azure Linux image record from its rpm list (version = version-release) and release notes. */
export function azureLinuxImage(rules: SourceNameRules, version: string, packages: readonly NotesPackage[], notes: string): ImageRecord {
  const rows: Row[] = [];
  // gpg-pubkey: rpm's pseudo-package for an imported signing key, not a package (the rpm analyzer skips it too).
  for (const p of packages.filter((x) => x.name !== 'gpg-pubkey')) {
    const [s, how] = azlSource(rules, p.name);
    rows.push([p.name, p.version, p.arch, s, p.version, how]);
  }
  rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1));
  const osr = osReleaseOf(notes);
  const kernel = usingKernelOf(notes);
  if (!rows.some((r) => r[0] === 'kernel' && r[1] === kernel)) throw new CorruptError(`${version}: no kernel package ${kernel.slice(0, 80)}`);
  const [id, versionId, prettyName] = [osr['ID'], osr['VERSION_ID'], osr['PRETTY_NAME']];
  if (!id || !versionId || !prettyName) throw new CorruptError(`${version}: os-release lacks ID, VERSION_ID or PRETTY_NAME`);
  return {
    version,
    builtAt: builtAtOf(version),
    os: { family: 'azurelinux', id, versionId, prettyName },
    osFrom: `release notes os-release (VERSION ${osr['VERSION']})`,
    kernel,
    kernelFrom: 'release notes "Using kernel"',
    archFrom: 'release notes',
    packages: rows,
  };
}

/** The image record of a parsed release-notes file of an Ubuntu release or of Azure Linux. */
export function imageFromNotes(rules: SourceNameRules, os: { family: 'ubuntu'; release: string } | { family: 'azurelinux' }, version: string, parsed: ReleaseNotes, notes: string): ImageRecord {
  if (os.family === 'azurelinux') {
    if (parsed.kind !== 'rpm') throw new CorruptError(`${version}: an Azure Linux image lists apt packages`);
    return azureLinuxImage(rules, version, parsed.packages, notes);
  }
  if (parsed.kind !== 'apt') throw new CorruptError(`${version}: an Ubuntu image lists rpm packages`);
  const packages: Record<string, string> = {};
  const arch = new Map<string, string>();
  for (const p of parsed.packages) {
    packages[p.name] = p.version;
    arch.set(p.name, p.arch);
  }
  return ubuntuImage(rules, { release: os.release, version, packages, exactArch: arch, notes });
}
