/**
 * CSV: one row per finding, suppressed finding and malware alert (`kind` is "vulnerability" or
 * the alert kind: malware, altered-package-file, unowned-system-file). RFC 4180: CRLF line ends,
 * fields holding a comma, quote, CR or LF are quoted with quotes doubled. Spreadsheet formula injection (OWASP
 * "CSV Injection"): a field starting with = + - @ TAB or CR is prefixed with a single quote, so
 * a hostile package name or path cannot become a formula. Versions never start with those
 * characters, but names and paths read from a disk image might.
 */
import type { ScanResult } from '../scan/result.ts';
import { findingPurl } from './common.ts';

export const CSV_COLUMNS = ['kind', 'id', 'package', 'installed', 'fixed', 'state', 'severity', 'epss', 'kev', 'path', 'purl', 'namespace', 'advisory', 'engine', 'sha256', 'cluster', 'node_pool', 'node', 'suppressed'] as const;

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvField(v: string): string {
  const safe = FORMULA_START.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function renderCsv(result: ScanResult): string {
  const rows: string[][] = [[...CSV_COLUMNS]];
  const node = result.node;
  const nodeCols = [node?.cluster ?? '', node?.nodePool ?? '', node?.node ?? ''];
  const findingRow = (f: ScanResult['findings'][number], suppressed: string): string[] => [
    // A grouped kernel finding names all its binary packages, space-separated (the image first).
    'vulnerability', f.vulnerabilityId, (f.packages ?? [f.package]).map((p) => p.name).join(' '), f.package.version, f.fixedVersion ?? '', f.state, f.severity,
    f.epss ? String(f.epss.score) : '', f.kev ? 'yes' : '', f.evidence.package[0]?.path ?? f.package.binaryPath ?? '', findingPurl(f, result),
    f.evidence.namespace, f.evidence.advisory.id, '', '', ...nodeCols, suppressed,
  ];
  for (const f of result.findings) rows.push(findingRow(f, ''));
  for (const s of result.suppressed ?? []) rows.push(findingRow(s.finding, `${s.by}: ${s.rule}`));
  for (const a of result.alerts) {
    rows.push([a.kind, a.rule, a.package?.name ?? '', a.package?.version ?? '', '', '', a.severity, '', '', a.path, '', '', '', a.engine, a.sha256, ...nodeCols, a.suppressed ? a.suppressed.reason : '']);
  }
  return rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}
