/**
 * The typed API client: openapi-fetch over the types generated from the server's OpenAPI
 * document (schema.d.ts, scripts/web-build.ts), so a changed route or field fails the build.
 * Credentials: requests carry the browser's own Authorization header (automation), the session
 * cookie (OIDC login), or the token signed in with the form (sessionStorage, this tab only).
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export const TOKEN_KEY = 'hullscan.token';

export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

let csrfToken: string | undefined;
export function setCsrfToken(t: string | undefined): void {
  csrfToken = t;
}

const auth: Middleware = {
  onRequest({ request }) {
    const t = storedToken();
    if (t !== null && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${t}`);
    if (csrfToken !== undefined && request.method !== 'GET') request.headers.set('x-csrf-token', csrfToken);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });
api.use(auth);

/** An RFC 9457 problem the API answered, as an Error whose message says what happened. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Partial<Schemas['Problem']>;
  constructor(status: number, problem: Partial<Schemas['Problem']>) {
    const what = problem.detail ?? problem.title ?? `HTTP ${status}`;
    super(`${what}${problem.requestId ? ` (request ${problem.requestId})` : ''}`);
    this.status = status;
    this.problem = problem;
  }
}

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The answer's data, or an ApiError with the problem's detail. */
export async function ok<T>(p: Promise<FetchResult<T>>): Promise<T> {
  let r: FetchResult<T>;
  try {
    r = await p;
  } catch (err) {
    throw new Error(`the server cannot be reached (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  if (r.response.ok) return r.data as T;
  const e = (typeof r.error === 'object' && r.error !== null ? r.error : {}) as Partial<Schemas['Problem']>;
  throw new ApiError(r.response.status, e);
}

/** Every page of a cursor-paged list. */
export async function allPages<T>(fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; next: string | null }>, max = 50): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < max; i++) {
    const page = await fetchPage(cursor);
    out.push(...page.items);
    if (page.next === null) break;
    cursor = page.next;
  }
  return out;
}

/** Downloads an authenticated API answer as a file (links cannot carry the token header). */
export async function download(path: string, fallbackName: string): Promise<void> {
  const headers: Record<string, string> = {};
  const t = storedToken();
  if (t !== null) headers['authorization'] = `Bearer ${t}`;
  const res = await fetch(path, { headers, credentials: 'same-origin' });
  if (!res.ok) {
    const problem = (await res.json().catch(() => ({}))) as Partial<Schemas['Problem']>;
    throw new ApiError(res.status, problem);
  }
  const name = /filename="?([^";]+)"?/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName;
  saveBlob(await res.blob(), name);
}

export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
