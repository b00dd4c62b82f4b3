/** Severity chips and small formatters shared by the views. */
import { Badge, Tooltip, type BadgeProps } from '@fluentui/react-components';
import type { ReactNode } from 'react';

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'negligible', 'unknown'] as const;
export type Severity = (typeof SEVERITIES)[number];

const COLOR: Record<Severity, BadgeProps['color']> = { critical: 'danger', high: 'severe', medium: 'warning', low: 'informative', negligible: 'subtle', unknown: 'subtle' };

export function severityLabel(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function SeverityBadge({ severity }: { severity: string }): ReactNode {
  const color = COLOR[severity as Severity] ?? 'subtle';
  return (
    <Badge appearance={severity === 'critical' || severity === 'high' ? 'filled' : 'tint'} color={color} shape="rounded">
      {severityLabel(severity)}
    </Badge>
  );
}

export function KevBadge({ kev, dateAdded }: { kev: boolean; dateAdded?: string | null }): ReactNode {
  if (!kev) return null;
  return (
    <Tooltip content={`In CISA's Known Exploited Vulnerabilities catalog${dateAdded ? ` since ${dateAdded}` : ''}`} relationship="description">
      <Badge appearance="filled" color="danger" shape="rounded">KEV</Badge>
    </Tooltip>
  );
}

export function pct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined ? '—' : `${(x * 100).toFixed(digits)}%`;
}

export function date(iso: string | null | undefined): string {
  if (!iso) return '—';
  return iso.slice(0, 10);
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

export function ageDays(iso: string, now = Date.now()): number {
  return Math.max(0, Math.floor((now - Date.parse(iso)) / 86_400_000));
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** Reads a field the API document leaves open (a loose object) without trusting its type. */
export function field<T>(o: unknown, key: string, is: (v: unknown) => v is T): T | undefined {
  if (typeof o !== 'object' || o === null) return undefined;
  const v = (o as Record<string, unknown>)[key];
  return is(v) ? v : undefined;
}
export const isString = (v: unknown): v is string => typeof v === 'string';
export const isNumber = (v: unknown): v is number => typeof v === 'number';
export const isArray = (v: unknown): v is unknown[] => Array.isArray(v);
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
