/** Shared pieces of route configs: JSON bodies, JSON answers, problem answers. */
import type { z } from '@hono/zod-openapi';
import { ProblemSchema } from '../schemas.ts';

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (problem details)',
  401: 'Not authenticated',
  403: 'Authenticated, but the role on this account is too small',
  404: 'No such resource (or not one you may see)',
  409: 'Conflict with the current state',
  412: 'If-Match does not match the current version',
  413: 'Body too large',
  422: 'Idempotency-Key reused for another request',
  428: 'If-Match required',
  429: 'Rate limit exceeded',
  503: 'Not ready',
};

export function errors(...codes: number[]) {
  const out: Record<number, { description: string; content: { 'application/problem+json': { schema: typeof ProblemSchema } } }> = {};
  for (const c of [...codes, 429]) out[c] = { description: PROBLEM_DESCRIPTIONS[c] ?? 'Error', content: { 'application/problem+json': { schema: ProblemSchema } } };
  return out;
}

export function jsonContent<T extends z.ZodType>(schema: T, description: string, headers?: Record<string, string>) {
  return {
    description,
    content: { 'application/json': { schema } },
    ...(headers !== undefined && { headers: Object.fromEntries(Object.entries(headers).map(([k, d]) => [k, { description: d, schema: { type: 'string' as const } }])) }),
  };
}

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { content: { 'application/json': { schema } }, required: true };
}
