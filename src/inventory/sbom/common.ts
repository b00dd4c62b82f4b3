/**
 * What the SBOM writers share: the writer options (injectable serial number, timestamp and tool
 * version, so goldens are byte-stable), the property names hullscan adds, and small helpers.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Package } from '../index.ts';

export const SBOM_FORMATS = ['cyclonedx', 'spdx', 'json'] as const;
export type SbomFormat = (typeof SBOM_FORMATS)[number];

export function isSbomFormat(s: string): s is SbomFormat {
  return (SBOM_FORMATS as readonly string[]).includes(s);
}

export interface SbomWriteOptions {
  /** A UUID (CycloneDX serialNumber `urn:uuid:<uuid>`, SPDX namespace suffix); random when absent. */
  uuid?: string;
  /** Document creation time; now when absent. */
  timestamp?: Date;
  /** Version of hullscan written as the tool; package.json's when absent. */
  toolVersion?: string;
}

export const TOOL_NAME = 'hullscan';

/** hullscan's own version, from package.json. */
export function hullscanVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

export function resolveOptions(o: SbomWriteOptions): { uuid: string; timestamp: Date; toolVersion: string } {
  return { uuid: o.uuid ?? randomUUID(), timestamp: o.timestamp ?? new Date(), toolVersion: o.toolVersion ?? hullscanVersion() };
}

/**
 * Property names (CycloneDX `properties[].name`) hullscan writes, in the `hullscan:` namespace
 * (CycloneDX property taxonomy: a tool-owned prefix). The reader relies on them to restore an
 * inventory exactly; docs/sbom.md lists them.
 */
export const PROP = {
  schemaVersion: 'hullscan:inventory:schemaVersion',
  target: 'hullscan:target',
  scannedAt: 'hullscan:scannedAt',
  analyzerPrefix: 'hullscan:analyzer:',
  /** JSON array of the inventory's issues (one property: CycloneDX sorts properties, the array keeps order). */
  issues: 'hullscan:issues',
  nodePrefix: 'hullscan:node:',
  kernelBootDefault: 'hullscan:kernel:bootDefault',
  kernelBootDefaultMethod: 'hullscan:kernel:bootDefaultMethod',
  kernelRunning: 'hullscan:kernel:running',
  /** JSON array of releases, in the inventory's order. */
  kernelNewerThanBootDefault: 'hullscan:kernel:newerThanBootDefault',
  /** JSON array of KernelImage, in the inventory's order. */
  kernelInstalled: 'hullscan:kernel:installed',
  osFamily: 'hullscan:os:family',
  osId: 'hullscan:os:id',
  osCodename: 'hullscan:os:codename',
  osPrettyName: 'hullscan:os:prettyName',
  osIdLike: 'hullscan:os:idLike',
  osCpe: 'hullscan:os:cpe',
  pkgType: 'hullscan:package:type',
  pkgVersionScheme: 'hullscan:package:versionScheme',
  pkgEpoch: 'hullscan:package:epoch',
  pkgArch: 'hullscan:package:arch',
  pkgMultiArch: 'hullscan:package:multiArch',
  pkgBinaryPath: 'hullscan:package:binaryPath',
  pkgFoundBy: 'hullscan:package:foundBy',
  pkgFileCount: 'hullscan:package:fileCount',
  sourceName: 'hullscan:source:name',
  sourceVersion: 'hullscan:source:version',
  /** `hullscan:evidence:<i>:record` / `:note`, i = index into evidence.occurrences. */
  evidencePrefix: 'hullscan:evidence:',
} as const;

/** The node fields written as `hullscan:node:<field>`. */
export const NODE_FIELDS = ['subscription', 'cluster', 'nodePool', 'node'] as const;

/** Packages an OS package manager owns (CONTAINS / dependsOn from the OS component). */
export function isOsPackage(p: Package): boolean {
  return p.type === 'deb' || p.type === 'rpm' || p.type === 'apk';
}

/** Code-unit order, locale-independent, for deterministic output. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
