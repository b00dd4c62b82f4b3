/**
 * One fleet node's disk, as the control plane scans it: open the target, walk the analyzers'
 * roots once (metadata only), fingerprint what the analyzers would read, and either reuse a
 * stored inventory with that fingerprint (nodes of one pool share an image: scan it once) or
 * analyze the claims; then malware on the same open filesystem, then match. Everything opened
 * here is closed in `finally`, and an aborted scan closes its target at once.
 */
import { createHash } from 'node:crypto';
import { ANALYZERS } from '../analyze/registry.ts';
import type { Analyzer } from '../analyze/index.ts';
import { analyzeClaims, walkClaims, type Claims } from '../analyze/run.ts';
import { PathFileSystem } from '../fs/path-fs.ts';
import type { Inventory, NodeIdentity } from '../inventory/index.ts';
import { scanMalware, type MalwareScanOptions } from '../malware/run.ts';
import type { MatchResult } from '../match/index.ts';
import { matchInventory, wasAssessed } from '../match/run.ts';
import { UsageError } from '../util/errors.ts';
import type { VulnDb } from '../vulndb/index.ts';
import { SCAN_RESULT_SCHEMA_VERSION, type ScanResult, type ScannerId } from './result.ts';
import { MALWARE_CACHE_BYTES } from './scan.ts';
import { openTargetFilesystem, type TargetOptions } from './target.ts';

/** Bump when what goes into a fingerprint changes (stored fingerprints then no longer match). */
export const FINGERPRINT_VERSION = 1;
/** Analyzers whose claimed files are hashed by content: the package databases and os-release. */
const CONTENT_ANALYZERS: ReadonlySet<string> = new Set(['os-release', 'dpkg', 'rpm', 'apk']);
/** dpkg's per-package manifests are many small files: their metadata (with ctime and inode) stands for them. */
const METADATA_ONLY_PREFIXES = ['/var/lib/dpkg/info/'];
/** A claimed database larger than this is hashed by metadata only (the analyzer refuses it anyway). */
const MAX_CONTENT_HASH_BYTES = 256 * 1024 * 1024;

/**
 * The inventory fingerprint of a filesystem: analyzer ids and versions, every claimed path with
 * its metadata (type, size, mode, owner, inode, mtime, ctime), and the bytes of the package
 * databases and os-release. Two nodes cloned from one image and never changed since have equal
 * fingerprints; an installed, removed or altered package, kernel or Go binary changes it.
 */
export async function fingerprintClaims(fs: PathFileSystem, analyzers: readonly Analyzer[], claims: Claims): Promise<string> {
  const h = createHash('sha256');
  h.update(`hullscan-fingerprint/${FINGERPRINT_VERSION}\n`);
  for (const [i, a] of analyzers.entries()) {
    h.update(`analyzer ${a.id} ${a.version}${claims.overflow[i] ? ' overflow' : ''}\n`);
    for (const { path, stat: s } of claims.files[i]!) {
      h.update(`${path}\0${s.type}\0${s.size}\0${s.mode}\0${s.uid}\0${s.gid}\0${s.ino}\0${s.mtimeMs}\0${s.ctimeMs ?? ''}\n`);
      if (!CONTENT_ANALYZERS.has(a.id) || s.type !== 'file' || s.size > MAX_CONTENT_HASH_BYTES) continue;
      if (METADATA_ONLY_PREFIXES.some((p) => path.startsWith(p))) continue;
      try {
        const f = await fs.open(path);
        for await (const chunk of f.stream()) h.update(chunk);
        h.update('\0content\n');
      } catch (err) {
        // Unreadable now means unreadable for the analyzer too: it belongs to this fingerprint.
        h.update(`\0unreadable ${(err as Error).name}\n`);
      }
    }
  }
  return `sha256:${h.digest('hex')}`;
}

/** Bump when what goes into a quick key changes. */
export const QUICK_KEY_VERSION = 1;
/** A directory with at most this many entries has each entry's metadata in the quick key; a larger one only names and inodes. */
const QUICK_FULL_STAT_MAX_ENTRIES = 64;
/** How deep below an analyzer root small directories are followed (/boot → /boot/grub). */
const QUICK_MAX_DEPTH = 2;

function metaLine(path: string, s: { type: string; size: number; mode: number; uid: number; gid: number; ino: number; mtimeMs: number; ctimeMs?: number }): string {
  return `${path}\0${s.type}\0${s.size}\0${s.mode}\0${s.uid}\0${s.gid}\0${s.ino}\0${s.mtimeMs}\0${s.ctimeMs ?? ''}\n`;
}

/**
 * The quick key of a filesystem: metadata only, no walk and no file contents — each analyzer
 * root's metadata (type, size, mode, owner, inode, mtime, ctime), the names and inodes of its
 * entries, and the metadata of every entry of small directories (≤ 64 entries, two levels:
 * /boot, /boot/grub, /usr/lib/modules, /usr/local/bin, /var/lib/rpm …). A clone of an image that
 * nobody changed has the quick key of the node it was cloned with; installing, removing or
 * upgrading a package rewrites the package database (new inode or ctime), a new kernel or a
 * binary added, removed or renamed into place changes a directory. What it cannot see: a file
 * in a large directory (/usr/bin) overwritten in place — the full fingerprint (fingerprintClaims)
 * does; the control plane computes it whenever the quick key is unknown, and always when asked
 * to (`fullFingerprint`).
 */
export async function quickKey(fs: PathFileSystem, analyzers: readonly Analyzer[]): Promise<string> {
  const h = createHash('sha256');
  h.update(`hullscan-quick-key/${QUICK_KEY_VERSION}\n`);
  for (const a of analyzers) h.update(`analyzer ${a.id} ${a.version}\n`);
  const roots = [...new Set(analyzers.flatMap((a) => a.roots))].sort();
  const visit = async (path: string, depth: number): Promise<void> => {
    let st;
    try {
      st = await fs.lstat(path);
    } catch (err) {
      h.update(`${path}\0absent ${(err as Error).name}\n`);
      return;
    }
    h.update(metaLine(path, st));
    if (st.type !== 'dir') return;
    let entries;
    try {
      entries = await fs.readdir(path);
    } catch (err) {
      h.update(`${path}\0unlistable ${(err as Error).name}\n`);
      return;
    }
    entries.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    for (const e of entries) h.update(`${e.name}\0${e.ino}\0${e.type}\n`);
    if (entries.length > QUICK_FULL_STAT_MAX_ENTRIES || depth >= QUICK_MAX_DEPTH) return;
    for (const e of entries) await visit(path === '/' ? `/${e.name}` : `${path}/${e.name}`, depth + 1);
  };
  for (const r of roots) await visit(r, 0);
  return `quick:${h.digest('hex')}`;
}

export type NodeScanStage = 'read' | 'match';

export interface NodeDiskScanOptions {
  /** Vulnerability matching against this database (omit to skip the vuln scanner). */
  db?: VulnDb;
  /** Malware scanning on the same open filesystem (omit to skip it). */
  malware?: Omit<MalwareScanOptions, 'node'>;
  node?: NodeIdentity;
  target?: TargetOptions;
  /** A stored inventory with this fingerprint, when there is one: it is reused instead of analyzing the disk. */
  reuse?: (fingerprint: string) => Promise<Inventory | undefined>;
  /**
   * A stored inventory recorded under this quick key (quickKey), with its fingerprint: reused
   * without walking the disk. Omit to always walk and fingerprint (the full check).
   */
  reuseByQuickKey?: (key: string) => Promise<{ inventory: Inventory; fingerprint: string } | undefined>;
  /** Matching, e.g. cached by fingerprint across the nodes of one run (default: matchInventory against db). */
  match?: (inventory: Inventory, fingerprint: string) => MatchResult;
  /** Called with the inventory read from this disk (not for a reused one), before malware and matching. */
  analyzed?: (fingerprint: string, inventory: Inventory) => void;
  onStage?: (stage: NodeScanStage) => Promise<void> | void;
  /** Aborting closes the target: reads in flight fail and the scan rejects. */
  signal?: AbortSignal;
  analyzers?: readonly Analyzer[];
  now?: () => Date;
}

export interface NodeDiskScan {
  result: ScanResult;
  fingerprint: string;
  /** The quick key, when reuseByQuickKey was given. */
  quickKey?: string;
  /** How a reused inventory was found: by quick key (no walk) or by the full fingerprint. */
  reusedBy?: 'quick-key' | 'fingerprint';
  /** Whether the inventory came from the store rather than from this disk. */
  reused: boolean;
  /** Bytes read from the medium (the snapshot) for this node. */
  bytesRead: number;
}

/** Scans one node's disk (or directory) for the control plane. */
export async function scanNodeDisk(spec: string, options: NodeDiskScanOptions): Promise<NodeDiskScan> {
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const analyzers = options.analyzers ?? ANALYZERS;
  options.signal?.throwIfAborted();
  const opened = await openTargetFilesystem(spec, { ...(options.malware !== undefined && { cacheBytes: MALWARE_CACHE_BYTES }), ...(options.target ?? {}) });
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= opened.close());
  const onAbort = () => void close().catch(() => {});
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const fs = opened.fs;
    if (!(fs instanceof PathFileSystem)) throw new UsageError(`inventory needs a walkable filesystem (a PathFileSystem), got ${fs.type}`);
    await options.onStage?.('read');
    const target = opened.disk?.target ?? spec;
    let quick: string | undefined;
    let fingerprint: string;
    let stored: Inventory | undefined;
    let reusedBy: NodeDiskScan['reusedBy'];
    let claims: Claims | undefined;
    if (options.reuseByQuickKey !== undefined) {
      quick = await quickKey(fs, analyzers);
      const hit = await options.reuseByQuickKey(quick);
      if (hit) {
        stored = hit.inventory;
        fingerprint = hit.fingerprint;
        reusedBy = 'quick-key';
      }
    }
    if (stored === undefined) {
      claims = await walkClaims(fs, analyzers);
      fingerprint = await fingerprintClaims(fs, analyzers, claims);
      options.signal?.throwIfAborted();
      stored = await options.reuse?.(fingerprint);
      if (stored !== undefined) reusedBy = 'fingerprint';
    }
    options.signal?.throwIfAborted();
    let inventory: Inventory;
    if (stored !== undefined) {
      inventory = { ...stored, target, scannedAt: startedAt.toISOString() };
      if (options.node !== undefined) inventory.node = options.node;
      else delete inventory.node;
    } else {
      inventory = await analyzeClaims(fs, analyzers, claims!, { target, scannedAt: startedAt, issues: [...opened.issues], ...(options.node !== undefined && { node: options.node }) });
      options.analyzed?.(fingerprint!, inventory);
    }
    options.signal?.throwIfAborted();
    const scanners: ScannerId[] = [];
    if (options.db !== undefined) scanners.push('vuln');
    if (options.malware !== undefined) scanners.push('malware');
    const result: ScanResult = {
      schemaVersion: SCAN_RESULT_SCHEMA_VERSION,
      target,
      ...(options.node !== undefined && { node: options.node }),
      startedAt: startedAt.toISOString(),
      finishedAt: startedAt.toISOString(),
      scanners,
      inventory,
      findings: [],
      alerts: [],
      coverage: { target: [...opened.issues] },
    };
    if (options.malware !== undefined) {
      const malware = await scanMalware(fs, inventory, { ...options.malware, ...(options.node !== undefined && { node: options.node }) });
      result.alerts = malware.alerts;
      result.coverage.malware = malware.coverage;
    }
    options.signal?.throwIfAborted();
    const bytesRead = opened.disk?.medium.stats().bytesRead ?? 0;
    if (options.db !== undefined) {
      await options.onStage?.('match');
      const match = options.match ? options.match(inventory, fingerprint!) : matchInventory(inventory, options.db);
      const status = options.db.status();
      result.findings = options.node === undefined ? match.findings : match.findings.map((f) => ({ ...f, node: options.node! }));
      result.coverage.vuln = {
        assessed: wasAssessed(match),
        namespaces: match.assessed,
        db: { path: status.path, ...(status.builtAt !== undefined && { builtAt: status.builtAt }) },
        issues: match.issues,
      };
    }
    result.finishedAt = now().toISOString();
    const out: NodeDiskScan = { result, fingerprint: fingerprint!, reused: stored !== undefined, bytesRead };
    if (quick !== undefined) out.quickKey = quick;
    if (reusedBy !== undefined) out.reusedBy = reusedBy;
    return out;
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason ?? err;
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    try {
      await close();
    } catch {
      // The handles are gone either way; a failing close must not hide the scan's own outcome.
    }
  }
}
