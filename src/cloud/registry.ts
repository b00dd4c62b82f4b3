/**
 * The providers, listed explicitly: which Discovery and SnapshotProvider serve an account.
 * local: the environment file's clusters and local disks (the embedded default). azure: AKS
 * through ARM (cloud/azure/). aws: EKS through EKS / EC2 / EBS direct (cloud/aws/). The
 * Kubernetes API (cloud/kubernetes/) adds node details to either when a kubeconfig is given.
 * Cloud providers take their settings from the environment file's account entries and their
 * credentials from the process environment (docs/cloud-providers.md).
 */
import { join } from 'node:path';
import type { Account } from '../store/index.ts';
import { UnsupportedError, UsageError } from '../util/errors.ts';
import { awsClients } from './aws/clients.ts';
import { AwsDiscovery } from './aws/discovery.ts';
import { AwsSnapshotProvider } from './aws/snapshots.ts';
import { azureClients } from './azure/clients.ts';
import { azureCredential } from './azure/credential.ts';
import { AzureDiscovery } from './azure/discovery.ts';
import { AzureSnapshotProvider } from './azure/snapshots.ts';
import type { CloudAccount } from './config.ts';
import type { DiscoveredCluster, Discovery, SnapshotProvider } from './index.ts';
import { KubeconfigNodes } from './kubernetes/nodes.ts';
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
  /** Cloud accounts' settings from the environment file (re-read before each run). */
  cloudAccounts?: () => readonly CloudAccount[];
  /** Where credentials come from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export function createProviders(o: ProviderSetOptions): ProviderSet {
  const local = new LocalSnapshotProvider(join(o.dataDir, 'snapshots'));
  const env = o.env ?? process.env;
  const accounts = (): readonly CloudAccount[] => o.cloudAccounts?.() ?? [];
  // Built again only when the accounts' settings change (the environment file is re-read before each run).
  let cache: { key: string; azure: AzureSnapshotProvider | undefined; aws: AwsSnapshotProvider | undefined; azureClients: Map<string, ReturnType<typeof azureClients>>; awsClients: Map<string, ReturnType<typeof awsClients>> } | undefined;
  const built = () => {
    const list = accounts();
    const key = JSON.stringify(list);
    if (cache?.key === key) return cache;
    const azure = list.filter((a) => a.provider === 'azure' && a.azure !== undefined);
    const aws = list.filter((a) => a.provider === 'aws' && a.aws !== undefined);
    const azureByAccount = new Map<string, ReturnType<typeof azureClients>>();
    const awsByAccount = new Map<string, ReturnType<typeof awsClients>>();
    if (azure.length > 0) {
      const credential = azureCredential(env);
      for (const a of azure) azureByAccount.set(a.id, azureClients(a.azure!, credential));
    }
    for (const a of aws) awsByAccount.set(a.id, awsClients(a.aws!));
    cache = {
      key,
      azure: azure.length > 0 ? new AzureSnapshotProvider(azure.map((a) => ({ clients: azureByAccount.get(a.id)!, config: a.azure! }))) : undefined,
      aws: aws.length > 0 ? new AwsSnapshotProvider(aws.map((a) => ({ account: a.id, clients: awsByAccount.get(a.id)!, config: a.aws! }))) : undefined,
      azureClients: azureByAccount,
      awsClients: awsByAccount,
    };
    return cache;
  };
  const settingsOf = (account: Account): CloudAccount => {
    const a = accounts().find((x) => x.id === account.id);
    if (!a) throw new UsageError(`account '${account.id}' (${account.provider}) is not in the environment file: its ${account.provider} settings are unknown`);
    return a;
  };
  return {
    discovery(account) {
      if (account.provider === 'local') return new LocalDiscovery(o.localClusters());
      if (account.provider === 'azure') {
        const a = settingsOf(account);
        const clients = built().azureClients.get(a.id);
        if (!clients || !a.azure) throw new UsageError(`azure account '${account.id}' needs an azure: { subscriptionId } entry in the environment file`);
        return new AzureDiscovery({ clients, config: a.azure, ...(a.kubernetes !== undefined && { kubernetes: new KubeconfigNodes(a.kubernetes) }) });
      }
      if (account.provider === 'aws') {
        const a = settingsOf(account);
        const clients = built().awsClients.get(a.id);
        if (!clients || !a.aws) throw new UsageError(`aws account '${account.id}' needs an aws: { region } entry in the environment file`);
        return new AwsDiscovery({ account: a.id, clients, config: a.aws, ...(a.kubernetes !== undefined && { kubernetes: new KubeconfigNodes(a.kubernetes) }) });
      }
      throw new UnsupportedError(`the ${account.provider} provider is not available in this version of hullscan (local, azure, aws); see docs/cloud-providers.md`);
    },
    snapshots(provider) {
      if (provider === 'local') return local;
      const b = built();
      if (provider === 'azure' && b.azure) return b.azure;
      if (provider === 'aws' && b.aws) return b.aws;
      throw new UnsupportedError(`no ${provider} snapshot provider: the environment file configures no ${provider} account (see docs/cloud-providers.md)`);
    },
    allSnapshots: () => {
      const b = built();
      return [local, ...(b.azure ? [b.azure] : []), ...(b.aws ? [b.aws] : [])];
    },
  };
}
