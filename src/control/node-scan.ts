/**
 * One node scan, claimed from the store: lease (intent recorded first) → snapshot → open → the
 * engine (fingerprint; inventory or reuse; malware when on) → match → publish in one
 * transaction → delete the snapshot in `finally`, whatever happened. Every failure ends as a
 * failed node scan with a typed reason; nothing here throws past the worker.
 */
import { stat } from 'node:fs/promises';
import { catalogInventory, type NodeImageCatalog } from '../catalog/index.ts';
import { SnapshotError, type Snapshot, type SnapshotProvider } from '../cloud/index.ts';
import type { Inventory, NodeIdentity } from '../inventory/index.ts';
import type { MatchResult } from '../match/index.ts';
import { matchInventory, wasAssessed } from '../match/run.ts';
import { scanNodeDisk } from '../scan/node-scan.ts';
import type { TargetOptions } from '../scan/target.ts';
import { FsPathError } from '../fs/errors.ts';
import { ConflictError, type FleetStore } from '../store/index.ts';
import type { NodeContext, Publication } from '../store/fleet-store.ts';
import type { NodeScan, NodeScanReason } from '../store/index.ts';
import { BudgetError, CorruptError, MissingDependencyError, NotThisFormatError, SourceError, UnsupportedError, UsageError } from '../util/errors.ts';
import { redactSecrets } from '../util/redact.ts';
import type { VulnDb } from '../vulndb/index.ts';
import type { Logger } from './log.ts';
import { WeightedLru } from '../util/lru.ts';
import { isUrl } from '../util/url-policy.ts';

/** Default time one node scan may take before it is abandoned as budget-exceeded. */
export const DEFAULT_NODE_TIME_BUDGET_MS = 30 * 60_000;
/** A snapshot's lease: after this a sweeper may delete it even if its scan still claims it. */
export const DEFAULT_LEASE_MS = 2 * 60 * 60_000;
/** Match results kept per process, by inventory fingerprint and database build. */
const MATCH_CACHE_ENTRIES = 32;
const INVENTORY_CACHE_ENTRIES = 32;

export interface NodeScanDeps {
  store: FleetStore;
  /** Snapshot providers by provider name. */
  snapshots: (provider: string) => SnapshotProvider;
  /** The vulnerability database (undefined: none imported — vulnerability assessment fails with that reason). */
  db: () => VulnDb | undefined;
  catalog: NodeImageCatalog;
  /** This worker's identity (owner of claims and leases). */
  worker: string;
  log: Logger;
  leaseMs?: number;
  timeBudgetMs?: number;
  /** Malware engine options beyond the defaults (rule files, clamd socket). */
  malwareOptions?: Parameters<typeof scanNodeDisk>[1]['malware'];
  /** Always walk and fingerprint every disk (never reuse an inventory by quick key alone). */
  fullFingerprint?: boolean;
  /** Target options for every snapshot read (e.g. http and private addresses allowed, for labs and tests). */
  targetOptions?: TargetOptions;
  now?: () => Date;
  /** Caches shared across this process's node scans. */
  matches?: WeightedLru<string, MatchResult>;
  inventories?: WeightedLru<string, { id: string; inventory: Inventory; fingerprint?: string }>;
  /** Fingerprints being analyzed by a scan of this process now, and their inventory when done. */
  inflight?: Map<string, { promise: Promise<Inventory | undefined>; resolve: (inv: Inventory | undefined) => void }>;
}

export function createCaches(): Required<Pick<NodeScanDeps, 'matches' | 'inventories' | 'inflight'>> {
  return { matches: new WeightedLru(MATCH_CACHE_ENTRIES), inventories: new WeightedLru(INVENTORY_CACHE_ENTRIES), inflight: new Map() };
}

export function identityOf(ctx: NodeContext): NodeIdentity {
  const id: NodeIdentity = { subscription: ctx.account.id, cluster: ctx.cluster.name, nodePool: ctx.pool.name, node: ctx.node.name };
  if (ctx.pool.imageFamily !== undefined && ctx.pool.imageVersion !== undefined) id.nodeImage = { name: ctx.pool.imageFamily, version: ctx.pool.imageVersion };
  return id;
}

/** What a read of a snapshot that went away answers. */
const SNAPSHOT_LOST = /HTTP (404|410)\b|snapshot changed while reading/;

/** The typed reason of a failed scan, from what was thrown. */
export function reasonOf(err: unknown): NodeScanReason {
  if (err instanceof SnapshotError) return err.reason;
  // A remote snapshot (a read URL) that went away or changed under the reader — met on a read, or
  // while probing volumes and filesystems (the probe reports "not readable" with the read's error inside).
  if ((err instanceof SourceError || err instanceof NotThisFormatError || err instanceof CorruptError) && SNAPSHOT_LOST.test(err.message)) return 'snapshot-lost';
  if (err instanceof SourceError && /HTTP 403\b/.test(err.message)) return 'snapshot-denied';
  if (err instanceof BudgetError) return 'budget-exceeded';
  if (err instanceof CorruptError || err instanceof NotThisFormatError || err instanceof UnsupportedError || err instanceof FsPathError || err instanceof SourceError) return 'unreadable-disk';
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'snapshot-lost';
  if (code === 'EACCES' || code === 'EPERM') return 'snapshot-denied';
  if (code === 'EIO' || code === 'EISDIR' || code === 'EINVAL') return 'unreadable-disk';
  return 'internal-error';
}

function detailOf(err: unknown): string {
  const e = err as Error;
  const name = e?.name && e.name !== 'Error' ? `${e.name}: ` : '';
  return redactSecrets(`${name}${e?.message ?? String(err)}`).slice(0, 2000);
}

function matchKey(fingerprint: string, db: VulnDb): string {
  const s = db.status();
  return `${fingerprint}|${s.path}|${s.builtAt ?? ''}`;
}

/** Runs one claimed node scan to its end. Resolves always; the outcome is in the store. */
export async function executeNodeScan(scan: NodeScan, deps: NodeScanDeps): Promise<void> {
  const now = deps.now ?? (() => new Date());
  const started = now().getTime();
  const log = deps.log.child({ nodeScan: scan.id, run: scan.run });
  let ctx: NodeContext | undefined;
  try {
    ctx = await deps.store.nodeContext(scan.node);
    if (!ctx) throw new Error(`node ${scan.node} is not in the store`);
    const scanLog = log.child({ account: ctx.account.id, cluster: ctx.cluster.name, pool: ctx.pool.name, node: ctx.node.name });
    if (ctx.node.ephemeralOsDisk) await scanFromCatalog(scan, ctx, deps, started);
    else await scanFromDisk(scan, ctx, deps, started, scanLog);
  } catch (err) {
    if (err instanceof ConflictError) {
      log.warn({ err }, 'node scan claim lost; another worker owns it now');
      return;
    }
    const reason = reasonOf(err);
    if (reason === 'internal-error') log.error({ err: detailOf(err), stack: (err as Error)?.stack }, 'node scan failed with an internal error');
    else log.warn({ reason, detail: detailOf(err) }, 'node scan failed');
    await deps.store.failNodeScan(scan.id, deps.worker, { reason, detail: detailOf(err), durationMs: now().getTime() - started, at: now().toISOString() }).catch((e: unknown) => {
      log.error({ err: detailOf(e) }, 'could not record the failed node scan');
    });
  }
}

function matchCached(inventory: Inventory, fingerprint: string, db: VulnDb, deps: NodeScanDeps): MatchResult {
  const key = matchKey(fingerprint, db);
  const hit = deps.matches?.get(key);
  if (hit) return hit;
  const result = matchInventory(inventory, db);
  deps.matches?.set(key, result);
  return result;
}

function requireDb(deps: NodeScanDeps): VulnDb {
  const db = deps.db();
  if (db === undefined) throw new MissingDependencyError('no vulnerability database: import one with `hullscan db import` or `hullscan db update` (the same --db as serve/run)');
  return db;
}

/** Ephemeral OS disk: no snapshot possible; the node is assessed from its image's catalogue entry. */
async function scanFromCatalog(scan: NodeScan, ctx: NodeContext, deps: NodeScanDeps, started: number): Promise<void> {
  const now = deps.now ?? (() => new Date());
  const image = ctx.pool.imageFamily !== undefined && ctx.pool.imageVersion !== undefined ? deps.catalog.get(ctx.pool.imageFamily, ctx.pool.imageVersion) : undefined;
  if (!image) throw new SnapshotError('no-disk', 'ephemeral OS disk and the pool\'s node image is not in the catalogue');
  await deps.store.advanceNodeScan(scan.id, deps.worker, 'match', now().toISOString());
  const db = requireDb(deps);
  const fingerprint = `catalog:${image.family}@${image.version}`;
  const inventory = catalogInventory(image, { node: identityOf(ctx), scannedAt: new Date(started) });
  const match = matchCached(inventory, fingerprint, db, deps);
  const pub: Publication = {
    nodeScanId: scan.id,
    worker: deps.worker,
    state: wasAssessed(match) ? 'published' : 'failed',
    reason: wasAssessed(match) ? 'ephemeral-disk' : 'unsupported-os',
    reasonDetail: `ephemeral OS disk: assessed from the image catalogue (${image.family} ${image.version}), not the disk; malware was not scanned`,
    inventory: { fingerprint, source: 'catalog', inventory },
    inventorySource: 'catalog',
    fingerprint,
    bytesRead: 0,
    durationMs: now().getTime() - started,
    coverage: { vuln: { assessed: wasAssessed(match), namespaces: match.assessed, issues: match.issues } },
    at: now().toISOString(),
  };
  if (wasAssessed(match)) pub.findings = match.findings;
  const summary = await deps.store.publishNodeScan(pub);
  deps.log.info({ nodeScan: scan.id, node: ctx.node.name, state: pub.state, inventory: 'catalog', image: `${image.family} ${image.version}`, findings: summary.findings.open }, 'node scan finished');
}

async function scanFromDisk(scan: NodeScan, ctx: NodeContext, deps: NodeScanDeps, started: number, log: Logger): Promise<void> {
  const now = deps.now ?? (() => new Date());
  const provider = deps.snapshots(ctx.account.provider);
  const db = requireDb(deps);
  const at = now();
  const expires = new Date(at.getTime() + (deps.leaseMs ?? DEFAULT_LEASE_MS));
  // Intent first: a crash between here and the provider's answer leaves a lease the sweeper resolves by tag.
  const lease = await deps.store.recordLeaseIntent({ provider: provider.provider, account: ctx.account.id, node: ctx.node.id, nodeScan: scan.id, diskRef: ctx.node.diskRef ?? '', owner: deps.worker, at: at.toISOString(), expiresAt: expires.toISOString() });
  let snapshot: Snapshot | undefined;
  let matched: MatchResult | undefined;
  /** The fingerprint this scan analyzes for the others of this process (see deps.inflight). */
  let claimedFingerprint: string | undefined;
  const abort = new AbortController();
  const budgetMs = deps.timeBudgetMs ?? DEFAULT_NODE_TIME_BUDGET_MS;
  const timer = setTimeout(() => abort.abort(new BudgetError(`the node scan took longer than its time budget (${Math.round(budgetMs / 1000)} s)`)), budgetMs);
  try {
    snapshot = await provider.create(ctx.node, { owner: 'hullscan', lease: lease.id, scan: scan.id, expires: expires.toISOString() });
    await deps.store.confirmLease(lease.id, snapshot.id);
    if (!(await deps.store.advanceNodeScan(scan.id, deps.worker, 'read', now().toISOString()))) throw new ConflictError(`node scan ${scan.id} lost its claim`);
    const target = await provider.open(snapshot);
    const identity = identityOf(ctx);
    const malware = ctx.account.settings.malware ? { ...(deps.malwareOptions ?? {}) } : undefined;
    let reusedId: string | undefined;
    const outcome = await scanNodeDisk(target.spec, {
      db,
      node: identity,
      ...(malware !== undefined && { malware }),
      ...((target.options !== undefined || deps.targetOptions !== undefined) && { target: mergeTargetOptions(deps.targetOptions, target.options) }),
      signal: abort.signal,
      reuse: async (fp) => {
        // Another node scan of this process is reading an image with this fingerprint right now: wait for its inventory.
        const inflight = deps.inflight?.get(fp);
        if (inflight) {
          const inventory = await inflight.promise;
          if (inventory) return inventory;
        }
        const cached = deps.inventories?.get(fp) ?? (await deps.store.findInventory(fp));
        if (cached) {
          deps.inventories?.set(fp, cached);
          reusedId = cached.id;
          return cached.inventory;
        }
        if (deps.inflight && !deps.inflight.has(fp)) {
          let resolve!: (inv: Inventory | undefined) => void;
          const promise = new Promise<Inventory | undefined>((r) => (resolve = r));
          deps.inflight.set(fp, { promise, resolve });
          claimedFingerprint = fp;
        }
        return undefined;
      },
      ...(!deps.fullFingerprint && {
        reuseByQuickKey: async (key: string) => {
          const hit = deps.inventories?.get(key) ?? (await deps.store.findInventoryByKey(key));
          if (!hit) return undefined;
          deps.inventories?.set(key, hit);
          reusedId = hit.id;
          const fingerprint = 'fingerprint' in hit && typeof hit.fingerprint === 'string' ? hit.fingerprint : key;
          return { inventory: hit.inventory, fingerprint };
        },
      }),
      analyzed: (fp, inventory) => {
        const mine = deps.inflight?.get(fp);
        // An inventory from a read that failed part-way is incomplete: nobody may reuse it.
        if (mine && claimedFingerprint === fp) mine.resolve(target.readFailure?.() === undefined ? inventory : undefined);
      },
      match: (inventory, fp) => (matched = matchCached(inventory, fp, db, deps)),
      onStage: async (stage) => {
        if (stage === 'match' && !(await deps.store.advanceNodeScan(scan.id, deps.worker, 'match', now().toISOString()))) throw new ConflictError(`node scan ${scan.id} lost its claim`);
      },
    });
    // The snapshot failed under the reader (gone, corrupt): the engine kept going file by file, but the read is incomplete.
    const readFailure = target.readFailure?.();
    if (readFailure !== undefined) throw readFailure;
    const { result, bytesRead } = outcome;
    const assessed = result.coverage.vuln?.assessed === true;
    const pub: Publication = {
      nodeScanId: scan.id,
      worker: deps.worker,
      state: assessed ? 'published' : 'failed',
      // Reused from a scan still in flight: stored (once) under its fingerprint by whichever publishes first.
      inventory: outcome.reused && reusedId !== undefined ? { id: reusedId } : { fingerprint: outcome.fingerprint, source: 'disk', inventory: result.inventory },
      inventorySource: outcome.reused ? 'reused' : 'disk',
      fingerprint: outcome.fingerprint,
      ...(outcome.quickKey !== undefined && { quickKey: outcome.quickKey }),
      bytesRead,
      durationMs: now().getTime() - started,
      coverage: result.coverage,
      at: now().toISOString(),
    };
    // The cached match result's own findings (the store ignores node identity): nodes sharing an
    // inventory hand the store the same objects, whose serialised details it then reuses.
    if (assessed) pub.findings = matched?.findings ?? result.findings;
    else {
      pub.reason = 'unsupported-os';
      const issue = result.coverage.vuln?.issues[0] ?? result.inventory.issues[0];
      pub.reasonDetail = issue ? issue.message : 'no operating system or package database that the vulnerability data covers was found';
    }
    if (malware !== undefined) pub.alerts = result.alerts;
    if (snapshot.inPlace) pub.reasonDetail = [pub.reasonDetail, 'read in place: the disk could not be frozen by a snapshot'].filter(Boolean).join('; ');
    const summary = await deps.store.publishNodeScan(pub);
    log.info({ state: pub.state, inventory: pub.inventorySource, findings: summary.findings.open, added: summary.findings.added, resolved: summary.findings.resolved, alerts: summary.alerts.active, bytesRead, ms: pub.durationMs }, 'node scan finished');
  } catch (err) {
    if (err instanceof ConflictError || err instanceof SnapshotError || abort.signal.aborted) throw abort.signal.aborted && !(err instanceof ConflictError) ? abort.signal.reason : err;
    // A read that failed because the snapshot disappeared is its own reason.
    if (snapshot !== undefined && snapshot.provider === 'local' && !snapshot.inPlace && (await missing(snapshot.ref))) throw new SnapshotError('snapshot-lost', `the snapshot disappeared while it was read (${detailOf(err)})`, { cause: err });
    if (err instanceof UsageError && /does not exist|no such file/i.test(err.message)) throw new SnapshotError('snapshot-lost', detailOf(err), { cause: err });
    throw err;
  } finally {
    clearTimeout(timer);
    if (claimedFingerprint !== undefined) {
      deps.inflight?.get(claimedFingerprint)?.resolve(undefined);
      deps.inflight?.delete(claimedFingerprint);
    }
    if (snapshot !== undefined) {
      try {
        await provider.close?.(snapshot);
      } catch (err) {
        log.warn({ err: detailOf(err) }, 'could not end read access to the snapshot');
      }
    }
    await deleteSnapshot(provider, snapshot, lease.id, deps, log);
  }
}

/** The control plane's target options (URL policy) with the provider's (a CA, a BlockSource): `http` merged, not replaced. */
function mergeTargetOptions(base: TargetOptions | undefined, provider: TargetOptions | undefined): TargetOptions {
  const out: TargetOptions = { ...(base ?? {}), ...(provider ?? {}) };
  if (base?.http !== undefined || provider?.http !== undefined) out.http = { ...(base?.http ?? {}), ...(provider?.http ?? {}) };
  return out;
}

async function missing(path: string): Promise<boolean> {
  if (isUrl(path)) return false;
  try {
    await stat(path);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Deletes the snapshot (or, when none was confirmed, whatever the lease's tag finds) and records it in the ledger. */
async function deleteSnapshot(provider: SnapshotProvider, snapshot: Snapshot | undefined, leaseId: string, deps: NodeScanDeps, log: Logger): Promise<void> {
  const at = (deps.now ?? (() => new Date()))().toISOString();
  try {
    if (snapshot !== undefined) await provider.delete(snapshot);
    else {
      // Created but the answer was lost, or never created: the tag tells.
      for (const s of await provider.listOurs()) if (s.tags.lease === leaseId) await provider.delete(s.snapshot);
    }
    await deps.store.markLeaseDeleted(leaseId, at);
  } catch (err) {
    log.error({ lease: leaseId, err: detailOf(err) }, 'snapshot delete failed; the sweeper will retry');
    await deps.store.markLeaseDeleteFailed(leaseId, detailOf(err)).catch(() => {});
  }
}
