/**
 * inventory/ — what is installed on a node, read from its disk. Central type: {@link Inventory}.
 *
 * Analyzers (analyze/) produce partial inventories; `mergeInventory` (analyze/merge.ts) joins
 * them. Vulnerability matching (match/) and malware checks (malware/) consume the result; SBOM
 * writers (inventory/sbom/) export it. The JSON form is documented in docs/inventory.md and is
 * exactly `JSON.stringify(inventory)`: no Maps, no classes, no undefined-vs-missing ambiguity.
 */
import type { Issue } from '../util/issues.ts';
import type { VersionSchemeId } from '../version/index.ts';

/** Version of the Inventory JSON form; bump on an incompatible change. */
export const INVENTORY_SCHEMA_VERSION = 1;

/** Where a fact was read: the file inside the image, and the record in it. */
export interface Evidence {
  /** Absolute in-image path ("/var/lib/dpkg/status", "/usr/local/bin/kubelet"). */
  path: string;
  /** 1-based line where the record starts (text databases). */
  line?: number;
  /** Record key in a binary database ("rpmdb.sqlite Packages hnum 42", "elf .go.buildinfo"). */
  record?: string;
  /** Free-form note ("owned by package containerd; Go build info not reported separately"). */
  note?: string;
}

export const PACKAGE_TYPES = ['deb', 'rpm', 'apk', 'golang', 'binary'] as const;
/** The purl type and ecosystem family of a package. */
export type PackageType = (typeof PACKAGE_TYPES)[number];

/** A digest of a file as a package manifest records it. */
export interface FileDigest {
  /** Absolute in-image path. */
  path: string;
  algorithm: 'md5' | 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'sha224';
  /** Lowercase hex. */
  digest: string;
}

export interface Package {
  type: PackageType;
  /** Binary package name as installed ("libssl3", "openssl-libs"); for Go, the module path. */
  name: string;
  /**
   * The full installed version as the package manager writes it: deb "[epoch:]upstream[-rev]",
   * rpm "[epoch:]version-release", apk "1.2.3-r4", Go "v1.2.3" (module) or "go1.22.5" (stdlib).
   */
  version: string;
  /** rpm only: the epoch as recorded (undefined when the header has none). */
  epoch?: number;
  /** How `version` orders (the matcher compares with this scheme). */
  versionScheme: VersionSchemeId;
  arch?: string;
  /**
   * The source package: deb `Source:` (name and, when given, version), rpm SOURCERPM name and
   * version-release, apk origin. Equal to the binary name/version when the record names none.
   */
  source?: { name: string; version: string };
  /** deb Multi-Arch, rpm vendor and friends: small string facts kept for SBOMs and evidence. */
  vendor?: string;
  multiArch?: string;
  license?: string;
  /** Files the package owns with their manifest digests (dpkg md5sums, rpm FILEDIGESTS). */
  files?: FileDigest[];
  /** Go binaries: the executable this module was built into; Go stdlib is name "stdlib". */
  binaryPath?: string;
  /** Analyzer that reported it ("dpkg", "rpm", "apk", "go-binary"). */
  foundBy: string;
  evidence: Evidence[];
  /** Stable identity within the inventory: `${type}:${name}@${version}:${arch ?? ''}:${binaryPath ?? ''}`. */
  id: string;
}

export const OS_FAMILIES = [
  'ubuntu', 'debian', 'azurelinux', 'mariner', 'amazon', 'bottlerocket', 'flatcar', 'cos',
  'rhel', 'rocky', 'alma', 'centos', 'fedora', 'sles', 'opensuse', 'alpine', 'unknown',
] as const;
export type OsFamily = (typeof OS_FAMILIES)[number];

export interface OsInfo {
  /** Normalized distro id ("ubuntu", "azurelinux"; CBL-Mariner 2 is "mariner"). */
  family: OsFamily;
  /** os-release ID as written. */
  id: string;
  /** Release the vulnerability feeds key on: "22.04", "12", "3.0", "3.21". */
  versionId: string;
  /** "jammy", "bookworm" where known. */
  codename?: string;
  prettyName?: string;
  /** ID_LIKE words. */
  idLike?: string[];
  /** CPE_NAME etc.: kept verbatim for evidence. */
  cpe?: string;
  evidence: Evidence[];
}

export interface KernelImage {
  /** Kernel release string ("6.8.0-1017-azure", "6.6.57.1-7.azl3"). */
  release: string;
  /** Path of the image ("/boot/vmlinuz-6.8.0-1017-azure"). */
  imagePath?: string;
  /** The package owning the image or its modules (binary name), when known. */
  packageName?: string;
  /** Whether /lib/modules/<release> exists. */
  hasModules: boolean;
  evidence: Evidence[];
}

export interface KernelInfo {
  /** Every installed kernel found (packages, /boot images, /lib/modules). */
  installed: KernelImage[];
  /** The release the bootloader boots by default, when it could be determined. */
  bootDefault?: string;
  /** How bootDefault was decided ("grubenv saved_entry", "grub.cfg first menuentry", "BLS default", "/boot/vmlinuz link"). */
  bootDefaultMethod?: string;
  /**
   * Installed releases newer than bootDefault (per the deb/rpm version order of the releases):
   * patched kernels that will not run until the boot default changes. Empty when none.
   */
  newerThanBootDefault?: string[];
  /** The running kernel: filled from the Kubernetes API (node.status.nodeInfo.kernelVersion) later. */
  running?: string;
}

/** Identity of the scanned node, carried through to findings and alerts. All optional for a bare image. */
export interface NodeIdentity {
  subscription?: string;
  cluster?: string;
  nodePool?: string;
  node?: string;
  /** Node image name and version ("AKSUbuntu-2204gen2containerd", "202608.20.0"). */
  nodeImage?: { name: string; version: string };
}

export interface Inventory {
  schemaVersion: typeof INVENTORY_SCHEMA_VERSION;
  /** The target as shown to users (URLs without query strings). */
  target: string;
  /** ISO-8601 UTC. */
  scannedAt: string;
  node?: NodeIdentity;
  os?: OsInfo;
  packages: Package[];
  kernel?: KernelInfo;
  /** Analyzer id → version, for cache keys and evidence. */
  analyzers: Record<string, number>;
  /** Coverage gaps: unreadable databases, unknown OS, budgets hit. Never an empty list instead of a gap. */
  issues: Issue[];
}

/** Builds a package's stable id. */
export function packageId(p: Pick<Package, 'type' | 'name' | 'version' | 'arch' | 'binaryPath'>): string {
  return `${p.type}:${p.name}@${p.version}:${p.arch ?? ''}:${p.binaryPath ?? ''}`;
}
