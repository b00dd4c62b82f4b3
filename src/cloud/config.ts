/**
 * What a cloud account needs beyond its id: where to look (subscription, resource groups,
 * region), and endpoint overrides for sovereign clouds, private endpoints, labs and the tests'
 * local protocol servers. Parsed at the environment file's boundary (control/environment.ts).
 * Credentials never appear here: they come from the process environment (docs/cloud-providers.md).
 */
import { z } from 'zod';

const httpsUrl = z.string().regex(/^https?:\/\/[^\s]+$/, 'an http(s) URL');

export const azureAccountSchema = z
  .object({
    /** The subscription whose AKS clusters are discovered (a UUID). */
    subscriptionId: z.string().regex(/^[0-9a-fA-F-]{36}$/, 'a subscription id (UUID)'),
    /** Only clusters in these resource groups (default: every cluster of the subscription). */
    resourceGroups: z.array(z.string().min(1)).optional(),
    /** Where snapshots are created (default: the disk's own resource group, i.e. the node resource group). */
    snapshotResourceGroup: z.string().min(1).optional(),
    /** ARM endpoint (default https://management.azure.com). */
    endpoint: httpsUrl.optional(),
    /** Extra trusted CA (PEM file) for the endpoint and the snapshot read URLs: private CAs, labs, tests. */
    caFile: z.string().min(1).optional(),
    /** Seconds a read SAS stays valid (default 3600). */
    sasSeconds: z.number().int().min(60).max(24 * 3600).optional(),
    /** ARM write operations (snapshot create, grant, revoke, delete) in flight at once for this subscription (default 4). */
    maxWritesInFlight: z.number().int().min(1).max(64).optional(),
    /** Polling interval of long-running operations when ARM sends no Retry-After (default: the SDK's, 2 s). */
    pollIntervalMs: z.number().int().min(1).max(60_000).optional(),
    /** First retry delay of the SDK's retry policy (default: the SDK's). */
    retryDelayMs: z.number().int().min(1).max(60_000).optional(),
  })
  .strict();
export type AzureAccountConfig = z.infer<typeof azureAccountSchema>;

export const awsAccountSchema = z
  .object({
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region (eu-west-1)'),
    /** Only these EKS clusters (default: every cluster of the region). */
    clusters: z.array(z.string().min(1)).optional(),
    /** Endpoint overrides (default: the SDK's regional endpoints). */
    endpoints: z
      .object({ eks: httpsUrl.optional(), ec2: httpsUrl.optional(), ebs: httpsUrl.optional(), autoscaling: httpsUrl.optional() })
      .strict()
      .optional(),
    caFile: z.string().min(1).optional(),
    /** GetSnapshotBlock requests in flight at once for one snapshot (default 16). */
    blockConcurrency: z.number().int().min(1).max(64).optional(),
    /** EC2 write operations in flight at once for this account (default 4). */
    maxWritesInFlight: z.number().int().min(1).max(64).optional(),
    /** How often a pending snapshot is polled (default 5 s). */
    pollIntervalMs: z.number().int().min(1).max(60_000).optional(),
  })
  .strict();
export type AwsAccountConfig = z.infer<typeof awsAccountSchema>;

export const kubernetesAccountSchema = z
  .object({
    /** A kubeconfig file (default: $KUBECONFIG, then ~/.kube/config). Its contexts are matched to clusters by name. */
    kubeconfig: z.string().min(1).optional(),
    /** Cluster name → context name, where the context is not named after the cluster. */
    contexts: z.record(z.string(), z.string()).optional(),
  })
  .strict();
export type KubernetesAccountConfig = z.infer<typeof kubernetesAccountSchema>;

/** One account as the providers see it. */
export interface CloudAccount {
  id: string;
  provider: string;
  azure?: AzureAccountConfig;
  aws?: AwsAccountConfig;
  kubernetes?: KubernetesAccountConfig;
}
