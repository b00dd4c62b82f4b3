/**
 * The providers, listed explicitly: which Discovery and SnapshotProvider serve an account.
 * local: the environment file's clusters and local disks (the embedded default). azure and aws
 * are named here so that an account of theirs fails with a clear message until they are built.
 */
import { join } from 'node:path';
import type { Account } from '../store/index.ts';
import { UnsupportedError } from '../util/errors.ts';
import type { DiscoveredCluster, Discovery, SnapshotProvider } from './index.ts';
import { LocalDiscovery } from './local/discovery.ts';
import { LocalSnapshotProvider } from './local/snapshots.ts';

export interface ProviderSet {
  discovery(account: Account): Discovery;
  snapshots(provider: string): SnapshotProvider;
  /** Every snapshot provider in use (the sweeper asks each for its tagged leftovers). */
  allSnapshots(): SnapshotProvider[];
}

export interface ProviderSetOptions {
  /** The data directory (local snapshots live in its snapshots/). */
  dataDir: string;
  /** Local accounts' clusters from the environment file, by account id (re-read before each run). */
  localClusters: () => ReadonlyMap<string, readonly DiscoveredCluster[]>;
}

export function createProviders(o: ProviderSetOptions): ProviderSet {
  const local = new LocalSnapshotProvider(join(o.dataDir, 'snapshots'));
  const unsupported = (provider: string) => new UnsupportedError(`the ${provider} provider is not available in this version of hullscan (local only); see docs/control-plane.md`);
  return {
    discovery(account) {
      if (account.provider === 'local') return new LocalDiscovery(o.localClusters());
      throw unsupported(account.provider);
    },
    snapshots(provider) {
      if (provider === 'local') return local;
      throw unsupported(provider);
    },
    allSnapshots: () => [local],
  };
}
