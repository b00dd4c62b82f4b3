/**
 * Joins the partial inventories of the analyzers into one Inventory. Rules (documented in
 * docs/inventory.md): the first OS wins (os-release runs first), later OS claims that disagree
 * become an issue; packages are concatenated in analyzer order and a package id reported twice
 * keeps the first record with both records' evidence; kernel facts merge by release; issues are
 * kept in order.
 */
import type { PartialInventory } from './index.ts';
import type { Issue } from '../util/issues.ts';
import { INVENTORY_SCHEMA_VERSION, type Inventory, type KernelImage, type KernelInfo, type NodeIdentity, type Package } from '../inventory/index.ts';

export interface InventoryHeader {
  target: string;
  scannedAt: string;
  node?: NodeIdentity;
  analyzers?: Record<string, number>;
}

export function mergeInventory(header: InventoryHeader, parts: readonly PartialInventory[]): Inventory {
  const issues: Issue[] = [];
  const packages: Package[] = [];
  const byId = new Map<string, Package>();
  let os: Inventory['os'];
  let kernel: KernelInfo | undefined;
  for (const part of parts) {
    if (part.os) {
      if (!os) os = part.os;
      else if (part.os.family !== os.family || part.os.versionId !== os.versionId) {
        issues.push({ severity: 'warning', code: 'inventory.os-conflict', message: `second OS claim ${part.os.id} ${part.os.versionId} ignored; kept ${os.id} ${os.versionId}`, location: part.os.evidence[0]?.path });
      }
    }
    for (const p of part.packages ?? []) {
      const seen = byId.get(p.id);
      if (seen) {
        seen.evidence.push(...p.evidence);
        continue;
      }
      byId.set(p.id, p);
      packages.push(p);
    }
    if (part.kernel) kernel = mergeKernel(kernel, part.kernel);
    issues.push(...(part.issues ?? []));
  }
  const inv: Inventory = {
    schemaVersion: INVENTORY_SCHEMA_VERSION,
    target: header.target,
    scannedAt: header.scannedAt,
    packages,
    analyzers: { ...(header.analyzers ?? {}) },
    issues,
  };
  if (header.node) inv.node = header.node;
  if (os) inv.os = os;
  if (kernel) inv.kernel = kernel;
  return inv;
}

function mergeKernel(into: KernelInfo | undefined, part: Partial<KernelInfo>): KernelInfo {
  const out: KernelInfo = into ?? { installed: [] };
  for (const k of part.installed ?? []) {
    const same = out.installed.find((x) => x.release === k.release);
    if (!same) {
      out.installed.push(k);
      continue;
    }
    mergeImage(same, k);
  }
  if (out.bootDefault === undefined && part.bootDefault !== undefined) {
    out.bootDefault = part.bootDefault;
    if (part.bootDefaultMethod !== undefined) out.bootDefaultMethod = part.bootDefaultMethod;
  }
  if (part.newerThanBootDefault !== undefined && out.newerThanBootDefault === undefined) out.newerThanBootDefault = part.newerThanBootDefault;
  if (part.running !== undefined && out.running === undefined) out.running = part.running;
  return out;
}

function mergeImage(into: KernelImage, k: KernelImage): void {
  if (into.imagePath === undefined && k.imagePath !== undefined) into.imagePath = k.imagePath;
  if (into.packageName === undefined && k.packageName !== undefined) into.packageName = k.packageName;
  into.hasModules ||= k.hasModules;
  into.evidence.push(...k.evidence);
}
