/**
 * The composition root for one scan: target → inventory (or a stored SBOM) → vulnerability
 * match against the local database → malware scan on the SAME open filesystem → policy →
 * ScanResult. Everything opened here is closed in `finally`, whatever fails.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Inventory, NodeIdentity } from '../inventory/index.ts';
import { MAX_SBOM_BYTES, readSbom } from '../inventory/sbom/read.ts';
import { scanMalware, type MalwareScanOptions } from '../malware/run.ts';
import { matchInventory, wasAssessed } from '../match/run.ts';
import { UsageError } from '../util/errors.ts';
import { MiB } from '../util/units.ts';
import type { Issue } from '../util/issues.ts';
import type { VulnDb } from '../vulndb/index.ts';
import { defaultDbPath, openVulnDb } from '../vulndb/store.ts';
import { inventoryFileSystem, inventoryTarget } from './inventory.ts';
import { applyPolicy, type Policy } from './policy.ts';
import { SCAN_RESULT_SCHEMA_VERSION, type ScanResult, type ScannerId } from './result.ts';
import { openTargetFilesystem, type TargetOptions } from './target.ts';

/** Chunk cache in front of the disk for a scan that also walks every file for malware. */
export const MALWARE_CACHE_BYTES = 16 * MiB;

export interface ScanOptions {
  /** Default ['vuln']. */
  scanners?: ScannerId[];
  /** Database path (default: defaultDbPath()), or an open VulnDb the caller owns (not closed here). */
  dbPath?: string;
  db?: VulnDb;
  /** Re-match a stored inventory (our CycloneDX or inventory JSON) instead of reading a target. */
  sbom?: string;
  /** Volume id or index to read (default: probe for the root filesystem). */
  volume?: string;
  target?: TargetOptions;
  /** Node identity carried into the inventory, every finding and every alert. */
  node?: NodeIdentity;
  malware?: Omit<MalwareScanOptions, 'node'>;
  policy?: Policy;
  /** Progress messages (the CLI prints them on a TTY). */
  onProgress?: (message: string) => void;
  /** Clock (tests). */
  now?: () => Date;
}

function mergeNode(base: NodeIdentity | undefined, over: NodeIdentity | undefined): NodeIdentity | undefined {
  if (base === undefined) return over === undefined ? undefined : { ...over };
  if (over === undefined) return { ...base };
  return { ...base, ...over };
}

async function loadSbom(path: string): Promise<Inventory> {
  let bytes: Buffer;
  try {
    // Checked before reading: the reader bounds its input too, but a huge file should not be held at all.
    const size = (await stat(path)).size;
    if (size > MAX_SBOM_BYTES) throw new UsageError(`SBOM '${path}' is larger than ${MAX_SBOM_BYTES} bytes`);
    bytes = await readFile(path);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read SBOM '${path}': ${(err as Error).message}`, { cause: err });
  }
  return readSbom(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
}

/** Scans one target (a disk image, filesystem image, URL or directory), or re-matches an SBOM. */
export async function scanTarget(spec: string, options: ScanOptions = {}): Promise<ScanResult> {
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const scanners: ScannerId[] = options.scanners ?? ['vuln'];
  if (scanners.length === 0) throw new UsageError('no scanner selected: use --scanners vuln, malware or vuln,malware');
  if (options.sbom !== undefined && scanners.includes('malware')) throw new UsageError('--sbom re-matches a stored inventory: there are no files to scan for malware');
  const progress = options.onProgress ?? (() => {});
  const closers: (() => Promise<void> | void)[] = [];
  try {
    let db: VulnDb | undefined;
    let dbPath: string | undefined;
    if (scanners.includes('vuln')) {
      if (options.db !== undefined) {
        db = options.db;
        dbPath = db.status().path;
      } else {
        dbPath = defaultDbPath(options.dbPath);
        const opened = openVulnDb(dbPath);
        db = opened;
        closers.push(() => opened.close());
      }
    }
    let inventory: Inventory;
    const targetIssues: Issue[] = [];
    let malware: Awaited<ReturnType<typeof scanMalware>> | undefined;
    if (options.sbom !== undefined) {
      progress(`reading SBOM ${options.sbom}`);
      inventory = await loadSbom(options.sbom);
      const node = mergeNode(inventory.node, options.node);
      if (node !== undefined) inventory = { ...inventory, node };
    } else if (scanners.includes('malware')) {
      progress(`opening ${spec}`);
      // A full-file walk reads file data in large reads that bypass the chunk cache, so it needs
      // less cache than metadata-only work; the rest of the memory goes to bytes in flight.
      const opened = await openTargetFilesystem(spec, { cacheBytes: MALWARE_CACHE_BYTES, ...(options.target ?? {}), ...(options.volume !== undefined && { volume: options.volume }) });
      closers.push(() => opened.close());
      targetIssues.push(...opened.issues);
      progress('reading the package inventory');
      inventory = await inventoryFileSystem(opened.fs, opened.disk?.target ?? spec, { ...(options.node !== undefined && { node: options.node }), issues: [...opened.issues] });
      progress('scanning files for malware');
      malware = await scanMalware(opened.fs, inventory, { ...(options.malware ?? {}), ...(inventory.node !== undefined && { node: inventory.node }) });
    } else {
      progress(`opening ${spec}`);
      const opened = await inventoryTarget(spec, { ...(options.volume !== undefined && { volume: options.volume }), ...(options.node !== undefined && { node: options.node }), ...(options.target !== undefined && { open: options.target }) });
      closers.push(() => opened.close());
      inventory = opened.inventory;
    }
    const result: ScanResult = {
      schemaVersion: SCAN_RESULT_SCHEMA_VERSION,
      target: inventory.target || spec,
      ...(inventory.node !== undefined && { node: inventory.node }),
      startedAt: startedAt.toISOString(),
      finishedAt: startedAt.toISOString(),
      scanners: [...scanners],
      inventory,
      findings: [],
      alerts: [],
      coverage: { target: targetIssues },
    };
    if (db !== undefined) {
      progress(`matching ${inventory.packages.length} packages`);
      const match = matchInventory(inventory, db);
      const status = db.status();
      result.findings = match.findings;
      result.coverage.vuln = {
        assessed: wasAssessed(match),
        namespaces: match.assessed,
        db: { path: dbPath ?? status.path, ...(status.builtAt !== undefined && { builtAt: status.builtAt }) },
        issues: match.issues,
      };
    }
    if (malware !== undefined) {
      result.alerts = malware.alerts;
      result.coverage.malware = malware.coverage;
    }
    const final = options.policy !== undefined ? applyPolicy(result, { ...options.policy, ...(options.policy.now === undefined && { now: startedAt }) }) : result;
    final.finishedAt = now().toISOString();
    return final;
  } finally {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch {
        // A failing close must not hide the scan's own error or result; the handles are gone either way.
      }
    }
  }
}
