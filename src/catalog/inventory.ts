/**
 * An engine Inventory from a catalogue image: what the node would hold if it runs the image
 * unchanged. For nodes whose disk cannot be read (an ephemeral OS disk lives on the host's cache
 * or temp disk: there is no managed disk to snapshot), the matcher then assesses the image the
 * cluster says the node runs. Every fact says where it came from: the catalogue, not the disk.
 */
import { INVENTORY_SCHEMA_VERSION, packageId, type Evidence, type Inventory, type KernelInfo, type NodeIdentity, type OsInfo, type Package } from '../inventory/index.ts';
import type { CatalogImage, CatalogPackage } from './index.ts';

/** The analyzer id and version recorded in `analyzers` (cache keys, evidence). */
export const CATALOG_ANALYZER_ID = 'catalog';
export const CATALOG_ANALYZER_VERSION = 1;
export const CATALOG_EVIDENCE_NOTE = 'from the image catalogue, not the disk: changes made on the node after it booted are not seen';

function evidenceOf(image: CatalogImage): Evidence {
  return { path: `catalog:${image.family}/${image.version}`, note: CATALOG_EVIDENCE_NOTE };
}

function toPackage(image: CatalogImage, p: CatalogPackage, evidence: Evidence): Package {
  const rpm = image.os.family === 'azurelinux';
  const base = { type: rpm ? 'rpm' : 'deb', name: p.name, version: p.version, ...(p.arch !== undefined && { arch: p.arch }) } as const;
  return {
    ...base,
    versionScheme: rpm ? 'rpm' : 'deb',
    source: { ...p.source },
    foundBy: CATALOG_ANALYZER_ID,
    evidence: [p.sourceFrom === undefined ? evidence : { ...evidence, record: `${p.name}; source ${p.sourceFrom}` }],
    id: packageId(base),
  };
}

function kernelOf(image: CatalogImage, evidence: Evidence): KernelInfo | undefined {
  const release = image.kernel;
  if (release === undefined) return undefined;
  const names = new Set(image.packages.map((p) => p.name));
  const rpm = image.os.family === 'azurelinux';
  const packageName = rpm ? 'kernel' : names.has(`linux-image-${release}`) ? `linux-image-${release}` : undefined;
  return {
    installed: [{ release, imagePath: `/boot/vmlinuz-${release}`, ...(packageName !== undefined && { packageName }), hasModules: rpm || names.has(`linux-modules-${release}`), evidence: [evidence] }],
    bootDefault: release,
    bootDefaultMethod: 'image catalogue (the image\'s kernel)',
    newerThanBootDefault: [],
  };
}

/** The Inventory of a catalogue image (target `catalog:<family>@<version>`). */
export function catalogInventory(image: CatalogImage, options: { node?: NodeIdentity; scannedAt?: Date } = {}): Inventory {
  const evidence = evidenceOf(image);
  const os: OsInfo = {
    family: image.os.family,
    id: image.os.id,
    versionId: image.os.versionId,
    ...(image.os.codename !== undefined && { codename: image.os.codename }),
    ...(image.os.prettyName !== undefined && { prettyName: image.os.prettyName }),
    ...(image.os.family === 'ubuntu' && { idLike: ['debian'] }),
    evidence: [evidence],
  };
  const kernel = kernelOf(image, evidence);
  const node: NodeIdentity = { ...options.node, nodeImage: options.node?.nodeImage ?? { name: image.family, version: image.version } };
  return {
    schemaVersion: INVENTORY_SCHEMA_VERSION,
    target: `catalog:${image.family}@${image.version}`,
    scannedAt: (options.scannedAt ?? new Date()).toISOString(),
    node,
    os,
    packages: image.packages.map((p) => toPackage(image, p, evidence)),
    ...(kernel !== undefined && { kernel }),
    analyzers: { [CATALOG_ANALYZER_ID]: CATALOG_ANALYZER_VERSION },
    issues: [{ severity: 'info', code: 'catalog.not-from-disk', message: `packages, OS and kernel of node image ${image.family} ${image.version} ${CATALOG_EVIDENCE_NOTE}`, location: evidence.path }],
  };
}
