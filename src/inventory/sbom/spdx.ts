/**
 * SPDX 2.3 JSON, hand-written after the SPDX 2.3 specification
 * (https://spdx.github.io/spdx-spec/v2.3/: §6 document creation information, §7 package
 * information, §11 relationships, Annex F external repository identifiers for `purl`) and checked
 * against the official JSON schema (spdx/spdx-spec schemas/spdx-schema.json at v2.3) in tests.
 *
 * Layout: the document DESCRIBES the node package; the node CONTAINS the OS package (purpose
 * OPERATING_SYSTEM) and the Go modules; the OS CONTAINS its packages. Every package carries its purl
 * as a PACKAGE-MANAGER external reference. What the inventory does not know is NOASSERTION, never
 * guessed: download location, originator, licenses, copyright. SPDX is an export only; `readSbom`
 * reads CycloneDX and the JSON inventory.
 */
import { createHash } from 'node:crypto';
import type { Inventory, Package } from '../index.ts';
import { compareStrings, isOsPackage, resolveOptions, TOOL_NAME, type SbomWriteOptions } from './common.ts';
import { packagePurl } from './purl.ts';

const NOASSERTION = 'NOASSERTION';

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  supplier: string;
  originator: string;
  downloadLocation: string;
  filesAnalyzed: false;
  licenseConcluded: string;
  licenseDeclared: string;
  licenseComments?: string;
  copyrightText: string;
  sourceInfo?: string;
  comment?: string;
  description?: string;
  primaryPackagePurpose?: 'OPERATING_SYSTEM' | 'LIBRARY' | 'APPLICATION' | 'DEVICE';
  externalRefs?: { referenceCategory: 'PACKAGE-MANAGER'; referenceType: 'purl'; referenceLocator: string }[];
}

export interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: 'DESCRIBES' | 'CONTAINS';
  relatedSpdxElement: string;
}

export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[]; comment?: string };
  comment?: string;
  documentDescribes: string[];
  packages: SpdxPackage[];
  relationships: SpdxRelationship[];
}

export const SPDX_NODE_ID = 'SPDXRef-Node';
export const SPDX_OS_ID = 'SPDXRef-OperatingSystem';

/**
 * SPDXID of a package: `SPDXRef-Package-<type>-<name>-<hash>`. An SPDX identifier allows only
 * letters, digits, '.' and '-' (§7.2), so other characters become '-', and the first 16 hex
 * digits of the id's SHA-256 keep two packages that sanitize alike apart.
 */
export function spdxPackageId(p: Package): string {
  const readable = `${p.type}-${p.name}`.replace(/[^A-Za-z0-9.-]+/g, '-').slice(0, 120);
  const hash = createHash('sha256').update(p.id).digest('hex').slice(0, 16);
  return `SPDXRef-Package-${readable}-${hash}`;
}

/** SPDX §6.8 created: "YYYY-MM-DDThh:mm:ssZ" (no fractional seconds). */
function spdxDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100) || 'node';
}

function evidenceText(p: Package): string {
  const where = p.evidence.map((e) => `${e.path}${e.line === undefined ? '' : `:${e.line}`}${e.record === undefined ? '' : ` (${e.record})`}`);
  return `found by ${p.foundBy}${where.length > 0 ? ` in ${where.join(', ')}` : ''}`;
}

function spdxPackage(p: Package, inv: Inventory): SpdxPackage {
  const out: SpdxPackage = {
    SPDXID: spdxPackageId(p),
    name: p.name,
    versionInfo: p.version,
    // §7.5: "Organization: <name>" or NOASSERTION; rpm Vendor / the distro is the supplier.
    supplier: p.vendor ? `Organization: ${p.vendor.replace(/[\r\n]+/g, ' ')}` : NOASSERTION,
    originator: NOASSERTION,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    licenseConcluded: NOASSERTION,
    // Package-manager license fields are not reliably SPDX expressions; the raw text goes to the comment.
    licenseDeclared: NOASSERTION,
    copyrightText: NOASSERTION,
    primaryPackagePurpose: 'LIBRARY',
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: packagePurl(p, inv.os) }],
  };
  if (p.license) out.licenseComments = `declared by the package manager: ${p.license}`;
  const info = [evidenceText(p)];
  if (p.source && (p.source.name !== p.name || p.source.version !== p.version)) info.push(`source package ${p.source.name} ${p.source.version}`);
  if (p.binaryPath) info.push(`built into ${p.binaryPath}`);
  out.sourceInfo = info.join('; ');
  return out;
}

/** The inventory as an SPDX 2.3 document object (packages and relationships sorted). */
export function inventoryToSpdx(inv: Inventory, options: SbomWriteOptions = {}): SpdxDocument {
  const o = resolveOptions(options);
  const nodeName = inv.node?.node ?? inv.target;
  const node: SpdxPackage = {
    SPDXID: SPDX_NODE_ID,
    name: nodeName,
    supplier: NOASSERTION,
    originator: NOASSERTION,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    licenseConcluded: NOASSERTION,
    licenseDeclared: NOASSERTION,
    copyrightText: NOASSERTION,
    primaryPackagePurpose: 'DEVICE',
    comment: `scanned ${inv.target} at ${inv.scannedAt}`,
  };
  if (inv.node?.nodeImage) node.versionInfo = `${inv.node.nodeImage.name} ${inv.node.nodeImage.version}`;
  const packages: SpdxPackage[] = [];
  const relationships: SpdxRelationship[] = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: SPDX_NODE_ID }];
  if (inv.os) {
    const os: SpdxPackage = {
      SPDXID: SPDX_OS_ID,
      name: inv.os.id,
      versionInfo: inv.os.versionId,
      supplier: NOASSERTION,
      originator: NOASSERTION,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      licenseConcluded: NOASSERTION,
      licenseDeclared: NOASSERTION,
      copyrightText: NOASSERTION,
      primaryPackagePurpose: 'OPERATING_SYSTEM',
    };
    if (inv.os.prettyName) os.description = inv.os.prettyName;
    packages.push(os);
    relationships.push({ spdxElementId: SPDX_NODE_ID, relationshipType: 'CONTAINS', relatedSpdxElement: SPDX_OS_ID });
  }
  const seen = new Set<string>();
  for (const p of inv.packages) {
    const sp = spdxPackage(p, inv);
    // Two inventory packages with one id would be one SPDX element; the id is unique by construction.
    if (seen.has(sp.SPDXID)) continue;
    seen.add(sp.SPDXID);
    packages.push(sp);
    relationships.push({ spdxElementId: inv.os && isOsPackage(p) ? SPDX_OS_ID : SPDX_NODE_ID, relationshipType: 'CONTAINS', relatedSpdxElement: sp.SPDXID });
  }
  packages.sort((a, b) => compareStrings(a.SPDXID, b.SPDXID));
  packages.unshift(node);
  relationships.sort((a, b) => compareStrings(a.spdxElementId, b.spdxElementId) || compareStrings(a.relationshipType, b.relationshipType) || compareStrings(a.relatedSpdxElement, b.relatedSpdxElement));
  const kernel = inv.kernel?.bootDefault === undefined ? '' : `; kernel boot default ${inv.kernel.bootDefault} (${inv.kernel.bootDefaultMethod ?? 'method unknown'})`;
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: nodeName,
    // §6.5: a unique absolute URI; the spec's examples use spdx.org/spdxdocs/<name>-<uuid>.
    documentNamespace: `https://spdx.org/spdxdocs/${TOOL_NAME}-${slug(nodeName)}-${o.uuid}`,
    creationInfo: { created: spdxDate(o.timestamp), creators: [`Tool: ${TOOL_NAME}-${o.toolVersion}`] },
    comment: `${inv.packages.length} packages; ${inv.issues.length} coverage issues${kernel}`,
    documentDescribes: [SPDX_NODE_ID],
    packages,
    relationships,
  };
}

/** The inventory as SPDX 2.3 JSON text (2-space indent, trailing newline). */
export function writeSpdx(inv: Inventory, options: SbomWriteOptions = {}): string {
  return JSON.stringify(inventoryToSpdx(inv, options), null, 2) + '\n';
}
