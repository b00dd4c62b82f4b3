/**
 * Scan policy: --severity, --ignore-unfixed, the ignore file (line format and JSON, expiry),
 * OpenVEX statements, and the --exit-code rule. The input is the report tests' ScanResult (real
 * matcher over real advisory strings), without its own ignore entry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPolicy, exitCodeFor, parseIgnoreFile, parseOpenVex, parseSeverities } from '../../src/scan/policy.ts';
import type { ScanResult } from '../../src/scan/result.ts';
import { UsageError } from '../../src/util/errors.ts';
import { sampleResult } from '../report/helpers.ts';

const NOW = new Date('2026-12-01T12:00:00Z');

function base(): ScanResult {
  const r = sampleResult();
  // Undo the sample's own ignore entry: start from every finding.
  const findings = [...r.findings, ...(r.suppressed ?? []).map((s) => s.finding)];
  const { suppressed: _s, policy: _p, ...rest } = r;
  return { ...rest, findings };
}

const ids = (r: ScanResult): string[] => r.findings.map((f) => f.vulnerabilityId).sort();

describe('policy: severity and unfixed', () => {
  it('--severity high,critical keeps only those and records why the rest went', () => {
    const r = applyPolicy(base(), { severities: parseSeverities('critical,HIGH'), now: NOW });
    assert.deepEqual(ids(r), ['CVE-2024-6387']);
    assert.equal(r.suppressed?.length, 4);
    assert.ok(r.suppressed!.every((s) => s.by === 'severity'));
    assert.deepEqual(r.policy?.severities, ['critical', 'high']);
  });
  it('an unknown severity is a usage error naming the choices', () => {
    assert.throws(() => parseSeverities('urgent'), (e: unknown) => e instanceof UsageError && /critical, high/.test(e.message));
  });
  it('--ignore-unfixed drops affected/wont-fix findings (no fixed version), keeps fixed ones', () => {
    const r = applyPolicy(base(), { ignoreUnfixed: true, now: NOW });
    assert.deepEqual(ids(r), ['CVE-2024-2511', 'CVE-2024-26925', 'CVE-2024-6387']);
    assert.ok(r.findings.every((f) => f.fixedVersion !== undefined));
  });
});

describe('policy: ignore file', () => {
  const text = [
    '# hullscan ignore file',
    'CVE-2024-2511                      # accepted: libssl3 is not reachable',
    'CVE-2024-6387 openssh exp:2026-11-30  # expired yesterday',
    'CVE-2023-5678 pkg:deb/ubuntu/ovmf exp:2026-12-01 # through the end of today',
    '',
  ].join('\n');
  it('parses id, package (name or purl), expiry and reason with file:line', () => {
    const e = parseIgnoreFile(text, '.hullscanignore');
    assert.deepEqual(e[0], { id: 'CVE-2024-2511', reason: 'accepted: libssl3 is not reachable', where: '.hullscanignore:2' });
    assert.deepEqual(e[1], { id: 'CVE-2024-6387', package: 'openssh', expires: '2026-11-30', reason: 'expired yesterday', where: '.hullscanignore:3' });
  });
  it('active entries suppress (by source or binary name, or purl); an expired entry stops applying and is reported', () => {
    const r = applyPolicy(base(), { ignore: parseIgnoreFile(text, '.hullscanignore'), now: NOW });
    assert.deepEqual(ids(r), ['CVE-2024-26925', 'CVE-2024-6387', 'CVE-2099-0001']);
    assert.deepEqual(r.suppressed!.map((s) => [s.finding.vulnerabilityId, s.by, s.expires]).sort(), [['CVE-2023-5678', 'ignorefile', '2026-12-01'], ['CVE-2024-2511', 'ignorefile', undefined]]);
    assert.equal(r.policy!.issues[0]!.code, 'policy.ignore-expired');
    assert.equal(r.policy!.issues[0]!.location, '.hullscanignore:3');
  });
  it('the day after, the 2026-12-01 entry has expired too', () => {
    const r = applyPolicy(base(), { ignore: parseIgnoreFile(text, '.hullscanignore'), now: new Date('2026-12-02T00:00:00Z') });
    assert.ok(ids(r).includes('CVE-2023-5678'));
  });
  it('JSON form; bad dates and unknown tokens are usage errors with the line', () => {
    const e = parseIgnoreFile('{"ignore":[{"id":"CVE-2024-2511","package":"openssl","expires":"2027-01-01","reason":"r"}]}', 'ignore.json');
    assert.deepEqual(e, [{ id: 'CVE-2024-2511', package: 'openssl', expires: '2027-01-01', reason: 'r', where: 'ignore.json#0' }]);
    assert.throws(() => parseIgnoreFile('CVE-1 exp:2026-02-30', 'f'), /f:1: expiry/);
    assert.throws(() => parseIgnoreFile('CVE-1 a b', 'f'), /f:1: unexpected 'b'/);
  });
});

describe('policy: YAML ignore file', () => {
  const yaml = [
    '# the team\'s accepted risks',
    'ignore:',
    '  - id: CVE-2024-2511',
    '    reason: "accepted: libssl3 is not reachable"',
    '  - id: CVE-2024-6387',
    '    package: openssh',
    '    reason: expired yesterday',
    '    expires: 2026-11-30',
    '  - id: CVE-2023-5678',
    '    package: pkg:deb/ubuntu/ovmf',
    '    expires: 2026-12-01',
    '',
  ].join('\n');
  it('entries carry id, optional package, reason and expires, and apply exactly as the line form does', () => {
    const e = parseIgnoreFile(yaml, 'ignore.yaml');
    assert.deepEqual(e[1], { id: 'CVE-2024-6387', package: 'openssh', expires: '2026-11-30', reason: 'expired yesterday', where: 'ignore.yaml#1' });
    const r = applyPolicy(base(), { ignore: e, now: NOW });
    assert.deepEqual(ids(r), ['CVE-2024-26925', 'CVE-2024-6387', 'CVE-2099-0001']);
    assert.equal(r.policy!.issues[0]!.code, 'policy.ignore-expired');
  });
  it("reads Trivy's .trivyignore.yaml shape (vulnerabilities, purls, statement, expired_at)", () => {
    const e = parseIgnoreFile('vulnerabilities:\n  - id: CVE-2024-6387\n    purls: ["pkg:deb/ubuntu/openssh-server"]\n    statement: mitigated by network policy\n    expired_at: 2027-01-31\n', '.trivyignore.yaml');
    assert.deepEqual(e, [{ id: 'CVE-2024-6387', package: 'pkg:deb/ubuntu/openssh-server', reason: 'mitigated by network policy', expires: '2027-01-31', where: '.trivyignore.yaml#0' }]);
  });
  it('malformed YAML, entries without id, non-string fields and bad dates are usage errors; alias bombs are refused', () => {
    assert.throws(() => parseIgnoreFile('ignore:\n  - id: [unclosed\n', 'f.yaml'), /f.yaml: not valid YAML/);
    assert.throws(() => parseIgnoreFile('ignore:\n  - reason: x\n', 'f.yaml'), /entry 0 has no "id"/);
    assert.throws(() => parseIgnoreFile('ignore:\n  - id: CVE-1\n    expires: 2026-02-30\n', 'f.yaml'), /"expires" must be YYYY-MM-DD/);
    assert.throws(() => parseIgnoreFile('ignore:\n  - id: 12\n', 'f.yaml'), /"id" must be a string/);
    assert.throws(() => parseIgnoreFile('ignore: {id: CVE-1}\n', 'f.yaml'), /expected a list under "ignore:"/);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill('*' + String.fromCharCode(97 + i)).join(', ')}]`), 'ignore: []'].join('\n');
    assert.throws(() => parseIgnoreFile(bomb, 'bomb.yaml'), /not valid YAML|alias/i);
  });
});

describe('policy: OpenVEX 0.2', () => {
  const doc = (statements: unknown[]): string => JSON.stringify({ '@context': 'https://openvex.dev/ns/v0.2.0', '@id': 'https://example.com/vex/1', author: 'sec team', timestamp: '2026-11-01T00:00:00Z', version: 1, statements });
  it('not_affected and fixed suppress the matching (vulnerability, product purl); under_investigation and affected keep it', () => {
    const vex = parseOpenVex(doc([
      { vulnerability: { name: 'CVE-2024-6387' }, products: [{ '@id': 'pkg:deb/ubuntu/openssh-server' }], status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path' },
      { vulnerability: { name: 'CVE-2024-2511' }, products: [{ '@id': 'pkg:oci/node-image', subcomponents: [{ '@id': 'pkg:deb/ubuntu/libssl3@3.0.2-0ubuntu1.15' }] }], status: 'fixed' },
      { vulnerability: { name: 'CVE-2023-5678' }, products: [{ '@id': 'pkg:deb/ubuntu/edk2' }], status: 'under_investigation' },
      { vulnerability: 'CVE-2024-26925', products: [{ '@id': 'pkg:deb/ubuntu/linux-image-5.15.0-1068-azure@9.9' }], status: 'not_affected', justification: 'component_not_present' },
    ]), 'node.vex.json');
    const r = applyPolicy(base(), { vex, vexFiles: ['node.vex.json'], now: NOW });
    assert.deepEqual(ids(r), ['CVE-2023-5678', 'CVE-2024-26925', 'CVE-2099-0001'], 'a product purl with another version does not match');
    const s = r.suppressed!.find((x) => x.finding.vulnerabilityId === 'CVE-2024-6387')!;
    assert.equal(s.by, 'vex');
    assert.equal(s.reason, 'vulnerable_code_not_in_execute_path');
    assert.match(s.rule, /^not_affected \(node\.vex\.json#statement 0\)$/);
    assert.deepEqual(r.policy!.issues.map((i) => [i.code, i.message]), [['policy.vex-unused', '1 VEX statements matched no finding (vulnerability and product purl): node.vex.json#statement 3']]);
  });
  it('the most recent statement wins: affected after not_affected keeps the finding', () => {
    const vex = parseOpenVex(doc([
      { vulnerability: { name: 'CVE-2024-6387' }, products: [{ '@id': 'pkg:deb/ubuntu/openssh' }], status: 'affected', timestamp: '2026-11-20T00:00:00Z', action_statement: 'upgrade' },
      { vulnerability: { name: 'CVE-2024-6387' }, products: [{ '@id': 'pkg:deb/ubuntu/openssh' }], status: 'not_affected', timestamp: '2026-11-10T00:00:00Z', justification: 'inline_mitigations_already_exist' },
    ]), 'v.json');
    assert.ok(ids(applyPolicy(base(), { vex, now: NOW })).includes('CVE-2024-6387'));
  });
  it('rejects what is not OpenVEX', () => {
    assert.throws(() => parseOpenVex('{"statements":[]}', 'x.json'), /not an OpenVEX document/);
    assert.throws(() => parseOpenVex(doc([{ vulnerability: { name: 'CVE-1' }, status: 'maybe' }]), 'x.json'), /status must be one of/);
  });
});

describe('policy: exit code', () => {
  it('N when findings remain or unsuppressed alerts exist; 0 otherwise or without --exit-code', () => {
    const r = base();
    assert.equal(exitCodeFor(r, 5), 5);
    assert.equal(exitCodeFor(r, 0), 0);
    const clean = applyPolicy({ ...r, alerts: [] }, { severities: ['critical'], now: NOW });
    assert.equal(exitCodeFor(clean, 5), 0);
    assert.equal(exitCodeFor({ ...clean, alerts: r.alerts }, 5), 5, 'an alert alone sets the code');
    assert.equal(exitCodeFor({ ...clean, alerts: r.alerts.map((a) => ({ ...a, suppressed: { reason: 'lab', rule: 'sha256' } })) }, 5), 0, 'suppressed alerts do not');
  });
  it('fails closed: a node the vuln or malware scanner could not assess trips --exit-code like a finding', () => {
    const clean = applyPolicy({ ...base(), alerts: [] }, { severities: ['critical'], now: NOW });
    assert.equal(exitCodeFor(clean, 5), 0);
    const noData = { ...clean, coverage: { ...clean.coverage, vuln: { assessed: false, namespaces: [], issues: [{ severity: 'error' as const, code: 'match.no-data', message: 'no vulnerability data for flatcar 3815' }] } } };
    assert.equal(exitCodeFor(noData, 5), 5);
    assert.equal(exitCodeFor(noData, 0), 0, 'without --exit-code the scan still exits 0');
    const noEngine = { ...clean, scanners: ['vuln' as const, 'malware' as const], coverage: { ...clean.coverage, malware: { assessed: false, engines: [], filesScanned: 0, bytesScanned: 0, filesVerifiedByManifest: 0, skipped: [], issues: [] } } };
    assert.equal(exitCodeFor(noEngine, 5), 5);
  });
});
