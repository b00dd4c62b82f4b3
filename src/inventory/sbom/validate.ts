/**
 * Hand-written validators for untrusted JSON (stored SBOMs and inventories): each check names the
 * JSON path it failed at, and every array, string and nesting level is bounded by a named limit.
 * Errors are {@link SbomError}s (this format, but broken), located at that path.
 */
import { CorruptError } from '../../util/errors.ts';

/** A stored SBOM or inventory that is not valid: `location` is the JSON path ("components[3].purl"). */
export class SbomError extends CorruptError {}

/** Longest string field we accept (a path, a purl, a JSON property value), in UTF-16 code units. */
export const MAX_FIELD_CHARS = 64 * 1024;

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export function fail(path: string, message: string): never {
  throw new SbomError(`${path}: ${message}`, { location: path });
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function obj(v: unknown, path: string): JsonObject {
  if (!isObject(v)) fail(path, `expected an object, got ${kind(v)}`);
  return v;
}

export function arr(v: unknown, path: string, max: number): Json[] {
  if (!Array.isArray(v)) fail(path, `expected an array, got ${kind(v)}`);
  if (v.length > max) fail(path, `array of ${v.length} entries is over the limit of ${max}`);
  return v as Json[];
}

export function optArr(v: unknown, path: string, max: number): Json[] {
  return v === undefined ? [] : arr(v, path, max);
}

export function str(v: unknown, path: string, max = MAX_FIELD_CHARS): string {
  if (typeof v !== 'string') fail(path, `expected a string, got ${kind(v)}`);
  if (v.length > max) fail(path, `string of ${v.length} characters is over the limit of ${max}`);
  return v;
}

export function nonEmpty(v: unknown, path: string, max = MAX_FIELD_CHARS): string {
  const s = str(v, path, max);
  if (s === '') fail(path, 'must not be empty');
  return s;
}

export function optStr(v: unknown, path: string, max = MAX_FIELD_CHARS): string | undefined {
  return v === undefined ? undefined : str(v, path, max);
}

export function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, `expected an integer, got ${kind(v)}`);
  if (v < min || v > max) fail(path, `${v} is outside ${min}..${max}`);
  return v;
}

export function optInt(v: unknown, path: string, min: number, max: number): number | undefined {
  return v === undefined ? undefined : int(v, path, min, max);
}

export function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, `expected a boolean, got ${kind(v)}`);
  return v;
}

export function oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T {
  const s = str(v, path, 256);
  if (!(allowed as readonly string[]).includes(s)) fail(path, `'${s.slice(0, 40)}' is not one of ${allowed.join(', ')}`);
  return s as T;
}

/** An ISO-8601 date-time that `Date` can read; returned as given. */
export function dateTime(v: unknown, path: string): string {
  const s = str(v, path, 64);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(s) || Number.isNaN(Date.parse(s))) fail(path, `'${s}' is not an ISO-8601 date-time`);
  return s;
}
