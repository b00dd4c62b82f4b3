/**
 * A re-match job (the fan-out form of control/rematch.ts for shared queues): one node of a
 * `data-update` run, claimed like any node scan; its current inventory is matched against the
 * worker's vulnerability data and published through the same one-transaction path. No disk.
 */
import type { MatchResult } from '../match/index.ts';
import { matchInventory, wasAssessed } from '../match/run.ts';
import type { FleetStore, NodeScan } from '../store/index.ts';
import { MissingDependencyError } from '../util/errors.ts';
import type { VulnDb } from '../vulndb/index.ts';
import type { WeightedLru } from '../util/lru.ts';

export async function rematchNodeScan(scan: NodeScan, o: { store: FleetStore; db: VulnDb | undefined; worker: string; cache?: WeightedLru<string, MatchResult>; now?: () => Date }): Promise<void> {
  const now = o.now ?? (() => new Date());
  const started = now().getTime();
  const ctx = await o.store.nodeContext(scan.node);
  const inventoryId = ctx?.node.currentInventoryId;
  if (o.db === undefined) throw new MissingDependencyError('no vulnerability database on this worker');
  if (!ctx || inventoryId === undefined) {
    await o.store.failNodeScan(scan.id, o.worker, { reason: 'internal-error', detail: 'the node has no stored inventory to re-match', at: now().toISOString() });
    return;
  }
  const key = `${inventoryId}|${o.db.status().path}|${o.db.status().builtAt ?? ''}`;
  let match = o.cache?.get(key);
  if (!match) {
    const inventory = await o.store.getInventory(inventoryId);
    if (!inventory) throw new Error(`inventory ${inventoryId} is gone`);
    match = matchInventory(inventory, o.db);
    o.cache?.set(key, match);
  }
  const assessed = wasAssessed(match);
  const db = o.db.status();
  await o.store.publishNodeScan({
    nodeScanId: scan.id,
    worker: o.worker,
    state: assessed ? 'published' : 'failed',
    ...(assessed ? {} : { reason: 'unsupported-os' as const, reasonDetail: match.issues[0]?.message ?? 'the new data does not cover this node' }),
    inventory: { id: inventoryId },
    inventorySource: 'reused',
    ...(assessed && { findings: match.findings }),
    bytesRead: 0,
    durationMs: now().getTime() - started,
    coverage: { vuln: { assessed, namespaces: match.assessed, issues: match.issues, db: { path: db.path, builtAt: db.builtAt } } },
    at: now().toISOString(),
  });
}
