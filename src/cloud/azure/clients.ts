/**
 * The official ARM clients (@azure/arm-containerservice, @azure/arm-compute) for one account:
 * endpoint, extra CA and credential from its configuration. The SDK's pipeline does the rest:
 * bearer tokens, retries with exponential backoff, 429 / 5xx with Retry-After honoured,
 * long-running operations polled through Azure-AsyncOperation / Location.
 */
import { readFileSync } from 'node:fs';
import { ComputeManagementClient } from '@azure/arm-compute';
import { ContainerServiceClient } from '@azure/arm-containerservice';
import type { TokenCredential } from '@azure/identity';
import type { AzureAccountConfig } from '../config.ts';

export interface AzureClients {
  aks: ContainerServiceClient;
  compute: ComputeManagementClient;
  /** Extra trusted CA (PEM) for the read URLs, when the configuration names one. */
  ca: string | undefined;
}

export function caOf(config: { caFile?: string | undefined }): string | undefined {
  return config.caFile === undefined ? undefined : readFileSync(config.caFile, 'utf8');
}

export function azureClients(config: AzureAccountConfig, credential: TokenCredential): AzureClients {
  const ca = caOf(config);
  const options = {
    ...(config.endpoint !== undefined && { endpoint: config.endpoint.replace(/\/+$/, ''), credentials: { scopes: [`${new URL(config.endpoint).origin}/.default`] } }),
    ...(ca !== undefined && { tlsOptions: { ca } }),
    ...(config.retryDelayMs !== undefined && { retryOptions: { retryDelayInMs: config.retryDelayMs, maxRetryDelayInMs: config.retryDelayMs * 8 } }),
    userAgentOptions: { userAgentPrefix: 'hullscan' },
  };
  return {
    aks: new ContainerServiceClient(credential, config.subscriptionId, options),
    compute: new ComputeManagementClient(credential, config.subscriptionId, options),
    ca,
  };
}

/** The HTTP status of an SDK error (RestError), when it has one. */
export function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** The ARM error code of an SDK error ("ResourceNotFound", "AuthorizationFailed"), when it has one. */
export function codeOf(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | undefined)?.code;
  return typeof c === 'string' ? c : undefined;
}
