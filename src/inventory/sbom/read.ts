/**
 * `readSbom(bytes)`: a stored inventory back into an {@link Inventory}, for `hullscan scan --sbom`
 * (re-match without rescanning). Accepts, detected by content:
 * - our JSON inventory (`JSON.stringify(inventory)`, docs/inventory.md), restored field by field;
 * - our CycloneDX (written by cyclonedx.ts), restored from the `hullscan:*` properties, purls and
 *   `evidence.occurrences`, so everything the matcher uses survives;
 * - a third-party CycloneDX 1.4–1.6 JSON BOM with purls (Trivy, Syft, cdxgen): deb/rpm/apk/golang
 *   purls become packages, the `operating-system` component or the purl `distro=` qualifier the
 *   OS, Trivy's `aquasecurity:trivy:Src*` properties or the purl `upstream=` qualifier the source
 *   package. What such a BOM cannot tell (kernel boot default, source versions) is reported as a
 *   coverage issue, and components we do not inventory are counted in one, never dropped silently.
 *
 * Everything is validated at the boundary (validate.ts): wrong types, oversized arrays, bad purls
 * and unknown enum values raise {@link SbomError} located at the JSON path; SPDX input and other
 * CycloneDX versions raise UnsupportedError; anything else NotThisFormatError.
 */
import { NotThisFormatError, UnsupportedError } from '../../util/errors.ts';
import type { Issue } from '../../util/issues.ts';
import { VERSION_SCHEME_IDS, type VersionSchemeId } from '../../version/index.ts';
import {
  INVENTORY_SCHEMA_VERSION,
  OS_FAMILIES,
  PACKAGE_TYPES,
  packageId,
  type Evidence,
  type FileDigest,
  type Inventory,
  type KernelImage,
  type KernelInfo,
  type NodeIdentity,
  type OsFamily,
  type OsInfo,
  type Package,
  type PackageType,
} from '../index.ts';
import { NODE_FIELDS, PROP } from './common.ts';
import { packageFromPurl, parsePurl, PurlError, type PurlPackageFacts } from './purl.ts';
import { arr, bool, dateTime, fail, int, isObject, nonEmpty, obj, oneOf, optArr, optInt, optStr, SbomError, str, type Json, type JsonObject } from './validate.ts';

export { SbomError } from './validate.ts';

/** Largest SBOM or inventory file we parse (an Ubuntu node with file digests is ~20 MiB). */
export const MAX_SBOM_BYTES = 256 * 1024 * 1024;
/** Most packages / components in one document (an AKS node has ~750 packages). */
export const MAX_PACKAGES = 200_000;
/** Most evidence records per package. */
export const MAX_EVIDENCE_PER_PACKAGE = 256;
/** Most file digests per package (linux-modules-* owns ~6,000 files). */
export const MAX_FILES_PER_PACKAGE = 200_000;
/** Most file digests in one inventory. */
export const MAX_FILE_DIGESTS_TOTAL = 5_000_000;
/** Most issues in one inventory. */
export const MAX_ISSUES = 100_000;
/** Most properties on one component or on the metadata. */
export const MAX_PROPERTIES = 200_000;
/** Most kernels installed side by side. */
export const MAX_KERNELS = 1_024;
/** Deepest nesting of `components[].components[]` we follow. */
export const MAX_COMPONENT_DEPTH = 16;
/** Most analyzers in `analyzers`. */
export const MAX_ANALYZERS = 1_024;
/** Largest rpm epoch (rpm stores it as int32). */
const MAX_EPOCH = 2 ** 31 - 1;
/** Largest line number we accept in evidence. */
const MAX_LINE = 2 ** 31 - 1;

export const CYCLONEDX_READ_VERSIONS = ['1.4', '1.5', '1.6'] as const;

export interface ReadSbomOptions {
  /** Shown as the target when the document names none (e.g. the SBOM's file name). */
  sourceName?: string;
}

/** Reads a stored inventory (JSON) or a CycloneDX JSON BOM into an Inventory. */
export function readSbom(bytes: Uint8Array | string, options: ReadSbomOptions = {}): Inventory {
  const size = typeof bytes === 'string' ? bytes.length : bytes.byteLength;
  if (size > MAX_SBOM_BYTES) throw new SbomError(`SBOM is ${size} bytes, over the limit of ${MAX_SBOM_BYTES}`);
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new SbomError('SBOM is not UTF-8 text', { cause: err });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new NotThisFormatError(`not a JSON SBOM or inventory: ${(err as Error).message}`, { cause: err });
  }
  if (!isObject(doc)) throw new NotThisFormatError(`not an SBOM: the JSON document is ${Array.isArray(doc) ? 'an array' : typeof doc}, not an object`);
  if (doc.bomFormat === 'CycloneDX') return readCycloneDx(doc, options);
  if (typeof doc.spdxVersion === 'string') throw new UnsupportedError(`SPDX input (${doc.spdxVersion.slice(0, 20)}) is not read back: SPDX is an export; use a CycloneDX SBOM or the JSON inventory (hullscan sbom --format cyclonedx|json)`);
  if ('schemaVersion' in doc && 'packages' in doc) return readInventoryJson(doc);
  throw new NotThisFormatError('not a CycloneDX SBOM (no bomFormat "CycloneDX") nor a hullscan JSON inventory (no schemaVersion/packages)');
}

// ---------------------------------------------------------------------------------------------
// Shared record validators (the JSON inventory form and the JSON values in hullscan:* properties)

function setIf<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v !== undefined) o[k] = v;
}

function readEvidence(v: Json, path: string): Evidence {
  const o = obj(v, path);
  const e: Evidence = { path: str(o.path, `${path}.path`) };
  setIf(e, 'line', optInt(o.line, `${path}.line`, 0, MAX_LINE));
  setIf(e, 'record', optStr(o.record, `${path}.record`));
  setIf(e, 'note', optStr(o.note, `${path}.note`));
  return e;
}

function readEvidenceList(v: Json | undefined, path: string): Evidence[] {
  return arr(v, path, MAX_EVIDENCE_PER_PACKAGE).map((e, i) => readEvidence(e, `${path}[${i}]`));
}

const ISSUE_SEVERITIES = ['error', 'warning', 'info'] as const;

function readIssue(v: Json, path: string): Issue {
  const o = obj(v, path);
  const issue: Issue = { severity: oneOf(o.severity, `${path}.severity`, ISSUE_SEVERITIES), code: nonEmpty(o.code, `${path}.code`, 256), message: str(o.message, `${path}.message`) };
  setIf(issue, 'location', optStr(o.location, `${path}.location`));
  return issue;
}

function readKernelImage(v: Json, path: string): KernelImage {
  const o = obj(v, path);
  const k: KernelImage = { release: nonEmpty(o.release, `${path}.release`, 256), hasModules: bool(o.hasModules, `${path}.hasModules`), evidence: readEvidenceList(o.evidence, `${path}.evidence`) };
  setIf(k, 'imagePath', optStr(o.imagePath, `${path}.imagePath`));
  setIf(k, 'packageName', optStr(o.packageName, `${path}.packageName`));
  return k;
}

function readIssues(v: Json | undefined, path: string): Issue[] {
  return arr(v, path, MAX_ISSUES).map((x, i) => readIssue(x, `${path}[${i}]`));
}

function readKernelImages(v: Json | undefined, path: string): KernelImage[] {
  return arr(v, path, MAX_KERNELS).map((x, i) => readKernelImage(x, `${path}[${i}]`));
}

function readNode(v: Json, path: string): NodeIdentity {
  const o = obj(v, path);
  const n: NodeIdentity = {};
  for (const f of NODE_FIELDS) setIf(n, f, optStr(o[f], `${path}.${f}`, 1024));
  if (o.nodeImage !== undefined) {
    const img = obj(o.nodeImage, `${path}.nodeImage`);
    n.nodeImage = { name: str(img.name, `${path}.nodeImage.name`, 1024), version: str(img.version, `${path}.nodeImage.version`, 1024) };
  }
  return n;
}

function readOs(v: Json, path: string): OsInfo {
  const o = obj(v, path);
  const os: OsInfo = { family: oneOf(o.family, `${path}.family`, OS_FAMILIES), id: str(o.id, `${path}.id`, 256), versionId: str(o.versionId, `${path}.versionId`, 256), evidence: readEvidenceList(o.evidence, `${path}.evidence`) };
  setIf(os, 'codename', optStr(o.codename, `${path}.codename`, 256));
  setIf(os, 'prettyName', optStr(o.prettyName, `${path}.prettyName`, 1024));
  if (o.idLike !== undefined) os.idLike = arr(o.idLike, `${path}.idLike`, 64).map((w, i) => str(w, `${path}.idLike[${i}]`, 256));
  setIf(os, 'cpe', optStr(o.cpe, `${path}.cpe`, 1024));
  return os;
}

const DIGEST_ALGORITHMS = ['md5', 'sha1', 'sha256', 'sha384', 'sha512', 'sha224'] as const;

function readFiles(v: Json, path: string, budget: { files: number }): FileDigest[] {
  const list = arr(v, path, MAX_FILES_PER_PACKAGE);
  budget.files += list.length;
  if (budget.files > MAX_FILE_DIGESTS_TOTAL) fail(path, `more than ${MAX_FILE_DIGESTS_TOTAL} file digests in the inventory`);
  return list.map((f, i) => {
    const o = obj(f, `${path}[${i}]`);
    const digest = str(o.digest, `${path}[${i}].digest`, 128);
    if (!/^[0-9a-f]*$/.test(digest)) fail(`${path}[${i}].digest`, 'must be lowercase hex');
    return { path: str(o.path, `${path}[${i}].path`), algorithm: oneOf(o.algorithm, `${path}[${i}].algorithm`, DIGEST_ALGORITHMS), digest };
  });
}

function readPackage(v: Json, path: string, budget: { files: number }): Package {
  const o = obj(v, path);
  const p: Package = {
    type: oneOf(o.type, `${path}.type`, PACKAGE_TYPES),
    name: nonEmpty(o.name, `${path}.name`, 4096),
    version: str(o.version, `${path}.version`, 1024),
    versionScheme: oneOf(o.versionScheme, `${path}.versionScheme`, VERSION_SCHEME_IDS),
    foundBy: nonEmpty(o.foundBy, `${path}.foundBy`, 256),
    evidence: readEvidenceList(o.evidence, `${path}.evidence`),
    id: nonEmpty(o.id, `${path}.id`),
  };
  setIf(p, 'epoch', optInt(o.epoch, `${path}.epoch`, 0, MAX_EPOCH));
  setIf(p, 'arch', optStr(o.arch, `${path}.arch`, 256));
  if (o.source !== undefined) {
    const s = obj(o.source, `${path}.source`);
    p.source = { name: nonEmpty(s.name, `${path}.source.name`, 4096), version: str(s.version, `${path}.source.version`, 1024) };
  }
  setIf(p, 'vendor', optStr(o.vendor, `${path}.vendor`, 1024));
  setIf(p, 'multiArch', optStr(o.multiArch, `${path}.multiArch`, 256));
  setIf(p, 'license', optStr(o.license, `${path}.license`));
  if (o.files !== undefined) p.files = readFiles(o.files, `${path}.files`, budget);
  setIf(p, 'binaryPath', optStr(o.binaryPath, `${path}.binaryPath`));
  // Key order as the analyzers build it does not matter: deepEqual and the matcher read by name.
  return p;
}

function readReleases(v: Json, path: string): string[] {
  return arr(v, path, MAX_KERNELS).map((r, i) => nonEmpty(r, `${path}[${i}]`, 256));
}

function readKernel(v: Json, path: string): KernelInfo {
  const o = obj(v, path);
  const k: KernelInfo = { installed: readKernelImages(o.installed, `${path}.installed`) };
  setIf(k, 'bootDefault', optStr(o.bootDefault, `${path}.bootDefault`, 256));
  setIf(k, 'bootDefaultMethod', optStr(o.bootDefaultMethod, `${path}.bootDefaultMethod`, 256));
  if (o.newerThanBootDefault !== undefined) k.newerThanBootDefault = readReleases(o.newerThanBootDefault, `${path}.newerThanBootDefault`);
  setIf(k, 'running', optStr(o.running, `${path}.running`, 256));
  return k;
}

/** Validates a parsed JSON inventory (docs/inventory.md) into an Inventory. */
export function readInventoryJson(doc: JsonObject): Inventory {
  if (doc.schemaVersion !== INVENTORY_SCHEMA_VERSION) {
    throw new UnsupportedError(`inventory schemaVersion ${JSON.stringify(doc.schemaVersion)?.slice(0, 20)} is not supported (this hullscan reads ${INVENTORY_SCHEMA_VERSION})`, { location: 'schemaVersion' });
  }
  const budget = { files: 0 };
  const analyzersObj = obj(doc.analyzers, 'analyzers');
  const analyzerIds = Object.keys(analyzersObj);
  if (analyzerIds.length > MAX_ANALYZERS) fail('analyzers', `${analyzerIds.length} analyzers is over the limit of ${MAX_ANALYZERS}`);
  const analyzers: Record<string, number> = {};
  for (const id of analyzerIds) analyzers[id] = int(analyzersObj[id], `analyzers.${id}`, 0, Number.MAX_SAFE_INTEGER);
  const inv: Inventory = {
    schemaVersion: INVENTORY_SCHEMA_VERSION,
    target: str(doc.target, 'target'),
    scannedAt: dateTime(doc.scannedAt, 'scannedAt'),
    packages: arr(doc.packages, 'packages', MAX_PACKAGES).map((p, i) => readPackage(p, `packages[${i}]`, budget)),
    analyzers,
    issues: readIssues(doc.issues, 'issues'),
  };
  if (doc.node !== undefined) inv.node = readNode(doc.node, 'node');
  if (doc.os !== undefined) inv.os = readOs(doc.os, 'os');
  if (doc.kernel !== undefined) inv.kernel = readKernel(doc.kernel, 'kernel');
  return inv;
}

// ---------------------------------------------------------------------------------------------
// CycloneDX

interface CdxProperty {
  name: string;
  value: string;
}

interface CdxComponent {
  path: string;
  type: string;
  name: string;
  version?: string;
  purl?: string;
  bomRef?: string;
  supplierName?: string;
  license?: string;
  properties: CdxProperty[];
  occurrences: Evidence[];
}

function readProperties(v: Json | undefined, path: string): CdxProperty[] {
  return optArr(v, path, MAX_PROPERTIES).map((x, i) => {
    const o = obj(x, `${path}[${i}]`);
    // CycloneDX makes `value` optional; a property without one says nothing.
    return { name: str(o.name, `${path}[${i}].name`, 1024), value: optStr(o.value, `${path}[${i}].value`) ?? '' };
  });
}

function first(props: CdxProperty[], name: string): string | undefined {
  for (const p of props) if (p.name === name) return p.value;
  return undefined;
}

function readLicense(v: Json | undefined, path: string): string | undefined {
  const list = optArr(v, path, 1024);
  if (list.length === 0) return undefined;
  const l0 = obj(list[0], `${path}[0]`);
  if (l0.expression !== undefined) return str(l0.expression, `${path}[0].expression`);
  const lic = obj(l0.license, `${path}[0].license`);
  return optStr(lic.id, `${path}[0].license.id`, 1024) ?? optStr(lic.name, `${path}[0].license.name`);
}

function readComponent(v: Json, path: string): { c: CdxComponent; children: Json[] } {
  const o = obj(v, path);
  const c: CdxComponent = { path, type: str(o.type, `${path}.type`, 64), name: str(o.name, `${path}.name`, 4096), properties: readProperties(o.properties, `${path}.properties`), occurrences: [] };
  setIf(c, 'version', optStr(o.version, `${path}.version`, 1024));
  setIf(c, 'purl', optStr(o.purl, `${path}.purl`));
  setIf(c, 'bomRef', optStr(o['bom-ref'], `${path}.bom-ref`));
  if (o.supplier !== undefined) setIf(c, 'supplierName', optStr(obj(o.supplier, `${path}.supplier`).name, `${path}.supplier.name`, 1024));
  setIf(c, 'license', readLicense(o.licenses, `${path}.licenses`));
  if (o.evidence !== undefined) {
    const ev = obj(o.evidence, `${path}.evidence`);
    c.occurrences = optArr(ev.occurrences, `${path}.evidence.occurrences`, MAX_EVIDENCE_PER_PACKAGE).map((x, i) => {
      const occ = obj(x, `${path}.evidence.occurrences[${i}]`);
      const e: Evidence = { path: nonEmpty(occ.location, `${path}.evidence.occurrences[${i}].location`) };
      setIf(e, 'line', optInt(occ.line, `${path}.evidence.occurrences[${i}].line`, 0, MAX_LINE));
      return e;
    });
  }
  // Syft (before CycloneDX occurrences) writes locations as syft:location:<i>:path properties.
  if (c.occurrences.length === 0) {
    for (const p of c.properties) if (/^syft:location:\d+:path$/.test(p.name) && p.value !== '') c.occurrences.push({ path: p.value });
    if (c.occurrences.length > MAX_EVIDENCE_PER_PACKAGE) fail(`${path}.properties`, `more than ${MAX_EVIDENCE_PER_PACKAGE} locations`);
  }
  return { c, children: optArr(o.components, `${path}.components`, MAX_PACKAGES) };
}

/** All components, nested ones included, depth and count bounded; iterative so depth cannot overflow the stack. */
function flattenComponents(top: Json[], path: string): CdxComponent[] {
  const out: CdxComponent[] = [];
  const stack: { v: Json; path: string; depth: number }[] = top.map((v, i) => ({ v, path: `${path}[${i}]`, depth: 1 })).reverse();
  while (stack.length > 0) {
    const { v, path: p, depth } = stack.pop()!;
    if (depth > MAX_COMPONENT_DEPTH) fail(p, `components nested deeper than ${MAX_COMPONENT_DEPTH}`);
    const { c, children } = readComponent(v, p);
    out.push(c);
    if (out.length + stack.length + children.length > MAX_PACKAGES) fail(p, `more than ${MAX_PACKAGES} components`);
    for (let i = children.length - 1; i >= 0; i--) stack.push({ v: children[i]!, path: `${p}.components[${i}]`, depth: depth + 1 });
  }
  return out;
}

/** Evidence of our own components: occurrences plus the hullscan:evidence:<i>:record/note properties. */
function ourEvidence(c: CdxComponent): Evidence[] {
  return c.occurrences.map((e, i) => {
    const out: Evidence = { ...e };
    setIf(out, 'record', first(c.properties, `${PROP.evidencePrefix}${i}:record`));
    setIf(out, 'note', first(c.properties, `${PROP.evidencePrefix}${i}:note`));
    return out;
  });
}

function parseComponentPurl(c: CdxComponent): PurlPackageFacts | undefined {
  if (c.purl === undefined) return undefined;
  try {
    return packageFromPurl(parsePurl(c.purl));
  } catch (err) {
    if (err instanceof PurlError) throw new SbomError(`${c.path}.purl: ${err.message}`, { location: `${c.path}.purl`, cause: err });
    throw err;
  }
}

function intProp(c: CdxComponent, name: string, max: number): number | undefined {
  const v = first(c.properties, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,16}$/.test(v) || Number(v) > max) fail(`${c.path}.properties[${name}]`, `'${v.slice(0, 20)}' is not an integer 0..${max}`);
  return Number(v);
}

function ourPackage(c: CdxComponent): Package {
  const where = `${c.path}.properties`;
  const typeProp = first(c.properties, PROP.pkgType);
  const schemeProp = first(c.properties, PROP.pkgVersionScheme);
  const foundBy = first(c.properties, PROP.pkgFoundBy);
  if (c.version === undefined) fail(`${c.path}.version`, 'missing (hullscan components always carry the version)');
  if (schemeProp === undefined) fail(where, `missing ${PROP.pkgVersionScheme}`);
  if (foundBy === undefined) fail(where, `missing ${PROP.pkgFoundBy}`);
  const p: Package = {
    type: oneOf(typeProp, `${where}[${PROP.pkgType}]`, PACKAGE_TYPES),
    name: nonEmpty(c.name, `${c.path}.name`),
    version: c.version,
    versionScheme: oneOf(schemeProp, `${where}[${PROP.pkgVersionScheme}]`, VERSION_SCHEME_IDS),
    foundBy,
    evidence: ourEvidence(c),
    id: '',
  };
  setIf(p, 'epoch', intProp(c, PROP.pkgEpoch, MAX_EPOCH));
  setIf(p, 'arch', first(c.properties, PROP.pkgArch));
  const srcName = first(c.properties, PROP.sourceName);
  const srcVersion = first(c.properties, PROP.sourceVersion);
  if ((srcName === undefined) !== (srcVersion === undefined)) fail(where, `${PROP.sourceName} and ${PROP.sourceVersion} come together`);
  if (srcName !== undefined && srcVersion !== undefined) p.source = { name: srcName, version: srcVersion };
  setIf(p, 'vendor', c.supplierName);
  setIf(p, 'multiArch', first(c.properties, PROP.pkgMultiArch));
  setIf(p, 'license', c.license);
  setIf(p, 'binaryPath', first(c.properties, PROP.pkgBinaryPath));
  // The purl was parsed (and a broken one refused) before this component was taken as a package.
  p.id = c.bomRef ?? packageId(p);
  return p;
}

const SCHEME_OF_TYPE: Record<PackageType, VersionSchemeId> = { deb: 'deb', rpm: 'rpm', apk: 'apk', golang: 'go', binary: 'semver' };

/** Source package of a third-party component: Trivy's Src* properties, else the purl's upstream=. */
function thirdPartySource(c: CdxComponent, facts: PurlPackageFacts): { name: string; version: string } | undefined {
  if (facts.type === 'golang' || facts.type === 'binary') return undefined;
  const srcName = first(c.properties, 'aquasecurity:trivy:SrcName') ?? facts.sourceName ?? facts.name;
  const v = first(c.properties, 'aquasecurity:trivy:SrcVersion');
  if (v === undefined) return { name: srcName, version: facts.sourceVersion ?? facts.version };
  const rel = first(c.properties, 'aquasecurity:trivy:SrcRelease');
  const epoch = first(c.properties, 'aquasecurity:trivy:SrcEpoch');
  const withRel = rel ? `${v}-${rel}` : v;
  return { name: srcName, version: epoch && epoch !== '0' ? `${epoch}:${withRel}` : withRel };
}

function thirdPartyPackage(c: CdxComponent, facts: PurlPackageFacts): Package {
  const version = facts.version !== '' ? facts.version : c.version;
  if (version === undefined || version === '') fail(c.path, 'package has no version in its purl nor in `version`');
  const p: Package = { type: facts.type, name: facts.name, version, versionScheme: SCHEME_OF_TYPE[facts.type], foundBy: 'sbom', evidence: c.occurrences, id: '' };
  setIf(p, 'epoch', facts.epoch);
  setIf(p, 'arch', facts.arch);
  setIf(p, 'source', thirdPartySource(c, facts));
  setIf(p, 'vendor', c.supplierName);
  setIf(p, 'license', c.license);
  if (facts.type === 'golang') {
    const bin = c.occurrences[0]?.path;
    setIf(p, 'binaryPath', bin);
  }
  p.id = packageId(p);
  return p;
}

const FAMILY_ALIASES: Record<string, OsFamily> = {
  'cbl-mariner': 'mariner',
  amzn: 'amazon',
  almalinux: 'alma',
  redhat: 'rhel',
  sle: 'sles',
  'sles_sap': 'sles',
  'opensuse-leap': 'opensuse',
  'opensuse-tumbleweed': 'opensuse',
  'opensuse.leap': 'opensuse',
  'opensuse.tumbleweed': 'opensuse',
  'container-optimized os': 'cos',
};

export function osFamilyOf(id: string): OsFamily {
  const k = id.toLowerCase();
  if ((OS_FAMILIES as readonly string[]).includes(k)) return k as OsFamily;
  return FAMILY_ALIASES[k] ?? 'unknown';
}

/**
 * The release vulnerability feeds key on, from a third-party version string: Debian "12.5" → "12"
 * (point releases share one suite), Alpine "3.21.2" → "3.21" (secdb branches); others as given.
 */
function feedVersionId(family: OsFamily, version: string): string {
  if (family === 'debian') return /^\d+/.exec(version)?.[0] ?? version;
  if (family === 'alpine') return /^\d+\.\d+/.exec(version)?.[0] ?? version;
  return version;
}

function ourOs(c: CdxComponent): OsInfo {
  const where = `${c.path}.properties`;
  const os: OsInfo = {
    family: oneOf(first(c.properties, PROP.osFamily), `${where}[${PROP.osFamily}]`, OS_FAMILIES),
    id: first(c.properties, PROP.osId) ?? c.name,
    versionId: c.version ?? '',
    evidence: ourEvidence(c),
  };
  setIf(os, 'codename', first(c.properties, PROP.osCodename));
  setIf(os, 'prettyName', first(c.properties, PROP.osPrettyName));
  const idLike = first(c.properties, PROP.osIdLike);
  if (idLike !== undefined) os.idLike = idLike.split(' ').filter((w) => w !== '');
  setIf(os, 'cpe', first(c.properties, PROP.osCpe));
  return os;
}

function jsonProp<T>(value: string, where: string, read: (v: Json, path: string) => T): T {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch (err) {
    throw new SbomError(`${where}: not JSON: ${(err as Error).message}`, { location: where, cause: err });
  }
  return read(v as Json, where);
}

function readCycloneDx(doc: JsonObject, options: ReadSbomOptions): Inventory {
  const spec = str(doc.specVersion, 'specVersion', 16);
  if (!(CYCLONEDX_READ_VERSIONS as readonly string[]).includes(spec)) throw new UnsupportedError(`CycloneDX ${spec.slice(0, 16)} is not read (supported: ${CYCLONEDX_READ_VERSIONS.join(', ')})`, { location: 'specVersion' });
  const md = doc.metadata === undefined ? {} : obj(doc.metadata, 'metadata');
  const mdProps = readProperties(md.properties, 'metadata.properties');
  const ours = first(mdProps, PROP.schemaVersion) !== undefined;
  if (ours && first(mdProps, PROP.schemaVersion) !== String(INVENTORY_SCHEMA_VERSION)) {
    throw new UnsupportedError(`hullscan CycloneDX of inventory schema ${first(mdProps, PROP.schemaVersion)!.slice(0, 10)} is not supported (this hullscan reads ${INVENTORY_SCHEMA_VERSION})`, { location: 'metadata.properties' });
  }
  const mdComponent = md.component === undefined ? undefined : readComponent(md.component, 'metadata.component').c;
  const components = flattenComponents(optArr(doc.components, 'components', MAX_PACKAGES), 'components');
  const issues: Issue[] = [];

  let os: OsInfo | undefined;
  const packages: Package[] = [];
  const ids = new Set<string>();
  let duplicates = 0;
  const skipped = new Map<string, number>();
  let firstDistro: { id: string; versionId: string } | undefined;
  for (const c of components) {
    if (c.type === 'operating-system') {
      if (os !== undefined) {
        issues.push({ severity: 'warning', code: 'sbom.multiple-os', message: `more than one operating-system component; using the first (${os.id} ${os.versionId})`, location: c.path });
        continue;
      }
      if (ours) os = ourOs(c);
      else {
        const family = osFamilyOf(c.name);
        os = { family, id: c.name.toLowerCase(), versionId: feedVersionId(family, c.version ?? ''), evidence: [] };
      }
      continue;
    }
    const facts = parseComponentPurl(c);
    if (facts === undefined) {
      const why = c.purl === undefined ? `${c.type} components without a purl` : `purl type ${parsePurl(c.purl).type}`;
      skipped.set(why, (skipped.get(why) ?? 0) + 1);
      continue;
    }
    if (facts.distro && firstDistro === undefined) firstDistro = facts.distro;
    const pkg = ours && first(c.properties, PROP.pkgType) !== undefined ? ourPackage(c) : thirdPartyPackage(c, facts);
    if (ids.has(pkg.id)) {
      duplicates++;
      continue;
    }
    ids.add(pkg.id);
    packages.push(pkg);
  }
  if (os === undefined && firstDistro !== undefined) {
    const family = osFamilyOf(firstDistro.id);
    os = { family, id: firstDistro.id, versionId: feedVersionId(family, firstDistro.versionId), evidence: [] };
    issues.push({ severity: 'info', code: 'sbom.os-from-purl', message: `no operating-system component; OS ${firstDistro.id} ${firstDistro.versionId} taken from the purl distro qualifier` });
  }
  if (duplicates > 0) issues.push({ severity: 'warning', code: 'sbom.duplicate-package', message: `${duplicates} components repeat a package already listed; read once` });
  for (const [why, n] of [...skipped].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    issues.push({ severity: 'warning', code: 'sbom.component-not-read', message: `${n} ${why}: not an inventoried package type (deb, rpm, apk, golang, generic), not matched` });
  }

  const inv: Inventory = {
    schemaVersion: INVENTORY_SCHEMA_VERSION,
    target: first(mdProps, PROP.target) ?? mdComponent?.name ?? options.sourceName ?? 'sbom',
    scannedAt: '',
    packages,
    analyzers: {},
    issues: [],
  };
  const scannedAt = first(mdProps, PROP.scannedAt) ?? (md.timestamp === undefined ? undefined : dateTime(md.timestamp, 'metadata.timestamp'));
  if (scannedAt === undefined) {
    inv.scannedAt = new Date(0).toISOString();
    issues.push({ severity: 'info', code: 'sbom.no-timestamp', message: 'the SBOM has no metadata.timestamp; scannedAt set to 1970-01-01' });
  } else inv.scannedAt = dateTime(scannedAt, 'metadata.properties[hullscan:scannedAt]');
  if (os !== undefined) inv.os = os;

  if (ours) {
    for (const p of mdProps) {
      if (p.name.startsWith(PROP.analyzerPrefix)) {
        const id = p.name.slice(PROP.analyzerPrefix.length);
        if (!/^\d{1,15}$/.test(p.value)) fail(`metadata.properties[${p.name}]`, `analyzer version '${p.value.slice(0, 20)}' is not an integer`);
        inv.analyzers[id] = Number(p.value);
      }
    }
    if (Object.keys(inv.analyzers).length > MAX_ANALYZERS) fail('metadata.properties', `more than ${MAX_ANALYZERS} analyzers`);
    const stored = first(mdProps, PROP.issues);
    if (stored !== undefined) inv.issues.push(...jsonProp(stored, `metadata.properties[${PROP.issues}]`, readIssues));
    const node: NodeIdentity = {};
    for (const f of NODE_FIELDS) setIf(node, f, first(mdProps, `${PROP.nodePrefix}${f}`));
    const imgName = first(mdProps, `${PROP.nodePrefix}nodeImage:name`);
    const imgVersion = first(mdProps, `${PROP.nodePrefix}nodeImage:version`);
    if (imgName !== undefined && imgVersion !== undefined) node.nodeImage = { name: imgName, version: imgVersion };
    if (Object.keys(node).length > 0) inv.node = node;
    const installed = first(mdProps, PROP.kernelInstalled);
    const bootDefault = first(mdProps, PROP.kernelBootDefault);
    const method = first(mdProps, PROP.kernelBootDefaultMethod);
    const running = first(mdProps, PROP.kernelRunning);
    const newer = first(mdProps, PROP.kernelNewerThanBootDefault);
    if (installed !== undefined || bootDefault !== undefined || running !== undefined || newer !== undefined) {
      const k: KernelInfo = { installed: installed === undefined ? [] : jsonProp(installed, `metadata.properties[${PROP.kernelInstalled}]`, readKernelImages) };
      setIf(k, 'bootDefault', bootDefault);
      setIf(k, 'bootDefaultMethod', method);
      if (newer !== undefined) k.newerThanBootDefault = jsonProp(newer, `metadata.properties[${PROP.kernelNewerThanBootDefault}]`, readReleases);
      setIf(k, 'running', running);
      inv.kernel = k;
    }
  } else {
    const tool = readToolName(md);
    inv.issues.push({
      severity: 'info',
      code: 'sbom.third-party',
      message: `read from a CycloneDX ${spec} SBOM${tool ? ` made by ${tool}` : ''}: kernel boot facts, exact source versions and file evidence may be missing, so kernel and source-keyed matches can be incomplete`,
    });
  }
  inv.issues.push(...issues);
  return inv;
}

/** The first tool named in metadata.tools (1.5+ object form or 1.4 array form), for messages only. */
function readToolName(md: JsonObject): string | undefined {
  const tools = md.tools;
  const list: Json[] = Array.isArray(tools) ? tools : isObject(tools) && Array.isArray(tools.components) ? tools.components : [];
  const t = list[0];
  if (!isObject(t) || typeof t.name !== 'string') return undefined;
  return `${t.name.slice(0, 64)}${typeof t.version === 'string' ? ` ${t.version.slice(0, 32)}` : ''}`;
}
