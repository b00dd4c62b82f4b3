/**
 * The scan policy: filters applied to a ScanResult after matching — `--severity LIST`,
 * `--ignore-unfixed`, `--ignore-status STATES`, an ignore file (`--ignorefile`), OpenVEX statements (`--vex`) — and the
 * exit-code rule. Suppressed findings move to `result.suppressed` with the rule that took them;
 * nothing is dropped silently. Formats are documented in docs/scanning.md.
 *
 * Ignore file: YAML (JSON is YAML too) with entries of id, optional package, reason, expires:
 *     ignore:
 *       - id: CVE-2024-5678
 *         package: openssl          # binary or source name, or a purl (version optional)
 *         reason: not reachable on nodes; tracked in SEC-123
 *         expires: 2026-12-31
 * Trivy's `.trivyignore.yaml` shape is read too (`vulnerabilities:` with id, purls, statement,
 * expired_at). A file that is not a YAML mapping is read as the one-line-per-entry form:
 *     CVE-2024-1234                                  # reason
 *     CVE-2024-5678 openssl exp:2026-12-31           # reason
 *     GO-2024-2963 pkg:golang/stdlib exp:2027-01-31
 * An entry applies through the end of its expiry day (UTC); expired entries stop suppressing and
 * are reported as policy issues.
 *
 * OpenVEX: https://github.com/openvex/spec/blob/v0.2.0/OPENVEX-SPEC.md — statements with status
 * not_affected or fixed suppress findings whose vulnerability (name or alias) and product purl
 * (the product's @id or one of its subcomponents) match; under_investigation and affected keep
 * them. A later statement for the same (vulnerability, product) overrides an earlier one (by
 * timestamp, then document order), as the spec's "most recent statement wins" rule says.
 */
import { readFile, stat } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { parsePurl, packagePurl, type PackageUrl } from '../inventory/sbom/purl.ts';
import type { Package } from '../inventory/index.ts';
import type { Finding } from '../match/index.ts';
import { UsageError } from '../util/errors.ts';
import type { Issue } from '../util/issues.ts';
import { MiB } from '../util/units.ts';
import { SEVERITIES, type Severity } from '../vulndb/index.ts';
import type { PolicySummary, ScanResult, SuppressedFinding } from './result.ts';

/** Largest ignore or VEX file read (a hand-written list; real VEX documents are kilobytes). */
export const MAX_POLICY_FILE_BYTES = 16 * MiB;
/** Most ignore entries or VEX statements kept from one file. */
export const MAX_POLICY_ENTRIES = 100_000;
/** Longest ignore-file line considered. */
export const MAX_IGNORE_LINE_CHARS = 4096;

export interface IgnoreEntry {
  id: string;
  /** Binary or source package name, or a purl. */
  package?: string;
  /** YYYY-MM-DD (UTC); the entry applies through the end of that day. */
  expires?: string;
  reason?: string;
  /** "file:line" for evidence. */
  where: string;
}

export type VexStatus = 'not_affected' | 'affected' | 'fixed' | 'under_investigation';

export interface VexStatement {
  /** The vulnerability name and its aliases. */
  vulnerabilities: string[];
  /** Product and subcomponent purls. */
  products: PackageUrl[];
  status: VexStatus;
  justification?: string;
  statement?: string;
  timestamp?: string;
  /** "file#n" for evidence. */
  where: string;
  order: number;
}

export interface Policy {
  severities?: Severity[];
  ignoreUnfixed?: boolean;
  /**
   * Fix states to drop (`--ignore-status wont-fix,deferred,unimportant`): the vendor's "won't
   * fix", "deferred" and "unimportant" named one by one, where `--ignore-unfixed` drops every
   * state without a fix (affected included).
   */
  ignoreStates?: Finding['state'][];
  ignore?: IgnoreEntry[];
  ignorefile?: string;
  vex?: VexStatement[];
  vexFiles?: string[];
  /** Clock for expiry (tests). */
  now?: Date;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Fix states a finding can have, and Trivy's `--ignore-status` words for them. */
const FINDING_STATES: readonly Finding['state'][] = ['fixed', 'affected', 'wont-fix', 'deferred', 'unimportant'];
const TRIVY_STATUS_WORDS: Record<string, Finding['state']> = { will_not_fix: 'wont-fix', end_of_life: 'wont-fix', fix_deferred: 'deferred' };

/** Parses an --ignore-status list ("wont-fix,deferred"; Trivy's will_not_fix, fix_deferred, end_of_life too). */
export function parseFixStates(list: string): Finding['state'][] {
  const out = new Set<Finding['state']>();
  for (const raw of list.split(',')) {
    const word = raw.trim().toLowerCase();
    if (word === '') continue;
    const state = TRIVY_STATUS_WORDS[word] ?? (FINDING_STATES as readonly string[]).find((s) => s === word);
    if (state === undefined) throw new UsageError(`unknown fix state '${raw.trim()}': use ${FINDING_STATES.join(', ')}`);
    out.add(state as Finding['state']);
  }
  if (out.size === 0) throw new UsageError('--ignore-status needs at least one state');
  return [...out];
}

/** "wont-fix; ubuntu: ignored, end of kernel support": the state with the vendor's words. */
function stateWithVendor(f: Finding): string {
  const v = f.vendorStatus;
  return v === undefined ? f.state : `${f.state}; ${v.source}: ${v.status}${v.note ? `, ${v.note}` : ''}`;
}

/** Parses a --severity list ("critical,high"). */
export function parseSeverities(list: string): Severity[] {
  const out: Severity[] = [];
  for (const raw of list.split(',')) {
    const s = raw.trim().toLowerCase();
    if (s === '') continue;
    if (!(SEVERITIES as readonly string[]).includes(s)) throw new UsageError(`unknown severity '${raw.trim()}': use ${SEVERITIES.join(', ')}`);
    out.push(s as Severity);
  }
  if (out.length === 0) throw new UsageError('--severity needs at least one severity');
  return out;
}

async function readPolicyFile(path: string, what: string): Promise<string> {
  let bytes: Buffer;
  try {
    if ((await stat(path)).size > MAX_POLICY_FILE_BYTES) throw new UsageError(`${what} '${path}' is larger than ${MAX_POLICY_FILE_BYTES} bytes`);
    bytes = await readFile(path);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${what} '${path}': ${(err as Error).message}`, { cause: err });
  }
  return bytes.toString('utf8');
}

function validDate(d: string): boolean {
  if (!DATE.test(d)) return false;
  const t = new Date(`${d}T00:00:00Z`);
  return !Number.isNaN(t.getTime()) && t.toISOString().slice(0, 10) === d;
}

/** Trivy entries name packages by `purls: [...]`; one purl is kept (more would need one entry each). */
function trivyPurl(o: Record<string, unknown>, where: string): string | undefined {
  const purls = o['purls'];
  if (purls === undefined || purls === null) return undefined;
  if (!Array.isArray(purls) || purls.length !== 1 || typeof purls[0] !== 'string') throw new UsageError(`${where}: "purls" must list exactly one purl (write one entry per package)`);
  return purls[0];
}

/** YAML aliases allowed in an ignore file: enough for hand-written anchors, too few for a billion-laughs bomb. */
const MAX_YAML_ALIASES = 100;

/** Parses YAML text into a value, or undefined when it is not YAML at all (then the line form applies). */
function yamlDocument(text: string, name: string): unknown {
  try {
    return parseYaml(text, { schema: 'core', maxAliasCount: MAX_YAML_ALIASES, uniqueKeys: true, prettyErrors: false });
  } catch (err) {
    // A document that starts like a mapping but is broken is an error, not a line-format file.
    if (/^\s*(ignore|vulnerabilities)\s*:|^\s*\{/m.test(text)) throw new UsageError(`ignore file ${name}: not valid YAML: ${(err as Error).message}`);
    return undefined;
  }
}

function entryString(o: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new UsageError(`${where}: "${key}" must be a string`);
  return v;
}

/**
 * Parses an ignore file's text: a YAML mapping with `ignore:` (ours) or `vulnerabilities:`
 * (Trivy's .trivyignore.yaml), else the one-entry-per-line form.
 */
export function parseIgnoreFile(text: string, name: string): IgnoreEntry[] {
  const entries: IgnoreEntry[] = [];
  const doc = yamlDocument(text, name);
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    const map = doc as Record<string, unknown>;
    const trivy = map['ignore'] === undefined && map['vulnerabilities'] !== undefined;
    const list = trivy ? map['vulnerabilities'] : map['ignore'];
    if (!Array.isArray(list)) throw new UsageError(`ignore file ${name}: expected a list under "ignore:"`);
    for (const [i, e] of list.slice(0, MAX_POLICY_ENTRIES).entries()) {
      const where = `${name}#${i}`;
      if (e === null || typeof e !== 'object' || Array.isArray(e)) throw new UsageError(`${where}: an entry must be a mapping with "id"`);
      const o = e as Record<string, unknown>;
      const id = entryString(o, 'id', where);
      if (id === undefined || id === '') throw new UsageError(`ignore file ${name}: entry ${i} has no "id"`);
      const entry: IgnoreEntry = { id, where };
      const pkg = trivy ? trivyPurl(o, where) : entryString(o, 'package', where);
      if (pkg !== undefined && pkg !== '') entry.package = pkg;
      const reason = entryString(o, trivy ? 'statement' : 'reason', where);
      if (reason !== undefined) entry.reason = reason;
      const expires = entryString(o, trivy ? 'expired_at' : 'expires', where);
      if (expires !== undefined) {
        if (!validDate(expires)) throw new UsageError(`ignore file ${name}: entry ${i} "${trivy ? 'expired_at' : 'expires'}" must be YYYY-MM-DD`);
        entry.expires = expires;
      }
      entries.push(entry);
    }
    return entries;
  }
  for (const [i, rawLine] of text.split(/\r?\n/).entries()) {
    if (entries.length >= MAX_POLICY_ENTRIES) break;
    const line = rawLine.length > MAX_IGNORE_LINE_CHARS ? rawLine.slice(0, MAX_IGNORE_LINE_CHARS) : rawLine;
    const hash = line.search(/(^|\s)#/);
    const body = (hash < 0 ? line : line.slice(0, hash)).trim();
    const reason = hash < 0 ? undefined : line.slice(hash).replace(/^\s*#\s*/, '').trim();
    if (body === '') continue;
    const where = `${name}:${i + 1}`;
    const [id, ...rest] = body.split(/\s+/);
    const entry: IgnoreEntry = { id: id!, where };
    for (const tok of rest) {
      if (tok.startsWith('exp:')) {
        const d = tok.slice(4);
        if (!validDate(d)) throw new UsageError(`${where}: expiry '${tok}' must be exp:YYYY-MM-DD`);
        entry.expires = d;
      } else if (entry.package === undefined) {
        entry.package = tok;
      } else {
        throw new UsageError(`${where}: unexpected '${tok}' (format: ID [PACKAGE] [exp:YYYY-MM-DD] [# reason])`);
      }
    }
    if (reason) entry.reason = reason;
    entries.push(entry);
  }
  return entries;
}

const VEX_STATUSES: readonly VexStatus[] = ['not_affected', 'affected', 'fixed', 'under_investigation'];

/** Parses an OpenVEX document (0.2.0; the 0.0.x string form of `vulnerability` is accepted too). */
export function parseOpenVex(text: string, name: string): VexStatement[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`VEX file ${name}: not valid JSON: ${(err as Error).message}`);
  }
  const d = doc as { '@context'?: unknown; statements?: unknown; timestamp?: unknown };
  if (typeof d?.['@context'] !== 'string' || !d['@context'].startsWith('https://openvex.dev/ns')) throw new UsageError(`VEX file ${name}: not an OpenVEX document (@context must be https://openvex.dev/ns/…)`);
  if (!Array.isArray(d.statements)) throw new UsageError(`VEX file ${name}: no "statements" array`);
  const docTime = typeof d.timestamp === 'string' ? d.timestamp : undefined;
  const out: VexStatement[] = [];
  for (const [i, s] of d.statements.slice(0, MAX_POLICY_ENTRIES).entries()) {
    const st = s as Record<string, unknown>;
    const where = `${name}#statement ${i}`;
    const v = st.vulnerability;
    const vulnerabilities: string[] = [];
    if (typeof v === 'string') vulnerabilities.push(v);
    else if (v && typeof v === 'object') {
      const vo = v as Record<string, unknown>;
      if (typeof vo.name === 'string') vulnerabilities.push(vo.name);
      if (Array.isArray(vo.aliases)) for (const a of vo.aliases) if (typeof a === 'string') vulnerabilities.push(a);
    }
    if (vulnerabilities.length === 0) throw new UsageError(`${where}: no vulnerability name`);
    if (typeof st.status !== 'string' || !(VEX_STATUSES as readonly string[]).includes(st.status)) throw new UsageError(`${where}: status must be one of ${VEX_STATUSES.join(', ')}`);
    const products: PackageUrl[] = [];
    for (const p of Array.isArray(st.products) ? st.products : []) {
      const ids: string[] = [];
      const po = p as Record<string, unknown>;
      if (typeof p === 'string') ids.push(p);
      else if (typeof po?.['@id'] === 'string') ids.push(po['@id']);
      if (Array.isArray(po?.subcomponents)) for (const sc of po.subcomponents) if (typeof (sc as Record<string, unknown>)?.['@id'] === 'string') ids.push((sc as Record<string, string>)['@id']!);
      for (const id of ids) {
        if (!id.startsWith('pkg:')) continue;
        try {
          products.push(parsePurl(id));
        } catch (err) {
          throw new UsageError(`${where}: product '${id}' is not a valid purl: ${(err as Error).message}`);
        }
      }
    }
    const statement: VexStatement = { vulnerabilities, products, status: st.status as VexStatus, where, order: i };
    if (typeof st.justification === 'string') statement.justification = st.justification;
    if (typeof st.impact_statement === 'string') statement.statement = st.impact_statement;
    else if (typeof st.status_notes === 'string') statement.statement = st.status_notes;
    const ts = typeof st.timestamp === 'string' ? st.timestamp : docTime;
    if (ts !== undefined) statement.timestamp = ts;
    out.push(statement);
  }
  return out;
}

export async function loadIgnoreFile(path: string): Promise<IgnoreEntry[]> {
  return parseIgnoreFile(await readPolicyFile(path, 'ignore file'), path);
}

export async function loadVex(path: string): Promise<VexStatement[]> {
  return parseOpenVex(await readPolicyFile(path, 'VEX file'), path);
}

function findingIds(f: Finding): string[] {
  return [f.vulnerabilityId, ...f.aliases];
}

/**
 * Whether a package-scoped rule applies to a finding. A grouped kernel finding (several binary
 * packages of one kernel) is taken by a rule that names its package (the kernel image) or every
 * one of its packages: a rule about linux-libc-dev alone does not hide the kernel's CVE.
 */
function appliesToPackages(f: Finding, matches: (p: Finding['package']) => boolean): boolean {
  return matches(f.package) || (f.packages !== undefined && f.packages.every(matches));
}

function packageNames(p: Finding['package']): string[] {
  return p.source && p.source.name !== p.name ? [p.name, p.source.name] : [p.name];
}

/** A purl pattern matches a package purl when type, namespace (if given), name and version (if given) agree. */
function purlMatches(pattern: PackageUrl, pkgPurl: PackageUrl, sourceName: string | undefined): boolean {
  if (pattern.type !== pkgPurl.type) return false;
  if (pattern.namespace !== undefined && pattern.namespace.toLowerCase() !== (pkgPurl.namespace ?? '').toLowerCase()) return false;
  const names = [pkgPurl.name, ...(sourceName ? [sourceName] : [])];
  if (!names.includes(pattern.name)) return false;
  if (pattern.version !== undefined && pattern.version !== pkgPurl.version) return false;
  return true;
}

function packageUrl(fp: Finding['package'], result: ScanResult): PackageUrl | undefined {
  const pkg: Package | undefined = result.inventory.packages.find((p) => p.id === fp.id);
  try {
    return parsePurl(packagePurl(pkg ?? ({ ...fp, versionScheme: 'deb', foundBy: '', evidence: [] } as Package), result.inventory.os));
  } catch {
    return undefined;
  }
}

function purlApplies(pattern: PackageUrl, p: Finding['package'], result: ScanResult): boolean {
  const purl = packageUrl(p, result);
  return purl !== undefined && purlMatches(pattern, purl, p.source?.name);
}

function ignoreMatches(e: IgnoreEntry, f: Finding, result: ScanResult): boolean {
  if (!findingIds(f).includes(e.id)) return false;
  if (e.package === undefined) return true;
  if (e.package.startsWith('pkg:')) {
    let pattern: PackageUrl;
    try {
      pattern = parsePurl(e.package);
    } catch {
      return false;
    }
    return appliesToPackages(f, (p) => purlApplies(pattern, p, result));
  }
  return appliesToPackages(f, (p) => packageNames(p).includes(e.package!));
}

function endOfDay(date: string): number {
  return Date.parse(`${date}T23:59:59.999Z`);
}

/** Applies the policy to a result: returns a new result with `findings`, `suppressed` and `policy` set. */
export function applyPolicy(result: ScanResult, policy: Policy): ScanResult {
  const now = (policy.now ?? new Date()).getTime();
  const issues: Issue[] = [];
  const active: IgnoreEntry[] = [];
  for (const e of policy.ignore ?? []) {
    if (e.expires !== undefined && endOfDay(e.expires) < now) {
      issues.push({ severity: 'warning', code: 'policy.ignore-expired', message: `ignore entry ${e.id}${e.package ? ` ${e.package}` : ''} expired on ${e.expires} and no longer applies`, location: e.where });
    } else {
      active.push(e);
    }
  }
  const vex = [...(policy.vex ?? [])].sort((a, b) => (a.timestamp ?? '').localeCompare(b.timestamp ?? '') || a.order - b.order);
  const used = new Set<VexStatement>();
  const kept: Finding[] = [];
  const suppressed: SuppressedFinding[] = [...(result.suppressed ?? [])];
  for (const f of result.findings) {
    const s = suppression(f);
    if (s === undefined) kept.push(f);
    else suppressed.push(s);
  }
  function suppression(f: Finding): SuppressedFinding | undefined {
    if (policy.severities !== undefined && !policy.severities.includes(f.severity)) return { finding: f, by: 'severity', rule: `severity ${f.severity} not in ${policy.severities.join(',')}` };
    if (policy.ignoreUnfixed && f.state !== 'fixed') return { finding: f, by: 'ignore-unfixed', rule: `--ignore-unfixed (state ${stateWithVendor(f)})` };
    if (policy.ignoreStates?.includes(f.state)) return { finding: f, by: 'ignore-status', rule: `--ignore-status ${policy.ignoreStates.join(',')} (state ${stateWithVendor(f)})` };
    const e = active.find((x) => ignoreMatches(x, f, result));
    if (e !== undefined) return { finding: f, by: 'ignorefile', rule: `${e.id}${e.package ? ` ${e.package}` : ''} (${e.where})`, ...(e.reason !== undefined && { reason: e.reason }), ...(e.expires !== undefined && { expires: e.expires }) };
    if (vex.length > 0) {
      const ids = findingIds(f);
      let last: VexStatement | undefined;
      for (const st of vex) {
        if (!st.vulnerabilities.some((v) => ids.includes(v))) continue;
        if (!appliesToPackages(f, (p) => st.products.some((pattern) => purlApplies(pattern, p, result)))) continue;
        used.add(st);
        last = st;
      }
      if (last !== undefined) {
        if (last.status === 'not_affected' || last.status === 'fixed') {
          const reason = [last.justification, last.statement].filter(Boolean).join(': ');
          return { finding: f, by: 'vex', rule: `${last.status} (${last.where})`, ...(reason !== '' && { reason }) };
        }
      }
    }
    return undefined;
  }
  const unused = vex.filter((st) => !used.has(st));
  if (unused.length > 0) {
    issues.push({ severity: 'info', code: 'policy.vex-unused', message: `${unused.length} VEX statements matched no finding (vulnerability and product purl): ${unused.slice(0, 5).map((st) => st.where).join(', ')}${unused.length > 5 ? ', …' : ''}` });
  }
  const summary: PolicySummary = { ignoreUnfixed: policy.ignoreUnfixed === true, issues };
  if (policy.ignoreStates !== undefined) summary.ignoreStates = [...policy.ignoreStates];
  if (policy.severities !== undefined) summary.severities = [...policy.severities];
  if (policy.ignorefile !== undefined) summary.ignorefile = policy.ignorefile;
  if (policy.vexFiles !== undefined) summary.vex = [...policy.vexFiles];
  const out: ScanResult = { ...result, findings: kept, policy: summary };
  if (suppressed.length > 0) out.suppressed = suppressed;
  return out;
}

/** Findings that remain after the policy, plus alerts not marked suppressed: the exit-code rule's input. */
export function remainingCounts(result: ScanResult): { findings: number; alerts: number } {
  return { findings: result.findings.length, alerts: result.alerts.filter((a) => a.suppressed === undefined).length };
}

/** `--exit-code N`: N when findings remain after filters or unsuppressed alerts exist, else 0. */
export function exitCodeFor(result: ScanResult, exitCode: number): number {
  const { findings, alerts } = remainingCounts(result);
  // A gate must fail closed: a scanner that ran but could not assess the node (unknown OS, no
  // data, no engine) is no evidence of a clean node, so it trips the gate like a finding.
  const unassessed = (result.scanners.includes('vuln') && result.coverage.vuln?.assessed === false)
    || (result.scanners.includes('malware') && result.coverage.malware?.assessed === false);
  return exitCode !== 0 && (findings > 0 || alerts > 0 || unassessed) ? exitCode : 0;
}
