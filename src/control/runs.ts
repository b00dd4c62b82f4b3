/**
 * Starting a scan run for an account: discover (the provider's Discovery), upsert what was found
 * (gone nodes marked gone), then plan one node scan per present node — queued, or skipped with
 * its typed reason (excluded by tag, ephemeral OS disk without a catalogue entry, no disk).
 */
import type { NodeImageCatalog } from '../catalog/index.ts';
import type { Discovery } from '../cloud/index.ts';
import type { Account, FleetStore, RunTrigger, ScanRun } from '../store/index.ts';
import type { NodeScanPlan } from '../store/fleet-store.ts';
import { UsageError } from '../util/errors.ts';
import { redactSecrets } from '../util/redact.ts';
import type { Logger } from './log.ts';
import { exclusionMatch } from './settings.ts';

export interface StartRunOptions {
  store: FleetStore;
  discovery: (account: Account) => Discovery;
  catalog: NodeImageCatalog;
  log: Logger;
  trigger: RunTrigger;
  requestedBy: string;
  /** On-demand runs may be limited to a cluster or a pool (by name). */
  scope?: { cluster?: string; pool?: string };
  now?: () => Date;
}

/** Thrown for an on-demand run of an account whose scanning is off. */
export class ScanningOffError extends UsageError {}

export async function startAccountRun(account: Account, o: StartRunOptions): Promise<ScanRun> {
  const now = o.now ?? (() => new Date());
  if (!account.settings.agentlessScanning) {
    throw new ScanningOffError(`scanning is off for account ${account.id}: turn on "Agentless scanning for machines" (hullscan accounts set ${account.id} agentlessScanning=on)`);
  }
  const run = await o.store.createRun({ account: account.id, trigger: o.trigger, requestedBy: o.requestedBy, at: now().toISOString(), ...(o.scope !== undefined && { scope: o.scope }) });
  const log = o.log.child({ run: run.id, account: account.id });
  try {
    const clusters = await o.discovery(account).discover(account);
    const seenAt = now().toISOString();
    const sync = await o.store.syncDiscovery(account.id, clusters, seenAt);
    log.info({ clusters: sync.clusters, pools: sync.pools, nodes: sync.nodes, gone: sync.gone }, 'discovery done');
    const plans: NodeScanPlan[] = [];
    const clustersById = new Map((await o.store.listClusters({ account: account.id })).map((c) => [c.id, c]));
    const poolsById = new Map((await o.store.listPools({ account: account.id })).map((p) => [p.id, p]));
    for (const { node } of await o.store.listNodes({ account: account.id })) {
      const cluster = clustersById.get(node.cluster);
      const pool = poolsById.get(node.pool);
      if (!cluster || !pool) continue;
      if (o.scope?.cluster !== undefined && cluster.name !== o.scope.cluster) continue;
      if (o.scope?.pool !== undefined && pool.name !== o.scope.pool) continue;
      const tags = account.settings.exclusionTags;
      const excludedBy =
        (exclusionMatch(cluster.tags, tags) && `cluster ${cluster.name} is tagged ${exclusionMatch(cluster.tags, tags)}`) ||
        (exclusionMatch(pool.tags, tags) && `node pool ${pool.name} is tagged ${exclusionMatch(pool.tags, tags)}`) ||
        (exclusionMatch(node.tags, tags) && `node ${node.name} is tagged ${exclusionMatch(node.tags, tags)}`);
      if (excludedBy) {
        plans.push({ nodeId: node.id, state: 'skipped', reason: 'excluded', reasonDetail: excludedBy });
      } else if (node.ephemeralOsDisk) {
        const inCatalog = pool.imageFamily !== undefined && pool.imageVersion !== undefined && o.catalog.get(pool.imageFamily, pool.imageVersion) !== undefined;
        if (inCatalog) plans.push({ nodeId: node.id, state: 'queued' });
        else {
          const image = pool.imageFamily ? `${pool.imageFamily}${pool.imageVersion ? ' ' + pool.imageVersion : ''}` : 'an unknown node image';
          plans.push({ nodeId: node.id, state: 'skipped', reason: 'ephemeral-disk', reasonDetail: `ephemeral OS disk (no snapshot possible) and ${image} is not in the node-image catalogue` });
        }
      } else if (node.diskRef === undefined) {
        plans.push({ nodeId: node.id, state: 'skipped', reason: 'no-disk', reasonDetail: 'discovery found no OS disk for this node' });
      } else {
        plans.push({ nodeId: node.id, state: 'queued' });
      }
    }
    await o.store.startRun(run.id, plans, now().toISOString());
    log.info({ trigger: o.trigger, queued: plans.filter((p) => p.state === 'queued').length, skipped: plans.filter((p) => p.state === 'skipped').length }, 'scan run started');
  } catch (err) {
    const message = redactSecrets((err as Error)?.message ?? String(err));
    log.error({ err: message }, 'scan run failed before its node scans started');
    await o.store.failRun(run.id, `discovery failed: ${message}`, now().toISOString());
  }
  return (await o.store.getRun(run.id))!;
}

/**
 * Discovery only (no run, no snapshot): accounts with scanning off still show their clusters,
 * pools and nodes, as not scanned and why (coverage).
 */
export async function discoverOnly(account: Account, o: Pick<StartRunOptions, 'store' | 'discovery' | 'log' | 'now'>): Promise<void> {
  const now = o.now ?? (() => new Date());
  try {
    const clusters = await o.discovery(account).discover(account);
    await o.store.syncDiscovery(account.id, clusters, now().toISOString());
  } catch (err) {
    o.log.warn({ account: account.id, err: redactSecrets((err as Error)?.message ?? String(err)) }, 'discovery failed');
  }
}
