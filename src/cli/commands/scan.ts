/**
 * `hullscan scan <target>`: inventory, vulnerability match, optional malware scan, policy, one
 * report. Progress goes to stderr only when stderr is a TTY; the report goes to stdout or
 * --output. Exit codes: docs/scanning.md ("Exit codes").
 */
import { ALLOW_PRIVATE_URLS_SPEC, ArgumentError, assertTargetExists, type CliIo, parseOptions, targetHttpOptions, writeOutputFile } from '../args.ts';
import { EXIT_INPUT } from '../errors.ts';
import { hullscanVersion } from '../../inventory/sbom/common.ts';
import type { NodeIdentity } from '../../inventory/index.ts';
import type { ScanResult } from '../../scan/result.ts';
import { isReportFormat, renderReport, REPORT_FORMATS } from '../../report/index.ts';
import type { Policy } from '../../scan/policy.ts';
import { SCANNERS, type ScannerId } from '../../scan/result.ts';
import { UsageError } from '../../util/errors.ts';
import { anyMalwareFlag, MALWARE_FLAG_SPECS, MALWARE_HELP, malwareOptionsFrom } from './malware-options.ts';

export const SCAN_HELP = `Usage: hullscan scan <target> [options]
       hullscan scan --sbom FILE [options]

Reads a node disk image, filesystem image, https:// URL or directory without mounting it,
lists its packages, matches them against the local vulnerability database and, with
--scanners malware, scans its files. --sbom re-matches a stored inventory (hullscan's
CycloneDX or inventory JSON) against the current database without reading the disk.

Options:
  --scanners LIST       vuln, malware or vuln,malware (default: vuln)
  --format FORMAT       ${REPORT_FORMATS.join(' | ')} (default: table)
  --output FILE         Write the report to FILE instead of stdout
  --severity LIST       Keep only these severities (critical,high,medium,low,negligible,unknown)
  --ignore-unfixed      Drop findings without a fixed version
  --ignore-status LIST  Drop these fix states (wont-fix,deferred,unimportant,affected,fixed)
  --ignorefile FILE     Ignore list: YAML (id, package, reason, expires), .trivyignore.yaml or lines
  --vex FILE            OpenVEX document; not_affected / fixed statements suppress (repeatable)
  --exit-code N         Exit with N when findings remain after filters or alerts exist (default 0)
  --db PATH             Vulnerability database (default: $HULLSCAN_DB or ~/.local/share/hullscan/vuln.db)
  --sbom FILE           Re-match a stored inventory instead of reading a target
  --volume ID           Volume to read (id such as p1 or lvm:vg/root, or an index)
  --node NAME           Node name, carried into every finding and alert
  --cluster NAME        Cluster name
  --node-pool NAME      Node pool name
  --allow-private-urls  Allow http:// and loopback / private addresses for a URL target
                        (labs, tests, internal mirrors); cloud metadata addresses stay refused
  -h, --help            Show this help

${MALWARE_HELP}
Exit codes: 0 done (no findings left, or no --exit-code), N (--exit-code) findings or alerts,
or a scanner could not assess the node; 2 usage; 3 unreadable input, or no selected scanner
could assess anything (the report says NOT ASSESSED); 4 internal error.
Docs: docs/scanning.md, docs/scan-result.md
`;

function parseScanners(list: string): ScannerId[] {
  const out: ScannerId[] = [];
  for (const raw of list.split(',')) {
    const s = raw.trim();
    if (s === '') continue;
    if (!(SCANNERS as readonly string[]).includes(s)) throw new UsageError(`unknown scanner '${s}': use ${SCANNERS.join(', ')}`);
    if (!out.includes(s as ScannerId)) out.push(s as ScannerId);
  }
  if (out.length === 0) throw new UsageError('--scanners needs vuln, malware or both');
  return out;
}

function parseExitCode(s: string): number {
  if (!/^\d{1,3}$/.test(s) || Number(s) > 255) throw new UsageError(`--exit-code must be 0..255, got '${s}'`);
  return Number(s);
}

export type ScanIo = CliIo;

/** Whether every selected scanner ran but could assess nothing (an unknown OS and no engine, …). */
export function nothingAssessed(result: ScanResult): boolean {
  const vuln = !result.scanners.includes('vuln') || result.coverage.vuln?.assessed === false;
  const malware = !result.scanners.includes('malware') || result.coverage.malware?.assessed === false;
  return vuln && malware;
}

export async function scanCommand(args: string[], io: ScanIo): Promise<number> {
  const { values, positionals } = parseOptions({
    args,
    allowPositionals: true,
    options: {
      scanners: { type: 'string', default: 'vuln' },
      format: { type: 'string', default: 'table' },
      output: { type: 'string' },
      severity: { type: 'string' },
      'ignore-unfixed': { type: 'boolean', default: false },
      'ignore-status': { type: 'string' },
      'exit-code': { type: 'string', default: '0' },
      ignorefile: { type: 'string' },
      vex: { type: 'string', multiple: true },
      db: { type: 'string' },
      sbom: { type: 'string' },
      volume: { type: 'string' },
      node: { type: 'string' },
      cluster: { type: 'string' },
      'node-pool': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...ALLOW_PRIVATE_URLS_SPEC,
      ...MALWARE_FLAG_SPECS,
    },
  });
  if (values.help) {
    io.out(SCAN_HELP);
    return 0;
  }
  if (values.sbom === undefined && positionals.length !== 1) throw new ArgumentError('scan takes one target (or --sbom FILE)');
  if (values.sbom !== undefined && positionals.length > 0) throw new UsageError('scan --sbom FILE takes no target');
  if (!isReportFormat(values.format)) throw new UsageError(`unknown --format '${values.format}': use ${REPORT_FORMATS.join(', ')}`);
  const format = values.format;
  const scanners = parseScanners(values.scanners);
  const exitCode = parseExitCode(values['exit-code']);
  if (!scanners.includes('malware') && anyMalwareFlag(values)) throw new UsageError('malware options need --scanners malware (or vuln,malware)');
  const malware = scanners.includes('malware') ? malwareOptionsFrom(values) : undefined;
  // The engine is loaded only now: `scan --help` and usage errors above need none of it.
  const [{ exitCodeFor, loadIgnoreFile, loadVex, parseFixStates, parseSeverities }, { scanTarget }] = await Promise.all([import('../../scan/policy.ts'), import('../../scan/scan.ts')]);
  const policy: Policy = { ignoreUnfixed: values['ignore-unfixed'] };
  if (values.severity !== undefined) policy.severities = parseSeverities(values.severity);
  if (values['ignore-status'] !== undefined) policy.ignoreStates = parseFixStates(values['ignore-status']);
  if (values.ignorefile !== undefined) {
    policy.ignore = await loadIgnoreFile(values.ignorefile);
    policy.ignorefile = values.ignorefile;
  }
  if (values.vex !== undefined && values.vex.length > 0) {
    policy.vex = [];
    for (const f of values.vex) policy.vex.push(...(await loadVex(f)));
    policy.vexFiles = [...values.vex];
  }
  const node: NodeIdentity = {};
  if (values.node !== undefined) node.node = values.node;
  if (values.cluster !== undefined) node.cluster = values.cluster;
  if (values['node-pool'] !== undefined) node.nodePool = values['node-pool'];
  if (values.output === '') throw new UsageError('--output needs a file name');
  if (positionals[0] !== undefined) await assertTargetExists(positionals[0]);
  const result = await scanTarget(positionals[0] ?? values.sbom!, {
    target: targetHttpOptions(values['allow-private-urls']),
    scanners,
    policy,
    ...(values.db !== undefined && { dbPath: values.db }),
    ...(values.sbom !== undefined && { sbom: values.sbom }),
    ...(values.volume !== undefined && { volume: values.volume }),
    ...(malware !== undefined && { malware }),
    ...(Object.keys(node).length > 0 && { node }),
    ...(io.isTty && { onProgress: (m: string) => io.err(`hullscan: ${m}…\n`) }),
  });
  const text = renderReport(result, format, { toolVersion: hullscanVersion() });
  if (values.output !== undefined) await writeOutputFile(values.output, text);
  else io.out(text);
  const gate = exitCodeFor(result, exitCode);
  if (gate !== 0) return gate;
  // Nothing assessed is no evidence of a clean node: a pipeline must not pass on it by default.
  if (nothingAssessed(result)) {
    io.err('hullscan: nothing could be assessed (the report says why: NOT ASSESSED); exit code 3\n');
    return EXIT_INPUT;
  }
  return 0;
}
