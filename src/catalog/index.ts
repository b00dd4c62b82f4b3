/**
 * catalog/ — the node-image catalogue: the real package lists of AKS node images (family +
 * version → OS, kernel, packages with their source packages), as reference data in
 * data/node-images/ (docs/node-images.md). Central interface: {@link NodeImageCatalog}.
 *
 * Used where a node cannot be read from its disk (ephemeral OS disks: assessed from the image
 * the cluster says it runs, via {@link catalogInventory}) and for remediation (which image
 * version fixes what). A low layer: imports only inventory/ types, util/ and version/.
 */
export { catalogInventory, CATALOG_ANALYZER_VERSION, CATALOG_EVIDENCE_NOTE } from './inventory.ts';
export { loadCatalog, catalogFromImages, catalogDirForDb, DEFAULT_CATALOG_DIR, MAX_CATALOG_FILE_BYTES, type LoadCatalogOptions } from './load.ts';
export { refreshCatalog, DEFAULT_CATALOG_SOURCE_URL, DEFAULT_MAX_NEW_PER_FAMILY, type RefreshOptions, type RefreshReport } from './refresh.ts';
export { compareImageVersions, parseNodeImage } from './image-name.ts';

export interface CatalogPackage {
  name: string;
  version: string;
  arch?: string;
  source: { name: string; version: string };
  /**
   * How the source was derived (the AKS lists name binaries only): "kernel rule", "override",
   * "approx map", "oval name", "unmapped (binary name)", ... (docs/node-images.md).
   */
  sourceFrom?: string;
}

export interface CatalogImage {
  /** "AKSUbuntu-2204gen2containerd", "AKSAzureLinuxV3-gen2", "AKSUbuntu-2404gen2containerd". */
  family: string;
  /** "202309.06.0". */
  version: string;
  /** ISO date (the build date AKS versions are named after). */
  builtAt?: string;
  os: { family: 'ubuntu' | 'azurelinux'; id: string; versionId: string; codename?: string; prettyName?: string };
  /** Kernel release, e.g. "5.15.0-1041-azure". */
  kernel?: string;
  packages: CatalogPackage[];
}

export interface NodeImageCatalog {
  families(): string[];
  /** Oldest → newest. */
  versions(family: string): string[];
  get(family: string, version: string): CatalogImage | undefined;
  latest(family: string): CatalogImage | undefined;
}
