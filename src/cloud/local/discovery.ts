/**
 * Local discovery: the clusters, pools and nodes an environment file lists for an account
 * (docs/control-plane.md). The file is re-read by the caller before each run, so editing it is
 * how a local fleet changes; nodes it no longer lists are marked gone by the store.
 */
import type { Discovery, DiscoveredCluster } from '../index.ts';
import type { Account } from '../../store/index.ts';

export class LocalDiscovery implements Discovery {
  readonly provider = 'local';
  readonly #clusters: ReadonlyMap<string, readonly DiscoveredCluster[]>;

  /** `clusters`: account id → the clusters the environment file lists for it. */
  constructor(clusters: ReadonlyMap<string, readonly DiscoveredCluster[]>) {
    this.#clusters = clusters;
  }

  discover(account: Account): Promise<DiscoveredCluster[]> {
    return Promise.resolve(structuredClone([...(this.#clusters.get(account.id) ?? [])]));
  }
}
