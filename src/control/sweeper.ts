/**
 * The snapshot sweeper: deletes what a crash left behind. Two sources, so that a crash at any
 * point leaves nothing: the store's lease ledger (leases not deleted whose lease expired or
 * whose owner is dead) and the provider's own list of snapshots tagged as ours (expired tags,
 * or a lease the ledger marks deleted or dead). Runs at start and periodically.
 */
import type { SnapshotProvider } from '../cloud/index.ts';
import type { FleetStore } from '../store/index.ts';
import type { Logger } from './log.ts';
import { ownerIsDead } from './owner.ts';

export interface SweepResult {
  deleted: number;
  failed: number;
}

export async function sweepSnapshots(store: FleetStore, providers: readonly SnapshotProvider[], self: string, log: Logger, now: Date = new Date()): Promise<SweepResult> {
  const out: SweepResult = { deleted: 0, failed: 0 };
  const at = now.toISOString();
  const open = await store.openLeases();
  const byId = new Map(open.map((l) => [l.id, l]));
  const reclaimable = (leaseId: string, expires: string | undefined): boolean => {
    const l = byId.get(leaseId);
    if (l) return l.expiresAt < at || ownerIsDead(l.owner, self) || l.state === 'delete-failed';
    // Not open in the ledger: deleted already, or never recorded (tag only) — expiry decides for the latter.
    return expires === undefined || expires < at;
  };
  for (const provider of providers) {
    let ours;
    try {
      ours = await provider.listOurs();
    } catch (err) {
      log.error({ provider: provider.provider, err: String(err) }, 'could not list our snapshots');
      continue;
    }
    const listed = new Set<string>();
    for (const s of ours) {
      listed.add(s.tags.lease);
      if (!reclaimable(s.tags.lease, s.tags.expires)) continue;
      try {
        await provider.delete(s.snapshot);
        if (byId.has(s.tags.lease)) await store.markLeaseDeleted(s.tags.lease, at);
        out.deleted++;
        log.info({ provider: provider.provider, lease: s.tags.lease }, 'swept a leftover snapshot');
      } catch (err) {
        out.failed++;
        if (byId.has(s.tags.lease)) await store.markLeaseDeleteFailed(s.tags.lease, String(err));
        log.error({ provider: provider.provider, lease: s.tags.lease, err: String(err) }, 'sweeping a snapshot failed');
      }
    }
    // Ledger entries of this provider with no tagged snapshot left and a dead or expired owner: nothing to delete.
    for (const l of open) {
      if (l.provider !== provider.provider || listed.has(l.id)) continue;
      if (reclaimable(l.id, l.expiresAt)) await store.markLeaseDeleted(l.id, at);
    }
  }
  return out;
}
