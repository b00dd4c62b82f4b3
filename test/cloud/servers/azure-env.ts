/** The environment file of the Azure tests: one azure account pointed at the local ARM server. */
import { writeFileSync } from 'node:fs';
import { testCertificate } from '../../helpers/tls.ts';
import type { ArmServer } from './arm.ts';

export const SUBSCRIPTION = '00000000-0000-0000-0000-0000000000a1';

/** An environment file's azure account pointed at the local ARM server. */
export function azureAccount(arm: ArmServer, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'sub-prod',
    provider: 'azure',
    name: 'Production',
    settings: { agentlessScanning: true },
    azure: { subscriptionId: arm.subscription, endpoint: arm.endpoint, caFile: testCertificate().certFile, pollIntervalMs: 5, retryDelayMs: 20, ...extra },
  };
}

export function azureEnv(path: string, arm: ArmServer, extra: Record<string, unknown> = {}): void {
  writeFileSync(path, JSON.stringify({ accounts: [azureAccount(arm, extra)] }, null, 2));
}
