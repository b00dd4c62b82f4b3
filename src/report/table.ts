/**
 * The human-readable report: a header (target, node, OS, coverage lines), findings grouped by
 * severity (critical first) with totals, malware alerts in their own section, then every
 * coverage issue. Plain text, no colour: it is read in terminals and in CI logs alike.
 */
import type { Finding } from '../match/index.ts';
import type { ScanResult } from '../scan/result.ts';
import { SEVERITIES } from '../vulndb/index.ts';
import { issueLocation } from '../util/issues.ts';
import { malwareCoverageLine, nodeLabel, severityCounts, vulnCoverageLine } from './common.ts';

/** Aligned columns; the last column is not padded. */
export function columns(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** Terminal text must not carry control characters from hostile package names or paths. */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** Binary packages named in a grouped kernel finding's cell before "+N more" (all are in the JSON). */
const MAX_GROUPED_NAMES = 3;
/** Longest vendor note shown in the STATE column. */
const MAX_STATE_NOTE_CHARS = 40;

/** "pkg (source)"; a grouped kernel finding names its binary packages: "linux-image-…, linux-libc-dev (linux)". */
function packageCell(f: Finding): string {
  const pkgs = f.packages ?? [f.package];
  const names = pkgs.slice(0, MAX_GROUPED_NAMES).map((p) => p.name).join(', ') + (pkgs.length > MAX_GROUPED_NAMES ? ` +${pkgs.length - MAX_GROUPED_NAMES} more` : '');
  const source = f.package.source?.name;
  return source !== undefined && (pkgs.length > 1 || source !== f.package.name) ? `${names} (${source})` : names;
}

/** The state with the vendor's reason when there is no fix: "wont-fix: end of kernel support", "unimportant". */
function stateCell(f: Finding): string {
  const note = f.state !== 'fixed' && f.state !== 'affected' ? f.vendorStatus?.note : undefined;
  if (note === undefined || note === '') return f.state;
  return `${f.state}: ${note.length > MAX_STATE_NOTE_CHARS ? `${note.slice(0, MAX_STATE_NOTE_CHARS - 1)}…` : note}`;
}

export function renderTableReport(result: ScanResult): string {
  const out: string[] = [];
  out.push(`Target: ${clean(result.target)}`);
  const node = nodeLabel(result);
  if (node !== undefined) out.push(`Node: ${clean(node)}`);
  const os = result.inventory.os;
  out.push(`OS: ${os ? clean(os.prettyName ?? `${os.family} ${os.versionId}`) : 'not detected'}; ${result.inventory.packages.length} packages`);
  out.push(vulnCoverageLine(result));
  if (result.scanners.includes('malware')) out.push(malwareCoverageLine(result));
  if (result.findings.length > 0) {
    const counts = severityCounts(result.findings);
    for (const sev of SEVERITIES) {
      const group = result.findings.filter((f) => f.severity === sev);
      if (group.length === 0) continue;
      out.push('', `${sev.toUpperCase()} (${counts[sev]})`);
      out.push(columns(['CVE', 'PACKAGE', 'INSTALLED', 'FIXED', 'STATE', 'SEVERITY', 'EPSS', 'KEV'], group.map((f) => [
        clean(f.vulnerabilityId),
        clean(packageCell(f)) + (f.kernel ? (f.kernel.bootsByDefault ? ' [boot kernel]' : ' [kernel, not booted]') : ''),
        clean(f.package.version),
        clean(f.fixedVersion ?? '-'),
        clean(stateCell(f)),
        f.severity,
        f.epss ? f.epss.score.toFixed(3) : '-',
        f.kev ? 'yes' : '-',
      ])).trimEnd());
    }
  }
  if (result.alerts.length > 0) {
    out.push('', `MALWARE ALERTS (${result.alerts.length})`);
    out.push(columns(['SEVERITY', 'KIND', 'RULE', 'ENGINE', 'PATH', 'PACKAGE', 'SUPPRESSED'], result.alerts.map((a) => [
      a.severity, a.kind, clean(a.rule), clean(a.engine), clean(a.path), a.package ? clean(`${a.package.name} ${a.package.version}`) : '-', a.suppressed ? clean(a.suppressed.reason) : '-',
    ])).trimEnd());
  }
  if (result.suppressed !== undefined && result.suppressed.length > 0) {
    // Decisions someone wrote down (ignore file, VEX) are listed one by one for audit; the
    // output filters (--severity, --ignore-unfixed) are counted, since they hide by design.
    const decided = result.suppressed.filter((s) => s.by === 'ignorefile' || s.by === 'vex');
    const filtered = result.suppressed.length - decided.length;
    out.push('', `SUPPRESSED FINDINGS (${result.suppressed.length})`);
    if (filtered > 0) {
      const byFilter = new Map<string, number>();
      for (const s of result.suppressed) if (s.by === 'severity' || s.by === 'ignore-unfixed' || s.by === 'ignore-status') byFilter.set(s.by, (byFilter.get(s.by) ?? 0) + 1);
      out.push(`  hidden by output filters: ${[...byFilter].map(([by, n]) => `${n} by --${by}`).join(', ')} (all listed in --format json)`);
    }
    if (decided.length > 0) {
      out.push(columns(['CVE', 'PACKAGE', 'BY', 'RULE'], decided.map((s) => [clean(s.finding.vulnerabilityId), clean(s.finding.package.name), s.by, clean(s.rule + (s.reason ? `: ${s.reason}` : ''))])).trimEnd());
    }
  }
  const issues = [...result.coverage.target, ...(result.inventory.issues ?? []), ...(result.coverage.vuln?.issues ?? []), ...(result.coverage.malware?.issues ?? []), ...(result.policy?.issues ?? [])];
  const seen = new Set<string>();
  const unique = issues.filter((i) => {
    const k = `${i.code}|${i.message}|${i.location ?? ''}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  if (unique.length > 0) {
    out.push('', `COVERAGE ISSUES (${unique.length})`);
    for (const i of unique) out.push(`  [${i.severity}] ${i.code}: ${clean(i.message)}${clean(issueLocation(i))}`);
  }
  return out.join('\n') + '\n';
}
