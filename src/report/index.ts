/**
 * report/ — output writers for a ScanResult: table (people), json (the ScanResult itself,
 * docs/scan-result.md), sarif (code scanning), csv (spreadsheets), cyclonedx (SBOM with
 * vulnerabilities). One explicit list of formats; each writer is a pure function to a string.
 */
import type { ScanResult } from '../scan/result.ts';
import { UsageError } from '../util/errors.ts';
import { renderCsv } from './csv.ts';
import { renderCycloneDx } from './cyclonedx.ts';
import { renderSarif } from './sarif.ts';
import { renderTableReport } from './table.ts';

export const REPORT_FORMATS = ['table', 'json', 'sarif', 'cyclonedx', 'csv'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportOptions {
  toolVersion: string;
  /** CycloneDX serial number, for reproducible output. */
  serialNumber?: string;
}

export function isReportFormat(s: string): s is ReportFormat {
  return (REPORT_FORMATS as readonly string[]).includes(s);
}

export function renderJson(result: ScanResult): string {
  return JSON.stringify(result, null, 2) + '\n';
}

export function renderReport(result: ScanResult, format: ReportFormat, options: ReportOptions): string {
  switch (format) {
    case 'table': return renderTableReport(result);
    case 'json': return renderJson(result);
    case 'sarif': return renderSarif(result, { toolVersion: options.toolVersion });
    case 'csv': return renderCsv(result);
    case 'cyclonedx': return renderCycloneDx(result, { toolVersion: options.toolVersion, ...(options.serialNumber !== undefined && { serialNumber: options.serialNumber }) });
    default: throw new UsageError(`unknown format '${String(format)}': use ${REPORT_FORMATS.join(', ')}`);
  }
}
