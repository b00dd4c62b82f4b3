/**
 * The official AWS SDK v3 clients for one account: EKS (clusters, managed node groups), EC2
 * (instances, snapshots) and EBS direct (snapshot blocks). Region and endpoint overrides from
 * the environment file; credentials from the SDK's default chain (environment, web identity /
 * IRSA, SSO, shared files, instance metadata) — never from the store. The SDK retries
 * throttling errors with its standard mode (exponential backoff with jitter).
 */
import { Agent } from 'node:https';
import { EBSClient } from '@aws-sdk/client-ebs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { caOf } from '../azure/clients.ts';
import type { AwsAccountConfig } from '../config.ts';

export interface AwsClients {
  eks: EKSClient;
  ec2: EC2Client;
  ebs: EBSClient;
}

export function awsClients(config: AwsAccountConfig): AwsClients {
  const ca = caOf(config);
  const base = { region: config.region, ...(ca !== undefined && { requestHandler: { httpsAgent: new Agent({ ca, keepAlive: true }) } }) };
  const e = config.endpoints ?? {};
  return {
    eks: new EKSClient({ ...base, ...(e.eks !== undefined && { endpoint: e.eks }) }),
    ec2: new EC2Client({ ...base, ...(e.ec2 !== undefined && { endpoint: e.ec2 }) }),
    ebs: new EBSClient({ ...base, ...(e.ebs !== undefined && { endpoint: e.ebs }) }),
  };
}

/** The AWS error code of an SDK error ("InvalidSnapshot.NotFound", "UnauthorizedOperation"), when it has one. */
export function awsCodeOf(err: unknown): string | undefined {
  const n = (err as { name?: unknown; Code?: unknown } | undefined);
  return typeof n?.Code === 'string' ? n.Code : typeof n?.name === 'string' ? n.name : undefined;
}

export function awsStatusOf(err: unknown): number | undefined {
  const s = (err as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata?.httpStatusCode;
  return typeof s === 'number' ? s : undefined;
}
