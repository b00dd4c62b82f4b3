/**
 * OIDC login for people (authorization code + PKCE, `openid-client`): any provider configured
 * by issuer URL, client id and secret. The login's state, nonce and PKCE verifier stay in this
 * process (a bounded map, ten minutes), bound to the browser by a short-lived cookie carrying the
 * state; the callback makes a session whose id only the HttpOnly cookie carries (the store keeps
 * its SHA-256).
 */
import * as client from 'openid-client';

export interface OidcOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The callback URL registered with the provider (https://host/api/v1/auth/callback). */
  redirectUri: string;
  scopes?: string;
  /** http:// issuers (a provider on loopback in tests and labs). */
  allowInsecure?: boolean;
}

const LOGIN_TTL_MS = 10 * 60_000;
/** Logins in flight at once; beyond it the oldest are forgotten. */
const MAX_PENDING = 10_000;

interface Pending {
  verifier: string;
  nonce: string;
  returnTo: string;
  expires: number;
}

export interface OidcIdentity {
  subject: string;
  email?: string;
  name?: string;
  returnTo: string;
}

/** A path on this server to return to after login (never another origin). */
export function safeReturnTo(v: string | undefined): string {
  return v !== undefined && /^\/(?![/\\])[\x21-\x7e]*$/.test(v) ? v : '/';
}

export class OidcLogin {
  readonly options: OidcOptions;
  #config: Promise<client.Configuration> | undefined;
  readonly #pending = new Map<string, Pending>();

  constructor(o: OidcOptions) {
    this.options = o;
  }

  #configuration(): Promise<client.Configuration> {
    this.#config ??= client
      .discovery(new URL(this.options.issuer), this.options.clientId, this.options.clientSecret, undefined, this.options.allowInsecure ? { execute: [client.allowInsecureRequests] } : undefined)
      .catch((err: unknown) => {
        this.#config = undefined;
        throw err;
      });
    return this.#config;
  }

  /** The provider's authorization URL and the state to bind to the browser. */
  async start(returnTo: string | undefined, now = Date.now()): Promise<{ url: string; state: string }> {
    const config = await this.#configuration();
    for (const [k, v] of this.#pending) if (v.expires <= now || this.#pending.size >= MAX_PENDING) this.#pending.delete(k);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    this.#pending.set(state, { verifier, nonce, returnTo: safeReturnTo(returnTo), expires: now + LOGIN_TTL_MS });
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.options.redirectUri,
      scope: this.options.scopes ?? 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url: url.href, state };
  }

  /** Completes a login: the callback's query string, and the state the browser's cookie carries. */
  async finish(search: string, cookieState: string | undefined, now = Date.now()): Promise<OidcIdentity> {
    const params = new URLSearchParams(search);
    const state = params.get('state') ?? '';
    const pending = this.#pending.get(state);
    if (pending === undefined || cookieState !== state || pending.expires <= now) throw new Error('login expired or not started in this browser');
    this.#pending.delete(state);
    const config = await this.#configuration();
    const current = new URL(this.options.redirectUri);
    current.search = search;
    const tokens = await client.authorizationCodeGrant(config, current, { pkceCodeVerifier: pending.verifier, expectedState: state, expectedNonce: pending.nonce, idTokenExpected: true });
    const claims = tokens.claims();
    if (claims === undefined) throw new Error('the provider returned no ID token');
    const id: OidcIdentity = { subject: claims.sub, returnTo: pending.returnTo };
    // Providers put profile claims in the ID token or only in the UserInfo answer.
    let info: Record<string, unknown> = claims;
    if (typeof claims['email'] !== 'string' && config.serverMetadata().userinfo_endpoint !== undefined) info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    if (typeof info['email'] === 'string' && info['email_verified'] === true) id.email = info['email'];
    if (typeof info['name'] === 'string') id.name = info['name'];
    return id;
  }
}
