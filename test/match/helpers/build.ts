/** Small builders for matcher tables: packages and advisories with the fields the seam requires. */
import { INVENTORY_SCHEMA_VERSION, packageId, type Inventory, type KernelInfo, type OsInfo, type Package } from '../../../src/inventory/index.ts';
import type { Advisory, AffectedPackage, Cvss } from '../../../src/vulndb/index.ts';

export function pkg(p: Omit<Package, 'id' | 'foundBy' | 'evidence'> & Partial<Pick<Package, 'foundBy' | 'evidence'>>): Package {
  const db = p.type === 'deb' ? '/var/lib/dpkg/status' : p.type === 'rpm' ? '/var/lib/rpm/rpmdb.sqlite' : p.type === 'apk' ? '/lib/apk/db/installed' : (p.binaryPath ?? '/');
  return { foundBy: p.type === 'golang' ? 'go-binary' : p.type === 'deb' ? 'dpkg' : p.type, evidence: [{ path: db, line: 1 }], ...p, id: packageId(p) };
}

export function deb(name: string, version: string, source?: [string, string]): Package {
  return pkg({ type: 'deb', name, version, versionScheme: 'deb', arch: 'amd64', ...(source && { source: { name: source[0], version: source[1] } }) });
}

export function os(family: OsInfo['family'], versionId: string): OsInfo {
  return { family, id: family, versionId, evidence: [{ path: '/etc/os-release', line: 1 }] };
}

export function inventory(o: OsInfo | undefined, packages: Package[], kernel?: KernelInfo): Inventory {
  return { schemaVersion: INVENTORY_SCHEMA_VERSION, target: 'test', scannedAt: '2026-12-01T00:00:00.000Z', ...(o && { os: o }), packages, ...(kernel && { kernel }), analyzers: {}, issues: [] };
}

export interface AdvisoryInput {
  id: string;
  aliases?: string[];
  source?: string;
  cvss?: Cvss[];
  affected: (Partial<AffectedPackage> & Pick<AffectedPackage, 'namespace' | 'name'>)[];
}

export function advisory(a: AdvisoryInput): Advisory {
  return {
    id: a.id,
    aliases: a.aliases ?? (a.id.startsWith('CVE-') ? [a.id] : []),
    source: a.source ?? 'osv',
    feed: 'test.jsonl',
    modified: '2024-08-09T00:00:00Z',
    cvss: a.cvss ?? [],
    references: [],
    affected: a.affected.map((p) => ({ nameKind: 'source', versionScheme: p.namespace.startsWith('alpine') ? 'apk' : p.namespace.startsWith('azurelinux') ? 'rpm' : p.namespace === 'go' ? 'go' : 'deb', state: 'fixed', ranges: [], ...p })),
  };
}
