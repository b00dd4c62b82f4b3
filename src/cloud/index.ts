/**
 * cloud/ — where nodes and their disks come from. Central interfaces: {@link Discovery} (an
 * account's clusters → node pools → nodes) and {@link SnapshotProvider} (snapshot a node's disk,
 * open the snapshot as a scan target, delete it, find leftovers by tag). One implementation per
 * provider, listed in cloud/registry.ts: local (the embedded default: image files, directories
 * and URLs named by an environment file); azure and aws build on the same seams.
 *
 * cloud/ knows nothing of findings: it returns what to read, the control plane reads it.
 */
import type { DiscoveredCluster } from '../store/fleet-store.ts';
import type { Account, Node } from '../store/index.ts';
import type { TargetOptions } from '../scan/target.ts';

export type { DiscoveredCluster, DiscoveredNode, DiscoveredPool } from '../store/fleet-store.ts';

export interface Discovery {
  readonly provider: string;
  /** Every cluster of the account with its pools and nodes, as the provider sees them now. */
  discover(account: Account): Promise<DiscoveredCluster[]>;
}

/** Tags every snapshot carries, so a sweeper can find ours by tag even when the ledger lost it. */
export interface SnapshotTags {
  owner: 'hullscan';
  /** The lease id in the store's ledger. */
  lease: string;
  /** The node scan it was made for. */
  scan?: string;
  /** ISO-8601 UTC: after this, a sweeper may delete it. */
  expires: string;
}

export interface Snapshot {
  provider: string;
  /** What `delete` removes: a snapshot resource id; locally, the lease's snapshot directory name. */
  id: string;
  /** What `open` reads: a resource id, a local path. */
  ref: string;
  /** True when the provider could not snapshot and the disk is read in place (a directory, a URL). */
  inPlace?: boolean;
}

/** What the engine opens: a target spec (path or URL) with its options; never logged with a query string. */
export interface SnapshotTarget {
  /** A path or URL; for a target read through `options.source`, what messages call it. */
  spec: string;
  /** Target options; `source` is an already-open BlockSource (EBS direct) the engine reads instead of opening `spec`. */
  options?: TargetOptions;
  /**
   * The first read of the snapshot that failed (it was deleted under the reader, a block failed
   * its checksum), asked once the engine is done: the engine records a file it cannot read as a
   * coverage issue and goes on, so only the medium knows the whole read is incomplete.
   */
  readFailure?: () => Error | undefined;
}

export interface TaggedSnapshot {
  snapshot: Snapshot;
  tags: SnapshotTags;
}

export interface SnapshotProvider {
  readonly provider: string;
  /** Snapshots the node's disk. Throws SnapshotError with a reason the node scan records. */
  create(node: Node, tags: SnapshotTags): Promise<Snapshot>;
  /** Opens a snapshot for reading: a target the engine opens (e.g. a short-lived read URL). */
  open(snapshot: Snapshot): Promise<SnapshotTarget>;
  /** Ends read access opened by `open` (revoke a SAS); a no-op where there is none. */
  close?(snapshot: Snapshot): Promise<void>;
  /** Deletes a snapshot; deleting one that is already gone succeeds. */
  delete(snapshot: Snapshot): Promise<void>;
  /** Every snapshot carrying our owner tag, for the sweeper. */
  listOurs(): Promise<TaggedSnapshot[]>;
}

export const SNAPSHOT_FAILURES = ['disk-not-found', 'snapshot-denied', 'snapshot-failed', 'snapshot-lost', 'no-disk'] as const;
export type SnapshotFailure = (typeof SNAPSHOT_FAILURES)[number];

/** A snapshot could not be made or read; `reason` is the node scan's typed reason. */
export class SnapshotError extends Error {
  readonly reason: SnapshotFailure;
  constructor(reason: SnapshotFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnapshotError';
    this.reason = reason;
  }
}
