/**
 * RFC 9457 problem details: every error the API answers is one of these (`application/problem+json`),
 * mapped in one place (toProblem) from the layers' errors. Internal errors answer a generic
 * detail with the request id; their message goes to the log only, redacted (redact()).
 */
import { HTTPException } from 'hono/http-exception';
import { ConflictError } from '../store/driver.ts';
import { ServiceError } from '../service/index.ts';
import { UsageError } from '../util/errors.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  requestId?: string;
  /** Validation problems: where and what. */
  errors?: { path: string; message: string }[];
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An error a handler throws to answer a given problem. */
export class ApiProblem extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly errors: Problem['errors'];
  constructor(status: number, detail: string, options: { headers?: Record<string, string>; errors?: Problem['errors'] } = {}) {
    super(detail);
    this.name = 'ApiProblem';
    this.status = status;
    this.headers = options.headers ?? {};
    this.errors = options.errors;
  }
}

export function problemBody(status: number, detail: string | undefined, extra: Partial<Problem> = {}): Problem {
  const p: Problem = { type: status === 500 ? 'about:blank' : `https://hullscan.dev/problems/${status}`, title: TITLES[status] ?? 'Error', status, ...extra };
  if (detail !== undefined) p.detail = redact(detail);
  return p;
}

/** Maps an error to its status and public detail; `internal` when the detail must not be shown. */
export function toProblem(err: unknown): { status: number; detail: string; internal: boolean; headers: Record<string, string>; errors?: Problem['errors'] } {
  if (err instanceof ApiProblem) return { status: err.status, detail: err.message, internal: false, headers: err.headers, ...(err.errors && { errors: err.errors }) };
  // Hono's own: a body that is not the JSON it says it is, and the like.
  if (err instanceof HTTPException && err.status < 500) return { status: err.status, detail: err.status === 400 ? 'malformed request body' : err.message, internal: false, headers: {} };
  if (err instanceof ServiceError) return { status: err.kind === 'not-found' ? 404 : 400, detail: err.message, internal: false, headers: {} };
  if (err instanceof ConflictError) return { status: 409, detail: err.message, internal: false, headers: {} };
  if (err instanceof UsageError) return { status: 409, detail: err.message, internal: false, headers: {} };
  return { status: 500, detail: 'internal error: see the server log for this request id', internal: true, headers: {} };
}

/** Strips what must never reach a log line or an error body: URL query strings (SAS signatures), bearer tokens, passwords in URLs. */
export function redact(s: string): string {
  return s
    .replace(/(https?:\/\/[^\s?#'"]+)\?[^\s'"]*/gi, '$1?[redacted]')
    .replace(/(\w+:\/\/)[^\s/@:]+:[^\s/@]+@/g, '$1[redacted]@')
    .replace(/hs_[A-Za-z0-9_-]{16,}/g, 'hs_[redacted]')
    .replace(/(bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, '$1[redacted]');
}

/** redact() over every string of a JSON value. */
export function redactDeep<T>(v: T): T {
  if (typeof v === 'string') return redact(v) as T;
  if (Array.isArray(v)) return v.map(redactDeep) as T;
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactDeep(x)])) as T;
  return v;
}
