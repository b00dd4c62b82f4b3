/**
 * Every output format of a ScanResult: the table (golden, reviewed), JSON (round-trip), SARIF
 * (validated against the official OASIS SARIF 2.1.0 schema), CSV (parsed back with an RFC 4180
 * reader, formula-injection safe) and CycloneDX 1.6 (validated against the official schema the
 * CycloneDX library ships; affects[].ref resolve to components).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { renderReport } from '../../src/report/index.ts';
import { applyPolicy } from '../../src/scan/policy.ts';
import { csvField, CSV_COLUMNS } from '../../src/report/csv.ts';
import type { ScanResult } from '../../src/scan/result.ts';
import { assertValid, cycloneDx16Validator } from '../inventory/sbom/helpers.ts';
import { matchInventory } from '../../src/match/run.ts';
import { SCAN_RESULT_SCHEMA_VERSION } from '../../src/scan/result.ts';
import { importFeeds, openVulnDb } from '../../src/vulndb/store.ts';
import { packagesFromTsv } from '../match/helpers/accuracy.ts';
import { inventory, os } from '../match/helpers/build.ts';
import { assertGolden, DATA, sampleResult } from './helpers.ts';

const OPTS = { toolVersion: '0.1.0', serialNumber: 'urn:uuid:5b1f6a3e-4a8c-4d2e-9a51-0c3d2f1e7a10' };
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * The official schema is draft-04; ajv 8 speaks draft-06+. The only draft-04 constructs in this
 * schema are the root `id` (draft-06 `$id`) and the `$schema` URI; it uses no boolean
 * exclusiveMinimum/Maximum, so dropping `$schema` and renaming the root `id` keeps its meaning.
 */
function sarifValidator(): ReturnType<Ajv['compile']> {
  const schema = JSON.parse(readFileSync(join(DATA, 'sarif-schema-2.1.0.json'), 'utf8')) as Record<string, unknown>;
  delete schema.$schema;
  schema.$id = schema.id;
  delete schema.id;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

/** RFC 4180 reader: quoted fields, doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; } else field += c;
  }
  assert.equal(field, '', 'CSV ends with CRLF');
  return rows;
}

describe('report formats', () => {
  const result = sampleResult();

  it('the sample has findings of several severities, a kernel finding, a suppressed one and an alert', () => {
    assert.deepEqual(result.findings.map((f) => `${f.severity} ${f.vulnerabilityId}`), ['high CVE-2024-6387', 'medium CVE-2023-5678', 'medium CVE-2024-26925', 'low CVE-2024-2511']);
    assert.equal(result.suppressed?.[0]?.finding.vulnerabilityId, 'CVE-2099-0001');
    assert.equal(result.alerts.length, 1);
  });

  it('table: matches the reviewed golden (grouped by severity; alerts, suppressions and coverage issues in their own sections)', () => {
    assertGolden('table.txt', renderReport(result, 'table', OPTS));
  });

  it('table: an unassessed node says NOT ASSESSED with the reason, never "0 vulnerabilities"', () => {
    const unassessed: ScanResult = { ...result, findings: [], suppressed: [], coverage: { ...result.coverage, vuln: { assessed: false, namespaces: [], issues: [{ severity: 'error', code: 'match.no-data', message: 'no vulnerability data for flatcar 3815.2.5 (no namespace known): 412 OS packages not assessed' }] } } };
    const text = renderReport(unassessed, 'table', OPTS);
    assert.match(text, /^Vulnerabilities: NOT ASSESSED: no vulnerability data for flatcar 3815\.2\.5/m);
    assert.doesNotMatch(text, /Vulnerabilities: 0/);
  });

  it('table: findings hidden by --severity are counted, not listed; ignore-file decisions stay listed', () => {
    const filtered = applyPolicy(result, { severities: ['high'], now: new Date('2026-12-01T00:00:00Z') });
    const text = renderReport(filtered, 'table', OPTS);
    assert.match(text, /^SUPPRESSED FINDINGS \(4\)$/m);
    assert.match(text, /^ {2}hidden by output filters: 3 by --severity \(all listed in --format json\)$/m);
    assert.match(text, /^CVE-2099-0001 .*ignorefile/m, 'the ignore-file decision is still listed');
    assert.doesNotMatch(text, /^CVE-2023-5678 .*severity/m, 'filtered findings are not listed one by one');
    assert.equal((JSON.parse(renderReport(filtered, 'json', OPTS)) as ScanResult).suppressed?.length, 4);
  });

  it('table: the coverage line names what hid findings (--severity) apart from what suppressed them (ignore file)', () => {
    const filtered = applyPolicy(result, { severities: ['high'], now: new Date('2026-12-01T00:00:00Z') });
    const text = renderReport(filtered, 'table', OPTS);
    assert.match(text, /^Vulnerabilities: 1 \(high 1\) in ubuntu:22\.04 \(5 packages\); 3 hidden by --severity, 1 suppressed by the ignore file$/m);
  });

  it('table: a coverage issue whose message already names its location does not repeat it', () => {
    const issue = { severity: 'info' as const, code: 'go-binary.owned', message: '440 executable(s) … not inspected: /usr/bin/[ (coreutils), and 439 more', location: '/usr/bin/[' };
    const text = renderReport({ ...result, coverage: { ...result.coverage, target: [issue, { ...issue, code: 'other', message: 'elsewhere' }] } }, 'table', OPTS);
    assert.match(text, /^ {2}\[info\] go-binary\.owned: .*and 439 more$/m);
    assert.match(text, /^ {2}\[info\] other: elsewhere \(\/usr\/bin\/\[\)$/m);
  });

  it('json: round-trips to the same ScanResult', () => {
    assert.deepEqual(JSON.parse(renderReport(result, 'json', OPTS)), JSON.parse(JSON.stringify(result)));
  });

  it('sarif: valid against the official SARIF 2.1.0 schema; one rule per CVE / malware rule; locations are the evidence files', () => {
    const validate = sarifValidator();
    const doc = JSON.parse(renderReport(result, 'sarif', OPTS)) as { runs: { tool: { driver: { rules: { id: string }[] } }; results: { ruleId: string; ruleIndex: number; locations: { physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }[]; suppressions?: unknown[] }[] }[] };
    assert.ok(validate(doc), JSON.stringify(validate.errors?.slice(0, 5)));
    const run = doc.runs[0]!;
    assert.deepEqual(run.tool.driver.rules.map((r) => r.id).sort(), ['CVE-2023-5678', 'CVE-2024-2511', 'CVE-2024-26925', 'CVE-2024-6387', 'CVE-2099-0001', 'malware/yara/EICAR_Test_File']);
    for (const r of run.results) assert.equal(run.tool.driver.rules[r.ruleIndex]!.id, r.ruleId);
    const ssh = run.results.find((r) => r.ruleId === 'CVE-2024-6387')!;
    assert.deepEqual(ssh.locations[0]!.physicalLocation, { artifactLocation: { uri: 'var/lib/dpkg/status', uriBaseId: 'IMAGEROOT' }, region: { startLine: 1 } });
    assert.equal(run.results.find((r) => r.ruleId.startsWith('malware/'))!.locations[0]!.physicalLocation.artifactLocation.uri, 'usr/local/bin/eicar.com');
    assert.equal(run.results.find((r) => r.ruleId === 'CVE-2099-0001')!.suppressions?.length, 1, 'suppressed findings are results with a suppression');
  });

  it('sarif: the validator rejects what the schema forbids (so the test above can fail)', () => {
    const validate = sarifValidator();
    const doc = JSON.parse(renderReport(result, 'sarif', OPTS)) as { runs: { results: Record<string, unknown>[] }[] };
    doc.runs[0]!.results[0]!.level = 'critical';
    assert.equal(validate(doc), false);
  });

  it('csv: RFC 4180 round trip; a hostile name cannot become a spreadsheet formula', () => {
    const text = renderReport(result, 'csv', OPTS);
    const rows = parseCsv(text);
    assert.deepEqual(rows[0], [...CSV_COLUMNS]);
    assert.equal(rows.length, 1 + result.findings.length + (result.suppressed?.length ?? 0) + result.alerts.length);
    for (const r of rows) assert.equal(r.length, CSV_COLUMNS.length);
    const evil = rows.find((r) => r[1] === 'CVE-2099-0001')!;
    assert.equal(evil[2], `'=HYPERLINK("http://x"),evil`);
    for (const r of rows) for (const cell of r) assert.doesNotMatch(cell, /^[=+\-@\t\r]/);
    assert.equal(rows.find((r) => r[1] === 'CVE-2024-6387')![8], 'yes');
    const col = (name: string): number => CSV_COLUMNS.indexOf(name as (typeof CSV_COLUMNS)[number]);
    const alert = rows.find((r) => r[col('kind')] === 'malware')!;
    assert.deepEqual([alert[col('id')], alert[col('engine')], alert[col('path')], alert[col('node')]], ['EICAR_Test_File', 'yara', '/usr/local/bin/eicar.com', 'aks-np1-0']);
    assert.equal(alert[col('sha256')], result.alerts[0]!.sha256);
    assert.equal(csvField('-1+2'), `'-1+2`);
    assert.equal(csvField('a"b'), '"a""b"');
  });

  it('cyclonedx: valid CycloneDX 1.6; vulnerabilities[].affects[].ref point at package components', () => {
    const text = renderReport(result, 'cyclonedx', OPTS);
    const doc = JSON.parse(text) as { specVersion: string; components: { 'bom-ref': string; name: string }[]; vulnerabilities: { id: string; affects: { ref: string }[]; ratings: { severity?: string; score?: number }[]; analysis?: { state: string } }[] };
    assertValid(cycloneDx16Validator(), doc, 'cyclonedx report');
    assert.equal(doc.specVersion, '1.6');
    const refs = new Set(doc.components.map((c) => c['bom-ref']));
    assert.equal(doc.vulnerabilities.length, 5);
    for (const v of doc.vulnerabilities) for (const a of v.affects) assert.ok(refs.has(a.ref), `${v.id} affects ${a.ref}`);
    const ssh = doc.vulnerabilities.find((v) => v.id === 'CVE-2024-6387')!;
    assert.ok(ssh.ratings.some((r) => r.severity === 'high'));
    assert.ok(ssh.ratings.some((r) => r.score === 8.1));
    assert.equal(doc.vulnerabilities.find((v) => v.id === 'CVE-2099-0001')!.analysis?.state, 'false_positive');
    assert.equal(renderReport(result, 'cyclonedx', OPTS), text, 'deterministic for a fixed serial number');
  });
});

describe('report formats on real data: AKS Ubuntu 22.04 against the real DB of the UCT-derived slice', () => {
  it('SARIF and CycloneDX stay schema-valid and CSV parses back for hundreds of real findings', async () => {
    const matchData = new URL('../data/match/', import.meta.url).pathname;
    const dir = mkdtempSync(join(tmpdir(), 'hullscan-report-'));
    try {
      await importFeeds(join(dir, 'vuln.db'), [join(matchData, 'ubuntu-22.04.osv.slice.jsonl.gz'), join(matchData, 'kev.slice.json'), join(matchData, 'epss_scores-2026-08-16.slice.csv')]);
      const db = openVulnDb(join(dir, 'vuln.db'));
      let result: ScanResult;
      try {
        const inv = inventory(os('ubuntu', '22.04'), packagesFromTsv(join(matchData, 'aks-ubuntu2204-202408.05.0.packages.tsv')));
        const m = matchInventory(inv, db);
        result = { schemaVersion: SCAN_RESULT_SCHEMA_VERSION, target: 'aks-202408.05.0', startedAt: '2026-12-01T00:00:00.000Z', finishedAt: '2026-12-01T00:00:01.000Z', scanners: ['vuln'], inventory: inv, findings: m.findings, alerts: [], coverage: { vuln: { assessed: true, namespaces: m.assessed, issues: m.issues }, target: [] } };
      } finally {
        db.close();
      }
      // Kernel CVEs are one finding per kernel build, not one per binary package (docs/scanning.md "Kernels").
      assert.ok(result.findings.length > 200, `${result.findings.length} findings`);
      const sarif = JSON.parse(renderReport(result, 'sarif', OPTS)) as { runs: { results: unknown[]; tool: { driver: { rules: unknown[] } } }[] };
      const validate = sarifValidator();
      assert.ok(validate(sarif), JSON.stringify(validate.errors?.slice(0, 5)));
      assert.equal(sarif.runs[0]!.results.length, result.findings.length);
      assert.equal(sarif.runs[0]!.tool.driver.rules.length, new Set(result.findings.map((f) => f.vulnerabilityId)).size);
      assertValid(cycloneDx16Validator(), JSON.parse(renderReport(result, 'cyclonedx', OPTS)), 'cyclonedx report (real data)');
      const rows = parseCsv(renderReport(result, 'csv', OPTS));
      assert.equal(rows.length, 1 + result.findings.length);
      for (const r of rows) assert.equal(r.length, CSV_COLUMNS.length);
      assert.match(renderReport(result, 'table', OPTS), /^Vulnerabilities: \d+ \(.*\) in ubuntu:22\.04 \(714 packages\)$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
