/**
 * CycloneDX 1.6 JSON through the official @cyclonedx/cyclonedx-library (Models +
 * Serialize.JsonSerializer with Spec.Spec1dot6, sorted lists). Layout, after Trivy's for a root
 * filesystem: `metadata.component` is the node (type `platform`); `components[]` holds the OS
 * (type `operating-system`) and one `library` per package, with purl and bom-ref = package id;
 * `dependencies` say node → OS and Go modules, OS → its packages. Everything the CycloneDX model
 * has no field for (source package, version scheme, kernel boot default, coverage issues) goes
 * into `hullscan:*` properties (names in common.ts, listed in docs/sbom.md), so that
 * `readSbom` restores the inventory the matcher needs.
 *
 * One addition outside the library: the library's ComponentEvidence (v10.3) models licenses and
 * copyright only, not `evidence.occurrences` (CycloneDX 1.5+), so occurrences are added to the
 * normalized JSON after serialization. The tests validate the result against the official 1.6
 * schema, so this cannot drift into invalid output unnoticed.
 *
 * The library is loaded on the first use, by its subpaths only (Enums, Models, Serialize, Spec:
 * not its validators and helpers): it is the largest module an SBOM needs, and `hullscan sbom
 * --format spdx|json`, `--help` and every other command never use it (issue #17, start-up).
 */
import { createRequire } from 'node:module';
import type { Models } from '@cyclonedx/cyclonedx-library';
import type { Evidence, Inventory, Package } from '../index.ts';
import { INVENTORY_SCHEMA_VERSION } from '../index.ts';
import { isOsPackage, NODE_FIELDS, PROP, resolveOptions, TOOL_NAME, type SbomWriteOptions } from './common.ts';
import { packagePurl } from './purl.ts';

/** The library's parts this writer uses, as its subpath modules export them. */
interface CycloneDxLibrary {
  Enums: typeof import('@cyclonedx/cyclonedx-library/Enums');
  Models: typeof import('@cyclonedx/cyclonedx-library/Models');
  Serialize: typeof import('@cyclonedx/cyclonedx-library/Serialize');
  Spec: typeof import('@cyclonedx/cyclonedx-library/Spec');
}

let library: CycloneDxLibrary | undefined;

/** The CycloneDX library, loaded synchronously on first use (it is CommonJS). */
function cdx(): CycloneDxLibrary {
  if (library === undefined) {
    const require = createRequire(import.meta.url);
    library = {
      Enums: require('@cyclonedx/cyclonedx-library/Enums') as CycloneDxLibrary['Enums'],
      Models: require('@cyclonedx/cyclonedx-library/Models') as CycloneDxLibrary['Models'],
      Serialize: require('@cyclonedx/cyclonedx-library/Serialize') as CycloneDxLibrary['Serialize'],
      Spec: require('@cyclonedx/cyclonedx-library/Spec') as CycloneDxLibrary['Spec'],
    };
  }
  return library;
}

/** bom-ref of the node component and of the OS component. */
export const NODE_BOM_REF = 'hullscan:node';
export const OS_BOM_REF = 'hullscan:os';

function prop(c: { properties: Models.PropertyRepository }, name: string, value: string | number | undefined): void {
  const { Models } = cdx();
  if (value === undefined || value === '') return;
  c.properties.add(new Models.Property(name, String(value)));
}

function packageComponent(p: Package, inv: Inventory): Models.Component {
  const { Enums, Models } = cdx();
  const c = new Models.Component(Enums.ComponentType.Library, p.name, { version: p.version, bomRef: p.id, purl: packagePurl(p, inv.os) });
  if (p.vendor) c.supplier = new Models.OrganizationalEntity({ name: p.vendor });
  // Package licenses (rpm License:, apk license:) are often not SPDX expressions; a named license is always valid.
  if (p.license) c.licenses.add(new Models.NamedLicense(p.license));
  prop(c, PROP.pkgType, p.type);
  prop(c, PROP.pkgVersionScheme, p.versionScheme);
  prop(c, PROP.pkgEpoch, p.epoch);
  prop(c, PROP.pkgArch, p.arch);
  prop(c, PROP.pkgMultiArch, p.multiArch);
  prop(c, PROP.pkgBinaryPath, p.binaryPath);
  prop(c, PROP.pkgFoundBy, p.foundBy);
  if (p.files !== undefined) prop(c, PROP.pkgFileCount, p.files.length);
  if (p.source) {
    c.properties.add(new Models.Property(PROP.sourceName, p.source.name));
    c.properties.add(new Models.Property(PROP.sourceVersion, p.source.version));
  }
  p.evidence.forEach((e, i) => {
    prop(c, `${PROP.evidencePrefix}${i}:record`, e.record);
    prop(c, `${PROP.evidencePrefix}${i}:note`, e.note);
  });
  return c;
}

/** CycloneDX 1.6 `evidence.occurrences[]` entry for one Evidence. */
interface Occurrence {
  location: string;
  line?: number;
}

function occurrences(evidence: Evidence[]): Occurrence[] {
  return evidence.map((e) => (e.line === undefined ? { location: e.path } : { location: e.path, line: e.line }));
}

/** Builds the library's Bom model for an inventory (exposed for callers that add vulnerabilities). */
export function inventoryToBom(inv: Inventory, options: SbomWriteOptions = {}): Models.Bom {
  const { Enums, Models } = cdx();
  const o = resolveOptions(options);
  const bom = new Models.Bom();
  bom.serialNumber = `urn:uuid:${o.uuid}`;
  bom.metadata.timestamp = o.timestamp;
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, TOOL_NAME, { version: o.toolVersion }));

  const md = bom.metadata;
  prop(md, PROP.schemaVersion, INVENTORY_SCHEMA_VERSION);
  prop(md, PROP.target, inv.target);
  prop(md, PROP.scannedAt, inv.scannedAt);
  for (const [id, version] of Object.entries(inv.analyzers)) prop(md, `${PROP.analyzerPrefix}${id}`, version);
  if (inv.issues.length > 0) md.properties.add(new Models.Property(PROP.issues, JSON.stringify(inv.issues)));
  if (inv.node) {
    for (const f of NODE_FIELDS) prop(md, `${PROP.nodePrefix}${f}`, inv.node[f]);
    if (inv.node.nodeImage) {
      prop(md, `${PROP.nodePrefix}nodeImage:name`, inv.node.nodeImage.name);
      prop(md, `${PROP.nodePrefix}nodeImage:version`, inv.node.nodeImage.version);
    }
  }
  if (inv.kernel) {
    prop(md, PROP.kernelBootDefault, inv.kernel.bootDefault);
    prop(md, PROP.kernelBootDefaultMethod, inv.kernel.bootDefaultMethod);
    prop(md, PROP.kernelRunning, inv.kernel.running);
    if (inv.kernel.newerThanBootDefault !== undefined) md.properties.add(new Models.Property(PROP.kernelNewerThanBootDefault, JSON.stringify(inv.kernel.newerThanBootDefault)));
    md.properties.add(new Models.Property(PROP.kernelInstalled, JSON.stringify(inv.kernel.installed)));
  }

  const nodeName = inv.node?.node ?? inv.target;
  const node = new Models.Component(Enums.ComponentType.Platform, nodeName, { bomRef: NODE_BOM_REF });
  if (inv.node?.nodeImage) node.version = `${inv.node.nodeImage.name} ${inv.node.nodeImage.version}`;
  md.component = node;

  let osComponent: Models.Component | undefined;
  if (inv.os) {
    const os = inv.os;
    osComponent = new Models.Component(Enums.ComponentType.OperatingSystem, os.id, { version: os.versionId, bomRef: OS_BOM_REF });
    if (os.prettyName) osComponent.description = os.prettyName;
    prop(osComponent, PROP.osFamily, os.family);
    prop(osComponent, PROP.osId, os.id);
    prop(osComponent, PROP.osCodename, os.codename);
    prop(osComponent, PROP.osPrettyName, os.prettyName);
    if (os.idLike) prop(osComponent, PROP.osIdLike, os.idLike.join(' '));
    prop(osComponent, PROP.osCpe, os.cpe);
    os.evidence.forEach((e, i) => {
      prop(osComponent!, `${PROP.evidencePrefix}${i}:record`, e.record);
      prop(osComponent!, `${PROP.evidencePrefix}${i}:note`, e.note);
    });
    bom.components.add(osComponent);
    node.dependencies.add(osComponent.bomRef);
  }
  for (const p of inv.packages) {
    const c = packageComponent(p, inv);
    bom.components.add(c);
    if (osComponent && isOsPackage(p)) osComponent.dependencies.add(c.bomRef);
    else node.dependencies.add(c.bomRef);
  }
  return bom;
}

export interface NormalizedComponent {
  'bom-ref'?: string;
  evidence?: { occurrences: Occurrence[] };
  [k: string]: unknown;
}

/**
 * The inventory as CycloneDX 1.6 JSON text (2-space indent, trailing newline). Deterministic for
 * a given inventory and options: the library sorts every list (`sortLists`).
 */
export function writeCycloneDx(inv: Inventory, options: SbomWriteOptions = {}): string {
  const { Serialize, Spec } = cdx();
  const bom = inventoryToBom(inv, options);
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  const doc = JSON.parse(serializer.serialize(bom, { sortLists: true })) as { components?: NormalizedComponent[] };
  addEvidenceOccurrences(doc, inv);
  return JSON.stringify(doc, null, 2) + '\n';
}

/**
 * Adds `evidence.occurrences` (file path and line of each package's evidence) to the components
 * of a normalized CycloneDX JSON document built by {@link inventoryToBom}, matched by bom-ref.
 * For callers that serialize the Bom themselves (the scan report adds vulnerabilities first).
 */
export function addEvidenceOccurrences(doc: { components?: NormalizedComponent[] }, inv: Inventory): void {
  const evidenceByRef = new Map<string, Evidence[]>();
  for (const p of inv.packages) if (p.evidence.length > 0) evidenceByRef.set(p.id, p.evidence);
  if (inv.os && inv.os.evidence.length > 0) evidenceByRef.set(OS_BOM_REF, inv.os.evidence);
  for (const c of doc.components ?? []) {
    const ev = c['bom-ref'] === undefined ? undefined : evidenceByRef.get(c['bom-ref']);
    if (ev) c.evidence = { occurrences: occurrences(ev) };
  }
}

