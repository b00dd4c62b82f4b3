/**
 * Azure credentials come from the process environment, never from the store or the environment
 * file: DefaultAzureCredential (workload identity, managed identity, a service principal's
 * AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET or certificate, the Azure CLI), or a
 * bearer token already obtained elsewhere (`az account get-access-token`) in
 * HULLSCAN_AZURE_ACCESS_TOKEN — for CI jobs that are handed a token, and for the tests' local ARM server.
 */
import { DefaultAzureCredential, type AccessToken, type TokenCredential } from '@azure/identity';

export const AZURE_TOKEN_ENV = 'HULLSCAN_AZURE_ACCESS_TOKEN';
/** How long a token given in the environment is taken to be valid when its expiry is not known. */
const STATIC_TOKEN_LIFETIME_MS = 60 * 60_000;

/** A token handed over as it is; it is never refreshed. */
export class StaticTokenCredential implements TokenCredential {
  readonly #token: string;
  readonly #expires: number;
  constructor(token: string, expiresOnTimestamp = Date.now() + STATIC_TOKEN_LIFETIME_MS) {
    this.#token = token;
    this.#expires = expiresOnTimestamp;
  }
  getToken(): Promise<AccessToken> {
    return Promise.resolve({ token: this.#token, expiresOnTimestamp: this.#expires });
  }
}

export function azureCredential(env: NodeJS.ProcessEnv = process.env): TokenCredential {
  const token = env[AZURE_TOKEN_ENV];
  if (token !== undefined && token !== '') return new StaticTokenCredential(token);
  return new DefaultAzureCredential();
}
