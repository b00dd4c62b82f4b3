/**
 * Re-match on a data update: every stored current inventory is matched against the new
 * vulnerability data and its nodes' findings are published through the same one-transaction
 * path as a disk scan — no disk is read. One run per account (trigger `data-update`); each
 * inventory is matched once however many nodes share it.
 */
import { matchInventory, wasAssessed } from '../match/run.ts';
import type { Account, FleetStore, ScanRun } from '../store/index.ts';
import type { VulnDb } from '../vulndb/index.ts';
import type { Logger } from './log.ts';

export async function rematchAccount(account: Account, store: FleetStore, db: VulnDb, worker: string, log: Logger, now: () => Date = () => new Date()): Promise<ScanRun> {
  const run = await store.createRun({ account: account.id, trigger: 'data-update', requestedBy: 'vulnerability data update', at: now().toISOString() });
  await store.markRunRunning(run.id, now().toISOString());
  let nodes = 0;
  for (const group of await store.currentInventories(account.id)) {
    const inventory = await store.getInventory(group.inventoryId);
    if (!inventory) continue;
    const started = now().getTime();
    const match = matchInventory(inventory, db);
    const assessed = wasAssessed(match);
    for (const nodeId of group.nodeIds) {
      const scan = await store.openNodeScan(run.id, nodeId, worker, now().toISOString());
      await store.publishNodeScan({
        nodeScanId: scan.id,
        worker,
        state: assessed ? 'published' : 'failed',
        ...(assessed ? {} : { reason: 'unsupported-os' as const, reasonDetail: match.issues[0]?.message ?? 'the new data does not cover this node' }),
        inventory: { id: group.inventoryId },
        inventorySource: 'reused',
        ...(assessed && { findings: match.findings }),
        bytesRead: 0,
        durationMs: now().getTime() - started,
        coverage: { vuln: { assessed, namespaces: match.assessed, issues: match.issues, db: { path: db.status().path, builtAt: db.status().builtAt } } },
        at: now().toISOString(),
      });
      nodes++;
    }
  }
  const done = await store.refreshRun(run.id, now().toISOString());
  log.info({ account: account.id, run: run.id, nodes }, 're-match done');
  return done!;
}
